//! The decision function.

use std::ptr;

use schulhof_directory::{DirectoryIndex, GroupKind, Person, PersonStatus, Role};

use crate::action::{Action, Channel, History, JoinVia, Managed, RoomFacts, StateChange};
use crate::rights::{Reach, Rights, UnknownUsers};
use crate::rule::{Decision, Rule};

/// Decides whether the user with localpart `actor` may do `action`, given the school
/// directory and the rights. Pure and allocation-free; O(1) lookups, plus O(members) for
/// actions in rooms created by students or parents and for invitations by them.
///
/// The directory covers everyone at the school; accounts outside it are governed by
/// [`Rights::unknown_users`]. See `docs/policy.md` for every rule.
pub fn decide(actor: &str, action: &Action<'_>, dir: &DirectoryIndex, rights: &Rights) -> Decision {
    Policy { dir, rights }.check(actor, action).into()
}

/// Why `person` cannot use Schulhof at all, if so: deactivated, locked, or restricted for want
/// of consent — their own, if their role is in [`Rights::consent_required`], or, for a parent
/// while students need consent, that of every one of their children (unless
/// [`Rights::parents_need_a_consenting_child`] is off; one child with consent is enough).
///
/// The one definition of "restricted": the server refuses logins and access tokens by it, and
/// every decision refuses such an actor and such a target by it.
pub fn unavailability(person: &Person, dir: &DirectoryIndex, rights: &Rights) -> Option<Rule> {
    match person.status {
        PersonStatus::Deactivated { .. } => return Some(Rule::AccountDeactivated),
        PersonStatus::Locked => return Some(Rule::AccountLocked),
        PersonStatus::Active => {}
    }
    let needs_consent = |role| rights.consent_required.contains(&role);
    let own = needs_consent(person.role) && !person.consent;
    let through_children = person.role == Role::Parent
        && rights.parents_need_a_consenting_child
        && needs_consent(Role::Student)
        && {
            let children = dir.children_of(&person.localpart);
            !children.is_empty()
                && !children
                    .iter()
                    .any(|child| dir.person(child).is_some_and(|c| c.consent))
        };
    (own || through_children).then_some(Rule::AccountRestricted)
}

/// `Ok(())` or the rule that denies.
type Outcome = Result<(), Rule>;

/// `Ok(())` if `allowed`, `Err(rule)` otherwise.
fn require(allowed: bool, rule: Rule) -> Outcome {
    if allowed {
        Ok(())
    } else {
        Err(rule)
    }
}

/// The room an action happens in, if it happens in an existing room.
fn action_room<'a>(action: &Action<'a>) -> Option<&'a RoomFacts<'a>> {
    match *action {
        Action::Invite { room, .. }
        | Action::Join { room, .. }
        | Action::Leave { room }
        | Action::SendMessage { room, .. }
        | Action::ChangeMembership { room, .. }
        | Action::ChangeRoomState {
            room: Some(room), ..
        } => Some(room),
        _ => None,
    }
}

/// Teachers and admins.
fn is_staff(role: Role) -> bool {
    matches!(role, Role::Teacher | Role::Admin)
}

/// String equality, rejecting most unequal names (same length, different class number)
/// without a `memcmp` call.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().last() == b.as_bytes().last() && a == b
}

/// Whether one of the two is a parent of the other.
fn is_family(a: &Person, b: &Person) -> bool {
    (a.role == Role::Parent && a.children.contains(&b.import_id))
        || (b.role == Role::Parent && b.children.contains(&a.import_id))
}

/// Whom someone may address, and whether their own children or parents as well.
#[derive(Debug, Clone, Copy)]
struct Audience {
    reach: Reach,
    family: bool,
}

