//! Per-user data: account data and filters, presence, profiles, and the per-user cache helper.

pub mod account_data;
pub mod presence;
pub mod profile;
pub mod user_cache;
