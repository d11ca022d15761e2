//! What an actor wants to do, and what the server knows about the room it happens in.

use schulhof_directory::Role;

/// What the server knows about a room when deciding. Borrowed: building it allocates
/// nothing beyond the member list the server already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomFacts<'a> {
    /// The role the room's creator had when creating it (the server records it; for
    /// rooms from before that, the creator's current role). `None`: the creator was not in
    /// the directory (a service account). Rooms created by teachers and admins are
    /// *staff rooms*: their members were put there by staff and are not re-checked when
    /// they send.
    pub creator_role: Option<Role>,
    /// Localparts of the members: joined **and invited** (pending invitations count, so
    /// that two invitations cannot be combined around a rule).
    pub members: &'a [&'a str],
    /// Created as a direct chat (`is_direct` in `createRoom`).
    pub is_direct: bool,
    /// Whether the school's appservice manages the room (a group's room or a space of the
    /// school), and whether the actor of the decision is that appservice.
    pub managed: Managed,
}

/// Whether a room is one the school manages: created by a registered appservice (its
/// sender or a user of its exclusive namespace) with `de.schulhof.managed` in its
/// `m.room.create` content. Its members follow the school directory, so inviting, leaving
/// and the room's settings are the school's business (see `docs/policy.md`, "Rooms the school
/// manages").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Managed {
    /// An ordinary room.
    No,
    /// A room the school manages; the actor is someone else than its appservice.
    Yes,
    /// A room the school manages, and the actor is a user of the appservice that manages it
    /// (its sender or a user of its exclusive namespace): every action passes.
    ByActor,
}

impl Managed {
    /// Whether the room is managed, whoever acts.
    pub fn is_managed(self) -> bool {
        self != Managed::No
    }
}

impl RoomFacts<'_> {
    /// Whether this is a direct chat that, with `person` in it, has at most two members.
    pub(crate) fn is_pair_chat_with(&self, person: &str) -> bool {
        self.is_direct && self.members.iter().filter(|m| **m != person).count() <= 1
    }

    /// Whether `person` is joined or invited.
    pub(crate) fn has_member(&self, person: &str) -> bool {
        self.members.contains(&person)
    }
}

/// How a join happens: the membership the join is based on, not the URL used (a join
/// "by alias" of a room the user has a pending invitation to is [`JoinVia::Invite`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinVia<'a> {
    /// Accepting a pending invitation.
    Invite {
        /// Localpart of the member who sent the invitation (the `sender` of the invite
        /// membership event).
        inviter: &'a str,
    },
    /// Joining by room alias without an invitation.
    Alias,
    /// Knocking (asking to be let in).
    Knock,
    /// Joining a public room (room directory or join rule `public`) without an invitation.
    Public,
}

/// A change of room state (`PUT /rooms/{id}/state/...`, `initial_state` and
/// `power_level_content_override` of `createRoom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    /// `m.room.join_rules`.
    JoinRules {
        /// The new rule is `invite` (anything else opens the room).
        invite_only: bool,
    },
    /// `m.room.history_visibility`.
    HistoryVisibility {
        /// The new value.
        visibility: History,
    },
    /// `m.room.power_levels`.
    PowerLevels {
        /// The sender's own level is higher afterwards (including through `users_default`).
        raises_self: bool,
    },
    /// `m.room.encryption`.
    Encryption,
    /// `m.room.name`.
    Name,
    /// `m.room.topic`.
    Topic,
    /// `m.room.avatar`.
    Avatar,
    /// `m.room.canonical_alias`.
    CanonicalAlias,
    /// `m.room.server_acl`.
    ServerAcl,
    /// `m.room.tombstone`.
    Tombstone,
    /// A call membership (`m.call.member`, `org.matrix.msc3401.call.member`).
    CallMember {
        /// No one else is in the call yet: this starts a video conference.
        starts_call: bool,
    },
    /// A widget or call definition (`im.vector.modular.widgets`, `m.call`,
    /// `org.matrix.msc3401.call`): starts a video conference.
    CallWidget,
    /// `m.room.guest_access` (Schulhof has no guest accounts; Element puts it into every
    /// `createRoom`).
    GuestAccess,
    /// Any other state event type (`m.room.pinned_events`, `m.space.child`, custom types ...).
    Other,
}