impl Audience {
    /// Whom `role` may write to.
    fn messages(rights: &Rights, role: Role) -> Audience {
        match role {
            Role::Teacher => Audience {
                reach: rights.teacher.may_message,
                family: false,
            },
            Role::Student => Audience {
                reach: rights.student.may_message,
                family: rights.student.may_message_own_parents,
            },
            Role::Parent => Audience {
                reach: rights.parent.may_message,
                family: rights.parent.may_message_own_children,
            },
            Role::Admin => Audience {
                reach: Reach::Everyone,
                family: true,
            },
        }
    }

    /// The rule denying an address outside this audience by `role`; `rooms`: the audience
    /// for chat rooms rather than direct messages.
    fn rule(self, role: Role, rooms: bool) -> Rule {
        match (self.reach, role) {
            (Reach::Teachers, _) => Rule::ContactTeachersOnly,
            (_, Role::Parent) if rooms => Rule::ParentRoomOutsideGroups,
            (_, Role::Parent) => Rule::ParentContactOutsideGroups,
            (_, Role::Student) => Rule::StudentContactOutsideGroups,
            _ => Rule::TeacherContactOutsideGroups,
        }
    }
}

/// What a role may do, flattened from [`Rights`].
#[derive(Debug, Clone, Copy)]
struct Abilities {
    messages: Audience,
    rooms: Audience,
    create_rooms: bool,
    create_groups: bool,
    invite_groups: bool,
    reset_passwords: bool,
    set_tasks: bool,
    submit_tasks: bool,
    start_video: bool,
    join_video: bool,
    set_room_name: bool,
    change_display_name: bool,
    change_avatar: bool,
    change_password: bool,
}

impl Abilities {
    /// The abilities of `role` (admins: everything).
    fn of(rights: &Rights, role: Role) -> Abilities {
        let messages = Audience::messages(rights, role);
        match role {
            Role::Teacher => {
                let t = &rights.teacher;
                Abilities {
                    messages,
                    rooms: messages,
                    create_rooms: t.may_create_rooms,
                    create_groups: t.may_create_groups,
                    invite_groups: t.may_invite_groups,
                    reset_passwords: t.may_reset_passwords,
                    set_tasks: t.may_set_tasks,
                    submit_tasks: true,
                    start_video: t.may_start_video_conferences,
                    join_video: true,
                    set_room_name: true,
                    change_display_name: t.may_change_display_name,
                    change_avatar: t.may_change_avatar,
                    change_password: t.may_change_password,
                }
            }
            Role::Student => {
                let s = &rights.student;
                Abilities {
                    messages,
                    rooms: messages,
                    create_rooms: s.may_create_rooms,
                    create_groups: s.may_create_groups,
                    invite_groups: false,
                    reset_passwords: false,
                    set_tasks: false,
                    submit_tasks: s.may_submit_tasks,
                    start_video: s.may_start_video_conferences,
                    join_video: s.may_join_video_conferences,
                    set_room_name: s.may_set_room_name,
                    change_display_name: s.may_change_display_name,
                    change_avatar: s.may_change_avatar,
                    change_password: s.may_change_password,
                }
            }
            Role::Parent => {
                let p = &rights.parent;
                Abilities {
                    messages,
                    rooms: Audience {
                        reach: p.room_members,
                        family: false,
                    },
                    create_rooms: p.may_create_rooms,
                    create_groups: p.may_create_groups,
                    invite_groups: false,
                    reset_passwords: false,
                    set_tasks: false,
                    submit_tasks: p.may_submit_tasks,
                    start_video: p.may_start_video_conferences,
                    join_video: p.may_join_video_conferences,
                    set_room_name: p.may_set_room_name,
                    change_display_name: p.may_change_display_name,
                    change_avatar: p.may_change_avatar,
                    change_password: p.may_change_password,
                }
            }
            Role::Admin => Abilities {
                messages,
                rooms: messages,
                create_rooms: true,
                create_groups: true,
                invite_groups: true,
                reset_passwords: true,
                set_tasks: true,
                submit_tasks: true,
                start_video: true,
                join_video: true,
                set_room_name: true,
                change_display_name: true,
                change_avatar: true,
                change_password: true,
            },
        }
    }
}

