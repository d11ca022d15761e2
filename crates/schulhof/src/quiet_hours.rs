//! Admin commands for quiet hours: `schulhof quiet-hours show|set|window|reset|check`.
//!
//! Changes go to the database in one directory change with an audit entry (actor `cli`): a
//! running server notices the new directory version within a second, reloads the personal
//! schedules and brings the person's account data `de.schulhof.quiet_hours` in line. Errors
//! name the file, the line and the field.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use schulhof_quiet_hours::chrono::{Days, Utc};
use schulhof_quiet_hours::{PersonalWindow, QuietHours, DEFAULT_QUIET_HOURS_TOML};
use schulhof_server::config::{Config, Language};
use schulhof_server::service::quiet_hours::personal::{self, describe, Edit};
use schulhof_server::service::school::directory::user_id_of;
use schulhof_server::service::school::letters::german_time;
use schulhof_server::state::AppState;

/// What the audit log records as the actor of CLI commands.
const ACTOR: &str = "cli";

/// How far ahead `check` wants the school holidays to be known.
const HOLIDAYS_AHEAD_DAYS: u64 = 120;

/// Subcommands of `schulhof quiet-hours`.
#[derive(Subcommand)]
pub enum QuietHoursCommand {
    /// Show a person's quiet hours: the schedule in words, a moved window, the school's bounds.
    Show {
        /// Username, e.g. `anna.schmidt`.
        localpart: String,
    },
    /// Give a person a schedule of their own: a TOML file with the keys of `[school]`
    /// (`windows`, `public_holidays`, `school_holidays`).
    Set {
        /// Username.
        localpart: String,
        /// The schedule file.
        #[arg(long, value_name = "FILE")]
        schedule: PathBuf,
    },
    /// Move a person's movable window (within the bounds of `[personal]`).
    Window {
        /// Username.
        localpart: String,
        /// When quiet hours begin, e.g. 19:00.
        #[arg(long, value_name = "HH:MM")]
        begin: String,
        /// When they end, e.g. 06:30.
        #[arg(long, value_name = "HH:MM")]
        end: String,
    },
    /// The school's schedule and times again for a person (own schedule and window removed).
    Reset {
        /// Username.
        localpart: String,
    },
    /// Check the quiet-hours file and the holiday files of the configuration, and the stored
    /// personal settings against them.
    Check,
}

/// Runs `schulhof quiet-hours …`.
pub async fn run(config: &Path, command: QuietHoursCommand) -> Result<(), String> {
    if let QuietHoursCommand::Check = command {
        return check(config).await;
    }
    let state = crate::open_state(config).await?;
    let state = &*state;
    let text = |e: schulhof_server::Error| e.text().de.into_owned();
    let (localpart, edit) = match command {
        QuietHoursCommand::Show { localpart } => return show(state, &localpart).await,
        QuietHoursCommand::Check => unreachable!("handled above"),
        QuietHoursCommand::Set {
            localpart,
            schedule,
        } => {
            let file = schedule.display().to_string();
            let source = std::fs::read_to_string(&schedule)
                .map_err(|e| format!("{file}: Die Datei kann nicht gelesen werden: {e}"))?;
            let spec = state
                .quiet_hours
                .rules()
                .person_schedule_from_text(&file, &source)
                .map_err(|e| e.to_string())?;
            let done =
                personal::change_as_admin(state, ACTOR, &localpart, Edit::Schedule(Some(spec)))
                    .await;
            done.map_err(|e| format!("{file}: {}", text(e)))?;
            println!("Eigener Zeitplan für {localpart} gespeichert.");
            return show(state, &localpart).await;
        }
        QuietHoursCommand::Window {
            localpart,
            begin,
            end,
        } => {
            let window = PersonalWindow {
                begin: personal::parse_time("begin", &begin).map_err(|e| e.to_string())?,
                end: personal::parse_time("end", &end).map_err(|e| e.to_string())?,
            };
            (localpart, Edit::Window(Some(window)))
        }
        QuietHoursCommand::Reset { localpart } => (localpart, Edit::Reset),
    };
    personal::change_as_admin(state, ACTOR, &localpart, edit)
        .await
        .map_err(text)?;
    println!(
        "Ruhezeiten von {localpart} gespeichert; ein laufender Server übernimmt sie innerhalb \
         einer Sekunde."
    );
    show(state, &localpart).await
}

