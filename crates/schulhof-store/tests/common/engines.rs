//! Tests on both engines: [`on_both_engines!`] runs a test on SQLite and on PostgreSQL, each
//! time on a [`TempDatabase`], an empty database removed again when dropped: a SQLite file in a
//! fresh temporary directory, or a fresh database on the PostgreSQL server at
//! `$SCHULHOF_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`).
//!
//! Uses only sqlx, tokio and std, so that the store's unit tests and the server's tests can
//! include it with `#[path]` as well.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};

/// For each `async fn name(engine: Engine)` listed, defines the tests `name::sqlite` and
/// `name::postgres` (`Engine` must be in scope where this is used).
macro_rules! on_both_engines {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::Engine::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(super::Engine::Postgres).await;
            }
        }
    )+};
}

/// PostgreSQL server used when `SCHULHOF_TEST_PG` is not set.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432";

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// An empty database; dropping it deletes it.
pub struct TempDatabase {
    /// URL to open it with (`sqlite://…` or `postgres://…`).
    pub url: String,
    place: Place,
}

/// Where a [`TempDatabase`] lives, to remove it.
enum Place {
    Sqlite(PathBuf),
    /// Maintenance URL of the server and the database's name.
    Postgres(String, String),
}

impl TempDatabase {
    /// Creates an empty database on `engine`.
    ///
    /// Panics, saying how to provide one, if PostgreSQL is asked for and cannot be reached: the
    /// tests run on both engines and are not skipped.
    pub async fn new(engine: Engine) -> TempDatabase {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let unique = format!(
            "{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        match engine {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join(format!("schulhof-store-test-{unique}"));
                std::fs::create_dir_all(&dir).unwrap();
                TempDatabase {
                    url: format!("sqlite://{}", dir.join("db.sqlite").display()),
                    place: Place::Sqlite(dir),
                }
            }
            Engine::Postgres => {
                let base = std::env::var("SCHULHOF_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.into());
                let base = base.trim_end_matches('/');
                let maintenance = format!("{base}/postgres");
                let name = format!("schulhof_store_{unique}");
                let mut conn = PgConnection::connect(&maintenance)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                        "PostgreSQL is not reachable at {maintenance} ({e}). These tests run on \
                         SQLite and PostgreSQL; start PostgreSQL (`.ci/run` does) or set \
                         SCHULHOF_TEST_PG=postgres://USER@HOST:PORT to a server where USER may \
                         create databases."
                    )
                    });
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {maintenance}: {e}"));
                conn.close().await.unwrap();
                TempDatabase {
                    url: format!("{base}/{name}"),
                    place: Place::Postgres(maintenance, name),
                }
            }
        }
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        match &self.place {
            Place::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Postgres(maintenance, name) => {
                let (maintenance, database) = (maintenance.clone(), name.clone());
                // Drop runs inside the test's runtime, which cannot be blocked on: a thread
                // with a runtime of its own drops the database (FORCE ends open connections).
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    runtime
                        .block_on(async {
                            let mut conn = PgConnection::connect(&maintenance).await?;
                            let sql = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                                .execute(&mut conn)
                                .await?;
                            conn.close().await
                        })
                        .map_err(std::io::Error::other)
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("could not drop the test database {name}: {dropped:?}");
                }
            }
        }
    }
}
