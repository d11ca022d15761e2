//! Reaching people outside a room's timeline: profiles, presence, encryption keys and
//! to-device messages. One check decides all of them ([`Contacts`], the policy's
//! `Action::Contact`): the people one may write to, and the people one shares a room with
//! (both joined or invited) in which one may send. Someone who may no longer write into a
//! conversation after a group change cannot go around it with to-device messages either.

use std::collections::HashSet;

use ruma::{RoomId, UserId};
use schulhof_policy::{Action, Channel};
use tokio::sync::OnceCell;

use crate::service::rooms::membership::require_account;
use crate::service::school::policy::Context;
use crate::state::AppState;
use crate::Result;

/// Whom one user may reach outside rooms, decided on the directory snapshot and rights in
/// force when it was made. The rooms are looked at once, and only if a target is not
/// reachable directly.
pub struct Contacts<'a> {
    state: &'a AppState,
    ctx: Context,
    actor: &'a UserId,
    /// User IDs of the members of the actor's rooms in which the actor may send.
    room_contacts: OnceCell<HashSet<String>>,
}

impl<'a> Contacts<'a> {
    /// The contacts of `actor` now.
    pub fn of(state: &'a AppState, actor: &'a UserId) -> Contacts<'a> {
        Contacts {
            state,
            ctx: Context::now(state),
            actor,
            room_contacts: OnceCell::new(),
        }
    }

    /// The action deciding whether `target` is reachable by `channel`.
    async fn action<'t>(&self, target: &'t UserId, channel: Channel) -> Result<Action<'t>> {
        let direct = Action::Contact {
            target: target.localpart(),
            shares_room: false,
            channel,
        };
        if self.ctx.decide(self.actor, &direct).is_allowed() {
            return Ok(direct);
        }
        let rooms = self
            .room_contacts
            .get_or_try_init(|| self.load_room_contacts())
            .await?;
        Ok(Action::Contact {
            target: target.localpart(),
            shares_room: rooms.contains(target.as_str()),
            channel,
        })
    }

    /// Whether `target` is reachable by `channel` (nothing is audited: for answers that
    /// leave unreachable people out, like `/keys/query`).
    pub async fn allows(&self, target: &UserId, channel: Channel) -> Result<bool> {
        let action = self.action(target, channel).await?;
        Ok(self.ctx.decide(self.actor, &action).is_allowed())
    }

    /// 403 with the rule's message (counted and audited) unless `target` is reachable by
    /// `channel`.
    pub async fn require(&self, target: &UserId, channel: Channel) -> Result<()> {
        let action = self.action(target, channel).await?;
        self.ctx
            .check(self.state, self.actor, &action, target.as_str())
            .await
    }

    /// [`Contacts::require`] for a lookup of one person (profile, presence), where an account
    /// that does not exist gets the same answer as one that may not be reached: nobody
    /// learns who exists by asking.
    pub async fn require_existing(&self, target: &UserId, channel: Channel) -> Result<()> {
        if require_account(self.state, target.as_str()).await.is_err() {
            let refused = Action::Contact {
                target: target.localpart(),
                shares_room: false,
                channel,
            };
            let unreachable = schulhof_policy::Rule::DirectoryNotVisible.into();
            return Err(self
                .ctx
                .deny(
                    self.state,
                    self.actor,
                    &refused,
                    target.as_str(),
                    unreachable,
                )
                .await);
        }
        self.require(target, channel).await
    }

    /// The members of every room the actor is joined to or invited into and may send in.
    async fn load_room_contacts(&self) -> Result<HashSet<String>> {
        let state = self.state;
        let mut contacts = HashSet::new();
        for membership in state.db.memberships(self.actor.as_str()).await? {
            if membership.membership != "join" && membership.membership != "invite" {
                continue;
            }
            let Ok(room_id) = RoomId::parse(&membership.room_id) else {
                continue;
            };
            let Some(room) = state.rooms.snapshot(&state.db, &room_id).await? else {
                continue;
            };
            let members = room.member_localparts();
            let facts = self.ctx.room_facts(&room, &members, self.actor);
            let send = Action::SendMessage {
                room: &facts,
                event_type: "m.room.message",
            };
            if self.ctx.decide(self.actor, &send).is_allowed() {
                contacts.extend(room.joined_and_invited().map(|u| u.to_string()));
            }
        }
        Ok(contacts)
    }
}
