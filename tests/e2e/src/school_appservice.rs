//! The school appservice (`schulhof-appservice`, built beside the server) as a process of its
//! own against a test server: registered with the server, reading the directory through
//! Schulhof's directory read, killable mid-reconcile.

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{ensure, Result};

use crate::server::{server_binary, TestServer, SERVER_NAME};

/// The registration's `id`.
pub const SCHOOL_AS_ID: &str = "schulhof-schule";
/// Its `as_token`.
pub const SCHOOL_AS_TOKEN: &str = "as-token-schule-e2e";
/// Its `hs_token`.
pub const SCHOOL_HS_TOKEN: &str = "hs-token-schule-e2e";
/// The bot's localpart.
pub const SCHOOL_BOT: &str = "schulhof-schule";

/// A running `schulhof-appservice run` (killed when dropped).
pub struct SchoolAppservice {
    child: Option<tokio::process::Child>,
    args: Vec<String>,
    log: PathBuf,
}

/// The `schulhof-appservice` binary beside the server binary.
pub fn appservice_binary() -> Result<PathBuf> {
    let path = server_binary()?.with_file_name("schulhof-appservice");
    ensure!(
        path.is_file(),
        "{} not found: run `cargo build -p schulhof-appservice` first",
        path.display()
    );
    Ok(path)
}

impl SchoolAppservice {
    /// Writes the registration (listening on a free port) and `appservice.toml` (`config`,
    /// TOML) into the server's directory and restarts the server with the registration as
    /// its school appservice; `sections` are further config sections for the server. Does
    /// not start the appservice ([`SchoolAppservice::start`]).
    pub async fn register(
        server: &TestServer,
        config: &str,
        sections: &str,
    ) -> Result<SchoolAppservice> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let server_regex = SERVER_NAME.replace('.', "\\\\.");
        let registration = format!(
            r#"id: {SCHOOL_AS_ID}
url: "http://127.0.0.1:{port}"
as_token: "{SCHOOL_AS_TOKEN}"
hs_token: "{SCHOOL_HS_TOKEN}"
sender_localpart: {SCHOOL_BOT}
rate_limited: false
de.schulhof.admin_join: any
namespaces:
  users: []
  aliases:
    - exclusive: true
      regex: "\\#schule_.*:{server_regex}"
  rooms: []
"#
        );
        let registration_file = server.path("schule-appservice.yaml");
        fs::write(&registration_file, registration)?;
        let config_file = server.path("appservice.toml");
        fs::write(&config_file, config)?;
        server
            .restart_with_settings(
                &format!(
                    "appservices = [{:?}]",
                    registration_file.display().to_string()
                ),
                &format!(
                    "[rate_limits]\nenabled = false\n[encryption]\nenabled_by_default_for = \"off\"\n\
                     [school_appservice]\nregistration = \"{SCHOOL_AS_ID}\"\n{sections}"
                ),
            )
            .await?;
        Ok(SchoolAppservice {
            child: None,
            args: vec![
                "--homeserver".into(),
                server.url(),
                "--registration".into(),
                registration_file.display().to_string(),
                "--config".into(),
                config_file.display().to_string(),
                "run".into(),
            ],
            log: server.path("appservice.log"),
        })
    }

    /// Starts (or restarts) the appservice process.
    pub fn start(&mut self) -> Result<()> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = tokio::process::Command::new(appservice_binary()?)
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    /// Kills the process with SIGKILL (no chance to finish anything).
    pub async fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// The appservice's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SchoolAppservice {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "--- appservice log (tail) ---\n{}",
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
}
