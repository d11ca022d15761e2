//! Who someone is: accounts, devices, logins, passwords, start codes, access tokens, user-interactive authentication, rate limits and the server's secret key.

pub mod accounts;
pub mod devices;
pub mod login;
pub mod password_reset;
pub mod password_rule;
pub mod passwords;
pub mod rate_limit;
pub mod secret_key;
pub mod start_codes;
pub mod token_cache;
pub mod uiaa;
