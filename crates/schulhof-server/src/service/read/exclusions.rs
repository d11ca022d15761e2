//! Per-recipient exclusions: events a particular user must not be shown, or shown elsewhere,
//! although the room's visibility would allow them:
//! - events from users they ignore (`m.ignored_user_list`, which the spec says servers must not
//!   deliver);
//! - events held for them by quiet hours (`service::quiet_hours`): hidden while held, never
//!   shown if withdrawn or dropped, and once released shown at their release position instead
//!   of where they were sent, so they reach the recipient's next sync as new events.
//!
//! Cached per user and dropped by the commit path when the list or the holds change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::RangeInclusive;
use std::sync::Arc;

use ruma::UserId;
use schulhof_store::{EventRow, HoldRow, HOLD_RELEASED};
use serde_json::Value;

use crate::service::user::account_data::account_data;
use crate::service::user::user_cache::UserCache;
use crate::state::AppState;
use crate::Result;

/// The account data type that lists ignored users.
pub const IGNORED_USERS_TYPE: &str = "m.ignored_user_list";

/// What one user must not be shown, or sees elsewhere.
#[derive(Debug, Default)]
pub struct Exclusions {
    ignored: HashSet<String>,
    holds: Holds,
}

/// A user's quiet-hours holds, as the reader needs them.
#[derive(Debug, Default)]
struct Holds {
    /// Positions of events the user does not see where they were sent (held, withdrawn,
    /// dropped, or released and seen at their release position).
    displaced: HashSet<i64>,
    /// Room → release position → the released event's own position.
    released: HashMap<String, BTreeMap<i64, i64>>,
    /// A released event's own position → its release position.
    release_of: HashMap<i64, i64>,
}

impl Holds {
    fn from_rows(rows: Vec<HoldRow>) -> Holds {
        let mut holds = Holds::default();
        for row in rows {
            holds.displaced.insert(row.event_pos);
            if let (HOLD_RELEASED, Some(at)) = (row.status.as_str(), row.released_pos) {
                holds
                    .released
                    .entry(row.room_id)
                    .or_default()
                    .insert(at, row.event_pos);
                holds.release_of.insert(row.event_pos, at);
            }
        }
        holds
    }
}

impl Exclusions {
    /// Exclusions from the content of `m.ignored_user_list`.
    pub fn from_ignored_list(content: &Value) -> Self {
        let ignored = content
            .get("ignored_users")
            .and_then(Value::as_object)
            .map(|users| users.keys().cloned().collect())
            .unwrap_or_default();
        Self {
            ignored,
            holds: Holds::default(),
        }
    }

    /// Whether anyone's events are hidden by sender at all.
    pub fn hides_anyone(&self) -> bool {
        !self.ignored.is_empty()
    }

    /// Whether events sent by `sender` are hidden.
    pub fn hides_sender(&self, sender: &str) -> bool {
        self.ignored.contains(sender)
    }

    /// Whether this event, at the position it has for this user, is hidden. State events stay
    /// visible (the room's state must stay whole for the client; they are never held).
    pub fn hides(&self, event: &EventRow) -> bool {
        self.hides_at(event.stream_pos, &event.sender, event.state_key.is_some())
    }

    /// [`hides`](Self::hides) for the event at `pos` (the position it has for this user) sent
    /// by `sender`, a state event if `state`.
    pub fn hides_at(&self, pos: i64, sender: &str, state: bool) -> bool {
        !state && (self.hides_sender(sender) || self.holds.displaced.contains(&pos))
    }

    /// Where this user sees the event sent at `event_pos`, if it was released to them from
    /// quiet hours.
    pub fn release_position(&self, event_pos: i64) -> Option<i64> {
        self.holds.release_of.get(&event_pos).copied()
    }

