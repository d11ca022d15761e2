//! Schulhof's Matrix homeserver: HTTP routes, services and the error mapping.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod router;
pub mod ruma_wrapper;
pub mod service;
pub mod state;
pub mod web;

pub use error::{Error, Result};

use std::net::SocketAddr;
use std::sync::Arc;

use state::AppState;

/// Starts the background jobs and serves the Client-Server API on `listener` until the future
/// is dropped or fails; the caller stops the jobs with `state.jobs.shutdown`.
pub async fn serve(state: Arc<AppState>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    start_jobs(&state);
    let app = router::build(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// Starts every background job of a serving process (see `service::runtime::jobs`).
fn start_jobs(state: &Arc<AppState>) {
    use service::runtime::jobs::Scope;
    let jobs = &state.jobs;
    jobs.start(
        state,
        "directory-watcher",
        Scope::PerProcess,
        service::school::directory::watch_directory,
    );
    jobs.start(
        state,
        "retention",
        Scope::Singleton,
        service::school::retention::job,
    );
    jobs.start(
        state,
        "quiet-hours-release",
        Scope::Singleton,
        service::quiet_hours::release::job,
    );
    jobs.start(state, "wal-checkpoint", Scope::PerProcess, checkpoints);
    jobs.start(
        state,
        "delayed-events",
        Scope::Singleton,
        service::delayed::sender::job,
    );
    jobs.start(
        state,
        "push-sender",
        Scope::Singleton,
        service::push::sender::job,
    );
    jobs.start(
        state,
        "appservice-sender",
        Scope::Singleton,
        service::appservice::sender::job,
    );
}

/// Checkpoints SQLite's write-ahead log once a second.
async fn checkpoints(state: Arc<AppState>, mut stop: service::runtime::jobs::Stop) {
    while stop.sleep(std::time::Duration::from_secs(1)).await {
        if let Err(err) = state.db.checkpoint().await {
            tracing::warn!(%err, "WAL checkpoint failed");
        }
    }
}
