//! One-time start codes for the first login (and after a password reset).
//!
//! A code is 6 random digits from the OS CSPRNG, valid for a configurable time. Only a keyed
//! MAC (BLAKE2b keyed with the server's secret key, over user ID and code) is stored: with the
//! database alone the 10^6 possible codes cannot be tested. Redeeming is rate-limited per
//! account and per address.

use blake2::digest::{KeyInit, Mac};
use blake2::Blake2bMac512;
use rand::Rng;
use ruma::UserId;
use schulhof_store::{Db, Tx};

use crate::state::AppState;
use crate::{Error, Result};

/// A new 6-digit start code.
pub fn generate() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

fn mac(state: &AppState, user_id: &str, code: &str) -> Blake2bMac512 {
    let mut mac = <Blake2bMac512 as KeyInit>::new_from_slice(state.secret_key.bytes())
        .expect("32-byte key fits BLAKE2b");
    mac.update(user_id.as_bytes());
    mac.update(&[0]);
    mac.update(code.trim().as_bytes());
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Issues a new start code for `user_id` inside the caller's transaction (replacing any
/// earlier one) and returns it: the caller prints it on the access letter.
pub async fn issue(state: &AppState, tx: &mut Tx, user_id: &UserId, now: i64) -> Result<String> {
    let code = generate();
    let tag = hex(&mac(state, user_id.as_str(), &code).finalize().into_bytes());
    Db::put_start_code(tx, user_id.as_str(), &tag, expiry(state, now), now).await?;
    Ok(code)
}

/// When a start code issued at `now` expires (ms since the epoch).
pub fn expiry(state: &AppState, now: i64) -> i64 {
    now + state.config.accounts.start_code_days * 24 * 3600 * 1000
}

/// Whether `user_id` still has to choose a password with a start code.
pub async fn pending(state: &AppState, user_id: &UserId) -> Result<bool> {
    Ok(state.db.start_code(user_id.as_str()).await?.is_some())
}

/// The one answer to a wrong user name or start code (no hint which of both was wrong).
pub(crate) fn wrong_code() -> Error {
    Error::forbidden(
        "Benutzername oder Startcode ist falsch oder der Startcode ist abgelaufen.",
        "Wrong user name or start code, or the start code has expired.",
    )
}

/// Checks a start code (rate-limited per account and address) and, if it is right and not
/// expired, sets the new password hash and removes the code in one transaction.
pub async fn redeem(
    state: &AppState,
    user_id: &UserId,
    code: &str,
    new_password: &str,
    client: &str,
) -> Result<()> {
    state.rate_limiter.check_login_address(client)?;
    state
        .rate_limiter
        .check_login(&format!("startcode:{user_id}"))?;
    let (stored, expires) = state
        .db
        .start_code(user_id.as_str())
        .await?
        .ok_or_else(wrong_code)?;
    let stored = (0..stored.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(stored.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<std::result::Result<Vec<u8>, _>>()
        .map_err(|_| Error::Internal("stored start code MAC is not hex".into()))?;
    if mac(state, user_id.as_str(), code)
        .verify_slice(&stored)
        .is_err()
        || expires < state.clock.now_ms()
    {
        return Err(wrong_code());
    }
    let hash = state.passwords.hash(new_password).await?;
    let mut tx = state.db.begin().await?;
    Db::set_password_hash_tx(&mut tx, user_id.as_str(), &hash).await?;
    Db::delete_start_code(&mut tx, user_id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::BTreeSet<String> = (0..50).map(|_| generate()).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.chars().all(|d| d.is_ascii_digit())));
        assert!(codes.len() > 40, "codes must be random");
    }
}
