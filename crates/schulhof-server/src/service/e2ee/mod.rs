//! End-to-end encryption relay: device and cross-signing keys, one-time keys, to-device messages, server-side key backup.

pub mod key_backup;
pub mod key_counts;
pub mod keys;
