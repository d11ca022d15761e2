//! Reading the managed rooms back from the homeserver as the bot: every joined room whose
//! `m.room.create` carries `de.schulhof.managed` (the key) becomes a [`CurrentRoom`] with its
//! name, topic, encryption, power levels, memberships, archive flag and space children.

use std::collections::BTreeMap;

use futures_util::{StreamExt, TryStreamExt};
use serde_json::Value;

use crate::alias::alias_localpart;
use crate::current::{CurrentRoom, CurrentSchool, Membership};
use crate::desired::RoomKey;
use crate::homeserver::Homeserver;
use crate::service_error::ServiceError;

/// The field of `m.room.create` (its `creation_content`) that names a managed room's key.
pub const MANAGED_FIELD: &str = "de.schulhof.managed";

/// The state event that marks a room archived (`{"archived": true}`).
pub const ARCHIVE_EVENT: &str = "de.schulhof.archive";

/// How many rooms are read at once.
const PARALLEL_READS: usize = 8;

/// The managed rooms as they are, and their room IDs.
#[derive(Debug, Clone, Default)]
pub struct ServerRooms {
    /// What the plan compares with.
    pub current: CurrentSchool,
    /// Room ID of each key.
    pub ids: BTreeMap<RoomKey, String>,
}

/// One managed room parsed from its state, children still as room IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRoom {
    /// Its key.
    pub key: RoomKey,
    /// Its state (children empty).
    pub room: CurrentRoom,
    /// Room IDs of its `m.space.child` entries (with a `via`).
    pub child_ids: Vec<String>,
}

/// Reads every managed room the bot is joined to. Two rooms with one key (a room created
/// twice by hand or by an old bug) are resolved by the key's alias; the other is ignored.
pub async fn read_current(
    homeserver: &Homeserver,
    server_name: &str,
    alias_prefix: &str,
) -> Result<ServerRooms, ServiceError> {
    let room_ids = homeserver.joined_rooms().await?;
    let reads: Vec<_> = room_ids
        .iter()
        .map(|room_id| read_room(homeserver, room_id, server_name))
        .collect();
    let parsed: Vec<Option<ParsedRoom>> = futures_util::stream::iter(reads)
        .buffer_unordered(PARALLEL_READS)
        .try_collect()
        .await?;
    let mut by_key: BTreeMap<RoomKey, Vec<ParsedRoom>> = BTreeMap::new();
    for room in parsed.into_iter().flatten() {
        by_key.entry(room.key.clone()).or_default().push(room);
    }
    let mut chosen = Vec::new();
    for (key, mut rooms) in by_key {
        if rooms.len() > 1 {
            let alias = format!("#{}:{server_name}", alias_localpart(alias_prefix, &key));
            let target = homeserver.resolve_alias(&alias).await?;
            rooms.sort_by_key(|r| Some(&r.room.room_id) != target.as_ref());
            tracing::warn!(%key, rooms = rooms.len(), "several rooms carry this key; using the one its alias names");
        }
        chosen.push(rooms.swap_remove(0));
    }
    Ok(assemble(chosen))
}

/// One room's state, parsed if it is managed.
async fn read_room(
    homeserver: &Homeserver,
    room_id: &str,
    server_name: &str,
) -> Result<Option<ParsedRoom>, ServiceError> {
    let state = homeserver.room_state(room_id).await?;
    Ok(parse_room(room_id, &state, server_name))
}

/// The rooms with their children mapped from room IDs to keys (children that are not
/// managed rooms are left out).
pub fn assemble(rooms: Vec<ParsedRoom>) -> ServerRooms {
    let key_of: BTreeMap<String, RoomKey> = rooms
        .iter()
        .map(|r| (r.room.room_id.clone(), r.key.clone()))
        .collect();
    let mut server = ServerRooms::default();
    for ParsedRoom {
        key,
        mut room,
        child_ids,
    } in rooms
    {
        room.children = child_ids
            .iter()
            .filter_map(|id| key_of.get(id).cloned())
            .collect();
        server.ids.insert(key.clone(), room.room_id.clone());
        server.current.rooms.insert(key, room);
    }
    server
}

