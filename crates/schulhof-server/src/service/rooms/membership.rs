//! Membership changes: join, invite, leave, kick, ban, unban.
//!
//! The Matrix authorization rules (checked when the member event is built) decide whether a
//! change is allowed; this module resolves targets and builds the member events.

use ruma::{OwnedRoomId, RoomId, RoomOrAliasId, UserId};
use serde_json::{json, Value};

use crate::service::rooms::create::member_content;
use crate::service::rooms::{EventTemplate, Rooms};
use crate::state::AppState;
use crate::{Error, Result};

/// Resolves a room ID or a local alias to a room ID (404 for unknown aliases).
pub async fn resolve_room(state: &AppState, id_or_alias: &RoomOrAliasId) -> Result<OwnedRoomId> {
    match <&RoomId>::try_from(id_or_alias) {
        Ok(room_id) => Ok(room_id.to_owned()),
        Err(alias) => {
            let room_id = crate::service::appservice::query::find_alias(state, alias.as_str())
                .await?
                .ok_or_else(|| {
                    Error::not_found("Diesen Raumalias gibt es nicht.", "Unknown room alias.")
                })?;
            RoomId::parse(room_id).map_err(|e| Error::Internal(e.to_string()))
        }
    }
}

/// Joins `user_id` to a room.
pub async fn join(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
    reason: Option<&str>,
) -> Result<()> {
    let room = state.rooms.existing(&state.db, room_id).await?;
    let mut content = member_content(state, user_id, "join").await?;
    if room.is_joined(user_id) {
        return Ok(());
    }
    add_reason(&mut content, reason);
    send_member(state, user_id, room_id, user_id, content).await
}

/// Knocks on a room for `user_id` (asks to be let in; the room's join rule must be `knock`).
pub async fn knock(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
    reason: Option<&str>,
) -> Result<()> {
    let mut content = member_content(state, user_id, "knock").await?;
    add_reason(&mut content, reason);
    send_member(state, user_id, room_id, user_id, content).await
}

/// Sends `target`'s member event with `content` on behalf of `sender`.
async fn send_member(
    state: &AppState,
    sender: &UserId,
    room_id: &RoomId,
    target: &UserId,
    content: Value,
) -> Result<()> {
    let template = EventTemplate::state("m.room.member", target.as_str(), content);
    Rooms::send(state, room_id, sender, template, None).await?;
    Ok(())
}

fn add_reason(content: &mut Value, reason: Option<&str>) {
    if let Some(reason) = reason {
        content["reason"] = json!(reason);
    }
}

/// 404 `M_NOT_FOUND` unless `user_id` names an account of this server exactly (no case
/// variants): the answer for invitations and every other membership event about someone.
pub async fn require_account(state: &AppState, user_id: &str) -> Result<()> {
    let local = UserId::parse(user_id).is_ok_and(|u| u.server_name() == state.server_name);
    if local
        && crate::service::appservice::query::find_user(state, user_id)
            .await?
            .is_some()
    {
        return Ok(());
    }
    Err(Error::not_found(
        format!("Den Benutzer {user_id} gibt es nicht."),
        format!("Unknown user {user_id}."),
    ))
}

/// Invites `target` into a room on behalf of `sender`.
pub async fn invite(
    state: &AppState,
    sender: &UserId,
    room_id: &RoomId,
    target: &UserId,
    reason: Option<&str>,
) -> Result<()> {
    require_account(state, target.as_str()).await?;
    let room = state.rooms.existing(&state.db, room_id).await?;
    if room.is_joined(target) {
        return Err(Error::forbidden(
            format!("{target} ist schon in diesem Raum."),
            format!("{target} is already in the room."),
        ));
    }
    let mut content = member_content(state, target, "invite").await?;
    add_reason(&mut content, reason);
    send_member(state, sender, room_id, target, content).await
}

/// Sets `target`'s membership to `membership` (`leave` for leave/kick/unban, `ban`) by `sender`.
pub async fn set_membership(
    state: &AppState,
    sender: &UserId,
    room_id: &RoomId,
    target: &UserId,
    membership: &str,
    reason: Option<&str>,
) -> Result<()> {
    let room = state.rooms.existing(&state.db, room_id).await?;
    if sender == target && room.membership(target).is_none() {
        return Err(Error::forbidden(
            "Dieses Konto ist nicht in diesem Raum.",
            "You are not in this room.",
        ));
    }
    let mut content = json!({ "membership": membership });
    add_reason(&mut content, reason);
    send_member(state, sender, room_id, target, content).await
}
