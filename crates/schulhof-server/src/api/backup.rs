//! Server-side key backup: `/room_keys/version[/{version}]` and
//! `/room_keys/keys[/{roomId}[/{sessionId}]]`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::backup::{
    add_backup_keys, add_backup_keys_for_room, add_backup_keys_for_session, create_backup_version,
    delete_backup_keys, delete_backup_keys_for_room, delete_backup_keys_for_session,
    delete_backup_version, get_backup_info, get_backup_keys, get_backup_keys_for_room,
    get_backup_keys_for_session, get_latest_backup_info, update_backup_version, KeyBackupData,
};
use ruma::serde::Raw;
use schulhof_store::BackupKeyRow;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::e2ee::key_backup;
use crate::state::AppState;
use crate::{Error, Result};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<create_backup_version::v3::Request, _, _>(create_version)
        .endpoint::<get_latest_backup_info::v3::Request, _, _>(latest_version)
        .endpoint::<get_backup_info::v3::Request, _, _>(get_version)
        .endpoint::<update_backup_version::v3::Request, _, _>(update_version)
        .endpoint::<delete_backup_version::v3::Request, _, _>(delete_version)
        .endpoint::<add_backup_keys::v3::Request, _, _>(put_keys)
        .endpoint::<add_backup_keys_for_room::v3::Request, _, _>(put_room_keys)
        .endpoint::<add_backup_keys_for_session::v3::Request, _, _>(put_session_key)
        .endpoint::<get_backup_keys::v3::Request, _, _>(get_keys)
        .endpoint::<get_backup_keys_for_room::v3::Request, _, _>(get_room_keys)
        .endpoint::<get_backup_keys_for_session::v3::Request, _, _>(get_session_key)
        .endpoint::<delete_backup_keys::v3::Request, _, _>(delete_keys)
        .endpoint::<delete_backup_keys_for_room::v3::Request, _, _>(delete_room_keys)
        .endpoint::<delete_backup_keys_for_session::v3::Request, _, _>(delete_session_key)
}

async fn create_version(
    State(state): State<Arc<AppState>>,
    req: Ruma<create_backup_version::v3::Request>,
) -> JsonResult {
    let body = req.body.algorithm.json();
    let version = key_backup::create_version(&state, req.user_id(), body).await?;
    Ok(Json(json!({ "version": version })))
}

async fn latest_version(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_latest_backup_info::v3::Request>,
) -> JsonResult {
    Ok(Json(
        key_backup::version_info(&state, req.user_id(), None).await?,
    ))
}

async fn get_version(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_backup_info::v3::Request>,
) -> JsonResult {
    let version = Some(req.body.version.as_str());
    Ok(Json(
        key_backup::version_info(&state, req.user_id(), version).await?,
    ))
}

async fn update_version(
    State(state): State<Arc<AppState>>,
    req: Ruma<update_backup_version::v3::Request>,
) -> JsonResult {
    let body = req.body.algorithm.json();
    key_backup::update_version(&state, req.user_id(), &req.body.version, body).await?;
    Ok(Json(json!({})))
}

async fn delete_version(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_backup_version::v3::Request>,
) -> JsonResult {
    key_backup::delete_version(&state, req.user_id(), &req.body.version).await?;
    Ok(Json(json!({})))
}

/// Reads the uploaded keys of one room.
fn room_keys(
    room_id: &str,
    sessions: &BTreeMap<String, Raw<KeyBackupData>>,
) -> Result<Vec<BackupKeyRow>> {
    sessions
        .iter()
        .map(|(session_id, data)| key_backup::parse_key(room_id, session_id, data.json()))
        .collect()
}

async fn put_keys(
    State(state): State<Arc<AppState>>,
    req: Ruma<add_backup_keys::v3::Request>,
) -> JsonResult {
    let mut keys = Vec::new();
    for (room_id, backup) in &req.body.rooms {
        keys.extend(room_keys(room_id.as_str(), &backup.sessions)?);
    }
    let user_id = req.user_id();
    Ok(Json(
        key_backup::put_keys(&state, user_id, &req.body.version, &keys).await?,
    ))
}

async fn put_room_keys(
    State(state): State<Arc<AppState>>,
    req: Ruma<add_backup_keys_for_room::v3::Request>,
) -> JsonResult {
    let keys = room_keys(req.body.room_id.as_str(), &req.body.sessions)?;
    let user_id = req.user_id();
    Ok(Json(
        key_backup::put_keys(&state, user_id, &req.body.version, &keys).await?,
    ))
}

async fn put_session_key(
    State(state): State<Arc<AppState>>,
    req: Ruma<add_backup_keys_for_session::v3::Request>,
) -> JsonResult {
    let body = &req.body;
    let key = key_backup::parse_key(
        body.room_id.as_str(),
        &body.session_id,
        body.session_data.json(),
    )?;
    let user_id = req.user_id();
    Ok(Json(
        key_backup::put_keys(&state, user_id, &body.version, &[key]).await?,
    ))
}

async fn get_keys(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_backup_keys::v3::Request>,
) -> JsonResult {
    let keys = key_backup::keys(&state, req.user_id(), &req.body.version, None, None).await?;
    Ok(Json(json!({ "rooms": key_backup::rooms_json(&keys) })))
}

async fn get_room_keys(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_backup_keys_for_room::v3::Request>,
) -> JsonResult {
    let room_id = req.body.room_id.as_str();
    let keys = key_backup::keys(
        &state,
        req.user_id(),
        &req.body.version,
        Some(room_id),
        None,
    )
    .await?;
    let rooms = key_backup::rooms_json(&keys);
    Ok(Json(
        rooms
            .get(room_id)
            .cloned()
            .unwrap_or_else(|| json!({ "sessions": {} })),
    ))
}

async fn get_session_key(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_backup_keys_for_session::v3::Request>,
) -> JsonResult {
    let body = &req.body;
    let (room_id, session_id) = (Some(body.room_id.as_str()), Some(body.session_id.as_str()));
    let keys = key_backup::keys(&state, req.user_id(), &body.version, room_id, session_id).await?;
    let key = keys.first().ok_or_else(|| {
        Error::not_found("Dieser Schlüssel ist nicht gesichert.", "Key not found.")
    })?;
    Ok(Json(key_backup::key_json(key)))
}

async fn delete_keys(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_backup_keys::v3::Request>,
) -> JsonResult {
    let version = &req.body.version;
    Ok(Json(
        key_backup::delete_keys(&state, req.user_id(), version, None, None).await?,
    ))
}

async fn delete_room_keys(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_backup_keys_for_room::v3::Request>,
) -> JsonResult {
    let (version, room_id) = (&req.body.version, Some(req.body.room_id.as_str()));
    Ok(Json(
        key_backup::delete_keys(&state, req.user_id(), version, room_id, None).await?,
    ))
}

async fn delete_session_key(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_backup_keys_for_session::v3::Request>,
) -> JsonResult {
    let body = &req.body;
    let (room_id, session_id) = (Some(body.room_id.as_str()), Some(body.session_id.as_str()));
    Ok(Json(
        key_backup::delete_keys(&state, req.user_id(), &body.version, room_id, session_id).await?,
    ))
}
