//! A real application service for the tests: a small HTTP server on loopback that speaks the
//! appservice side of the Application Service API and records what the homeserver sends it.
//!
//! It checks the `hs_token` of every request (403 `M_FORBIDDEN` otherwise), records
//! transactions once per transaction ID (as an appservice must: a repeated ID is answered 200
//! and not processed again), answers pings, and answers user and alias queries for its
//! namespace by creating the user or room on the homeserver first (with its `as_token`), as
//! bridges do. It can be stopped and started again on the same port to play an appservice
//! that is down.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

/// What the appservice received and how it answers.
struct Shared {
    hs_token: String,
    /// The homeserver's URL and the appservice's `as_token`, for answering queries.
    homeserver: Mutex<Option<(String, String)>>,
    /// `(txnId, body)` of each transaction, in arrival order, each ID once.
    transactions: Mutex<Vec<(String, Value)>>,
    /// How many requests repeated a transaction ID already recorded.
    repeats: Mutex<usize>,
    /// Bodies of the pings.
    pings: Mutex<Vec<Value>>,
    /// User IDs and aliases the homeserver asked about.
    queries: Mutex<Vec<String>>,
    /// Requests with a wrong token.
    refused: Mutex<usize>,
    /// The status pings are answered with (200 unless a scenario wants an error).
    ping_status: Mutex<StatusCode>,
    /// Woken on every recorded transaction.
    arrived: Notify,
}

/// A running (or stopped) recording appservice.
pub struct RecordingAppservice {
    port: u16,
    shared: Arc<Shared>,
    running: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

impl RecordingAppservice {
    /// Starts it on a free loopback port; it accepts requests carrying `hs_token`.
    pub async fn start(hs_token: &str) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let appservice = Self {
            port,
            shared: Arc::new(Shared {
                hs_token: hs_token.to_owned(),
                homeserver: Mutex::new(None),
                transactions: Mutex::default(),
                repeats: Mutex::default(),
                pings: Mutex::default(),
                queries: Mutex::default(),
                refused: Mutex::default(),
                ping_status: Mutex::new(StatusCode::OK),
                arrived: Notify::new(),
            }),
            running: Mutex::new(None),
        };
        appservice.serve(listener);
        Ok(appservice)
    }

    /// Its base URL (the registration's `url`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Lets it answer user and alias queries by creating them on `homeserver` with `as_token`.
    pub fn answer_queries_with(&self, homeserver: &str, as_token: &str) {
        *lock(&self.shared.homeserver) = Some((homeserver.to_owned(), as_token.to_owned()));
    }

    /// Answers pings with `status` from now on (an appservice that rejects them).
    pub fn answer_pings_with(&self, status: u16) {
        *lock(&self.shared.ping_status) = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    }

    /// Stops it: the port refuses connections until [`RecordingAppservice::resume`].
    pub async fn stop(&self) {
        let running = lock(&self.running).take();
        if let Some((shutdown, handle)) = running {
            let _ = shutdown.send(());
            let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        }
    }

    /// Starts it again on the same port.
    pub async fn resume(&self) -> Result<()> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        self.serve(listener);
        Ok(())
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/_matrix/app/v1/transactions/{txn_id}", put(transaction))
            .route("/_matrix/app/v1/ping", post(ping))
            .route("/_matrix/app/v1/users/{user_id}", get(query_user))
            .route("/_matrix/app/v1/rooms/{alias}", get(query_alias))
            .with_state(self.shared.clone());
        let (shutdown, signal) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = signal.await;
                })
                .await;
        });
        *lock(&self.running) = Some((shutdown, handle));
    }

    /// The transactions received so far: `(txnId, body)`, each ID once, in arrival order.
    pub fn transactions(&self) -> Vec<(String, Value)> {
        lock(&self.shared.transactions).clone()
    }

    /// Every event of every transaction, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.transactions()
            .into_iter()
            .flat_map(|(_, body)| body["events"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Every ephemeral event of every transaction, in arrival order.
    pub fn ephemeral(&self) -> Vec<Value> {
        self.transactions()
            .into_iter()
            .flat_map(|(_, body)| body["ephemeral"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The bodies of the text messages received, in arrival order.
    pub fn message_bodies(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["type"] == "m.room.message")
            .filter_map(|e| e["content"]["body"].as_str().map(str::to_owned))
            .collect()
    }

    /// How many requests repeated a transaction ID it had already processed.
    pub fn repeats(&self) -> usize {
        *lock(&self.shared.repeats)
    }

    /// The ping bodies received.
    pub fn pings(&self) -> Vec<Value> {
        lock(&self.shared.pings).clone()
    }

    /// The user IDs and aliases the homeserver asked about.
    pub fn queries(&self) -> Vec<String> {
        lock(&self.shared.queries).clone()
    }

    /// How many requests came with a wrong or missing `hs_token`.
    pub fn refused(&self) -> usize {
        *lock(&self.shared.refused)
    }

    /// Waits until `done` holds for what was received, at most `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Self) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            if done(self) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!(
                    "the appservice did not receive {what} within {timeout:?}; messages so far: {:?}",
                    self.message_bodies()
                );
            }
            let _ = tokio::time::timeout(left, arrived).await;
        }
    }
}

