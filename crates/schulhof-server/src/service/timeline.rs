//! Reading a room's history: pagination tokens, `/messages`, `/context`, single events and
//! member lists, always through the history-visibility rules.

use std::collections::BTreeSet;

use ruma::api::client::filter::RoomEventFilter;
use ruma::{RoomId, UserId};
use schulhof_store::EventRow;
use serde_json::{json, Value};

use crate::service::filter::{event_matches, lazy_load_members};
use crate::service::pdu::client_event;
use crate::service::rooms::visibility::Visibility;
use crate::state::AppState;
use crate::{Error, Result};

/// Parses a pagination or sync token (`t123` or `s123_4`) into a stream position.
pub fn parse_token(token: &str) -> Result<i64> {
    token
        .strip_prefix('t')
        .or_else(|| token.strip_prefix('s'))
        .map(|rest| rest.split('_').next().unwrap_or_default())
        .and_then(|pos| pos.parse::<i64>().ok())
        .filter(|pos| *pos >= 0)
        .ok_or_else(|| {
            Error::invalid_param("Ungültiges Paginierungstoken.", "Invalid pagination token.")
        })
}

/// A pagination token for the position between `pos` and `pos + 1`.
pub fn token(pos: i64) -> String {
    format!("t{pos}")
}

/// What a user may read of a room: the visibility rules and the last position they may see.
pub struct Reader {
    visibility: Visibility,
    /// Nothing after this position is visible (the user's leave, or now).
    pub until: i64,
}

impl Reader {
    /// Checks that `user_id` has or had a membership in the room (or it is world-readable) and
    /// loads what they may see. Others get 403 `M_FORBIDDEN`.
    pub async fn open(state: &AppState, user_id: &UserId, room_id: &RoomId) -> Result<Reader> {
        let room = state.rooms.existing(&state.db, room_id).await?;
        let now = state.stream.current();
        let visibility =
            Visibility::load(&state.db, room_id.as_str(), user_id.as_str(), now).await?;
        let world_readable = room
            .state_str("m.room.history_visibility", "history_visibility")
            .as_deref()
            == Some("world_readable");
        if room.membership(user_id).is_none() && !world_readable {
            return Err(Error::forbidden(
                "Du bist nicht Mitglied dieses Raums.",
                "You are not a member of this room.",
            ));
        }
        let until = visibility.left_at().unwrap_or(now);
        Ok(Reader { visibility, until })
    }

    /// Whether a stored event is visible.
    pub fn can_see(&self, event: &EventRow) -> bool {
        event.stream_pos <= self.until
            && self.visibility.can_see(
                event.stream_pos,
                &event.event_type,
                event.state_key.as_deref(),
            )
    }
}

/// Formats stored events for a client (`/messages`, `/context`: with `room_id`).
pub fn format_events(rows: &[EventRow], user_id: &UserId, device_id: &str) -> Vec<Value> {
    let now = AppState::now_ms();
    rows.iter()
        .map(|r| {
            client_event(
                &r.json,
                true,
                Some((user_id, device_id)),
                (r.txn_device.as_deref(), r.txn_id.as_deref()),
                now,
            )
        })
        .collect()
}

/// Member events (at `pos`) of the senders of `events`, for lazy-loading clients.
pub async fn members_for(
    state: &AppState,
    room_id: &RoomId,
    events: &[EventRow],
    pos: i64,
) -> Result<Vec<EventRow>> {
    let senders: BTreeSet<&str> = events.iter().map(|e| e.sender.as_str()).collect();
    let all = state.db.state_at(room_id.as_str(), pos).await?;
    Ok(all
        .into_iter()
        .filter(|e| {
            e.event_type == "m.room.member"
                && e.state_key.as_deref().is_some_and(|k| senders.contains(k))
        })
        .collect())
}

/// Parameters of a `/messages` request.
pub struct Page<'a> {
    /// Start token position (`None`: the newest end for backwards, the oldest for forwards).
    pub from: Option<i64>,
    /// Stop token position.
    pub to: Option<i64>,
    /// Paginate towards older events.
    pub backward: bool,
    /// Largest number of events.
    pub limit: usize,
    /// Event filter.
    pub filter: &'a RoomEventFilter,
}

