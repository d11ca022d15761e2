//! The service layer: everything between HTTP handlers and the store.

pub mod accounts;
pub mod devices;
pub mod keys;
pub mod media;
pub mod notifier;
pub mod pdu;
pub mod push;
pub mod rate_limit;
pub mod rooms;
pub mod stream;
pub mod typing;
pub mod uiaa;
