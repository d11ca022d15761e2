//! `schulhof-appservice`: the school appservice on its own, against any homeserver that
//! speaks the Application Service API and Synapse's admin join (Schulhof or Synapse).
//!
//! ```text
//! schulhof-appservice --homeserver http://127.0.0.1:8008 --registration schule.yaml run
//! schulhof-appservice --homeserver … --registration … --directory-csv export.csv plan --lang en
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use schulhof_appservice::{
    read_config, Appservice, CsvExport, DirectorySource, Language, Registration,
};

/// The school appservice: keeps the school's rooms and spaces in step with the directory.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The homeserver's URL (Client-Server API), e.g. http://127.0.0.1:8008.
    #[arg(long)]
    homeserver: String,
    /// The appservice's registration file (YAML), as the homeserver lists it.
    #[arg(long)]
    registration: PathBuf,
    /// Rooms, spaces, power levels and schedule; a missing file means the defaults.
    #[arg(long, default_value = "config/appservice.toml")]
    config: PathBuf,
    /// Read the directory from the school's CSV export instead of Schulhof's directory read
    /// (for homeservers other than Schulhof), with the rights `[directory_csv]` of the
    /// configuration names.
    #[arg(long)]
    directory_csv: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reconcile now, after every directory change and on the schedule, until stopped.
    Run,
    /// Print the changes a reconcile would make, without making them.
    Plan {
        /// Language of the listing.
        #[arg(long, value_enum, default_value = "de")]
        lang: Language,
    },
}

async fn run(cli: Cli) -> Result<(), String> {
    let registration = Registration::load(&cli.registration).map_err(|e| e.to_string())?;
    let config = read_config(&cli.config).map_err(|e| e.to_string())?;
    let source = match cli.directory_csv {
        Some(path) => DirectorySource::Csv(
            CsvExport::open(path, &config.directory_csv).map_err(|e| e.to_string())?,
        ),
        None => DirectorySource::Schulhof,
    };
    let appservice = Appservice::connect(&cli.homeserver, registration, config, source)
        .await
        .map_err(|e| e.to_string())?;
    match cli.command {
        Command::Run => appservice
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string()),
        Command::Plan { lang } => {
            let text = appservice.plan_now(lang).await.map_err(|e| e.to_string())?;
            print!("{text}");
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    if let Err(message) = run(Cli::parse()).await {
        eprintln!("schulhof-appservice: {message}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
