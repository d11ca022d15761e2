//! Building a new event on a room snapshot: auth events, event ID, authorization rules, and
//! applying redactions.

use ruma::canonical_json::{redact, to_canonical_value, CanonicalJsonValue, RedactedBecause};
use ruma::events::{StateEventType, TimelineEventType};
use ruma::state_res::{auth_types_for_event, check_state_dependent_auth_rules};
use ruma::{EventId, MilliSecondsSinceUnixEpoch, OwnedEventId, UInt, UserId};
use schulhof_store::{Db, EventRow, Tx};
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{Map, Value};

use super::RoomSnapshot;
use crate::service::rooms::pdu::Pdu;
use crate::{Error, Result};

/// What a client (or the server on its behalf) wants to send.
#[derive(Debug, Clone)]
pub struct EventTemplate {
    /// Event type.
    pub kind: String,
    /// Content.
    pub content: Value,
    /// State key for state events.
    pub state_key: Option<String>,
    /// For redactions: the event being redacted.
    pub redacts: Option<OwnedEventId>,
}

impl EventTemplate {
    /// A state event.
    pub fn state(kind: &str, state_key: &str, content: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            content,
            state_key: Some(state_key.to_owned()),
            redacts: None,
        }
    }

    /// A message-like event.
    pub fn message(kind: &str, content: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            content,
            state_key: None,
            redacts: None,
        }
    }

    /// For an `m.room.member` event, the user it is about (its state key).
    pub fn member_target(&self) -> Option<&str> {
        (self.kind == "m.room.member")
            .then_some(self.state_key.as_deref())
            .flatten()
    }
}

/// Largest event, in bytes of its JSON without `unsigned` (the spec's size limit).
const MAX_EVENT_BYTES: usize = 65_536;

/// Longest event type and state key, in bytes (the spec's size limits).
const MAX_KEY_BYTES: usize = 255;

/// The largest integer canonical JSON allows (2^53 − 1); its negative is the smallest.
const MAX_CANONICAL_INT: i64 = (1 << 53) - 1;

/// Refuses what no event may hold, whichever path it came by: a type or state key over 255
/// bytes (400 `M_INVALID_PARAM`), content that is not a JSON object or not canonical JSON
/// (floats, integers beyond ±(2^53 − 1)), power levels of the wrong shape (400
/// `M_BAD_JSON`).
fn check_template(template: &EventTemplate) -> Result<()> {
    let too_long = |what: &str| {
        Error::InvalidParam(crate::text!(
            "{} ist zu lang (höchstens {} Bytes).",
            "{} is too long (at most {} bytes).",
            what,
            MAX_KEY_BYTES
        ))
    };
    if template.kind.len() > MAX_KEY_BYTES {
        return Err(too_long("type"));
    }
    if template
        .state_key
        .as_ref()
        .is_some_and(|k| k.len() > MAX_KEY_BYTES)
    {
        return Err(too_long("state_key"));
    }
    if !template.content.is_object() {
        return Err(Error::bad_json(
            "Der Inhalt muss ein JSON-Objekt sein.",
            "Content must be a JSON object.",
        ));
    }
    check_canonical(&template.content)?;
    if template.kind == "m.room.power_levels" {
        check_power_levels(&template.content)?;
    }
    Ok(())
}

/// 400 `M_BAD_JSON` unless `value` is canonical JSON: every number an integer within
/// ±(2^53 − 1).
fn check_canonical(value: &Value) -> Result<()> {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) if (-MAX_CANONICAL_INT..=MAX_CANONICAL_INT).contains(&i) => Ok(()),
            _ => Err(Error::bad_json(
                format!("{n} ist keine erlaubte Zahl: nur ganze Zahlen bis ±{MAX_CANONICAL_INT}."),
                format!("{n} is not allowed: only integers up to ±{MAX_CANONICAL_INT}."),
            )),
        },
        Value::Array(items) => items.iter().try_for_each(check_canonical),
        Value::Object(fields) => fields.values().try_for_each(check_canonical),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

