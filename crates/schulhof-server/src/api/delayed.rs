//! Delayed events (MSC4140, scheduled sending) under their unstable prefix: scheduling
//! (also reached through `/send` and `/state` with `org.matrix.msc4140.delay`, see
//! `events.rs`), the owner's list and single lookups, and the management actions, both as
//! the MSC names them (`…/delayed_events/{delay_id}/{action}`) and in the older form with
//! the action in the body that Synapse and older clients use.
//!
//! ruma models these only behind a feature and without the list's filters, so the routes
//! are plain axum handlers.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::routing::MethodFilter;
use ruma::OwnedRoomId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::{client_ip, read_body, Authenticated, MaybeAuthenticated, Session};
use crate::service::delayed::manage::{self, Action, ListRequest};
use crate::service::delayed::{self, Scheduled};
use crate::state::AppState;
use crate::{Error, Result};

/// The MSC's unstable prefix.
const PREFIX: &str = "/_matrix/client/unstable/org.matrix.msc4140";

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .raw_with(
            &format!("{PREFIX}/rooms/{{room_id}}/delayed_event/{{event_type}}/{{txn_id}}"),
            MethodFilter::PUT,
            schedule_endpoint,
        )
        .raw_with(&format!("{PREFIX}/delayed_events"), MethodFilter::GET, list)
        .raw_with(
            &format!("{PREFIX}/delayed_events/{{delay_id}}"),
            MethodFilter::GET,
            get_one,
        )
        .raw_with(
            &format!("{PREFIX}/delayed_events/{{delay_id}}"),
            MethodFilter::POST,
            update_with_body,
        )
        .raw_with(
            &format!("{PREFIX}/delayed_events/{{delay_id}}/{{action}}"),
            MethodFilter::POST,
            update,
        )
}

/// Schedules an event and answers with its `delay_id` (for `/send`, `/state` and the MSC's
/// own endpoint alike).
pub(super) async fn schedule(
    state: &AppState,
    session: &Session,
    what: Scheduled<'_>,
) -> JsonResult {
    let delay_id = delayed::schedule(state, session, what).await?;
    Ok(Json(json!({ "delay_id": delay_id })))
}

/// The client's address, for rate limits of requests without a token.
struct ClientAddr(Option<IpAddr>);

impl FromRequestParts<Arc<AppState>> for ClientAddr {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self> {
        Ok(ClientAddr(client_ip(parts, &state.config.trusted_proxies)))
    }
}

/// Applies the request rate limit of the user (or, without a token, of the address).
fn rate_limit(state: &AppState, session: Option<&Session>, addr: &ClientAddr) -> Result<()> {
    let key = match (session, addr.0) {
        (Some(s), _) => s.user_id.to_string(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => String::new(),
    };
    state.rate_limiter.check_request(&key)
}

/// Reads a JSON object body.
async fn json_body<T: for<'de> Deserialize<'de>>(
    state: &AppState,
    body: axum::body::Body,
) -> Result<T> {
    let bytes = read_body(body, state.config.limits.max_request_bytes as usize).await?;
    let bytes = if bytes.is_empty() {
        &b"{}"[..]
    } else {
        &bytes[..]
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|_| Error::NotJson)?;
    serde_json::from_value(value).map_err(|e| {
        Error::bad_json(
            format!("Die Anfrage ist fehlerhaft: {e}"),
            format!("Malformed request: {e}"),
        )
    })
}

/// The body of `PUT …/rooms/{roomId}/delayed_event/{eventType}/{txnId}`.
#[derive(Deserialize)]
struct ScheduleBody {
    delay: i64,
    #[serde(default)]
    state_key: Option<String>,
    content: Value,
}

async fn schedule_endpoint(
    State(state): State<Arc<AppState>>,
    Authenticated(session): Authenticated,
    Path((room_id, event_type, txn_id)): Path<(OwnedRoomId, String, String)>,
    body: axum::body::Body,
) -> JsonResult {
    let body: ScheduleBody = json_body(&state, body).await?;
    if !body.content.is_object() {
        return Err(Error::bad_json(
            "Der Inhalt muss ein JSON-Objekt sein.",
            "Content must be a JSON object.",
        ));
    }
    let what = Scheduled {
        room_id: &room_id,
        event_type: &event_type,
        state_key: body.state_key.as_deref(),
        txn_id: Some(&txn_id),
        content: body.content,
        delay_ms: body.delay,
    };
    schedule(&state, &session, what).await
}

async fn list(
    State(state): State<Arc<AppState>>,
    Authenticated(session): Authenticated,
    addr: ClientAddr,
    RawQuery(query): RawQuery,
) -> JsonResult {
    rate_limit(&state, Some(&session), &addr)?;
    let request = ListRequest::from_query(query.as_deref());
    Ok(Json(
        manage::list(&state, &session.user_id, &request).await?,
    ))
}

async fn get_one(
    State(state): State<Arc<AppState>>,
    Authenticated(session): Authenticated,
    addr: ClientAddr,
    Path(delay_id): Path<String>,
) -> JsonResult {
    rate_limit(&state, Some(&session), &addr)?;
    Ok(Json(
        manage::get(&state, &session.user_id, &delay_id).await?,
    ))
}

/// `POST …/delayed_events/{delay_id}/{action}` (MSC4140): with the owner's token or none.
async fn update(
    State(state): State<Arc<AppState>>,
    MaybeAuthenticated(session): MaybeAuthenticated,
    addr: ClientAddr,
    Path((delay_id, action)): Path<(String, String)>,
) -> JsonResult {
    rate_limit(&state, session.as_ref(), &addr)?;
    let action = Action::parse(&action)?;
    let requester = session.as_ref().map(|s| s.user_id.as_ref());
    manage::update(&state, &delay_id, requester, action).await?;
    Ok(Json(json!({})))
}

/// The body of the older `POST …/delayed_events/{delay_id}`.
#[derive(Deserialize)]
struct ActionBody {
    action: Option<String>,
}

/// `POST …/delayed_events/{delay_id}` with `{"action": …}`: the older form, with the
/// owner's token.
async fn update_with_body(
    State(state): State<Arc<AppState>>,
    Authenticated(session): Authenticated,
    addr: ClientAddr,
    Path(delay_id): Path<String>,
    body: axum::body::Body,
) -> JsonResult {
    rate_limit(&state, Some(&session), &addr)?;
    let body: ActionBody = json_body(&state, body).await?;
    let action = body.action.ok_or_else(|| {
        Error::MissingParam(crate::text!(
            "Es fehlt die Aktion (cancel, restart oder send).",
            "Missing action (cancel, restart or send).",
        ))
    })?;
    let action = Action::parse(&action)?;
    manage::update(&state, &delay_id, Some(&session.user_id), action).await?;
    Ok(Json(json!({})))
}
