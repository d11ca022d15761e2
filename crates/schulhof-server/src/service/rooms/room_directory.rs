//! Room aliases and the (local) public room directory.

use ruma::{RoomAliasId, RoomId, UserId};
use schulhof_policy::{Action, JoinVia};
use serde_json::{json, Value};

use crate::service::rooms::RoomSnapshot;
use crate::service::school::policy::{self, Context};
use crate::state::AppState;
use crate::{Error, Result};

fn not_local(state: &AppState, alias: &RoomAliasId) -> Option<Error> {
    (alias.server_name() != state.server_name).then(|| {
        Error::not_found(
            "Dieser Raumalias gehört nicht zu diesem Server.",
            "This alias does not belong to this server.",
        )
    })
}

/// Creates an alias for a room; the creator must be joined to it and allowed to make rooms
/// findable (`PublishRoom`). An alias in an appservice's exclusive namespace only that appservice (`acting`) creates.
pub async fn create_alias(
    state: &AppState,
    user_id: &UserId,
    acting: Option<&str>,
    alias: &RoomAliasId,
    room_id: &RoomId,
) -> Result<()> {
    if let Some(err) = not_local(state, alias) {
        return Err(err);
    }
    crate::service::appservice::exclusive::check_alias(state, alias.as_str(), acting)?;
    let room = state.rooms.existing(&state.db, room_id).await?;
    room.require_joined(user_id)?;
    policy::check(state, user_id, &Action::PublishRoom, room_id.as_str()).await?;
    state
        .db
        .create_alias(alias.as_str(), room_id.as_str(), user_id.as_str())
        .await
        .map_err(|e| match e {
            schulhof_store::StoreError::Conflict => Error::InUse(
                "M_UNKNOWN",
                crate::text!(
                    "Der Raumalias ist schon vergeben.",
                    "The room alias is already taken."
                ),
            ),
            other => other.into(),
        })
}

/// Deletes an alias: allowed for its creator and for room members with the power to change
/// the canonical alias.
pub async fn delete_alias(state: &AppState, user_id: &UserId, alias: &RoomAliasId) -> Result<()> {
    let (room_id, creator) = state.db.alias(alias.as_str()).await?.ok_or_else(|| {
        Error::not_found("Diesen Raumalias gibt es nicht.", "Unknown room alias.")
    })?;
    let room_id = RoomId::parse(room_id).map_err(|e| Error::Internal(e.to_string()))?;
    let room = state.rooms.existing(&state.db, &room_id).await?;
    let may = creator == user_id.as_str()
        || room
            .power_levels()
            .user_can_send_state(user_id, "m.room.canonical_alias".into());
    if !may {
        return Err(Error::forbidden(
            "Diesen Raumalias kann nur löschen, wer ihn angelegt hat oder den Raum verwaltet.",
            "Only who created this alias or manages the room can delete it.",
        ));
    }
    state.db.delete_alias(alias.as_str()).await?;
    Ok(())
}

/// One entry of the public room directory.
fn chunk(room: &RoomSnapshot) -> Value {
    let mut entry = json!({
        "room_id": room.room_id,
        "num_joined_members": room.joined().count(),
        "world_readable": room.state_str("m.room.history_visibility", "history_visibility").as_deref() == Some("world_readable"),
        "guest_can_join": room.state_str("m.room.guest_access", "guest_access").as_deref() == Some("can_join"),
        "join_rule": room.state_str("m.room.join_rules", "join_rule").unwrap_or_else(|| "invite".into()),
    });
    for (kind, field, key) in [
        ("m.room.name", "name", "name"),
        ("m.room.topic", "topic", "topic"),
        ("m.room.avatar", "url", "avatar_url"),
        ("m.room.canonical_alias", "alias", "canonical_alias"),
    ] {
        if let Some(v) = room.state_str(kind, field) {
            entry[key] = json!(v);
        }
    }
    if let Some(t) = room
        .content("m.room.create", "")
        .and_then(|c| c.get("type").cloned())
    {
        entry["room_type"] = t;
    }
    entry
}

/// Whether `viewer` may see `room` in the room directory: only if they could join it
/// without an invitation (staff; students and parents join only rooms they are invited to,
/// so they see none). Nobody without an access token sees any room.
fn listed_for(ctx: &Context, viewer: Option<&UserId>, room: &RoomSnapshot) -> bool {
    let Some(viewer) = viewer else {
        return false;
    };
    let members = room.member_localparts();
    let facts = ctx.room_facts(room, &members, viewer);
    let join = Action::Join {
        room: &facts,
        via: JoinVia::Public,
    };
    ctx.decide(viewer, &join).is_allowed()
}

