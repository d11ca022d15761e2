//! Only one `schulhof serve` may write to a database at a time: its single writer hands out the
//! stream positions. A second server process is refused at start instead of corrupting the
//! streams. Admin commands (import, user …) do not take the lease and run beside the server.

use sqlx::postgres::PgConnection;

use crate::{Db, Result, StoreError};

/// Advisory lock key of the serving process ("SCHULHOF" in ASCII).
const LEASE_KEY: i64 = 0x5343_4855_4c48_4f46;

/// Held for as long as the server runs; dropping it (or the process ending) releases it.
pub enum ServeLease {
    /// A PostgreSQL session (taken out of the pool) holding an advisory lock.
    Postgres(PgConnection),
    /// An exclusive lock on a file next to the SQLite database.
    Sqlite(std::fs::File),
}

impl Db {
    /// Takes the serving lease for the database at `url`, or fails if another server process
    /// still holds it after a few seconds (a crashed predecessor's PostgreSQL session can take
    /// a moment to end).
    pub async fn take_serve_lease(&self, url: &str) -> Result<ServeLease> {
        for _ in 0..50 {
            if let Some(lease) = self.try_serve_lease(url).await? {
                return Ok(lease);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(StoreError::AlreadyServing(url.to_owned()))
    }

    async fn try_serve_lease(&self, url: &str) -> Result<Option<ServeLease>> {
        match self {
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(LEASE_KEY)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(got.then(|| ServeLease::Postgres(conn.detach())))
            }
            Db::Sqlite(_) => {
                let path = url.trim_start_matches("sqlite://");
                let path = path.split('?').next().unwrap_or(path);
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(format!("{path}.serve-lock"))
                    .map_err(|e| StoreError::Io(format!("{path}.serve-lock: {e}")))?;
                Ok(file.try_lock().is_ok().then_some(ServeLease::Sqlite(file)))
            }
        }
    }
}
