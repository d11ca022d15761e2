//! Talking to a push gateway (Push Gateway API, `POST /_matrix/push/v1/notify`): the request
//! body for one notification and one pusher, and what the gateway answered.
//!
//! With `format: event_id_only` — and for every pusher unless the admin set
//! `[push] include_content` — the notification names only the event and room IDs, the unread
//! count and the device: no sender, no room name, no content leaves the server; the app
//! fetches the event itself with the user's token.

use std::time::Duration;

use ruma::UserId;
use schulhof_store::{EventRow, PushOutboxRow, PusherRow};
use serde_json::{json, Map, Value};

use crate::service::rooms::Rooms;
use crate::state::AppState;
use crate::{Error, Result};

/// The longest a gateway may take to answer one notification.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a connection to a gateway may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a gateway took a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted (HTTP 200); `rejected` says whether it listed this pusher's key as invalid.
    Accepted {
        /// The gateway rejected the pushkey: the pusher must go.
        rejected: bool,
    },
    /// Not accepted (no connection, a timeout, a status other than 200): try again later.
    Failed(String),
}

/// The HTTP client for gateways: HTTPS through rustls with the system's CA certificates,
/// no redirects (a gateway must not send notifications elsewhere than the admin allowed),
/// bounded time.
pub fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("Schulhof/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("push client: {e}")))
}

/// Whether a pusher asked for notifications without event details.
fn event_id_only(data: &Map<String, Value>) -> bool {
    data.get("format").and_then(Value::as_str) == Some("event_id_only")
}

/// The request body of one notification of `event` for `pusher`, with the recipient's
/// `unread` count.
pub async fn body(
    state: &AppState,
    pusher: &PusherRow,
    row: &PushOutboxRow,
    event: &EventRow,
    unread: u64,
) -> Result<Value> {
    let data: Map<String, Value> = serde_json::from_str(&pusher.data).unwrap_or_default();
    let tweaks: Value = serde_json::from_str(&row.tweaks).unwrap_or_else(|_| json!({}));
    let mut counts = Map::new();
    // The spec: counts whose value is zero should be omitted.
    if unread > 0 {
        counts.insert("unread".into(), unread.into());
    }
    let full = state.config.push.include_content && !event_id_only(&data);
    let mut notification = json!({
        "event_id": event.event_id,
        "room_id": event.room_id,
        "counts": counts,
        "prio": "high",
        "devices": [{
            "app_id": pusher.app_id,
            "pushkey": pusher.pushkey,
            "pushkey_ts": pusher.pushkey_ts / 1000,
            "data": data,
            "tweaks": tweaks,
        }],
    });
    if full {
        add_event_details(state, &mut notification, pusher, event).await?;
    }
    Ok(json!({ "notification": notification }))
}

/// Adds the event's type, sender, names and content (pushers without `event_id_only`, when
/// the admin allows it).
async fn add_event_details(
    state: &AppState,
    notification: &mut Value,
    pusher: &PusherRow,
    event: &EventRow,
) -> Result<()> {
    let pdu = Rooms::parse(&event.json)?;
    let details = serde_json::to_value(&pdu).map_err(|e| Error::Internal(e.to_string()))?;
    notification["type"] = json!(event.event_type);
    notification["sender"] = json!(event.sender);
    if let Some(content) = details.get("content") {
        notification["content"] = content.clone();
    }
    if event.event_type == "m.room.member" {
        notification["user_is_target"] =
            json!(event.state_key.as_deref() == Some(pusher.user_id.as_str()));
    }
    let room_id =
        ruma::RoomId::parse(event.room_id.as_str()).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(room) = state.rooms.snapshot(&state.db, &room_id).await? {
        if let Some(name) = room.state_str("m.room.name", "name") {
            notification["room_name"] = json!(name);
        }
        let sender = UserId::parse(event.sender.as_str()).ok();
        if let Some(name) = sender.and_then(|s| {
            room.joined_members()
                .find(|(u, _)| *u == s)
                .and_then(|(_, m)| m.displayname.clone())
        }) {
            notification["sender_display_name"] = json!(name);
        }
    }
    Ok(())
}

/// Sends one notification body to the pusher's gateway.
pub async fn send(state: &AppState, pusher: &PusherRow, body: &Value) -> Delivery {
    let response = state
        .push
        .client
        .post(&pusher.url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(err) => return Delivery::Failed(failure(&err)),
    };
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Delivery::Failed(format!("status {status}"));
    }
    let answer: Value = match response.bytes().await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({})),
        Err(err) => return Delivery::Failed(failure(&err)),
    };
    let rejected = answer["rejected"]
        .as_array()
        .is_some_and(|keys| keys.iter().any(|k| k.as_str() == Some(&pusher.pushkey)));
    Delivery::Accepted { rejected }
}

/// What went wrong, without the URL (which may carry a token of the app).
fn failure(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timeout".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}
