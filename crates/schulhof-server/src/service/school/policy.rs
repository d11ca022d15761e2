//! The school's rights inside the server: loading `config/rights.toml`, reloading it, and the
//! policy check at every entry point into a conversation (see `docs/policy.md`).
//!
//! Every room event passes [`check_event`] in `Rooms::send_batch`, the one path into a room;
//! `createRoom`, the directories, profiles, reports and room upgrades call [`check`] or
//! [`Context::decide`] themselves. A denial answers 403 `M_FORBIDDEN` with the rule's message,
//! changes nothing, is counted per rule and written to the audit log (actor, action, rule;
//! never content).
//!
//! Decisions use the directory snapshot and the rights in force at the moment of the request,
//! so a role or group change applies to the next request after the snapshot reloaded (within
//! 500 ms of an import), and a reloaded rights file to the next request after the reload.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ruma::events::room::member::MembershipState;
use ruma::events::room::power_levels::UserPowerLevel;
use ruma::UserId;
use schulhof_directory::{DirectoryIndex, Role};
use schulhof_policy::{
    decide, Action, Address, Decision, Denial, History, JoinVia, Line, Managed, Rights, RoomFacts,
    Rule, StateChange,
};
use schulhof_store::{AuditRow, RoomOriginRow};
use serde_json::Value;

use crate::service::appservice::Registration;
use crate::service::notices;
use crate::service::rooms::{EventTemplate, RoomSnapshot};
use crate::service::school::managed;
use crate::state::AppState;
use crate::{Error, Result};

/// The audit log's action for a denial.
const AUDIT_ACTION: &str = "policy.deny";

/// The level the creator of a new room has in Schulhof's default power levels.
const CREATOR_LEVEL: i64 = 100;

/// How a room was created, as the policy needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomOrigin {
    /// The creator's directory role when creating the room; `None`: outside the directory.
    pub creator_role: Option<Role>,
    /// Created as a direct chat (`is_direct`).
    pub is_direct: bool,
}

impl RoomOrigin {
    /// The origin as stored.
    pub fn from_row(row: RoomOriginRow) -> RoomOrigin {
        RoomOrigin {
            creator_role: row.creator_role.as_deref().and_then(Role::from_stored),
            is_direct: row.is_direct,
        }
    }

    /// The origin to store.
    pub fn to_row(self) -> RoomOriginRow {
        RoomOriginRow {
            creator_role: self.creator_role.map(|role| role.as_str().to_owned()),
            is_direct: self.is_direct,
        }
    }

    /// Whether members see the room's history only from their invitation on: rooms created
    /// by students and parents, so that nobody reads, through a room's history, what was
    /// said to others before they came (see `docs/policy.md`). Such rooms are created with
    /// history visibility `invited`, students and parents cannot widen it, and the reader
    /// caps it at `invited` whatever the room's state says.
    pub fn limits_history(self) -> bool {
        matches!(self.creator_role, Some(Role::Student | Role::Parent))
    }

    /// The history visibility a new room with this origin starts with.
    pub fn initial_history_visibility(self) -> &'static str {
        if self.limits_history() {
            "invited"
        } else {
            "shared"
        }
    }
}

/// Reads a rights file: `Ok(None)` if it does not exist. Errors name the file, line and field.
pub fn read_rights(file: &Path) -> std::result::Result<Option<Rights>, String> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("Rechtedatei {}: {err}", file.display())),
    };
    Rights::from_toml(&text)
        .map(Some)
        .map_err(|err| format!("Rechtedatei {}: {err}", file.display()))
}

/// The rights in force, the file they come from, and how often each rule denied.
pub struct Policy {
    file: PathBuf,
    /// `[directory] restrict_parents_of_students_without_consent` of the configuration,
    /// carried into the rights (`Rights::parents_need_a_consenting_child`).
    parents_need_a_consenting_child: bool,
    rights: RwLock<Arc<Rights>>,
    denials: [AtomicU64; Rule::ALL.len()],
}

impl Policy {
    /// Loads the rights from `file` (the built-in defaults if it does not exist); an invalid
    /// file is an error naming the file, line and field. `parents_need_a_consenting_child`
    /// comes from the configuration.
    pub fn load(
        file: &Path,
        parents_need_a_consenting_child: bool,
    ) -> std::result::Result<Policy, String> {
        let policy = Policy {
            file: file.to_owned(),
            parents_need_a_consenting_child,
            rights: RwLock::new(Arc::new(Rights::default())),
            denials: std::array::from_fn(|_| AtomicU64::new(0)),
        };
        policy.reload()?;
        Ok(policy)
    }

    /// The rights in force (cheap: an `Arc` clone).
    pub fn rights(&self) -> Arc<Rights> {
        self.rights.read().expect("rights lock").clone()
    }

    /// Reads the rights file again. If it is invalid, the rights in force stay and the error
    /// (file, line, field) is returned; a missing file means the defaults, as at start.
    /// `Ok(true)`: the rights come from the file.
    pub fn reload(&self) -> std::result::Result<bool, String> {
        let read = read_rights(&self.file)?;
        let from_file = read.is_some();
        let mut rights = read.unwrap_or_default();
        rights.parents_need_a_consenting_child = self.parents_need_a_consenting_child;
        *self.rights.write().expect("rights lock") = Arc::new(rights);
        Ok(from_file)
    }

