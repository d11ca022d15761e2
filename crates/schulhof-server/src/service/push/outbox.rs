//! The push outbox seam of the commit path: a notification recorded for a user is queued for
//! each of their pushers in the same transaction (see the "Outbox seam" of
//! [`crate::service::write`]), and the sender job is woken once it committed.

use schulhof_store::Db;

use crate::service::write::Commit;
use crate::state::AppState;
use crate::Result;

/// Queues the notification at `notify_pos` about the event at `event_pos` for every pusher of
/// `user_ids`, with the push rule's `tweaks` (JSON object text).
pub async fn queue(
    state: &AppState,
    c: &mut Commit<'_, '_>,
    user_ids: &[&str],
    room_id: &str,
    positions: (i64, i64),
    tweaks: &str,
) -> Result<()> {
    let now = state.clock.now_ms();
    if Db::queue_push(c.tx(), user_ids, room_id, positions, tweaks, now).await? > 0 {
        c.effects().wake_sender(state.push.wake.clone());
    }
    Ok(())
}

/// Queues the notifications of the holds released at the positions `first_pos..end_pos`
/// (quiet hours ended), in the release's transaction.
pub async fn queue_released(
    state: &AppState,
    c: &mut Commit<'_, '_>,
    first_pos: i64,
    end_pos: i64,
) -> Result<()> {
    let now = state.clock.now_ms();
    if Db::queue_released_pushes(c.tx(), first_pos, end_pos, now).await? > 0 {
        c.effects().wake_sender(state.push.wake.clone());
    }
    Ok(())
}
