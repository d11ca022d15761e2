//! The stored form of a room event (PDU) and its conversion to the client format.

use ruma::events::TimelineEventType;
use ruma::{
    EventId, MilliSecondsSinceUnixEpoch, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UInt,
    UserId,
};
use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A room event as the server stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pdu {
    /// Event ID (the reference hash, for room versions 4 and later).
    pub event_id: OwnedEventId,
    /// Room ID.
    pub room_id: OwnedRoomId,
    /// Sender.
    pub sender: OwnedUserId,
    /// When the server accepted the event.
    pub origin_server_ts: MilliSecondsSinceUnixEpoch,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: TimelineEventType,
    /// Event content.
    pub content: Box<RawValue>,
    /// State key, for state events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_key: Option<String>,
    /// The previous event in the room (one server: a linear chain).
    pub prev_events: Vec<OwnedEventId>,
    /// The state events that authorise this one.
    pub auth_events: Vec<OwnedEventId>,
    /// Depth in the room's event graph.
    pub depth: UInt,
    /// Top-level `redacts` (room versions up to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacts: Option<OwnedEventId>,
    /// Server-added data: `prev_content`, `prev_sender`, `replaces_state`, `redacted_because`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub unsigned: Map<String, Value>,
}

impl Pdu {
    /// Parses a stored event.
    pub fn from_json(json: &str) -> serde_json::Result<Pdu> {
        serde_json::from_str(json)
    }

    /// The content as a JSON value.
    pub fn content_value(&self) -> Value {
        serde_json::from_str(self.content.get()).unwrap_or(Value::Object(Map::new()))
    }

    /// The event this one redacts: top-level `redacts` or, from room version 11, `content.redacts`.
    pub fn redacted_event(&self) -> Option<OwnedEventId> {
        if self.kind != TimelineEventType::RoomRedaction {
            return None;
        }
        self.redacts.clone().or_else(|| {
            self.content_value()
                .get("redacts")
                .and_then(Value::as_str)
                .and_then(|s| EventId::parse(s).ok())
        })
    }

    /// The content's relation: see [`relation_of`].
    pub fn relation(&self) -> Option<(String, String)> {
        relation_of(self.content.get())
    }
}

/// The relation of an event `content` (JSON text): `m.relates_to` with `event_id` and
/// `rel_type` (a thread, an edit, an annotation, a reference), as `(event ID, rel_type)`.
/// Replies alone (`m.in_reply_to`) are no relation in the sense of `/relations`.
fn relation_of(content: &str) -> Option<(String, String)> {
    #[derive(Deserialize)]
    struct Content {
        #[serde(rename = "m.relates_to")]
        relates_to: Option<RelatesTo>,
    }
    #[derive(Deserialize)]
    struct RelatesTo {
        event_id: Option<String>,
        rel_type: Option<String>,
    }
    let relates_to = serde_json::from_str::<Content>(content).ok()?.relates_to?;
    Some((relates_to.event_id?, relates_to.rel_type?))
}

/// The fields of a stored event that the client format keeps, borrowed from the stored text:
/// the content and the other values are copied over as they are, not parsed into values
/// (the hash, signatures and the event graph are skipped).
#[derive(Deserialize)]
struct StoredFields<'a> {
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(borrow)]
    event_id: Option<&'a RawValue>,
    origin_server_ts: Option<i64>,
    #[serde(borrow)]
    redacts: Option<&'a RawValue>,
    #[serde(borrow)]
    room_id: Option<&'a RawValue>,
    #[serde(borrow)]
    sender: Option<Cow<'a, str>>,
    #[serde(borrow)]
    state_key: Option<&'a RawValue>,
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    unsigned: Option<Map<String, Value>>,
}

/// `content.redacts`, where room version 11 keeps it.
#[derive(Deserialize)]
struct ContentRedacts<'a> {
    #[serde(borrow)]
    redacts: Option<&'a RawValue>,
}

