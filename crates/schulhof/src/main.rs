//! `schulhof`: the school messenger server and its admin commands.

mod admin;
mod appservice;
mod demo;
mod import;
mod policy;
mod quiet_hours;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use schulhof_server::config::Config;
use schulhof_server::service::runtime::jobs::Scope;
use schulhof_server::state::AppState;

/// How long background jobs get to finish at shutdown.
const JOB_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Schulhof: a Matrix homeserver for schools.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML).
    #[arg(long, global = true, default_value = "config/schulhof.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the homeserver.
    Serve,
    /// Import the school's CSV export (people, roles, groups) and write access letters.
    Import(import::ImportArgs),
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Show the groups of the school directory.
    Group {
        #[command(subcommand)]
        command: admin::GroupCommand,
    },
    /// Check the school's rights file.
    Rights {
        #[command(subcommand)]
        command: policy::RightsCommand,
    },
    /// Read the audit log and the reports.
    Audit {
        #[command(subcommand)]
        command: policy::AuditCommand,
    },
    /// Show and change quiet hours of single people; check the quiet-hours files.
    QuietHours {
        #[command(subcommand)]
        command: quiet_hours::QuietHoursCommand,
    },
    /// The school appservice: show what it would change.
    Appservice {
        #[command(subcommand)]
        command: appservice::AppserviceCommand,
    },
    /// Create ./data with a demo configuration and demo accounts, print the logins and serve.
    Demo,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (until the school import exists: for admins and tests).
    Add {
        /// Local part of the user ID, e.g. `anna.schmidt`.
        localpart: String,
        /// Initial password.
        #[arg(long)]
        password: String,
        /// Display name, e.g. "Anna Schmidt".
        #[arg(long)]
        display_name: Option<String>,
        /// Make the account a server admin.
        #[arg(long)]
        admin: bool,
    },
    #[command(flatten)]
    Admin(admin::UserAdmin),
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,ruma_state_res=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Demo => demo::run().await,
        Command::Serve => {
            let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
            serve(config).await
        }
        Command::Import(args) => import::run(&cli.config, args).await,
        Command::Group { command } => admin::run_group(&cli.config, command).await,
        Command::Rights { command } => policy::run_rights(&cli.config, command),
        Command::Audit { command } => policy::run_audit(&cli.config, command).await,
        Command::QuietHours { command } => quiet_hours::run(&cli.config, command).await,
        Command::Appservice { command } => appservice::run(&cli.config, command).await,
        Command::User {
            command: UserCommand::Admin(command),
        } => admin::run_user(&cli.config, command).await,
        Command::User {
            command:
                UserCommand::Add {
                    localpart,
                    password,
                    display_name,
                    admin,
                },
        } => {
            let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
            let state = AppState::new(config).await.map_err(|e| e.to_string())?;
            let user_id = schulhof_server::service::identity::accounts::create_user(
                &state,
                &localpart,
                &password,
                display_name.as_deref(),
                admin,
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("created {user_id}");
            Ok(())
        }
    }
}

/// Loads the configuration and opens the server state (database, secret key) for an admin
/// command.
async fn open_state(config: &std::path::Path) -> Result<std::sync::Arc<AppState>, String> {
    let config = Config::load(config).map_err(|e| e.to_string())?;
    AppState::new(config).await.map_err(|e| e.to_string())
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> Result<(), String> {
    let listen = config.listen;
    std::fs::create_dir_all(&config.media_path)
        .map_err(|e| format!("media_path {}: {e}", config.media_path.display()))?;
    // An invalid rights file stops the start with its own message (file, line, field).
    let file = config.rights_file.display().to_string();
    match schulhof_server::service::school::policy::read_rights(&config.rights_file)? {
        Some(_) => tracing::info!(%file, "rights loaded"),
        None => tracing::warn!(%file, "rights file not found: the default rights apply"),
    }
    // So do invalid appservice registration files (file and field), before the database.
    schulhof_server::service::appservice::Appservices::check(&config)?;
    appservice::check(&config)?;
    let database_url = config.database_url.clone();
    let state = AppState::new(config).await.map_err(|e| e.to_string())?;
    // Held until the server stops: a second server on the same database is refused.
    let _lease = state
        .db
        .take_serve_lease(&database_url)
        .await
        .map_err(|e| e.to_string())?;
    schulhof_server::service::appservice::accounts::ensure_senders(&state)
        .await
        .map_err(|e| format!("appservice sender accounts: {e}"))?;
    state.jobs.start(
        &state,
        "rights-reload",
        Scope::PerProcess,
        policy::reload_rights_on_sighup,
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("listen {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("listening on {bound}");
    appservice::spawn_in_process(&state.config, bound);
    tokio::select! {
        result = schulhof_server::serve(state.clone(), listener) => result.map_err(|e| e.to_string())?,
        _ = shutdown_signal() => tracing::info!("shutting down"),
    }
    state.jobs.shutdown(JOB_GRACE).await;
    state.db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Keeps glibc from holding on to freed memory: large blocks (Argon2's 19 MiB) always come
/// from `mmap` and go back to the system when freed, and the number of malloc arenas is bounded.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    init_logging();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("schulhof: {message}");
            ExitCode::FAILURE
        }
    }
}
