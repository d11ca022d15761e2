//! The appservice's side of the Application Service API: the homeserver pushes transactions
//! (`PUT /_matrix/app/v1/transactions/{txnId}`) with its `hs_token`; each is handed to the
//! bot in order before it is acknowledged, and a transaction ID seen before is acknowledged
//! without handling it again. Pings answer `{}`; user and alias queries find nothing (the
//! appservice creates no users or aliases on demand).

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::bot;
use crate::service::Appservice;

/// How many recent transaction IDs are remembered (a retry comes right after a failure).
const REMEMBERED: usize = 1024;

/// The listener's state.
struct Listener {
    appservice: Appservice,
    /// Recent transaction IDs, oldest first; the lock also keeps transactions in order.
    seen: Mutex<VecDeque<String>>,
}

/// Serves the Application Service API on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, appservice: Appservice) {
    let state = Arc::new(Listener {
        appservice,
        seen: Mutex::new(VecDeque::new()),
    });
    let app = Router::new()
        .route("/_matrix/app/v1/transactions/{txn_id}", put(transaction))
        .route("/_matrix/app/v1/ping", post(ping))
        .route("/_matrix/app/v1/users/{user_id}", get(nothing))
        .route("/_matrix/app/v1/rooms/{alias}", get(nothing))
        .fallback(unrecognized)
        .with_state(state);
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "transaction listener stopped");
    }
}

/// A JSON response.
fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A Matrix error response.
fn error(status: StatusCode, errcode: &str, text: &str) -> Response {
    json_response(status, &json!({ "errcode": errcode, "error": text }))
}

/// The refusal of a request without the homeserver's token (`Authorization: Bearer`), if any.
fn refusal(state: &Listener, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "M_UNAUTHORIZED",
            "Missing hs_token",
        )),
        Some(token) if token == state.appservice.registration.hs_token => None,
        Some(_) => Some(error(
            StatusCode::FORBIDDEN,
            "M_FORBIDDEN",
            "Wrong hs_token",
        )),
    }
}

async fn transaction(
    State(state): State<Arc<Listener>>,
    Path(txn_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(response) = refusal(&state, &headers) {
        return response;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "M_NOT_JSON", "Body is not JSON");
    };
    let mut seen = state.seen.lock().await;
    if !seen.contains(&txn_id) {
        let events = body["events"].as_array().cloned().unwrap_or_default();
        bot::handle(&state.appservice, &events).await;
        seen.push_back(txn_id);
        if seen.len() > REMEMBERED {
            seen.pop_front();
        }
    }
    json_response(StatusCode::OK, &json!({}))
}

async fn ping(State(state): State<Arc<Listener>>, headers: HeaderMap) -> Response {
    refusal(&state, &headers).unwrap_or_else(|| json_response(StatusCode::OK, &json!({})))
}

async fn nothing(State(state): State<Arc<Listener>>, headers: HeaderMap) -> Response {
    refusal(&state, &headers)
        .unwrap_or_else(|| error(StatusCode::NOT_FOUND, "M_NOT_FOUND", "Not provided"))
}

async fn unrecognized() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "M_UNRECOGNIZED",
        "Unrecognized request",
    )
}
