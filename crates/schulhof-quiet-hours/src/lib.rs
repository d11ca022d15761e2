//! Quiet hours (Ruhezeiten) for teachers: evenings, weekends, public and school holidays. A
//! message a student or parent sends to a teacher in quiet hours reaches the teacher when they
//! end.
//!
//! Pure: no clock, no async, and no I/O except [`QuietHours::load`], a thin helper that reads
//! the files and hands their texts to [`QuietHours::from_texts`]. The server builds one
//! [`QuietHours`] from `config/quiet-hours.toml` and `config/holidays/`, compiles a
//! [`Schedule`] per person who has their own ([`QuietHours::person_schedule`]; everyone else
//! shares [`QuietHours::school_schedule`]) and asks [`QuietHours::holds`] on every send.
//!
//! Times are wall-clock times in Europe/Berlin (the IANA tz database via `chrono-tz`), correct
//! across both daylight-saving changes; instants are `DateTime<Utc>`. Errors name the field
//! ([`FieldError`]) and, for files, the file and line ([`ConfigError`]), in German and English.
//! `docs/quiet-hours.md` describes the formats.

#![warn(missing_docs)]

mod calendar;
mod config;
mod describe;
mod error;
mod person;
mod public;
mod schedule;
mod spec;
mod state;
mod weekly;
mod zone;

pub use calendar::{Calendar, HolidayFile, HolidayPeriod};
pub use config::{Config, QuietHours, DEFAULT_QUIET_HOURS_TOML};
pub use describe::{berlin_wall_time, describe_de, describe_en};
pub use error::{ConfigError, FieldError};
pub use public::{easter_sunday, public_holiday, public_holidays, PublicHoliday};
pub use schedule::Schedule;
pub use spec::{PersonalBounds, PersonalWindow, ScheduleSpec, WindowSpec};
pub use state::State;
pub use weekly::{TimeOfDay, TimeOfDayError};

/// The date and time types of the API (`DateTime<Utc>`, `NaiveDate`), so callers need not
/// depend on `chrono` themselves.
pub use chrono;
