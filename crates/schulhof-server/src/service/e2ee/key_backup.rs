//! Server-side key backup (`/room_keys/*`): a user's backup versions and the encrypted room
//! keys their clients store in them.
//!
//! The server never decrypts anything: it keeps each version's `auth_data` and each key's
//! `session_data` as uploaded. Keys are only written to the current (newest) version; of two
//! keys for the same session it keeps the better one ([`replaces`]). Every change of a version's
//! keys moves its etag, so clients can tell that another client changed the backup.

use std::collections::BTreeMap;

use ruma::{UInt, UserId};
use schulhof_store::{BackupCounts, BackupKeyRow, BackupUpload, BackupVersionRow};
use serde::Deserialize;
use serde_json::value::RawValue as RawJsonValue;
use serde_json::{json, Map, Value};

use crate::state::AppState;
use crate::{Error, Result};

/// The one backup algorithm the specification defines.
pub const MEGOLM_BACKUP_V1: &str = "m.megolm_backup.v1.curve25519-aes-sha2";

/// The body of `POST /room_keys/version` and `PUT /room_keys/version/{version}`.
#[derive(Deserialize)]
struct BackupConfig {
    algorithm: String,
    auth_data: Map<String, Value>,
    /// Only in updates: must match the version in the path when given.
    #[serde(default)]
    version: Option<String>,
}

/// One uploaded key (`KeyBackupData`).
#[derive(Deserialize)]
struct KeyData {
    first_message_index: UInt,
    forwarded_count: UInt,
    is_verified: bool,
    session_data: Map<String, Value>,
}

/// Whether an uploaded key replaces the stored key for the same session. The specification:
/// if the keys differ in `is_verified`, the one with `is_verified: true` is kept; otherwise the
/// one with the lower `first_message_index`; if that is equal too, the one with the lower
/// `forwarded_count`. When all three are equal the stored key stays.
pub fn replaces(existing: &BackupKeyRow, new: &BackupKeyRow) -> bool {
    let rank = |k: &BackupKeyRow| (!k.is_verified, k.first_message_index, k.forwarded_count);
    rank(new) < rank(existing)
}

fn unknown_version() -> Error {
    Error::not_found(
        "Unbekannte Version der Schlüsselsicherung.",
        "Unknown backup version.",
    )
}

fn bad_body(err: serde_json::Error) -> Error {
    Error::bad_json(
        format!("Ungültige Angaben zur Schlüsselsicherung: {err}"),
        format!("Invalid key backup data: {err}"),
    )
}

/// The number behind a version string; `None` for anything that was never handed out.
fn version_number(version: &str) -> Option<i64> {
    version
        .parse::<i64>()
        .ok()
        .filter(|v| *v > 0 && v.to_string() == version)
}

/// A JSON object the server stored itself.
fn stored(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|_| json!({}))
}

/// Reads a create/update body and checks that its algorithm is the specified one.
fn backup_config(body: &RawJsonValue) -> Result<BackupConfig> {
    let config: BackupConfig = serde_json::from_str(body.get()).map_err(bad_body)?;
    if config.algorithm != MEGOLM_BACKUP_V1 {
        return Err(Error::invalid_param(
            format!(
                "Unbekannter Algorithmus für die Schlüsselsicherung: {}",
                config.algorithm
            ),
            format!("Unsupported backup algorithm: {}", config.algorithm),
        ));
    }
    Ok(config)
}

/// Creates a new backup version from a `POST /room_keys/version` body and returns its version.
pub async fn create_version(
    state: &AppState,
    user_id: &UserId,
    body: &RawJsonValue,
) -> Result<String> {
    let config = backup_config(body)?;
    let auth_data = Value::Object(config.auth_data).to_string();
    let version = state
        .db
        .create_backup_version(user_id.as_str(), &config.algorithm, &auth_data)
        .await?;
    Ok(version.to_string())
}

/// A version's info as `GET /room_keys/version[/{version}]` answers it.
fn version_json(row: &BackupVersionRow) -> Value {
    json!({
        "algorithm": row.algorithm,
        "auth_data": stored(&row.auth_data),
        "count": row.count,
        "etag": row.etag.to_string(),
        "version": row.version.to_string(),
    })
}

