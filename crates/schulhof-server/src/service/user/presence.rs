//! Presence: a user's own state and status message.

use ruma::UserId;
use schulhof_store::Db;

use crate::state::AppState;
use crate::Result;

/// Stores `user_id`'s presence (`online`, `offline`, `unavailable`) and status message at a
/// stream position and wakes the user's own `/sync` requests.
pub async fn set_presence(
    state: &AppState,
    user_id: &UserId,
    presence: &str,
    status_msg: Option<&str>,
) -> Result<()> {
    let now = state.clock.now_ms();
    state
        .writer
        .commit(state, async |c| {
            let pos = c.next_pos();
            Db::put_presence(c.tx(), user_id.as_str(), presence, status_msg, now, pos).await?;
            // `/sync` delivers no presence of others yet; once it does, room members wake here.
            c.effects().wake([user_id.as_str()]);
            Ok(())
        })
        .await
}

/// A user's stored presence: `(presence, status_msg, last_active_ts, stream_pos)`.
pub async fn stored_presence(
    state: &AppState,
    user_id: &str,
) -> Result<Option<(String, Option<String>, i64, i64)>> {
    Ok(state.db.presence(user_id).await?)
}