/// A managed room from its state events; `None` if the room is not managed.
pub fn parse_room(room_id: &str, state: &[Value], server_name: &str) -> Option<ParsedRoom> {
    let find = |kind: &str| {
        state
            .iter()
            .find(|e| e["type"] == kind && e["state_key"] == "")
            .map(|e| &e["content"])
    };
    let create = find("m.room.create")?;
    let key = RoomKey::from_stored(create[MANAGED_FIELD].as_str()?);
    let text = |kind: &str, field: &str| {
        find(kind)
            .and_then(|c| c[field].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let localpart = |user_id: &str| {
        let (localpart, server) = user_id.strip_prefix('@')?.split_once(':')?;
        (server == server_name).then(|| localpart.to_owned())
    };
    let power = find("m.room.power_levels");
    let mut members = BTreeMap::new();
    let mut child_ids = Vec::new();
    for event in state {
        let Some(state_key) = event["state_key"].as_str() else {
            continue;
        };
        match event["type"].as_str() {
            Some("m.room.member") => {
                let membership = match event["content"]["membership"].as_str() {
                    Some("join") => Membership::Join,
                    Some("invite") => Membership::Invite,
                    Some("leave") => Membership::Leave,
                    Some("ban") => Membership::Ban,
                    _ => continue,
                };
                if let Some(user) = localpart(state_key) {
                    members.insert(user, membership);
                }
            }
            Some("m.space.child") => {
                let via = event["content"]["via"].as_array();
                if via.is_some_and(|v| !v.is_empty()) {
                    child_ids.push(state_key.to_owned());
                }
            }
            _ => {}
        }
    }
    let power_users = power
        .and_then(|p| p["users"].as_object())
        .into_iter()
        .flatten()
        .filter_map(|(user, level)| Some((localpart(user)?, level.as_i64()?)))
        .collect();
    let events_default = power
        .and_then(|p| p["events_default"].as_i64())
        .unwrap_or(0);
    Some(ParsedRoom {
        key,
        room: CurrentRoom {
            room_id: room_id.to_owned(),
            name: text("m.room.name", "name"),
            topic: text("m.room.topic", "topic"),
            is_space: create["type"] == "m.space",
            encrypted: find("m.room.encryption").is_some_and(|c| c["algorithm"].is_string()),
            announcement: events_default > 0,
            archived: find(ARCHIVE_EVENT).is_some_and(|c| c["archived"] == true),
            members,
            power: power_users,
            children: Default::default(),
        },
        child_ids,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn state(kind: &str, key: &str, content: Value) -> Value {
        json!({ "type": kind, "state_key": key, "content": content, "sender": "@b:s", "event_id": "$e", "room_id": "!r:s", "origin_server_ts": 1 })
    }

    #[test]
    fn parses_a_managed_room() {
        let events = vec![
            state(
                "m.room.create",
                "",
                json!({ MANAGED_FIELD: "space:school", "type": "m.space" }),
            ),
            state("m.room.name", "", json!({ "name": "Schule" })),
            state(
                "m.room.power_levels",
                "",
                json!({ "users": { "@bot:s": 100, "@lehrer:s": 50, "@fremd:anders": 50 }, "events_default": 50 }),
            ),
            state("m.room.member", "@bot:s", json!({ "membership": "join" })),
            state("m.room.member", "@ben:s", json!({ "membership": "invite" })),
            state("m.room.member", "@alt:s", json!({ "membership": "ban" })),
            state("m.space.child", "!k:s", json!({ "via": ["s"] })),
            state("m.space.child", "!weg:s", json!({})),
            state(ARCHIVE_EVENT, "", json!({ "archived": false })),
        ];
        let parsed = parse_room("!r:s", &events, "s").expect("managed");
        assert_eq!(parsed.key, RoomKey::school());
        let room = &parsed.room;
        assert!(room.is_space && room.announcement && !room.archived && !room.encrypted);
        assert_eq!(room.name, "Schule");
        assert_eq!(room.topic, "");
        assert_eq!(
            room.power,
            BTreeMap::from([("bot".to_owned(), 100), ("lehrer".to_owned(), 50)])
        );
        assert_eq!(room.members["ben"], Membership::Invite);
        assert_eq!(room.members["alt"], Membership::Ban);
        assert_eq!(parsed.child_ids, ["!k:s"]);

        let unmanaged = vec![state("m.room.create", "", json!({}))];
        assert_eq!(parse_room("!r:s", &unmanaged, "s"), None);
    }

    #[test]
    fn children_become_keys_of_managed_rooms_only() {
        let room = |id: &str, key: RoomKey, children: &[&str]| {
            let events = vec![state(
                "m.room.create",
                "",
                json!({ MANAGED_FIELD: key.as_str() }),
            )];
            let mut parsed = parse_room(id, &events, "s").unwrap();
            parsed.child_ids = children.iter().map(|c| (*c).to_owned()).collect();
            parsed
        };
        let server = assemble(vec![
            room("!a:s", RoomKey::school(), &["!b:s", "!fremd:s"]),
            room("!b:s", RoomKey::group("Klasse 8.1"), &[]),
        ]);
        assert_eq!(
            server.current.rooms[&RoomKey::school()]
                .children
                .iter()
                .collect::<Vec<_>>(),
            [&RoomKey::group("Klasse 8.1")]
        );
        assert_eq!(server.ids[&RoomKey::group("Klasse 8.1")], "!b:s");
    }
}
