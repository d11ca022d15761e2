//! Users, devices and access tokens.

use sqlx::Row;

use crate::{with_db, with_tx, Db, Result, StoreError};

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

fn user_from_row<R: Row>(row: &R) -> sqlx::Result<UserRow>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(UserRow {
        user_id: row.try_get("user_id")?,
        password_hash: row.try_get("password_hash")?,
        displayname: row.try_get("displayname")?,
        avatar_url: row.try_get("avatar_url")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        deactivated: row.try_get::<i64, _>("deactivated")? != 0,
    })
}

impl Db {
    /// Creates a user; fails with [`StoreError::Conflict`] if the ID is taken.
    pub async fn create_user(&self, user: &UserRow, now: i64) -> Result<()> {
        let sql = "INSERT INTO users (user_id, password_hash, displayname, avatar_url, is_admin, deactivated, created_ts)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)";
        with_db!(self, |c| sqlx::query(sql)
            .bind(&user.user_id)
            .bind(&user.password_hash)
            .bind(&user.displayname)
            .bind(&user.avatar_url)
            .bind(i64::from(user.is_admin))
            .bind(i64::from(user.deactivated))
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Looks up one user.
    pub async fn user(&self, user_id: &str) -> Result<Option<UserRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"
        ));
        let row = with_db!(self, |c| {
            let row = sqlx::query(sql).bind(user_id).fetch_optional(c).await?;
            row.as_ref().map(user_from_row).transpose()
        })?;
        Ok(row)
    }

    /// All users that are not deactivated (for the user directory).
    pub async fn active_users(&self) -> Result<Vec<UserRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE deactivated = 0 ORDER BY user_id"
        ));
        let rows = with_db!(self, |c| {
            let rows = sqlx::query(sql).fetch_all(c).await?;
            rows.iter()
                .map(user_from_row)
                .collect::<sqlx::Result<Vec<_>>>()
        })?;
        Ok(rows)
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<()> {
        let sql = "UPDATE users SET password_hash = $1 WHERE user_id = $2";
        with_db!(self, |c| sqlx::query(sql)
            .bind(hash)
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets a user's display name (`None` removes it).
    pub async fn set_displayname(&self, user_id: &str, name: Option<&str>) -> Result<()> {
        let sql = "UPDATE users SET displayname = $1 WHERE user_id = $2";
        with_db!(self, |c| sqlx::query(sql)
            .bind(name)
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets a user's avatar URL (`None` removes it).
    pub async fn set_avatar_url(&self, user_id: &str, url: Option<&str>) -> Result<()> {
        let sql = "UPDATE users SET avatar_url = $1 WHERE user_id = $2";
        with_db!(self, |c| sqlx::query(sql)
            .bind(url)
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
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
        with_tx!(&mut tx, |c| {
            sqlx::query(
                "INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_ts = $4",
            )
            .bind(user_id)
            .bind(device_id)
            .bind(display_name)
            .bind(now)
            .execute(&mut *c)
            .await?;
            // A re-used device ID gets a fresh token; the old ones stop working.
            sqlx::query("DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2")
                .bind(user_id)
                .bind(device_id)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(user_id)
            .bind(device_id)
            .bind(now)
            .execute(&mut *c)
            .await.map(|r| r.rows_affected())
        })?;
        tx.commit().await
    }

    /// Finds the user and device an access token (by hash) belongs to.
    pub async fn token(&self, token_hash: &str) -> Result<Option<TokenRow>> {
        let sql = "SELECT t.user_id, t.device_id FROM access_tokens t
                   JOIN users u ON u.user_id = t.user_id
                   WHERE t.token_hash = $1 AND u.deactivated = 0";
        let row = with_db!(self, |c| {
            let row = sqlx::query(sql).bind(token_hash).fetch_optional(c).await?;
            row.map(|r| -> sqlx::Result<TokenRow> {
                Ok(TokenRow {
                    user_id: r.try_get(0)?,
                    device_id: r.try_get(1)?,
                })
            })
            .transpose()
        })?;
        Ok(row)
    }

    /// Lists a user's devices.
    pub async fn devices(&self, user_id: &str) -> Result<Vec<DeviceRow>> {
        let sql = "SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices
                   WHERE user_id = $1 ORDER BY device_id";
        let rows = with_db!(self, |c| {
            let rows = sqlx::query(sql).bind(user_id).fetch_all(c).await?;
            rows.iter()
                .map(|r| -> sqlx::Result<DeviceRow> {
                    Ok(DeviceRow {
                        device_id: r.try_get(0)?,
                        display_name: r.try_get(1)?,
                        last_seen_ts: r.try_get(2)?,
                        last_seen_ip: r.try_get(3)?,
                    })
                })
                .collect::<sqlx::Result<Vec<_>>>()
        })?;
        Ok(rows)
    }

    /// Sets a device's display name; returns false if the device does not exist.
    pub async fn set_device_display_name(
        &self,
        user_id: &str,
        device_id: &str,
        name: Option<&str>,
    ) -> Result<bool> {
        let sql = "UPDATE devices SET display_name = $1 WHERE user_id = $2 AND device_id = $3";
        let done = with_db!(self, |c| sqlx::query(sql)
            .bind(name)
            .bind(user_id)
            .bind(device_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
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
        with_db!(self, |c| sqlx::query(sql)
            .bind(now)
            .bind(ip)
            .bind(user_id)
            .bind(device_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes devices with their tokens and end-to-end keys, all in one transaction.
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
            ] {
                with_tx!(&mut tx, |c| sqlx::query(sql)
                    .bind(user_id)
                    .bind(device_id)
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
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
        with_db!(self, |c| sqlx::query(sql)
            .bind(user_id)
            .bind(keep_device.unwrap_or(""))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