    /// [`Policy::reload`], logging the outcome (for SIGHUP).
    pub fn reload_logged(&self) {
        let file = self.file.display();
        match self.reload() {
            Ok(true) => tracing::info!(%file, "rights reloaded"),
            Ok(false) => tracing::warn!(%file, "rights file not found: the default rights apply"),
            Err(err) => tracing::error!(%err, "rights not reloaded; the previous rights stay"),
        }
    }

    /// How often `rule` denied something since the start.
    pub fn denials(&self, rule: Rule) -> u64 {
        self.denials[rule_index(rule)].load(Ordering::Relaxed)
    }

    /// How many denials there were since the start.
    pub fn total_denials(&self) -> u64 {
        self.denials.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Counts a denial by `rule`; returns the new count for the rule.
    fn count(&self, rule: Rule) -> u64 {
        self.denials[rule_index(rule)].fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// The position of `rule` in [`Rule::ALL`].
fn rule_index(rule: Rule) -> usize {
    Rule::ALL
        .iter()
        .position(|r| *r == rule)
        .expect("every rule is in Rule::ALL")
}

/// The directory snapshot and the rights a request's decisions are made on.
pub struct Context {
    /// The directory snapshot.
    pub dir: Arc<DirectoryIndex>,
    /// The rights.
    pub rights: Arc<Rights>,
    /// The system account of the server notices: its rooms are not the rights' business.
    system_user: Arc<ruma::OwnedUserId>,
    /// The registered appservices: they manage the school's rooms (`school::managed`).
    appservices: Arc<[Registration]>,
}

impl Context {
    /// The snapshot and rights in force now.
    pub fn now(state: &AppState) -> Context {
        Context {
            dir: state.directory.snapshot(),
            rights: state.policy.rights(),
            system_user: state.notices.system_user().clone(),
            appservices: state.appservices.shared(),
        }
    }

    /// Decides whether `actor` may do `action`.
    pub fn decide(&self, actor: &UserId, action: &Action<'_>) -> Decision {
        decide(actor.localpart(), action, &self.dir, &self.rights)
    }

    /// Decides, and on a denial counts and audits it and returns the 403 (`target`: what
    /// the audit log names as the target, e.g. a room or user ID).
    pub async fn check(
        &self,
        state: &AppState,
        actor: &UserId,
        action: &Action<'_>,
        target: &str,
    ) -> Result<()> {
        match self.decide(actor, action) {
            Decision::Allow => Ok(()),
            Decision::Deny(denial) => Err(self.deny(state, actor, action, target, denial).await),
        }
    }

    /// Refuses `action` by `actor` with `denial` (counted and audited like any denial) and
    /// returns the 403.
    pub async fn deny(
        &self,
        state: &AppState,
        actor: &UserId,
        action: &Action<'_>,
        target: &str,
        denial: Denial,
    ) -> Error {
        Denied::new(action, target, denial)
            .refuse(state, actor)
            .await
    }

    /// The origin of a room `creator` creates now.
    pub fn origin_for(&self, creator: &UserId, is_direct: bool) -> RoomOrigin {
        RoomOrigin {
            creator_role: self.role_of(creator),
            is_direct,
        }
    }

    /// How `room` was created. Rooms from before origins were recorded count as created by
    /// their creator's current role, and not as direct chats.
    pub fn origin_of(&self, room: &RoomSnapshot) -> RoomOrigin {
        room.origin.unwrap_or_else(|| RoomOrigin {
            creator_role: room.creator().and_then(|c| self.role_of(c)),
            is_direct: false,
        })
    }

    /// What the policy needs to know about `room` for a decision about `actor`; `members`
    /// are its [`RoomSnapshot::member_localparts`].
    pub fn room_facts<'a>(
        &self,
        room: &RoomSnapshot,
        members: &'a [&'a str],
        actor: &UserId,
    ) -> RoomFacts<'a> {
        let origin = self.origin_of(room);
        RoomFacts {
            creator_role: origin.creator_role,
            members,
            is_direct: origin.is_direct,
            managed: managed::managed(&self.appservices, room, actor),
        }
    }

    /// The directory role of a user, if they are in the directory.
    fn role_of(&self, user: &UserId) -> Option<Role> {
        self.dir.person(user.localpart()).map(|p| p.role)
    }

    /// How German texts address `user`: "du" if their role is in the configuration's
    /// `informal_address`, else (also outside the directory) "Sie".
    pub fn address(&self, state: &AppState, user: &UserId) -> Address {
        match self.role_of(user) {
            Some(role) if state.config.informal_address.contains(&role) => Address::Du,
            _ => Address::Sie,
        }
    }
}

/// Decides `action` by `actor` on the snapshot and rights in force now; see [`Context::check`].
pub async fn check(
    state: &AppState,
    actor: &UserId,
    action: &Action<'_>,
    target: &str,
) -> Result<()> {
    Context::now(state)
        .check(state, actor, action, target)
        .await
}

/// A denied action, before it is counted and audited.
#[derive(Debug)]
pub struct Denied {
    action: &'static str,
    target: String,
    denial: Denial,
    /// What was refused, if the person is told in a server notice (see [`tells_person`]).
    refused: Option<Line>,
}

