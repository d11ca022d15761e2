//! The school appservice: which rooms and spaces the school directory asks for, the changes
//! that bring the server's rooms in line with them, and the service that applies them.
//!
//! The core is pure (no I/O, no clock): `config`, `desired`, `current`, `plan`, `render`,
//! `alias`. The service around it talks to the homeserver: [`Homeserver`] (Client-Server
//! API with the `as_token`), [`read_current`] (managed rooms back into a [`CurrentSchool`]),
//! [`Applier`] (a plan through the API), [`DirectorySource`] (Schulhof's directory read or a
//! CSV export), [`Appservice`] (reconcile after changes and on a schedule) and the
//! transaction listener with the bot. The flow of one reconcile: [`Config::from_toml`] reads
//! `config/appservice.toml` (errors name line and field), [`desired()`] turns the
//! [`Directory`](schulhof_directory::Directory) into a [`DesiredSchool`], the applier reads the
//! server's managed rooms into a [`CurrentSchool`], [`plan()`] lists the [`Change`]s, and
//! [`render()`] shows them (`schulhof appservice plan`). Applying a plan, fully or partly,
//! and planning again converges; `docs/appservice.md` describes the model.

#![warn(missing_docs)]

mod alias;
mod apply;
mod bot;
mod config;
mod current;
mod desired;
mod error;
mod homeserver;
mod plan;
mod read;
mod registration;
mod render;
mod service;
mod service_error;
mod source;
mod template;
mod transactions;

pub use alias::{alias_localpart, namespace_prefix};
pub use apply::{Applied, Applier};
pub use bot::{help_de, help_en, welcome};
pub use config::{
    Config, DirectoryCsv, PowerLevels, RoomKind, RoomSettings, Rooms, SpaceSettings, SpaceSlot,
    Spaces, BOT_POWER_LEVEL, DEFAULT_APPSERVICE_TOML, DEFAULT_SCHEDULE,
};
pub use current::{CurrentRoom, CurrentSchool, Membership};
pub use desired::{class_part, desired, year_of, DesiredRoom, DesiredSchool, RoomKey};
pub use error::ConfigError;
pub use homeserver::Homeserver;
pub use plan::{plan, Change, Reason, ARCHIVE_SUFFIX};
pub use read::{
    assemble, parse_room, read_current, ParsedRoom, ServerRooms, ARCHIVE_EVENT, MANAGED_FIELD,
};
pub use registration::Registration;
pub use render::{describe, render, Language};
pub use service::{read_config, Appservice, Reconciled};
pub use service_error::ServiceError;
pub use source::{CsvExport, DirectorySource, DirectoryVersion};
pub use template::{Placeholder, Template, Values};
