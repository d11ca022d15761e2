//! Room history for clients: pagination tokens, `/messages`, `/context`, single events and
//! state, all read through the one [`RoomReader`].

use std::collections::BTreeSet;

use ruma::api::client::filter::RoomEventFilter;
use ruma::{RoomId, UserId};
use schulhof_store::EventRow;
use serde_json::{json, Value};

use super::filter::lazy_load_members;
use super::{Direction, RoomReader};
use crate::service::rooms::pdu::client_event;
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

/// Formats stored events for a client (`/messages`, `/context`: with `room_id`).
pub fn format_events(
    state: &AppState,
    rows: &[EventRow],
    user_id: &UserId,
    device_id: &str,
) -> Vec<Value> {
    let now = state.clock.now_ms();
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

/// The senders of `events`, for lazy-loaded members.
pub fn senders(events: &[EventRow]) -> BTreeSet<&str> {
    events.iter().map(|e| e.sender.as_str()).collect()
}

/// Parameters of a `/messages` request.
pub struct PageRequest<'a> {
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
    request: PageRequest<'_>,
) -> Result<Value> {
    let reader = RoomReader::open(state, user_id, room_id).await?;
    let limit = request.limit.clamp(1, 1000);
    let (direction, from) = if request.backward {
        (Direction::Backward, request.from.unwrap_or(reader.until()))
    } else {
        (Direction::Forward, request.from.unwrap_or(0))
    };
    let page = reader
        .page(direction, from, request.to, limit, request.filter)
        .await?;
    let mut body = json!({
        "start": token(from),
        "chunk": format_events(state, &page.events, user_id, device_id),
    });
    if let Some(end) = page.next {
        body["end"] = json!(token(end));
    }
    if lazy_load_members(request.filter) {
        let members = reader
            .state_at(reader.until(), &members_only(), &senders(&page.events))
            .await?;
        body["state"] = json!(format_events(state, &members, user_id, device_id));
    }
    Ok(body)
}

/// A state filter that keeps only the lazy-loaded member events.
fn members_only() -> RoomEventFilter {
    let mut filter = RoomEventFilter::with_lazy_loading();
    filter.types = Some(vec!["m.room.member".to_owned()]);
    filter
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
    let reader = RoomReader::open(state, user_id, room_id).await?;
    let event = reader.event(event_id).await?.ok_or_else(event_not_found)?;
    let before_n = limit / 2;
    let after_n = limit - before_n;
    let before = reader
        .page(
            Direction::Backward,
            event.stream_pos - 1,
            None,
            before_n.max(1),
            filter,
        )
        .await?
        .events;
    let after = reader
        .page(
            Direction::Forward,
            event.stream_pos,
            None,
            after_n.max(1),
            filter,
        )
        .await?
        .events;
    let before: Vec<EventRow> = before.into_iter().take(before_n).collect();
    let after: Vec<EventRow> = after.into_iter().take(after_n).collect();
    let start = before
        .last()
        .map_or(event.stream_pos - 1, |r| r.stream_pos - 1);
    let end = after.last().map_or(event.stream_pos, |r| r.stream_pos);
    let mut all = before.clone();
    all.extend(after.iter().cloned());
    all.push(event.clone());
    let room_state = reader.state_at(end, filter, &senders(&all)).await?;
    Ok(json!({
        "event": format_events(state, std::slice::from_ref(&event), user_id, device_id)[0],
        "events_before": format_events(state, &before, user_id, device_id),
        "events_after": format_events(state, &after, user_id, device_id),
        "start": token(start),
        "end": token(end),
        "state": format_events(state, &room_state, user_id, device_id),
    }))
}

fn event_not_found() -> Error {
    Error::not_found("Dieses Ereignis gibt es nicht.", "Event not found.")
}

/// `/event/{eventId}`: one visible event.
pub async fn event(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
    room_id: &RoomId,
    event_id: &str,
) -> Result<Value> {
    let reader = RoomReader::open(state, user_id, room_id).await?;
    let event = reader.event(event_id).await?.ok_or_else(event_not_found)?;
    Ok(format_events(state, &[event], user_id, device_id).remove(0))
}

/// The room state a user may see: current state if joined, otherwise as of their leave; or
/// as of `at`.
pub async fn visible_state(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
    at: Option<i64>,
) -> Result<Vec<EventRow>> {
    let reader = RoomReader::open(state, user_id, room_id).await?;
    reader
        .state_at(
            at.unwrap_or(reader.until()),
            &RoomEventFilter::default(),
            &BTreeSet::new(),
        )
        .await
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
