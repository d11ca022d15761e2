//! The `push-sender` job: delivers the push outbox to the gateways.
//!
//! A singleton job. It sends every due outbox row, one request per notification and pusher:
//! one delivery task per pusher, side by side (a slow gateway holds up only its own pushers),
//! each sending its pusher's notifications in order. Between rounds it sleeps until a commit
//! queues more (the commit path wakes it), a delivery ends or the earliest retry is due. With
//! an empty outbox it waits for a wake-up only: no polling, no CPU while nothing happens.
//!
//! A row is deleted once its gateway accepted it (HTTP 200). A failed delivery is tried again
//! after `[push] first_retry_ms`, then twice as long each time (at most ten minutes); the
//! pusher's later notifications wait behind it. After `[push] give_up_after_seconds` the row
//! is dropped. A gateway that lists the pushkey in `rejected` gets the pusher deleted, as the
//! spec demands, and so does a gateway the admin no longer allows. Rows stay in the database
//! until then, so a restart loses nothing; at start the job sends whatever waits.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ruma::UserId;
use schulhof_store::{PushOutboxRow, PusherRow};
use tokio::task::{Id, JoinSet};

use super::gateway::{self, Delivery};
use super::pushers::gateway_allowed;
use crate::service::read::RoomReader;
use crate::service::runtime::jobs::Stop;
use crate::state::AppState;
use crate::Result;

/// How many outbox rows one look at the outbox reads.
const BATCH: i64 = 200;
/// The longest wait between two tries of one notification (ms).
const MAX_RETRY_MS: i64 = 600_000;
/// How long the job waits after a database error before it looks again (ms).
const DB_RETRY_MS: i64 = 5_000;

/// A pusher: user, app ID, pushkey.
type PusherKey = (String, String, String);

/// The deliveries running now: at most one per pusher, so its notifications stay in order.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<()>,
    pushers: HashMap<Id, PusherKey>,
}

impl InFlight {
    fn busy(&self) -> HashSet<&PusherKey> {
        self.pushers.values().collect()
    }

    /// Waits until a delivery ends (never, if none runs).
    async fn next_done(&mut self) {
        match self.tasks.join_next_with_id().await {
            Some(Ok((id, ()))) => {
                self.pushers.remove(&id);
            }
            Some(Err(err)) => {
                tracing::error!(%err, "push sender: delivery task failed");
                self.pushers.remove(&err.id());
            }
            None => std::future::pending().await,
        }
    }
}

