//! The transaction sender (singleton job `appservice-sender`): pushes each appservice's
//! outbox to it in order.
//!
//! One loop per appservice with a URL, so one that is down does not hold up the others. A
//! loop sends the next transaction ([`Db::next_appservice_txn`](schulhof_store::Db::next_appservice_txn):
//! the same ID again until it was accepted) and deletes its rows only after a 200. When the
//! outbox is empty it waits until a commit wakes it; there is no polling. When the appservice
//! cannot be reached or answers with an error, it waits with exponential backoff (1 s, 2 s,
//! 4 s … at most [`MAX_BACKOFF`]) and tries the same transaction again. Rows left by a
//! stopped process are sent at the next start.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::Registration;
use crate::service::runtime::jobs::Stop;
use crate::state::AppState;
use crate::Result;

/// How many events (and ephemeral data) one transaction carries at most.
const BATCH: i64 = 100;

/// The longest wait between two attempts at an appservice that is down.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The sender job: one delivery loop per appservice that receives transactions.
pub async fn job(state: Arc<AppState>, stop: Stop) {
    let mut loops = JoinSet::new();
    for registration in state.appservices.all().iter().filter(|r| r.url.is_some()) {
        loops.spawn(deliver(
            state.clone(),
            registration.id.clone(),
            stop.clone(),
        ));
    }
    while loops.join_next().await.is_some() {}
}

/// Delivers the outbox of appservice `id` until shutdown.
async fn deliver(state: Arc<AppState>, id: String, mut stop: Stop) {
    let Some(registration) = state.appservices.by_id(&id) else {
        return;
    };
    let mut failures = 0u32;
    loop {
        // Stopping mid-transaction is safe: its rows stay and go out again after the start.
        let Some(sent) = stop.unless_stopped(send_next(&state, registration)).await else {
            return;
        };
        match sent {
            Ok(true) => failures = 0,
            Ok(false) => {
                failures = 0;
                tokio::select! {
                    _ = stop.stopped() => return,
                    _ = state.appservices.woken(&id) => {}
                }
            }
            Err(err) => {
                failures += 1;
                let wait = backoff(failures);
                // The errcode and status only: no events or IDs of people in the log.
                tracing::warn!(
                    appservice = %id,
                    errcode = err.errcode(),
                    %err,
                    retry_in_ms = wait.as_millis() as u64,
                    "appservice transaction not delivered"
                );
                if !stop.sleep(wait).await {
                    return;
                }
            }
        }
    }
}

/// Sends the next transaction of `registration`: `Ok(true)` if one was delivered,
/// `Ok(false)` if nothing waits.
async fn send_next(state: &AppState, registration: &Registration) -> Result<bool> {
    let Some(txn) = state
        .db
        .next_appservice_txn(&registration.id, BATCH)
        .await?
    else {
        return Ok(false);
    };
    state
        .appservices
        .client
        .send_transaction(registration, txn.txn_id, &txn.rows)
        .await?;
    state
        .db
        .appservice_txn_delivered(&registration.id, txn.txn_id)
        .await?;
    tracing::debug!(appservice = %registration.id, txn_id = txn.txn_id, events = txn.rows.len(), "appservice transaction delivered");
    Ok(true)
}

/// The wait after the `failures`-th failure in a row: 1 s doubled each time, at most
/// [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    let seconds = 1u64 << failures.saturating_sub(1).min(10);
    Duration::from_secs(seconds).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(1000), MAX_BACKOFF);
    }
}