/// Prints a person's quiet hours.
async fn show(state: &AppState, localpart: &str) -> Result<(), String> {
    let user_id = user_id_of(state, localpart).map_err(|e| e.text().de.into_owned())?;
    let rules = state.quiet_hours.rules();
    let role = personal::role_of(state, &user_id);
    let row = state
        .db
        .personal_quiet_hours(user_id.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let role_name = role.map_or("nicht im Schulverzeichnis", |role| role.german());
    println!("{} ({role_name})", user_id.localpart());
    if personal::require_quiet_role(&rules, role).is_err() {
        println!("  Für diese Person gibt es keine Ruhezeiten.");
    }
    let in_force = match &row {
        Some(stored) => match personal::compile(&rules, stored) {
            Ok(_) => Some(stored),
            Err(err) => {
                println!(
                    "  Achtung: die gespeicherten Einstellungen passen nicht zu den Regeln der \
                     Schule ({err}); es gilt der Zeitplan der Schule."
                );
                None
            }
        },
        None => None,
    };
    let spec = in_force.and_then(|row| personal::stored_schedule(row).ok().flatten());
    let window = in_force.and_then(|row| personal::stored_window(row).ok().flatten());
    println!(
        "  Zeitplan: {}",
        if spec.is_some() {
            "eigener (von der Schulleitung)"
        } else {
            "der Schule"
        }
    );
    for line in describe::schedule_lines(&rules, spec.as_ref(), window.as_ref(), Language::De) {
        println!("    - {line}");
    }
    match window {
        Some(window) => println!(
            "  Verschobenes Fenster: {} bis {}",
            window.begin, window.end
        ),
        None => println!("  Verschobenes Fenster: keines"),
    }
    println!(
        "  Grenzen der Schule: {}",
        describe::bounds_line(&rules, Language::De)
    );
    let schedule = match in_force {
        Some(row) => personal::compile(&rules, row).map_err(|e| e.to_string())?,
        None => rules.school_schedule().clone(),
    };
    println!(
        "  {}",
        describe::now_line(&schedule, state.clock.now_ms(), Language::De)
    );
    if let Some(row) = &row {
        println!("  Zuletzt geändert: {}", german_time(row.updated_ts));
    }
    Ok(())
}

/// `schulhof quiet-hours check`: the files first (without the database, which a broken file
/// keeps the server from opening), then the stored personal settings.
async fn check(config_path: &Path) -> Result<(), String> {
    let config = Config::load(config_path).map_err(|e| e.to_string())?;
    let files = &config.quiet_hours;
    let rules = if files.file.exists() {
        QuietHours::load(&files.file, &files.holidays_dir).map_err(|e| e.to_string())?
    } else {
        println!(
            "Die Datei {} gibt es nicht: es gelten die eingebauten Ruhezeiten.",
            files.file.display()
        );
        QuietHours::from_texts("quiet-hours (eingebaut)", DEFAULT_QUIET_HOURS_TOML, &[])
            .map_err(|e| e.to_string())?
    };
    println!(
        "Ruhezeiten in {} sind gültig (Bundesland {}).",
        files.file.display(),
        rules.config().state.name()
    );
    let today = Utc::now().date_naive();
    let ahead = today + Days::new(HOLIDAYS_AHEAD_DAYS);
    if !rules.calendar().school_holidays_known(today) {
        println!(
            "Warnung: Für heute sind keine Schulferien bekannt. Bitte die Ferien des Schuljahres \
             in {} ablegen.",
            files.holidays_dir.display()
        );
    } else if !rules.calendar().school_holidays_known(ahead) {
        println!(
            "Warnung: Die Schulferien sind nur noch für weniger als {HOLIDAYS_AHEAD_DAYS} Tage \
             bekannt. Bitte die Datei des nächsten Schuljahres in {} ablegen.",
            files.holidays_dir.display()
        );
    }
    let state = AppState::new(config).await.map_err(|e| e.to_string())?;
    let rows = state
        .db
        .all_personal_quiet_hours()
        .await
        .map_err(|e| e.to_string())?;
    let broken: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let err = personal::compile(&rules, row).err()?;
            Some(format!("{}: {err}", row.user_id))
        })
        .collect();
    println!(
        "{} Personen haben eigene Ruhezeiten gespeichert.",
        rows.len()
    );
    if broken.is_empty() {
        return Ok(());
    }
    Err(format!(
        "Diese gespeicherten Ruhezeiten passen nicht zu den Regeln der Schule (es gilt dort der \
         Zeitplan der Schule, bis sie neu gesetzt werden):\n  {}",
        broken.join("\n  ")
    ))
}
