//! End-to-end encryption plumbing: device keys, one-time and fallback keys, cross-signing keys,
//! device list changes and to-device messages.

use sqlx::AssertSqlSafe;

use crate::db::AnyRow;
use crate::{execute, execute_tx, fetch, scalar, Db, Result, Tx};

/// A to-device message waiting for a device.
#[derive(Debug, Clone)]
pub struct ToDeviceRow {
    /// Stream position.
    pub stream_pos: i64,
    /// Sender's user ID.
    pub sender: String,
    /// Event type.
    pub event_type: String,
    /// JSON content.
    pub content: String,
}

/// One to-device message about to be stored.
#[derive(Debug, Clone)]
pub struct NewToDevice<'a> {
    /// Recipient user.
    pub user_id: &'a str,
    /// Recipient device.
    pub device_id: &'a str,
    /// JSON content.
    pub content: &'a str,
}

/// The identity keys of one device, as uploaded.
#[derive(Debug, Clone)]
pub struct DeviceKeysRow {
    /// Device ID.
    pub device_id: String,
    /// The signed device keys object as JSON.
    pub json: String,
    /// The device's display name, if it still exists and has one.
    pub display_name: Option<String>,
}

/// A one-time or fallback key.
#[derive(Debug, Clone)]
pub struct OneTimeKeyRow {
    /// Full key ID, `<algorithm>:<id>`.
    pub key_id: String,
    /// Key algorithm, e.g. `signed_curve25519`.
    pub algorithm: String,
    /// The key object as JSON.
    pub json: String,
}

/// A signature one key made over another (uploaded via `/keys/signatures/upload`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySignatureRow {
    /// Owner of the signed key.
    pub target_user_id: String,
    /// Signed key: a device ID or the public part of a cross-signing key.
    pub target_key_id: String,
    /// Who signed.
    pub signer_user_id: String,
    /// With which key, e.g. `ed25519:DEVICEID`.
    pub signer_key_id: String,
    /// The signature.
    pub signature: String,
}

/// Users with a joined membership in a room where `$1` is joined (including `$1`).
const SHARED_ROOM_USERS: &str = "SELECT m2.state_key FROM current_state m1
    JOIN current_state m2 ON m2.room_id = m1.room_id AND m2.event_type = 'm.room.member' AND m2.membership = 'join'
    WHERE m1.event_type = 'm.room.member' AND m1.state_key = $1 AND m1.membership = 'join'";

/// Reads `stream_pos, sender, event_type, content`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for ToDeviceRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(ToDeviceRow {
            stream_pos: row.col(0)?,
            sender: row.col(1)?,
            event_type: row.col(2)?,
            content: row.col(3)?,
        })
    }
}

/// Reads `device_id, json, display_name`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for DeviceKeysRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(DeviceKeysRow {
            device_id: row.col(0)?,
            json: row.col(1)?,
            display_name: row.col(2)?,
        })
    }
}

impl Db {
    /// The stored device keys JSON of one device.
    pub async fn device_keys(&self, user_id: &str, device_id: &str) -> Result<Option<String>> {
        let sql = "SELECT json FROM device_keys WHERE user_id = $1 AND device_id = $2";
        Ok(scalar!(self, fetch_optional, sql, [user_id, device_id])?)
    }

    /// Stores (or replaces) a device's identity keys; with `forget_signatures` the signatures
    /// other keys made over the old keys are dropped (the keys themselves changed).
    pub async fn put_device_keys(
        &self,
        user_id: &str,
        device_id: &str,
        json: &str,
        forget_signatures: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let sql = "INSERT INTO device_keys (user_id, device_id, json) VALUES ($1, $2, $3)
                   ON CONFLICT (user_id, device_id) DO UPDATE SET json = $3";
        execute_tx!(&mut tx, sql, [user_id, device_id, json])?;
        if forget_signatures {
            let sql = "DELETE FROM key_signatures WHERE target_user_id = $1 AND target_key_id = $2";
            execute_tx!(&mut tx, sql, [user_id, device_id])?;
        }
        tx.commit().await
    }

