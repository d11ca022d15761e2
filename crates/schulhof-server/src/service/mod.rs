//! The service layer: everything between HTTP handlers and the store.

pub mod account_data;
pub mod accounts;
pub mod devices;
pub mod directory;
pub mod filter;
pub mod key_backup;
pub mod keys;
pub mod media;
pub mod membership;
pub mod notifier;
pub mod password_rule;
pub mod passwords;
pub mod pdu;
pub mod push;
pub mod rate_limit;
pub mod receipts;
pub mod rooms;
pub mod secret_key;
pub mod start_codes;
pub mod stream;
pub mod sync;
pub mod timeline;
pub mod token_cache;
pub mod typing;
pub mod uiaa;