/// Info about a backup version, or with `None` about the current one.
pub async fn version_info(
    state: &AppState,
    user_id: &UserId,
    version: Option<&str>,
) -> Result<Value> {
    let row = match version {
        None => state
            .db
            .backup_version(user_id.as_str(), None)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    "Keine Schlüsselsicherung vorhanden.",
                    "No current backup version.",
                )
            })?,
        Some(version) => {
            let number = version_number(version).ok_or_else(unknown_version)?;
            let row = state.db.backup_version(user_id.as_str(), Some(number));
            row.await?.ok_or_else(unknown_version)?
        }
    };
    Ok(version_json(&row))
}

/// Replaces the `auth_data` of a backup version (`PUT /room_keys/version/{version}`); the
/// algorithm cannot change, and a version in the body must be the one in the path.
pub async fn update_version(
    state: &AppState,
    user_id: &UserId,
    version: &str,
    body: &RawJsonValue,
) -> Result<()> {
    let config = backup_config(body)?;
    if config.version.as_deref().is_some_and(|v| v != version) {
        return Err(Error::invalid_param(
            "Die Version im Inhalt passt nicht zur Version in der Adresse.",
            "The version in the body does not match the version in the path.",
        ));
    }
    let number = version_number(version).ok_or_else(unknown_version)?;
    let existing = state.db.backup_version(user_id.as_str(), Some(number));
    let existing = existing.await?.ok_or_else(unknown_version)?;
    if existing.algorithm != config.algorithm {
        return Err(Error::invalid_param(
            "Der Algorithmus einer Schlüsselsicherung lässt sich nicht ändern.",
            "The algorithm of a backup cannot be changed.",
        ));
    }
    let auth_data = Value::Object(config.auth_data).to_string();
    let updated = state
        .db
        .update_backup_auth_data(user_id.as_str(), number, &auth_data);
    if updated.await? {
        Ok(())
    } else {
        Err(unknown_version())
    }
}

/// Deletes a backup version with its keys; deleting it again succeeds too.
pub async fn delete_version(state: &AppState, user_id: &UserId, version: &str) -> Result<()> {
    let number = version_number(version).ok_or_else(unknown_version)?;
    if state
        .db
        .delete_backup_version(user_id.as_str(), number)
        .await?
    {
        Ok(())
    } else {
        Err(unknown_version())
    }
}

/// Reads one uploaded key of a session in a room.
pub fn parse_key(room_id: &str, session_id: &str, data: &RawJsonValue) -> Result<BackupKeyRow> {
    let data: KeyData = serde_json::from_str(data.get()).map_err(bad_body)?;
    Ok(BackupKeyRow {
        room_id: room_id.to_owned(),
        session_id: session_id.to_owned(),
        first_message_index: i64::from(data.first_message_index),
        forwarded_count: i64::from(data.forwarded_count),
        is_verified: data.is_verified,
        session_data: Value::Object(data.session_data).to_string(),
    })
}

/// The `{etag, count}` answer of a key upload or deletion.
fn counts_json(counts: BackupCounts) -> Value {
    json!({ "etag": counts.etag.to_string(), "count": counts.count })
}

/// Stores keys in the current backup version (`PUT /room_keys/keys...`); 403
/// `M_WRONG_ROOM_KEYS_VERSION` for any other version, 404 when the user has no backup.
pub async fn put_keys(
    state: &AppState,
    user_id: &UserId,
    version: &str,
    keys: &[BackupKeyRow],
) -> Result<Value> {
    // Versions count from 1: 0 is never current, so the upload is refused as a wrong version.
    let number = version_number(version).unwrap_or(0);
    let upload = state
        .db
        .put_backup_keys(user_id.as_str(), number, keys, replaces);
    match upload.await? {
        BackupUpload::NoBackup => Err(unknown_version()),
        BackupUpload::WrongVersion(current) => {
            Err(Error::WrongRoomKeysVersion(current.to_string()))
        }
        BackupUpload::Stored(counts) => Ok(counts_json(counts)),
    }
}

/// Keys of a backup version: all, one room's or one session's; 404 for an unknown version.
pub async fn keys(
    state: &AppState,
    user_id: &UserId,
    version: &str,
    room_id: Option<&str>,
    session_id: Option<&str>,
) -> Result<Vec<BackupKeyRow>> {
    let number = version_number(version).ok_or_else(unknown_version)?;
    let db = &state.db;
    if db
        .backup_version(user_id.as_str(), Some(number))
        .await?
        .is_none()
    {
        return Err(unknown_version());
    }
    Ok(db
        .backup_keys(user_id.as_str(), number, room_id, session_id)
        .await?)
}

