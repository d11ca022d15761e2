//! End-to-end encryption plumbing: device keys, one-time and fallback keys, cross-signing keys,
//! device list changes and to-device messages.

/// A to-device message waiting for a device.
#[derive(Debug, Clone)]
pub struct ToDeviceRow {
    /// Stream position.
    pub stream_pos: i64,
    /// Sender's user ID.
    pub sender: String,
    /// Event type.
    pub event_type: String,
    /// JSON content.
    pub content: String,
}
