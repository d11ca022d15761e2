//! End-to-end encryption plumbing: device and cross-signing keys, one-time keys, signatures,
//! device list changes and to-device messages.
//!
//! The server never sees plaintext: it stores the clients' key objects as uploaded and hands
//! them out again. Signatures uploaded later (`/keys/signatures/upload`) live in their own
//! table and are merged into the key objects when they are queried.
//!
//! For `/sync`: [`to_device_for_sync`], [`device_lists_for_sync`], [`one_time_key_counts`] and
//! [`unused_fallback_key_types`] produce the `to_device`, `device_lists`,
//! `device_one_time_keys_count` and `device_unused_fallback_key_types` sections;
//! [`parse_stream_pos`] reads the stream position out of a sync token.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ruma::UserId;
use schulhof_policy::Channel;
use schulhof_store::{Db, KeySignatureRow, NewToDevice, OneTimeKeyRow};
use serde_json::{json, Map, Value};

use crate::ruma_wrapper::Session;
use crate::service::school::reach::Contacts;
use crate::service::write::activity::UserStream;
use crate::state::AppState;
use crate::{Error, Result};

/// The three kinds of cross-signing keys: (upload request field, usage and key type in the
/// store, `/keys/query` response field).
const CROSS_SIGNING_KINDS: [(&str, &str, &str); 3] = [
    ("master_key", "master", "master_keys"),
    ("self_signing_key", "self_signing", "self_signing_keys"),
    ("user_signing_key", "user_signing", "user_signing_keys"),
];

/// The stream position in a sync token `s{pos}_{...}` (also accepts a bare `s{pos}`).
pub fn parse_stream_pos(token: &str) -> Option<i64> {
    let rest = token.strip_prefix('s')?;
    let digits = rest.split('_').next()?;
    digits.parse().ok().filter(|pos| *pos >= 0)
}

/// Records that `user_id`'s device list changed and wakes everyone who shares a room with them.
pub async fn device_list_changed(state: &AppState, user_id: &UserId) -> Result<()> {
    let mut users = state.db.users_sharing_room(user_id.as_str()).await?;
    users.push(user_id.to_string());
    state
        .writer
        .commit(state, async |c| {
            let pos = c.next_pos();
            Db::insert_device_list_change(c.tx(), user_id.as_str(), pos).await?;
            c.effects()
                .device_list_changed()
                .wake(users.iter().map(String::as_str));
            Ok(())
        })
        .await
}

/// To-device messages for a device with `since < pos <= until`, each as
/// `{sender, type, content}`, oldest first. Messages with `pos <= since` are deleted: a client
/// syncing from `since` has received them.
pub async fn to_device_for_sync(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
    since: i64,
    until: i64,
) -> Result<Vec<Value>> {
    if !state
        .activity
        .may_have_changed(UserStream::ToDevice, user_id.as_str(), since)
    {
        return Ok(Vec::new());
    }
    let rows = state
        .db
        .to_device_until(user_id.as_str(), device_id, until)
        .await?;
    // Later messages record themselves, so `until` bounds the last change from above.
    state
        .activity
        .record(UserStream::ToDevice, user_id.as_str(), until);
    if rows.first().is_some_and(|r| r.stream_pos <= since) {
        state
            .db
            .delete_to_device(user_id.as_str(), device_id, since)
            .await?;
    }
    Ok(rows
        .into_iter()
        .filter(|r| r.stream_pos > since)
        .map(|r| json!({ "sender": r.sender, "type": r.event_type, "content": parse_stored(&r.content) }))
        .collect())
}

/// The `device_lists` of an incremental sync (or of `/keys/changes`): `changed` holds users
/// sharing a joined room with `user_id` (or the user themself) whose device list changed in
/// `(since, until]`, and those who started to share a room with them; `left` those who no
/// longer share any room with them after a leave in that window. Both are empty for an
/// initial sync (`since == 0`).
pub async fn device_lists_for_sync(
    state: &AppState,
    user_id: &UserId,
    since: i64,
    until: i64,
) -> Result<(Vec<String>, Vec<String>)> {
    if since == 0 || until <= since || !state.activity.device_lists_may_have_changed(since) {
        return Ok((Vec::new(), Vec::new()));
    }
    let changed: BTreeSet<String> = state
        .db
        .device_list_changes_since(user_id.as_str(), since, until)
        .await?
        .into_iter()
        .collect();
    let partings = state
        .db
        .room_partings_since(user_id.as_str(), since, until)
        .await?;
    let left = if partings.is_empty() {
        Vec::new()
    } else {
        let shared: BTreeSet<String> = state
            .db
            .users_sharing_room(user_id.as_str())
            .await?
            .into_iter()
            .collect();
        let left: BTreeSet<String> = partings
            .into_iter()
            .filter(|u| u != user_id.as_str() && !shared.contains(u))
            .collect();
        left.into_iter().collect()
    };
    Ok((changed.into_iter().collect(), left))
}

