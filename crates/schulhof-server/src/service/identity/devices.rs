//! Device removal: tokens, keys and pending messages go with the device, and everyone who
//! shares a room with the user hears that the device list changed.

use ruma::UserId;
use schulhof_store::DeviceRow;

use crate::state::AppState;
use crate::{Error, Result};

/// The user's devices.
pub async fn devices(state: &AppState, user_id: &UserId) -> Result<Vec<DeviceRow>> {
    Ok(state.db.devices(user_id.as_str()).await?)
}

/// One of the user's own devices, or 404 (also for other users' device IDs).
pub async fn own_device(state: &AppState, user_id: &UserId, device_id: &str) -> Result<DeviceRow> {
    devices(state, user_id)
        .await?
        .into_iter()
        .find(|d| d.device_id == device_id)
        .ok_or_else(|| Error::not_found("Dieses Gerät gibt es nicht.", "Unknown device."))
}

/// Deletes every device of `user_id` except `keep`.
pub async fn delete_other_devices(state: &AppState, user_id: &UserId, keep: &str) -> Result<()> {
    let others: Vec<String> = devices(state, user_id)
        .await?
        .into_iter()
        .map(|d| d.device_id)
        .filter(|d| d != keep)
        .collect();
    delete_devices(state, user_id, &others).await
}

/// Deletes devices of `user_id` (with their access tokens and keys).
pub async fn delete_devices(
    state: &AppState,
    user_id: &UserId,
    device_ids: &[String],
) -> Result<()> {
    if device_ids.is_empty() {
        return Ok(());
    }
    state
        .db
        .delete_devices(user_id.as_str(), device_ids)
        .await?;
    for device_id in device_ids {
        state.tokens.forget(user_id.as_str(), Some(device_id));
        state.key_counts.invalidate(user_id.as_str(), device_id);
        state
            .rooms
            .recent()
            .forget_transactions(user_id.as_str(), device_id);
    }
    crate::service::e2ee::keys::device_list_changed(state, user_id).await
}