/// The `push-sender` job.
pub async fn job(state: Arc<AppState>, mut stop: Stop) {
    let mut in_flight = InFlight::default();
    loop {
        let next = match start_due(&state, &mut in_flight).await {
            Ok(next) => next,
            Err(err) => {
                tracing::warn!(%err, "push sender: outbox unreadable");
                Some(state.clock.now_ms() + DB_RETRY_MS)
            }
        };
        let retry = async {
            match next {
                Some(at) => state.clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // Deliveries still running are dropped; their rows stay and are sent after the
            // restart (gateways drop duplicates by event ID).
            _ = stop.stopped() => return,
            _ = state.push.wake.notified() => {}
            _ = retry => {}
            _ = in_flight.next_done() => {}
        }
    }
}

/// Starts a delivery for each pusher with due rows that has none running; returns when the
/// next row falls due later (`None`: none waits for a later time). Rows due now whose
/// pusher is busy are read again when its delivery ends.
async fn start_due(state: &Arc<AppState>, in_flight: &mut InFlight) -> Result<Option<i64>> {
    let now = state.clock.now_ms();
    let rows = state.db.due_pushes(now, BATCH).await?;
    let busy = in_flight.busy();
    let mut pushers: HashMap<PusherKey, Vec<PushOutboxRow>> = HashMap::new();
    for row in rows {
        let key = (row.user_id.clone(), row.app_id.clone(), row.pushkey.clone());
        if !busy.contains(&key) {
            pushers.entry(key).or_default().push(row);
        }
    }
    for (key, rows) in pushers {
        let state = state.clone();
        let task = in_flight.tasks.spawn(async move {
            if let Err(err) = deliver(&state, rows).await {
                tracing::warn!(%err, "push sender: delivery not recorded");
            }
        });
        in_flight.pushers.insert(task.id(), key);
    }
    Ok(state.db.next_push_due(now).await?)
}

/// Delivers the due rows of one pusher in order; stops at the first failure.
async fn deliver(state: &AppState, rows: Vec<PushOutboxRow>) -> Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let Some(pusher) = state
        .db
        .pusher(&first.user_id, &first.app_id, &first.pushkey)
        .await?
    else {
        // Deleted meanwhile, with its rows.
        return Ok(());
    };
    let allowed =
        url::Url::parse(&pusher.url).is_ok_and(|url| gateway_allowed(&state.config.push, &url));
    let (Ok(user_id), true) = (UserId::parse(pusher.user_id.as_str()), allowed) else {
        // The admin no longer allows its gateway: it can never deliver again.
        state
            .db
            .delete_pusher(&pusher.user_id, &pusher.app_id, &pusher.pushkey)
            .await?;
        tracing::info!(app_id = %pusher.app_id, "push gateway no longer allowed: pusher deleted");
        return Ok(());
    };
    for row in &rows {
        let body = match prepare(state, &user_id, &pusher, row).await {
            Ok(Some(body)) => body,
            Ok(None) => {
                state.db.remove_push(row).await?;
                continue;
            }
            // Tried again after the backoff like a failed delivery, so a fault cannot spin.
            Err(err) => {
                tracing::warn!(%err, "push notification not prepared");
                failed(state, row, "not prepared").await?;
                return Ok(());
            }
        };
        match gateway::send(state, &pusher, &body).await {
            Delivery::Accepted { rejected: false } => state.db.remove_push(row).await?,
            Delivery::Accepted { rejected: true } => {
                state
                    .db
                    .delete_pusher(&pusher.user_id, &pusher.app_id, &pusher.pushkey)
                    .await?;
                tracing::info!(app_id = %pusher.app_id, "push gateway rejected the pushkey: pusher deleted");
                return Ok(());
            }
            Delivery::Failed(reason) => {
                failed(state, row, &reason).await?;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The request body of one notification, or `None` if its event is gone or no longer
/// visible to the user.
async fn prepare(
    state: &AppState,
    user_id: &UserId,
    pusher: &PusherRow,
    row: &PushOutboxRow,
) -> Result<Option<serde_json::Value>> {
    let Some(event) = visible_event(state, user_id, row).await? else {
        return Ok(None);
    };
    let unread = super::counts::unread(state, user_id).await?;
    Ok(Some(
        gateway::body(state, pusher, row, &event, unread).await?,
    ))
}

/// The event of a notification, if it still exists and the user may still see it (it may
/// have been removed by retention, or its sender ignored since).
async fn visible_event(
    state: &AppState,
    user_id: &UserId,
    row: &PushOutboxRow,
) -> Result<Option<schulhof_store::EventRow>> {
    let Some(mut event) = state.db.event_at(row.event_pos).await? else {
        return Ok(None);
    };
    let Ok(room_id) = ruma::RoomId::parse(event.room_id.as_str()) else {
        return Ok(None);
    };
    let reader = RoomReader::new(state, user_id, &room_id, state.writer.current(), None).await?;
    if let Some(at) = reader.exclusions().release_position(event.stream_pos) {
        event.stream_pos = at;
    }
    Ok(reader.can_see(&event).await?.then_some(event))
}

/// Records a failed delivery: the next try after the backoff, or none after the time limit.
async fn failed(state: &AppState, row: &PushOutboxRow, reason: &str) -> Result<()> {
    let now = state.clock.now_ms();
    let attempts = row.attempts + 1;
    let config = &state.config.push;
    let first = i64::try_from(config.first_retry_ms).unwrap_or(MAX_RETRY_MS);
    let backoff = first
        .saturating_mul(1_i64 << (attempts - 1).min(30))
        .min(MAX_RETRY_MS);
    let give_up_at = row.created_ts.saturating_add(
        i64::try_from(config.give_up_after_seconds.saturating_mul(1000)).unwrap_or(i64::MAX),
    );
    if now + backoff > give_up_at {
        tracing::warn!(
            attempts,
            reason,
            "push gateway keeps failing: notification dropped"
        );
        return Ok(state.db.remove_push(row).await?);
    }
    tracing::debug!(attempts, reason, backoff, "push gateway failed: will retry");
    Ok(state.db.push_failed(row, attempts, now + backoff).await?)
}
