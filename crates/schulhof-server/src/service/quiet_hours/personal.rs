//! Personal quiet hours: a schedule an admin set for one person, or the movable window a
//! teacher moved within the admin's bounds. Stored in `quiet_hours_personal`, compiled into
//! the service's cache at start and whenever they change.
//!
//! Changes: a teacher moves their own window ([`set_own_window`], from the account data
//! `de.schulhof.quiet_hours` and the web page `/_schulhof/quiet-hours`); an admin gives a person
//! a schedule or a window or resets them ([`change_as_admin`], the CLI). Every change is checked
//! against the school's rules ([`apply_edit`]) inside the transaction that stores it, which
//! also bumps the directory version: changes are serialised with each other and with every
//! directory change, a refused change stores nothing, and every serving process reloads the
//! personal schedules when it notices the new version ([`reload`], run by the directory
//! watcher). The process that made a change updates its cache before answering.

pub mod account_data;
pub mod describe;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ruma::UserId;
use schulhof_directory::Role;
use schulhof_quiet_hours::{FieldError, PersonalWindow, QuietHours, Schedule, ScheduleSpec};
use schulhof_store::{Db, PersonalQuietHours};

use super::QuietHoursService;
use crate::config::Language;
use crate::service::school::directory::{user_id_of, DirectoryChange};
use crate::state::AppState;
use crate::{Error, Result};

/// The schedule a stored row describes, against the school's `rules`. Errors name the field
/// (`windows[0].begin` of the schedule, `begin` or `end` of the window).
pub fn compile(
    rules: &QuietHours,
    row: &PersonalQuietHours,
) -> std::result::Result<Schedule, FieldError> {
    let spec = stored_schedule(row)?;
    let window = stored_window(row)?;
    rules.person_schedule(spec.as_ref(), window.as_ref())
}

/// The admin's schedule of a stored row, if it has one.
pub fn stored_schedule(
    row: &PersonalQuietHours,
) -> std::result::Result<Option<ScheduleSpec>, FieldError> {
    let Some(text) = &row.schedule else {
        return Ok(None);
    };
    toml::from_str::<ScheduleSpec>(text).map(Some).map_err(|e| {
        FieldError::new(
            "schedule",
            format!("Der Zeitplan ist ungültig: {}", e.message()),
            format!("invalid schedule: {}", e.message()),
        )
    })
}

/// The moved window of a stored row, if it has one.
pub fn stored_window(
    row: &PersonalQuietHours,
) -> std::result::Result<Option<PersonalWindow>, FieldError> {
    match (&row.window_begin, &row.window_end) {
        (Some(begin), Some(end)) => Ok(Some(PersonalWindow {
            begin: parse_time("begin", begin)?,
            end: parse_time("end", end)?,
        })),
        _ => Ok(None),
    }
}

/// A time of day given for `field` (`begin` or `end`), e.g. `18:30`.
pub fn parse_time(
    field: &str,
    text: &str,
) -> std::result::Result<schulhof_quiet_hours::TimeOfDay, FieldError> {
    text.trim().parse().map_err(|_| {
        let (german, english) = field_names(field);
        FieldError::new(
            field,
            format!("{german} „{text}“ ist keine Uhrzeit wie 18:30."),
            format!("{english} “{text}” is not a time of day such as 18:30"),
        )
    })
}

/// The German and English names of a window's field.
fn field_names(field: &str) -> (&str, &str) {
    match field {
        "begin" => ("Beginn", "Begin"),
        "end" => ("Ende", "End"),
        other => (other, other),
    }
}

/// Compiles every stored personal schedule into the cache. A row that no longer fits the
/// school's rules (the admin narrowed the bounds) is skipped with a warning: that person has
/// the school's schedule until it is set again.
pub async fn load_all(service: &QuietHoursService, db: &Db) -> Result<()> {
    let rules = service.rules();
    for (user_id, schedule) in compile_all(&rules, &db.all_personal_quiet_hours().await?) {
        service.set_personal_schedule(&user_id, Some(schedule));
    }
    Ok(())
}

/// The compiled schedules of the `rows` that fit `rules` (the others with a warning).
fn compile_all(rules: &QuietHours, rows: &[PersonalQuietHours]) -> HashMap<String, Arc<Schedule>> {
    rows.iter()
        .filter_map(|row| match compile(rules, row) {
            Ok(schedule) => Some((row.user_id.clone(), Arc::new(schedule))),
            Err(err) => {
                tracing::warn!(field = %err.field, "personal quiet hours skipped");
                None
            }
        })
        .collect()
}

