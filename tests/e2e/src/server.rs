//! Starting, restarting and stopping the `schulhof` binary under test, with a
//! [`ValidatingProxy`] in front of it.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use openapi_check::{SpecValidator, ValidatingProxy};
use tempfile::TempDir;

use crate::raw::RawApi;
use crate::user::TestUser;

/// The Matrix server name every test server uses.
pub const SERVER_NAME: &str = "schule.test";

/// How long a freshly spawned server may take to answer `/versions`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Default base URL of the PostgreSQL server the tests create their databases on.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432";

/// The database backend a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the server's temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server at `$SCHULHOF_TEST_PG`.
    Postgres,
}

impl Backend {
    /// Whether tests on this backend are switched off (`SCHULHOF_SKIP_PG=1`).
    pub fn skipped(self) -> bool {
        self == Backend::Postgres && std::env::var("SCHULHOF_SKIP_PG").is_ok_and(|v| v == "1")
    }
}

/// A running `schulhof serve` on its own port, temporary directory and database, reached
/// through a validating proxy. The server process is killed (and a PostgreSQL database
/// dropped) when this is dropped.
pub struct TestServer {
    dir: TempDir,
    config: PathBuf,
    port: u16,
    database: Database,
    child: Mutex<Child>,
    proxy: ValidatingProxy,
}

