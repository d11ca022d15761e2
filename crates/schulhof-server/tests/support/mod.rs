//! Support for the server's integration tests and the import benchmark: a complete server state on a
//! fresh SQLite file or a fresh PostgreSQL database (created with `psql` on
//! `$SCHULHOF_TEST_PG`, default `postgres://postgres@127.0.0.1:5432`, dropped afterwards).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use schulhof_server::config::Config;
use schulhof_server::state::AppState;

/// Runs each named `async fn(Backend)` of the including file once on SQLite and once on
/// PostgreSQL (`#[macro_use] mod support;`), on two runtime threads, or on as many as
/// `worker_threads = N;` before the names says.
#[allow(unused_macros)] // the benchmarks share this module
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        on_both!(worker_threads = 2; $($name),*);
    };
    (worker_threads = $threads:tt; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await;
            }
        }
    )*};
}

/// Default PostgreSQL base URL.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432";

/// The database engine of a test state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A server state on its own database and directory; both are removed on drop.
pub struct TestState {
    /// The state.
    pub state: Arc<AppState>,
    dir: PathBuf,
    postgres: Option<(String, String)>,
}

impl TestState {
    /// A fresh state on `backend`; `name` goes into the directory and database names.
    pub async fn new(backend: Backend, name: &str) -> TestState {
        Self::configured(backend, name, |_| String::new(), "").await
    }

    /// Like [`TestState::new`], with `sections` (TOML) added to the configuration.
    pub async fn with_sections(backend: Backend, name: &str, sections: &str) -> TestState {
        Self::configured(backend, name, |_| String::new(), sections).await
    }

    /// Like [`TestState::new`], with top-level configuration lines `settings(dir)` (given the
    /// state's directory, e.g. to write an appservice registration there).
    pub async fn with_settings(
        backend: Backend,
        name: &str,
        settings: impl FnOnce(&std::path::Path) -> String,
    ) -> TestState {
        Self::configured(backend, name, settings, "").await
    }

    /// A state with top-level lines `settings(dir)` and `sections` in its configuration.
    async fn configured(
        backend: Backend,
        name: &str,
        settings: impl FnOnce(&std::path::Path) -> String,
        sections: &str,
    ) -> TestState {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "{name}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(format!("schulhof-test-{unique}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (url, postgres) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.join("db.sqlite").display()),
                None,
            ),
            Backend::Postgres => {
                let base = std::env::var("SCHULHOF_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.into());
                let base = base.trim_end_matches('/').to_owned();
                let database = format!("schulhof_test_{unique}");
                let maintenance = format!("{base}/postgres");
                psql(&maintenance, &format!("CREATE DATABASE {database}"));
                (format!("{base}/{database}"), Some((maintenance, database)))
            }
        };
        let extra = settings(&dir);
        let config = Config::parse(&format!(
            r#"{extra}
server_name = "schule.test"
listen = "127.0.0.1:0"
database_url = "{url}"
media_path = "{dir}/media"
public_baseurl = "https://chat.schule.test/"
school_name = "Testschule"

[accounts]
secret_key_file = "{dir}/schulhof.key"

{sections}
"#,
            dir = dir.display()
        ))
        .unwrap();
        let state = AppState::new(config).await.unwrap();
        TestState {
            state,
            dir,
            postgres,
        }
    }
}

impl Drop for TestState {
    fn drop(&mut self) {
        if let Some((maintenance, database)) = &self.postgres {
            psql(
                maintenance,
                &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs one SQL command with `psql`, panicking with its output if it fails.
fn psql(url: &str, sql: &str) {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("running psql (needed for the PostgreSQL tests)");
    assert!(
        output.status.success(),
        "psql {url} -c {sql:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
