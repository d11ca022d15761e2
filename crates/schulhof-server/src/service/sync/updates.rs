//! What changed for one user since their last sync, as Rust types: the sync engine's output,
//! independent of the response format.

use ruma::OwnedUserId;
use schulhof_store::EventRow;
use serde_json::Value;

use super::SinceToken;

/// Everything one sync response carries.
#[derive(Default)]
pub struct SyncUpdate {
    /// Where this response ends.
    pub next_batch: SinceToken,
    /// Rooms the user is joined to that have news (all of them on an initial sync).
    pub joined: Vec<JoinedRoomUpdate>,
    /// New invitations.
    pub invited: Vec<InvitedRoomUpdate>,
    /// Rooms the user left (or was removed from) since the last sync.
    pub left: Vec<LeftRoomUpdate>,
    /// Changed global account data, as `{type, content}` events.
    pub account_data: Vec<Value>,
    /// New to-device messages, as `{sender, type, content}`.
    pub to_device: Vec<Value>,
    /// Users whose device lists changed.
    pub device_lists_changed: Vec<String>,
    /// Users who no longer share a room with the user.
    pub device_lists_left: Vec<String>,
    /// Unclaimed one-time keys of the device, by algorithm.
    pub one_time_key_counts: serde_json::Map<String, Value>,
    /// Unused fallback key algorithms of the device.
    pub unused_fallback_key_types: Vec<String>,
    /// Every room the user is joined to (for typing expiry while waiting).
    pub joined_room_ids: Vec<String>,
}

impl SyncUpdate {
    /// Whether the response holds anything the client has not seen.
    pub fn has_news(&self) -> bool {
        !(self.joined.is_empty()
            && self.invited.is_empty()
            && self.left.is_empty()
            && self.account_data.is_empty()
            && self.to_device.is_empty()
            && self.device_lists_changed.is_empty()
            && self.device_lists_left.is_empty())
    }
}

/// A timeline slice of a room.
#[derive(Default)]
pub struct Timeline {
    /// Visible, filtered events, oldest first.
    pub events: Vec<EventRow>,
    /// More events in the range were left out.
    pub limited: bool,
    /// The position just before the first event (the `prev_batch` and state point).
    pub prev_batch: i64,
}

/// The news of one joined room.
pub struct JoinedRoomUpdate {
    /// The room.
    pub room_id: String,
    /// New events.
    pub timeline: Timeline,
    /// The client gets the room whole: `state` is the full (selected) state, not a change.
    pub full: bool,
    /// State before the timeline the client does not have.
    pub state: Vec<EventRow>,
    /// The users typing now, if that changed (or, for a whole room, if anyone is).
    pub typing: Option<Vec<String>>,
    /// Changed receipts, as the content of an `m.receipt` event.
    pub receipts: Option<Value>,
    /// Changed room account data, as `{type, content}` events.
    pub account_data: Vec<Value>,
    /// `(notification_count, highlight_count)`.
    pub unread: (u64, u64),
    /// The room summary.
    pub summary: Summary,
}

/// The room summary clients use to name rooms without a name.
pub struct Summary {
    /// Up to five members other than the user, sorted.
    pub heroes: Vec<OwnedUserId>,
    /// Joined members.
    pub joined: u64,
    /// Invited members.
    pub invited: u64,
}

/// A new invitation with the room's stripped state.
pub struct InvitedRoomUpdate {
    /// The room.
    pub room_id: String,
    /// Stripped state events.
    pub invite_state: Vec<Value>,
}

/// The last part of a room the user left.
pub struct LeftRoomUpdate {
    /// The room.
    pub room_id: String,
    /// Events up to the leave.
    pub timeline: Timeline,
    /// State before the timeline.
    pub state: Vec<EventRow>,
}
