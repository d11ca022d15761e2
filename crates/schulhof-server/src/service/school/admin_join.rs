//! The admin join: making a person join a room without their accepting an invitation, as the
//! school's own appservice needs when it puts people into their class rooms
//! (`POST /_synapse/admin/v1/join/{roomIdOrAlias}`, Synapse's admin API, so the same
//! appservice runs against Synapse).
//!
//! Who may call it:
//! - a school admin (a person of the directory with the role `admin`), with their own token:
//!   the policy decides [`Action::AdminJoin`] (everyone else is refused with `admin_only`);
//! - an appservice whose registration has `de.schulhof.admin_join`: `namespace` for its
//!   sender and the users of its user namespaces, `any` for every account (only the school's
//!   own appservice should have it).
//!
//! The join is then two ordinary room events, each checked by the policy and the room's
//! authorization rules: unless the person is invited already or the room is public, the
//! caller (for an appservice: the user it acts as) invites them, which needs the power to
//! invite in the room; then the person joins.

use ruma::{OwnedRoomId, RoomOrAliasId, UserId};
use schulhof_policy::Action;

use super::policy;
use crate::ruma_wrapper::Session;
use crate::service::appservice::AdminJoin;
use crate::service::rooms::membership;
use crate::state::AppState;
use crate::{Error, Result};

/// Makes `target` join `room` on behalf of `caller`; returns the room's ID.
pub async fn admin_join(
    state: &AppState,
    caller: &Session,
    target: &UserId,
    room: &RoomOrAliasId,
) -> Result<OwnedRoomId> {
    allowed(state, caller, target).await?;
    membership::require_account(state, target.as_str()).await?;
    let room_id = membership::resolve_room(state, room).await?;
    let snapshot = state.rooms.existing(&state.db, &room_id).await?;
    if snapshot.is_joined(target) {
        return Ok(room_id);
    }
    let invited =
        snapshot.membership(target) == Some(ruma::events::room::member::MembershipState::Invite);
    let public = snapshot
        .state_str("m.room.join_rules", "join_rule")
        .as_deref()
        == Some("public");
    if !invited && !public {
        membership::invite(state, &caller.user_id, &room_id, target, None).await?;
    }
    membership::join(state, target, &room_id, None).await?;
    Ok(room_id)
}

/// Whether `caller` may use the admin join for `target` (see the module documentation).
async fn allowed(state: &AppState, caller: &Session, target: &UserId) -> Result<()> {
    let Some(id) = caller.appservice.as_deref() else {
        let action = Action::AdminJoin {
            target: target.localpart(),
        };
        return policy::check(state, &caller.user_id, &action, target.as_str()).await;
    };
    let registration = state
        .appservices
        .by_id(id)
        .ok_or_else(|| Error::Internal(format!("session of unknown appservice {id}")))?;
    let may = match registration.admin_join {
        AdminJoin::None => false,
        AdminJoin::Namespace => registration.may_act_as(target, &state.server_name),
        AdminJoin::Any => true,
    };
    if !may {
        return Err(Error::forbidden(
            "Dieser Anwendungsdienst darf diese Person nicht in Räume aufnehmen.",
            "This application service may not make this user join rooms.",
        ));
    }
    Ok(())
}
