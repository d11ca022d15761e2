//! Singleton jobs: on PostgreSQL several server processes may share one database, and a job
//! that must run once per deployment (retention, and later the quiet-hours release and the
//! appservice sender) holds a session-level advisory lock named after it while it runs. On
//! SQLite the serve lease already admits only one server process.

use sqlx::postgres::PgConnection;

use crate::{Db, Result};

/// Held while a singleton job runs; dropping it ends the PostgreSQL session and so releases
/// the lock, also when the process dies.
pub enum JobLock {
    /// A PostgreSQL session (taken out of the pool) holding the job's advisory lock.
    Postgres(PgConnection),
    /// SQLite: the serve lease makes this process the only one.
    Sqlite,
}

/// The advisory lock key of a job: FNV-1a of its name, so every process derives the same key.
pub fn job_lock_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

impl Db {
    /// Takes the lock of the singleton job `name`, or `None` if another process holds it.
    pub async fn try_job_lock(&self, name: &str) -> Result<Option<JobLock>> {
        match self {
            Db::Sqlite(_) => Ok(Some(JobLock::Sqlite)),
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(job_lock_key(name))
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(got.then(|| JobLock::Postgres(conn.detach())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(job_lock_key("retention"), job_lock_key("retention"));
        assert_ne!(job_lock_key("retention"), job_lock_key("quiet-hours"));
    }
}