/// A teacher, student or parent acting, with their abilities.
#[derive(Clone, Copy)]
struct Actor<'a> {
    person: &'a Person,
    can: Abilities,
    staff: bool,
}

impl Actor<'_> {
    /// The rule denying room creation and invitations to this actor.
    fn create_room_rule(&self) -> Rule {
        if self.person.role == Role::Student {
            Rule::StudentCreateRoom
        } else {
            Rule::CreateRoomNotAllowed
        }
    }

    /// `Ok` for staff, `Err(rule)` for students and parents.
    fn staff_or(&self, rule: Rule) -> Outcome {
        require(self.staff, rule)
    }

    /// Starting (`start`) or joining a video conference.
    fn video(&self, start: bool) -> Outcome {
        if start {
            require(self.can.start_video, Rule::StartVideoNotAllowed)
        } else {
            require(self.can.join_video, Rule::JoinVideoNotAllowed)
        }
    }
}

/// The directory and rights a decision is made against.
struct Policy<'a> {
    dir: &'a DirectoryIndex,
    rights: &'a Rights,
}

impl<'a> Policy<'a> {
    /// The decision for `actor`.
    fn check(&self, actor: &str, action: &Action<'_>) -> Outcome {
        let person = self.dir.person(actor);
        if let Some(outcome) = self.manager_or_leave(person, action) {
            return outcome;
        }
        let Some(person) = person else {
            return match self.rights.unknown_users {
                UnknownUsers::Allow => self
                    .managed(false, action)
                    .unwrap_or_else(|| self.privileged(action, false)),
                UnknownUsers::Deny => Err(Rule::AccountNotInDirectory),
            };
        };
        if let Some(rule) = self.inactive(person) {
            return Err(rule);
        }
        if let Some(outcome) = self.managed(is_staff(person.role), action) {
            return outcome;
        }
        if person.role == Role::Admin {
            return self.privileged(action, true);
        }
        let actor = Actor {
            person,
            can: Abilities::of(self.rights, person.role),
            staff: is_staff(person.role),
        };
        self.member(actor, action)
    }

    /// What is decided before anything else: the appservice that manages a room passes
    /// every action in it, and leaving is restricted in rooms the school manages only (for
    /// students and parents who can use Schulhof; anyone else may always leave, also
    /// accounts the school has switched off, so that they can be taken out of their rooms).
    fn manager_or_leave(&self, person: Option<&Person>, action: &Action<'_>) -> Option<Outcome> {
        match *action {
            Action::CreateRoom {
                managed: Managed::ByActor,
                ..
            } => Some(Ok(())),
            Action::Leave { room } if room.managed == Managed::Yes => {
                let stays = person.is_some_and(|p| {
                    matches!(p.role, Role::Student | Role::Parent) && self.inactive(p).is_none()
                });
                Some(require(!stays, Rule::ManagedRoomLeave))
            }
            Action::Leave { .. } => Some(Ok(())),
            _ if action_room(action).is_some_and(|room| room.managed == Managed::ByActor) => {
                Some(Ok(()))
            }
            _ => None,
        }
    }

    /// The rules of rooms the school manages (`staff`: the actor is a teacher or admin):
    /// `Some` decides, `None` leaves the decision to the other rules. Nobody but the
    /// appservice invites or creates such rooms; a pending invitation in one is the
    /// appservice's and holds; only staff change members (kick, ban, unban) and settings
    /// (everything but taking part in a call).
    fn managed(&self, staff: bool, action: &Action<'_>) -> Option<Outcome> {
        match *action {
            Action::CreateRoom {
                managed: Managed::Yes,
                ..
            } => Some(Err(Rule::ManagedRoomReserved)),
            Action::Invite { room, .. } if room.managed.is_managed() => {
                Some(Err(Rule::GroupRoomManaged))
            }
            Action::Join {
                room,
                via: JoinVia::Invite { .. },
            } if room.managed.is_managed() => Some(Ok(())),
            Action::ChangeMembership { room, .. } if room.managed.is_managed() => {
                Some(require(staff, Rule::ManagedRoomStaffOnly))
            }
            Action::ChangeRoomState {
                change,
                room: Some(room),
            } if room.managed.is_managed()
                && !staff
                && !matches!(
                    change,
                    StateChange::CallMember { .. } | StateChange::CallWidget
                ) =>
            {
                Some(Err(Rule::ManagedRoomStaffOnly))
            }
            _ => None,
        }
    }