/// Turns a stored event (PDU JSON) into the client format, as JSON text.
///
/// `room_id` is kept for `/messages`, `/event` and friends and dropped in `/sync`;
/// `transaction_id` is added only for the device that sent the event, the `delay_id` of a sent
/// delayed event (`org.matrix.msc4140.delay_id`) only for its sender. Keys come in sorted
/// order. A stored text that is not an event gives an event with only `unsigned`.
pub fn client_event_text(
    pdu_json: &str,
    with_room_id: bool,
    for_device: Option<(&UserId, &str)>,
    txn: (Option<&str>, Option<&str>),
    now: i64,
) -> String {
    let Ok(pdu) = serde_json::from_str::<StoredFields>(pdu_json) else {
        return r#"{"unsigned":{"age":0}}"#.to_owned();
    };
    // Room version 11 keeps `redacts` in the content; clients still read it at the top level too.
    let redacts = pdu.redacts.or_else(|| {
        let content = pdu
            .content
            .filter(|_| pdu.kind.as_deref() == Some("m.room.redaction"))?;
        serde_json::from_str::<ContentRedacts>(content.get())
            .ok()?
            .redacts
    });
    let mut unsigned = pdu.unsigned.unwrap_or_default();
    let ts = pdu.origin_server_ts.unwrap_or(now);
    unsigned.insert("age".into(), Value::from((now - ts).max(0)));
    if let (Some((user, device)), (Some(txn_device), Some(txn_id))) = (for_device, txn) {
        if pdu.sender.as_deref() == Some(user.as_str()) {
            if txn_device == device {
                unsigned.insert("transaction_id".into(), Value::from(txn_id));
            } else if txn_device == crate::service::delayed::TXN_DEVICE {
                // A sent delayed event (MSC4140) tells its sender which one it was.
                unsigned.insert("org.matrix.msc4140.delay_id".into(), Value::from(txn_id));
            }
        }
    }
    let json = |value: &str| serde_json::to_string(value).unwrap_or_default();
    let unsigned = serde_json::to_string(&unsigned).unwrap_or_default();
    let ts = pdu.origin_server_ts.map(|ts| ts.to_string());
    let mut out = ObjectText::with_capacity(pdu_json.len() + unsigned.len());
    out.field("content", pdu.content.map(RawValue::get));
    out.field("event_id", pdu.event_id.map(RawValue::get));
    out.field("origin_server_ts", ts.as_deref());
    out.field("redacts", redacts.map(RawValue::get));
    let room_id = pdu.room_id.filter(|_| with_room_id);
    out.field("room_id", room_id.map(RawValue::get));
    out.field("sender", pdu.sender.as_deref().map(json).as_deref());
    out.field("state_key", pdu.state_key.map(RawValue::get));
    out.field("type", pdu.kind.as_deref().map(json).as_deref());
    out.field("unsigned", Some(&unsigned));
    out.finish()
}

/// A JSON object written as text from its keys (plain ASCII, given in the order to write)
/// and their values as JSON text; absent values are left out.
struct ObjectText(String);

impl ObjectText {
    fn with_capacity(capacity: usize) -> Self {
        let mut text = String::with_capacity(capacity);
        text.push('{');
        Self(text)
    }

    fn field(&mut self, key: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
        self.0.push_str(value);
    }

    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// [`client_event_text`] as a JSON value.
pub fn client_event(
    pdu_json: &str,
    with_room_id: bool,
    for_device: Option<(&UserId, &str)>,
    txn: (Option<&str>, Option<&str>),
    now: i64,
) -> Value {
    let text = client_event_text(pdu_json, with_room_id, for_device, txn, now);
    serde_json::from_str(&text).unwrap_or_default()
}

impl ruma::state_res::Event for Pdu {
    type Id = OwnedEventId;