impl Denied {
    fn new(action: &Action<'_>, target: &str, denial: Denial) -> Denied {
        Denied {
            action: action.id(),
            target: target.to_owned(),
            denial,
            refused: tells_person(action).then(|| action.refused()),
        }
    }

    /// Counts the denial, writes its audit entry (in a transaction of its own; a failure is
    /// logged with the entry) and returns the 403 with the rule's text, addressed to the
    /// actor ("du" or "Sie", see [`Context::address`]).
    pub async fn refuse(self, state: &AppState, actor: &UserId) -> Error {
        let rule = self.denial.rule;
        let count = state.policy.count(rule);
        // Who was refused goes to the audit log only, not to the server log.
        tracing::info!(
            action = self.action,
            rule = rule.id(),
            count,
            "policy denial"
        );
        let row = AuditRow {
            ts: state.clock.now_ms(),
            actor: actor.to_string(),
            action: AUDIT_ACTION.to_owned(),
            target: self.target,
            detail: format!("action={} rule={}", self.action, rule.id()),
        };
        if let Err(err) = state.db.audit(std::slice::from_ref(&row)).await {
            tracing::error!(%err, ?row, "policy denial not written to the audit log");
        }
        if let Some(refused) = self.refused {
            // Boxed: the notice goes through `Rooms::send`, whose own refusals end up here.
            Box::pin(notices::tell_refusal(state, actor, refused, rule)).await;
        }
        let text = rule.text();
        let address = Context::now(state).address(state, actor);
        Error::forbidden(text.de(address), text.en)
    }
}

/// Whether a refusal of `action` is told to the person in a server notice: everything a
/// person does on purpose. Reaching someone outside a room (profile, presence and key
/// lookups, to-device messages) is not: clients do that on their own (for every sender in a
/// timeline, for a typed user ID, to share keys), so the person did not ask for it.
fn tells_person(action: &Action<'_>) -> bool {
    !matches!(action, Action::Contact { .. })
}

