//! Server-side key backup: a user's backup versions and the encrypted room keys stored in them.
//!
//! Versions are numbered per user from 1 and never reused: deleting one marks it deleted and
//! drops its keys, so a repeated delete can still be answered. The current version is the newest
//! one not deleted; keys are only written to it. Each version has an etag counter that goes up
//! whenever its keys change.

use sqlx::AssertSqlSafe;

use crate::db::AnyRow;
use crate::{execute, execute_tx, fetch, fetch_tx, scalar_tx, Db, Result, Tx};

/// One backup version of a user, with the number of keys in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupVersionRow {
    /// Version number (the API's version string).
    pub version: i64,
    /// Backup algorithm, e.g. `m.megolm_backup.v1.curve25519-aes-sha2`.
    pub algorithm: String,
    /// The algorithm's `auth_data` object as JSON.
    pub auth_data: String,
    /// Counter that changes whenever the keys of this version change.
    pub etag: i64,
    /// Number of keys stored.
    pub count: i64,
}

/// One backed-up room key (the key itself is encrypted by the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupKeyRow {
    /// Room the key is for.
    pub room_id: String,
    /// Megolm session ID.
    pub session_id: String,
    /// Index of the first message the key can decrypt.
    pub first_message_index: i64,
    /// How often the key was forwarded between devices.
    pub forwarded_count: i64,
    /// Whether the uploading device verified the device the key is from.
    pub is_verified: bool,
    /// The encrypted `session_data` object as JSON.
    pub session_data: String,
}

/// The etag and key count of a backup version after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupCounts {
    /// The version's etag counter.
    pub etag: i64,
    /// Number of keys stored.
    pub count: i64,
}

/// What became of an upload of keys to a backup version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupUpload {
    /// The user has no backup.
    NoBackup,
    /// The version is not the current one, which is given.
    WrongVersion(i64),
    /// The keys were stored (or the stored ones kept).
    Stored(BackupCounts),
}

/// Version columns with the key count; the statement continues with a `WHERE` on `v`.
const VERSION_SELECT: &str = "SELECT v.version, v.algorithm, v.auth_data, v.etag,
    (SELECT COUNT(*) FROM backup_keys k WHERE k.user_id = v.user_id AND k.version = v.version) AS count
    FROM backup_versions v";

/// Keys of version `$2` of user `$1`, optionally only of room `$3` and session `$4`.
const KEY_FILTER: &str = "user_id = $1 AND version = $2
    AND ($3 IS NULL OR room_id = $3) AND ($4 IS NULL OR session_id = $4)";

/// Reads the columns of `VERSION_SELECT` in order.
impl<R: AnyRow> sqlx::FromRow<'_, R> for BackupVersionRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(BackupVersionRow {
            version: row.col(0)?,
            algorithm: row.col(1)?,
            auth_data: row.col(2)?,
            etag: row.col(3)?,
            count: row.col(4)?,
        })
    }
}

/// Reads `room_id, session_id, first_message_index, forwarded_count, is_verified, session_data`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for BackupKeyRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(BackupKeyRow {
            room_id: row.col(0)?,
            session_id: row.col(1)?,
            first_message_index: row.col(2)?,
            forwarded_count: row.col(3)?,
            is_verified: row.col::<i64>(4)? != 0,
            session_data: row.col(5)?,
        })
    }
}

impl Db {
    /// Creates a new backup version for a user and returns its number (one more than any
    /// version the user ever had).
    pub async fn create_backup_version(
        &self,
        user_id: &str,
        algorithm: &str,
        auth_data: &str,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let next: i64 = scalar_tx!(
            &mut tx,
            fetch_one,
            "SELECT COALESCE(MAX(version), 0) + 1 FROM backup_versions WHERE user_id = $1",
            [user_id]
        )?;
        let sql = "INSERT INTO backup_versions (user_id, version, algorithm, auth_data) VALUES ($1, $2, $3, $4)";
        execute_tx!(&mut tx, sql, [user_id, next, algorithm, auth_data])?;
        tx.commit().await?;
        Ok(next)
    }

    /// A backup version of a user that is not deleted: the given one, or with `None` the current
    /// one (the newest).
    pub async fn backup_version(
        &self,
        user_id: &str,
        version: Option<i64>,
    ) -> Result<Option<BackupVersionRow>> {
        let sql = format!(
            "{VERSION_SELECT} WHERE v.user_id = $1 AND ($2 IS NULL OR v.version = $2) AND v.deleted = 0
             ORDER BY v.version DESC LIMIT 1"
        );
        Ok(fetch!(
            self,
            fetch_optional,
            AssertSqlSafe(sql),
            [user_id, version]
        )?)
    }

    /// Replaces the `auth_data` of a backup version that is not deleted; false if there is none.
    pub async fn update_backup_auth_data(
        &self,
        user_id: &str,
        version: i64,
        auth_data: &str,
    ) -> Result<bool> {
        let sql = "UPDATE backup_versions SET auth_data = $3
                   WHERE user_id = $1 AND version = $2 AND deleted = 0";
        let updated = execute!(self, sql, [user_id, version, auth_data])?;
        Ok(updated > 0)
    }

    /// Deletes a backup version and its keys; false if the user never had this version (a
    /// version deleted before counts as existing).
    pub async fn delete_backup_version(&self, user_id: &str, version: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let sql = "UPDATE backup_versions SET deleted = 1 WHERE user_id = $1 AND version = $2";
        let marked = execute_tx!(&mut tx, sql, [user_id, version])?;
        let sql = "DELETE FROM backup_keys WHERE user_id = $1 AND version = $2";
        execute_tx!(&mut tx, sql, [user_id, version])?;
        tx.commit().await?;
        Ok(marked > 0)
    }

