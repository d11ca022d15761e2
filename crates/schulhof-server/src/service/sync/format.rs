//! Stored events in the client format, as JSON text each, for one device (its transaction IDs
//! show in `unsigned`).

use schulhof_store::EventRow;
use serde_json::value::RawValue;

use crate::ruma_wrapper::Session;
use crate::service::rooms::pdu::client_event_text;
use crate::state::AppState;
use crate::{Error, Result};

/// Formats stored events for one device.
pub struct EventFormatter<'a> {
    session: &'a Session,
    now: i64,
}

impl<'a> EventFormatter<'a> {
    /// A formatter for `session`'s device at the server's current time.
    pub fn new(state: &AppState, session: &'a Session) -> Self {
        Self {
            session,
            now: state.clock.now_ms(),
        }
    }

    /// One event.
    pub fn event(&self, row: &EventRow) -> Result<Box<RawValue>> {
        let event = client_event_text(
            &row.json,
            false,
            Some((&self.session.user_id, self.session.device_id.as_str())),
            (row.txn_device.as_deref(), row.txn_id.as_deref()),
            self.now,
        );
        RawValue::from_string(event).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Each event, in order.
    pub fn events(&self, rows: &[EventRow]) -> Result<Vec<Box<RawValue>>> {
        rows.iter().map(|r| self.event(r)).collect()
    }
}
