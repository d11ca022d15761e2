//! Joining, inviting, leaving, kicking, banning; the list of joined rooms.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::knock::knock_room;
use ruma::api::client::membership::{
    ban_user, forget_room, invite_user, join_room_by_id, join_room_by_id_or_alias, joined_rooms,
    kick_user, leave_room, unban_user,
};
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::rooms::membership::{self, resolve_room};
use crate::state::AppState;
use crate::{Error, Result};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<join_room_by_id::v3::Request, _, _>(join_by_id)
        .endpoint::<join_room_by_id_or_alias::v3::Request, _, _>(join_by_id_or_alias)
        .endpoint::<knock_room::v3::Request, _, _>(knock)
        .endpoint::<invite_user::v3::Request, _, _>(invite)
        .endpoint::<leave_room::v3::Request, _, _>(leave)
        .endpoint::<forget_room::v3::Request, _, _>(forget)
        .endpoint::<kick_user::v3::Request, _, _>(kick)
        .endpoint::<ban_user::v3::Request, _, _>(ban)
        .endpoint::<unban_user::v3::Request, _, _>(unban)
        .endpoint::<joined_rooms::v3::Request, _, _>(joined)
}

async fn join_by_id(
    State(state): State<Arc<AppState>>,
    req: Ruma<join_room_by_id::v3::Request>,
) -> JsonResult {
    membership::join(
        &state,
        req.user_id(),
        &req.body.room_id,
        req.body.reason.as_deref(),
    )
    .await?;
    Ok(Json(json!({ "room_id": req.body.room_id })))
}

async fn join_by_id_or_alias(
    State(state): State<Arc<AppState>>,
    req: Ruma<join_room_by_id_or_alias::v3::Request>,
) -> JsonResult {
    let room_id = resolve_room(&state, &req.body.room_id_or_alias).await?;
    membership::join(&state, req.user_id(), &room_id, req.body.reason.as_deref()).await?;
    Ok(Json(json!({ "room_id": room_id })))
}

async fn knock(
    State(state): State<Arc<AppState>>,
    req: Ruma<knock_room::v3::Request>,
) -> JsonResult {
    let room_id = resolve_room(&state, &req.body.room_id_or_alias).await?;
    membership::knock(&state, req.user_id(), &room_id, req.body.reason.as_deref()).await?;
    Ok(Json(json!({ "room_id": room_id })))
}

async fn invite(
    State(state): State<Arc<AppState>>,
    req: Ruma<invite_user::v3::Request>,
) -> JsonResult {
    let invite_user::v3::InvitationRecipient::UserId(recipient) = &req.body.recipient else {
        return Err(Error::forbidden(
            "Einladungen per E-Mail oder Telefonnummer sind nicht möglich.",
            "Third-party invites are not supported.",
        ));
    };
    membership::invite(
        &state,
        req.user_id(),
        &req.body.room_id,
        &recipient.user_id,
        recipient.reason.as_deref(),
    )
    .await?;
    Ok(Json(json!({})))
}

async fn leave(
    State(state): State<Arc<AppState>>,
    req: Ruma<leave_room::v3::Request>,
) -> JsonResult {
    let me = req.user_id();
    membership::set_membership(
        &state,
        me,
        &req.body.room_id,
        me,
        "leave",
        req.body.reason.as_deref(),
    )
    .await?;
    Ok(Json(json!({})))
}

async fn forget(
    State(state): State<Arc<AppState>>,
    req: Ruma<forget_room::v3::Request>,
) -> JsonResult {
    let room = crate::service::rooms::Rooms::current(&state, &req.body.room_id).await?;
    if matches!(room.membership(req.user_id()), Some(m) if m.as_str() == "join" || m.as_str() == "invite")
    {
        return Err(Error::BadRequest(crate::text!(
            "Dafür muss der Raum zuerst verlassen werden.",
            "You must leave the room first."
        )));
    }
    Ok(Json(json!({})))
}

async fn change(
    state: &AppState,
    sender: &ruma::UserId,
    room_id: &ruma::RoomId,
    target: &ruma::UserId,
    membership: &str,
    reason: Option<&str>,
) -> Result<Json> {
    membership::set_membership(state, sender, room_id, target, membership, reason).await?;
    Ok(Json(json!({})))
}

/// A handler that sets the target's membership (kick and unban: `leave`; ban: `ban`).
macro_rules! membership_change {
    ($name:ident, $endpoint:ident, $membership:literal) => {
        async fn $name(
            State(state): State<Arc<AppState>>,
            req: Ruma<$endpoint::v3::Request>,
        ) -> JsonResult {
            let b = &req.body;
            change(
                &state,
                req.user_id(),
                &b.room_id,
                &b.user_id,
                $membership,
                b.reason.as_deref(),
            )
            .await
        }
    };
}

membership_change!(kick, kick_user, "leave");
membership_change!(ban, ban_user, "ban");
membership_change!(unban, unban_user, "leave");

async fn joined(
    State(state): State<Arc<AppState>>,
    req: Ruma<joined_rooms::v3::Request>,
) -> JsonResult {
    let rooms: Vec<String> = state
        .db
        .memberships(req.user_id().as_str())
        .await?
        .into_iter()
        .filter(|m| m.membership == "join")
        .map(|m| m.room_id)
        .collect();
    Ok(Json(json!({ "joined_rooms": rooms })))
}
