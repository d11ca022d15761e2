//! Per-recipient exclusions: events a particular user must not be shown although the room's
//! visibility would allow it. Today these are events from users they ignore
//! (`m.ignored_user_list`, which the spec says servers must not deliver); quiet-hours holds
//! plug in here next. Cached per user and dropped by the commit path when the list changes.

use std::collections::HashSet;
use std::sync::Arc;

use ruma::UserId;
use schulhof_store::EventRow;
use serde_json::Value;

use crate::service::user::account_data::account_data;
use crate::service::user::user_cache::UserCache;
use crate::state::AppState;
use crate::Result;

/// The account data type that lists ignored users.
pub const IGNORED_USERS_TYPE: &str = "m.ignored_user_list";

/// What one user must not be shown.
#[derive(Debug, Default)]
pub struct Exclusions {
    ignored: HashSet<String>,
}

impl Exclusions {
    /// Exclusions from the content of `m.ignored_user_list`.
    pub fn from_ignored_list(content: &Value) -> Self {
        let ignored = content
            .get("ignored_users")
            .and_then(Value::as_object)
            .map(|users| users.keys().cloned().collect())
            .unwrap_or_default();
        Self { ignored }
    }

    /// Whether anyone's events are hidden at all.
    pub fn hides_anyone(&self) -> bool {
        !self.ignored.is_empty()
    }

    /// Whether events sent by `sender` are hidden.
    pub fn hides_sender(&self, sender: &str) -> bool {
        self.ignored.contains(sender)
    }

    /// Whether this event is hidden. State events stay visible (the room's state must stay
    /// whole for the client), as do member events about the user themselves.
    pub fn hides(&self, event: &EventRow) -> bool {
        event.state_key.is_none() && self.hides_sender(&event.sender)
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
                Ok(account_data(state, user_id, None, IGNORED_USERS_TYPE)
                    .await?
                    .map(|content| Exclusions::from_ignored_list(&content))
                    .unwrap_or_default())
            })
            .await
    }

    /// Forgets a user's exclusions after they changed (called by the commit path).
    pub fn invalidate(&self, user_id: &UserId) {
        self.users.invalidate(user_id.as_str());
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
}
