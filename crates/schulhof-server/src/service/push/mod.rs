//! Push rules and their evaluation.

pub mod rules;