/// What a room event means to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind<'a> {
    /// Nothing the rights govern, because it says nothing: leaving a call, removing a
    /// widget.
    Unchecked,
    /// Inviting the user with this localpart.
    Invite(&'a str),
    /// Joining or knocking.
    Join(JoinVia<'a>),
    /// Leaving or rejecting an invitation; `true`: with a reason or other content, which is
    /// also something said in the room.
    Leave(bool),
    /// A timeline event of this type, or one's own member event with a new profile or a
    /// reason (`m.room.member`): something said in the room.
    Message(&'a str),
    /// A membership event about the user with this localpart that is not an invitation
    /// (kick, ban, unban, any other membership set for someone else).
    Membership(&'a str),
    /// A state change.
    State(StateChange),
}

/// Checks one event `sender` wants to send into the existing `room` (the check in
/// `Rooms::send_batch` that no path into a room can bypass).
pub fn check_event(
    ctx: &Context,
    room: &RoomSnapshot,
    sender: &UserId,
    template: &EventTemplate,
) -> std::result::Result<(), Denied> {
    // A server-notices room belongs to the server: it puts the person there, and its power
    // levels keep everyone but the system account from writing or inviting.
    if room.creator() == Some(ctx.system_user.as_ref()) {
        return Ok(());
    }
    let kind = classify(room, sender, template);
    if kind == EventKind::Unchecked {
        return Ok(());
    }
    let members = room.member_localparts();
    let facts = ctx.room_facts(room, &members, sender);
    let action = match kind {
        EventKind::Unchecked => return Ok(()),
        EventKind::Leave(says_something) => {
            let leave = Action::Leave { room: &facts };
            decide_event(ctx, room, sender, &leave)?;
            if !says_something {
                return Ok(());
            }
            Action::SendMessage {
                room: &facts,
                event_type: "m.room.member",
            }
        }
        EventKind::Invite(target) => Action::Invite {
            target,
            room: &facts,
        },
        EventKind::Join(via) => Action::Join { room: &facts, via },
        EventKind::Message(event_type) => Action::SendMessage {
            room: &facts,
            event_type,
        },
        EventKind::Membership(target) => Action::ChangeMembership {
            target,
            room: &facts,
        },
        EventKind::State(change) => Action::ChangeRoomState {
            change,
            room: Some(&facts),
        },
    };
    decide_event(ctx, room, sender, &action)
}

/// Decides `action` of an event into `room` by `sender`.
fn decide_event(
    ctx: &Context,
    room: &RoomSnapshot,
    sender: &UserId,
    action: &Action<'_>,
) -> std::result::Result<(), Denied> {
    match ctx.decide(sender, action) {
        Decision::Allow => Ok(()),
        Decision::Deny(denial) => Err(Denied::new(action, room.room_id.as_str(), denial)),
    }
}

/// Checks that `sender` may still say something in `room` that is not an event: a typing
/// notification or a public read receipt (`event_type` `m.typing` or `m.receipt`), decided
/// like a message.
pub async fn check_signal(
    state: &AppState,
    room: &RoomSnapshot,
    sender: &UserId,
    event_type: &str,
) -> Result<()> {
    let ctx = Context::now(state);
    let members = room.member_localparts();
    let facts = ctx.room_facts(room, &members, sender);
    let action = Action::SendMessage {
        room: &facts,
        event_type,
    };
    ctx.check(state, sender, &action, room.room_id.as_str())
        .await
}

/// What `template`, sent by `sender` into `room`, means to the policy.
fn classify<'a>(
    room: &'a RoomSnapshot,
    sender: &UserId,
    template: &'a EventTemplate,
) -> EventKind<'a> {
    let Some(state_key) = template.state_key.as_deref() else {
        return EventKind::Message(&template.kind);
    };
    if template.kind != "m.room.member" {
        return state_change(&template.kind, &template.content, sender, Some(room))
            .map_or(EventKind::Unchecked, EventKind::State);
    }
    let membership = template
        .content
        .get("membership")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if state_key != sender.as_str() {
        return match membership {
            "invite" => EventKind::Invite(localpart(state_key)),
            _ => EventKind::Membership(localpart(state_key)),
        };
    }
    match membership {
        "join" => match room.membership(sender) {
            // A profile update (new display name or avatar).
            Some(MembershipState::Join) => EventKind::Message("m.room.member"),
            Some(MembershipState::Invite) => {
                let inviter = room
                    .get("m.room.member", state_key)
                    .map_or("", |invite| invite.sender.localpart());
                EventKind::Join(JoinVia::Invite { inviter })
            }
            _ if room.state_str("m.room.join_rules", "join_rule").as_deref() == Some("public") => {
                EventKind::Join(JoinVia::Public)
            }
            _ => EventKind::Join(JoinVia::Alias),
        },
        "knock" => EventKind::Join(JoinVia::Knock),
        // Leaving (or rejecting an invitation) is restricted in rooms the school manages
        // only; a reason or anything else in it is said to the room.
        "leave" => EventKind::Leave(!says_nothing(&template.content)),
        // Inviting or banning oneself: the authorization rules refuse it.
        _ => EventKind::Membership(localpart(state_key)),
    }
}

/// Whether a member event's content holds nothing but its membership.
fn says_nothing(content: &Value) -> bool {
    content
        .as_object()
        .is_some_and(|o| o.keys().all(|key| key == "membership"))
}

/// The localpart of a user ID (`@ben:schule.test` → `ben`).
pub(crate) fn localpart(user_id: &str) -> &str {
    let rest = user_id.strip_prefix('@').unwrap_or(user_id);
    rest.split_once(':')
        .map_or(rest, |(localpart, _)| localpart)
}

/// What a state event of `kind` with `content` by `sender` changes, for the policy; `room`
/// is the room it goes into (`None`: a room being created, where the creator has level 100
/// and nobody is in a call). `None`: nothing the rights govern because the event says
/// nothing — leaving a call or removing a widget ([`leaves_call`]).
fn state_change(
    kind: &str,
    content: &Value,
    sender: &UserId,
    room: Option<&RoomSnapshot>,
) -> Option<StateChange> {
    let field = |name: &str| content.get(name).and_then(Value::as_str);
    let change = match kind {
        "m.room.join_rules" => StateChange::JoinRules {
            invite_only: field("join_rule") == Some("invite"),
        },
        "m.room.history_visibility" => StateChange::HistoryVisibility {
            visibility: History::from_value(field("history_visibility")),
        },
        "m.room.power_levels" => {
            let before = room.map_or(CREATOR_LEVEL, |room| level_now(room, sender));
            StateChange::PowerLevels {
                raises_self: level_in(content, sender.as_str()) > before,
            }
        }
        "m.room.encryption" => StateChange::Encryption,
        "m.room.name" => StateChange::Name,
        "m.room.topic" => StateChange::Topic,
        "m.room.avatar" => StateChange::Avatar,
        "m.room.canonical_alias" => StateChange::CanonicalAlias,
        "m.room.server_acl" => StateChange::ServerAcl,
        "m.room.tombstone" => StateChange::Tombstone,
        "m.room.guest_access" => StateChange::GuestAccess,
        kind if CALL_MEMBER_TYPES.contains(&kind) || CALL_WIDGET_TYPES.contains(&kind) => {
            if leaves_call(content) {
                return None;
            }
            if CALL_WIDGET_TYPES.contains(&kind) {
                StateChange::CallWidget
            } else {
                StateChange::CallMember {
                    starts_call: !room.is_some_and(|room| others_in_call(room, sender)),
                }
            }
        }
        _ => StateChange::Other,
    };
    Some(change)
}

/// State event types of call memberships (who is in a call).
const CALL_MEMBER_TYPES: [&str; 2] = ["m.call.member", "org.matrix.msc3401.call.member"];

/// State event types that define a call or a widget (a video conference to join).
const CALL_WIDGET_TYPES: [&str; 4] = [
    "im.vector.modular.widgets",
    "m.widget",
    "m.call",
    "org.matrix.msc3401.call",
];

/// Whether a call membership or widget event takes something away rather than putting its
/// sender into a call: its content is empty, or nothing but an empty `memberships` list (the
/// older form of leaving a call). Judged by what the event leaves in the room's state, not by
/// a field a client may add to anything: content with any other field defines a call or a
/// membership in one, as clients read it.
fn leaves_call(content: &Value) -> bool {
    content.as_object().is_some_and(|o| {
        o.iter()
            .all(|(key, value)| key == "memberships" && value.as_array().is_some_and(Vec::is_empty))
    })
}

/// Whether someone other than `sender` is in a call in `room`.
fn others_in_call(room: &RoomSnapshot, sender: &UserId) -> bool {
    room.state_events().any(|(kind, pdu)| {
        CALL_MEMBER_TYPES.contains(&kind.to_string().as_str())
            && pdu.sender != sender
            && !leaves_call(&pdu.content_value())
    })
}

/// `user`'s power level in `room` now.
fn level_now(room: &RoomSnapshot, user: &UserId) -> i64 {
    match room.power_levels().for_user(user) {
        UserPowerLevel::Int(level) => level.into(),
        _ => i64::MAX,
    }
}

/// `user`'s power level in power levels `content` (rooms 10 and 11: integers): their entry
/// in `users`, else `users_default`, else 0.
fn level_in(content: &Value, user: &str) -> i64 {
    content
        .get("users")
        .and_then(|users| users.get(user))
        .or_else(|| content.get("users_default"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// What a `createRoom` asks for, as the policy sees it.
pub struct NewRoom<'a> {
    /// `is_direct`.
    pub direct: bool,
    /// The invitees' localparts.
    pub invitees: &'a [&'a str],
    /// Preset `public_chat` or visibility `public`.
    pub public: bool,
    /// An alias was requested (`room_alias_name`).
    pub alias: bool,
    /// A space (`creation_content.type` `m.space`).
    pub space: bool,
    /// Whether `creation_content` marks a room the school manages, and whether the creator is
    /// an appservice (`school::managed::creation`).
    pub managed: Managed,
    /// The state the client chose: `initial_state`, `name`, `topic`, and the power levels
    /// if it overrode them (merged with the defaults), as `(type, content)`.
    pub chosen_state: &'a [(&'a str, Value)],
}

