//! The school's quiet-hours configuration (`config/quiet-hours.toml`), its holiday files, and
//! the decision whether a message waits for the end of quiet hours.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use schulhof_directory::Role;
use serde::Deserialize;

use crate::error::Document;
use crate::{
    Calendar, ConfigError, FieldError, HolidayFile, PersonalBounds, PersonalWindow, Schedule,
    ScheduleSpec, State,
};

/// The shipped `config/quiet-hours.toml` (for example to write it when the file is missing).
pub const DEFAULT_QUIET_HOURS_TOML: &str = include_str!("../../../config/quiet-hours.toml");

/// `config/quiet-hours.toml` as written. Keys left out take their defaults (except `state`);
/// unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The school's federal state: its public holidays count, and its holiday files are read.
    pub state: State,
    /// Messages from people with these roles wait for the end of the recipient's quiet hours
    /// (default: students and parents). Admins' messages never wait.
    #[serde(default = "default_held_senders")]
    pub held_senders: Vec<Role>,
    /// People with these roles have quiet hours (default: teachers).
    #[serde(default = "default_quiet_recipients")]
    pub quiet_recipients: Vec<Role>,
    /// The school's default schedule (`[school]`).
    #[serde(default)]
    pub school: ScheduleSpec,
    /// Bounds within which teachers may move the movable window (`[personal]`); without it
    /// they cannot move it.
    #[serde(default)]
    pub personal: Option<PersonalBounds>,
}

/// Students and parents.
fn default_held_senders() -> Vec<Role> {
    vec![Role::Student, Role::Parent]
}

/// Teachers.
fn default_quiet_recipients() -> Vec<Role> {
    vec![Role::Teacher]
}

/// A school's quiet hours, ready for decisions: the configuration, the calendar of free days
/// and the compiled school schedule. Built once when the server starts (and again on reload;
/// a failed reload returns an error and leaves the old value in place).
#[derive(Debug, Clone)]
pub struct QuietHours {
    /// The configuration.
    config: Config,
    /// The free days, shared by every schedule.
    calendar: Arc<Calendar>,
    /// The school's default schedule.
    school: Schedule,
}

impl QuietHours {
    /// Builds from a parsed configuration and calendar. Errors name the configuration's field:
    /// a calendar of another state, admins among the held senders, bad windows of the school
    /// schedule, bounds that exclude the school's own movable window.
    pub fn new(config: Config, calendar: Calendar) -> Result<QuietHours, FieldError> {
        if calendar.state() != config.state {
            return Err(FieldError::new(
                "state",
                format!(
                    "Die Ferien gelten für {}, die Schule liegt in {}.",
                    calendar.state().name(),
                    config.state.name()
                ),
                format!(
                    "the holidays are for {}, the school is in {}",
                    calendar.state().code(),
                    config.state.code()
                ),
            ));
        }
        if config.held_senders.contains(&Role::Admin) {
            return Err(FieldError::new(
                "held_senders",
                "Nachrichten der Schulleitung (admin) werden nie zurückgehalten.",
                "messages from admins are never held",
            ));
        }
        let calendar = Arc::new(calendar);
        let school = compile(&config.school, None, &calendar).map_err(|e| e.within("school"))?;
        if let Some(bounds) = &config.personal {
            let movable = config.school.movable_window().ok_or_else(|| {
                FieldError::new(
                    "personal",
                    "Persönliche Fenster brauchen ein verschiebbares Fenster (movable = true) \
                     unter [school].",
                    "personal windows need a movable window (movable = true) in [school]",
                )
            })?;
            bounds.admit(&movable).map_err(|e| e.within("personal"))?;
        }
        Ok(QuietHours {
            config,
            calendar,
            school,
        })
    }

    /// Parses the configuration text and the holiday files' texts (`(file name, text)` each;
    /// files of any school year, for the configured state). Errors name the file, line and
    /// field; nothing is kept from a failed attempt.
    pub fn from_texts(
        config_file: &str,
        config_text: &str,
        holiday_files: &[(&str, &str)],
    ) -> Result<QuietHours, ConfigError> {
        let document = Document::parse(config_file, config_text)?;
        let config: Config = document.read()?;
        let files = holiday_files
            .iter()
            .map(|(file, text)| HolidayFile::from_toml(file, text))
            .collect::<Result<Vec<_>, _>>()?;
        QuietHours::assemble(&document, config, &files)
    }

