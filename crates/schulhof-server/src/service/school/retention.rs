//! Retention: people missing from the import are deactivated at once and deleted (see
//! [`user_admin::delete`]) once they have been deactivated longer than
//! `[directory] retention_days`. Runs as a singleton job (one process of the deployment), at
//! start and then every hour.
//!
//! Deleted users leave their rooms through the normal event path (leave events sent as the
//! user), which only a running server may write: deletions queue the user, and the server
//! works through the queue after each directory change and after each retention run.

use std::sync::Arc;
use std::time::Duration;

use ruma::{RoomId, UserId};
use schulhof_directory::{DirectoryIndex, PersonStatus};

use crate::service::runtime::jobs::Stop;
use crate::service::{rooms::membership, school::user_admin};
use crate::state::AppState;
use crate::{Error, Result};

/// How often the retention job runs.
const INTERVAL: Duration = Duration::from_secs(3600);

/// One day in ms.
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The retention job: now and then every hour, once per deployment.
pub async fn job(state: Arc<AppState>, mut stop: Stop) {
    loop {
        match run(&state).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "retention: deleted expired accounts"),
            Err(err) => tracing::warn!(%err, "retention run failed"),
        }
        if !stop.sleep(INTERVAL).await {
            return;
        }
    }
}

/// Deletes everyone deactivated longer than the retention period and takes queued users out
/// of their rooms; returns how many people were deleted.
pub async fn run(state: &AppState) -> Result<usize> {
    let cutoff = state.clock.now_ms() - state.config.directory.retention_days * DAY_MS;
    let expired = expired(&state.directory.snapshot(), cutoff);
    for localpart in &expired {
        user_admin::delete(state, "retention", localpart).await?;
    }
    leave_queued_rooms(state).await;
    Ok(expired.len())
}

/// Localparts of the people deactivated at or before `cutoff` (ms since the epoch), sorted.
pub fn expired(index: &DirectoryIndex, cutoff: i64) -> Vec<String> {
    let mut expired: Vec<String> = index
        .people()
        .filter(
            |p| matches!(p.status, PersonStatus::Deactivated { since_ms } if since_ms <= cutoff),
        )
        .map(|p| p.localpart.clone())
        .collect();
    expired.sort();
    expired
}

/// Takes every queued user out of all rooms they are joined to, invited to or knocking on.
/// Failures are logged and retried after the next change.
pub async fn leave_queued_rooms(state: &AppState) {
    let queue = match state.db.room_leave_queue().await {
        Ok(queue) => queue,
        Err(err) => return tracing::warn!(%err, "reading the room leave queue"),
    };
    for user_id in queue {
        let left = async {
            leave_all_rooms(state, &user_id).await?;
            state.db.dequeue_room_leave(&user_id).await?;
            Ok::<_, Error>(())
        };
        if let Err(err) = left.await {
            tracing::warn!(%err, "taking a deleted user out of their rooms");
        }
    }
}

/// Sends a leave event as `user_id` into each room they are still in.
async fn leave_all_rooms(state: &AppState, user_id: &str) -> Result<()> {
    let user_id = UserId::parse(user_id).map_err(|e| Error::Internal(e.to_string()))?;
    for room in state.db.memberships(user_id.as_str()).await? {
        if !matches!(room.membership.as_str(), "join" | "invite" | "knock") {
            continue;
        }
        let room_id = RoomId::parse(&room.room_id).map_err(|e| Error::Internal(e.to_string()))?;
        membership::set_membership(state, &user_id, &room_id, &user_id, "leave", None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use schulhof_directory::{parse_csv, plan_import, Directory};

    #[test]
    fn only_people_deactivated_before_the_cutoff_expire() {
        let csv =
            "ID;Vorname;Nachname;Rolle\nS1;Ben;A;Schüler\nS2;Mia;A;Schüler\nS3;Tom;A;Schüler\n";
        let file = parse_csv(csv.as_bytes()).unwrap();
        let mut directory = plan_import(&Directory::default(), &file, 0).unwrap().result;
        let mut set = |id: &str, status| directory.people.get_mut(id).unwrap().status = status;
        set("S1", PersonStatus::Deactivated { since_ms: 100 });
        set("S2", PersonStatus::Deactivated { since_ms: 200 });
        assert_eq!(expired(&directory.index(), 150), ["ben.a"]);
        assert_eq!(expired(&directory.index(), 200), ["ben.a", "mia.a"]);
    }
}
