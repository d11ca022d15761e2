//! The release job: when a quiet period ends, the events held for it reach their recipients.
//!
//! A singleton job (one process of a deployment runs it). It sleeps on the server's clock
//! until the earliest waiting release (at most a minute, and it wakes early when a hold is
//! stored or a test moves the clock), then releases everything due in one commit: each held
//! event gets a new stream position for its recipient, in the original order, and its
//! notification is recorded there, so it reaches the recipient's next `/sync` as a new, unread
//! event and their waiting long-poll wakes. A release happens once (the status changes in the
//! same transaction); a server that was down at the release time releases at start.
//!
//! The school's rights are checked again at release: a sender who may no longer write to the
//! recipient in that room (left the school, left the room, or wrote as a member of a class or
//! group they shared with the recipient and no longer do) does not reach them, and is told.

use std::sync::Arc;
use std::time::Duration;

use ruma::{RoomId, UserId};
use schulhof_store::{Db, DuePair};
use serde_json::json;

use super::hold::share_group;
use crate::service::notices;
use crate::service::push;
use crate::service::rooms::EventTemplate;
use crate::service::runtime::jobs::Stop;
use crate::service::school::directory;
use crate::service::school::policy::{self, Context};
use crate::state::AppState;
use crate::Result;

/// The longest the job sleeps without looking at the database again.
const MAX_SLEEP_MS: i64 = 60_000;
/// How long the job waits after a failed release before it tries again.
const RETRY: Duration = Duration::from_secs(5);

/// The `quiet-hours-release` job.
pub async fn job(state: Arc<AppState>, mut stop: Stop) {
    loop {
        let now = state.clock.now_ms();
        let wake_at = match release_due(&state, now).await {
            Ok(()) => match state.db.next_release().await {
                Ok(next) => next.unwrap_or(i64::MAX).min(now + MAX_SLEEP_MS),
                Err(err) => {
                    tracing::warn!(%err, "next quiet-hours release unknown");
                    now + RETRY.as_millis() as i64
                }
            },
            Err(err) => {
                tracing::warn!(%err, "quiet-hours release failed");
                now + RETRY.as_millis() as i64
            }
        };
        tokio::select! {
            _ = stop.stopped() => return,
            _ = state.clock.sleep_until(wake_at) => {}
            _ = state.quiet_hours.held.notified() => {}
        }
    }
}

/// Releases (or drops) every hold whose release time is at or before `now`.
pub async fn release_due(state: &AppState, now: i64) -> Result<()> {
    let dropped = state
        .writer
        .commit(state, async |c| {
            let pairs = Db::due_pairs(c.tx(), now).await?;
            if pairs.is_empty() {
                return Ok(Vec::new());
            }
            let mut dropped = Vec::new();
            for pair in &pairs {
                if !may_still_reach(state, pair).await? {
                    Db::drop_due(c.tx(), now, pair).await?;
                    dropped.push(pair.clone());
                }
            }
            let due = Db::count_due(c.tx(), now).await?;
            if due > 0 {
                let first = c.next_pos();
                for _ in 1..due {
                    c.next_pos();
                }
                Db::release_due(c.tx(), now, first).await?;
                push::outbox::queue_released(state, c, first, first + due).await?;
            }
            for pair in &pairs {
                c.effects()
                    .holds_changed(&pair.recipient)
                    .wake([pair.recipient.as_str()]);
            }
            c.effects().holds_released(now);
            tracing::info!(
                released = due,
                dropped = dropped.iter().map(|p| p.events).sum::<i64>(),
                "quiet-hours holds released"
            );
            Ok(dropped)
        })
        .await?;
    for pair in dropped {
        if let (Ok(sender), Ok(recipient)) = (
            UserId::parse(pair.sender.as_str()),
            UserId::parse(pair.recipient.as_str()),
        ) {
            notices::tell_dropped(state, &sender, &recipient).await;
        }
    }
    Ok(())
}

/// Whether the sender of held events may still write to their recipient in that room: both
/// are still joined, the sender's account is usable, and the school's rights allow the
/// message now.
async fn may_still_reach(state: &AppState, pair: &DuePair) -> Result<bool> {
    let (Ok(sender), Ok(recipient), Ok(room_id)) = (
        UserId::parse(pair.sender.as_str()),
        UserId::parse(pair.recipient.as_str()),
        RoomId::parse(pair.room_id.as_str()),
    ) else {
        return Ok(false);
    };
    if directory::refusal(state, &sender).is_some() {
        return Ok(false);
    }
    let Some(room) = state.rooms.snapshot(&state.db, &room_id).await? else {
        return Ok(false);
    };
    if !room.is_joined(&sender) || !room.is_joined(&recipient) {
        return Ok(false);
    }
    if pair.shared_group {
        // Written as a classmate or group member: only while they still are.
        let directory = state.directory.snapshot();
        let people = directory
            .person(sender.localpart())
            .zip(directory.person(recipient.localpart()));
        if !people.is_some_and(|(s, r)| share_group(s, r)) {
            return Ok(false);
        }
    }
    let message = EventTemplate::message("m.room.message", json!({}));
    Ok(policy::check_event(&Context::now(state), &room, &sender, &message).is_ok())
}
