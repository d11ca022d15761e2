//! Personal quiet hours: a schedule an admin set for one person, or the movable window a
//! teacher moved within the admin's bounds. Stored in `quiet_hours_personal`, compiled into
//! the service's cache at start and whenever they change.

use std::sync::Arc;

use schulhof_quiet_hours::{FieldError, PersonalWindow, QuietHours, Schedule, ScheduleSpec};
use schulhof_store::{Db, PersonalQuietHours};

use super::QuietHoursService;
use crate::Result;

/// The schedule a stored row describes, against the school's `rules`. Errors name the field
/// (`schedule.windows[0].begin`, `window.begin`).
pub fn compile(
    rules: &QuietHours,
    row: &PersonalQuietHours,
) -> std::result::Result<Schedule, FieldError> {
    let spec = match &row.schedule {
        Some(text) => Some(toml::from_str::<ScheduleSpec>(text).map_err(|e| {
            FieldError::new(
                "schedule",
                format!("Der Zeitplan ist ungültig: {}", e.message()),
                format!("invalid schedule: {}", e.message()),
            )
        })?),
        None => None,
    };
    let window = match (&row.window_begin, &row.window_end) {
        (Some(begin), Some(end)) => Some(PersonalWindow {
            begin: begin.parse().map_err(|_| time_error("window.begin"))?,
            end: end.parse().map_err(|_| time_error("window.end"))?,
        }),
        _ => None,
    };
    rules.person_schedule(spec.as_ref(), window.as_ref())
}

fn time_error(field: &str) -> FieldError {
    FieldError::new(
        field,
        "Bitte eine Uhrzeit wie 18:30 angeben.",
        "expected a time of day such as 18:30",
    )
}

/// Compiles every stored personal schedule into the cache. A row that no longer fits the
/// school's rules (the admin narrowed the bounds) is skipped with a warning: that person has
/// the school's schedule until it is set again.
pub async fn load_all(service: &QuietHoursService, db: &Db) -> Result<()> {
    let rules = service.rules();
    for row in db.all_personal_quiet_hours().await? {
        match compile(&rules, &row) {
            Ok(schedule) => service.set_personal_schedule(&row.user_id, Some(Arc::new(schedule))),
            Err(err) => tracing::warn!(field = %err.field, "personal quiet hours skipped"),
        }
    }
    Ok(())
}