    /// Why `person` can do nothing (restricted, locked, deactivated), if so.
    fn inactive(&self, person: &Person) -> Option<Rule> {
        unavailability(person, self.dir, self.rights)
    }

    /// Admins (`admin`) and trusted accounts outside the directory: everything, except
    /// that targets must be reachable accounts and groups must exist.
    fn privileged(&self, action: &Action<'_>, admin: bool) -> Outcome {
        match action {
            Action::ImportUsers | Action::ChangeRights | Action::AdminJoin { .. } => {
                require(admin, Rule::AdminOnly)
            }
            Action::CreateRoom { invitees, .. } => invitees
                .iter()
                .try_for_each(|target| self.contactable(target).map(|_| ())),
            Action::Invite { target, .. } => self.contactable(target).map(|_| ()),
            Action::ChangeMembership { target, room } if !room.has_member(target) => {
                self.contactable(target).map(|_| ())
            }
            Action::InviteGroup { group } => self.require_group(group),
            Action::AddGroupMember { target } => self.contactable(target).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Teachers, students and parents.
    fn member(&self, actor: Actor<'_>, action: &Action<'_>) -> Outcome {
        let can = actor.can;
        match *action {
            Action::CreateRoom {
                direct,
                invitees,
                public,
                ..
            } => self.create_room(actor, direct, invitees, public),
            Action::Invite { target, room } => self.invite(actor, target, room),
            Action::Leave { .. } => Ok(()),
            Action::Join { room, via } => match via {
                _ if actor.staff => Ok(()),
                JoinVia::Invite { inviter } => self.invitation_holds(actor.person, inviter, room),
                JoinVia::Alias | JoinVia::Knock | JoinVia::Public => Err(Rule::JoinRequiresInvite),
            },
            Action::SendMessage { room, event_type } => self.send(actor, room, event_type),
            Action::ChangeRoomState { change, room } => {
                self.change_state(actor, change)?;
                room.map_or(Ok(()), |room| self.conversation(actor, room))
            }
            Action::ChangeMembership { target, room } if room.has_member(target) => {
                self.conversation(actor, room)
            }
            Action::ChangeMembership { target, room } => self.invite(actor, target, room),
            Action::UpgradeRoom => actor.staff_or(Rule::RoomUpgradeStaffOnly),
            Action::PublishRoom => actor.staff_or(Rule::RoomPublicStaffOnly),
            Action::SearchDirectory { target } => {
                let to = self.contactable(target)?;
                require(
                    self.reaches(actor.person, can.messages, to),
                    Rule::DirectoryNotVisible,
                )
            }
            Action::Contact {
                target,
                shares_room,
                channel,
            } => {
                if shares_room {
                    return Ok(());
                }
                let rule = match channel {
                    Channel::ToDevice => can.messages.rule(actor.person.role, false),
                    Channel::Profile | Channel::Presence | Channel::Keys => {
                        Rule::DirectoryNotVisible
                    }
                };
                // An account outside the directory that may not be addressed gets the same
                // answer as anyone else out of reach: nobody learns who exists.
                let to = self.resolve(target).map_err(|_| rule)?;
                require(self.reaches(actor.person, can.messages, to), rule)
            }
            Action::Report => Ok(()),
            Action::CreateSpace => {
                require(can.create_rooms, actor.create_room_rule())?;
                require(can.create_groups, Rule::CreateGroupNotAllowed)
            }
            Action::CreateGroup => require(can.create_groups, Rule::CreateGroupNotAllowed),
            Action::AddGroupMember { target } => {
                require(can.create_groups, Rule::CreateGroupNotAllowed)?;
                let to = self.contactable(target)?;
                self.require_reach(actor, can.messages, to, false)
            }
            Action::InviteGroup { group } => {
                require(can.invite_groups, Rule::InviteGroupNotAllowed)?;
                self.require_group(group)
            }
            Action::ResetPassword { target } => {
                require(can.reset_passwords, Rule::ResetPasswordNotAllowed)?;
                self.reset_password(actor.person, target)
            }
            Action::SetTask => require(can.set_tasks, Rule::SetTaskNotAllowed),
            Action::SubmitTask => require(can.submit_tasks, Rule::SubmitTaskNotAllowed),
            Action::StartVideoConference => actor.video(true),
            Action::JoinVideoConference => actor.video(false),
            Action::ImportUsers | Action::ChangeRights | Action::AdminJoin { .. } => {
                Err(Rule::AdminOnly)
            }
            Action::ChangeDisplayName => {
                require(can.change_display_name, Rule::DisplayNameNotAllowed)
            }
            Action::ChangeAvatar => require(can.change_avatar, Rule::AvatarNotAllowed),
            Action::ChangePassword => require(can.change_password, Rule::PasswordChangeNotAllowed),
        }
    }

    /// `createRoom`: a direct message (direct, one invitee) needs the message audience;
    /// a chat room needs `may_create_rooms`, invitees in the room audience and, unless
    /// staff creates it, invitees who may write to each other.
    fn create_room(
        &self,
        actor: Actor<'_>,
        direct: bool,
        invitees: &[&str],
        public: bool,
    ) -> Outcome {
        if public {
            actor.staff_or(Rule::RoomPublicStaffOnly)?;
        }
        if let (true, false, [target]) = (direct, public, invitees) {
            let to = self.contactable(target)?;
            return self.require_reach(actor, actor.can.messages, to, false);
        }
        require(actor.can.create_rooms, actor.create_room_rule())?;
        for (i, target) in invitees.iter().enumerate() {
            let to = self.contactable(target)?;
            self.require_reach(actor, actor.can.rooms, to, true)?;
            if !actor.staff && !self.members_reach(&invitees[..i], actor.person, to) {
                return Err(Rule::RoomMemberNoContact);
            }
        }
        Ok(())
    }

    /// `/invite`: like a chat room (or a direct message, if the room stays a chat of two),
    /// and every student or parent in the room must be allowed to write to the target
    /// unless staff invites.
    fn invite(&self, actor: Actor<'_>, target: &str, room: &RoomFacts<'_>) -> Outcome {
        let pair = self.is_pair_chat(room, target);
        if !pair {
            require(actor.can.create_rooms, actor.create_room_rule())?;
        }
        let to = self.contactable(target)?;
        let audience = if pair {
            actor.can.messages
        } else {
            actor.can.rooms
        };
        self.require_reach(actor, audience, to, !pair)?;
        require(
            actor.staff || self.members_reach(room.members, actor.person, to),
            Rule::RoomMemberNoContact,
        )
    }

    /// Accepting an invitation from `inviter`: staff invitations hold; one from a
    /// student or parent holds only if it would still be allowed now.
    fn invitation_holds(&self, joiner: &Person, inviter: &str, room: &RoomFacts<'_>) -> Outcome {
        let inviter = match self.dir.person(inviter) {
            Some(inviter) if is_staff(inviter.role) => return Ok(()),
            Some(inviter) => inviter,
            None => return require(self.trusts_unknown(), Rule::InviteOutdated),
        };
        let can = Abilities::of(self.rights, inviter.role);
        let pair = self.is_pair_chat(room, &joiner.localpart);
        let audience = if pair { can.messages } else { can.rooms };
        require(
            self.reaches(inviter, audience, Some(joiner))
                && self.members_reach(room.members, inviter, Some(joiner)),
            Rule::InviteOutdated,
        )
    }

    /// `/send`: calls need the video rights, and the actor must still be allowed to speak in
    /// the room ([`Policy::conversation`]).
    fn send(&self, actor: Actor<'_>, room: &RoomFacts<'_>, event_type: &str) -> Outcome {
        match event_type {
            "m.call.invite" => actor.video(true)?,
            "m.call.answer" => actor.video(false)?,
            _ => {}
        }
        self.conversation(actor, room)
    }

    /// Saying anything in `room` (a message, a state change, a membership change of a
    /// member): in rooms not created by staff, students and parents may do so only while they
    /// may write to every other member.
    fn conversation(&self, actor: Actor<'_>, room: &RoomFacts<'_>) -> Outcome {
        if actor.staff || self.is_staff_room(room) {
            return Ok(());
        }
        let all_reachable = room
            .members
            .iter()
            .all(|member| match self.resolve(member) {
                Ok(Some(me)) if ptr::eq(me, actor.person) => true,
                Ok(to) => self.reaches(actor.person, actor.can.messages, to),
                Err(_) => false,
            });
        require(all_reachable, Rule::ConversationNoLongerAllowed)
    }

    /// A state change by a teacher, student or parent.
    fn change_state(&self, actor: Actor<'_>, change: StateChange) -> Outcome {
        let student = actor.person.role == Role::Student;
        match change {
            StateChange::JoinRules { invite_only: true }
            | StateChange::HistoryVisibility {
                visibility: History::Joined | History::Invited,
            }
            | StateChange::GuestAccess => Ok(()),
            StateChange::JoinRules { .. }
            | StateChange::HistoryVisibility {
                visibility: History::WorldReadable,
            }
            | StateChange::CanonicalAlias => actor.staff_or(Rule::RoomPublicStaffOnly),
            StateChange::HistoryVisibility { .. } => actor.staff_or(Rule::RoomSettingsStaffOnly),
            StateChange::PowerLevels { .. } if actor.staff => Ok(()),
            StateChange::PowerLevels { .. } if student => Err(Rule::RoomSettingsStaffOnly),
            StateChange::PowerLevels { raises_self } => {
                require(!raises_self, Rule::PowerLevelRaiseSelf)
            }
            StateChange::Encryption => {
                require(self.rights.allow_encryption, Rule::EncryptionDisabled)
            }
            StateChange::Name | StateChange::Topic | StateChange::Avatar => {
                require(actor.can.set_room_name, Rule::RoomNameNotAllowed)
            }
            StateChange::ServerAcl | StateChange::Tombstone | StateChange::Other => {
                actor.staff_or(Rule::RoomSettingsStaffOnly)
            }
            StateChange::CallMember { starts_call } => actor.video(starts_call),
            StateChange::CallWidget => actor.video(true),
        }
    }

    /// Whether unknown accounts are trusted (`unknown_users = "allow"`).
    fn trusts_unknown(&self) -> bool {
        self.rights.unknown_users == UnknownUsers::Allow
    }

    /// Whether the room was created by staff (or a trusted account outside the directory) or
    /// is managed by the school: its members were put there by the school.
    fn is_staff_room(&self, room: &RoomFacts<'_>) -> bool {
        room.managed.is_managed()
            || room
                .creator_role
                .map_or_else(|| self.trusts_unknown(), is_staff)
    }

    /// Whether `room` is a direct chat of students or parents that, with `person` in it,
    /// has at most two members: then invitations are direct messages. (In a staff room
    /// they are not: its members are not re-checked when they send.)
    fn is_pair_chat(&self, room: &RoomFacts<'_>, person: &str) -> bool {
        room.is_pair_chat_with(person) && !self.is_staff_room(room)
    }

    /// The person behind a target's localpart; `Ok(None)`: a trusted account outside the
    /// directory.
    fn resolve(&self, localpart: &str) -> Result<Option<&'a Person>, Rule> {
        match self.dir.person(localpart) {
            Some(person) => Ok(Some(person)),
            None if self.trusts_unknown() => Ok(None),
            None => Err(Rule::TargetNotInDirectory),
        }
    }

    /// Like [`Policy::resolve`], and the person must be able to use Schulhof.
    fn contactable(&self, localpart: &str) -> Result<Option<&'a Person>, Rule> {
        let target = self.resolve(localpart)?;
        match target {
            Some(person) if self.inactive(person).is_some() => Err(Rule::TargetUnavailable),
            _ => Ok(target),
        }
    }

