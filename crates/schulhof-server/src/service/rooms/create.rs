//! `createRoom`: turning a request into the room's first events.

use ruma::api::client::room::create_room::v3::{Request, RoomPreset};
use ruma::api::client::room::Visibility;
use ruma::{OwnedRoomId, RoomAliasId, RoomId, RoomVersionId, UserId};
use schulhof_store::UserRow;
use serde_json::{json, Map, Value};

use super::build::check_power_levels;
use super::membership::require_account;
use super::upgrade::require_may_upgrade;
use super::{EventTemplate, RoomCreation, Rooms};
use crate::config::EncryptByDefault;
use crate::service::school::policy::{self, NewRoom};
use crate::state::AppState;
use crate::{Error, Result};

/// Room versions this server creates rooms in.
pub const SUPPORTED_VERSIONS: [&str; 2] = ["10", "11"];
/// The version used when the client does not ask for one.
pub const DEFAULT_VERSION: RoomVersionId = RoomVersionId::V10;

/// The spec's default power levels for a new room, creator at 100.
pub(super) fn default_power_levels(creator: &UserId, trusted_invitees: &[&UserId]) -> Value {
    let mut users = Map::new();
    users.insert(creator.to_string(), json!(100));
    for invitee in trusted_invitees {
        users.insert(invitee.to_string(), json!(100));
    }
    json!({
        "users": users,
        "users_default": 0,
        "events": {
            "m.room.name": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50,
            "m.room.avatar": 50,
            "m.room.tombstone": 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
        "historical": 100
    })
}

/// Whether the server adds `m.room.encryption` to a new room with `preset` itself
/// (`[encryption] enabled_by_default_for`): only while encryption is allowed by the
/// configuration and by the rights (`allow_encryption`).
pub fn encrypted_by_default(state: &AppState, preset: &RoomPreset) -> bool {
    let config = &state.config.encryption;
    let by_preset = match config.enabled_by_default_for {
        EncryptByDefault::All => true,
        EncryptByDefault::InviteOnly => *preset != RoomPreset::PublicChat,
        EncryptByDefault::Off => false,
    };
    by_preset && config.allow && state.policy.rights().allow_encryption
}

/// Merges `override_` into `base`, replacing top-level keys and merging `users`/`events` maps.
fn merge_power_levels(base: &mut Value, override_: &Value) {
    let (Some(base), Some(over)) = (base.as_object_mut(), override_.as_object()) else {
        return;
    };
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(new))
                if key == "users" || key == "events" =>
            {
                existing.extend(new.clone());
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A member event's content for a user joining with their profile.
pub async fn member_content(state: &AppState, user_id: &UserId, membership: &str) -> Result<Value> {
    let user = state.db.user(user_id.as_str()).await?;
    Ok(profile_content(user.as_ref(), membership))
}

/// A member event's content with the profile of `user` (their account, if they have one).
pub fn profile_content(user: Option<&UserRow>, membership: &str) -> Value {
    let mut content = json!({ "membership": membership });
    if let Some(user) = user {
        if let Some(name) = &user.displayname {
            content["displayname"] = json!(name);
        }
        if let Some(url) = &user.avatar_url {
            content["avatar_url"] = json!(url);
        }
    }
    content
}

/// Creates a room as `creator` from a `createRoom` request (`raw` is the request's JSON body);
/// `acting` is the appservice making the request, if any (only it may create an alias of
/// its exclusive namespace).
pub async fn create_room(
    state: &AppState,
    creator: &UserId,
    acting: Option<&str>,
    req: &Request,
    raw: &Value,
) -> Result<OwnedRoomId> {
    let version = match &req.room_version {
        Some(v) if SUPPORTED_VERSIONS.contains(&v.as_str()) => v.clone(),
        Some(_) => return Err(Error::UnsupportedRoomVersion),
        None => DEFAULT_VERSION,
    };
    let alias = match &req.room_alias_name {
        Some(name) => {
            let alias =
                RoomAliasId::parse(format!("#{name}:{}", state.server_name)).map_err(|_| {
                    Error::invalid_param("Ungültiger Raumalias.", "Invalid room alias.")
                })?;
            crate::service::appservice::exclusive::check_alias(state, alias.as_str(), acting)?;
            Some(alias)
        }
        None => None,
    };
    for invitee in &req.invite {
        require_account(state, invitee.as_str()).await?;
    }

    let mut create_content = raw
        .get("creation_content")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !create_content.is_object() {
        return Err(Error::bad_json(
            "creation_content muss ein Objekt sein.",
            "creation_content must be an object.",
        ));
    }
    create_content["room_version"] = json!(version.as_str());
    if version == RoomVersionId::V10 {
        create_content["creator"] = json!(creator);
    }
    let predecessor = predecessor(&create_content)?;

    let preset = req.preset.clone().unwrap_or(match req.visibility {
        Visibility::Public => RoomPreset::PublicChat,
        _ => RoomPreset::PrivateChat,
    });
    let trusted: Vec<&UserId> = match preset {
        RoomPreset::TrustedPrivateChat => req.invite.iter().map(|u| u.as_ref()).collect(),
        _ => vec![],
    };
    let mut power_levels = default_power_levels(creator, &trusted);
    if let Some(over) = raw.get("power_level_content_override") {
        check_power_levels(over)?;
        merge_power_levels(&mut power_levels, over);
    }
    let (join_rule, guest_access) = match preset {
        RoomPreset::PublicChat => ("public", "forbidden"),
        _ => ("invite", "can_join"),
    };
    let mut initial_state = initial_state(raw);
    let mut chosen_state: Vec<(&str, Value)> = initial_state
        .iter()
        .map(|t| (t.kind.as_str(), t.content.clone()))
        .collect();
    if raw.get("power_level_content_override").is_some() {
        chosen_state.push(("m.room.power_levels", power_levels.clone()));
    }
    if let Some(name) = &req.name {
        chosen_state.push(("m.room.name", json!({ "name": name })));
    }
    if let Some(topic) = &req.topic {
        chosen_state.push(("m.room.topic", json!({ "topic": topic })));
    }
    let invitees: Vec<&str> = req.invite.iter().map(|u| u.localpart()).collect();
    let new_room = NewRoom {
        direct: req.is_direct,
        invitees: &invitees,
        public: preset == RoomPreset::PublicChat || req.visibility == Visibility::Public,
        alias: alias.is_some(),
        space: create_content.get("type").and_then(Value::as_str) == Some("m.space"),
        managed: crate::service::school::managed::creation(
            state.appservices.all(),
            creator,
            &create_content,
        ),
        chosen_state: &chosen_state,
    };
    let origin = policy::check_create_room(state, creator, &new_room).await?;
    if let Some(old_room) = &predecessor {
        require_may_upgrade(state, &policy::Context::now(state), creator, old_room).await?;
    }
    // Not the creator's choice, so not checked as one: the server's setting, within the rights.
    if encrypted_by_default(state, &preset)
        && !initial_state.iter().any(|t| t.kind == "m.room.encryption")
    {
        initial_state.push(EventTemplate::state(
            "m.room.encryption",
            "",
            json!({ "algorithm": "m.megolm.v1.aes-sha2" }),
        ));
    }

    let mut events = vec![
        EventTemplate::state(
            "m.room.member",
            creator.as_str(),
            member_content(state, creator, "join").await?,
        ),
        EventTemplate::state("m.room.power_levels", "", power_levels),
    ];
    if let Some(alias) = &alias {
        events.push(EventTemplate::state(
            "m.room.canonical_alias",
            "",
            json!({ "alias": alias }),
        ));
    }
    events.push(EventTemplate::state(
        "m.room.join_rules",
        "",
        json!({ "join_rule": join_rule }),
    ));
    events.push(EventTemplate::state(
        "m.room.history_visibility",
        "",
        json!({ "history_visibility": origin.initial_history_visibility() }),
    ));
    events.push(EventTemplate::state(
        "m.room.guest_access",
        "",
        json!({ "guest_access": guest_access }),
    ));
    events.extend(initial_state);
    if let Some(name) = &req.name {
        events.push(EventTemplate::state(
            "m.room.name",
            "",
            json!({ "name": name }),
        ));
    }
    if let Some(topic) = &req.topic {
        events.push(EventTemplate::state(
            "m.room.topic",
            "",
            json!({ "topic": topic }),
        ));
    }
    for invitee in &req.invite {
        let mut content = member_content(state, invitee, "invite").await?;
        if req.is_direct {
            content["is_direct"] = json!(true);
        }
        events.push(EventTemplate::state(
            "m.room.member",
            invitee.as_str(),
            content,
        ));
    }

    let room = RoomCreation {
        version,
        origin,
        alias: alias.as_deref(),
    };
    let room_id = Rooms::create(state, creator, room, create_content, events).await?;
    if req.visibility == Visibility::Public {
        state.db.set_room_published(room_id.as_str(), true).await?;
    }
    Ok(room_id)
}

/// 400 `M_ROOM_IN_USE`: the alias a new room asked for is taken.
pub(super) fn alias_taken() -> Error {
    Error::InUse(
        "M_ROOM_IN_USE",
        crate::text!(
            "Der Raumalias ist schon vergeben.",
            "The room alias is already taken."
        ),
    )
}

/// The room a `creation_content` names as its `predecessor`, if any (400 `M_BAD_JSON` if the
/// field has the wrong shape). Only someone who may upgrade that room may name it.
fn predecessor(create_content: &Value) -> Result<Option<OwnedRoomId>> {
    let Some(predecessor) = create_content.get("predecessor") else {
        return Ok(None);
    };
    predecessor
        .get("room_id")
        .and_then(Value::as_str)
        .and_then(|id| RoomId::parse(id).ok())
        .map(Some)
        .ok_or_else(|| {
            Error::bad_json(
                "predecessor.room_id muss eine Raum-ID sein.",
                "predecessor.room_id must be a room ID.",
            )
        })
}

/// The `initial_state` events of a `createRoom` body.
fn initial_state(raw: &Value) -> Vec<EventTemplate> {
    let events = raw.get("initial_state").and_then(Value::as_array);
    events
        .into_iter()
        .flatten()
        .map(|initial| {
            let field = |name: &str| {
                initial
                    .get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let content = initial.get("content").cloned().unwrap_or_else(|| json!({}));
            EventTemplate::state(field("type"), field("state_key"), content)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_merges_users_and_replaces_scalars() {
        let creator = UserId::parse("@a:x").unwrap();
        let mut pl = default_power_levels(&creator, &[]);
        merge_power_levels(&mut pl, &json!({ "users": { "@b:x": 50 }, "invite": 50 }));
        assert_eq!(pl["users"]["@a:x"], 100);
        assert_eq!(pl["users"]["@b:x"], 50);
        assert_eq!(pl["invite"], 50);
        assert_eq!(pl["events"]["m.room.power_levels"], 100);
    }

    #[test]
    fn trusted_invitees_get_creator_power() {
        let creator = UserId::parse("@a:x").unwrap();
        let b = UserId::parse("@b:x").unwrap();
        let pl = default_power_levels(&creator, &[&b]);
        assert_eq!(pl["users"]["@b:x"], 100);
    }
}
