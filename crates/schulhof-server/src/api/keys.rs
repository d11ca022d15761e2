//! End-to-end encryption: key upload, query and claim, cross-signing, key changes,
//! to-device messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::keys::{
    claim_keys, get_key_changes, get_keys, upload_keys, upload_signatures, upload_signing_keys,
};
use ruma::api::client::to_device::send_event_to_device;
use serde_json::{json, Value};

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::e2ee::keys;
use crate::state::AppState;
use crate::{Error, Result};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<upload_keys::v3::Request, _, _>(upload)
        .endpoint::<get_keys::v3::Request, _, _>(query)
        .endpoint::<claim_keys::v3::Request, _, _>(claim)
        .endpoint::<get_key_changes::v3::Request, _, _>(changes)
        .endpoint::<upload_signing_keys::v3::Request, _, _>(upload_signing)
        .endpoint::<upload_signatures::v3::Request, _, _>(upload_signatures)
        .endpoint::<send_event_to_device::v3::Request, _, _>(send_to_device)
}

/// The JSON body of a request (ruma has already checked its shape).
fn body<T>(req: &Ruma<T>) -> &Value {
    static EMPTY: Value = Value::Null;
    req.json_body.as_ref().unwrap_or(&EMPTY)
}

async fn upload(
    State(state): State<Arc<AppState>>,
    req: Ruma<upload_keys::v3::Request>,
) -> JsonResult {
    let counts = keys::upload_keys(&state, req.session(), body(&req)).await?;
    Ok(Json(json!({ "one_time_key_counts": counts })))
}

async fn query(State(state): State<Arc<AppState>>, req: Ruma<get_keys::v3::Request>) -> JsonResult {
    let wanted: BTreeMap<String, Vec<String>> = req
        .body
        .device_keys
        .iter()
        .map(|(user, devices)| {
            (
                user.to_string(),
                devices.iter().map(|d| d.to_string()).collect(),
            )
        })
        .collect();
    Ok(Json(
        keys::query_keys(&state, req.user_id(), &wanted).await?,
    ))
}

async fn claim(
    State(state): State<Arc<AppState>>,
    req: Ruma<claim_keys::v3::Request>,
) -> JsonResult {
    let wanted: BTreeMap<String, BTreeMap<String, String>> = req
        .body
        .one_time_keys
        .iter()
        .map(|(user, devices)| {
            let devices = devices
                .iter()
                .map(|(device, algorithm)| (device.to_string(), algorithm.to_string()))
                .collect();
            (user.to_string(), devices)
        })
        .collect();
    Ok(Json(
        keys::claim_keys(&state, req.user_id(), &wanted).await?,
    ))
}

/// A sync token's stream position, or 400 `M_INVALID_PARAM`.
fn stream_pos(token: &str) -> Result<i64> {
    keys::parse_stream_pos(token).ok_or_else(|| {
        Error::invalid_param(
            format!("Ungültiges Sync-Token: {token}"),
            format!("Invalid sync token: {token}"),
        )
    })
}

async fn changes(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_key_changes::v3::Request>,
) -> JsonResult {
    let from = stream_pos(&req.body.from)?;
    let to = stream_pos(&req.body.to)?.min(state.writer.current());
    let (changed, left) = keys::device_lists_for_sync(&state, req.user_id(), from, to).await?;
    Ok(Json(json!({ "changed": changed, "left": left })))
}

async fn upload_signing(
    State(state): State<Arc<AppState>>,
    req: Ruma<upload_signing_keys::v3::Request>,
) -> JsonResult {
    keys::upload_signing_keys(&state, req.user_id(), body(&req)).await?;
    Ok(Json(json!({})))
}

async fn upload_signatures(
    State(state): State<Arc<AppState>>,
    req: Ruma<upload_signatures::v3::Request>,
) -> JsonResult {
    let failures = keys::upload_signatures(&state, req.user_id(), body(&req)).await?;
    Ok(Json(json!({ "failures": failures })))
}

async fn send_to_device(
    State(state): State<Arc<AppState>>,
    req: Ruma<send_event_to_device::v3::Request>,
) -> JsonResult {
    let messages = body(&req)
        .get("messages")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let event_type = req.body.event_type.to_string();
    keys::send_to_device(
        &state,
        req.session(),
        &event_type,
        req.body.txn_id.as_str(),
        &messages,
    )
    .await?;
    Ok(Json(json!({})))
}
