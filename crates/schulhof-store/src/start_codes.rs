//! One-time start codes for a user's first login (stored only as a keyed MAC).

use crate::{execute_tx, fetch, Db, Result, Tx};

impl Db {
    /// Stores (or replaces) a user's start code MAC inside the caller's transaction.
    pub async fn put_start_code(
        tx: &mut Tx,
        user_id: &str,
        code_mac: &str,
        expires_ts: i64,
        now: i64,
    ) -> Result<()> {
        let sql = "INSERT INTO start_codes (user_id, code_mac, expires_ts, created_ts) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (user_id) DO UPDATE SET code_mac = $2, expires_ts = $3, created_ts = $4";
        execute_tx!(tx, sql, [user_id, code_mac, expires_ts, now])?;
        Ok(())
    }

    /// A user's pending start code: `(code_mac, expires_ts)`.
    pub async fn start_code(&self, user_id: &str) -> Result<Option<(String, i64)>> {
        let sql = "SELECT code_mac, expires_ts FROM start_codes WHERE user_id = $1";
        Ok(fetch!(self, fetch_optional, sql, [user_id])?)
    }

    /// Removes a user's start code inside the caller's transaction.
    pub async fn delete_start_code(tx: &mut Tx, user_id: &str) -> Result<()> {
        let sql = "DELETE FROM start_codes WHERE user_id = $1";
        execute_tx!(tx, sql, [user_id])?;
        Ok(())
    }

    /// Sets a password hash inside the caller's transaction.
    pub async fn set_password_hash_tx(tx: &mut Tx, user_id: &str, hash: &str) -> Result<()> {
        let sql = "UPDATE users SET password_hash = $1 WHERE user_id = $2";
        execute_tx!(tx, sql, [hash, user_id])?;
        Ok(())
    }
}