/// Whether the room directory may tell `asker` about `room` (resolving an alias to it, its
/// directory visibility): only if they can see it (they have a membership of any kind in it,
/// or it is world-readable) or could join it without an invitation (join rule `public` or
/// `knock`, and the school's rights let them). Other rooms are answered for like rooms that
/// do not exist; without an access token, only world-readable rooms are revealed.
pub fn reveals(ctx: &Context, asker: Option<&UserId>, room: &RoomSnapshot) -> bool {
    let world_readable = room
        .state_str("m.room.history_visibility", "history_visibility")
        .as_deref()
        == Some("world_readable");
    let Some(asker) = asker else {
        return world_readable;
    };
    if world_readable || room.membership(asker).is_some() {
        return true;
    }
    let via = match room.state_str("m.room.join_rules", "join_rule").as_deref() {
        Some("public") => JoinVia::Public,
        Some("knock") => JoinVia::Knock,
        _ => return false,
    };
    let members = room.member_localparts();
    let facts = ctx.room_facts(room, &members, asker);
    ctx.decide(asker, &Action::Join { room: &facts, via })
        .is_allowed()
}

/// The room `alias` names, if `asker` may learn of it ([`reveals`]); 404 otherwise, as for
/// an alias that does not exist.
pub async fn resolve_alias(
    state: &AppState,
    asker: Option<&UserId>,
    alias: &RoomAliasId,
) -> Result<String> {
    let unknown = || Error::not_found("Diesen Raumalias gibt es nicht.", "Unknown room alias.");
    let room_id = crate::service::appservice::query::find_alias(state, alias.as_str())
        .await?
        .ok_or_else(unknown)?;
    let parsed = RoomId::parse(&room_id).map_err(|e| Error::Internal(e.to_string()))?;
    let room = state.rooms.existing(&state.db, &parsed).await?;
    if !reveals(&Context::now(state), asker, &room) {
        return Err(unknown());
    }
    Ok(room_id)
}

/// Whether `room_id` is published in the room directory, if `asker` may learn of the room
/// ([`reveals`]); 404 otherwise, as for a room that does not exist.
pub async fn published(state: &AppState, asker: Option<&UserId>, room_id: &RoomId) -> Result<bool> {
    let room = state.rooms.existing(&state.db, room_id).await?;
    if !reveals(&Context::now(state), asker, &room) {
        return Err(Error::not_found(
            "Diesen Raum gibt es nicht.",
            "Unknown room.",
        ));
    }
    Ok(state.db.room_published(room_id.as_str()).await?)
}

/// The public rooms of this server `viewer` may see (see [`listed_for`]), optionally
/// filtered by a search term, paginated by offset.
pub async fn public_rooms(
    state: &AppState,
    viewer: Option<&UserId>,
    search: Option<&str>,
    limit: Option<usize>,
    since: Option<&str>,
) -> Result<Value> {
    let term = search.map(str::to_lowercase);
    let ctx = Context::now(state);
    let mut entries = Vec::new();
    for room_id in state.db.published_rooms().await? {
        let Ok(room_id) = RoomId::parse(&room_id) else {
            continue;
        };
        let Some(room) = state.rooms.snapshot(&state.db, &room_id).await? else {
            continue;
        };
        if !listed_for(&ctx, viewer, &room) {
            continue;
        }
        let entry = chunk(&room);
        let matches = term.as_deref().is_none_or(|t| {
            ["name", "topic", "canonical_alias"].iter().any(|k| {
                entry
                    .get(*k)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.to_lowercase().contains(t))
            })
        });
        if matches {
            entries.push(entry);
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e["num_joined_members"].as_u64().unwrap_or(0)));
    let total = entries.len();
    let offset: usize = since
        .and_then(|s| s.strip_prefix('o'))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let limit = limit.unwrap_or(total.max(1));
    let page: Vec<Value> = entries.into_iter().skip(offset).take(limit).collect();
    let mut body = json!({ "chunk": page, "total_room_count_estimate": total });
    if offset + limit < total {
        body["next_batch"] = json!(format!("o{}", offset + limit));
    }
    if offset > 0 {
        body["prev_batch"] = json!(format!("o{}", offset.saturating_sub(limit)));
    }
    Ok(body)
}

/// The local aliases of a room, for its joined members.
pub async fn room_aliases(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
) -> Result<Vec<String>> {
    let room = state.rooms.existing(&state.db, room_id).await?;
    room.require_joined(user_id)?;
    Ok(state.db.room_aliases(room_id.as_str()).await?)
}