/// Unclaimed one-time keys of a device per algorithm; `signed_curve25519` is always present.
pub async fn one_time_key_counts(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
) -> Result<Map<String, Value>> {
    let mut counts = Map::new();
    counts.insert("signed_curve25519".into(), json!(0));
    for (algorithm, count) in state
        .db
        .one_time_key_counts(user_id.as_str(), device_id)
        .await?
    {
        counts.insert(algorithm, json!(count));
    }
    Ok(counts)
}

/// Algorithms for which the device has an unused fallback key.
pub async fn unused_fallback_key_types(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
) -> Result<Vec<String>> {
    Ok(state
        .db
        .unused_fallback_key_algorithms(user_id.as_str(), device_id)
        .await?)
}

/// Parses JSON the server stored itself.
fn parse_stored(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|_| json!({}))
}

fn to_json(value: &Value) -> String {
    value.to_string()
}

/// Splits `<algorithm>:<id>` into the algorithm.
fn key_algorithm(key_id: &str) -> Option<&str> {
    key_id
        .split_once(':')
        .map(|(algorithm, _)| algorithm)
        .filter(|a| !a.is_empty())
}

/// One-time or fallback keys of an upload as store rows.
fn key_rows(keys: Option<&Value>) -> Result<Vec<OneTimeKeyRow>> {
    let Some(keys) = keys.and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    keys.iter()
        .map(|(key_id, key)| {
            let algorithm = key_algorithm(key_id).ok_or_else(|| {
                Error::invalid_param(
                    format!("Ungültige Schlüssel-ID: {key_id}"),
                    format!("Invalid key ID: {key_id}"),
                )
            })?;
            Ok(OneTimeKeyRow {
                key_id: key_id.clone(),
                algorithm: algorithm.to_owned(),
                json: to_json(key),
            })
        })
        .collect()
}

/// `POST /keys/upload`: stores the device's identity, one-time and fallback keys and returns
/// the one-time key counts. New identity keys are a device list change.
pub async fn upload_keys(
    state: &AppState,
    session: &Session,
    body: &Value,
) -> Result<Map<String, Value>> {
    let (user_id, device_id) = (session.user_id.as_str(), session.device_id.as_str());
    if let Some(keys) = body.get("device_keys").filter(|k| k.is_object()) {
        if keys.get("user_id").and_then(Value::as_str) != Some(user_id)
            || keys.get("device_id").and_then(Value::as_str) != Some(device_id)
        {
            return Err(Error::invalid_param(
                "Die Geräteschlüssel gehören nicht zu diesem Gerät.",
                "The device keys do not belong to this device.",
            ));
        }
        let stored = state
            .db
            .device_keys(user_id, device_id)
            .await?
            .map(|json| parse_stored(&json));
        if stored.as_ref() != Some(keys) {
            // New identity keys (also on a re-used device ID) invalidate old signatures.
            let new_identity = stored.is_none_or(|s| s.get("keys") != keys.get("keys"));
            state
                .db
                .put_device_keys(user_id, device_id, &to_json(keys), new_identity)
                .await?;
            device_list_changed(state, &session.user_id).await?;
        }
    }
    let one_time = key_rows(body.get("one_time_keys"))?;
    if !one_time.is_empty() {
        state
            .db
            .add_one_time_keys(user_id, device_id, &one_time)
            .await?;
    }
    let fallback = key_rows(body.get("fallback_keys"))?;
    if !fallback.is_empty() {
        state
            .db
            .put_fallback_keys(user_id, device_id, &fallback)
            .await?;
    }
    // After the writes: a sync that loaded the counts meanwhile does not keep them.
    state.key_counts.invalidate(user_id, device_id);
    one_time_key_counts(state, &session.user_id, device_id).await
}

