//! The school: the directory snapshot and its import, access letters, retention, admin operations and the policy that enforces the school's rights.

pub mod admin_join;
pub mod directory;
pub mod import;
pub mod letters;
pub mod managed;
pub mod policy;
pub mod reach;
pub mod retention;
pub mod teacher_groups;
pub mod user_admin;
