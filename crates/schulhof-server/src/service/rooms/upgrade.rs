//! Room upgrades (`POST /rooms/{roomId}/upgrade`): a new room of the requested version that
//! continues the old one. Only staff may upgrade (`UpgradeRoom`), so a student or parent cannot
//! escape a room's rules by moving to a fresh room they create.
//!
//! The new room gets the old room's settings (power levels, join rules, history visibility,
//! name, topic, avatar, encryption, ACL, canonical alias), the upgrading user joins it and
//! invites the old room's members (those the policy lets them invite). The old room gets a
//! tombstone pointing to the new one, its aliases and directory entry move, and only
//! moderators can still write or invite there.

use std::sync::Arc;

use ruma::events::StateEventType;
use ruma::{OwnedRoomId, RoomId, RoomVersionId, UserId};
use schulhof_policy::{Action, Managed, RoomFacts};
use serde_json::{json, Value};

use super::create::{default_power_levels, member_content, SUPPORTED_VERSIONS};
use super::{EventTemplate, RoomCreation, RoomSnapshot, Rooms};
use crate::service::school::policy::{Context, RoomOrigin};
use crate::state::AppState;
use crate::{Error, Result};

/// State the new room takes over from the old one (besides the power levels).
const COPIED_STATE: [&str; 9] = [
    "m.room.join_rules",
    "m.room.history_visibility",
    "m.room.guest_access",
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.encryption",
    "m.room.server_acl",
    "m.room.canonical_alias",
];

/// The level the upgrading user has at least in the new room.
const UPGRADER_LEVEL: i64 = 100;

/// The level needed to write or invite in the old room afterwards (at least).
const RETIRED_LEVEL: i64 = 50;

/// Upgrades `room_id` to `new_version` on behalf of `user`; returns the new room's ID.
pub async fn upgrade(
    state: &AppState,
    user: &UserId,
    room_id: &RoomId,
    new_version: &RoomVersionId,
) -> Result<OwnedRoomId> {
    let ctx = Context::now(state);
    let old = require_may_upgrade(state, &ctx, user, room_id).await?;
    if !SUPPORTED_VERSIONS.contains(&new_version.as_str()) {
        return Err(Error::UnsupportedRoomVersion);
    }
    let origin = ctx.origin_for(user, old.origin.is_some_and(|o| o.is_direct));
    let events = new_room_events(state, &ctx, &old, user, origin).await?;
    let content = create_content(&old, user, new_version);
    let room = RoomCreation {
        version: new_version.clone(),
        origin,
        alias: None,
    };
    let new_room = Rooms::create(state, user, room, content, events).await?;
    retire(state, &old, user, &new_room).await?;
    Ok(new_room)
}

/// 403 unless `user` may upgrade `room_id`: the school's rights (`UpgradeRoom`), and in the
/// room they are joined and may send its tombstone and power levels. Returns the room.
pub async fn require_may_upgrade(
    state: &AppState,
    ctx: &Context,
    user: &UserId,
    room_id: &RoomId,
) -> Result<Arc<RoomSnapshot>> {
    ctx.check(state, user, &Action::UpgradeRoom, room_id.as_str())
        .await?;
    let old = state.rooms.existing(&state.db, room_id).await?;
    old.require_joined(user)?;
    let levels = old.power_levels();
    let may = [
        StateEventType::RoomTombstone,
        StateEventType::RoomPowerLevels,
    ]
    .into_iter()
    .all(|kind| levels.user_can_send_state(user, kind));
    if !may {
        return Err(Error::forbidden(
            "Diesen Raum kann nur aktualisieren, wer ihn verwaltet.",
            "Only someone who manages this room can upgrade it.",
        ));
    }
    Ok(old)
}

/// The new room's `m.room.create` content: the old one's (e.g. its `type`), with the new
/// version and a `predecessor` pointing to the old room's last event.
fn create_content(old: &RoomSnapshot, user: &UserId, version: &RoomVersionId) -> Value {
    let mut content = old
        .content("m.room.create", "")
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    if let Some(object) = content.as_object_mut() {
        object.remove("creator");
    }
    content["room_version"] = json!(version.as_str());
    content["predecessor"] = json!({ "room_id": old.room_id, "event_id": old.last_event });
    if *version == RoomVersionId::V10 {
        content["creator"] = json!(user);
    }
    content
}