impl TestServer {
    /// Writes a configuration for `backend`, starts the server and waits until it answers.
    ///
    /// The proxy is the server's `public_baseurl`, as a reverse proxy would be: matrix-sdk
    /// switches to the `well_known` base URL of the login response.
    pub async fn start(backend: Backend) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("schulhof-e2e-").tempdir()?;
        let port = free_port()?;
        let proxy =
            ValidatingProxy::start(&format!("http://127.0.0.1:{port}"), validator()?).await?;
        let database = Database::create(backend, dir.path())?;
        let config = dir.path().join("schulhof.toml");
        fs::write(
            &config,
            config_toml(port, &proxy.url(), &database.url, dir.path()),
        )?;
        let child = spawn_server(&config, dir.path())?;
        let server = Self {
            dir,
            config,
            port,
            database,
            child: Mutex::new(child),
            proxy,
        };
        server.wait_until_ready().await?;
        Ok(server)
    }

    /// The URL clients use: the validating proxy in front of the server.
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// A raw HTTP client for the server (through the proxy), without an access token.
    pub fn raw(&self) -> RawApi {
        RawApi::new(&self.url(), None)
    }

    /// Creates an account with the CLI (`schulhof user add`); the password is
    /// [`password_of`]`(localpart)`.
    pub async fn add_user(&self, localpart: &str, display_name: &str) -> Result<()> {
        let password = password_of(localpart);
        let args = ["user", "add", localpart, "--password", &password];
        self.cli(
            &[&args[..], &["--display-name", display_name]].concat(),
            None,
        )
        .await
        .map(drop)
    }

    /// Runs an admin command (`schulhof --config … ARGS`) in the server's directory, with
    /// `stdin` as its standard input; fails unless it succeeds. Returns its standard output.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(server_binary()?)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut input = child.stdin.take().context("stdin")?;
        input.write_all(stdin.unwrap_or("").as_bytes()).await?;
        drop(input);
        let output = child.wait_with_output().await?;
        ensure!(
            output.status.success(),
            "`schulhof {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Writes the school's export `csv` to `file` in the server's directory and imports it
    /// (`schulhof import FILE ARGS…`); returns the command's output.
    pub async fn import(&self, file: &str, csv: &str, args: &[&str]) -> Result<String> {
        fs::write(self.path(file), csv)?;
        self.cli(&[&["import", file][..], args].concat(), None)
            .await
    }

    /// A path inside the server's temporary directory (where [`TestServer::cli`] runs).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Creates an account and logs in with a fresh matrix-sdk client.
    pub async fn user(&self, localpart: &str, display_name: &str) -> Result<TestUser> {
        self.add_user(localpart, display_name).await?;
        TestUser::login(self, localpart).await
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and starts it again on the
    /// same configuration, port and database.
    pub async fn restart(&self) -> Result<()> {
        {
            let mut child = lock(&self.child);
            child.kill()?;
            child.wait()?;
            *child = spawn_server(&self.config, self.dir.path())?;
        }
        self.wait_until_ready().await
    }

    /// Replaces the configuration's sections (everything from `[rate_limits]` on) with
    /// `sections` (TOML, e.g. `"[rate_limits]\nenabled = true\n[encryption]\nallow = false"`)
    /// and restarts the server with them.
    pub async fn restart_with_sections(&self, sections: &str) -> Result<()> {
        self.restart_with_settings("", sections).await
    }

    /// Like [`TestServer::restart_with_sections`], and adds `top_level` keys (TOML lines that
    /// belong before the first section) to the configuration.
    pub async fn restart_with_settings(&self, top_level: &str, sections: &str) -> Result<()> {
        let config = fs::read_to_string(&self.config)?;
        let (before, _) = config
            .split_once("[rate_limits]")
            .context("config has [rate_limits]")?;
        fs::write(&self.config, format!("{before}{top_level}\n{sections}\n"))?;
        self.restart().await
    }

    /// Switches quiet hours on (the built-in school schedule: weekday evenings, weekends,
    /// public holidays) and restarts the server with `sections` as in
    /// [`TestServer::restart_with_sections`].
    pub async fn restart_with_quiet_hours(&self, sections: &str) -> Result<()> {
        let config = fs::read_to_string(&self.config)?;
        ensure!(config.contains(QUIET_HOURS_OFF), "quiet hours are off");
        fs::write(
            &self.config,
            config.replace(QUIET_HOURS_OFF, "quiet_hours.enabled = true"),
        )?;
        self.restart_with_sections(sections).await
    }

    /// Every response that violated the spec so far.
    pub fn violations(&self) -> Vec<String> {
        self.proxy.violations()
    }

    /// The operations whose responses were validated so far.
    pub fn validated_endpoints(&self) -> Vec<String> {
        self.proxy.validated_endpoints()
    }

    /// The last `lines` lines of the server's log (all starts appended).
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Polls `/versions` directly on the server until it answers 200.
    async fn wait_until_ready(&self) -> Result<()> {
        let url = format!("http://127.0.0.1:{}/_matrix/client/versions", self.port);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = lock(&self.child).try_wait()? {
                bail!(
                    "server exited during startup ({status}):\n{}",
                    self.log_tail(30)
                );
            }
            if let Ok(response) = http.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "server did not answer {url} within {STARTUP_TIMEOUT:?}:\n{}",
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let mut child = lock(&self.child);
        let _ = child.kill();
        let _ = child.wait();
        if std::thread::panicking() {
            eprintln!("--- server log (tail) ---\n{}", self.log_tail(40));
        }
        self.database.drop_database();
    }
}

/// The password [`TestServer::add_user`] gives an account.
pub fn password_of(localpart: &str) -> String {
    format!("{localpart}-Geheim-1!")
}

/// The full user ID of a local account.
pub fn user_id_of(localpart: &str) -> String {
    format!("@{localpart}:{SERVER_NAME}")
}

/// The configuration line of a test server without quiet hours.
const QUIET_HOURS_OFF: &str = "quiet_hours.enabled = false";

/// The database of one test server.
struct Database {
    url: String,
    /// For PostgreSQL: the maintenance URL and database name to drop at the end.
    postgres: Option<(String, String)>,
}

impl Database {
    fn create(backend: Backend, dir: &Path) -> Result<Self> {
        match backend {
            Backend::Sqlite => Ok(Self {
                url: format!("sqlite://{}", dir.join("schulhof.db").display()),
                postgres: None,
            }),
            Backend::Postgres => {
                static COUNTER: AtomicU32 = AtomicU32::new(0);
                let base = std::env::var("SCHULHOF_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.into());
                let base = base.trim_end_matches('/').to_owned();
                let name = format!(
                    "schulhof_e2e_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let maintenance = format!("{base}/postgres");
                psql(&maintenance, &format!("DROP DATABASE IF EXISTS {name}"))?;
                psql(&maintenance, &format!("CREATE DATABASE {name}"))?;
                Ok(Self {
                    url: format!("{base}/{name}"),
                    postgres: Some((maintenance, name)),
                })
            }
        }
    }

    fn drop_database(&self) {
        if let Some((maintenance, name)) = &self.postgres {
            if let Err(error) = psql(
                maintenance,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ) {
                eprintln!("could not drop test database {name}: {error:#}");
            }
        }
    }
}

/// Runs one SQL command with `psql`.
fn psql(url: &str, sql: &str) -> Result<()> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .context("running psql (needed for the PostgreSQL tests; SCHULHOF_SKIP_PG=1 skips them)")?;
    ensure!(
        output.status.success(),
        "psql {url} -c {sql:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn config_toml(port: u16, public_url: &str, database_url: &str, dir: &Path) -> String {
    format!(
        r#"server_name = "{SERVER_NAME}"
listen = "127.0.0.1:{port}"
database_url = "{database_url}"
media_path = "{media}"
public_baseurl = "{public_url}/"
# Messages are held only where a scenario switches quiet hours on (they depend on the time).
{QUIET_HOURS_OFF}

[rate_limits]
enabled = false

# The scenarios read messages as the server stores them; `notices::new_rooms_are_encrypted_by_default`
# checks the default.
[encryption]
enabled_by_default_for = "off"
"#,
        media = dir.join("media").display()
    )
}

/// Starts `schulhof serve`, appending its output to `server.log` in `dir`.
fn spawn_server(config: &Path, dir: &Path) -> Result<Child> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))?;
    let child = Command::new(server_binary()?)
        .arg("--config")
        .arg(config)
        .arg("serve")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    Ok(child)
}

/// `$SCHULHOF_BIN`, else `schulhof` in the debug directory of `$SCHULHOF_TARGET_DIR` or of the
/// repository's `target/`. The tests never build the server themselves.
pub fn server_binary() -> Result<PathBuf> {
    let path = match std::env::var_os("SCHULHOF_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => std::env::var_os("SCHULHOF_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
            .join("debug/schulhof"),
    };
    ensure!(
        path.is_file(),
        "server binary {} not found: run `cargo build -p schulhof` in the repository first \
         (or set SCHULHOF_BIN / SCHULHOF_TARGET_DIR)",
        path.display()
    );
    Ok(path)
}

/// The spec, loaded once per test process.
fn validator() -> Result<Arc<SpecValidator>> {
    static VALIDATOR: OnceLock<Result<Arc<SpecValidator>, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            SpecValidator::load_default()
                .map(Arc::new)
                .map_err(|e| format!("loading the Matrix spec (set MATRIX_SPEC_DIR): {e}"))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// A port that was free a moment ago.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
