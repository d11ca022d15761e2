//! The policy engine: the school's rights ([`Rights`], from `config/rights.toml`) and the
//! decision whether someone may do something ([`decide`]), on every path into a
//! conversation.
//!
//! Pure: no I/O, no clock, no async. A decision borrows everything it needs (the
//! [`DirectoryIndex`](schulhof_directory::DirectoryIndex) snapshot, the rights, the
//! [`Action`] with its [`RoomFacts`]) and allocates nothing. Denials name a [`Rule`] with a
//! stable id; what the person refused reads (German with "du" or "Sie", and English) is in
//! one place, [`Rule::text`] and [`Action::refused`] (`texts.rs`). `docs/policy.md` lists
//! every rule.

#![warn(missing_docs)]

mod action;
mod decide;
mod rights;
mod rule;
mod texts;

pub use action::{Action, Channel, History, JoinVia, Managed, RoomFacts, StateChange};
pub use decide::{decide, unavailability};
pub use rights::{
    ParentRights, Reach, Rights, RightsError, StudentRights, TeacherRights, UnknownUsers,
    DEFAULT_RIGHTS_TOML,
};
pub use rule::{Decision, Denial, Rule};
pub use texts::{
    Address, Line, Message, LOGIN_NO_CONSENT, LOGIN_START_CODE, NOTICE_ROOM_NAME, NOTICE_ROOM_TOPIC,
};
