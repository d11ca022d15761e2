//! The badge count of a push notification: the user's unread notifications across their
//! joined rooms, exactly as `/sync` reports them per room (`notification_count`).
//!
//! Each joined room is counted as `/sync` counts it: by the database where the user's reader
//! leaves nothing out, else through the room reader (held for quiet hours, ignored users).

use ruma::{RoomId, UserId};

use crate::service::read::RoomReader;
use crate::service::rooms::user_rooms::UserRooms;
use crate::state::AppState;
use crate::Result;

/// The sum of the `notification_count`s `/sync` shows `user_id` in their joined rooms now.
pub async fn unread(state: &AppState, user_id: &UserId) -> Result<u64> {
    let memberships = UserRooms::of(state, user_id).await?;
    let exclusions = state.exclusions.of(state, user_id).await?;
    let until = state.writer.current();
    let mut total = 0;
    for m in memberships.iter().filter(|m| m.membership == "join") {
        if !exclusions.hides_anyone() {
            let (count, _) = state
                .db
                .notification_counts(user_id.as_str(), &m.room_id)
                .await?;
            total += u64::try_from(count).unwrap_or(0);
            continue;
        }
        let Ok(room_id) = RoomId::parse(m.room_id.as_str()) else {
            continue;
        };
        let reader = RoomReader::new(state, user_id, &room_id, until, Some(m.stream_pos)).await?;
        total += reader.notification_counts().await?.0;
    }
    Ok(total)
}
