//! Read receipts and the fully-read marker.

use ruma::{EventId, RoomId, UserId};
use schulhof_store::{Db, EventRow};
use serde_json::json;

use crate::service::read::RoomReader;
use crate::service::rooms::{Audience, RoomActivity};
use crate::service::school::policy;
use crate::service::user::account_data::set_account_data;
use crate::state::AppState;
use crate::{Error, Result};

/// Stores a receipt of `user_id` for `event_id` (`m.read` or `m.read.private`; `thread_id`
/// empty when unthreaded, else `main` or the ID of a thread's root event in the room) and
/// wakes the room's members. A public receipt is something said in the room: the school's
/// rights decide it like a message (`policy::check_signal`); a private one only its sender
/// sees.
pub async fn set_receipt(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
    receipt_type: &str,
    thread_id: &str,
    event_id: &EventId,
) -> Result<()> {
    let room = state.rooms.existing(&state.db, room_id).await?;
    room.require_joined(user_id)?;
    if receipt_type != "m.read.private" {
        policy::check_signal(state, &room, user_id, "m.receipt").await?;
    }
    let in_room = async |id: &str| -> Result<Option<EventRow>> {
        Ok(state
            .db
            .event(id)
            .await?
            .filter(|e| e.room_id == room_id.as_str()))
    };
    if !matches!(thread_id, "" | "main") && in_room(thread_id).await?.is_none() {
        return Err(Error::invalid_param(
            "thread_id muss „main“ oder ein Ereignis dieses Raums sein.",
            "thread_id must be `main` or an event of this room.",
        ));
    }
    // Through the reader: an event held from this user is unknown to them, and one released
    // to them is read at its release position, where their unread count continues.
    let event = RoomReader::open(state, user_id, room_id)
        .await?
        .event(event_id.as_str())
        .await?
        .ok_or_else(|| Error::not_found("Dieses Ereignis gibt es nicht.", "Event not found."))?;
    let now = state.clock.now_ms();
    state
        .writer
        .commit(state, async |c| {
            let pos = c.next_pos();
            let moved = Db::put_receipt(
                c.tx(),
                room_id.as_str(),
                user_id.as_str(),
                receipt_type,
                thread_id,
                event_id.as_str(),
                event.stream_pos,
                now,
                pos,
            )
            .await?;
            if !moved {
                return Ok(());
            }
            if receipt_type != "m.read.private" {
                // Outbox seam: public receipts reach appservices that asked for them.
                let receipt = crate::service::appservice::outbox::Receipt {
                    user_id: user_id.as_str(),
                    receipt_type,
                    thread_id,
                    event_id: event_id.as_str(),
                };
                crate::service::appservice::outbox::record_receipt(
                    state, c, &room, &receipt, pos, now,
                )
                .await?;
            }
            c.effects()
                .room_activity(room_id.as_str(), RoomActivity::Receipt);
            if receipt_type == "m.read.private" {
                c.effects().wake([user_id.as_str()]);
            } else {
                c.effects().wake_members(room.clone(), Audience::Joined);
            }
            Ok(())
        })
        .await
}

/// Moves the user's fully-read marker (room account data `m.fully_read`).
pub async fn set_fully_read(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
    event_id: &EventId,
) -> Result<()> {
    set_account_data(
        state,
        user_id,
        Some(room_id),
        "m.fully_read",
        &json!({ "event_id": event_id }),
    )
    .await?;
    Ok(())
}
