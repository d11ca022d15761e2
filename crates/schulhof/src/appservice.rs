//! `schulhof appservice plan` and the school appservice inside `schulhof serve`
//! (`[school_appservice] in_process = true`): the appservice of `schulhof-appservice`, talking
//! to this server over HTTP with the registration that `[school_appservice] registration`
//! names.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use schulhof_appservice::{Appservice, DirectorySource, Language, Registration};
use schulhof_server::config::Config;

/// How often the in-process appservice tries to reach the server at start.
const CONNECT_ATTEMPTS: u32 = 20;

/// `schulhof appservice …`.
#[derive(Subcommand)]
pub enum AppserviceCommand {
    /// Print the changes the school appservice would make now (the server must be running).
    Plan {
        /// Language of the listing.
        #[arg(long, value_enum, default_value = "de")]
        lang: Language,
    },
}

/// Runs an `appservice` command.
pub async fn run(config: &Path, command: AppserviceCommand) -> Result<(), String> {
    let config = Config::load(config).map_err(|e| e.to_string())?;
    match command {
        AppserviceCommand::Plan { lang } => {
            let appservice = open(&config, config.listen).await?;
            let text = appservice.plan_now(lang).await.map_err(|e| e.to_string())?;
            print!("{text}");
            Ok(())
        }
    }
}

/// Checks what the in-process appservice will read, so that `serve` refuses to start with an
/// invalid `config/appservice.toml` (line and field named) or a missing registration.
pub fn check(config: &Config) -> Result<(), String> {
    if !config.school_appservice.in_process {
        return Ok(());
    }
    registration_file(config)?;
    schulhof_appservice::read_config(&config.school_appservice.config)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Starts the school appservice as a task of this process if the config asks for it; it
/// reaches the server at `listen`. The task ends when `serve` ends (the runtime stops).
pub fn spawn_in_process(config: &Config, listen: SocketAddr) {
    if !config.school_appservice.in_process {
        return;
    }
    let config = config.clone();
    tokio::spawn(async move {
        let mut attempt = 0;
        let appservice = loop {
            match open(&config, listen).await {
                Ok(appservice) => break appservice,
                Err(error) if attempt < CONNECT_ATTEMPTS => {
                    tracing::debug!(%error, "school appservice: server not ready yet");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(error) => {
                    tracing::error!(%error, "school appservice not started");
                    return;
                }
            }
        };
        tracing::info!("school appservice started in-process");
        if let Err(error) = appservice.run(std::future::pending()).await {
            tracing::error!(%error, "school appservice stopped");
        }
    });
}

/// The school appservice for this server's config, reaching the server at `listen`.
async fn open(config: &Config, listen: SocketAddr) -> Result<Appservice, String> {
    let registration = registration_file(config)?;
    let host = match listen {
        SocketAddr::V4(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
        SocketAddr::V6(a) if a.ip().is_unspecified() => format!("[::1]:{}", a.port()),
        other => other.to_string(),
    };
    Appservice::open(
        &format!("http://{host}"),
        &registration,
        &config.school_appservice.config,
        DirectorySource::Schulhof,
    )
    .await
    .map_err(|e| format!("school appservice: {e}"))
}

/// The registration file of the school appservice (the one of `appservices` whose `id` is
/// `[school_appservice] registration`).
fn registration_file(config: &Config) -> Result<PathBuf, String> {
    let id = config
        .school_appservice
        .registration
        .as_deref()
        .ok_or("key `school_appservice.registration` is not set")?;
    for file in &config.appservices {
        if Registration::load(file).is_ok_and(|r| r.id == id) {
            return Ok(file.clone());
        }
    }
    Err(format!(
        "key `school_appservice.registration`: no file in `appservices` has the id {id:?}"
    ))
}
