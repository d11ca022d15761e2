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
    /// A room the school manages for a directory group (its members follow the group).
    pub is_group_room: bool,
}

impl RoomFacts<'_> {
    /// Whether this is a direct chat that, with `person` in it, has at most two members.
    pub(crate) fn is_pair_chat_with(&self, person: &str) -> bool {
        self.is_direct && self.members.iter().filter(|m| **m != person).count() <= 1
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
        /// The new value is `world_readable` (readable without joining).
        world_readable: bool,
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
    /// Any other state event type (`m.room.pinned_events`, `m.space.child`,
    /// `m.room.guest_access`, custom types ...).
    Other,
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
    },
    /// `/invite` (not for the invitees of `createRoom`, which `CreateRoom` covers).
    Invite {
        /// Localpart of the invited person.
        target: &'a str,
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
    /// `/send` of a timeline event (messages, reactions, redactions, calls ...).
    SendMessage {
        /// The room.
        room: &'a RoomFacts<'a>,
        /// The event type; `m.call.invite` also needs the right to start, `m.call.answer`
        /// the right to join a video conference.
        event_type: &'a str,
    },
    /// A room state change (`/state`, and `createRoom`'s `initial_state` and
    /// `power_level_content_override`). Membership changes are `Invite`/`Join`; leaving,
    /// kicking and banning are not restricted by the policy.
    ChangeRoomState {
        /// What changes.
        change: StateChange,
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
    /// A profile lookup (`/profile/{userId}` and its fields).
    ViewProfile {
        /// Localpart of the looked-up person.
        target: &'a str,
        /// The actor shares a room with the target (their names are visible there anyway).
        shares_room: bool,
    },
    /// `/report` of an event or room.
    Report,
    /// Creating a group.
    CreateGroup,
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
            Action::SendMessage { .. } => "send_message",
            Action::ChangeRoomState { .. } => "change_room_state",
            Action::UpgradeRoom => "upgrade_room",
            Action::PublishRoom => "publish_room",
            Action::SearchDirectory { .. } => "search_directory",
            Action::ViewProfile { .. } => "view_profile",
            Action::Report => "report",
            Action::CreateGroup => "create_group",
            Action::InviteGroup { .. } => "invite_group",
            Action::ResetPassword { .. } => "reset_password",
            Action::SetTask => "set_task",
            Action::SubmitTask => "submit_task",
            Action::StartVideoConference => "start_video_conference",
            Action::JoinVideoConference => "join_video_conference",
            Action::ImportUsers => "import_users",
            Action::ChangeRights => "change_rights",
            Action::ChangeDisplayName => "change_display_name",
            Action::ChangeAvatar => "change_avatar",
            Action::ChangePassword => "change_password",
        }
    }
}
