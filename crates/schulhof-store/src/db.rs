//! Connection handling, schema set-up and the macros that run one query text on either engine.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

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

impl Db {
    /// Opens the database named by `url` (`sqlite://PATH` or `postgres://...`), creating the
    /// SQLite file and the schema when missing.
    pub async fn connect(url: &str) -> Result<Db> {
        let db = if let Some(path) = url.strip_prefix("sqlite://") {
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
                .pragma("cache_size", "-2000");
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .min_connections(1)
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
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Creates every table and index that does not exist yet.
    async fn migrate(&self) -> Result<()> {
        let schema = match self {
            Db::Sqlite(_) => include_str!("schema/sqlite.sql"),
            Db::Postgres(_) => include_str!("schema/postgres.sql"),
        };
        let mut tx = self.begin().await?;
        for statement in schema.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let statement = sqlx::AssertSqlSafe(statement.to_owned());
            with_tx!(&mut tx, |c| sqlx::query(statement)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        tx.commit().await
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so it never has to upgrade a
    /// read lock and fail).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// The highest stream position stored in any stream table (0 for a new database).
    pub async fn max_stream_pos(&self) -> Result<i64> {
        let sql = "SELECT MAX(p) FROM (
            SELECT MAX(stream_pos) AS p FROM events
            UNION ALL SELECT MAX(stream_pos) FROM account_data
            UNION ALL SELECT MAX(stream_pos) FROM receipts
            UNION ALL SELECT MAX(stream_pos) FROM device_list_changes
            UNION ALL SELECT MAX(stream_pos) FROM to_device
            UNION ALL SELECT MAX(stream_pos) FROM presence) AS all_streams";
        let max: Option<i64> = with_db!(self, |c| sqlx::query_scalar(sql).fetch_one(c).await)?;
        Ok(max.unwrap_or(0))
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