    /// `Ok` if the group exists.
    fn require_group(&self, group: &str) -> Outcome {
        require(self.dir.group(group).is_some(), Rule::UnknownGroup)
    }

    /// `Ok` if `actor` reaches `to` within `audience` (`rooms`: the room audience).
    fn require_reach(
        &self,
        actor: Actor<'_>,
        audience: Audience,
        to: Option<&Person>,
        rooms: bool,
    ) -> Outcome {
        require(
            self.reaches(actor.person, audience, to),
            audience.rule(actor.person.role, rooms),
        )
    }

    /// Whether `from` may address `to` within `audience` (`None`: a trusted account
    /// outside the directory, always; oneself: always).
    fn reaches(&self, from: &Person, audience: Audience, to: Option<&Person>) -> bool {
        let Some(to) = to else {
            return true;
        };
        let family = || audience.family && is_family(from, to);
        match audience.reach {
            Reach::Everyone => true,
            _ if is_staff(to.role) || ptr::eq(from, to) => true,
            Reach::Teachers => family(),
            Reach::OwnGroupsAndTeachers => self.share_group(from, to) || family(),
        }
    }

    /// Whether every student or parent in `members` (other than `to` and `skip`) may
    /// write to `to` (people are compared by identity: no string comparisons).
    fn members_reach(&self, members: &[&str], skip: &Person, to: Option<&Person>) -> bool {
        let Some(to) = to.filter(|to| !is_staff(to.role)) else {
            return true;
        };
        members.iter().all(|member| match self.dir.person(member) {
            Some(p) if !is_staff(p.role) && !ptr::eq(p, to) && !ptr::eq(p, skip) => {
                self.reaches(p, Audience::messages(self.rights, p.role), Some(to))
            }
            _ => true,
        })
    }

