//! `/relations`: the events relating to one event (threads, edits, reactions, references),
//! read through the one [`RoomReader`], so visibility and quiet-hours holds apply as on every
//! other read path; paginated with the tokens of `/messages`.

use ruma::{RoomId, UserId};
use schulhof_store::{EventRow, RelatingEvent};
use serde_json::{json, Value};

use super::history::{format_events, token};
use super::{Direction, RoomReader};
use crate::state::AppState;
use crate::{Error, Result};

/// How many steps a request with `recurse` follows (the spec asks for at least three).
pub const RECURSION_DEPTH: usize = 3;
/// Events per page when the client gives no limit.
const DEFAULT_LIMIT: usize = 50;
/// Most events per page.
const MAX_LIMIT: usize = 1_000;

/// Parameters of a `/relations` request.
pub struct RelationsRequest<'a> {
    /// The event the others relate to.
    pub event_id: &'a str,
    /// Only relations of this `rel_type`.
    pub rel_type: Option<&'a str>,
    /// Only relating events of this type (for encrypted events: `m.room.encrypted`).
    pub event_type: Option<&'a str>,
    /// Start token position.
    pub from: Option<i64>,
    /// Stop token position.
    pub to: Option<i64>,
    /// Which way the page runs (newest first by default).
    pub direction: Direction,
    /// Largest number of events.
    pub limit: Option<usize>,
    /// Whether events relating indirectly (through other relations) count too.
    pub recurse: bool,
}

/// `GET /relations/{eventId}[/{relType}[/{eventType}]]`: 404 `M_NOT_FOUND` unless the user may
/// see the event itself.
pub async fn relations(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
    room_id: &RoomId,
    request: RelationsRequest<'_>,
) -> Result<Value> {
    let reader = RoomReader::open(state, user_id, room_id).await?;
    if reader.event(request.event_id).await?.is_none() {
        return Err(Error::not_found(
            "Dieses Ereignis gibt es nicht.",
            "Event not found.",
        ));
    }
    let depth = if request.recurse { RECURSION_DEPTH } else { 1 };
    let related = reader.relating(request.event_id, depth).await?;
    let (events, next) = page(related, &request);
    let mut body = json!({ "chunk": format_events(state, &events, user_id, device_id) });
    if let Some(next) = next {
        body["next_batch"] = json!(token(next));
    }
    if let Some(from) = request.from {
        body["prev_batch"] = json!(token(from));
    }
    if request.recurse {
        body["recursion_depth"] = json!(RECURSION_DEPTH);
    }
    Ok(body)
}

/// The page of `related` the request asks for, and the position to go on from if more follow.
/// Tokens are positions between events, as in `/messages`: going backward a page holds the
/// events at or before `from`, going forward those after it.
fn page(
    related: Vec<RelatingEvent>,
    request: &RelationsRequest<'_>,
) -> (Vec<EventRow>, Option<i64>) {
    let backward = request.direction == Direction::Backward;
    let mut rows: Vec<EventRow> = related
        .into_iter()
        .filter(|related| request.rel_type.is_none_or(|kind| related.rel_type == kind))
        .map(|related| related.event)
        .filter(|row| request.event_type.is_none_or(|kind| row.event_type == kind))
        .filter(|row| match (backward, request.from, request.to) {
            (true, from, to) => {
                from.is_none_or(|from| row.stream_pos <= from)
                    && to.is_none_or(|to| row.stream_pos > to)
            }
            (false, from, to) => {
                from.is_none_or(|from| row.stream_pos > from)
                    && to.is_none_or(|to| row.stream_pos <= to)
            }
        })
        .collect();
    rows.sort_by_key(|row| row.stream_pos);
    if backward {
        rows.reverse();
    }
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = rows.last().filter(|_| more).map(|last| {
        if backward {
            last.stream_pos - 1
        } else {
            last.stream_pos
        }
    });
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pos: i64, kind: &str, rel: &str) -> RelatingEvent {
        let json = json!({
            "type": kind,
            "content": { "m.relates_to": { "event_id": "$root", "rel_type": rel } },
        });
        let event = EventRow {
            stream_pos: pos,
            event_id: format!("$e{pos}"),
            room_id: "!r:x".into(),
            sender: "@a:x".into(),
            event_type: kind.into(),
            state_key: None,
            json: json.to_string(),
            txn_device: None,
            txn_id: None,
        };
        RelatingEvent {
            event,
            rel_type: rel.into(),
        }
    }

    fn request(direction: Direction) -> RelationsRequest<'static> {
        RelationsRequest {
            event_id: "$root",
            rel_type: None,
            event_type: None,
            from: None,
            to: None,
            direction,
            limit: Some(2),
            recurse: false,
        }
    }

    fn positions(rows: &[EventRow]) -> Vec<i64> {
        rows.iter().map(|r| r.stream_pos).collect()
    }

    fn related() -> Vec<RelatingEvent> {
        vec![
            row(3, "m.room.message", "m.thread"),
            row(5, "m.reaction", "m.annotation"),
            row(7, "m.room.message", "m.thread"),
            row(9, "m.room.message", "m.replace"),
        ]
    }

    #[test]
    fn pages_run_backward_from_the_newest_and_go_on_from_their_token() {
        let (first, next) = page(related(), &request(Direction::Backward));
        assert_eq!(positions(&first), [9, 7]);
        assert_eq!(next, Some(6));
        let second = RelationsRequest {
            from: next,
            ..request(Direction::Backward)
        };
        let (rest, next) = page(related(), &second);
        assert_eq!(positions(&rest), [5, 3]);
        assert_eq!(next, None);
    }

    #[test]
    fn pages_run_forward_from_the_oldest() {
        let (first, next) = page(related(), &request(Direction::Forward));
        assert_eq!(positions(&first), [3, 5]);
        assert_eq!(next, Some(5));
        let second = RelationsRequest {
            from: next,
            to: Some(8),
            ..request(Direction::Forward)
        };
        assert_eq!(positions(&page(related(), &second).0), [7]);
    }

    #[test]
    fn relation_and_event_types_filter_before_the_limit() {
        let threads = RelationsRequest {
            rel_type: Some("m.thread"),
            ..request(Direction::Backward)
        };
        let (events, next) = page(related(), &threads);
        assert_eq!((positions(&events), next), (vec![7, 3], None));
        let reactions = RelationsRequest {
            event_type: Some("m.reaction"),
            ..request(Direction::Backward)
        };
        assert_eq!(positions(&page(related(), &reactions).0), [5]);
    }
}
