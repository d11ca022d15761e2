//! The engine's typed updates as MSC4186 (ruma `sync_events::v5`) response parts.

use std::collections::BTreeMap;

use js_option::JsOption;
use ruma::api::client::sync::sync_events::v5::response;
use ruma::api::client::sync::sync_events::{DeviceLists, UnreadNotificationsCount};
use ruma::serde::Raw;
use ruma::{OneTimeKeyAlgorithm, OwnedMxcUri, OwnedUserId, UInt, UserId};
use schulhof_store::EventRow;
use serde_json::value::to_raw_value;
use serde_json::Value;

use super::selection::Candidate;
use crate::service::read::history::token;
use crate::service::rooms::RoomSnapshot;
use crate::service::sync::format::EventFormatter;
use crate::service::sync::updates::{JoinedRoomUpdate, LeftRoomUpdate, Timeline};
use crate::{Error, Result};

/// A JSON value as a raw event of any type.
pub fn raw<T>(value: &Value) -> Result<Raw<T>> {
    to_raw_value(value)
        .map(Raw::from_json)
        .map_err(|e| Error::Internal(e.to_string()))
}

fn uint(n: impl TryInto<UInt>) -> UInt {
    n.try_into().unwrap_or(UInt::MAX)
}

/// The room's name, avatar and — without a name — its heroes with their names and avatars.
fn describe(room: &mut response::Room, snapshot: &RoomSnapshot, user_id: &UserId) {
    room.name = snapshot
        .state_str("m.room.name", "name")
        .filter(|n| !n.is_empty());
    room.avatar = snapshot
        .state_str("m.room.avatar", "url")
        .map_or(JsOption::Undefined, |url| {
            JsOption::Some(OwnedMxcUri::from(url))
        });
    if room.name.is_none() {
        let heroes = snapshot
            .heroes(user_id, 5)
            .into_iter()
            .map(|id| hero(snapshot, id));
        room.heroes = Some(heroes.collect());
    }
}

fn hero(snapshot: &RoomSnapshot, user_id: OwnedUserId) -> response::Hero {
    let content = snapshot.content("m.room.member", user_id.as_str());
    let text = |field: &str| {
        content
            .as_ref()
            .and_then(|c| c[field].as_str())
            .map(str::to_owned)
    };
    let mut hero = response::Hero::new(user_id);
    hero.name = text("displayname");
    hero.avatar = text("avatar_url").map(OwnedMxcUri::from);
    hero
}

/// Stored events as raw events of any type.
fn raw_events<T>(f: &EventFormatter, rows: &[EventRow]) -> Result<Vec<Raw<T>>> {
    Ok(f.events(rows)?.into_iter().map(Raw::from_json).collect())
}

/// A room with its timeline and the state sent with it.
fn with_events(
    f: &EventFormatter,
    timeline: &Timeline,
    state: &[EventRow],
) -> Result<response::Room> {
    let mut room = response::Room::new();
    room.timeline = raw_events(f, &timeline.events)?;
    room.required_state = raw_events(f, state)?;
    room.limited = timeline.limited;
    room.prev_batch = Some(token(timeline.prev_batch));
    Ok(room)
}

/// A joined room: its new timeline and state, counts, and (when `initial`) its description.
pub fn joined(
    f: &EventFormatter,
    update: &JoinedRoomUpdate,
    candidate: &Candidate,
    user_id: &UserId,
    initial: bool,
    live_after: Option<i64>,
) -> Result<response::Room> {
    let mut room = with_events(f, &update.timeline, &update.state)?;
    room.initial = initial.then_some(true);
    describe(&mut room, &candidate.snapshot, user_id);
    room.is_dm = Some(candidate.is_dm);
    let mut unread = UnreadNotificationsCount::new();
    unread.notification_count = Some(uint(update.unread.0));
    unread.highlight_count = Some(uint(update.unread.1));
    room.unread_notifications = unread;
    room.joined_count = Some(uint(update.summary.joined));
    room.invited_count = Some(uint(update.summary.invited));
    let live = live_after.map_or(0, |since| {
        update
            .timeline
            .events
            .iter()
            .filter(|e| e.stream_pos > since)
            .count()
    });
    room.num_live = Some(uint(live as u64));
    room.bump_stamp = Some(uint(candidate.bump.max(0) as u64));
    Ok(room)
}

/// An invitation: the room's stripped state.
pub fn invited(
    candidate: &Candidate,
    invite_state: &[Value],
    user_id: &UserId,
) -> Result<response::Room> {
    let mut room = response::Room::new();
    room.initial = Some(true);
    room.invite_state = Some(invite_state.iter().map(raw).collect::<Result<_>>()?);
    describe(&mut room, &candidate.snapshot, user_id);
    room.is_dm = Some(candidate.is_dm);
    room.bump_stamp = Some(uint(candidate.bump.max(0) as u64));
    Ok(room)
}

/// A room the user left: the timeline up to their leave.
pub fn left(f: &EventFormatter, update: &LeftRoomUpdate) -> Result<response::Room> {
    with_events(f, &update.timeline, &update.state)
}

/// The e2ee extension: device list changes, one-time key counts and unused fallback keys.
pub fn e2ee(
    changed: &[String],
    left: &[String],
    one_time: &serde_json::Map<String, Value>,
    fallback: &[String],
) -> response::E2EE {
    let users = |ids: &[String]| {
        ids.iter()
            .filter_map(|id| OwnedUserId::try_from(id.as_str()).ok())
            .collect()
    };
    let mut lists = DeviceLists::new();
    lists.changed = users(changed);
    lists.left = users(left);
    let mut e2ee = response::E2EE::default();
    e2ee.device_lists = lists;
    e2ee.device_one_time_keys_count = one_time
        .iter()
        .map(|(alg, n)| {
            (
                OneTimeKeyAlgorithm::from(alg.as_str()),
                uint(n.as_u64().unwrap_or(0)),
            )
        })
        .collect::<BTreeMap<_, _>>();
    e2ee.device_unused_fallback_key_types = Some(
        fallback
            .iter()
            .map(|alg| OneTimeKeyAlgorithm::from(alg.as_str()))
            .collect(),
    );
    e2ee
}
