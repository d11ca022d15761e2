//! Simplified sliding sync (MSC4186) as Element X runs it on matrix-sdk: two connections per
//! device, one for the room list (with the account-data, receipts and typing extensions) and
//! one for encryption (to-device and e2ee).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use matrix_sdk::ruma::api::client::sync::sync_events::v5 as http;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::events::StateEventType;
use matrix_sdk::ruma::{uint, RoomId};
use matrix_sdk::sliding_sync::Version;
use matrix_sdk::sync::RoomUpdates;
use matrix_sdk::{Client, SlidingSync, SlidingSyncList, SlidingSyncMode};
use tokio::sync::broadcast;

/// The endpoint.
pub const SLIDING_SYNC_PATH: &str = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";

/// The room list's name.
pub const ALL_ROOMS: &str = "all_rooms";

/// Long-poll timeout of one request.
const POLL_TIMEOUT: Duration = Duration::from_millis(300);

/// The state Element X's room list asks for with every room.
pub fn room_list_required_state() -> Vec<(StateEventType, String)> {
    [
        (StateEventType::RoomEncryption, ""),
        (StateEventType::RoomMember, "$LAZY"),
        (StateEventType::RoomMember, "$ME"),
        (StateEventType::RoomName, ""),
        (StateEventType::RoomTopic, ""),
        (StateEventType::RoomAvatar, ""),
        (StateEventType::RoomCanonicalAlias, ""),
        (StateEventType::RoomPowerLevels, ""),
        (StateEventType::RoomJoinRules, ""),
        (StateEventType::RoomCreate, ""),
        (StateEventType::RoomHistoryVisibility, ""),
    ]
    .into_iter()
    .map(|(kind, key)| (kind, key.to_owned()))
    .collect()
}

/// A device's two sliding-sync connections.
pub struct SlidingSession {
    room_list: SlidingSync,
    encryption: SlidingSync,
    updates: Mutex<broadcast::Receiver<RoomUpdates>>,
    unknown_positions: AtomicUsize,
}

impl SlidingSession {
    /// Sets up both connections of `client` (not yet synced), with a room list of the
    /// `list_size` most recently active rooms.
    pub async fn start(client: &Client, list_size: u32) -> Result<Self> {
        client.set_sliding_sync_version(Version::Native);
        let updates = Mutex::new(client.subscribe_to_all_room_updates());
        let list = SlidingSyncList::builder(ALL_ROOMS)
            .sync_mode(SlidingSyncMode::new_selective().add_range(0..=list_size.saturating_sub(1)))
            .timeline_limit(1)
            .required_state(room_list_required_state());
        let mut account_data = http::request::AccountData::default();
        account_data.enabled = Some(true);
        let mut receipts = http::request::Receipts::default();
        receipts.enabled = Some(true);
        let mut typing = http::request::Typing::default();
        typing.enabled = Some(true);
        let room_list = client
            .sliding_sync("room-list")?
            .add_list(list)
            .with_account_data_extension(account_data)
            .with_receipt_extension(receipts)
            .with_typing_extension(typing)
            .poll_timeout(POLL_TIMEOUT)
            .build()
            .await?;
        let mut to_device = http::request::ToDevice::default();
        to_device.enabled = Some(true);
        let mut e2ee = http::request::E2EE::default();
        e2ee.enabled = Some(true);
        let encryption = client
            .sliding_sync("encryption")?
            .with_to_device_extension(to_device)
            .with_e2ee_extension(e2ee)
            .poll_timeout(POLL_TIMEOUT)
            .build()
            .await?;
        Ok(Self {
            room_list,
            encryption,
            updates,
            unknown_positions: AtomicUsize::new(0),
        })
    }

    /// The room-list connection.
    pub fn room_list(&self) -> &SlidingSync {
        &self.room_list
    }

    /// Opens a room as Element X does: a subscription with a longer timeline.
    pub fn open(&self, room_id: &RoomId) {
        let mut settings = http::request::RoomSubscription::default();
        settings.timeline_limit = uint!(20);
        settings.required_state = room_list_required_state();
        self.room_list
            .subscribe_to_rooms(&[room_id], Some(settings), true);
    }

    /// How often the server answered `M_UNKNOWN_POS` (and the connection started over).
    pub fn unknown_positions(&self) -> usize {
        self.unknown_positions.load(Ordering::Relaxed)
    }

    /// One request on each connection (encryption first, so room keys are there before the
    /// messages they decrypt); returns the room updates the client processed.
    pub async fn round(&self) -> Result<Vec<RoomUpdates>> {
        self.once(&self.encryption)
            .await
            .context("encryption connection")?;
        self.once(&self.room_list)
            .await
            .context("room-list connection")?;
        let mut updates = self.updates.lock().unwrap_or_else(|p| p.into_inner());
        let mut drained = Vec::new();
        while let Ok(update) = updates.try_recv() {
            drained.push(update);
        }
        Ok(drained)
    }

    /// One request; after `M_UNKNOWN_POS` the connection starts over as Element X's does.
    async fn once(&self, connection: &SlidingSync) -> Result<()> {
        match connection.sync_once().await {
            Ok(_) => Ok(()),
            Err(error) if error.client_api_error_kind() == Some(&ErrorKind::UnknownPos) => {
                self.unknown_positions.fetch_add(1, Ordering::Relaxed);
                connection.expire_session().await;
                connection.sync_once().await?;
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}
