//! The policy engine: the school's rights ([`Rights`], from `config/rights.toml`) and the
//! decision whether someone may do something ([`decide`]), on every path into a
//! conversation.
//!
//! Pure: no I/O, no clock, no async. A decision borrows everything it needs (the
//! [`DirectoryIndex`](schulhof_directory::DirectoryIndex) snapshot, the rights, the
//! [`Action`] with its [`RoomFacts`]) and allocates nothing. Denials name a [`Rule`] with a
//! stable id and a German (and English) message. `docs/policy.md` lists every rule.

#![warn(missing_docs)]

mod action;
mod decide;
mod rights;
mod rule;

pub use action::{Action, Channel, History, JoinVia, RoomFacts, StateChange};
pub use decide::{decide, unavailability};
pub use rights::{
    ParentRights, Reach, Rights, RightsError, StudentRights, TeacherRights, UnknownUsers,
    DEFAULT_RIGHTS_TOML,
};
pub use rule::{Decision, Denial, Rule};