impl Drop for RecordingAppservice {
    fn drop(&mut self) {
        if let Some((_, handle)) = lock(&self.running).take() {
            handle.abort();
        }
    }
}

type Answer = (StatusCode, Json<Value>);

/// `None` if the request carries the `hs_token`, else the 403 to answer.
fn refuse(shared: &Shared, headers: &HeaderMap) -> Option<Answer> {
    let expected = format!("Bearer {}", shared.hs_token);
    let ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if ok {
        return None;
    }
    *lock(&shared.refused) += 1;
    Some((
        StatusCode::FORBIDDEN,
        Json(json!({ "errcode": "M_FORBIDDEN", "error": "wrong hs_token" })),
    ))
}

async fn transaction(
    State(shared): State<Arc<Shared>>,
    Path(txn_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Answer {
    if let Some(refused) = refuse(&shared, &headers) {
        return refused;
    }
    {
        let mut transactions = lock(&shared.transactions);
        if transactions.iter().any(|(id, _)| *id == txn_id) {
            *lock(&shared.repeats) += 1;
        } else {
            transactions.push((txn_id, body));
        }
    }
    shared.arrived.notify_waiters();
    (StatusCode::OK, Json(json!({})))
}

async fn ping(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Answer {
    if let Some(refused) = refuse(&shared, &headers) {
        return refused;
    }
    lock(&shared.pings).push(body);
    let status = *lock(&shared.ping_status);
    if status != StatusCode::OK {
        return (
            status,
            Json(json!({ "errcode": "M_UNKNOWN", "error": "kaputt" })),
        );
    }
    (StatusCode::OK, Json(json!({})))
}

async fn query_user(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    if let Some(refused) = refuse(&shared, &headers) {
        return refused;
    }
    lock(&shared.queries).push(user_id.clone());
    let localpart = user_id
        .trim_start_matches('@')
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let body = json!({
        "type": "m.login.application_service",
        "username": localpart,
        "inhibit_login": true,
    });
    answer_query(&shared, "/_matrix/client/v3/register", body).await
}

async fn query_alias(
    State(shared): State<Arc<Shared>>,
    Path(alias): Path<String>,
    headers: HeaderMap,
) -> Answer {
    if let Some(refused) = refuse(&shared, &headers) {
        return refused;
    }
    lock(&shared.queries).push(alias.clone());
    let name = alias
        .trim_start_matches('#')
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let body = json!({ "room_alias_name": name, "preset": "public_chat", "name": name });
    answer_query(&shared, "/_matrix/client/v3/createRoom", body).await
}

/// Creates what a query asked about on the homeserver (`POST path` with the `as_token`):
/// 200 if that worked, else 404.
async fn answer_query(shared: &Shared, path: &str, body: Value) -> Answer {
    let Some((homeserver, as_token)) = lock(&shared.homeserver).clone() else {
        return not_found();
    };
    let created = reqwest::Client::new()
        .post(format!("{homeserver}{path}"))
        .bearer_auth(as_token)
        .json(&body)
        .send()
        .await
        .context("calling the homeserver")
        .map(|r| r.status().is_success());
    match created {
        Ok(true) => (StatusCode::OK, Json(json!({}))),
        _ => not_found(),
    }
}

fn not_found() -> Answer {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "errcode": "M_NOT_FOUND", "error": "unknown" })),
    )
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