    /// Events of `room_id` released to this user at positions in `range`, as
    /// `(release position, the event's own position)`, in stream order.
    pub fn released_in(
        &self,
        room_id: &str,
        range: RangeInclusive<i64>,
    ) -> impl DoubleEndedIterator<Item = (i64, i64)> + '_ {
        self.holds
            .released
            .get(room_id)
            .into_iter()
            .flat_map(move |by_pos| by_pos.range(range.clone()))
            .map(|(at, pos)| (*at, *pos))
    }

    /// Whether events of `room_id` were released to this user in `(since, until]`.
    pub fn released_between(&self, room_id: &str, since: i64, until: i64) -> bool {
        since < until
            && self
                .released_in(room_id, since + 1..=until)
                .next()
                .is_some()
    }
}

/// Cache of every user's exclusions.
#[derive(Default)]
pub struct ExclusionCache {
    users: UserCache<Exclusions>,
}

impl ExclusionCache {
    /// The exclusions of `user_id`.
    pub async fn of(&self, state: &AppState, user_id: &UserId) -> Result<Arc<Exclusions>> {
        self.users
            .get_or_load(user_id.as_str(), async {
                let mut exclusions = account_data(state, user_id, None, IGNORED_USERS_TYPE)
                    .await?
                    .map(|content| Exclusions::from_ignored_list(&content))
                    .unwrap_or_default();
                exclusions.holds = Holds::from_rows(state.db.holds_of(user_id.as_str()).await?);
                Ok(exclusions)
            })
            .await
    }

    /// Forgets a user's exclusions after they changed (called by the commit path).
    pub fn invalidate(&self, user_id: &str) {
        self.users.invalidate(user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(sender: &str, state_key: Option<&str>) -> EventRow {
        EventRow {
            stream_pos: 1,
            event_id: "$e".into(),
            room_id: "!r:x".into(),
            sender: sender.into(),
            event_type: "m.room.message".into(),
            state_key: state_key.map(str::to_owned),
            json: "{}".into(),
            txn_device: None,
            txn_id: None,
        }
    }

    #[test]
    fn messages_of_ignored_users_are_hidden_but_state_is_kept() {
        let e = Exclusions::from_ignored_list(&json!({ "ignored_users": { "@b:x": {} } }));
        assert!(e.hides(&event("@b:x", None)));
        assert!(!e.hides(&event("@c:x", None)));
        assert!(!e.hides(&event("@b:x", Some(""))));
    }

    #[test]
    fn a_malformed_list_hides_nothing() {
        let e = Exclusions::from_ignored_list(&json!({ "ignored_users": ["@b:x"] }));
        assert!(!e.hides(&event("@b:x", None)));
    }

    fn hold(pos: i64, status: &str, released: Option<i64>) -> HoldRow {
        HoldRow {
            event_pos: pos,
            room_id: "!r:x".into(),
            status: status.into(),
            released_pos: released,
            release_ts: 0,
        }
    }

    #[test]
    fn held_events_are_hidden_where_sent_and_released_ones_appear_at_their_release() {
        let e = Exclusions {
            ignored: HashSet::new(),
            holds: Holds::from_rows(vec![
                hold(5, "held", None),
                hold(6, "released", Some(40)),
                hold(7, "withdrawn", None),
                hold(8, "released", Some(41)),
            ]),
        };
        let at = |pos: i64| EventRow {
            stream_pos: pos,
            ..event("@s:x", None)
        };
        for hidden in [5, 6, 7, 8] {
            assert!(e.hides(&at(hidden)), "{hidden}");
        }
        assert!(!e.hides(&at(40)));
        assert!(!e.hides(&at(9)));
        assert_eq!(e.release_position(6), Some(40));
        assert_eq!(e.release_position(5), None);
        let all: Vec<_> = e.released_in("!r:x", 0..=100).collect();
        assert_eq!(all, vec![(40, 6), (41, 8)]);
        let newest_first: Vec<_> = e.released_in("!r:x", 0..=100).rev().collect();
        assert_eq!(newest_first, vec![(41, 8), (40, 6)]);
        assert!(e.released_between("!r:x", 39, 40));
        assert!(!e.released_between("!r:x", 41, 50));
        assert!(!e.released_between("!other:x", 0, 50));
    }
}