    /// Reads `config_path` and the holiday files of the configured state from `holidays_dir`
    /// (files named `<state>-*.toml` in lower case, e.g. `bb-2026-27.toml`; other files are
    /// ignored). A thin wrapper around [`QuietHours::from_texts`]; errors name the file.
    pub fn load(config_path: &Path, holidays_dir: &Path) -> Result<QuietHours, ConfigError> {
        let config_file = config_path.display().to_string();
        let config_text = read(config_path)?;
        let document = Document::parse(&config_file, &config_text)?;
        let config: Config = document.read()?;
        let prefix = format!("{}-", config.state.code().to_lowercase());
        let directory = fs::read_dir(holidays_dir).map_err(|error| {
            ConfigError::file(
                &holidays_dir.display().to_string(),
                format!("Das Verzeichnis kann nicht gelesen werden: {error}"),
                format!("cannot read the directory: {error}"),
            )
        })?;
        let mut paths: Vec<PathBuf> = directory
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".toml"))
            })
            .collect();
        paths.sort();
        let files = paths
            .iter()
            .map(|path| HolidayFile::from_toml(&path.display().to_string(), &read(path)?))
            .collect::<Result<Vec<_>, _>>()?;
        QuietHours::assemble(&document, config, &files)
    }

    /// The calendar from `files`, then [`QuietHours::new`] with errors located in `document`.
    fn assemble(
        document: &Document<'_>,
        config: Config,
        files: &[HolidayFile],
    ) -> Result<QuietHours, ConfigError> {
        let calendar = Calendar::new(config.state, files)?;
        QuietHours::new(config, calendar).map_err(|error| document.locate(error))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The calendar of free days.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The school's default schedule.
    pub fn school_schedule(&self) -> &Schedule {
        &self.school
    }

    /// The schedule of one person: `person` is the schedule an admin set for them (`None`: the
    /// school's), `window` the times they moved their movable window to (`None`: as written).
    /// Errors name the field of the schedule (`windows[0].begin`) or of the window (`begin`,
    /// `end`, or `window` when moving is not allowed at all).
    pub fn person_schedule(
        &self,
        person: Option<&ScheduleSpec>,
        window: Option<&PersonalWindow>,
    ) -> Result<Schedule, FieldError> {
        if let Some(window) = window {
            let bounds = self.config.personal.as_ref().ok_or_else(|| {
                FieldError::new(
                    "window",
                    "Die Schule erlaubt keine persönlichen Ruhezeiten.",
                    "the school does not allow personal quiet hours",
                )
            })?;
            bounds.check(window)?;
        }
        compile(
            person.unwrap_or(&self.config.school),
            window,
            &self.calendar,
        )
    }

    /// Checks a teacher's personal window against the admin's bounds and their schedule
    /// (`person`, or the school's), without building anything; see
    /// [`QuietHours::person_schedule`] for the errors.
    pub fn check_window(
        &self,
        person: Option<&ScheduleSpec>,
        window: &PersonalWindow,
    ) -> Result<(), FieldError> {
        self.person_schedule(person, Some(window)).map(|_| ())
    }

    /// Whether a message from someone with role `sender` to someone with role `recipient`
    /// (whose schedule is `schedule`) sent at `at` waits, and if so until when: the end of the
    /// recipient's quiet hours, exact to the second, in UTC. `None` (deliver now) when the
    /// sender's role is not held (admins never are; `None` for accounts outside the directory),
    /// the recipient's role has no quiet hours, or `at` is not in quiet hours.
    pub fn holds(
        &self,
        sender: Option<Role>,
        recipient: Option<Role>,
        schedule: &Schedule,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let sender = sender.filter(|&role| role != Role::Admin)?;
        let recipient = recipient?;
        if !self.config.held_senders.contains(&sender)
            || !self.config.quiet_recipients.contains(&recipient)
        {
            return None;
        }
        schedule.quiet_until(at)
    }
}

/// Compiles `spec` (with `window` moving its movable window) against `calendar`.
fn compile(
    spec: &ScheduleSpec,
    window: Option<&PersonalWindow>,
    calendar: &Arc<Calendar>,
) -> Result<Schedule, FieldError> {
    Ok(Schedule::new(
        spec.weekly(window)?,
        spec.public_holidays,
        spec.school_holidays,
        Arc::clone(calendar),
    ))
}

/// The text of the file at `path`, or an error naming it.
fn read(path: &Path) -> Result<String, ConfigError> {
    fs::read_to_string(path).map_err(|error| {
        ConfigError::file(
            &path.display().to_string(),
            format!("Die Datei kann nicht gelesen werden: {error}"),
            format!("cannot read the file: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TimeOfDay;

    #[test]
    fn the_shipped_file_holds_the_defaults() {
        let shipped =
            QuietHours::from_texts("quiet-hours.toml", DEFAULT_QUIET_HOURS_TOML, &[]).unwrap();
        let minimal = QuietHours::from_texts("quiet-hours.toml", "state = \"BB\"\n", &[]).unwrap();
        let mut expected = minimal.config().clone();
        // Without `[personal]` teachers cannot move their window; the shipped file allows it.
        assert_eq!(expected.personal, None);
        expected.personal = Some(PersonalBounds {
            begin_earliest: TimeOfDay::new(16, 0).unwrap(),
            begin_latest: TimeOfDay::new(22, 0).unwrap(),
            end_earliest: TimeOfDay::new(5, 0).unwrap(),
            end_latest: TimeOfDay::new(9, 0).unwrap(),
        });
        assert_eq!(shipped.config(), &expected);
        assert_eq!(expected.school, ScheduleSpec::default());
    }
}
