//! The admin join: making people join a room without their accepting an invitation, as the
//! school's own appservice needs when it puts people into their class rooms. One person:
//! `POST /_synapse/admin/v1/join/{roomIdOrAlias}` (Synapse's admin API, so the same
//! appservice runs against Synapse); many people in one commit:
//! `POST /_schulhof/admin/v1/rooms/{roomIdOrAlias}/join` (Schulhof's own).
//!
//! Who may call it:
//! - a school admin (a person of the directory with the role `admin`), with their own token:
//!   the policy decides [`Action::AdminJoin`] for each person (everyone else is refused with
//!   `admin_only`, which refuses the whole call);
//! - an appservice whose registration has `de.schulhof.admin_join`: `namespace` for its
//!   sender and the users of its user namespaces, `any` for every account (only the school's
//!   own appservice should have it). A registration without it is refused the whole call; a
//!   person outside its namespace is refused alone.
//!
//! Each join is then ordinary room events, each checked by the policy and the room's
//! authorization rules: unless the person is invited already or the room is public, the
//! caller (for an appservice: the user it acts as) invites them, which needs the power to
//! invite in the room; then the person joins. Of many people, each is refused on their own
//! (no account, outside the namespace, an event refused: an invitation that was allowed
//! stays when the join after it is refused, as with two separate calls); the others join.

use std::collections::{HashMap, HashSet};

use ruma::events::room::member::MembershipState;
use ruma::{OwnedRoomId, OwnedUserId, RoomOrAliasId, UserId};
use schulhof_policy::Action;
use schulhof_store::UserRow;

use super::policy;
use crate::ruma_wrapper::Session;
use crate::service::appservice::AdminJoin;
use crate::service::rooms::create::profile_content;
use crate::service::rooms::{membership, EventGroup, EventTemplate, RoomSnapshot, Rooms};
use crate::state::AppState;
use crate::{Error, Result};

/// The most people one call of [`admin_join_many`] takes: all of them are one commit, which
/// holds the writer lock while it runs, so a call stays short.
pub const MAX_PEOPLE: usize = 100;

/// How one person's admin join ended.
#[derive(Debug)]
pub enum JoinOutcome {
    /// The person joined now.
    Joined,
    /// The person was joined already; nothing was sent.
    AlreadyJoined,
    /// The person was refused (no account, not allowed, or an event refused); nothing about
    /// them changed, except an invitation that was allowed before their join was refused.
    Refused(Error),
}

/// Makes `target` join `room` on behalf of `caller`; returns the room's ID.
pub async fn admin_join(
    state: &AppState,
    caller: &Session,
    target: &UserId,
    room: &RoomOrAliasId,
) -> Result<OwnedRoomId> {
    let (room_id, mut outcomes) =
        admin_join_many(state, caller, &[target.to_owned()], room).await?;
    match outcomes.pop() {
        Some((_, JoinOutcome::Refused(error))) => Err(error),
        _ => Ok(room_id),
    }
}

