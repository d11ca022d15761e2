//! Background jobs: a clean shutdown stops every job, a job that ignores the stop is aborted
//! after the grace period, and a singleton job runs in one process of a deployment at a time
//! and moves to another process when its holder stops (PostgreSQL advisory lock).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use schulhof_server::service::runtime::jobs::{Scope, Stop};
use schulhof_server::state::AppState;
use support::{Backend, TestState};

#[tokio::test]
async fn shutdown_stops_cooperating_jobs_and_aborts_the_rest() {
    let t = TestState::new(Backend::Sqlite, "jobs_shutdown").await;
    let state = &t.state;
    let ticks = Arc::new(AtomicUsize::new(0));
    let counter = ticks.clone();
    state.jobs.start(
        state,
        "ticker",
        Scope::PerProcess,
        move |_, mut stop: Stop| async move {
            while stop.sleep(Duration::from_millis(5)).await {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        },
    );
    state.jobs.start(
        state,
        "stubborn",
        Scope::PerProcess,
        |_, _stop| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        },
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(ticks.load(Ordering::Relaxed) > 0, "the ticker ran");
    let mut running = state.jobs.running();
    running.sort();
    assert_eq!(running, ["stubborn", "ticker"]);

    let aborted = state.jobs.shutdown(Duration::from_millis(200)).await;
    assert_eq!(aborted, ["stubborn"]);
    assert!(state.jobs.running().is_empty());
    let after = ticks.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        ticks.load(Ordering::Relaxed),
        after,
        "no job runs after shutdown"
    );
}

/// Starts the singleton job "probe" in `state`: it counts itself in `active` while it runs and
/// records the most that ever ran at once in `most`.
fn start_probe(state: &Arc<AppState>, active: &Arc<AtomicUsize>, most: &Arc<AtomicUsize>) {
    let (active, most) = (active.clone(), most.clone());
    state.jobs.start(
        state,
        "probe",
        Scope::Singleton,
        move |_, mut stop: Stop| async move {
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            stop.stopped().await;
            active.fetch_sub(1, Ordering::SeqCst);
        },
    );
}

#[tokio::test]
async fn a_singleton_job_runs_in_one_process_and_moves_when_it_stops() {
    let t = TestState::new(Backend::Postgres, "jobs_singleton").await;
    // A second server process on the same PostgreSQL database.
    let other = AppState::new(t.state.config.clone()).await.unwrap();
    let (active, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    start_probe(&t.state, &active, &most);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while active.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first process never ran the job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start_probe(&other, &active, &most);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        active.load(Ordering::SeqCst),
        1,
        "exactly one process runs the job"
    );

    // The holder stops; the other process takes over within its retry interval.
    t.state.jobs.shutdown(Duration::from_secs(2)).await;
    assert_eq!(active.load(Ordering::SeqCst), 0, "the holder's run ended");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if active.load(Ordering::SeqCst) == 1 && !other.jobs.running().is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job did not move"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(most.load(Ordering::SeqCst), 1, "never two at once");
    other.jobs.shutdown(Duration::from_secs(2)).await;
    assert_eq!(active.load(Ordering::SeqCst), 0);
    other.db.close().await;
}
