//! History visibility: which events of a room a user may see.
//!
//! Follows the spec's algorithm: visible if the room was `world_readable` at the event; if the
//! user was joined at the event; if it was `shared` and the user joined at any time after; if it
//! was `invited` and the user was invited or joined at the event. A user always sees their own
//! member events. In rooms of students and parents (`RoomOrigin::limits_history`) the
//! visibility is at most `invited`, whatever the room's state says.

use schulhof_store::Db;
use serde_json::Value;

use crate::Result;

/// The membership and visibility history of one user in one room.
pub struct Visibility {
    user_id: String,
    /// `(stream_pos, membership)` of the user's member events, oldest first.
    memberships: Vec<(i64, String)>,
    /// `(stream_pos, history_visibility)`, oldest first.
    visibilities: Vec<(i64, String)>,
}

fn value_at(history: &[(i64, String)], pos: i64) -> Option<&str> {
    history
        .iter()
        .rev()
        .find(|(p, _)| *p <= pos)
        .map(|(_, v)| v.as_str())
}

fn field(json: &str, field: &str) -> String {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| v.get("content")?.get(field)?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `visibility`, capped at `invited` if `limited` (`joined` stays).
fn capped(visibility: String, limited: bool) -> String {
    if limited && visibility != "joined" {
        "invited".to_owned()
    } else {
        visibility
    }
}

impl Visibility {
    /// Loads the history of `user_id` in `room_id` up to `until`; `limited`: the room's
    /// history is visible at most from one's invitation on.
    pub async fn load(
        db: &Db,
        room_id: &str,
        user_id: &str,
        until: i64,
        limited: bool,
    ) -> Result<Self> {
        let memberships = db
            .membership_history(room_id, user_id, until)
            .await?
            .into_iter()
            .map(|r| (r.stream_pos, field(&r.json, "membership")))
            .collect();
        let visibilities = db
            .state_history(room_id, "m.room.history_visibility", until)
            .await?
            .into_iter()
            .map(|r| {
                let visibility = field(&r.json, "history_visibility");
                (r.stream_pos, capped(visibility, limited))
            })
            .collect();
        Ok(Self {
            user_id: user_id.to_owned(),
            memberships,
            visibilities,
        })
    }

    /// Whether the event at `pos` (of type `kind` with `state_key`) is visible to the user.
    pub fn can_see(&self, pos: i64, kind: &str, state_key: Option<&str>) -> bool {
        if kind == "m.room.member" && state_key == Some(self.user_id.as_str()) {
            return true;
        }
        // Spec default when unset: shared.
        let visibility = value_at(&self.visibilities, pos).unwrap_or("shared");
        let membership = value_at(&self.memberships, pos).unwrap_or("leave");
        match visibility {
            "world_readable" => true,
            _ if membership == "join" => true,
            "shared" => self
                .memberships
                .iter()
                .any(|(p, m)| *p > pos && m == "join"),
            "invited" => membership == "invite",
            _ => false,
        }
    }

    /// The position of the user's last member event that ended their presence in the room
    /// (`leave` or `ban`) after which nothing more may be seen, if they are not joined now.
    pub fn left_at(&self) -> Option<i64> {
        match self.memberships.last() {
            Some((pos, m)) if m == "leave" || m == "ban" => Some(*pos),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vis(memberships: &[(i64, &str)], visibilities: &[(i64, &str)]) -> Visibility {
        Visibility {
            user_id: "@u:x".into(),
            memberships: memberships
                .iter()
                .map(|(p, m)| (*p, m.to_string()))
                .collect(),
            visibilities: visibilities
                .iter()
                .map(|(p, m)| (*p, m.to_string()))
                .collect(),
        }
    }

    #[test]
    fn shared_history_is_visible_after_joining() {
        let v = vis(&[(10, "join")], &[(2, "shared")]);
        assert!(v.can_see(5, "m.room.message", None));
        assert!(v.can_see(11, "m.room.message", None));
    }

    #[test]
    fn joined_history_hides_the_past() {
        let v = vis(&[(10, "join")], &[(2, "joined")]);
        assert!(!v.can_see(5, "m.room.message", None));
        assert!(v.can_see(11, "m.room.message", None));
    }

    #[test]
    fn invited_history_shows_from_the_invite() {
        let v = vis(&[(8, "invite"), (10, "join")], &[(2, "invited")]);
        assert!(!v.can_see(5, "m.room.message", None));
        assert!(v.can_see(9, "m.room.message", None));
    }

    #[test]
    fn nothing_after_leaving() {
        let v = vis(&[(10, "join"), (20, "leave")], &[(2, "shared")]);
        assert!(v.can_see(15, "m.room.message", None));
        assert!(!v.can_see(25, "m.room.message", None));
        assert!(v.can_see(20, "m.room.member", Some("@u:x")));
        assert_eq!(v.left_at(), Some(20));
    }

    #[test]
    fn limited_rooms_show_history_from_the_invitation_only() {
        assert_eq!(capped("shared".into(), true), "invited");
        assert_eq!(capped("world_readable".into(), true), "invited");
        assert_eq!(capped("joined".into(), true), "joined");
        assert_eq!(capped("shared".into(), false), "shared");
        let v = vis(&[(8, "invite"), (10, "join")], &[(2, "invited")]);
        assert!(!v.can_see(5, "m.room.message", None));
    }

    #[test]
    fn world_readable_is_visible_to_all() {
        let v = vis(&[], &[(2, "world_readable")]);
        assert!(v.can_see(5, "m.room.message", None));
    }
}