/// Makes each of `targets` (at most [`MAX_PEOPLE`]; repeated IDs count once) join `room` on
/// behalf of `caller`, all in one commit; returns the room's ID and each person's outcome in
/// the order given. Errors of the whole call: the caller may not use the admin join at all
/// (403), too many people (400), no such room (404), a fault of the server.
pub async fn admin_join_many(
    state: &AppState,
    caller: &Session,
    targets: &[OwnedUserId],
    room: &RoomOrAliasId,
) -> Result<(OwnedRoomId, Vec<(OwnedUserId, JoinOutcome)>)> {
    if targets.len() > MAX_PEOPLE {
        return Err(Error::invalid_param(
            format!("Höchstens {MAX_PEOPLE} Personen auf einmal."),
            format!("At most {MAX_PEOPLE} users at once."),
        ));
    }
    let mut seen = HashSet::new();
    let targets: Vec<&OwnedUserId> = targets.iter().filter(|t| seen.insert(*t)).collect();
    // Each person's outcome, by their place in `targets`.
    let mut outcomes: Vec<Option<JoinOutcome>> = Vec::with_capacity(targets.len());
    for target in &targets {
        let refused = allowed(state, caller, target).await?.err();
        outcomes.push(refused.map(JoinOutcome::Refused));
    }
    let room_id = membership::resolve_room(state, room).await?;
    let snapshot = state.rooms.existing(&state.db, &room_id).await?;
    // Everyone's account in one query; only people without one are looked up one by one
    // (an appservice may create them when asked).
    let ids: Vec<&str> = targets.iter().map(|t| t.as_str()).collect();
    let mut accounts: HashMap<String, UserRow> = state
        .db
        .users(&ids)
        .await?
        .into_iter()
        .map(|row| (row.user_id.clone(), row))
        .collect();
    let mut groups = Vec::new();
    let mut sent = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let account = match accounts.remove(target.as_str()) {
            Some(row) => Ok(row),
            None => account_of(state, target).await,
        };
        match account {
            Err(error) if error.status().is_server_error() => return Err(error),
            Err(error) => outcomes[i] = Some(JoinOutcome::Refused(error)),
            Ok(_) if snapshot.is_joined(target) => outcomes[i] = Some(JoinOutcome::AlreadyJoined),
            Ok(account) => {
                groups.push(join_events(&caller.user_id, &snapshot, target, &account));
                sent.push(i);
            }
        }
    }
    let results = Rooms::send_each(state, &room_id, groups).await?;
    for (i, result) in sent.into_iter().zip(results) {
        outcomes[i] = Some(match result {
            Ok(()) => JoinOutcome::Joined,
            Err(error) => JoinOutcome::Refused(error),
        });
    }
    let outcomes = targets
        .into_iter()
        .zip(outcomes)
        .map(|(target, outcome)| {
            let outcome = outcome.expect("every person has an outcome");
            (target.clone(), outcome)
        })
        .collect();
    Ok((room_id, outcomes))
}

/// The account of `target`, who has none in the database yet: an appservice may create it
/// when asked ([`membership::require_account`]); 404 if none does.
async fn account_of(state: &AppState, target: &UserId) -> Result<UserRow> {
    membership::require_account(state, target.as_str()).await?;
    state
        .db
        .user(target.as_str())
        .await?
        .ok_or_else(|| Error::Internal(format!("account of {target} gone")))
}

/// The events that make `target` join `room`: an invitation by `inviter` unless they are
/// invited already or the room is public, then their join (with the profile of `account`,
/// theirs).
fn join_events(
    inviter: &UserId,
    room: &RoomSnapshot,
    target: &UserId,
    account: &UserRow,
) -> EventGroup {
    let mut events = Vec::with_capacity(2);
    let invited = room.membership(target) == Some(MembershipState::Invite);
    let public = room.state_str("m.room.join_rules", "join_rule").as_deref() == Some("public");
    if !invited && !public {
        let content = profile_content(Some(account), "invite");
        let invite = EventTemplate::state("m.room.member", target.as_str(), content);
        events.push((inviter.to_owned(), invite));
    }
    let content = profile_content(Some(account), "join");
    let join = EventTemplate::state("m.room.member", target.as_str(), content);
    events.push((target.to_owned(), join));
    events
}

/// Whether `caller` may use the admin join for `target` (see the module documentation): the
/// inner error refuses this person alone, the outer one the whole call.
async fn allowed(state: &AppState, caller: &Session, target: &UserId) -> Result<Result<()>> {
    let Some(id) = caller.appservice.as_deref() else {
        let action = Action::AdminJoin {
            target: target.localpart(),
        };
        policy::check(state, &caller.user_id, &action, target.as_str()).await?;
        return Ok(Ok(()));
    };
    let registration = state
        .appservices
        .by_id(id)
        .ok_or_else(|| Error::Internal(format!("session of unknown appservice {id}")))?;
    let refusal = |de: &'static str, en: &'static str| Error::forbidden(de, en);
    match registration.admin_join {
        AdminJoin::None => Err(refusal(
            "Dieser Anwendungsdienst darf niemanden in Räume aufnehmen.",
            "This application service may not make users join rooms.",
        )),
        AdminJoin::Namespace if !registration.may_act_as(target, &state.server_name) => {
            Ok(Err(refusal(
                "Dieser Anwendungsdienst darf diese Person nicht in Räume aufnehmen.",
                "This application service may not make this user join rooms.",
            )))
        }
        AdminJoin::Namespace | AdminJoin::Any => Ok(Ok(())),
    }
}