    /// Whether `a` and `b` share a group (derived parents' groups only if
    /// `derived_parent_groups_count_as_shared`). People are in a handful of groups: a scan
    /// comparing lengths and last bytes first beats ordered lookups.
    fn share_group(&self, a: &Person, b: &Person) -> bool {
        a.groups.iter().any(|group| {
            b.groups.iter().any(|other| same(group, other))
                && (self.rights.derived_parent_groups_count_as_shared
                    || self
                        .dir
                        .group(group)
                        .is_none_or(|g| g.kind != GroupKind::Parents))
        })
    }

    /// A teacher resets a password: only of an active or restricted (not locked or
    /// deactivated) student of their groups, or a parent of one (or sharing a group).
    fn reset_password(&self, teacher: &Person, target: &str) -> Outcome {
        let Some(target) = self.dir.person(target) else {
            return Err(Rule::ResetPasswordOutsideGroups);
        };
        require(
            target.status == PersonStatus::Active,
            Rule::TargetUnavailable,
        )?;
        let in_care = match target.role {
            Role::Student => self.share_group(teacher, target),
            Role::Parent => {
                self.share_group(teacher, target)
                    || self
                        .dir
                        .children_of(&target.localpart)
                        .iter()
                        .filter_map(|child| self.dir.person(child))
                        .any(|child| self.share_group(teacher, child))
            }
            Role::Teacher | Role::Admin => false,
        };
        require(in_care, Rule::ResetPasswordOutsideGroups)
    }
}
