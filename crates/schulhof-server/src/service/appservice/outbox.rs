//! Which appservices a write concerns, and its outbox rows (the commit path's outbox seam).
//!
//! Called inside the commit transaction, so an event and the rows that carry it to the
//! appservices commit together or not at all. The commit then wakes their senders
//! ([`Effects::appservice_outbox`](crate::service::write::Effects::appservice_outbox)).
//!
//! An appservice is interested in an event (spec, "Application Service API: Registration")
//! when its sender or state key is one of the appservice's users (its sender or a user
//! namespace), the room ID is in its room namespaces, the room's canonical alias (or an
//! alternative alias) is in its alias namespaces, or one of its users is joined to the room.
//! Appservices without a URL get no rows: they receive no transactions.

use schulhof_store::{Db, NewOutboxRow, OUTBOX_EPHEMERAL, OUTBOX_EVENT};
use serde_json::{json, Value};

use super::Registration;
use crate::service::rooms::pdu::{client_event_text, Pdu};
use crate::service::rooms::RoomSnapshot;
use crate::service::write::Commit;
use crate::state::AppState;
use crate::Result;

/// Whether `registration` is interested in what happens in `room` regardless of who did it:
/// the room ID or one of its aliases is in its namespaces, or one of its users is joined.
pub fn interested_in_room(registration: &Registration, room: &RoomSnapshot) -> bool {
    if registration.owns_room(room.room_id.as_str()) {
        return true;
    }
    if !registration.namespaces.aliases.is_empty() {
        let aliases = room.content("m.room.canonical_alias", "");
        let canonical = aliases
            .as_ref()
            .and_then(|c| c.get("alias"))
            .and_then(Value::as_str);
        let alternatives = aliases
            .as_ref()
            .and_then(|c| c.get("alt_aliases"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        if canonical
            .into_iter()
            .chain(alternatives)
            .any(|alias| registration.owns_alias(alias, false))
        {
            return true;
        }
    }
    // Its sender first, one look-up, settles the common case (the school's bot is joined to
    // every room it manages) without matching every member against the namespaces.
    room.is_joined(&registration.sender)
        || room.joined().any(|u| registration.owns_user(u.as_str()))
}

/// Whether `registration` is interested in `pdu`, an event of `room` (the room's state
/// including the event).
pub fn interested_in_event(registration: &Registration, room: &RoomSnapshot, pdu: &Pdu) -> bool {
    registration.owns_user(pdu.sender.as_str())
        || pdu
            .state_key
            .as_deref()
            .is_some_and(|key| key.starts_with('@') && registration.owns_user(key))
        || interested_in_room(registration, room)
}

/// Writes the outbox rows of `events` (each with its stream position), events of `room` (the
/// room's state including them), for every appservice interested in each (one statement for
/// all of them), and has their senders woken after the commit.
pub async fn record_events(
    state: &AppState,
    commit: &mut Commit<'_, '_>,
    room: &RoomSnapshot,
    events: &[(&Pdu, i64)],
    now: i64,
) -> Result<()> {
    if !state.appservices.any_receiving() {
        return Ok(());
    }
    let receiving: Vec<&Registration> = state
        .appservices
        .all()
        .iter()
        .filter(|r| r.url.is_some())
        .collect();
    let mut outgoing: Vec<(Vec<&Registration>, i64, String)> = Vec::new();
    for &(pdu, pos) in events {
        let receivers: Vec<&Registration> = receiving
            .iter()
            .copied()
            .filter(|r| interested_in_event(r, room, pdu))
            .collect();
        if receivers.is_empty() {
            continue;
        }
        let pdu_json =
            serde_json::to_string(pdu).map_err(|e| crate::Error::Internal(e.to_string()))?;
        let event = client_event_text(&pdu_json, true, None, (None, None), now);
        outgoing.push((receivers, pos, event));
    }
    let rows: Vec<NewOutboxRow> = outgoing
        .iter()
        .flat_map(|(receivers, pos, json)| rows(receivers, *pos, OUTBOX_EVENT, json))
        .collect();
    write(state, commit, &rows).await
}

/// A public read receipt, as the outbox needs it.
pub struct Receipt<'a> {
    /// Who read.
    pub user_id: &'a str,
    /// `m.read`.
    pub receipt_type: &'a str,
    /// The thread (empty: unthreaded).
    pub thread_id: &'a str,
    /// The event read up to.
    pub event_id: &'a str,
}

/// Writes the outbox rows of `receipt` in `room`, stored at `pos`, for every appservice that
/// asked for ephemeral data (`receive_ephemeral`) and is interested in the room or the reader.
pub async fn record_receipt(
    state: &AppState,
    commit: &mut Commit<'_, '_>,
    room: &RoomSnapshot,
    receipt: &Receipt<'_>,
    pos: i64,
    now: i64,
) -> Result<()> {
    let receivers: Vec<&Registration> = state
        .appservices
        .all()
        .iter()
        .filter(|r| {
            r.url.is_some()
                && r.receive_ephemeral
                && (r.owns_user(receipt.user_id) || interested_in_room(r, room))
        })
        .collect();
    if receivers.is_empty() {
        return Ok(());
    }
    let mut read = json!({ "ts": now });
    if !receipt.thread_id.is_empty() {
        read["thread_id"] = json!(receipt.thread_id);
    }
    let event = json!({
        "type": "m.receipt",
        "room_id": room.room_id,
        "content": { receipt.event_id: { receipt.receipt_type: { receipt.user_id: read } } },
    })
    .to_string();
    let rows: Vec<NewOutboxRow> = rows(&receivers, pos, OUTBOX_EPHEMERAL, &event).collect();
    write(state, commit, &rows).await
}

/// One outbox row of `kind` for each of `receivers`.
fn rows<'a>(
    receivers: &'a [&'a Registration],
    pos: i64,
    kind: &'a str,
    json: &'a str,
) -> impl Iterator<Item = NewOutboxRow<'a>> + 'a {
    receivers.iter().map(move |r| NewOutboxRow {
        appservice_id: &r.id,
        stream_pos: pos,
        kind,
        json,
    })
}

/// Writes `rows` and marks the senders of their appservices to be woken.
async fn write(
    state: &AppState,
    commit: &mut Commit<'_, '_>,
    rows: &[NewOutboxRow<'_>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    Db::insert_appservice_outbox(commit.tx(), rows).await?;
    let mut woken: Vec<&str> = rows.iter().map(|r| r.appservice_id).collect();
    woken.sort_unstable();
    woken.dedup();
    for waker in woken
        .into_iter()
        .filter_map(|id| state.appservices.waker(id))
    {
        commit.effects().wake_sender(waker);
    }
    Ok(())
}
