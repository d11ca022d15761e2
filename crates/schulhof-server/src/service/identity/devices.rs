//! Device removal: tokens, keys and pending messages go with the device, and everyone who
//! shares a room with the user hears that the device list changed.

use ruma::UserId;

use crate::state::AppState;
use crate::Result;

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
    }
    crate::service::e2ee::keys::device_list_changed(state, user_id).await
}
