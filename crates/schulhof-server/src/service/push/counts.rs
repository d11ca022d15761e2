//! The badge count of a push notification: the user's unread notifications across their
//! joined rooms, counted by the room reader exactly as `/sync` reports them per room (events
//! held for quiet hours and from ignored users left out).

use ruma::{RoomId, UserId};

use crate::service::read::RoomReader;
use crate::service::rooms::user_rooms::UserRooms;
use crate::state::AppState;
use crate::Result;

/// The sum of the `notification_count`s `/sync` shows `user_id` in their joined rooms now.
pub async fn unread(state: &AppState, user_id: &UserId) -> Result<u64> {
    let until = state.writer.current();
    let mut total = 0;
    for membership in UserRooms::of(state, user_id)
        .await?
        .iter()
        .filter(|m| m.membership == "join")
    {
        let Ok(room_id) = RoomId::parse(membership.room_id.as_str()) else {
            continue;
        };
        let reader =
            RoomReader::new(state, user_id, &room_id, until, Some(membership.stream_pos)).await?;
        total += reader.notification_counts().await?.0;
    }
    Ok(total)
}