/// Who sees a room's history (`m.room.history_visibility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// `joined`: members see what was sent while they were joined.
    Joined,
    /// `invited`: also what was sent while they were invited.
    Invited,
    /// `shared` (and unknown values): members see everything since the room began.
    Shared,
    /// `world_readable`: anyone, without joining.
    WorldReadable,
}

impl History {
    /// The value of a `history_visibility` field (`None`: missing, the spec's `shared`).
    pub fn from_value(value: Option<&str>) -> History {
        match value {
            Some("joined") => History::Joined,
            Some("invited") => History::Invited,
            Some("world_readable") => History::WorldReadable,
            _ => History::Shared,
        }
    }
}

/// How a person is reached outside a room's timeline ([`Action::Contact`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Looking up their profile (`/profile/{userId}` and its fields).
    Profile,
    /// Looking up their presence and status message (`/presence/{userId}/status`).
    Presence,
    /// Fetching their encryption keys (`/keys/query`, `/keys/claim`).
    Keys,
    /// Sending them to-device messages (`/sendToDevice`, any event type).
    ToDevice,
}

/// Something an actor wants to do. Every entry point into a conversation maps to one
/// action (see `docs/policy.md` for the mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// `createRoom`. Direct messages are `direct` with exactly one invitee; everything
    /// else is a chat room. The server checks `initial_state` and
    /// `power_level_content_override` separately as [`Action::ChangeRoomState`].
    CreateRoom {
        /// `is_direct`.
        direct: bool,
        /// Localparts from `invite`.
        invitees: &'a [&'a str],
        /// The room would be public: preset `public_chat` or `visibility: public`.
        public: bool,
        /// `creation_content` carries `de.schulhof.managed`: [`Managed::Yes`] if the actor
        /// is no appservice (refused: only an appservice creates rooms the school manages),
        /// [`Managed::ByActor`] if it is.
        managed: Managed,
    },
    /// `/invite` (not for the invitees of `createRoom`, which `CreateRoom` covers).
    Invite {
        /// Localpart of the invited person.
        target: &'a str,
        /// The room.
        room: &'a RoomFacts<'a>,
    },
    /// Leaving a room or rejecting an invitation (one's own `leave` membership). Only rooms
    /// the school manages restrict it.
    Leave {
        /// The room.
        room: &'a RoomFacts<'a>,
    },
    /// `/join`, `/rooms/{id}/join`, `/knock`.
    Join {
        /// The room.
        room: &'a RoomFacts<'a>,
        /// What the join is based on.
        via: JoinVia<'a>,
    },
    /// Anything others in the room see that is not a state change: `/send` of a timeline
    /// event (messages, reactions, redactions, calls ...), one's own member event with a new
    /// profile or a reason, typing notifications and public read receipts.
    SendMessage {
        /// The room.
        room: &'a RoomFacts<'a>,
        /// The event type; `m.call.invite` also needs the right to start, `m.call.answer`
        /// the right to join a video conference.
        event_type: &'a str,
    },
    /// A room state change (`/state`, and `createRoom`'s `initial_state` and
    /// `power_level_content_override`). Membership changes are `Invite`, `Join` and
    /// `ChangeMembership`; leaving is [`Action::Leave`].
    ChangeRoomState {
        /// What changes.
        change: StateChange,
        /// The existing room it happens in (`None`: a room being created). In rooms of
        /// students and parents a change is also something said to every member: it needs
        /// what [`Action::SendMessage`] needs.
        room: Option<&'a RoomFacts<'a>>,
    },
    /// A membership event about someone else that is not an invitation: kicking, banning,
    /// unbanning, any `PUT /state/m.room.member/{userId}`. If the person is not a member
    /// (joined or invited), the event reaches them like an invitation and is decided as
    /// [`Action::Invite`]; otherwise as something said in the room ([`Action::SendMessage`]).
    ChangeMembership {
        /// Localpart of the person whose membership changes.
        target: &'a str,
        /// The room.
        room: &'a RoomFacts<'a>,
    },
    /// `/rooms/{id}/upgrade`.
    UpgradeRoom,
    /// Putting a room into the public room directory or creating an alias for it.
    PublishRoom,
    /// Whether `target` may appear in the actor's user directory search.
    SearchDirectory {
        /// Localpart of the candidate.
        target: &'a str,
    },
    /// Reaching a person outside a room's timeline: their profile, presence or encryption
    /// keys, or a to-device message to them. Allowed for the people one may write to and for
    /// those one shares a room with in which one may send.
    Contact {
        /// Localpart of the person.
        target: &'a str,
        /// Both are members (joined or invited) of a room in which the actor may send
        /// ([`Action::SendMessage`] is allowed): their names are visible there anyway, and
        /// encryption needs their keys.
        shares_room: bool,
        /// How.
        channel: Channel,
    },
    /// `/report` of an event or room.
    Report,
    /// Creating a space (`createRoom` with `creation_content.type` `m.space`): a room
    /// that groups rooms, for those who may create rooms and groups.
    CreateSpace,
    /// Creating a group.
    CreateGroup,
    /// Putting a person into a group one creates or owns (a teacher's own group): needs the
    /// right to create groups, and the person must be someone the actor may write to.
    AddGroupMember {
        /// Localpart of the person.
        target: &'a str,
    },
    /// Inviting a whole directory group into a room.
    InviteGroup {
        /// The group's name.
        group: &'a str,
    },
    /// Resetting someone's password.
    ResetPassword {
        /// Localpart of the person.
        target: &'a str,
    },
    /// Setting a task.
    SetTask,
    /// Doing and handing in a task.
    SubmitTask,
    /// Starting a video conference.
    StartVideoConference,
    /// Joining a video conference.
    JoinVideoConference,
    /// Importing users (the school's CSV export).
    ImportUsers,
    /// Changing the rights.
    ChangeRights,
    /// Making someone join a room without their accepting an invitation (the admin join
    /// endpoint `POST /_synapse/admin/v1/join/{roomIdOrAlias}`): school admins only.
    AdminJoin {
        /// Localpart of the person made to join.
        target: &'a str,
    },
    /// Changing one's own display name (`/profile/{userId}/displayname`).
    ChangeDisplayName,
    /// Changing one's own profile picture (`/profile/{userId}/avatar_url`).
    ChangeAvatar,
    /// Changing one's own password (`/account/password`).
    ChangePassword,
}

