//! Users, devices and access tokens.

use crate::db::AnyRow;
use crate::{execute, execute_tx, fetch, Db, Result, StoreError};

/// A stored user account.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Full Matrix user ID.
    pub user_id: String,
    /// Argon2id PHC string; `None` for accounts that cannot log in with a password.
    pub password_hash: Option<String>,
    /// Display name.
    pub displayname: Option<String>,
    /// Avatar `mxc://` URI.
    pub avatar_url: Option<String>,
    /// Whether the account is a server admin.
    pub is_admin: bool,
    /// Whether the account is deactivated.
    pub deactivated: bool,
}

/// A stored device.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    /// Device ID.
    pub device_id: String,
    /// Display name chosen by the client or user.
    pub display_name: Option<String>,
    /// Last time the device was seen, ms since the epoch.
    pub last_seen_ts: Option<i64>,
    /// Last address the device was seen from.
    pub last_seen_ip: Option<String>,
}

/// What an access token stands for.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Owner of the token.
    pub user_id: String,
    /// Device the token belongs to.
    pub device_id: String,
}

const USER_COLUMNS: &str = "user_id, password_hash, displayname, avatar_url, is_admin, deactivated";

/// Reads the columns of `USER_COLUMNS` in order.
impl<R: AnyRow> sqlx::FromRow<'_, R> for UserRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(UserRow {
            user_id: row.col(0)?,
            password_hash: row.col(1)?,
            displayname: row.col(2)?,
            avatar_url: row.col(3)?,
            is_admin: row.col::<i64>(4)? != 0,
            deactivated: row.col::<i64>(5)? != 0,
        })
    }
}

/// Reads `device_id, display_name, last_seen_ts, last_seen_ip`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for DeviceRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(DeviceRow {
            device_id: row.col(0)?,
            display_name: row.col(1)?,
            last_seen_ts: row.col(2)?,
            last_seen_ip: row.col(3)?,
        })
    }
}

/// Reads `user_id, device_id`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for TokenRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(TokenRow {
            user_id: row.col(0)?,
            device_id: row.col(1)?,
        })
    }
}