/// Checks a `createRoom` before anything is created: the room as a whole (`CreateRoom`; its
/// invitees are not checked again as invitations), a space (`CreateSpace`), an alias
/// (`PublishRoom`), and every piece of state the client chose as `ChangeRoomState` by the
/// creator. Returns the origin to record.
pub async fn check_create_room(
    state: &AppState,
    creator: &UserId,
    room: &NewRoom<'_>,
) -> Result<RoomOrigin> {
    let ctx = Context::now(state);
    let create = Action::CreateRoom {
        direct: room.direct,
        invitees: room.invitees,
        public: room.public,
        managed: room.managed,
    };
    ctx.check(state, creator, &create, &room.invitees.join(","))
        .await?;
    if room.managed == Managed::ByActor {
        // The appservice creating a room it manages: the room's settings are its own.
        return Ok(ctx.origin_for(creator, room.direct));
    }
    if room.space {
        ctx.check(state, creator, &Action::CreateSpace, "").await?;
    }
    if room.alias {
        ctx.check(state, creator, &Action::PublishRoom, "").await?;
    }
    for (kind, content) in room.chosen_state {
        if let Some(change) = state_change(kind, content, creator, None) {
            let action = Action::ChangeRoomState { change, room: None };
            ctx.check(state, creator, &action, kind).await?;
        }
    }
    Ok(ctx.origin_for(creator, room.direct))
}

#[cfg(test)]
mod tests {
    use super::*;
    use schulhof_policy::Channel;
    use serde_json::json;

    fn change(kind: &str, content: Value) -> Option<StateChange> {
        let sender = UserId::parse("@ben:schule.test").unwrap();
        state_change(kind, &content, &sender, None)
    }

    #[test]
    fn state_event_types_map_to_changes() {
        let cases = [
            (
                "m.room.join_rules",
                json!({ "join_rule": "invite" }),
                StateChange::JoinRules { invite_only: true },
            ),
            (
                "m.room.join_rules",
                json!({ "join_rule": "public" }),
                StateChange::JoinRules { invite_only: false },
            ),
            (
                "m.room.join_rules",
                json!({ "join_rule": "knock" }),
                StateChange::JoinRules { invite_only: false },
            ),
            (
                "m.room.history_visibility",
                json!({ "history_visibility": "world_readable" }),
                StateChange::HistoryVisibility {
                    visibility: History::WorldReadable,
                },
            ),
            (
                "m.room.history_visibility",
                json!({ "history_visibility": "joined" }),
                StateChange::HistoryVisibility {
                    visibility: History::Joined,
                },
            ),
            (
                "m.room.history_visibility",
                json!({ "history_visibility": "invited" }),
                StateChange::HistoryVisibility {
                    visibility: History::Invited,
                },
            ),
            (
                "m.room.guest_access",
                json!({ "guest_access": "can_join" }),
                StateChange::GuestAccess,
            ),
            (
                "m.room.encryption",
                json!({ "algorithm": "m.megolm.v1.aes-sha2" }),
                StateChange::Encryption,
            ),
            (
                "m.room.name",
                json!({ "name": "Klasse" }),
                StateChange::Name,
            ),
            (
                "m.room.topic",
                json!({ "topic": "Mathe" }),
                StateChange::Topic,
            ),
            (
                "m.room.avatar",
                json!({ "url": "mxc://s/a" }),
                StateChange::Avatar,
            ),
            (
                "m.room.canonical_alias",
                json!({ "alias": "#a:s" }),
                StateChange::CanonicalAlias,
            ),
            (
                "m.room.server_acl",
                json!({ "allow": ["*"] }),
                StateChange::ServerAcl,
            ),
            (
                "m.room.tombstone",
                json!({ "replacement_room": "!r:s" }),
                StateChange::Tombstone,
            ),
            (
                "m.call.member",
                json!({ "memberships": [{ "call_id": "" }] }),
                StateChange::CallMember { starts_call: true },
            ),
            (
                "org.matrix.msc3401.call.member",
                json!({ "application": "m.call" }),
                StateChange::CallMember { starts_call: true },
            ),
            (
                "im.vector.modular.widgets",
                json!({ "type": "jitsi" }),
                StateChange::CallWidget,
            ),
            // An empty membership list does not make a widget or a call membership harmless.
            (
                "im.vector.modular.widgets",
                json!({ "type": "jitsi", "url": "https://meet.example/x", "memberships": [] }),
                StateChange::CallWidget,
            ),
            (
                "org.matrix.msc3401.call.member",
                json!({ "memberships": [], "application": "m.call", "call_id": "" }),
                StateChange::CallMember { starts_call: true },
            ),
            (
                "m.call",
                json!({ "m.intent": "m.room" }),
                StateChange::CallWidget,
            ),
            (
                "m.room.pinned_events",
                json!({ "pinned": [] }),
                StateChange::Other,
            ),
            ("m.space.child", json!({ "via": ["s"] }), StateChange::Other),
            (
                "m.room.member",
                json!({ "membership": "invite" }),
                StateChange::Other,
            ),
        ];
        for (kind, content, expected) in cases {
            assert_eq!(change(kind, content), Some(expected), "{kind}");
        }
    }

