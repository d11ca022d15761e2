//! The badge count of a push notification: the user's unread notifications across their
//! joined rooms, exactly as `/sync` reports them per room (`notification_count`).
//!
//! One query finds the rooms with unread notifications and their counts; only where the
//! user's reader leaves events out (held for quiet hours, from ignored users) is a room counted
//! again through the room reader, as `/sync` counts it.

use std::collections::HashMap;

use ruma::{RoomId, UserId};

use crate::service::read::RoomReader;
use crate::service::rooms::user_rooms::UserRooms;
use crate::state::AppState;
use crate::Result;

/// The sum of the `notification_count`s `/sync` shows `user_id` in their joined rooms now.
pub async fn unread(state: &AppState, user_id: &UserId) -> Result<u64> {
    let memberships = UserRooms::of(state, user_id).await?;
    let joined: HashMap<&str, i64> = memberships
        .iter()
        .filter(|m| m.membership == "join")
        .map(|m| (m.room_id.as_str(), m.stream_pos))
        .collect();
    let exclusions = state.exclusions.of(state, user_id).await?;
    let until = state.writer.current();
    let mut total = 0;
    for (room, count) in state.db.unread_notification_rooms(user_id.as_str()).await? {
        let Some(&joined_at) = joined.get(room.as_str()) else {
            continue;
        };
        if !exclusions.hides_anyone() {
            total += u64::try_from(count).unwrap_or(0);
            continue;
        }
        let Ok(room_id) = RoomId::parse(room.as_str()) else {
            continue;
        };
        let reader = RoomReader::new(state, user_id, &room_id, until, Some(joined_at)).await?;
        total += reader.notification_counts().await?.0;
    }
    Ok(total)
}
