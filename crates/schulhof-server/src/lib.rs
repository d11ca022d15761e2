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

/// Serves the Client-Server API on `listener` until the future is dropped or fails.
pub async fn serve(state: Arc<AppState>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    service::school::spawn_watcher(state.clone());
    service::retention::spawn(state.clone());
    spawn_checkpoints(state.clone());
    let app = router::build(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// Checkpoints SQLite's write-ahead log once a second in the background.
fn spawn_checkpoints(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(err) = state.db.checkpoint().await {
                tracing::warn!(%err, "WAL checkpoint failed");
            }
        }
    });
}
