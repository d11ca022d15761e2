//! Renders a [`SyncUpdate`] as the body of a v3 `/sync` response. Events are formatted one at
//! a time straight into JSON text, so a response never holds more than the bytes it returns.

use std::collections::BTreeMap;

use ruma::OwnedUserId;
use schulhof_store::EventRow;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::format::EventFormatter;
use super::updates::{JoinedRoomUpdate, LeftRoomUpdate, SyncUpdate, Timeline};
use crate::ruma_wrapper::Session;
use crate::service::read::history::token;
use crate::state::AppState;
use crate::{Error, Result};

#[derive(Serialize)]
struct Body<'a> {
    next_batch: String,
    rooms: Rooms<'a>,
    account_data: Events<&'a Value>,
    presence: Events<&'a Value>,
    to_device: Events<&'a Value>,
    device_lists: DeviceLists<'a>,
    device_one_time_keys_count: &'a serde_json::Map<String, Value>,
    device_unused_fallback_key_types: &'a [String],
}

#[derive(Serialize)]
struct Events<T> {
    events: Vec<T>,
}

#[derive(Serialize)]
struct DeviceLists<'a> {
    changed: &'a [String],
    left: &'a [String],
}

#[derive(Serialize)]
struct Rooms<'a> {
    join: BTreeMap<&'a str, JoinedRoom<'a>>,
    invite: BTreeMap<&'a str, InvitedRoom<'a>>,
    leave: BTreeMap<&'a str, LeftRoom<'a>>,
    knock: BTreeMap<&'a str, Value>,
}

#[derive(Serialize)]
struct JoinedRoom<'a> {
    timeline: TimelineJson,
    state: Events<Box<RawValue>>,
    ephemeral: Events<Value>,
    account_data: Events<&'a Value>,
    unread_notifications: Unread,
    summary: SummaryJson<'a>,
}

#[derive(Serialize)]
struct InvitedRoom<'a> {
    invite_state: Events<&'a Value>,
}

#[derive(Serialize)]
struct LeftRoom<'a> {
    timeline: TimelineJson,
    state: Events<Box<RawValue>>,
    account_data: Events<&'a Value>,
}

#[derive(Serialize)]
struct TimelineJson {
    events: Vec<Box<RawValue>>,
    limited: bool,
    prev_batch: String,
}

#[derive(Serialize)]
struct Unread {
    notification_count: u64,
    highlight_count: u64,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    #[serde(rename = "m.heroes")]
    heroes: &'a [OwnedUserId],
    #[serde(rename = "m.joined_member_count")]
    joined: u64,
    #[serde(rename = "m.invited_member_count")]
    invited: u64,
}

/// Renders the v3 parts of rooms.
struct Formatter<'a>(EventFormatter<'a>);

impl Formatter<'_> {
    fn events(&self, rows: &[EventRow]) -> Result<Vec<Box<RawValue>>> {
        self.0.events(rows)
    }

    fn timeline(&self, timeline: &Timeline) -> Result<TimelineJson> {
        Ok(TimelineJson {
            events: self.events(&timeline.events)?,
            limited: timeline.limited,
            prev_batch: token(timeline.prev_batch),
        })
    }

    fn joined<'u>(&self, room: &'u JoinedRoomUpdate) -> Result<JoinedRoom<'u>> {
        Ok(JoinedRoom {
            timeline: self.timeline(&room.timeline)?,
            state: Events {
                events: self.events(&room.state)?,
            },
            ephemeral: Events {
                events: ephemeral(room),
            },
            account_data: Events {
                events: room.account_data.iter().collect(),
            },
            unread_notifications: Unread {
                notification_count: room.unread.0,
                highlight_count: room.unread.1,
            },
            summary: SummaryJson {
                heroes: &room.summary.heroes,
                joined: room.summary.joined,
                invited: room.summary.invited,
            },
        })
    }

    fn left<'u>(&self, room: &'u LeftRoomUpdate) -> Result<LeftRoom<'u>> {
        Ok(LeftRoom {
            timeline: self.timeline(&room.timeline)?,
            state: Events {
                events: self.events(&room.state)?,
            },
            account_data: Events { events: vec![] },
        })
    }
}

/// A room's typing and receipts, as ephemeral events.
fn ephemeral(room: &JoinedRoomUpdate) -> Vec<Value> {
    let typing = room
        .typing
        .as_ref()
        .map(|users| json!({ "type": "m.typing", "content": { "user_ids": users } }));
    let receipts = room
        .receipts
        .as_ref()
        .map(|content| json!({ "type": "m.receipt", "content": content }));
    typing.into_iter().chain(receipts).collect()
}

/// The v3 response body for `update`, as JSON bytes.
pub fn render(state: &AppState, session: &Session, update: &SyncUpdate) -> Result<Vec<u8>> {
    let f = Formatter(EventFormatter::new(state, session));
    let mut rooms = Rooms {
        join: BTreeMap::new(),
        invite: BTreeMap::new(),
        leave: BTreeMap::new(),
        knock: BTreeMap::new(),
    };
    for room in &update.joined {
        rooms.join.insert(&room.room_id, f.joined(room)?);
    }
    for room in &update.invited {
        rooms.invite.insert(
            &room.room_id,
            InvitedRoom {
                invite_state: Events {
                    events: room.invite_state.iter().collect(),
                },
            },
        );
    }
    for room in &update.left {
        rooms.leave.insert(&room.room_id, f.left(room)?);
    }
    let body = Body {
        next_batch: update.next_batch.format(),
        rooms,
        account_data: Events {
            events: update.account_data.iter().collect(),
        },
        presence: Events { events: vec![] },
        to_device: Events {
            events: update.to_device.iter().collect(),
        },
        device_lists: DeviceLists {
            changed: &update.device_lists_changed,
            left: &update.device_lists_left,
        },
        device_one_time_keys_count: &update.one_time_key_counts,
        device_unused_fallback_key_types: &update.unused_fallback_key_types,
    };
    serde_json::to_vec(&body).map_err(|e| Error::Internal(e.to_string()))
}