    /// Device keys of every device of a user that has uploaded some, with the device's name.
    pub async fn user_device_keys(&self, user_id: &str) -> Result<Vec<DeviceKeysRow>> {
        let sql = "SELECT k.device_id, k.json, d.display_name FROM device_keys k
                   LEFT JOIN devices d ON d.user_id = k.user_id AND d.device_id = k.device_id
                   WHERE k.user_id = $1 ORDER BY k.device_id";
        Ok(fetch!(self, fetch_all, sql, [user_id])?)
    }

    /// Adds one-time keys of a device; key IDs it already has are kept as they are.
    pub async fn add_one_time_keys(
        &self,
        user_id: &str,
        device_id: &str,
        keys: &[OneTimeKeyRow],
    ) -> Result<()> {
        let sql = "INSERT INTO one_time_keys (user_id, device_id, key_id, algorithm, json) VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (user_id, device_id, key_id) DO NOTHING";
        let mut tx = self.begin().await?;
        for key in keys {
            execute_tx!(
                &mut tx,
                sql,
                [user_id, device_id, &key.key_id, &key.algorithm, &key.json]
            )?;
        }
        tx.commit().await
    }

    /// Replaces a device's fallback key for each key's algorithm. A new key starts unused; the
    /// same key uploaded again keeps its state.
    pub async fn put_fallback_keys(
        &self,
        user_id: &str,
        device_id: &str,
        keys: &[OneTimeKeyRow],
    ) -> Result<()> {
        let sql = "INSERT INTO fallback_keys (user_id, device_id, algorithm, key_id, json, used) VALUES ($1, $2, $3, $4, $5, 0)
                   ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET key_id = $4, json = $5,
                   used = CASE WHEN fallback_keys.key_id = $4 AND fallback_keys.json = $5 THEN fallback_keys.used ELSE 0 END";
        let mut tx = self.begin().await?;
        for key in keys {
            execute_tx!(
                &mut tx,
                sql,
                [user_id, device_id, &key.algorithm, &key.key_id, &key.json]
            )?;
        }
        tx.commit().await
    }