impl Action<'_> {
    /// A stable snake_case name of the action, for audit logs and metrics.
    pub fn id(&self) -> &'static str {
        match self {
            Action::CreateRoom { .. } => "create_room",
            Action::Invite { .. } => "invite",
            Action::Join { .. } => "join",
            Action::Leave { .. } => "leave",
            Action::SendMessage { .. } => "send_message",
            Action::ChangeRoomState { .. } => "change_room_state",
            Action::ChangeMembership { .. } => "change_membership",
            Action::UpgradeRoom => "upgrade_room",
            Action::PublishRoom => "publish_room",
            Action::SearchDirectory { .. } => "search_directory",
            Action::Contact { channel, .. } => match channel {
                Channel::Profile => "view_profile",
                Channel::Presence => "view_presence",
                Channel::Keys => "query_keys",
                Channel::ToDevice => "send_to_device",
            },
            Action::Report => "report",
            Action::CreateSpace => "create_space",
            Action::CreateGroup => "create_group",
            Action::AddGroupMember { .. } => "add_group_member",
            Action::InviteGroup { .. } => "invite_group",
            Action::ResetPassword { .. } => "reset_password",
            Action::SetTask => "set_task",
            Action::SubmitTask => "submit_task",
            Action::StartVideoConference => "start_video_conference",
            Action::JoinVideoConference => "join_video_conference",
            Action::ImportUsers => "import_users",
            Action::ChangeRights => "change_rights",
            Action::AdminJoin { .. } => "admin_join",
            Action::ChangeDisplayName => "change_display_name",
            Action::ChangeAvatar => "change_avatar",
            Action::ChangePassword => "change_password",
        }
    }
}
