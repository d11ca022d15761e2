//! Device management: list, show, rename and delete the asking user's own devices.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::device::{
    delete_device, delete_devices, get_device, get_devices, update_device,
};
use schulhof_store::DeviceRow;
use serde_json::{json, Map, Value};

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::{e2ee::keys, identity::devices, identity::uiaa};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<get_devices::v3::Request, _, _>(list)
        .endpoint::<get_device::v3::Request, _, _>(show)
        .endpoint::<update_device::v3::Request, _, _>(rename)
        .endpoint::<delete_device::v3::Request, _, _>(delete)
        .endpoint::<delete_devices::v3::Request, _, _>(delete_many)
}

/// A device as the spec's `Device` object (absent fields are left out).
fn device_json(device: &DeviceRow) -> Value {
    let mut object = Map::new();
    object.insert("device_id".into(), json!(device.device_id));
    if let Some(name) = &device.display_name {
        object.insert("display_name".into(), json!(name));
    }
    if let Some(ip) = &device.last_seen_ip {
        object.insert("last_seen_ip".into(), json!(ip));
    }
    if let Some(ts) = device.last_seen_ts {
        object.insert("last_seen_ts".into(), json!(ts));
    }
    Value::Object(object)
}

async fn list(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_devices::v3::Request>,
) -> JsonResult {
    let devices = devices::devices(&state, req.user_id()).await?;
    Ok(Json(
        json!({ "devices": devices.iter().map(device_json).collect::<Vec<_>>() }),
    ))
}

async fn show(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_device::v3::Request>,
) -> JsonResult {
    let device = devices::own_device(&state, req.user_id(), req.body.device_id.as_str()).await?;
    Ok(Json(device_json(&device)))
}

async fn rename(
    State(state): State<Arc<AppState>>,
    req: Ruma<update_device::v3::Request>,
) -> JsonResult {
    let user_id = req.user_id();
    let device = devices::own_device(&state, user_id, req.body.device_id.as_str()).await?;
    if let Some(name) = req.body.display_name.as_deref() {
        if device.display_name.as_deref() != Some(name) {
            state
                .db
                .set_device_display_name(user_id.as_str(), &device.device_id, Some(name))
                .await?;
            // The name is part of the device list the user's other sessions show.
            keys::device_list_changed(&state, user_id).await?;
        }
    }
    Ok(Json(json!({})))
}

async fn delete(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_device::v3::Request>,
) -> JsonResult {
    let user_id = req.user_id();
    let device = devices::own_device(&state, user_id, req.body.device_id.as_str()).await?;
    uiaa::require_password(&state, user_id.as_str(), req.json_body.as_ref()).await?;
    devices::delete_devices(&state, user_id, &[device.device_id]).await?;
    Ok(Json(json!({})))
}

async fn delete_many(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_devices::v3::Request>,
) -> JsonResult {
    let user_id = req.user_id();
    uiaa::require_password(&state, user_id.as_str(), req.json_body.as_ref()).await?;
    let wanted: Vec<&str> = req.body.devices.iter().map(|d| d.as_str()).collect();
    let own: Vec<String> = state
        .db
        .devices(user_id.as_str())
        .await?
        .into_iter()
        .map(|d| d.device_id)
        .filter(|d| wanted.contains(&d.as_str()))
        .collect();
    devices::delete_devices(&state, user_id, &own).await?;
    Ok(Json(json!({})))
}
