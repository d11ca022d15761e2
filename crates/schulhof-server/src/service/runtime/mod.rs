//! The process's runtime: the one clock and the background jobs.

pub mod clock;
pub mod jobs;