    /// A policy context on a school of a teacher (anna), a student (ben) and a parent (eva),
    /// with the school's appservice registered.
    fn school_context() -> Context {
        let csv = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung\n\
                   L1;Anna;A;Lehrkraft;Klasse 8a;;ja\n\
                   S1;Ben;B;Schüler;Klasse 8a;;ja\n\
                   E1;Eva;B;Sorgeberechtigte;;S1;ja\n";
        let file = schulhof_directory::parse_csv(csv.as_bytes()).unwrap();
        let directory = schulhof_directory::plan_import(&Default::default(), &file, 0)
            .unwrap()
            .result;
        Context {
            dir: Arc::new(directory.index()),
            rights: Arc::new(Rights::default()),
            system_user: Arc::new(UserId::parse("@schulhof:s").unwrap()),
            appservices: managed::tests::registrations().into(),
        }
    }

    /// The class room the appservice created, with everyone joined.
    fn class_room(marked: bool) -> RoomSnapshot {
        let bot = "@schulhof-schule:s";
        let create = if marked {
            json!({ "creator": bot, managed::MARKER: "group:Klasse 8a" })
        } else {
            json!({ "creator": bot })
        };
        let mut events = vec![(bot, "m.room.create", "", create)];
        for user in [bot, "@anna.a:s", "@ben.b:s", "@eva.b:s"] {
            events.push((user, "m.room.member", user, json!({ "membership": "join" })));
        }
        RoomSnapshot::for_test(&events)
    }