/// Adds `signatures` to a key object's `signatures` property.
fn merge_signatures<'a>(
    key: &mut Value,
    signatures: impl IntoIterator<Item = &'a KeySignatureRow>,
) {
    let Some(object) = key.as_object_mut() else {
        return;
    };
    for s in signatures {
        let all = object.entry("signatures").or_insert_with(|| json!({}));
        if let Some(all) = all.as_object_mut() {
            let by_signer = all
                .entry(s.signer_user_id.clone())
                .or_insert_with(|| json!({}));
            if let Some(by_signer) = by_signer.as_object_mut() {
                by_signer.insert(s.signer_key_id.clone(), Value::String(s.signature.clone()));
            }
        }
    }
}

/// The public key of a cross-signing key object: the `<id>` of its `ed25519:<id>` key.
fn public_key(key: &Value) -> Option<&str> {
    key.get("keys")?
        .as_object()?
        .keys()
        .next()?
        .strip_prefix("ed25519:")
}

/// Whether `user_id` is someone `contacts` may fetch keys of (people one may not reach are
/// answered for like unknown users: without keys).
async fn keys_reachable(contacts: &Contacts<'_>, user_id: &str) -> Result<bool> {
    match UserId::parse(user_id) {
        Ok(user_id) => contacts.allows(&user_id, Channel::Keys).await,
        Err(_) => Ok(false),
    }
}

/// `POST /keys/query`: device keys of the requested users (all devices for an empty list) and
/// their cross-signing keys, with the signatures `viewer` may see. Device display names are
/// only shown to their owner. Users `viewer` may not reach get no keys, like unknown users.
pub async fn query_keys(
    state: &AppState,
    viewer: &UserId,
    wanted: &BTreeMap<String, Vec<String>>,
) -> Result<Value> {
    let contacts = Contacts::of(state, viewer);
    let mut device_keys = Map::new();
    let mut cross_signing: HashMap<&str, Map<String, Value>> = HashMap::new();
    for (user_id, devices) in wanted {
        if !keys_reachable(&contacts, user_id).await? {
            device_keys.insert(user_id.clone(), json!({}));
            continue;
        }
        let signatures = state.db.key_signatures(user_id, viewer.as_str()).await?;
        let own = user_id == viewer.as_str();
        let mut user_devices = Map::new();
        for row in state.db.user_device_keys(user_id).await? {
            if !devices.is_empty() && !devices.contains(&row.device_id) {
                continue;
            }
            let mut keys = parse_stored(&row.json);
            merge_signatures(
                &mut keys,
                signatures
                    .iter()
                    .filter(|s| s.target_key_id == row.device_id),
            );
            if let (true, Some(name), Some(object)) = (own, &row.display_name, keys.as_object_mut())
            {
                object.insert("unsigned".into(), json!({ "device_display_name": name }));
            }
            user_devices.insert(row.device_id, keys);
        }
        device_keys.insert(user_id.clone(), Value::Object(user_devices));
        for (key_type, json) in state.db.cross_signing_keys(user_id).await? {
            let Some((_, _, field)) = CROSS_SIGNING_KINDS.iter().find(|(_, t, _)| *t == key_type)
            else {
                continue;
            };
            if key_type == "user_signing" && !own {
                continue;
            }
            let mut key = parse_stored(&json);
            let id = public_key(&key).map(str::to_owned);
            merge_signatures(
                &mut key,
                signatures
                    .iter()
                    .filter(|s| Some(&s.target_key_id) == id.as_ref()),
            );
            cross_signing
                .entry(field)
                .or_default()
                .insert(user_id.clone(), key);
        }
    }
    let mut response = json!({ "device_keys": device_keys, "failures": {} });
    for (field, keys) in cross_signing {
        response[field] = Value::Object(keys);
    }
    Ok(response)
}

