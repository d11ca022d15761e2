//! Unread notification counts of all of a user's rooms at once, for a response that sends
//! many rooms: one grouped query instead of one per room, counted by the same rule as
//! [`RoomReader::notification_counts`](super::RoomReader::notification_counts).

use std::collections::HashMap;

use ruma::UserId;

use super::exclusions::Exclusions;
use crate::state::AppState;
use crate::Result;

/// `(notification_count, highlight_count)` of each of a user's rooms with unread
/// notifications.
#[derive(Debug, Default)]
pub struct UnreadCounts {
    by_room: HashMap<String, (u64, u64)>,
}

impl UnreadCounts {
    /// The counts of every room of `user_id`, leaving out events of senders their
    /// `exclusions` hide, in one query.
    pub async fn load(
        state: &AppState,
        user_id: &UserId,
        exclusions: &Exclusions,
    ) -> Result<UnreadCounts> {
        let user = user_id.as_str();
        let mut by_room = HashMap::new();
        if !exclusions.hides_anyone() {
            for (room, notifications, highlights) in
                state.db.notification_counts_by_room(user).await?
            {
                by_room.insert(room, (notifications as u64, highlights as u64));
            }
            return Ok(UnreadCounts { by_room });
        }
        let mut rows: HashMap<String, Vec<(Option<String>, i64)>> = HashMap::new();
        for (room, sender, highlight) in state.db.unread_notifications_by_room(user).await? {
            rows.entry(room).or_default().push((sender, highlight));
        }
        for (room, unread) in rows {
            by_room.insert(room, count_shown(exclusions, unread));
        }
        Ok(UnreadCounts { by_room })
    }

    /// The counts of `room_id`.
    pub fn of(&self, room_id: &str) -> (u64, u64) {
        self.by_room.get(room_id).copied().unwrap_or_default()
    }

    /// The notification counts of all rooms together (a push notification's badge).
    pub fn notifications(&self) -> u64 {
        self.by_room
            .values()
            .map(|(notifications, _)| notifications)
            .sum()
    }
}

/// `(notification_count, highlight_count)` of unread `(sender, highlight)` rows, without those
/// whose sender `exclusions` hide (a row without sender, a release position, counts).
pub(super) fn count_shown(
    exclusions: &Exclusions,
    unread: impl IntoIterator<Item = (Option<String>, i64)>,
) -> (u64, u64) {
    let mut counts = (0, 0);
    for (sender, highlight) in unread {
        if !sender.is_some_and(|s| exclusions.hides_sender(&s)) {
            counts.0 += 1;
            counts.1 += u64::from(highlight != 0);
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notifications_of_hidden_senders_do_not_count() {
        let exclusions = Exclusions::from_ignored_list(&json!({ "ignored_users": { "@b:x": {} } }));
        let rows = vec![
            (Some("@a:x".to_owned()), 1),
            (Some("@b:x".to_owned()), 1),
            (None, 0),
        ];
        assert_eq!(count_shown(&exclusions, rows), (2, 1));
    }
}