impl Db {
    /// Creates a user; fails with [`StoreError::Conflict`] if the ID is taken.
    pub async fn create_user(&self, user: &UserRow, now: i64) -> Result<()> {
        let sql = "INSERT INTO users (user_id, password_hash, displayname, avatar_url, is_admin, deactivated, created_ts)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)";
        execute!(
            self,
            sql,
            [
                &user.user_id,
                &user.password_hash,
                &user.displayname,
                &user.avatar_url,
                i64::from(user.is_admin),
                i64::from(user.deactivated),
                now,
            ]
        )
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Looks up one user.
    pub async fn user(&self, user_id: &str) -> Result<Option<UserRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"
        ));
        Ok(fetch!(self, fetch_optional, sql, [user_id])?)
    }

    /// The rows of those of `user_ids` that have an account, in no particular order (one
    /// query for up to 64 of them).
    pub async fn users(&self, user_ids: &[&str]) -> Result<Vec<UserRow>> {
        let mut rows = Vec::with_capacity(user_ids.len());
        for chunk in crate::batch::chunks(user_ids) {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE user_id IN ({})",
                crate::batch::values(chunk.len(), 1, 1)
            );
            let found: Vec<UserRow> = crate::with_db!(self, |c| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for user_id in chunk {
                    query = query.bind(*user_id);
                }
                query.fetch_all(c).await
            })?;
            rows.extend(found);
        }
        Ok(rows)
    }

    /// All users that are not deactivated (for the user directory).
    pub async fn active_users(&self) -> Result<Vec<UserRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE deactivated = 0 ORDER BY user_id"
        ));
        Ok(fetch!(self, fetch_all, sql, [])?)
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<()> {
        let sql = "UPDATE users SET password_hash = $1 WHERE user_id = $2";
        execute!(self, sql, [hash, user_id])?;
        Ok(())
    }

    /// Sets a user's display name (`None` removes it).
    pub async fn set_displayname(&self, user_id: &str, name: Option<&str>) -> Result<()> {
        let sql = "UPDATE users SET displayname = $1 WHERE user_id = $2";
        execute!(self, sql, [name, user_id])?;
        Ok(())
    }

    /// Sets a user's avatar URL (`None` removes it).
    pub async fn set_avatar_url(&self, user_id: &str, url: Option<&str>) -> Result<()> {
        let sql = "UPDATE users SET avatar_url = $1 WHERE user_id = $2";
        execute!(self, sql, [url, user_id])?;
        Ok(())
    }

    /// Creates a device (or refreshes it if it exists) and stores a new access token for it.
    pub async fn create_device_with_token(
        &self,
        user_id: &str,
        device_id: &str,
        display_name: Option<&str>,
        token_hash: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        execute_tx!(
            &mut tx,
            "INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_ts = $4",
            [user_id, device_id, display_name, now]
        )?;
        // A re-used device ID gets a fresh token; the old ones stop working.
        execute_tx!(
            &mut tx,
            "DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2",
            [user_id, device_id]
        )?;
        execute_tx!(
            &mut tx,
            "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts) VALUES ($1, $2, $3, $4)",
            [token_hash, user_id, device_id, now]
        )?;
        tx.commit().await
    }

    /// Finds the user and device an access token (by hash) belongs to.
    pub async fn token(&self, token_hash: &str) -> Result<Option<TokenRow>> {
        let sql = "SELECT t.user_id, t.device_id FROM access_tokens t
                   JOIN users u ON u.user_id = t.user_id
                   WHERE t.token_hash = $1 AND u.deactivated = 0";
        Ok(fetch!(self, fetch_optional, sql, [token_hash])?)
    }

    /// Lists a user's devices.
    pub async fn devices(&self, user_id: &str) -> Result<Vec<DeviceRow>> {
        let sql = "SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices
                   WHERE user_id = $1 ORDER BY device_id";
        Ok(fetch!(self, fetch_all, sql, [user_id])?)
    }

    /// Sets a device's display name; returns false if the device does not exist.
    pub async fn set_device_display_name(
        &self,
        user_id: &str,
        device_id: &str,
        name: Option<&str>,
    ) -> Result<bool> {
        let sql = "UPDATE devices SET display_name = $1 WHERE user_id = $2 AND device_id = $3";
        let done = execute!(self, sql, [name, user_id, device_id])?;
        Ok(done > 0)
    }

    /// Records when and from where a device was last used.
    pub async fn touch_device(
        &self,
        user_id: &str,
        device_id: &str,
        ip: &str,
        now: i64,
    ) -> Result<()> {
        let sql = "UPDATE devices SET last_seen_ts = $1, last_seen_ip = $2 WHERE user_id = $3 AND device_id = $4";
        execute!(self, sql, [now, ip, user_id, device_id])?;
        Ok(())
    }

    /// Deletes devices with their tokens, end-to-end keys and pushers, all in one transaction.
    pub async fn delete_devices(&self, user_id: &str, device_ids: &[String]) -> Result<()> {
        let mut tx = self.begin().await?;
        for device_id in device_ids {
            for sql in [
                "DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2",
                "DELETE FROM devices WHERE user_id = $1 AND device_id = $2",
                "DELETE FROM device_keys WHERE user_id = $1 AND device_id = $2",
                "DELETE FROM one_time_keys WHERE user_id = $1 AND device_id = $2",
                "DELETE FROM fallback_keys WHERE user_id = $1 AND device_id = $2",
                "DELETE FROM to_device WHERE user_id = $1 AND device_id = $2",
                "DELETE FROM txn_ids WHERE user_id = $1 AND device_id = $2",
                "UPDATE events SET txn_id = NULL WHERE sender = $1 AND txn_device = $2",
            ] {
                execute_tx!(&mut tx, sql, [user_id, device_id])?;
            }
            Db::delete_device_pushers(&mut tx, user_id, device_id).await?;
        }
        tx.commit().await
    }

    /// Deletes every access token of a user except the one of `keep_device` (if given).
    pub async fn delete_tokens_except(
        &self,
        user_id: &str,
        keep_device: Option<&str>,
    ) -> Result<()> {
        let sql = "DELETE FROM access_tokens WHERE user_id = $1 AND device_id <> $2";
        execute!(self, sql, [user_id, keep_device.unwrap_or("")])?;
        Ok(())
    }
}
