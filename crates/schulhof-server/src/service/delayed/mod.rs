//! Scheduled sending: delayed events (MSC4140).
//!
//! A client asks the server to send an event into a room later (`org.matrix.msc4140.delay`
//! on `/send` and `/state`, or the MSC's own `delayed_event` endpoint) and gets a `delay_id`
//! instead of an event ID. The event waits in `delayed_events`, durable in the database;
//! the singleton job of [`sender`] sends it through [`Rooms::send`](crate::service::rooms::Rooms::send)
//! when it is due, so the school's rights and the Matrix authorization rules (and quiet
//! hours) apply then as to any message. The same checks run already when it is scheduled
//! ([`preflight::check_send`]), so nothing is accepted that the sender could not send now.
//!
//! Each delayed event is sent exactly once: a sender first claims it (one `UPDATE`), and the
//! event carries a transaction ID made of its `delay_id`, which the events table's unique
//! index accepts once; a sender that stopped midway finds at the next start whether the event
//! was stored. [`manage`] lists them and carries out `cancel`, `restart` and `send`.

pub mod manage;
pub mod sender;

use ruma::{RoomId, UserId};
use schulhof_store::{NewDelayed, StateChange, StoreError, Tx};
use serde_json::{json, Value};

use crate::error::Text;
use crate::ruma_wrapper::Session;
use crate::service::rooms::pdu::Pdu;
use crate::service::rooms::{preflight, EventTemplate};
use crate::state::AppState;
use crate::{Error, Result};

/// The query parameter that turns `/send` and `/state` into scheduling (MSC4140's unstable
/// name), in milliseconds.
pub const DELAY_PARAM: &str = "org.matrix.msc4140.delay";

/// The device named in a sent delayed event's transaction ID (whose ID is its `delay_id`):
/// no client device, so no client mistakes the event for the echo of its own request.
pub const TXN_DEVICE: &str = "org.matrix.msc4140";

/// The process-wide part of delayed events: wakes the sender job when one was scheduled.
#[derive(Default)]
pub struct DelayedEvents {
    scheduled: tokio::sync::Notify,
}

impl DelayedEvents {
    /// Tells the sender job that a delayed event was scheduled (it may be the next one due).
    pub fn wake(&self) {
        self.scheduled.notify_one();
    }

    /// Resolves at the next [`DelayedEvents::wake`] (or at once if one came since the last).
    pub async fn woken(&self) {
        self.scheduled.notified().await;
    }
}

/// What is to be sent later.
pub struct Scheduled<'a> {
    /// The room.
    pub room_id: &'a RoomId,
    /// The event type.
    pub event_type: &'a str,
    /// The state key, for a state event.
    pub state_key: Option<&'a str>,
    /// The client's transaction ID (the send endpoints have one, `/state` has none).
    pub txn_id: Option<&'a str>,
    /// The content, a JSON object.
    pub content: Value,
    /// The delay in ms, as the client gave it.
    pub delay_ms: i64,
}

/// An earlier form of MSC4140 (a delayed event sent when another one is): not offered.
const PARENT_PARAM: &str = "org.matrix.msc4140.parent_delay_id";

/// The delay a `/send` or `/state` request asks for in its query string, if any. Anything but
/// a positive whole number of milliseconds is 400 `M_INVALID_PARAM`, and so is a parent delay
/// ID (rather than sending at once what the client wanted sent later).
pub fn requested_delay(query: Option<&str>) -> Result<Option<i64>> {
    let Some(query) = query else {
        return Ok(None);
    };
    if url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == PARENT_PARAM) {
        return Err(Error::invalid_param(
            "Verzögerte Ereignisse mit parent_delay_id werden nicht unterstützt.",
            "Delayed events with a parent_delay_id are not supported.",
        ));
    }
    let Some((_, value)) =
        url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == DELAY_PARAM)
    else {
        return Ok(None);
    };
    value.parse::<i64>().map(Some).map_err(|_| invalid_delay())
}

fn invalid_delay() -> Error {
    Error::invalid_param(
        "Die Verzögerung muss eine positive Zahl von Millisekunden sein.",
        "The delay must be a positive number of milliseconds.",
    )
}

/// The template of the event a delayed event becomes (a redaction names its target in the
/// content, as in room version 11).
pub fn template(event_type: &str, state_key: Option<&str>, content: Value) -> EventTemplate {
    match state_key {
        Some(key) => EventTemplate::state(event_type, key, content),
        None => {
            let redacts = (event_type == "m.room.redaction")
                .then(|| content.get("redacts")?.as_str()?.parse().ok())
                .flatten();
            EventTemplate {
                redacts,
                ..EventTemplate::message(event_type, content)
            }
        }
    }
}