/// `POST /keys/claim`: one key per requested device, a one-time key if one is left, the
/// fallback key otherwise. Unknown devices, and devices of users `claimer` may not reach, are
/// missing from the answer.
pub async fn claim_keys(
    state: &AppState,
    claimer: &UserId,
    wanted: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<Value> {
    let contacts = Contacts::of(state, claimer);
    let mut claimed = Map::new();
    for (user_id, devices) in wanted {
        if !keys_reachable(&contacts, user_id).await? {
            continue;
        }
        let mut user_keys = Map::new();
        for (device_id, algorithm) in devices {
            let claimed_key = state.db.claim_key(user_id, device_id, algorithm).await?;
            state.key_counts.invalidate(user_id, device_id);
            if let Some((key_id, json)) = claimed_key {
                user_keys.insert(device_id.clone(), json!({ key_id: parse_stored(&json) }));
            }
        }
        if !user_keys.is_empty() {
            claimed.insert(user_id.clone(), Value::Object(user_keys));
        }
    }
    Ok(json!({ "one_time_keys": claimed, "failures": {} }))
}

/// Checks that a cross-signing key of `kind` (usage) belongs to `user_id` and holds exactly
/// one ed25519 key.
fn check_cross_signing_key(key: &Value, user_id: &UserId, kind: &str) -> Result<()> {
    let owner_ok = key.get("user_id").and_then(Value::as_str) == Some(user_id.as_str());
    let usage_ok = key
        .get("usage")
        .and_then(Value::as_array)
        .is_some_and(|u| u.iter().any(|x| x == kind));
    let one_key = key
        .get("keys")
        .and_then(Value::as_object)
        .is_some_and(|k| k.len() == 1);
    if owner_ok && usage_ok && one_key && public_key(key).is_some() {
        return Ok(());
    }
    Err(Error::invalid_param(
        format!("Ungültiger Cross-Signing-Schlüssel ({kind})."),
        format!("Invalid cross-signing key ({kind})."),
    ))
}

/// `POST /keys/device_signing/upload`: stores the user's cross-signing keys.
///
/// User-interactive authentication is required unless the user has no master key yet or the
/// request brings no new key (an idempotent retry), as the spec allows since v1.11 and Synapse
/// does: Element can then bootstrap cross-signing without asking for the password, while
/// replacing existing keys (a reset) needs it.
pub async fn upload_signing_keys(state: &AppState, user_id: &UserId, body: &Value) -> Result<()> {
    let existing: HashMap<String, Value> = state
        .db
        .cross_signing_keys(user_id.as_str())
        .await?
        .into_iter()
        .map(|(kind, json)| (kind, parse_stored(&json)))
        .collect();
    let mut new_keys = Vec::new();
    for (field, kind, _) in CROSS_SIGNING_KINDS {
        let Some(key) = body.get(field).filter(|k| !k.is_null()) else {
            continue;
        };
        check_cross_signing_key(key, user_id, kind)?;
        if existing.get(kind) != Some(key) {
            new_keys.push((kind, key));
        }
    }
    let has_master = existing.contains_key("master");
    if has_master && !new_keys.is_empty() {
        crate::service::identity::uiaa::require_password(state, user_id.as_str(), Some(body))
            .await?;
    }
    if new_keys.is_empty() {
        return Ok(());
    }
    if !has_master && !new_keys.iter().any(|(kind, _)| *kind == "master") {
        return Err(Error::MissingParam(crate::text!(
            "Es gibt noch keinen Master-Schlüssel.",
            "No master signing key is available."
        )));
    }
    let devices = state.db.devices(user_id.as_str()).await?;
    if new_keys.iter().any(|(_, key)| {
        devices
            .iter()
            .any(|d| Some(d.device_id.as_str()) == public_key(key))
    }) {
        return Err(Error::forbidden(
            "Diese Schlüssel-ID ist schon vergeben.",
            "Key ID in use.",
        ));
    }
    let rows: Vec<(&str, String)> = new_keys
        .iter()
        .map(|(kind, key)| (*kind, to_json(key)))
        .collect();
    state
        .db
        .put_cross_signing_keys(user_id.as_str(), &rows)
        .await?;
    device_list_changed(state, user_id).await
}

/// IDs of the keys of `target` that `signer` may sign: for themself their devices' keys, their
/// master and self-signing key; for others only the master key (with their user-signing key).
async fn signable_keys(
    state: &AppState,
    signer: &UserId,
    target: &str,
) -> Result<BTreeSet<String>> {
    let own = target == signer.as_str();
    let mut ids = BTreeSet::new();
    for (kind, json) in state.db.cross_signing_keys(target).await? {
        if kind == "master" || (own && kind == "self_signing") {
            ids.extend(public_key(&parse_stored(&json)).map(str::to_owned));
        }
    }
    if own {
        ids.extend(
            state
                .db
                .user_device_keys(target)
                .await?
                .into_iter()
                .map(|row| row.device_id),
        );
    }
    Ok(ids)
}

/// The signatures `signer` made over the key `target_key_id` of `target_user`, as found in the
/// uploaded signed key object.
fn signatures_by(
    signed: &Value,
    signer: &UserId,
    target_user: &str,
    target_key_id: &str,
) -> Vec<KeySignatureRow> {
    let by_signer = signed
        .get("signatures")
        .and_then(|s| s.get(signer.as_str()))
        .and_then(Value::as_object);
    let Some(by_signer) = by_signer else {
        return Vec::new();
    };
    by_signer
        .iter()
        .filter_map(|(key_id, signature)| {
            Some(KeySignatureRow {
                target_user_id: target_user.to_owned(),
                target_key_id: target_key_id.to_owned(),
                signer_user_id: signer.to_string(),
                signer_key_id: key_id.clone(),
                signature: signature.as_str()?.to_owned(),
            })
        })
        .collect()
}

/// `POST /keys/signatures/upload`: stores the signatures `signer` made over keys of theirs or
/// of others and returns the `failures` map (keys that are unknown or may not be signed).
/// Signatures are not verified here; clients verify them when they use them.
pub async fn upload_signatures(
    state: &AppState,
    signer: &UserId,
    body: &Value,
) -> Result<Map<String, Value>> {
    let mut rows = Vec::new();
    let mut failures = Map::new();
    let mut changed = BTreeSet::new();
    let unknown = crate::text!("Unbekannter Schlüssel.", "Unknown key.");
    for (target_user, keys) in body.as_object().into_iter().flatten() {
        let signable = signable_keys(state, signer, target_user).await?;
        for (key_id, signed) in keys.as_object().into_iter().flatten() {
            if !signable.contains(key_id) {
                let failure = json!({ "errcode": "M_NOT_FOUND", "error": unknown.get(state.config.language) });
                let user_failures = failures
                    .entry(target_user.clone())
                    .or_insert_with(|| json!({}));
                user_failures[key_id] = failure;
                continue;
            }
            let signatures = signatures_by(signed, signer, target_user, key_id);
            if !signatures.is_empty() {
                rows.extend(signatures);
                changed.insert(target_user.clone());
            }
        }
    }
    if !rows.is_empty() {
        state.db.put_key_signatures(&rows).await?;
    }
    for user_id in changed {
        if let Ok(user_id) = UserId::parse(&user_id) {
            device_list_changed(state, &user_id).await?;
        }
    }
    Ok(failures)
}

/// The devices a to-device request addresses, `(user, device) → content`: `*` means every
/// device of the user; a message for a named device wins over one for `*`. Unknown devices
/// are skipped.
async fn to_device_targets(
    state: &AppState,
    messages: &Map<String, Value>,
) -> Result<BTreeMap<(String, String), String>> {
    let mut targets = BTreeMap::new();
    for (user_id, by_device) in messages {
        let Some(by_device) = by_device.as_object() else {
            continue;
        };
        let devices: Vec<String> = state
            .db
            .devices(user_id)
            .await?
            .into_iter()
            .map(|d| d.device_id)
            .collect();
        if let Some(content) = by_device.get("*") {
            for device_id in &devices {
                targets.insert((user_id.clone(), device_id.clone()), to_json(content));
            }
        }
        for (device_id, content) in by_device.iter().filter(|(d, _)| devices.contains(d)) {
            targets.insert((user_id.clone(), device_id.clone()), to_json(content));
        }
    }
    Ok(targets)
}

/// `PUT /sendToDevice/{eventType}/{txnId}`: stores the messages at one stream position and
/// wakes the recipients. A transaction ID the sending device already used is a no-op. Every
/// recipient must be someone the sender may reach (`Channel::ToDevice`): otherwise 403 with
/// the school's rule and nothing is stored.
pub async fn send_to_device(
    state: &AppState,
    session: &Session,
    event_type: &str,
    txn_id: &str,
    messages: &Map<String, Value>,
) -> Result<()> {
    let contacts = Contacts::of(state, &session.user_id);
    for user_id in messages.keys() {
        let user_id = UserId::parse(user_id).map_err(|_| {
            Error::invalid_param(
                format!("Ungültige Benutzer-ID: {user_id}"),
                format!("Invalid user ID: {user_id}"),
            )
        })?;
        contacts.require(&user_id, Channel::ToDevice).await?;
    }
    let targets = to_device_targets(state, messages).await?;
    let rows: Vec<NewToDevice> = targets
        .iter()
        .map(|((user_id, device_id), content)| NewToDevice {
            user_id,
            device_id,
            content,
        })
        .collect();
    let sender = session.user_id.as_str();
    let recipients: BTreeSet<&str> = targets
        .keys()
        .map(|(user_id, _)| user_id.as_str())
        .collect();
    let now = state.clock.now_ms();
    state
        .writer
        .commit(state, async |c| {
            let pos = c.next_pos();
            if !Db::remember_to_device_txn(c.tx(), sender, session.device_id.as_str(), txn_id, now)
                .await?
            {
                return Ok(());
            }
            Db::insert_to_device(c.tx(), sender, event_type, &rows, pos).await?;
            for user_id in &recipients {
                c.effects().user_stream(UserStream::ToDevice, user_id);
            }
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> ruma::OwnedUserId {
        UserId::parse("@alice:schule.de").unwrap()
    }

    #[test]
    fn stream_positions_are_read_from_sync_tokens() {
        assert_eq!(parse_stream_pos("s42_7"), Some(42));
        assert_eq!(parse_stream_pos("s42"), Some(42));
        assert_eq!(parse_stream_pos("s0_0"), Some(0));
        assert_eq!(parse_stream_pos("42_7"), None);
        assert_eq!(parse_stream_pos("s_7"), None);
        assert_eq!(parse_stream_pos("s-1_0"), None);
        assert_eq!(parse_stream_pos("sx_1"), None);
    }

    #[test]
    fn key_ids_name_their_algorithm() {
        assert_eq!(
            key_algorithm("signed_curve25519:AAAAHg"),
            Some("signed_curve25519")
        );
        assert_eq!(key_algorithm("AAAAHg"), None);
        assert_eq!(key_algorithm(":AAAAHg"), None);
        let rows = key_rows(Some(&json!({ "signed_curve25519:A": { "key": "k" } }))).unwrap();
        assert_eq!(rows[0].algorithm, "signed_curve25519");
        assert_eq!(rows[0].key_id, "signed_curve25519:A");
        assert!(key_rows(Some(&json!({ "nocolon": {} }))).is_err());
        assert!(key_rows(None).unwrap().is_empty());
    }

    #[test]
    fn signatures_are_merged_into_key_objects() {
        let mut key =
            json!({ "keys": {}, "signatures": { "@alice:schule.de": { "ed25519:DEV": "self" } } });
        let extra = KeySignatureRow {
            target_user_id: "@alice:schule.de".into(),
            target_key_id: "DEV".into(),
            signer_user_id: "@alice:schule.de".into(),
            signer_key_id: "ed25519:SSK".into(),
            signature: "cross".into(),
        };
        let other = KeySignatureRow {
            signer_user_id: "@bob:schule.de".into(),
            signer_key_id: "ed25519:USK".into(),
            ..extra.clone()
        };
        merge_signatures(&mut key, [&extra, &other]);
        assert_eq!(key["signatures"]["@alice:schule.de"]["ed25519:DEV"], "self");
        assert_eq!(
            key["signatures"]["@alice:schule.de"]["ed25519:SSK"],
            "cross"
        );
        assert_eq!(key["signatures"]["@bob:schule.de"]["ed25519:USK"], "cross");
        let mut bare = json!({ "keys": {} });
        merge_signatures(&mut bare, [&extra]);
        assert_eq!(
            bare["signatures"]["@alice:schule.de"]["ed25519:SSK"],
            "cross"
        );
    }

    #[test]
    fn cross_signing_keys_are_checked() {
        let master = json!({ "user_id": "@alice:schule.de", "usage": ["master"], "keys": { "ed25519:PUB": "PUB" } });
        assert_eq!(public_key(&master), Some("PUB"));
        assert!(check_cross_signing_key(&master, &alice(), "master").is_ok());
        assert!(check_cross_signing_key(&master, &alice(), "self_signing").is_err());
        let bob = UserId::parse("@bob:schule.de").unwrap();
        assert!(check_cross_signing_key(&master, &bob, "master").is_err());
        let two = json!({ "user_id": "@alice:schule.de", "usage": ["master"], "keys": { "ed25519:A": "A", "ed25519:B": "B" } });
        assert!(check_cross_signing_key(&two, &alice(), "master").is_err());
        let curve = json!({ "user_id": "@alice:schule.de", "usage": ["master"], "keys": { "curve25519:A": "A" } });
        assert!(check_cross_signing_key(&curve, &alice(), "master").is_err());
    }

    #[test]
    fn only_the_signers_own_signatures_are_taken() {
        let signed = json!({ "signatures": {
            "@alice:schule.de": { "ed25519:SSK": "sig", "ed25519:BAD": 5 },
            "@mallory:schule.de": { "ed25519:X": "forged" },
        } });
        let rows = signatures_by(&signed, &alice(), "@alice:schule.de", "DEV");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].target_key_id.as_str(),
                rows[0].signer_key_id.as_str()
            ),
            ("DEV", "ed25519:SSK")
        );
        assert!(signatures_by(&json!({}), &alice(), "@alice:schule.de", "DEV").is_empty());
    }
}