/// 400 `M_BAD_JSON` unless `content` has the shape of (a part of) `m.room.power_levels`
/// content: an object whose levels are integers, whose `events` and `notifications` map
/// names to integers and whose `users` maps user IDs to integers.
pub(crate) fn check_power_levels(content: &Value) -> Result<()> {
    let bad = |what: &str| {
        Error::BadJson(crate::text!(
            "Ungültige Berechtigungsstufen: {}.",
            "Invalid power levels: {}.",
            what
        ))
    };
    let Some(fields) = content.as_object() else {
        return Err(bad("kein JSON-Objekt / not a JSON object"));
    };
    let integers = |key: &str, value: &Value, keys_are_users: bool| -> Result<()> {
        let Some(map) = value.as_object() else {
            return Err(bad(key));
        };
        for (name, level) in map {
            if !level.is_i64() || (keys_are_users && UserId::parse(name).is_err()) {
                return Err(bad(&format!("{key}.{name}")));
            }
        }
        Ok(())
    };
    for (key, value) in fields {
        match key.as_str() {
            "users" => integers(key, value, true)?,
            "events" | "notifications" => integers(key, value, false)?,
            "ban" | "kick" | "redact" | "invite" | "state_default" | "events_default"
            | "users_default" | "historical"
                if !value.is_i64() =>
            {
                return Err(bad(key));
            }
            _ => {}
        }
    }
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// Builds an event from `template` on top of `room` and checks it against the authorization
/// rules of the room's version. Refusals are 403 `M_FORBIDDEN`.
pub fn build_and_authorize(
    room: &RoomSnapshot,
    sender: &UserId,
    template: EventTemplate,
    now: i64,
    encryption_allowed: bool,
) -> Result<Pdu> {
    check_template(&template)?;
    let kind = TimelineEventType::from(template.kind.as_str());
    if kind == TimelineEventType::RoomEncryption && !encryption_allowed {
        return Err(Error::forbidden(
            "Verschlüsselte Räume sind auf diesem Server abgeschaltet.",
            "Encrypted rooms are disabled on this server.",
        ));
    }
    let mut content = template.content;
    let mut redacts = None;
    if let Some(target) = template.redacts {
        if room.rules.redaction.content_field_redacts {
            content["redacts"] = Value::String(target.to_string());
        } else {
            redacts = Some(target);
        }
    }
    let content: Box<RawValue> = to_raw_value(&content).map_err(internal)?;

    let auth_types = auth_types_for_event(
        &kind,
        sender,
        template.state_key.as_deref(),
        &content,
        &room.rules.authorization,
    )
    .map_err(|e| {
        Error::bad_json(
            format!("Ungültiger Ereignisinhalt: {e}"),
            format!("Invalid event content: {e}"),
        )
    })?;
    let auth_events = auth_types
        .iter()
        .filter_map(|(t, k)| room.get_typed(t, k).map(|p| p.event_id.clone()))
        .collect();

    let mut unsigned = Map::new();
    if let Some(key) = &template.state_key {
        if let Some(prev) = room.get(template.kind.as_str(), key) {
            unsigned.insert("prev_content".into(), prev.content_value());
            unsigned.insert("prev_sender".into(), Value::String(prev.sender.to_string()));
            unsigned.insert(
                "replaces_state".into(),
                Value::String(prev.event_id.to_string()),
            );
        }
    }

    let mut pdu = Pdu {
        event_id: EventId::parse("$pending").map_err(internal)?,
        room_id: room.room_id.clone(),
        sender: sender.to_owned(),
        origin_server_ts: MilliSecondsSinceUnixEpoch(
            UInt::try_from(now as u64).unwrap_or_default(),
        ),
        kind,
        content,
        state_key: template.state_key,
        prev_events: room.last_event.iter().cloned().collect(),
        auth_events,
        depth: UInt::try_from(room.depth + 1).map_err(internal)?,
        redacts,
        unsigned: Map::new(),
    };
    pdu.event_id = event_id(&pdu, room)?;
    let size = serde_json::to_vec(&pdu).map_err(internal)?.len();
    if size > MAX_EVENT_BYTES {
        return Err(Error::TooLarge);
    }

    if pdu.kind != TimelineEventType::RoomCreate {
        check_state_dependent_auth_rules(
            &room.rules.authorization,
            &pdu,
            |t: &StateEventType, k: &str| room.get_typed(t, k).map(|p| p.as_ref()),
        )
        .map_err(|reason| {
            tracing::debug!(%reason, "event refused by the authorization rules");
            Error::AuthRules(crate::text!(
                "Das ist in diesem Raum nicht erlaubt ({}).",
                "This is not allowed in this room ({}).",
                reason
            ))
        })?;
    }
    pdu.unsigned = unsigned;
    Ok(pdu)
}

/// The event ID: `$` and the unpadded URL-safe base64 of the event's reference hash.
fn event_id(pdu: &Pdu, room: &RoomSnapshot) -> Result<OwnedEventId> {
    let value = to_canonical_value(pdu).map_err(internal)?;
    let CanonicalJsonValue::Object(mut object) = value else {
        return Err(internal("event is not an object"));
    };
    object.remove("event_id");
    object.remove("unsigned");
    let hash = ruma::signatures::reference_hash(&object, &room.rules).map_err(internal)?;
    EventId::parse(format!("${hash}")).map_err(internal)
}

/// Redacts `target` in storage (and in the snapshot if it is current state) because of
/// `redaction`. Only the sender of the target or someone with the `redact` power may redact.
/// Returns the redacted event as now stored (`None` if it is not in this room).
pub async fn apply_redaction(
    db: &Db,
    tx: &mut Tx,
    room: &mut RoomSnapshot,
    target: &EventId,
    redaction: &Pdu,
) -> Result<Option<EventRow>> {
    let Some(row) = db.event(target.as_str()).await? else {
        return Ok(None);
    };
    if row.room_id != room.room_id.as_str() {
        return Ok(None);
    }
    if row.sender != redaction.sender.as_str()
        && !room
            .power_levels()
            .user_can_redact_event_of_other(&redaction.sender)
    {
        return Err(Error::forbidden(
            "Löschen lassen sich nur die eigenen Nachrichten.",
            "You may only redact your own events.",
        ));
    }
    let stored: Value = serde_json::from_str(&row.json).map_err(internal)?;
    let CanonicalJsonValue::Object(object) = to_canonical_value(&stored).map_err(internal)? else {
        return Err(internal("stored event is not an object"));
    };
    let CanonicalJsonValue::Object(because) = to_canonical_value(redaction).map_err(internal)?
    else {
        return Err(internal("redaction is not an object"));
    };
    let mut redacted = redact(
        object,
        &room.rules.redaction,
        Some(RedactedBecause::from_json(because)),
    )
    .map_err(internal)?;
    // Keep what the client format needs that redaction algorithms drop.
    redacted.insert(
        "event_id".into(),
        CanonicalJsonValue::String(row.event_id.clone()),
    );
    let json = serde_json::to_string(&redacted).map_err(internal)?;
    Db::replace_event_json(tx, &row.event_id, &json).await?;
    let redacted = EventRow { json, ..row };
    if let Some(key) = redacted.state_key.clone() {
        let current = room
            .get(&redacted.event_type, &key)
            .is_some_and(|p| p.event_id.as_str() == redacted.event_id);
        if current {
            let pdu = super::Rooms::parse(&redacted.json)?;
            room.set_state(&redacted.event_type, key, pdu);
            room.record_stored(redacted.clone());
        }
    }
    Ok(Some(redacted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errcode(template: EventTemplate) -> &'static str {
        check_template(&template).map_or_else(|e| e.errcode(), |()| "ok")
    }

    #[test]
    fn content_must_be_canonical_json() {
        let message = |content| errcode(EventTemplate::message("m.room.message", content));
        assert_eq!(message(json!({ "n": 9_007_199_254_740_991_i64 })), "ok");
        assert_eq!(message(json!({ "n": -9_007_199_254_740_991_i64 })), "ok");
        assert_eq!(
            message(json!({ "n": 9_007_199_254_740_992_i64 })),
            "M_BAD_JSON"
        );
        assert_eq!(message(json!({ "n": u64::MAX })), "M_BAD_JSON");
        assert_eq!(message(json!({ "a": [{ "b": 1.5 }] })), "M_BAD_JSON");
        assert_eq!(message(json!([1, 2])), "M_BAD_JSON");
        assert_eq!(message(json!("text")), "M_BAD_JSON");
    }

    #[test]
    fn types_and_state_keys_have_at_most_255_bytes() {
        let long = "x".repeat(256);
        let ok = "x".repeat(255);
        assert_eq!(errcode(EventTemplate::message(&ok, json!({}))), "ok");
        assert_eq!(
            errcode(EventTemplate::message(&long, json!({}))),
            "M_INVALID_PARAM"
        );
        assert_eq!(
            errcode(EventTemplate::state("m.x", &long, json!({}))),
            "M_INVALID_PARAM"
        );
    }

    #[test]
    fn power_levels_must_have_their_shape() {
        let levels = |content| errcode(EventTemplate::state("m.room.power_levels", "", content));
        assert_eq!(
            levels(json!({ "users": { "@a:s": 100 }, "events": { "m.room.name": 50 }, "ban": 50 })),
            "ok"
        );
        for bad in [
            json!({ "users": "@a:s" }),
            json!({ "users": { "@a:s": "100" } }),
            json!({ "users": { "a": 100 } }),
            json!({ "events": { "m.room.name": "50" } }),
            json!({ "ban": "50" }),
            json!({ "notifications": { "room": null } }),
        ] {
            assert_eq!(levels(bad.clone()), "M_BAD_JSON", "{bad}");
        }
        assert!(check_power_levels(&json!([{ "users": {} }])).is_err());
    }
}