    /// How many unclaimed one-time keys a device has, per algorithm.
    pub async fn one_time_key_counts(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<Vec<(String, i64)>> {
        let sql = "SELECT algorithm, COUNT(*) FROM one_time_keys WHERE user_id = $1 AND device_id = $2 GROUP BY algorithm";
        Ok(fetch!(self, fetch_all, sql, [user_id, device_id])?)
    }

    /// Algorithms for which a device has a fallback key nobody has claimed yet.
    pub async fn unused_fallback_key_algorithms(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<Vec<String>> {
        let sql = "SELECT algorithm FROM fallback_keys WHERE user_id = $1 AND device_id = $2 AND used = 0 ORDER BY algorithm";
        Ok(scalar!(self, fetch_all, sql, [user_id, device_id])?)
    }

    /// Claims a key of `algorithm` for a device: removes and returns one of its one-time keys,
    /// or, when none is left, returns its fallback key and marks it used. Two claims racing for
    /// the last one-time key on PostgreSQL may leave the loser with the fallback key.
    pub async fn claim_key(
        &self,
        user_id: &str,
        device_id: &str,
        algorithm: &str,
    ) -> Result<Option<(String, String)>> {
        let one_time = "DELETE FROM one_time_keys WHERE user_id = $1 AND device_id = $2 AND key_id = (
                          SELECT key_id FROM one_time_keys WHERE user_id = $1 AND device_id = $2 AND algorithm = $3
                          ORDER BY key_id LIMIT 1)
                        RETURNING key_id, json";
        let fallback = "UPDATE fallback_keys SET used = 1 WHERE user_id = $1 AND device_id = $2 AND algorithm = $3
                        RETURNING key_id, json";
        for sql in [one_time, fallback] {
            let key = fetch!(self, fetch_optional, sql, [user_id, device_id, algorithm])?;
            if key.is_some() {
                return Ok(key);
            }
        }
        Ok(None)
    }

    /// A user's cross-signing keys: `(key_type, json)` with key types `master`,
    /// `self_signing` and `user_signing`.
    pub async fn cross_signing_keys(&self, user_id: &str) -> Result<Vec<(String, String)>> {
        let sql =
            "SELECT key_type, json FROM cross_signing_keys WHERE user_id = $1 ORDER BY key_type";
        Ok(fetch!(self, fetch_all, sql, [user_id])?)
    }

    /// Stores (or replaces) cross-signing keys `(key_type, json)` of a user in one transaction.
    pub async fn put_cross_signing_keys(
        &self,
        user_id: &str,
        keys: &[(&str, String)],
    ) -> Result<()> {
        let sql = "INSERT INTO cross_signing_keys (user_id, key_type, json) VALUES ($1, $2, $3)
                   ON CONFLICT (user_id, key_type) DO UPDATE SET json = $3";
        let mut tx = self.begin().await?;
        for (key_type, json) in keys {
            execute_tx!(&mut tx, sql, [user_id, *key_type, json])?;
        }
        tx.commit().await
    }

    /// Stores signatures (a signature by the same key over the same target is replaced).
    pub async fn put_key_signatures(&self, signatures: &[KeySignatureRow]) -> Result<()> {
        let sql = "INSERT INTO key_signatures (target_user_id, target_key_id, signer_user_id, signer_key_id, signature)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (target_user_id, target_key_id, signer_user_id, signer_key_id) DO UPDATE SET signature = $5";
        let mut tx = self.begin().await?;
        for s in signatures {
            execute_tx!(
                &mut tx,
                sql,
                [
                    &s.target_user_id,
                    &s.target_key_id,
                    &s.signer_user_id,
                    &s.signer_key_id,
                    &s.signature,
                ]
            )?;
        }
        tx.commit().await
    }

    /// Signatures over keys of `target_user_id` that `viewer` may see: those the target made
    /// and those the viewer made.
    pub async fn key_signatures(
        &self,
        target_user_id: &str,
        viewer: &str,
    ) -> Result<Vec<KeySignatureRow>> {
        let sql =
            "SELECT target_key_id, signer_user_id, signer_key_id, signature FROM key_signatures
                   WHERE target_user_id = $1 AND signer_user_id IN ($1, $2)";
        let rows: Vec<(String, String, String, String)> =
            fetch!(self, fetch_all, sql, [target_user_id, viewer])?;
        Ok(rows
            .into_iter()
            .map(
                |(target_key_id, signer_user_id, signer_key_id, signature)| KeySignatureRow {
                    target_user_id: target_user_id.to_owned(),
                    target_key_id,
                    signer_user_id,
                    signer_key_id,
                    signature,
                },
            )
            .collect())
    }

    /// Records, inside the writer's transaction, that a user's device list changed at `pos`.
    pub async fn insert_device_list_change(tx: &mut Tx, user_id: &str, pos: i64) -> Result<()> {
        let sql = "INSERT INTO device_list_changes (stream_pos, user_id) VALUES ($1, $2)";
        execute_tx!(tx, sql, [pos, user_id])?;
        Ok(())
    }

    /// Users who share a room with `user_id` where both are joined (including the user).
    pub async fn users_sharing_room(&self, user_id: &str) -> Result<Vec<String>> {
        let sql = AssertSqlSafe(format!(
            "SELECT DISTINCT state_key FROM ({SHARED_ROOM_USERS}) AS shared"
        ));
        Ok(scalar!(self, fetch_all, sql, [user_id])?)
    }

    /// Users `user_id` shares a joined room with (or the user themself) whose device list
    /// changed in `(after, until]`, plus those who newly share a room with them: the current
    /// join of either side happened in `(after, until]`.
    pub async fn device_list_changes_since(
        &self,
        user_id: &str,
        after: i64,
        until: i64,
    ) -> Result<Vec<String>> {
        let sql = AssertSqlSafe(format!(
            "SELECT user_id FROM device_list_changes
               WHERE stream_pos > $2 AND stream_pos <= $3 AND (user_id = $1 OR user_id IN ({SHARED_ROOM_USERS}))
             UNION
             SELECT m2.state_key FROM current_state m1
               JOIN current_state m2 ON m2.room_id = m1.room_id AND m2.event_type = 'm.room.member' AND m2.membership = 'join'
               WHERE m1.event_type = 'm.room.member' AND m1.state_key = $1 AND m1.membership = 'join'
               AND ((m2.stream_pos > $2 AND m2.stream_pos <= $3) OR (m1.stream_pos > $2 AND m1.stream_pos <= $3))"
        ));
        Ok(scalar!(self, fetch_all, sql, [user_id, after, until])?)
    }

    /// Users who may have stopped sharing a room with `user_id` in `(after, until]`: members
    /// who left or were banned from one of the user's rooms, and the members of rooms the user
    /// left. The caller removes those who still share another room.
    pub async fn room_partings_since(
        &self,
        user_id: &str,
        after: i64,
        until: i64,
    ) -> Result<Vec<String>> {
        let sql = "SELECT DISTINCT m2.state_key FROM current_state m1
                   JOIN current_state m2 ON m2.room_id = m1.room_id AND m2.event_type = 'm.room.member'
                   WHERE m1.event_type = 'm.room.member' AND m1.state_key = $1 AND (
                     (m1.membership = 'join' AND m2.membership IN ('leave', 'ban') AND m2.stream_pos > $2 AND m2.stream_pos <= $3)
                     OR (m1.membership IN ('leave', 'ban') AND m1.stream_pos > $2 AND m1.stream_pos <= $3 AND m2.membership = 'join'))";
        Ok(scalar!(self, fetch_all, sql, [user_id, after, until])?)
    }

    /// Remembers a to-device transaction of a device inside the writer's transaction; returns
    /// false if the device already used this transaction ID.
    pub async fn remember_to_device_txn(
        tx: &mut Tx,
        user_id: &str,
        device_id: &str,
        txn_id: &str,
        now: i64,
    ) -> Result<bool> {
        let sql = "INSERT INTO txn_ids (user_id, device_id, txn_id, event_id, created_ts) VALUES ($1, $2, $3, '', $4)
                   ON CONFLICT (user_id, device_id, txn_id) DO NOTHING";
        let txn_id = format!("sendToDevice/{txn_id}");
        let done = execute_tx!(tx, sql, [user_id, device_id, &txn_id, now])?;
        Ok(done > 0)
    }

    /// Stores to-device messages of one type from `sender`, all at stream position `pos`,
    /// inside the writer's transaction. At most one message per device.
    pub async fn insert_to_device(
        tx: &mut Tx,
        sender: &str,
        event_type: &str,
        messages: &[NewToDevice<'_>],
        pos: i64,
    ) -> Result<()> {
        let sql = "INSERT INTO to_device (user_id, device_id, stream_pos, sender, event_type, content) VALUES ($1, $2, $3, $4, $5, $6)";
        for m in messages {
            execute_tx!(
                tx,
                sql,
                [m.user_id, m.device_id, pos, sender, event_type, m.content]
            )?;
        }
        Ok(())
    }

    /// Messages waiting for a device with `stream_pos <= until`, oldest first.
    pub async fn to_device_until(
        &self,
        user_id: &str,
        device_id: &str,
        until: i64,
    ) -> Result<Vec<ToDeviceRow>> {
        let sql = "SELECT stream_pos, sender, event_type, content FROM to_device
                   WHERE user_id = $1 AND device_id = $2 AND stream_pos <= $3 ORDER BY stream_pos";
        Ok(fetch!(self, fetch_all, sql, [user_id, device_id, until])?)
    }

    /// Deletes the messages of a device with `stream_pos <= upto` (the device has them).
    pub async fn delete_to_device(&self, user_id: &str, device_id: &str, upto: i64) -> Result<()> {
        let sql =
            "DELETE FROM to_device WHERE user_id = $1 AND device_id = $2 AND stream_pos <= $3";
        execute!(self, sql, [user_id, device_id, upto])?;
        Ok(())
    }
}