/// The new room's events after `m.room.create`: the upgrader joins, the old room's state,
/// then invitations of the old room's members.
async fn new_room_events(
    state: &AppState,
    ctx: &Context,
    old: &RoomSnapshot,
    user: &UserId,
    origin: RoomOrigin,
) -> Result<Vec<EventTemplate>> {
    let mut events = vec![
        EventTemplate::state(
            "m.room.member",
            user.as_str(),
            member_content(state, user, "join").await?,
        ),
        EventTemplate::state("m.room.power_levels", "", upgrader_levels(old, user)),
    ];
    for kind in COPIED_STATE {
        if let Some(content) = old.content(kind, "") {
            events.push(EventTemplate::state(kind, "", content));
        }
    }
    let facts = RoomFacts {
        creator_role: origin.creator_role,
        members: &[],
        is_direct: origin.is_direct,
        managed: Managed::No,
    };
    for member in old.joined_and_invited() {
        let invite = Action::Invite {
            target: member.localpart(),
            room: &facts,
        };
        if member != user && ctx.decide(user, &invite).is_allowed() {
            let content = member_content(state, member, "invite").await?;
            events.push(EventTemplate::state(
                "m.room.member",
                member.as_str(),
                content,
            ));
        }
    }
    Ok(events)
}

/// The old room's power levels with the upgrader at level 100 at least.
fn upgrader_levels(old: &RoomSnapshot, user: &UserId) -> Value {
    let mut levels = old
        .content("m.room.power_levels", "")
        .filter(Value::is_object)
        .unwrap_or_else(|| default_power_levels(user, &[]));
    if !levels.get("users").is_some_and(Value::is_object) {
        levels["users"] = json!({});
    }
    let level = levels["users"][user.as_str()].as_i64().unwrap_or(0);
    levels["users"][user.as_str()] = json!(level.max(UPGRADER_LEVEL));
    levels
}

/// The old room's power levels after the upgrade: writing and inviting need moderator level.
fn retired_levels(old: &RoomSnapshot) -> Value {
    let mut levels = old
        .content("m.room.power_levels", "")
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    let users_default = levels["users_default"].as_i64().unwrap_or(0);
    let needed = RETIRED_LEVEL.max(users_default + 1);
    for key in ["events_default", "invite"] {
        let current = levels[key].as_i64().unwrap_or(0);
        levels[key] = json!(current.max(needed));
    }
    levels
}

/// Points the old room to the new one: aliases and directory entry move, a tombstone, the
/// canonical alias removed, writing and inviting for moderators only.
async fn retire(
    state: &AppState,
    old: &RoomSnapshot,
    user: &UserId,
    new_room: &RoomId,
) -> Result<()> {
    let old_id = old.room_id.as_str();
    state.db.move_aliases(old_id, new_room.as_str()).await?;
    if state.db.room_published(old_id).await? {
        state.db.set_room_published(new_room.as_str(), true).await?;
        state.db.set_room_published(old_id, false).await?;
    }
    let tombstone = json!({
        "body": "Dieser Raum wurde durch einen neuen ersetzt.",
        "replacement_room": new_room,
    });
    let mut events = vec![
        EventTemplate::state("m.room.tombstone", "", tombstone),
        EventTemplate::state("m.room.power_levels", "", retired_levels(old)),
    ];
    if old.content("m.room.canonical_alias", "").is_some() {
        events.push(EventTemplate::state(
            "m.room.canonical_alias",
            "",
            json!({}),
        ));
    }
    for event in events {
        Rooms::send(state, &old.room_id, user, event, None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room_with_levels(levels: Option<Value>) -> RoomSnapshot {
        let events: Vec<_> = levels
            .into_iter()
            .map(|levels| ("@a:s", "m.room.power_levels", "", levels))
            .collect();
        RoomSnapshot::for_test(&events)
    }
    #[test]
    fn the_upgrader_gets_at_least_moderator_power() {
        let user = UserId::parse("@t:s").unwrap();
        let room = room_with_levels(Some(json!({ "users": { "@t:s": 50, "@a:s": 100 } })));
        let levels = upgrader_levels(&room, &user);
        assert_eq!(levels["users"]["@t:s"], 100);
        assert_eq!(levels["users"]["@a:s"], 100);
        let room = room_with_levels(Some(json!({ "users": { "@t:s": 150 } })));
        assert_eq!(upgrader_levels(&room, &user)["users"]["@t:s"], 150);
        let room = room_with_levels(None);
        assert_eq!(upgrader_levels(&room, &user)["users"]["@t:s"], 100);
    }

    #[test]
    fn the_old_room_is_for_moderators_only() {
        let room = room_with_levels(Some(json!({ "events_default": 0, "invite": 0 })));
        let levels = retired_levels(&room);
        assert_eq!(levels["events_default"], 50);
        assert_eq!(levels["invite"], 50);
        let room = room_with_levels(Some(json!({ "users_default": 60, "invite": 100 })));
        let levels = retired_levels(&room);
        assert_eq!(levels["events_default"], 61);
        assert_eq!(levels["invite"], 100);
    }
}
