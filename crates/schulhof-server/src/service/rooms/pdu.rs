//! The stored form of a room event (PDU) and its conversion to the client format.

use ruma::events::TimelineEventType;
use ruma::{
    EventId, MilliSecondsSinceUnixEpoch, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UInt,
    UserId,
};
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

/// Turns a stored event (PDU JSON) into the client format.
///
/// `room_id` is kept for `/messages`, `/event` and friends and dropped in `/sync`;
/// `transaction_id` is added only for the device that sent the event, the `delay_id` of a sent
/// delayed event (`org.matrix.msc4140.delay_id`) only for its sender.
pub fn client_event(
    pdu_json: &str,
    with_room_id: bool,
    for_device: Option<(&UserId, &str)>,
    txn: (Option<&str>, Option<&str>),
    now: i64,
) -> Value {
    let mut pdu: Map<String, Value> = serde_json::from_str(pdu_json).unwrap_or_default();
    let mut out = Map::new();
    for key in [
        "content",
        "event_id",
        "origin_server_ts",
        "sender",
        "state_key",
        "type",
        "redacts",
    ] {
        if let Some(v) = pdu.remove(key) {
            out.insert(key.to_owned(), v);
        }
    }
    if with_room_id {
        if let Some(v) = pdu.remove("room_id") {
            out.insert("room_id".into(), v);
        }
    }
    // Room version 11 keeps `redacts` in the content; clients still read it at the top level too.
    if out.get("type").and_then(Value::as_str) == Some("m.room.redaction")
        && !out.contains_key("redacts")
    {
        if let Some(r) = out.get("content").and_then(|c| c.get("redacts")).cloned() {
            out.insert("redacts".into(), r);
        }
    }
    let mut unsigned = match pdu.remove("unsigned") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let ts = out
        .get("origin_server_ts")
        .and_then(Value::as_i64)
        .unwrap_or(now);
    unsigned.insert("age".into(), Value::from((now - ts).max(0)));
    if let (Some((user, device)), (Some(txn_device), Some(txn_id))) = (for_device, txn) {
        if out.get("sender").and_then(Value::as_str) == Some(user.as_str()) {
            if txn_device == device {
                unsigned.insert("transaction_id".into(), Value::from(txn_id));
            } else if txn_device == crate::service::delayed::TXN_DEVICE {
                // A sent delayed event (MSC4140) tells its sender which one it was.
                unsigned.insert("org.matrix.msc4140.delay_id".into(), Value::from(txn_id));
            }
        }
    }
    out.insert("unsigned".into(), Value::Object(unsigned));
    Value::Object(out)
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