    fn event_id(&self) -> &Self::Id {
        &self.event_id
    }
    fn room_id(&self) -> Option<&RoomId> {
        Some(&self.room_id)
    }
    fn sender(&self) -> &UserId {
        &self.sender
    }
    fn origin_server_ts(&self) -> MilliSecondsSinceUnixEpoch {
        self.origin_server_ts
    }
    fn event_type(&self) -> &TimelineEventType {
        &self.kind
    }
    fn content(&self) -> &RawValue {
        &self.content
    }
    fn state_key(&self) -> Option<&str> {
        self.state_key.as_deref()
    }
    fn prev_events(&self) -> Box<dyn DoubleEndedIterator<Item = &Self::Id> + '_> {
        Box::new(self.prev_events.iter())
    }
    fn auth_events(&self) -> Box<dyn DoubleEndedIterator<Item = &Self::Id> + '_> {
        Box::new(self.auth_events.iter())
    }
    fn redacts(&self) -> Option<&Self::Id> {
        self.redacts.as_ref()
    }
    fn rejected(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 10_000;

    fn stored(extra: Value) -> String {
        let mut pdu = json!({
            "auth_events": ["$a"], "content": { "body": "Hallo \"du\"", "msgtype": "m.text" },
            "depth": 4, "event_id": "$e", "hashes": { "sha256": "x" },
            "origin_server_ts": 9_000, "prev_events": ["$p"], "room_id": "!r:s",
            "sender": "@anna:s", "signatures": {}, "type": "m.room.message",
        });
        for (key, value) in extra.as_object().expect("object") {
            pdu[key] = value.clone();
        }
        pdu.to_string()
    }

    fn format(json: &str, with_room_id: bool, txn: (Option<&str>, Option<&str>)) -> Value {
        let anna = UserId::parse("@anna:s").expect("user");
        let text = client_event_text(json, with_room_id, Some((&anna, "HANDY")), txn, NOW);
        serde_json::from_str(&text).expect("the client event is JSON")
    }

    #[test]
    fn keeps_the_client_fields_and_drops_the_graph() {
        let event = format(&stored(json!({})), false, (None, None));
        assert_eq!(
            event,
            json!({
                "content": { "body": "Hallo \"du\"", "msgtype": "m.text" }, "event_id": "$e",
                "origin_server_ts": 9_000, "sender": "@anna:s", "type": "m.room.message",
                "unsigned": { "age": 1_000 },
            })
        );
        let with_room = format(&stored(json!({})), true, (None, None));
        assert_eq!(with_room["room_id"], "!r:s");
    }

    #[test]
    fn state_and_stored_unsigned_are_kept() {
        let json = stored(json!({
            "type": "m.room.name", "state_key": "", "content": { "name": "8.1" },
            "unsigned": { "replaces_state": "$old", "prev_content": { "name": "8" } },
        }));
        let event = format(&json, false, (None, None));
        assert_eq!(event["state_key"], "");
        assert_eq!(
            event["unsigned"],
            json!({ "age": 1_000, "replaces_state": "$old", "prev_content": { "name": "8" } })
        );
    }

    #[test]
    fn transaction_id_only_for_the_sending_device_and_delay_id_for_the_sender() {
        let json = stored(json!({}));
        let own = format(&json, false, (Some("HANDY"), Some("t1")));
        assert_eq!(own["unsigned"]["transaction_id"], "t1");
        let other = format(&json, false, (Some("LAPTOP"), Some("t1")));
        assert_eq!(other["unsigned"], json!({ "age": 1_000 }));
        let delayed = crate::service::delayed::TXN_DEVICE;
        let sent_later = format(&json, false, (Some(delayed), Some("d1")));
        assert_eq!(sent_later["unsigned"]["org.matrix.msc4140.delay_id"], "d1");
        let someone_else = stored(json!({ "sender": "@ben:s" }));
        let theirs = format(&someone_else, false, (Some("HANDY"), Some("t1")));
        assert_eq!(theirs["unsigned"], json!({ "age": 1_000 }));
    }

    #[test]
    fn redacts_is_at_the_top_level_in_every_room_version() {
        let v11 = stored(json!({ "type": "m.room.redaction", "content": { "redacts": "$x" } }));
        assert_eq!(format(&v11, false, (None, None))["redacts"], "$x");
        let v10 = stored(json!({ "type": "m.room.redaction", "content": {}, "redacts": "$y" }));
        assert_eq!(format(&v10, false, (None, None))["redacts"], "$y");
        let message = stored(json!({ "content": { "redacts": "$z" } }));
        assert!(format(&message, false, (None, None))
            .get("redacts")
            .is_none());
    }

    #[test]
    fn a_stored_text_that_is_no_event_gives_an_empty_event() {
        let event = format("nicht JSON", false, (None, None));
        assert_eq!(event, json!({ "unsigned": { "age": 0 } }));
    }
}