/// Schedules an event for `session`'s user and returns its `delay_id`. The same transaction
/// ID from the same device returns the first request's `delay_id`.
///
/// Refused with 400 `M_INVALID_PARAM` for a delay that is not positive, `M_MAX_DELAY_EXCEEDED`
/// beyond `[delayed_events] max_delay_days`, 429 `M_LIMIT_EXCEEDED` (rate limit, or
/// `max_per_user` waiting already) and with whatever sending the event now would be refused
/// with (404 unknown room, 403 school rights or authorization rules, 400 malformed content).
pub async fn schedule(state: &AppState, session: &Session, what: Scheduled<'_>) -> Result<String> {
    let config = &state.config.delayed_events;
    if !config.enabled {
        return Err(Error::forbidden(
            "Geplantes Senden ist auf diesem Server abgeschaltet.",
            "Scheduled sending is disabled on this server.",
        ));
    }
    if what.delay_ms <= 0 {
        return Err(invalid_delay());
    }
    if what.delay_ms > config.max_delay_ms() {
        return Err(Error::MaxDelayExceeded {
            max_delay_ms: config.max_delay_ms(),
        });
    }
    let user = session.user_id.as_str();
    let device = session.device_id.as_str();
    if session.appservice.is_none() {
        state.rate_limiter.check_request(user)?;
    }
    if let Some(txn_id) = what.txn_id {
        if let Some(delay_id) = state.db.delayed_by_txn(user, device, txn_id).await? {
            return Ok(delay_id);
        }
    }
    let now = state.clock.now_ms();
    let (waiting, next_send) = state.db.waiting_delayed_of(user).await?;
    if waiting >= i64::from(config.max_per_user) {
        let retry_after_ms = next_send.map_or(60_000, |ts| (ts - now).max(1_000)) as u64;
        return Err(Error::LimitExceeded { retry_after_ms });
    }
    let content = what.content;
    let event = template(what.event_type, what.state_key, content.clone());
    preflight::check_send(state, what.room_id, &session.user_id, &event).await?;

    let delay_id = crate::auth::new_delay_id();
    let text = content.to_string();
    let new = NewDelayed {
        delay_id: &delay_id,
        user_id: user,
        device_id: device,
        txn_id: what.txn_id,
        room_id: what.room_id.as_str(),
        event_type: what.event_type,
        state_key: what.state_key,
        content: &text,
        delay_ms: what.delay_ms,
        now,
    };
    match state.db.insert_delayed(&new).await {
        Ok(()) => {}
        // The same transaction ID a moment ago, from a retry racing the first request.
        Err(StoreError::Conflict) => {
            let txn_id = what.txn_id.unwrap_or_default();
            if let Some(first) = state.db.delayed_by_txn(user, device, txn_id).await? {
                return Ok(first);
            }
            return Err(StoreError::Conflict.into());
        }
        Err(err) => return Err(err.into()),
    }
    state.delayed.wake();
    tracing::debug!(delay_ms = what.delay_ms, "delayed event scheduled");
    Ok(delay_id)
}

/// Inside the transaction of state events: fails the scheduled delayed events of other users
/// for the same state (MSC4140: a delayed state event must not overwrite what someone else set
/// meanwhile). Called by the commit path with all events of one commit in `room_id` (one
/// statement for them); message events are ignored.
pub async fn supersede(
    state: &AppState,
    tx: &mut Tx,
    room_id: &RoomId,
    pdus: &[Pdu],
    now: i64,
) -> Result<()> {
    let keys: Vec<(String, &str, &str)> = pdus
        .iter()
        .filter_map(|pdu| {
            let state_key = pdu.state_key.as_deref()?;
            Some((pdu.kind.to_string(), state_key, pdu.sender.as_str()))
        })
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let changes: Vec<StateChange> = keys
        .iter()
        .map(|(event_type, state_key, sender)| StateChange {
            event_type,
            state_key,
            sender,
        })
        .collect();
    let error = error_json(
        state,
        "M_UNKNOWN",
        &crate::text!(
            "Nicht gesendet: Jemand anderes hat diesen Zustand des Raums inzwischen geändert.",
            "Not sent: someone else changed the same state of the room meanwhile.",
        ),
        Some("M_CANCELLED_BY_STATE_UPDATE"),
    );
    schulhof_store::Db::fail_superseded_delayed(tx, room_id.as_str(), &changes, &error, now)
        .await?;
    Ok(())
}

/// A Matrix error response as stored with a failed delayed event (JSON text), in the
/// configured language; `unstable` is the MSC's own errcode where the standard one is
/// `M_UNKNOWN`.
fn error_json(state: &AppState, errcode: &str, text: &Text, unstable: Option<&str>) -> String {
    let mut body = json!({ "errcode": errcode, "error": text.get(state.config.language) });
    if let Some(code) = unstable {
        body["org.matrix.msc4140.errcode"] = json!(code);
    }
    body.to_string()
}

/// Whether `user` owns the delayed event of `owner` (for handlers: only the owner sees it).
fn owned_by(owner: &str, user: &UserId) -> bool {
    owner == user.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_comes_from_the_query_string() {
        assert_eq!(requested_delay(None).unwrap(), None);
        assert_eq!(requested_delay(Some("ts=5")).unwrap(), None);
        let query = Some("ts=5&org.matrix.msc4140.delay=3600000");
        assert_eq!(requested_delay(query).unwrap(), Some(3_600_000));
        let err = requested_delay(Some("org.matrix.msc4140.delay=bald")).unwrap_err();
        assert_eq!(err.errcode(), "M_INVALID_PARAM");
        let parent = requested_delay(Some("org.matrix.msc4140.parent_delay_id=x")).unwrap_err();
        assert_eq!(parent.errcode(), "M_INVALID_PARAM");
    }

    #[test]
    fn a_delayed_redaction_names_its_target() {
        let redaction = template("m.room.redaction", None, json!({ "redacts": "$abc" }));
        assert_eq!(redaction.redacts.as_ref().map(|e| e.as_str()), Some("$abc"));
        let topic = template("m.room.topic", Some(""), json!({ "topic": "Wandertag" }));
        assert_eq!(topic.state_key.as_deref(), Some(""));
        assert!(template("m.room.message", None, json!({}))
            .redacts
            .is_none());
    }
}