    /// The keys of a backup version, all of them or those of one room or one session, ordered
    /// by room and session.
    pub async fn backup_keys(
        &self,
        user_id: &str,
        version: i64,
        room_id: Option<&str>,
        session_id: Option<&str>,
    ) -> Result<Vec<BackupKeyRow>> {
        let sql = format!(
            "SELECT room_id, session_id, first_message_index, forwarded_count, is_verified, session_data
             FROM backup_keys WHERE {KEY_FILTER} ORDER BY room_id, session_id"
        );
        let sql = AssertSqlSafe(sql);
        Ok(fetch!(
            self,
            fetch_all,
            sql,
            [user_id, version, room_id, session_id]
        )?)
    }

    /// Stores keys in a backup version in one transaction, if it is the user's current one. A
    /// key for a session that already has one is only written when `replaces(existing, new)`
    /// says so; the etag goes up when any key was written.
    pub async fn put_backup_keys(
        &self,
        user_id: &str,
        version: i64,
        keys: &[BackupKeyRow],
        replaces: impl Fn(&BackupKeyRow, &BackupKeyRow) -> bool,
    ) -> Result<BackupUpload> {
        let mut tx = self.begin().await?;
        let current: Option<i64> = scalar_tx!(
            &mut tx,
            fetch_one,
            "SELECT MAX(version) FROM backup_versions WHERE user_id = $1 AND deleted = 0",
            [user_id]
        )?;
        match current {
            None => return Ok(BackupUpload::NoBackup),
            Some(current) if current != version => return Ok(BackupUpload::WrongVersion(current)),
            Some(_) => {}
        }
        let mut written = 0;
        for key in keys {
            let existing = Self::backup_key_in(&mut tx, user_id, version, key).await?;
            if existing.is_none_or(|existing| replaces(&existing, key)) {
                Self::write_backup_key(&mut tx, user_id, version, key).await?;
                written += 1;
            }
        }
        let counts = Self::finish_backup_change(&mut tx, user_id, version, written).await?;
        tx.commit().await?;
        Ok(BackupUpload::Stored(counts))
    }

    /// Deletes keys of a backup version (all, one room's or one session's) in one transaction;
    /// `None` if the version does not exist or was deleted.
    pub async fn delete_backup_keys(
        &self,
        user_id: &str,
        version: i64,
        room_id: Option<&str>,
        session_id: Option<&str>,
    ) -> Result<Option<BackupCounts>> {
        let mut tx = self.begin().await?;
        let sql = "SELECT COUNT(*) FROM backup_versions WHERE user_id = $1 AND version = $2 AND deleted = 0";
        let exists: i64 = scalar_tx!(&mut tx, fetch_one, sql, [user_id, version])?;
        if exists == 0 {
            return Ok(None);
        }
        let sql = AssertSqlSafe(format!("DELETE FROM backup_keys WHERE {KEY_FILTER}"));
        let deleted = execute_tx!(&mut tx, sql, [user_id, version, room_id, session_id])?;
        let counts = Self::finish_backup_change(&mut tx, user_id, version, deleted).await?;
        tx.commit().await?;
        Ok(Some(counts))
    }

    /// The stored key for the session of `key`, inside a transaction.
    async fn backup_key_in(
        tx: &mut Tx,
        user_id: &str,
        version: i64,
        key: &BackupKeyRow,
    ) -> Result<Option<BackupKeyRow>> {
        let sql = "SELECT room_id, session_id, first_message_index, forwarded_count, is_verified, session_data
                   FROM backup_keys WHERE user_id = $1 AND version = $2 AND room_id = $3 AND session_id = $4";
        Ok(fetch_tx!(
            tx,
            fetch_optional,
            sql,
            [user_id, version, &key.room_id, &key.session_id]
        )?)
    }

    /// Inserts or overwrites one key, inside a transaction.
    async fn write_backup_key(
        tx: &mut Tx,
        user_id: &str,
        version: i64,
        key: &BackupKeyRow,
    ) -> Result<()> {
        let sql = "INSERT INTO backup_keys (user_id, version, room_id, session_id, first_message_index, forwarded_count, is_verified, session_data)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE SET
                   first_message_index = $5, forwarded_count = $6, is_verified = $7, session_data = $8";
        execute_tx!(
            tx,
            sql,
            [
                user_id,
                version,
                &key.room_id,
                &key.session_id,
                key.first_message_index,
                key.forwarded_count,
                i64::from(key.is_verified),
                &key.session_data,
            ]
        )?;
        Ok(())
    }

    /// Bumps the etag of a version when `changed` keys changed and returns its etag and count.
    async fn finish_backup_change(
        tx: &mut Tx,
        user_id: &str,
        version: i64,
        changed: u64,
    ) -> Result<BackupCounts> {
        if changed > 0 {
            let sql =
                "UPDATE backup_versions SET etag = etag + 1 WHERE user_id = $1 AND version = $2";
            execute_tx!(tx, sql, [user_id, version])?;
        }
        let sql = "SELECT etag, (SELECT COUNT(*) FROM backup_keys k WHERE k.user_id = $1 AND k.version = $2)
                   FROM backup_versions WHERE user_id = $1 AND version = $2";
        let (etag, count) = fetch_tx!(tx, fetch_one, sql, [user_id, version])?;
        Ok(BackupCounts { etag, count })
    }
}
