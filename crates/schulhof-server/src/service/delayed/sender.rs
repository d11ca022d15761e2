//! Sending delayed events: the singleton job that sends them when they are due, and the
//! `send` action that sends one at once.
//!
//! The job waits on the server's clock ([`Clock::sleep_until`](crate::service::runtime::clock::Clock::sleep_until))
//! for the earliest send time, woken early when an event is scheduled; a minute at most, so
//! events scheduled through another process are not missed. At start it first finishes what
//! a stopped process left claimed, then sends everything that became due while the server
//! was down.
//!
//! An event refused at its send time (the school's rights, the room's authorization rules, a
//! locked account) is finalised as `failed` with the error and not tried again; the owner can
//! look it up. Only a fault on the server's side (the database) puts it back to be tried
//! again shortly.

use std::sync::Arc;

use ruma::{OwnedRoomId, OwnedUserId};
use schulhof_store::DelayedRow;

use super::{error_json, template, TXN_DEVICE};
use crate::service::rooms::Rooms;
use crate::service::runtime::jobs::Stop;
use crate::service::school::directory as school;
use crate::state::AppState;
use crate::{Error, Result};

/// The longest the job sleeps without looking at the database.
const POLL_MS: i64 = 60_000;

/// How long a delayed event waits after a fault on the server's side before the next try.
const RETRY_MS: i64 = 30_000;

/// How often finalised delayed events older than [`KEEP_FINALISED_MS`] are deleted.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// How many due delayed events one round claims.
const BATCH: i64 = 50;

/// How long finalised delayed events are kept for their owner to look up (7 days, as the
/// MSC recommends).
const KEEP_FINALISED_MS: i64 = 7 * 24 * 3600 * 1000;

/// How a send attempt ended.
enum Outcome {
    /// The event is in the room (now or by an earlier attempt).
    Sent(String),
    /// Sending it was refused: it will never be sent.
    Refused(Error),
    /// A fault on the server's side: try again later.
    Retry(Error),
}

/// The sender job (`delayed-events`, one per deployment).
pub async fn job(state: Arc<AppState>, mut stop: Stop) {
    match state.db.unfinished_delayed().await {
        Ok(rows) => {
            for row in rows {
                finish(&state, &row).await;
            }
        }
        Err(err) => tracing::warn!(%err, "delayed events: unfinished sends not read"),
    }
    let mut pruned_at: Option<i64> = None;
    loop {
        let now = state.clock.now_ms();
        if pruned_at.is_none_or(|at| now - at >= PRUNE_EVERY_MS) {
            pruned_at = Some(now);
            match state
                .db
                .prune_finalised_delayed(now - KEEP_FINALISED_MS)
                .await
            {
                Ok(0) => {}
                Ok(pruned) => tracing::debug!(pruned, "delayed events: old outcomes deleted"),
                Err(err) => tracing::warn!(%err, "delayed events: pruning failed"),
            }
        }
        let wake_at = match send_due(&state, now).await {
            // A full batch: there may be more due at once.
            Ok(true) => continue,
            Ok(false) => match state.db.next_delayed_send().await {
                Ok(next) => next.map_or(now + POLL_MS, |at| at.min(now + POLL_MS)),
                Err(err) => {
                    tracing::warn!(%err, "delayed events: next send time not read");
                    now + RETRY_MS
                }
            },
            Err(err) => {
                tracing::warn!(%err, "delayed events: due events not claimed");
                now + RETRY_MS
            }
        };
        tokio::select! {
            _ = stop.stopped() => return,
            _ = state.clock.sleep_until(wake_at) => {}
            _ = state.delayed.woken() => {}
        }
    }
}

/// Claims and sends the delayed events due at `now`; `true` if the batch was full.
async fn send_due(state: &AppState, now: i64) -> Result<bool> {
    let due = state.db.claim_due_delayed(now, BATCH).await?;
    for row in &due {
        finish(state, row).await;
    }
    Ok(due.len() as i64 == BATCH)
}