    /// The rule `check_event` denies `template` by `sender` with, or "allow".
    fn event_outcome(room: &RoomSnapshot, sender: &str, template: &EventTemplate) -> &'static str {
        let sender = UserId::parse(sender).unwrap();
        match check_event(&school_context(), room, &sender, template) {
            Ok(()) => "allow",
            Err(denied) => denied.denial.rule.id(),
        }
    }

    #[test]
    fn events_into_a_managed_room_follow_its_rules() {
        let room = class_room(true);
        let name = EventTemplate::state("m.room.name", "", json!({ "name": "X" }));
        let leave = member("@ben.b:s", "leave");
        let leave_with_reason = EventTemplate::state(
            "m.room.member",
            "@ben.b:s",
            json!({ "membership": "leave", "reason": "Tschüss" }),
        );
        let kick_ben = member("@ben.b:s", "leave");
        let invite = member("@tom:s", "invite");
        let cases = [
            ("@ben.b:s", &name, "managed_room_staff_only"),
            ("@eva.b:s", &name, "managed_room_staff_only"),
            ("@anna.a:s", &name, "allow"),
            ("@ben.b:s", &leave, "managed_room_leave"),
            ("@ben.b:s", &leave_with_reason, "managed_room_leave"),
            ("@anna.a:s", &kick_ben, "allow"),
            ("@eva.b:s", &kick_ben, "managed_room_staff_only"),
            ("@anna.a:s", &invite, "group_room_managed"),
            // The appservice passes, as its sender and as a user of its exclusive namespace.
            ("@schulhof-schule:s", &invite, "allow"),
            ("@schule_x:s", &name, "allow"),
            // A user of a non-exclusive namespace is nobody special.
            ("@gast_x:s", &name, "managed_room_staff_only"),
        ];
        for (sender, template, expected) in cases {
            assert_eq!(
                event_outcome(&room, sender, template),
                expected,
                "{sender}: {} {:?}",
                template.kind,
                template.content
            );
        }
        // Without the marker the same room is an ordinary staff room: leaving and naming it
        // follow the usual rules.
        let ordinary = class_room(false);
        assert_eq!(event_outcome(&ordinary, "@ben.b:s", &leave), "allow");
        assert_eq!(event_outcome(&ordinary, "@anna.a:s", &invite), "allow");
    }

    /// Ben's direct chat with Zoë (invited), a join rule as given.
    fn dm(join_rule: &str) -> RoomSnapshot {
        RoomSnapshot::for_test(&[
            (
                "@ben:s",
                "m.room.create",
                "",
                json!({ "creator": "@ben:s" }),
            ),
            (
                "@ben:s",
                "m.room.member",
                "@ben:s",
                json!({ "membership": "join" }),
            ),
            (
                "@ben:s",
                "m.room.join_rules",
                "",
                json!({ "join_rule": join_rule }),
            ),
            (
                "@ben:s",
                "m.room.member",
                "@zoe:s",
                json!({ "membership": "invite" }),
            ),
            (
                "@mia:s",
                "m.room.member",
                "@mia:s",
                json!({ "membership": "leave" }),
            ),
        ])
    }

    fn member(key: &str, membership: &str) -> EventTemplate {
        EventTemplate::state("m.room.member", key, json!({ "membership": membership }))
    }

    fn kind_of(room: &RoomSnapshot, sender: &str, template: &EventTemplate) -> String {
        let sender = UserId::parse(sender).unwrap();
        format!("{:?}", classify(room, &sender, template))
    }

    #[test]
    fn member_events_map_to_invite_join_membership_or_message() {
        let room = dm("invite");
        let kind = |sender, template| kind_of(&room, sender, &template);
        assert_eq!(
            kind("@ben:s", member("@mia:s", "invite")),
            "Invite(\"mia\")"
        );
        assert_eq!(
            kind("@zoe:s", member("@zoe:s", "join")),
            "Join(Invite { inviter: \"ben\" })"
        );
        assert_eq!(kind("@mia:s", member("@mia:s", "join")), "Join(Alias)");
        assert_eq!(kind("@mia:s", member("@mia:s", "knock")), "Join(Knock)");
        // A profile update is something said in the room; leaving is decided as leaving.
        assert_eq!(
            kind("@ben:s", member("@ben:s", "join")),
            "Message(\"m.room.member\")"
        );
        assert_eq!(kind("@ben:s", member("@ben:s", "leave")), "Leave(false)");
        // A reason (or anything else) in a leave is said to the room.
        let with_reason = EventTemplate::state(
            "m.room.member",
            "@ben:s",
            json!({ "membership": "leave", "reason": "Tschüss" }),
        );
        assert_eq!(kind("@ben:s", with_reason), "Leave(true)");
        // Every membership event about someone else is decided (kick, ban, unban, join).
        assert_eq!(
            kind("@ben:s", member("@zoe:s", "leave")),
            "Membership(\"zoe\")"
        );
        assert_eq!(
            kind("@ben:s", member("@zoe:s", "ban")),
            "Membership(\"zoe\")"
        );
        assert_eq!(
            kind("@ben:s", member("@mia:s", "join")),
            "Membership(\"mia\")"
        );
        let public = dm("public");
        assert_eq!(
            kind_of(&public, "@mia:s", &member("@mia:s", "join")),
            "Join(Public)"
        );
    }

    #[test]
    fn other_events_map_to_messages_and_state_changes() {
        let room = dm("invite");
        let message = EventTemplate::message("m.room.message", json!({ "body": "Hallo" }));
        assert_eq!(
            kind_of(&room, "@ben:s", &message),
            "Message(\"m.room.message\")"
        );
        let name = EventTemplate::state("m.room.name", "", json!({ "name": "X" }));
        assert_eq!(kind_of(&room, "@ben:s", &name), "State(Name)");
        // Ben has level 100 as the creator (no power levels event): 100 is no raise.
        let levels = |level: i64| {
            EventTemplate::state(
                "m.room.power_levels",
                "",
                json!({ "users": { "@ben:s": level, "@zoe:s": level } }),
            )
        };
        assert_eq!(
            kind_of(&room, "@ben:s", &levels(100)),
            "State(PowerLevels { raises_self: false })"
        );
        assert_eq!(
            kind_of(&room, "@zoe:s", &levels(100)),
            "State(PowerLevels { raises_self: true })"
        );
        let guests = EventTemplate::state("m.room.guest_access", "", json!({}));
        assert_eq!(kind_of(&room, "@ben:s", &guests), "State(GuestAccess)");
    }

    #[test]
    fn a_call_starts_only_when_nobody_else_is_in_it() {
        let mut events = vec![(
            "@ben:s",
            "m.call.member",
            "@ben:s",
            json!({ "memberships": [{ "call_id": "" }] }),
        )];
        let joining = EventTemplate::state(
            "m.call.member",
            "@zoe:s",
            json!({ "memberships": [{ "call_id": "" }] }),
        );
        let room = RoomSnapshot::for_test(&events);
        assert_eq!(
            kind_of(&room, "@zoe:s", &joining),
            "State(CallMember { starts_call: false })"
        );
        // Ben's own membership does not count for Ben; a left call does not count at all.
        assert_eq!(
            kind_of(&room, "@ben:s", &joining),
            "State(CallMember { starts_call: true })"
        );
        events[0].3 = json!({ "memberships": [] });
        let room = RoomSnapshot::for_test(&events);
        assert_eq!(
            kind_of(&room, "@zoe:s", &joining),
            "State(CallMember { starts_call: true })"
        );
    }

    #[test]
    fn members_are_the_joined_and_invited() {
        let room = dm("invite");
        let mut members = room.member_localparts();
        members.sort_unstable();
        assert_eq!(members, ["ben", "zoe"]);
        assert_eq!(room.creator().map(|c| c.as_str()), Some("@ben:s"));
    }

    #[test]
    fn leaving_a_call_is_not_checked() {
        assert_eq!(change("m.call.member", json!({})), None);
        assert_eq!(change("m.call.member", json!({ "memberships": [] })), None);
        assert_eq!(change("im.vector.modular.widgets", json!({})), None);
        // Anything besides an empty membership list is a call or a membership in one.
        for content in [
            json!({ "memberships": [], "focus_active": { "type": "livekit" } }),
            json!({ "memberships": [{ "call_id": "" }] }),
            json!({ "memberships": "none" }),
        ] {
            assert!(
                change("m.call.member", content.clone()).is_some(),
                "{content}"
            );
            assert!(change("m.widget", content.clone()).is_some(), "{content}");
        }
    }

    #[test]
    fn raising_ones_own_level_is_recognised() {
        let raises = |content: Value| match change("m.room.power_levels", content) {
            Some(StateChange::PowerLevels { raises_self }) => raises_self,
            other => panic!("{other:?}"),
        };
        // A new room's creator starts at 100.
        assert!(!raises(json!({ "users": { "@ben:schule.test": 100 } })));
        assert!(!raises(json!({ "users": { "@ben:schule.test": 50 } })));
        assert!(raises(json!({ "users": { "@ben:schule.test": 101 } })));
        // Through users_default, when not listed.
        assert!(raises(json!({ "users": {}, "users_default": 150 })));
        assert!(!raises(
            json!({ "users": { "@ben:schule.test": 100 }, "users_default": 150 })
        ));
        // Nothing given: level 0.
        assert!(!raises(json!({})));
    }

    #[test]
    fn levels_come_from_users_then_the_default() {
        let content = json!({ "users": { "@a:s": 75 }, "users_default": 10 });
        assert_eq!(level_in(&content, "@a:s"), 75);
        assert_eq!(level_in(&content, "@b:s"), 10);
        assert_eq!(level_in(&json!({}), "@b:s"), 0);
    }

    #[test]
    fn localparts_of_user_ids() {
        assert_eq!(localpart("@ben.mueller:schule.test"), "ben.mueller");
        assert_eq!(localpart("ben"), "ben");
    }

    #[test]
    fn origins_round_trip_through_rows() {
        let origin = RoomOrigin {
            creator_role: Some(Role::Parent),
            is_direct: true,
        };
        assert_eq!(RoomOrigin::from_row(origin.to_row()), origin);
        let unknown = RoomOrigin {
            creator_role: None,
            is_direct: false,
        };
        assert_eq!(RoomOrigin::from_row(unknown.to_row()), unknown);
    }

    #[test]
    fn a_missing_rights_file_means_defaults_and_a_broken_one_names_line_and_field() {
        let dir = std::env::temp_dir().join(format!("schulhof-rights-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.toml");
        assert_eq!(read_rights(&missing), Ok(None));
        let policy = Policy::load(&missing, true).unwrap();
        assert_eq!(*policy.rights(), Rights::default());

        let file = dir.join("rights.toml");
        std::fs::write(&file, "[student]\nmay_create_rooms = true\n").unwrap();
        let policy = Policy::load(&file, true).unwrap();
        assert!(policy.rights().student.may_create_rooms);

        std::fs::write(&file, "[student]\nmay_create_rooms = \"ja\"\n").unwrap();
        let err = policy.reload().unwrap_err();
        assert!(err.contains("rights.toml"), "{err}");
        assert!(err.contains("Zeile 2"), "{err}");
        assert!(err.contains("student.may_create_rooms"), "{err}");
        // The rights in force stay.
        assert!(policy.rights().student.may_create_rooms);
        assert!(Policy::load(&file, true).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refusals_are_told_unless_the_client_asked_on_its_own() {
        for channel in [
            Channel::Profile,
            Channel::Presence,
            Channel::Keys,
            Channel::ToDevice,
        ] {
            let contact = Action::Contact {
                target: "mia",
                shares_room: false,
                channel,
            };
            assert!(!tells_person(&contact));
        }
        let chat = Action::CreateRoom {
            direct: true,
            invitees: &["mia"],
            public: false,
            managed: Managed::No,
        };
        assert!(tells_person(&chat));
        assert!(tells_person(&Action::ChangeDisplayName));
    }

    #[test]
    fn denials_are_counted_per_rule() {
        let policy = Policy::load(Path::new("/nonexistent/rights.toml"), true).unwrap();
        assert_eq!(policy.count(Rule::JoinRequiresInvite), 1);
        assert_eq!(policy.count(Rule::JoinRequiresInvite), 2);
        policy.count(Rule::AdminOnly);
        assert_eq!(policy.denials(Rule::JoinRequiresInvite), 2);
        assert_eq!(policy.denials(Rule::StudentCreateRoom), 0);
        assert_eq!(policy.total_denials(), 3);
    }
}