/// `/messages`: a page of history with `start`, `end` and (for lazy loading) `state`.
pub async fn messages(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
    room_id: &RoomId,
    page: Page<'_>,
) -> Result<Value> {
    let reader = Reader::open(state, user_id, room_id).await?;
    let limit = page.limit.clamp(1, 1000);
    let fetch = (limit + 1) as i64;
    let (from, rows) = if page.backward {
        let from = page.from.unwrap_or(reader.until).min(reader.until);
        let rows = state
            .db
            .room_events_backward(room_id.as_str(), page.to.unwrap_or(0), from, fetch)
            .await?;
        (from, rows)
    } else {
        let from = page.from.unwrap_or(0);
        let until = page.to.unwrap_or(reader.until).min(reader.until);
        let rows = state
            .db
            .room_events_forward(room_id.as_str(), from + 1, until + 1, fetch)
            .await?;
        (from, rows)
    };
    let more = rows.len() > limit;
    let rows: Vec<EventRow> = rows.into_iter().take(limit).collect();
    let end = rows.last().map(|r| {
        if page.backward {
            r.stream_pos - 1
        } else {
            r.stream_pos
        }
    });
    let visible: Vec<EventRow> = rows
        .into_iter()
        .filter(|r| reader.can_see(r) && event_matches(page.filter, r))
        .collect();

    let mut body = json!({
        "start": token(from),
        "chunk": format_events(&visible, user_id, device_id),
    });
    if let (true, Some(end)) = (more, end) {
        body["end"] = json!(token(end));
    }
    if lazy_load_members(page.filter) {
        let members = members_for(state, room_id, &visible, reader.until).await?;
        body["state"] = json!(format_events(&members, user_id, device_id));
    }
    Ok(body)
}

/// `/context/{eventId}`: an event with events before and after it.
pub async fn context(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
    room_id: &RoomId,
    event_id: &str,
    limit: usize,
    filter: &RoomEventFilter,
) -> Result<Value> {
    let reader = Reader::open(state, user_id, room_id).await?;
    let event = visible_event(state, &reader, room_id, event_id).await?;
    let before_n = limit / 2;
    let after_n = limit - before_n;
    let before: Vec<EventRow> = state
        .db
        .room_events_backward(room_id.as_str(), 0, event.stream_pos - 1, before_n as i64)
        .await?
        .into_iter()
        .filter(|r| reader.can_see(r) && event_matches(filter, r))
        .collect();
    let after: Vec<EventRow> = state
        .db
        .room_events_forward(
            room_id.as_str(),
            event.stream_pos + 1,
            reader.until + 1,
            after_n as i64,
        )
        .await?
        .into_iter()
        .filter(|r| reader.can_see(r) && event_matches(filter, r))
        .collect();
    let start = before
        .last()
        .map_or(event.stream_pos - 1, |r| r.stream_pos - 1);
    let end = after.last().map_or(event.stream_pos, |r| r.stream_pos);
    let room_state = state.db.state_at(room_id.as_str(), end).await?;
    let room_state: Vec<EventRow> = if lazy_load_members(filter) {
        let mut all = before.clone();
        all.extend(after.iter().cloned());
        all.push(event.clone());
        let senders: BTreeSet<String> = all.iter().map(|e| e.sender.clone()).collect();
        room_state
            .into_iter()
            .filter(|e| {
                e.event_type != "m.room.member"
                    || e.state_key.as_ref().is_some_and(|k| senders.contains(k))
            })
            .collect()
    } else {
        room_state
    };
    Ok(json!({
        "event": format_events(std::slice::from_ref(&event), user_id, device_id)[0],
        "events_before": format_events(&before, user_id, device_id),
        "events_after": format_events(&after, user_id, device_id),
        "start": token(start),
        "end": token(end),
        "state": format_events(&room_state, user_id, device_id),
    }))
}

async fn visible_event(
    state: &AppState,
    reader: &Reader,
    room_id: &RoomId,
    event_id: &str,
) -> Result<EventRow> {
    state
        .db
        .event(event_id)
        .await?
        .filter(|e| e.room_id == room_id.as_str() && reader.can_see(e))
        .ok_or_else(|| Error::not_found("Dieses Ereignis gibt es nicht.", "Event not found."))
}

/// `/event/{eventId}`: one visible event.
pub async fn event(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
    room_id: &RoomId,
    event_id: &str,
) -> Result<Value> {
    let reader = Reader::open(state, user_id, room_id).await?;
    let event = visible_event(state, &reader, room_id, event_id).await?;
    Ok(format_events(&[event], user_id, device_id).remove(0))
}

/// The room state a user may see: current state if joined, otherwise as of their leave.
pub async fn visible_state(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
    at: Option<i64>,
) -> Result<Vec<EventRow>> {
    let reader = Reader::open(state, user_id, room_id).await?;
    let pos = at.unwrap_or(reader.until).min(reader.until);
    Ok(state.db.state_at(room_id.as_str(), pos).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(parse_token(&token(42)).unwrap(), 42);
        assert_eq!(parse_token("s17_3").unwrap(), 17);
        assert!(parse_token("x").is_err());
        assert!(parse_token("t-1").is_err());
    }
}