/// Sends a claimed delayed event and records how it ended.
async fn finish(state: &AppState, row: &DelayedRow) {
    let now = state.clock.now_ms();
    let recorded = match send_claimed(state, row).await {
        Outcome::Sent(event_id) => {
            tracing::debug!("delayed event sent");
            state
                .db
                .finish_delayed(&row.delay_id, Some(&event_id), None, now)
                .await
        }
        Outcome::Refused(err) => {
            // Neither the sender nor the content: the errcode says what kind of refusal.
            tracing::info!(
                errcode = err.errcode(),
                "delayed event refused at its send time"
            );
            let error = error_json(state, err.errcode(), &err.text(), None);
            state
                .db
                .finish_delayed(&row.delay_id, None, Some(&error), now)
                .await
        }
        Outcome::Retry(err) => {
            tracing::warn!(%err, "delayed event not sent, trying again shortly");
            state
                .db
                .unclaim_delayed(&row.delay_id, now + RETRY_MS)
                .await
        }
    };
    if let Err(err) = recorded {
        tracing::error!(%err, "outcome of a delayed event not recorded");
    }
}

/// The `send` action on an event the caller claimed: sends it now. If that is refused (or
/// fails), it goes back to waiting for its send time and the caller gets the error.
pub(super) async fn send_now(state: &AppState, row: &DelayedRow) -> Result<()> {
    match send_claimed(state, row).await {
        Outcome::Sent(event_id) => {
            let now = state.clock.now_ms();
            state
                .db
                .finish_delayed(&row.delay_id, Some(&event_id), None, now)
                .await?;
            Ok(())
        }
        Outcome::Refused(err) | Outcome::Retry(err) => {
            state.db.unclaim_delayed(&row.delay_id, row.send_ts).await?;
            state.delayed.wake();
            Err(err)
        }
    }
}

/// Sends a claimed delayed event through the normal send path, unless an earlier attempt
/// already stored it (its transaction ID is taken).
async fn send_claimed(state: &AppState, row: &DelayedRow) -> Outcome {
    match try_send(state, row).await {
        Ok(event_id) => Outcome::Sent(event_id),
        Err(err @ (Error::Internal(_) | Error::Store(_))) => Outcome::Retry(err),
        Err(err) => match already_sent(state, row).await {
            Ok(Some(event_id)) => Outcome::Sent(event_id),
            Ok(None) => Outcome::Refused(err),
            Err(lookup) => Outcome::Retry(lookup),
        },
    }
}

/// The event an earlier attempt stored for `row`, if any.
async fn already_sent(state: &AppState, row: &DelayedRow) -> Result<Option<String>> {
    Ok(state
        .db
        .txn_event(&row.user_id, TXN_DEVICE, &row.delay_id)
        .await?)
}

async fn try_send(state: &AppState, row: &DelayedRow) -> Result<String> {
    if let Some(event_id) = already_sent(state, row).await? {
        return Ok(event_id);
    }
    let sender = OwnedUserId::try_from(row.user_id.as_str())
        .map_err(|e| Error::Internal(format!("stored delayed event sender: {e}")))?;
    let room_id = OwnedRoomId::try_from(row.room_id.as_str())
        .map_err(|e| Error::Internal(format!("stored delayed event room: {e}")))?;
    let content = serde_json::from_str(&row.content)
        .map_err(|e| Error::Internal(format!("stored delayed event content: {e}")))?;
    // A person the directory no longer lets in (locked, deactivated) sends nothing either.
    school::refuse_by_directory(state, &sender)?;
    let event = template(&row.event_type, row.state_key.as_deref(), content);
    let txn = Some((TXN_DEVICE, row.delay_id.as_str()));
    let sent = Rooms::send(state, &room_id, &sender, event, txn).await?;
    Ok(sent.event_id.to_string())
}