/// Compiles the stored personal schedules again and replaces this process's cache, then
/// brings the account data `de.schulhof.quiet_hours` of everyone whose settings are stored or
/// were cached in line with what is in force (changes made by the CLI). Run by the directory
/// watcher at start and after every directory change.
pub async fn reload(state: &AppState) -> Result<()> {
    let rules = state.quiet_hours.rules();
    let rows = state.db.all_personal_quiet_hours().await?;
    let schedules = compile_all(&rules, &rows);
    let windows: HashMap<&str, PersonalWindow> = rows
        .iter()
        .filter(|row| schedules.contains_key(&row.user_id))
        .filter_map(|row| Some((row.user_id.as_str(), stored_window(row).ok()??)))
        .collect();
    let before = state.quiet_hours.replace_personal_schedules(schedules);
    let people: BTreeSet<&str> = rows
        .iter()
        .map(|row| row.user_id.as_str())
        .chain(before.keys().map(String::as_str))
        .collect();
    for user in people {
        let Ok(user_id) = UserId::parse(user) else {
            continue;
        };
        account_data::reconcile(state, &user_id, windows.get(user)).await?;
    }
    Ok(())
}

/// A change of one person's quiet hours.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Moves the movable window to these times, or back to the schedule's own (`None`).
    Window(Option<PersonalWindow>),
    /// Gives the person a schedule of their own, or the school's again (`None`); a moved
    /// window stays (and must fit the new schedule).
    Schedule(Option<ScheduleSpec>),
    /// The school's schedule and times again.
    Reset,
}

impl Edit {
    /// The action recorded in the audit log.
    fn action(&self) -> &'static str {
        match self {
            Edit::Window(_) => "quiet_hours.window",
            Edit::Schedule(_) => "quiet_hours.schedule",
            Edit::Reset => "quiet_hours.reset",
        }
    }

    /// What the audit log records about the change (German, like the other entries).
    fn detail(&self) -> String {
        match self {
            Edit::Window(Some(window)) => format!("{} bis {}", window.begin, window.end),
            Edit::Window(None) => "Zeiten des Zeitplans".to_owned(),
            Edit::Schedule(Some(spec)) => {
                format!("eigener Zeitplan, {} Fenster", spec.windows.len())
            }
            Edit::Schedule(None) => "Zeitplan der Schule".to_owned(),
            Edit::Reset => String::new(),
        }
    }
}

/// The row `before` (or none) of `user_id` changed by `edit` at `now`, checked against the
/// school's `rules`: the row to store (without schedule and window it is deleted) and the
/// schedule that applies from now on (`None`: the school's).
///
/// Refused: settings for someone whose `role` has no quiet hours (people outside the directory
/// have none), a window outside the admin's bounds or for a schedule without a movable
/// window, an invalid schedule. Errors name the field.
pub fn apply_edit(
    rules: &QuietHours,
    role: Option<Role>,
    user_id: &str,
    before: Option<&PersonalQuietHours>,
    edit: &Edit,
    now: i64,
) -> Result<(PersonalQuietHours, Option<Schedule>)> {
    let mut row = before.cloned().unwrap_or_else(|| PersonalQuietHours {
        user_id: user_id.to_owned(),
        schedule: None,
        window_begin: None,
        window_end: None,
        updated_ts: now,
    });
    row.updated_ts = now;
    match edit {
        Edit::Window(window) => {
            row.window_begin = window.map(|w| w.begin.to_string());
            row.window_end = window.map(|w| w.end.to_string());
        }
        Edit::Schedule(spec) => {
            row.schedule = spec
                .as_ref()
                .map(toml::to_string)
                .transpose()
                .map_err(|e| Error::Internal(format!("schedule not serialisable: {e}")))?;
        }
        Edit::Reset => {
            row.schedule = None;
            row.window_begin = None;
            row.window_end = None;
        }
    }
    if row.schedule.is_none() && row.window_begin.is_none() {
        return Ok((row, None));
    }
    require_quiet_role(rules, role)?;
    let schedule = compile(rules, &row)?;
    Ok((row, Some(schedule)))
}

/// Refuses people whose role has no quiet hours (config `quiet_recipients`, default teachers).
pub fn require_quiet_role(rules: &QuietHours, role: Option<Role>) -> Result<()> {
    let recipients = &rules.config().quiet_recipients;
    if role.is_some_and(|role| recipients.contains(&role)) {
        return Ok(());
    }
    Err(Error::forbidden(
        format!(
            "Ruhezeiten gelten nur für {}.",
            describe::roles(recipients, Language::De, describe::Case::Nominative)
        ),
        format!(
            "Quiet hours apply only to {}.",
            describe::roles(recipients, Language::En, describe::Case::Nominative)
        ),
    ))
}

