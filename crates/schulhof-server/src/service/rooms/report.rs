//! Reports of events, rooms and users (`/report`): stored in the `reports` table for the
//! school (`schulhof audit reports`), with an audit entry that names the reporter and what
//! was reported, never the reason or any message content.

use ruma::{EventId, RoomId, UserId};
use schulhof_policy::Action;
use schulhof_store::{AuditRow, ReportRow};

use crate::service::school::policy;
use crate::state::AppState;
use crate::{Error, Result};

/// What is reported.
#[derive(Debug, Clone, Copy)]
pub enum Reported<'a> {
    /// An event; the reporter must be joined to its room.
    Event {
        /// The room.
        room_id: &'a RoomId,
        /// The event.
        event_id: &'a EventId,
    },
    /// A room.
    Room(&'a RoomId),
    /// A user.
    User(&'a UserId),
}

impl Reported<'_> {
    /// The audit log's action.
    fn audit_action(self) -> &'static str {
        match self {
            Reported::Event { .. } => "report.event",
            Reported::Room(_) => "report.room",
            Reported::User(_) => "report.user",
        }
    }

    /// The audit log's target: the room or user ID.
    fn target(self) -> String {
        match self {
            Reported::Event { room_id, .. } | Reported::Room(room_id) => room_id.to_string(),
            Reported::User(user_id) => user_id.to_string(),
        }
    }
}

/// Stores a report by `reporter` (if the rights allow: `Report`). 404 if what is reported
/// does not exist or, for an event, the reporter is not joined to its room.
pub async fn report(
    state: &AppState,
    reporter: &UserId,
    reported: Reported<'_>,
    reason: &str,
) -> Result<()> {
    let target = reported.target();
    policy::check(state, reporter, &Action::Report, &target).await?;
    require_exists(state, reporter, reported).await?;
    let ts = state.clock.now_ms();
    let (room_id, event_id, user_id) = match reported {
        Reported::Event { room_id, event_id } => {
            (Some(room_id.to_string()), Some(event_id.to_string()), None)
        }
        Reported::Room(room_id) => (Some(room_id.to_string()), None, None),
        Reported::User(user_id) => (None, None, Some(user_id.to_string())),
    };
    let audit = AuditRow {
        ts,
        actor: reporter.to_string(),
        action: reported.audit_action().to_owned(),
        target,
        detail: event_id.clone().unwrap_or_default(),
    };
    let report = ReportRow {
        ts,
        reporter: reporter.to_string(),
        room_id,
        event_id,
        user_id,
        reason: reason.to_owned(),
    };
    state.db.insert_report(&report, &audit).await?;
    Ok(())
}

/// 404 unless the reported room, event (in a room the reporter is joined to) or user exists.
async fn require_exists(state: &AppState, reporter: &UserId, reported: Reported<'_>) -> Result<()> {
    let exists = match reported {
        Reported::Event { room_id, event_id } => {
            let joined = state
                .rooms
                .snapshot(&state.db, room_id)
                .await?
                .is_some_and(|room| room.is_joined(reporter));
            joined
                && state
                    .db
                    .event(event_id.as_str())
                    .await?
                    .is_some_and(|event| event.room_id == room_id.as_str())
        }
        Reported::Room(room_id) => state.rooms.snapshot(&state.db, room_id).await?.is_some(),
        Reported::User(user_id) => state.db.user(user_id.as_str()).await?.is_some(),
    };
    if exists {
        return Ok(());
    }
    Err(match reported {
        Reported::Event { .. } => Error::not_found(
            "Diese Nachricht gibt es nicht, oder sie ist in einem Raum, in dem dieses Konto nicht ist.",
            "The event was not found or you are not joined to the room.",
        ),
        Reported::Room(_) => Error::not_found("Diesen Raum gibt es nicht.", "Unknown room."),
        Reported::User(_) => Error::not_found("Diesen Benutzer gibt es nicht.", "Unknown user."),
    })
}
