//! Storage for Schulhof: one [`Db`] handle over either an embedded SQLite file or PostgreSQL.
//!
//! Every query is written once with `$N` placeholders that both engines understand; the
//! [`with_db!`] and [`with_tx!`] macros expand it for the engine in use, and [`execute!`],
//! [`fetch!`] and [`scalar!`] (with `_tx` forms for transactions) write the common shapes.
//! Time is stored as i64 milliseconds and JSON as text, so both engines hold exactly the same
//! data.

#![warn(missing_docs)]

mod accounts;
mod appservice_outbox;
mod batch;
mod db;
mod delayed_events;
mod directory;
mod e2ee;
mod error;
mod events;
mod job_lock;
mod key_backup;
mod migrate;
mod misc;
mod notices;
mod personal_data;
mod policy;
mod push;
mod quiet_hours;
mod serve_lease;
mod start_codes;
mod state_part;
mod user_data;

pub use accounts::{DeviceRow, TokenRow, UserRow};
pub use appservice_outbox::{
    AppserviceOutboxRow, NewOutboxRow, OutboxTxn, OUTBOX_EPHEMERAL, OUTBOX_EVENT,
};
pub use db::{Db, Tx};
pub use delayed_events::{
    DelayedQuery, DelayedRow, NewDelayed, StateChange, DELAYED_CANCELLED, DELAYED_FAILED,
    DELAYED_SCHEDULED, DELAYED_SENDING, DELAYED_SENT,
};
pub use directory::{AuditRow, DirectoryListener, DIRECTORY_CHANNEL};
pub use e2ee::{DeviceKeysRow, KeySignatureRow, NewToDevice, OneTimeKeyRow, ToDeviceRow};
pub use error::{MigrationError, StoreError};
pub use events::{EventRow, MembershipRow, NewEvent, RelatingEvent, StateRow};
pub use job_lock::{job_lock_key, JobLock};
pub use key_backup::{BackupCounts, BackupKeyRow, BackupUpload, BackupVersionRow};
pub use misc::MediaRow;
pub use policy::{ReportRow, RoomOriginRow};
pub use push::{NotificationRow, PushOutboxRow, PusherRow};
pub use quiet_hours::{
    DuePair, HoldRow, NewHold, PersonalQuietHours, HOLD_DROPPED, HOLD_HELD, HOLD_RELEASED,
    HOLD_WITHDRAWN,
};
pub use serve_lease::ServeLease;
pub use state_part::StatePart;
pub use user_data::{AccountDataRow, NewNotifications, ReceiptRow};

/// Result type of every store call.
pub type Result<T> = std::result::Result<T, StoreError>;
