//! The badge count of a push notification: the user's unread notifications across their
//! joined rooms, exactly as `/sync` reports them per room (`notification_count`): the room
//! reader's counting rule for all rooms at once ([`UnreadCounts`]), one query.

use ruma::UserId;

use crate::service::read::unread::UnreadCounts;
use crate::state::AppState;
use crate::Result;

/// The sum of the `notification_count`s `/sync` shows `user_id` in their joined rooms now.
pub async fn unread(state: &AppState, user_id: &UserId) -> Result<u64> {
    let exclusions = state.exclusions.of(state, user_id).await?;
    Ok(UnreadCounts::load(state, user_id, &exclusions)
        .await?
        .notifications())
}
