//! `GET /notifications`: the events that notified the user, newest first.
//!
//! Every event is read through the room reader, so what the user may not see (an event still
//! held for their quiet hours, one of an ignored user, one after they left) is left out, and
//! an event released from quiet hours is listed at its release. Nothing here changes state and
//! only the user's own notifications are read, so no school policy applies beyond the reader's.

use ruma::{RoomId, UserId};
use serde_json::{json, Value};

use crate::service::read::RoomReader;
use crate::service::rooms::pdu::client_event;
use crate::state::AppState;
use crate::{Error, Result};

/// Notifications returned when the client names no limit.
const DEFAULT_LIMIT: usize = 20;
/// The most notifications one page returns.
const MAX_LIMIT: usize = 100;
/// Rows read per database round trip.
const CHUNK: i64 = 100;
/// The most rows one page looks at before it hands out a token to go on from.
const SCAN_LIMIT: usize = 1_000;

/// A page of the user's notifications: before the token `from` (a position), at most
/// `limit`, only highlights if `only` is `highlight`.
pub async fn page(
    state: &AppState,
    user_id: &UserId,
    from: Option<&str>,
    limit: Option<usize>,
    only: Option<&str>,
) -> Result<Value> {
    let mut before = match from {
        None => i64::MAX,
        Some(token) => token.parse::<i64>().map_err(|_| {
            Error::InvalidParam(crate::text!(
                "Ungültiges `from`: {}",
                "Invalid `from`: {}",
                token
            ))
        })?,
    };
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let only_highlight = only == Some("highlight");
    let now = state.clock.now_ms();
    let mut notifications = Vec::new();
    let mut scanned = 0;
    loop {
        let rows = state
            .db
            .notifications(user_id.as_str(), before, only_highlight, CHUNK)
            .await?;
        let exhausted = (rows.len() as i64) < CHUNK;
        for row in rows {
            scanned += 1;
            before = row.notify_pos;
            let Some(event) = state.db.event_at(row.event_pos).await? else {
                continue;
            };
            let Ok(room_id) = RoomId::parse(row.room_id.as_str()) else {
                continue;
            };
            let reader = match RoomReader::open(state, user_id, &room_id).await {
                Ok(reader) => reader,
                // No longer a member of a room that is not world-readable.
                Err(Error::Forbidden(_)) | Err(Error::NotFound(_)) => continue,
                Err(err) => return Err(err),
            };
            if reader.event(&event.event_id).await?.is_none() {
                continue;
            }
            let read = row.notify_pos
                <= state
                    .db
                    .read_up_to(user_id.as_str(), room_id.as_str())
                    .await?;
            let mut actions = vec![json!("notify")];
            if row.highlight {
                actions.push(json!({ "set_tweak": "highlight" }));
            }
            let event_json = client_event(&event.json, false, None, (None, None), now);
            let ts = event_json["origin_server_ts"].clone();
            notifications.push(json!({
                "actions": actions,
                "event": event_json,
                "read": read,
                "room_id": row.room_id,
                "ts": ts,
            }));
            if notifications.len() == limit {
                return Ok(json!({
                    "notifications": notifications,
                    "next_token": before.to_string(),
                }));
            }
        }
        if exhausted {
            return Ok(json!({ "notifications": notifications }));
        }
        if scanned >= SCAN_LIMIT {
            return Ok(json!({
                "notifications": notifications,
                "next_token": before.to_string(),
            }));
        }
    }
}