/// Deletes keys of a backup version: all, one room's or one session's.
pub async fn delete_keys(
    state: &AppState,
    user_id: &UserId,
    version: &str,
    room_id: Option<&str>,
    session_id: Option<&str>,
) -> Result<Value> {
    let number = version_number(version).ok_or_else(unknown_version)?;
    let deleted = state
        .db
        .delete_backup_keys(user_id.as_str(), number, room_id, session_id);
    Ok(counts_json(deleted.await?.ok_or_else(unknown_version)?))
}

/// One key as `KeyBackupData`.
pub fn key_json(key: &BackupKeyRow) -> Value {
    json!({
        "first_message_index": key.first_message_index,
        "forwarded_count": key.forwarded_count,
        "is_verified": key.is_verified,
        "session_data": stored(&key.session_data),
    })
}

/// Keys grouped by room as `{room_id: {"sessions": {session_id: KeyBackupData}}}`.
pub fn rooms_json(keys: &[BackupKeyRow]) -> Value {
    let mut rooms: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for key in keys {
        let sessions = rooms.entry(&key.room_id).or_default();
        sessions.insert(key.session_id.clone(), key_json(key));
    }
    rooms
        .into_iter()
        .map(|(room, sessions)| (room.to_owned(), json!({ "sessions": sessions })))
        .collect::<Map<_, _>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(is_verified: bool, first_message_index: i64, forwarded_count: i64) -> BackupKeyRow {
        BackupKeyRow {
            room_id: "!r:x".into(),
            session_id: "s".into(),
            first_message_index,
            forwarded_count,
            is_verified,
            session_data: "{}".into(),
        }
    }

    #[test]
    fn replacement_rule_follows_the_spec() {
        // (existing, new, new replaces existing)
        let cases = [
            // is_verified decides first, whatever the index and count.
            (key(false, 0, 0), key(true, 5, 3), true),
            (key(true, 5, 3), key(false, 0, 0), false),
            // Same is_verified: the lower first_message_index wins.
            (key(false, 5, 0), key(false, 2, 9), true),
            (key(true, 2, 0), key(true, 5, 0), false),
            // Same is_verified and index: the lower forwarded_count wins.
            (key(true, 3, 2), key(true, 3, 1), true),
            (key(false, 3, 1), key(false, 3, 2), false),
            // All equal: the stored key stays.
            (key(true, 3, 1), key(true, 3, 1), false),
            (key(false, 0, 0), key(false, 0, 0), false),
        ];
        for (i, (existing, new, expected)) in cases.iter().enumerate() {
            assert_eq!(replaces(existing, new), *expected, "case {i}");
        }
    }

    #[test]
    fn only_handed_out_versions_parse() {
        assert_eq!(version_number("1"), Some(1));
        assert_eq!(version_number("42"), Some(42));
        for bad in ["0", "-1", "01", "+1", "abc", ""] {
            assert_eq!(version_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_are_grouped_by_room() {
        let mut other = key(false, 1, 0);
        other.room_id = "!q:x".into();
        let rooms = rooms_json(&[key(true, 0, 0), other]);
        assert_eq!(rooms["!r:x"]["sessions"]["s"]["is_verified"], json!(true));
        assert_eq!(
            rooms["!q:x"]["sessions"]["s"]["first_message_index"],
            json!(1)
        );
        assert_eq!(rooms.as_object().map(Map::len), Some(2));
    }

    #[test]
    fn uploaded_keys_need_every_field() {
        let raw = |s: &str| RawJsonValue::from_string(s.to_owned()).unwrap();
        let full = raw(
            r#"{"first_message_index":1,"forwarded_count":0,"is_verified":true,"session_data":{"mac":"m"}}"#,
        );
        let parsed = parse_key("!r:x", "s", &full).unwrap();
        assert_eq!(parsed.session_data, r#"{"mac":"m"}"#);
        assert!(parsed.is_verified);
        let missing = raw(r#"{"first_message_index":1,"is_verified":true,"session_data":{}}"#);
        assert_eq!(
            parse_key("!r:x", "s", &missing).unwrap_err().errcode(),
            "M_BAD_JSON"
        );
        let negative = raw(
            r#"{"first_message_index":-1,"forwarded_count":0,"is_verified":true,"session_data":{}}"#,
        );
        assert!(parse_key("!r:x", "s", &negative).is_err());
    }
}
