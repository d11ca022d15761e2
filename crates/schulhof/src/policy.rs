//! Admin commands for the policy: `schulhof rights check [FILE]` and
//! `schulhof audit list|reports`, and reloading the rights on SIGHUP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Subcommand;
use schulhof_server::config::Config;
use schulhof_server::service::runtime::jobs::Stop;
use schulhof_server::service::school::letters::german_time;
use schulhof_server::service::school::policy::read_rights;
use schulhof_server::state::AppState;

/// Subcommands of `schulhof rights`.
#[derive(Subcommand)]
pub enum RightsCommand {
    /// Check a rights file without changing anything (default: `rights_file` of the
    /// configuration). A running server loads it on SIGHUP (`systemctl reload schulhof`).
    Check {
        /// The file to check.
        file: Option<PathBuf>,
    },
}

/// Subcommands of `schulhof audit`.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// The newest audit log entries (changes, denials by the policy, reports), newest first.
    List {
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// The newest reports of messages, rooms and users, newest first.
    Reports {
        /// How many reports.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

/// Runs `schulhof rights …`.
pub fn run_rights(config: &Path, command: RightsCommand) -> Result<(), String> {
    let RightsCommand::Check { file } = command;
    let (file, explicit) = match file {
        Some(file) => (file, true),
        None => {
            let config = Config::load(config).map_err(|e| e.to_string())?;
            (config.rights_file, false)
        }
    };
    match read_rights(&file)? {
        Some(_) => println!("Rechtedatei {} ist gültig.", file.display()),
        None if explicit => {
            return Err(format!("Die Rechtedatei {} gibt es nicht.", file.display()))
        }
        None => println!(
            "Die Rechtedatei {} gibt es nicht: es gelten die voreingestellten Rechte.",
            file.display()
        ),
    }
    Ok(())
}

/// Runs `schulhof audit …`.
pub async fn run_audit(config: &Path, command: AuditCommand) -> Result<(), String> {
    let state = crate::open_state(config).await?;
    let err = |e: schulhof_store::StoreError| e.to_string();
    match command {
        AuditCommand::List { limit } => {
            for entry in state.db.recent_audit(limit).await.map_err(err)? {
                println!(
                    "{}  {}  {}  {}  {}",
                    german_time(entry.ts),
                    entry.actor,
                    entry.action,
                    entry.target,
                    entry.detail
                );
            }
        }
        AuditCommand::Reports { limit } => {
            for report in state.db.recent_reports(limit).await.map_err(err)? {
                let what = [&report.room_id, &report.event_id, &report.user_id]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ");
                println!(
                    "{}  {}  {what}  „{}“",
                    german_time(report.ts),
                    report.reporter,
                    report.reason
                );
            }
        }
    }
    Ok(())
}

/// The job that reloads the rights whenever the process gets SIGHUP; an invalid file keeps
/// the rights in force (the error is logged with line and field).
pub async fn reload_rights_on_sighup(state: Arc<AppState>, mut stop: Stop) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => hangup,
            Err(err) => {
                tracing::warn!(%err, "no SIGHUP handler: rights reload only by restart");
                return;
            }
        };
        while let Some(Some(())) = stop.unless_stopped(hangup.recv()).await {
            state.policy.reload_logged();
        }
    }
    #[cfg(not(unix))]
    {
        let _ = state;
        stop.stopped().await;
    }
}
