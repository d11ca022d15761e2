//! End-to-end scenarios: what a user of a Matrix client sees when talking to Schulhof.
//!
//! Each scenario runs once per database backend (`<scenario>::sqlite`, `<scenario>::postgres`)
//! on its own freshly started server; see the crate README for how to run them.

mod appservice;
mod bad_input;
mod chat;
mod delayed;
mod directory;
mod durability;
mod encryption;
mod encryption_switch;
mod hardening;
mod managed_rooms;
mod media;
mod notices;
mod policy;
mod push;
mod quiet_hours;
mod quiet_hours_personal;
mod rate_limits;
mod reader;
mod school_rooms;
mod session;
mod sliding_sync;
mod spec_coverage;
mod teacher_groups;
