//! Connection handling and the macros that run one query text on either engine.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Decode, Postgres, Row, Sqlite, Transaction, Type};

use crate::{Result, StoreError};

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded SQLite file (WAL mode, one writer at a time).
    Sqlite(SqlitePool),
    /// PostgreSQL server.
    Postgres(PgPool),
}

/// An open write transaction on either engine.
pub enum Tx {
    /// SQLite transaction, opened with `BEGIN IMMEDIATE`.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL transaction.
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the pool of the engine in use.
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite($conn) => $body,
            $crate::Db::Postgres($conn) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the open transaction's connection.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// Runs a statement on the pool and yields `sqlx::Result<u64>`, the number of rows affected.
///
/// `execute!(db, sql, [bind, ...])`; `sql` is evaluated once, the binds in order.
#[macro_export]
macro_rules! execute {
    ($db:expr, $sql:expr, [$($bind:expr),* $(,)?]) => {{
        let sql = $sql;
        $crate::with_db!($db, |c| ::sqlx::query(sql)
            $(.bind($bind))*
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
    }};
}

/// Like [`execute!`], inside an open transaction (`tx` is a `&mut Tx` or `&mut tx`).
#[macro_export]
macro_rules! execute_tx {
    ($tx:expr, $sql:expr, [$($bind:expr),* $(,)?]) => {{
        let sql = $sql;
        $crate::with_tx!(&mut *$tx, |c| ::sqlx::query(sql)
            $(.bind($bind))*
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
    }};
}

/// Runs a query on the pool and decodes its rows with `sqlx::query_as`; `$fetch` is the sqlx
/// method: `fetch_all` (yields `sqlx::Result<Vec<T>>`), `fetch_optional` or `fetch_one`.
///
/// `fetch!(db, fetch_all, sql, [bind, ...])`. `T` is a tuple or a row struct whose
/// `sqlx::FromRow` is written once for both engines with `db::AnyRow`.
#[macro_export]
macro_rules! fetch {
    ($db:expr, $fetch:ident, $sql:expr, [$($bind:expr),* $(,)?]) => {{
        let sql = $sql;
        $crate::with_db!($db, |c| ::sqlx::query_as(sql)$(.bind($bind))*.$fetch(c).await)
    }};
}

/// Like [`fetch!`], inside an open transaction.
#[macro_export]
macro_rules! fetch_tx {
    ($tx:expr, $fetch:ident, $sql:expr, [$($bind:expr),* $(,)?]) => {{
        let sql = $sql;
        $crate::with_tx!(&mut *$tx, |c| ::sqlx::query_as(sql)$(.bind($bind))*.$fetch(c).await)
    }};
}

/// Like [`fetch!`], but each row is the single value of its first column (`sqlx::query_scalar`).
#[macro_export]
macro_rules! scalar {
    ($db:expr, $fetch:ident, $sql:expr, [$($bind:expr),* $(,)?]) => {{
        let sql = $sql;
        $crate::with_db!($db, |c| ::sqlx::query_scalar(sql)$(.bind($bind))*.$fetch(c).await)
    }};
}

/// Like [`scalar!`], inside an open transaction.
#[macro_export]
macro_rules! scalar_tx {
    ($tx:expr, $fetch:ident, $sql:expr, [$($bind:expr),* $(,)?]) => {{
        let sql = $sql;
        $crate::with_tx!(&mut *$tx, |c| ::sqlx::query_scalar(sql)$(.bind($bind))*.$fetch(c).await)
    }};
}

/// A column type both engines can decode.
pub trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A result row of either engine, so that a row struct's `sqlx::FromRow` is written once:
/// `impl<R: AnyRow> sqlx::FromRow<'_, R> for XRow`, reading columns by position with
/// [`AnyRow::col`].
pub trait AnyRow: Row {
    /// Decodes the column at `index` (0-based).
    fn col<T: Column>(&self, index: usize) -> sqlx::Result<T>;
}

impl AnyRow for SqliteRow {
    fn col<T: Column>(&self, index: usize) -> sqlx::Result<T> {
        self.try_get(index)
    }
}

impl AnyRow for PgRow {
    fn col<T: Column>(&self, index: usize) -> sqlx::Result<T> {
        self.try_get(index)
    }
}

/// How long [`Db::connect`] tries again while SQLite reports a lock held by another process.
const OPEN_RETRY: Duration = Duration::from_secs(10);

impl Db {
    /// Opens the database named by `url` (`sqlite://PATH` or `postgres://...`), creating the
    /// SQLite file when missing, and applies the migrations it lacks (see `migrate.rs`).
    ///
    /// Processes that open a new SQLite file at once can be refused a lock that SQLite's busy
    /// timeout does not wait for (one switches the file to WAL while another reads it): opening
    /// and migrating are tried again for up to [`OPEN_RETRY`] then.
    pub async fn connect(url: &str) -> Result<Db> {
        let started = Instant::now();
        loop {
            match Db::open_and_migrate(url).await {
                Err(e) if e.is_sqlite_busy() && started.elapsed() < OPEN_RETRY => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                opened => return opened,
            }
        }
    }

    async fn open_and_migrate(url: &str) -> Result<Db> {
        let db = Db::open(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Opens the database named by `url` as it is, without migrating it.
    pub(crate) async fn open(url: &str) -> Result<Db> {
        Ok(if let Some(path) = url.strip_prefix("sqlite://") {
            let file = std::path::Path::new(path.split('?').next().unwrap_or(path));
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))?;
            }
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // A process crash loses nothing with WAL + NORMAL; only an OS crash could.
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-1024")
                // Checkpoints run in the background (`Db::checkpoint`), not inside a commit
                // that a client is waiting for.
                .pragma("wal_autocheckpoint", "0");
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .min_connections(1)
                // A connection to a local file does not go stale: no ping round trip to the
                // connection's worker thread before every query.
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect(url)
                .await?;
            Db::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        })
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so it never has to upgrade a
    /// read lock and fail).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// The highest stream position stored in any stream table, the positions of quiet-hours
    /// releases included (0 for a new database).
    pub async fn max_stream_pos(&self) -> Result<i64> {
        let sql = "SELECT MAX(p) FROM (
            SELECT MAX(stream_pos) AS p FROM events
            UNION ALL SELECT MAX(stream_pos) FROM account_data
            UNION ALL SELECT MAX(stream_pos) FROM receipts
            UNION ALL SELECT MAX(stream_pos) FROM device_list_changes
            UNION ALL SELECT MAX(stream_pos) FROM to_device
            UNION ALL SELECT MAX(stream_pos) FROM presence
            UNION ALL SELECT MAX(released_pos) FROM quiet_holds) AS all_streams";
        let max: Option<i64> = scalar!(self, fetch_one, sql, [])?;
        Ok(max.unwrap_or(0))
    }

    /// Copies committed WAL pages into the SQLite database file without blocking writers
    /// (`PRAGMA wal_checkpoint(PASSIVE)`); nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<()> {
        if let Db::Sqlite(pool) = self {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        with_db!(self, |c| c.close().await)
    }
}

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}
