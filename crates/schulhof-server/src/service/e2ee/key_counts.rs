//! A device's one-time key counts and unused fallback key types, which every `/sync` response
//! carries, cached per device and dropped whenever keys are uploaded, claimed or deleted.

use std::sync::Arc;

use ruma::UserId;
use serde_json::{Map, Value};

use crate::service::user::user_cache::UserCache;
use crate::state::AppState;
use crate::Result;

/// What `/sync` reports about a device's keys.
pub struct KeyCounts {
    /// Unclaimed one-time keys per algorithm.
    pub one_time: Map<String, Value>,
    /// Algorithms with an unused fallback key.
    pub unused_fallback: Vec<String>,
}

/// Cache of the key counts of every device.
#[derive(Default)]
pub struct KeyCountCache {
    devices: UserCache<KeyCounts>,
}

fn key(user_id: &str, device_id: &str) -> String {
    format!("{user_id}|{device_id}")
}

impl KeyCountCache {
    /// The counts of one device.
    pub async fn of(state: &AppState, user_id: &UserId, device_id: &str) -> Result<Arc<KeyCounts>> {
        state
            .key_counts
            .devices
            .get_or_load(&key(user_id.as_str(), device_id), async {
                Ok(KeyCounts {
                    one_time: super::keys::one_time_key_counts(state, user_id, device_id).await?,
                    unused_fallback: super::keys::unused_fallback_key_types(
                        state, user_id, device_id,
                    )
                    .await?,
                })
            })
            .await
    }

    /// Forgets the counts of one device after its keys changed.
    pub fn invalidate(&self, user_id: &str, device_id: &str) {
        self.devices.invalidate(&key(user_id, device_id));
    }
}
