//! Schedules as written by admins and teachers: weekly windows, whether holidays are quiet,
//! and the personal window a teacher may move within the admin's bounds.

use serde::{Deserialize, Serialize};

use crate::weekly::{Boundary, Weekly, Window};
use crate::{FieldError, TimeOfDay};

/// One quiet window: quiet from each instant of `begin` until the next instant of `end` after
/// it. Both are written in the weekly form `Mo-Fr 18:00` (German or English day names, ranges
/// and lists) or as a cron expression of the `cron` crate (`0 0 18 * * Mon-Fri`: six fields,
/// seconds first, days named).
///
/// `begin = "Mo-Fr 18:00"`, `end = "Mo-Fr 07:00"` is quiet every weekday evening until the next
/// morning, and from Friday 18:00 until Monday 07:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Where quiet periods begin.
    pub begin: String,
    /// Where they end.
    pub end: String,
    /// Teachers may move this window's times (within [`PersonalBounds`]); the days stay. At
    /// most one window of a schedule is movable, and it needs exactly one time for `begin` and
    /// one for `end` (default: false).
    #[serde(default)]
    pub movable: bool,
}

/// A schedule as written: the school's default (`[school]` in `config/quiet-hours.toml`) or
/// one an admin sets for a single person. Keys left out take the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSpec {
    /// The weekly quiet windows (default: weekdays 18:00 to 07:00 the next morning and the
    /// whole weekend, movable).
    pub windows: Vec<WindowSpec>,
    /// Public holidays of the school's state are quiet all day (default: true).
    pub public_holidays: bool,
    /// School holidays from the holiday files are quiet all day (default: true).
    pub school_holidays: bool,
}

impl Default for ScheduleSpec {
    fn default() -> ScheduleSpec {
        ScheduleSpec {
            windows: vec![WindowSpec {
                begin: "Mo-Fr 18:00".to_owned(),
                end: "Mo-Fr 07:00".to_owned(),
                movable: true,
            }],
            public_holidays: true,
            school_holidays: true,
        }
    }
}

/// A teacher's own times for the movable window: when their quiet hours begin in the evening
/// and end in the morning. The days stay those of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalWindow {
    /// When quiet hours begin (`20:00`).
    pub begin: TimeOfDay,
    /// When they end (`06:30`).
    pub end: TimeOfDay,
}

/// The admin's bounds for personal windows (`[personal]`): `begin` must lie in
/// `begin_earliest..=begin_latest` and `end` in `end_earliest..=end_latest`. A range whose
/// latest time is before its earliest runs over midnight (`22:00` to `01:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalBounds {
    /// Earliest begin.
    pub begin_earliest: TimeOfDay,
    /// Latest begin.
    pub begin_latest: TimeOfDay,
    /// Earliest end.
    pub end_earliest: TimeOfDay,
    /// Latest end.
    pub end_latest: TimeOfDay,
}

impl PersonalBounds {
    /// Checks `window` against the bounds: an error names `begin` or `end` and the allowed
    /// range.
    pub fn check(&self, window: &PersonalWindow) -> Result<(), FieldError> {
        let checks = [
            (
                "begin",
                "Beginn",
                window.begin,
                self.begin_earliest,
                self.begin_latest,
            ),
            (
                "end",
                "Ende",
                window.end,
                self.end_earliest,
                self.end_latest,
            ),
        ];
        for (field, german, time, earliest, latest) in checks {
            if !time.within(earliest, latest) {
                return Err(FieldError::new(
                    field,
                    format!(
                        "{german} {time} liegt außerhalb der von der Schule erlaubten Zeit \
                         ({earliest} bis {latest})."
                    ),
                    format!("{field} {time} is outside the times the school allows ({earliest} to {latest})"),
                ));
            }
        }
        if window.begin == window.end {
            return Err(FieldError::new(
                "end",
                "Beginn und Ende dürfen nicht gleich sein.",
                "begin and end must differ",
            ));
        }
        Ok(())
    }

    /// Checks that the bounds themselves admit `window` (the movable window as the schedule
    /// writes it), naming the bound that excludes it.
    pub(crate) fn admit(&self, window: &PersonalWindow) -> Result<(), FieldError> {
        self.check(window).map_err(|error| {
            let (first, last) = if error.field == "begin" {
                ("begin_earliest", "begin_latest")
            } else {
                ("end_earliest", "end_latest")
            };
            FieldError::new(
                first,
                format!(
                    "Die Grenzen {first} bis {last} schließen die Zeit des verschiebbaren \
                     Fensters der Schule aus: {}",
                    error.message_de
                ),
                format!(
                    "the bounds {first} to {last} exclude the time of the school's movable \
                     window: {}",
                    error.message_en
                ),
            )
        })
    }
}

impl ScheduleSpec {
    /// Compiles the weekly windows, with `personal` replacing the times of the movable window.
    /// Errors name the field (`windows[0].begin`).
    pub(crate) fn weekly(&self, personal: Option<&PersonalWindow>) -> Result<Weekly, FieldError> {
        let mut windows = Vec::with_capacity(self.windows.len());
        let mut movable_seen = None;
        for (index, spec) in self.windows.iter().enumerate() {
            let field = format!("windows[{index}]");
            let parse = |name: &str, text: &str| {
                Boundary::parse(text)
                    .map_err(|(de, en)| FieldError::new(format!("{field}.{name}"), de, en))
            };
            let mut window = Window {
                begin: parse("begin", &spec.begin)?,
                end: parse("end", &spec.end)?,
            };
            if spec.movable {
                if let Some(first) = movable_seen.replace(index) {
                    return Err(FieldError::new(
                        format!("{field}.movable"),
                        format!("Nur ein Fenster kann verschiebbar sein (schon windows[{first}])."),
                        format!("only one window can be movable (already windows[{first}])"),
                    ));
                }
                if window.begin.single_time().is_none() || window.end.single_time().is_none() {
                    return Err(FieldError::new(
                        format!("{field}.movable"),
                        "Ein verschiebbares Fenster braucht genau eine Uhrzeit für Beginn und Ende.",
                        "a movable window needs exactly one time of day for begin and for end",
                    ));
                }
                if let Some(personal) = personal {
                    window.begin = window.begin.at(personal.begin);
                    window.end = window.end.at(personal.end);
                }
            }
            windows.push((window, field));
        }
        if personal.is_some() && movable_seen.is_none() {
            return Err(FieldError::new(
                "windows",
                "Dieser Zeitplan hat kein verschiebbares Fenster.",
                "this schedule has no movable window",
            ));
        }
        Weekly::compile(&windows)
    }

    /// The times of the movable window as written, if there is one (and it is valid): what a
    /// teacher's [`PersonalWindow`] replaces.
    pub fn movable_window(&self) -> Option<PersonalWindow> {
        let spec = self.windows.iter().find(|window| window.movable)?;
        let begin = Boundary::parse(&spec.begin).ok()?.single_time()?;
        let end = Boundary::parse(&spec.end).ok()?.single_time()?;
        Some(PersonalWindow { begin, end })
    }
}
