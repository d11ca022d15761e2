//! The school appservice's pure core: which rooms and spaces the school directory asks for,
//! and the changes that bring the server's rooms in line with them.
//!
//! No I/O, no clock. The flow of one reconcile: [`Config::from_toml`] reads
//! `config/appservice.toml` (errors name line and field), [`desired()`] turns the
//! [`Directory`](schulhof_directory::Directory) into a [`DesiredSchool`], the applier reads the
//! server's managed rooms into a [`CurrentSchool`], [`plan()`] lists the [`Change`]s, and
//! [`render()`] shows them (`schulhof appservice plan`). Applying a plan, fully or partly,
//! and planning again converges; `docs/appservice.md` describes the model.

#![warn(missing_docs)]

mod config;
mod current;
mod desired;
mod error;
mod plan;
mod render;
mod template;

pub use config::{
    Config, PowerLevels, RoomKind, RoomSettings, Rooms, SpaceSettings, SpaceSlot, Spaces,
    BOT_POWER_LEVEL, DEFAULT_APPSERVICE_TOML,
};
pub use current::{CurrentRoom, CurrentSchool, Membership};
pub use desired::{class_part, desired, year_of, DesiredRoom, DesiredSchool, RoomKey};
pub use error::ConfigError;
pub use plan::{plan, Change, Reason, ARCHIVE_SUFFIX};
pub use render::{render, Language};
pub use template::{Placeholder, Template, Values};
