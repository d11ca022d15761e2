//! Benchmark phases and helpers they share.

pub mod initial_sync;
pub mod large_room;
pub mod latency;
pub mod throughput;
pub mod watch;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{Result, Session};

/// Runs `f` on every item with at most `concurrency` calls in flight and
/// returns the results in item order.
pub async fn bounded<T, R, F, Fut>(items: Vec<T>, concurrency: usize, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let permits = Arc::clone(&permits);
        let fut = f(item);
        set.spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("semaphore is never closed");
            (i, fut.await)
        });
    }
    let mut out: Vec<(usize, R)> = set.join_all().await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Each session leaves (and forgets) its room; failures are reported on
/// stderr only, as this is clean-up.
pub async fn leave_rooms(pairs: Vec<(Arc<Session>, String)>) {
    let results = bounded(pairs, 8, |(session, room)| async move {
        session.leave(&room).await
    })
    .await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some(first) = failed.first() {
        eprintln!(
            "warning: {} rooms could not be left, first: {first}",
            failed.len()
        );
    }
}

/// Collects per-item results into one, failing on the first error.
pub fn all_ok<T>(results: Vec<Result<T>>) -> Result<Vec<T>> {
    results.into_iter().collect()
}
