//! The service layer: everything between HTTP handlers and the store, grouped by concern.

pub mod appservice;
pub mod delayed;
pub mod e2ee;
pub mod identity;
pub mod media;
pub mod notices;
pub mod push;
pub mod quiet_hours;
pub mod read;
pub mod rooms;
pub mod runtime;
pub mod school;
pub mod sync;
pub mod user;
pub mod write;