/// The directory role of `user_id` now (`None` outside the directory).
pub fn role_of(state: &AppState, user_id: &UserId) -> Option<Role> {
    state
        .directory
        .snapshot()
        .person(user_id.localpart())
        .map(|person| person.role)
}

/// A teacher moves their own window (`Some`) or takes the schedule's times again (`None`):
/// checked against the school's rules, stored together with the account data
/// `de.schulhof.quiet_hours` (so the person's clients see it in `/sync`), and in force for
/// new messages when this returns. Returns the account data's stream position.
pub async fn set_own_window(
    state: &AppState,
    user_id: &UserId,
    window: Option<PersonalWindow>,
) -> Result<i64> {
    let rules = state.quiet_hours.rules();
    let role = role_of(state, user_id);
    require_quiet_role(&rules, role)?;
    let now = state.clock.now_ms();
    let (pos, schedule) = state
        .writer
        .commit(state, async |c| {
            Db::bump_directory_version(c.tx()).await?;
            let before = Db::personal_quiet_hours_tx(c.tx(), user_id.as_str()).await?;
            let edit = Edit::Window(window);
            let (row, schedule) =
                apply_edit(&rules, role, user_id.as_str(), before.as_ref(), &edit, now)?;
            Db::set_personal_quiet_hours_tx(c.tx(), &row).await?;
            let pos = account_data::store(c, user_id, window.as_ref()).await?;
            Ok((pos, schedule))
        })
        .await?;
    state
        .quiet_hours
        .set_personal_schedule(user_id.as_str(), schedule.map(Arc::new));
    Ok(pos)
}

/// An admin changes the quiet hours of the person `localpart` (the CLI, `actor` for the audit
/// log): checked against the school's rules and stored with an audit entry in one directory
/// change, so serving processes pick it up within a second. Returns the stored settings
/// (`None` when the person has the school's again).
pub async fn change_as_admin(
    state: &AppState,
    actor: &str,
    localpart: &str,
    edit: Edit,
) -> Result<Option<PersonalQuietHours>> {
    let user_id = user_id_of(state, localpart)?;
    let localpart = user_id.localpart();
    let rules = state.quiet_hours.rules();
    let mut change = DirectoryChange::begin(state).await?;
    let role = change
        .after
        .by_localpart(localpart)
        .map(|person| person.role);
    let before = Db::personal_quiet_hours_tx(&mut change.tx, user_id.as_str()).await?;
    if role.is_none() && before.is_none() {
        return Err(Error::not_found(
            format!("„{localpart}“ steht nicht im Schulverzeichnis."),
            format!("“{localpart}” is not in the school directory."),
        ));
    }
    let (row, schedule) = apply_edit(
        &rules,
        role,
        user_id.as_str(),
        before.as_ref(),
        &edit,
        change.now,
    )?;
    Db::set_personal_quiet_hours_tx(&mut change.tx, &row).await?;
    change.audit(actor, edit.action(), localpart, edit.detail());
    change.commit(state).await?;
    state
        .quiet_hours
        .set_personal_schedule(user_id.as_str(), schedule.map(Arc::new));
    Ok((row.schedule.is_some() || row.window_begin.is_some()).then_some(row))
}

