//! The rules a decision can deny by, and the decision itself.

use std::fmt;

/// Declares [`Rule`] with its stable id, and [`Rule::ALL`].
macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident = $id:literal;)+) => {
        /// Why an action was denied. Every rule has a stable snake_case id ([`Rule::id`],
        /// for audit logs and metrics) and its texts for the person refused ([`Rule::text`],
        /// in `texts.rs`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Rule {
            $($(#[$doc])* $variant,)+
        }

        impl Rule {
            /// Every rule, in declaration order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)+];

            /// The stable snake_case id, e.g. `student_contact_outside_groups`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)+
                }
            }
        }
    };
}

rules! {
    /// The actor's account needs consent (see `consent_required`) and has none.
    AccountRestricted = "account_restricted";
    /// The actor's account is locked.
    AccountLocked = "account_locked";
    /// The actor's account is deactivated (missing from the last import).
    AccountDeactivated = "account_deactivated";
    /// The actor is not in the school directory and `unknown_users = "deny"`.
    AccountNotInDirectory = "account_not_in_directory";
    /// The target is restricted, locked or deactivated.
    TargetUnavailable = "target_unavailable";
    /// The target is not in the school directory and `unknown_users = "deny"`.
    TargetNotInDirectory = "target_not_in_directory";
    /// A student addressed someone outside their groups who is not a teacher.
    StudentContactOutsideGroups = "student_contact_outside_groups";
    /// A parent addressed someone outside their groups who is neither their child nor a teacher.
    ParentContactOutsideGroups = "parent_contact_outside_groups";
    /// A teacher addressed someone outside their groups (only if `teacher.may_message`
    /// is `own_groups_and_teachers`).
    TeacherContactOutsideGroups = "teacher_contact_outside_groups";
    /// Someone whose reach is `teachers` addressed someone else.
    ContactTeachersOnly = "contact_teachers_only";
    /// A parent invited someone outside `parent.room_members` into a room.
    ParentRoomOutsideGroups = "parent_room_outside_groups";
    /// A student or parent in the room may not write to the invited person.
    RoomMemberNoContact = "room_member_no_contact";
    /// An invitation from a student or parent that would no longer be allowed.
    InviteOutdated = "invite_outdated";
    /// Sending into a room of students or parents with someone the sender may no longer
    /// write to.
    ConversationNoLongerAllowed = "conversation_no_longer_allowed";
    /// A student created a room or invited someone (`student.may_create_rooms = false`).
    StudentCreateRoom = "student_create_room";
    /// A teacher or parent created a room or invited someone although `may_create_rooms = false`.
    CreateRoomNotAllowed = "create_room_not_allowed";
    /// Someone other than the school's appservice invited someone into a room the school
    /// manages (its members follow the school directory).
    GroupRoomManaged = "group_room_managed";
    /// A student, parent or account outside the directory changed a setting of a room the
    /// school manages, or someone's membership in it (kick, ban, unban).
    ManagedRoomStaffOnly = "managed_room_staff_only";
    /// A student or parent left a room the school manages.
    ManagedRoomLeave = "managed_room_leave";
    /// Someone other than an appservice created a room marked `de.schulhof.managed`.
    ManagedRoomReserved = "managed_room_reserved";
    /// A student or parent joined a room without an invitation.
    JoinRequiresInvite = "join_requires_invite";
    /// A student or parent made a room public, findable or readable without joining.
    RoomPublicStaffOnly = "room_public_staff_only";
    /// A student or parent changed a room setting reserved for teachers.
    RoomSettingsStaffOnly = "room_settings_staff_only";
    /// A parent raised their own power level.
    PowerLevelRaiseSelf = "power_level_raise_self";
    /// Name, topic or avatar changed although `may_set_room_name = false`.
    RoomNameNotAllowed = "room_name_not_allowed";
    /// Encryption enabled although `allow_encryption = false`.
    EncryptionDisabled = "encryption_disabled";
    /// A student or parent upgraded a room.
    RoomUpgradeStaffOnly = "room_upgrade_staff_only";
    /// A directory search or profile lookup of someone the actor may not write to.
    DirectoryNotVisible = "directory_not_visible";
    /// Creating a group is not enabled for the role.
    CreateGroupNotAllowed = "create_group_not_allowed";
    /// Inviting a whole group is not enabled for the role.
    InviteGroupNotAllowed = "invite_group_not_allowed";
    /// The group does not exist.
    UnknownGroup = "unknown_group";
    /// Resetting passwords is not enabled for the role.
    ResetPasswordNotAllowed = "reset_password_not_allowed";
    /// A teacher reset the password of someone who is not a student (or parent of a
    /// student) of their groups.
    ResetPasswordOutsideGroups = "reset_password_outside_groups";
    /// Setting tasks is not enabled for the role.
    SetTaskNotAllowed = "set_task_not_allowed";
    /// Doing and handing in tasks is not enabled for the role.
    SubmitTaskNotAllowed = "submit_task_not_allowed";
    /// Starting a video conference is not enabled for the role.
    StartVideoNotAllowed = "start_video_not_allowed";
    /// Joining a video conference is not enabled for the role.
    JoinVideoNotAllowed = "join_video_not_allowed";
    /// Importing users or changing the rights (admins only).
    AdminOnly = "admin_only";
    /// Changing one's display name is not enabled for the role.
    DisplayNameNotAllowed = "display_name_not_allowed";
    /// Changing one's profile picture is not enabled for the role.
    AvatarNotAllowed = "avatar_not_allowed";
    /// Changing one's own password is not enabled for the role.
    PasswordChangeNotAllowed = "password_change_not_allowed";
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A denial: the rule that denied; its texts are [`Rule::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    /// The rule that denied.
    pub rule: Rule,
}

impl From<Rule> for Denial {
    fn from(rule: Rule) -> Denial {
        Denial { rule }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.rule.text().sie, self.rule)
    }
}

impl std::error::Error for Denial {}

/// The outcome of [`decide`](crate::decide).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The action is allowed.
    Allow,
    /// The action is denied; nothing may change.
    Deny(Denial),
}

impl Decision {
    /// Whether the action is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    /// `Ok(())` if allowed, the denial otherwise (for `?` in handlers).
    pub fn into_result(self) -> Result<(), Denial> {
        match self {
            Decision::Allow => Ok(()),
            Decision::Deny(denial) => Err(denial),
        }
    }

    /// The denying rule, if any.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            Decision::Allow => None,
            Decision::Deny(denial) => Some(denial.rule),
        }
    }
}

impl From<Result<(), Rule>> for Decision {
    fn from(result: Result<(), Rule>) -> Decision {
        match result {
            Ok(()) => Decision::Allow,
            Err(rule) => Decision::Deny(rule.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rule_ids_are_unique_snake_case() {
        let ids: HashSet<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), Rule::ALL.len());
        for id in ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{id}"
            );
        }
    }

    #[test]
    fn denial_names_the_rule() {
        let decision = Decision::from(Err(Rule::JoinRequiresInvite));
        assert!(!decision.is_allowed());
        assert_eq!(decision.rule(), Some(Rule::JoinRequiresInvite));
        let denial = decision.into_result().unwrap_err();
        assert_eq!(denial.rule, Rule::JoinRequiresInvite);
        assert_eq!(
            denial.to_string(),
            format!(
                "{} (join_requires_invite)",
                Rule::JoinRequiresInvite.text().sie
            )
        );
        assert_eq!(Decision::from(Ok(())).into_result(), Ok(()));
    }
}