/// The settings of `user_id` in force now: their stored row if it fits the school's rules
/// (else the school's schedule applies, as at start).
pub async fn in_force(state: &AppState, user_id: &UserId) -> Result<Option<PersonalQuietHours>> {
    let rules = state.quiet_hours.rules();
    let row = state.db.personal_quiet_hours(user_id.as_str()).await?;
    Ok(row.filter(|row| compile(&rules, row).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use schulhof_quiet_hours::{TimeOfDay, DEFAULT_QUIET_HOURS_TOML};

    fn rules() -> QuietHours {
        QuietHours::from_texts("quiet-hours.toml", DEFAULT_QUIET_HOURS_TOML, &[]).unwrap()
    }

    fn window(begin: &str, end: &str) -> PersonalWindow {
        PersonalWindow {
            begin: begin.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    const ANNA: &str = "@anna.schmidt:schule.test";

    fn field_of(err: Error) -> String {
        match err {
            Error::QuietHoursField(e) => e.field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn a_teacher_moves_the_window_within_the_bounds() {
        let rules = rules();
        let edit = Edit::Window(Some(window("19:00", "06:30")));
        let (row, schedule) =
            apply_edit(&rules, Some(Role::Teacher), ANNA, None, &edit, 5).unwrap();
        assert_eq!(row.window_begin.as_deref(), Some("19:00"));
        assert_eq!(row.window_end.as_deref(), Some("06:30"));
        assert_eq!((row.schedule, row.updated_ts), (None, 5));
        assert!(schedule.is_some());
    }

    #[test]
    fn windows_outside_the_bounds_name_the_field() {
        let rules = rules();
        for (begin, end, field) in [
            ("15:59", "06:30", "begin"),
            ("22:01", "06:30", "begin"),
            ("20:00", "04:59", "end"),
            ("20:00", "09:01", "end"),
        ] {
            let edit = Edit::Window(Some(window(begin, end)));
            let err = apply_edit(&rules, Some(Role::Teacher), ANNA, None, &edit, 0).unwrap_err();
            assert_eq!(err.errcode(), "M_INVALID_PARAM");
            assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
            assert!(err.text().de.starts_with(&format!("Feld „{field}“: ")));
            assert_eq!(field_of(err), field, "{begin}–{end}");
        }
    }

    #[test]
    fn only_roles_with_quiet_hours_have_settings() {
        let rules = rules();
        let edit = Edit::Window(Some(window("19:00", "06:30")));
        for role in [
            Some(Role::Student),
            Some(Role::Parent),
            Some(Role::Admin),
            None,
        ] {
            let err = apply_edit(&rules, role, ANNA, None, &edit, 0).unwrap_err();
            assert_eq!(err.errcode(), "M_FORBIDDEN");
            assert_eq!(err.text().de, "Ruhezeiten gelten nur für Lehrkräfte.");
        }
        // Resetting what is not there is no setting.
        let (row, schedule) = apply_edit(&rules, None, ANNA, None, &Edit::Reset, 0).unwrap();
        assert!(row.window_begin.is_none() && schedule.is_none());
    }

    #[test]
    fn a_schedule_keeps_the_window_and_must_fit_it() {
        let rules = rules();
        let moved = Edit::Window(Some(window("20:00", "06:00")));
        let (row, _) = apply_edit(&rules, Some(Role::Teacher), ANNA, None, &moved, 0).unwrap();
        let part_time: ScheduleSpec = toml::from_str(
            "windows = [\n { begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\", movable = true },\n { begin = \"Mi 07:00\", end = \"Do 07:00\" },\n]\n",
        )
        .unwrap();
        let edit = Edit::Schedule(Some(part_time));
        let (row, schedule) =
            apply_edit(&rules, Some(Role::Teacher), ANNA, Some(&row), &edit, 1).unwrap();
        assert_eq!(row.window_begin.as_deref(), Some("20:00"));
        assert!(row.schedule.as_deref().unwrap().contains("Mi 07:00"));
        assert!(schedule.is_some());
        assert!(
            stored_schedule(&row).unwrap().is_some(),
            "stored TOML reads back"
        );

        let fixed: ScheduleSpec =
            toml::from_str("windows = [{ begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\" }]")
                .unwrap();
        let err = apply_edit(
            &rules,
            Some(Role::Teacher),
            ANNA,
            Some(&row),
            &Edit::Schedule(Some(fixed)),
            2,
        )
        .unwrap_err();
        assert_eq!(field_of(err), "windows");

        let (row, schedule) = apply_edit(
            &rules,
            Some(Role::Teacher),
            ANNA,
            Some(&row),
            &Edit::Reset,
            3,
        )
        .unwrap();
        assert_eq!(
            (row.schedule, row.window_begin, schedule.is_none()),
            (None, None, true)
        );
    }

    #[test]
    fn invalid_schedules_name_the_field() {
        let bad: ScheduleSpec =
            toml::from_str("windows = [{ begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 25:00\" }]")
                .unwrap();
        let err = apply_edit(
            &rules(),
            Some(Role::Teacher),
            ANNA,
            None,
            &Edit::Schedule(Some(bad)),
            0,
        )
        .unwrap_err();
        assert_eq!(field_of(err), "windows[0].end");
    }

    #[test]
    fn times_are_parsed_with_the_field_named() {
        assert_eq!(
            parse_time("begin", " 7:05 ").unwrap(),
            TimeOfDay::new(7, 5).unwrap()
        );
        let err = parse_time("end", "25:00").unwrap_err();
        assert_eq!(err.field, "end");
        assert_eq!(err.message_de, "Ende „25:00“ ist keine Uhrzeit wie 18:30.");
    }
}
