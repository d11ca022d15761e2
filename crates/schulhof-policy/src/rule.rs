//! The rules a decision can deny by, and the decision itself.

use std::fmt;

/// Declares [`Rule`] with its stable id and its German and English messages, and
/// [`Rule::ALL`].
macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $de:literal, $en:literal;)+) => {
        /// Why an action was denied. Every rule has a stable snake_case id ([`Rule::id`],
        /// for audit logs and metrics) and a German and English message for the user.
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

            /// The message shown to the user, in German.
            pub fn message_de(self) -> &'static str {
                match self {
                    $(Rule::$variant => $de,)+
                }
            }

            /// The message shown to the user, in English.
            pub fn message_en(self) -> &'static str {
                match self {
                    $(Rule::$variant => $en,)+
                }
            }
        }
    };
}

rules! {
    /// The actor's account needs consent (see `consent_required`) and has none.
    AccountRestricted = "account_restricted",
        "Dieses Konto ist eingeschränkt, weil noch keine Einwilligung vorliegt. Die Schule kann es freischalten.",
        "This account is restricted because consent has not been given yet. The school can unlock it.";
    /// The actor's account is locked.
    AccountLocked = "account_locked",
        "Dieses Konto ist gesperrt. Die Schule kann es wieder freigeben.",
        "This account is locked. The school can unlock it.";
    /// The actor's account is deactivated (missing from the last import).
    AccountDeactivated = "account_deactivated",
        "Dieses Konto ist deaktiviert.",
        "This account is deactivated.";
    /// The actor is not in the school directory and `unknown_users = "deny"`.
    AccountNotInDirectory = "account_not_in_directory",
        "Dieses Konto gehört nicht zum Schulverzeichnis und kann hier nichts tun.",
        "This account is not part of the school directory and cannot do anything here.";
    /// The target is restricted, locked or deactivated.
    TargetUnavailable = "target_unavailable",
        "Diese Person kann Schulhof zurzeit nicht nutzen.",
        "This person cannot use Schulhof at the moment.";
    /// The target is not in the school directory and `unknown_users = "deny"`.
    TargetNotInDirectory = "target_not_in_directory",
        "Diese Person gehört nicht zum Schulverzeichnis.",
        "This person is not part of the school directory.";
    /// A student addressed someone outside their groups who is not a teacher.
    StudentContactOutsideGroups = "student_contact_outside_groups",
        "Schülerinnen und Schüler können nur Mitgliedern ihrer eigenen Gruppen und Lehrkräften schreiben.",
        "Students can only write to members of their own groups and to teachers.";
    /// A parent addressed someone outside their groups who is neither their child nor a teacher.
    ParentContactOutsideGroups = "parent_contact_outside_groups",
        "Sorgeberechtigte können nur Mitgliedern ihrer eigenen Gruppen, ihren Kindern und Lehrkräften schreiben.",
        "Parents can only write to members of their own groups, their children and teachers.";
    /// A teacher addressed someone outside their groups (only if `teacher.may_message`
    /// is `own_groups_and_teachers`).
    TeacherContactOutsideGroups = "teacher_contact_outside_groups",
        "Lehrkräfte können nur Mitgliedern ihrer eigenen Gruppen und anderen Lehrkräften schreiben.",
        "Teachers can only write to members of their own groups and to other teachers.";
    /// Someone whose reach is `teachers` addressed someone else.
    ContactTeachersOnly = "contact_teachers_only",
        "Mit diesem Konto können nur Lehrkräfte und die Schulleitung angeschrieben werden.",
        "This account can only write to teachers and the school management.";
    /// A parent invited someone outside `parent.room_members` into a room.
    ParentRoomOutsideGroups = "parent_room_outside_groups",
        "Sorgeberechtigte können nur Mitglieder ihrer eigenen Gruppen und Lehrkräfte in Räume einladen.",
        "Parents can only invite members of their own groups and teachers into rooms.";
    /// A student or parent in the room may not write to the invited person.
    RoomMemberNoContact = "room_member_no_contact",
        "Diese Person kann nicht eingeladen werden, weil andere Mitglieder des Raums ihr nicht schreiben dürfen.",
        "This person cannot be invited because other members of the room may not write to them.";
    /// An invitation from a student or parent that would no longer be allowed.
    InviteOutdated = "invite_outdated",
        "Diese Einladung gilt nicht mehr, weil sich die Gruppen geändert haben.",
        "This invitation is no longer valid because the groups have changed.";
    /// Sending into a room of students or parents with someone the sender may no longer
    /// write to.
    ConversationNoLongerAllowed = "conversation_no_longer_allowed",
        "Hier kann nicht mehr geschrieben werden, weil mit jemandem in diesem Chat keine gemeinsame Gruppe mehr besteht.",
        "You can no longer write here because you no longer share a group with someone in this chat.";
    /// A student created a room or invited someone (`student.may_create_rooms = false`).
    StudentCreateRoom = "student_create_room",
        "Schülerinnen und Schüler können keine Chaträume anlegen und niemanden einladen. Direktnachrichten an einzelne Personen sind möglich.",
        "Students cannot create chat rooms or invite anyone. Direct messages to single people are possible.";
    /// A teacher or parent created a room or invited someone although `may_create_rooms = false`.
    CreateRoomNotAllowed = "create_room_not_allowed",
        "Chaträume anlegen und Personen einladen ist für dieses Konto nicht freigegeben.",
        "Creating chat rooms and inviting people is not enabled for this account.";
    /// A student or parent invited someone into a room the school manages for a group.
    GroupRoomManaged = "group_room_managed",
        "Die Mitglieder dieses Gruppenraums verwaltet die Schule; einladen können hier nur Lehrkräfte.",
        "The school manages the members of this group room; only teachers can invite here.";
    /// A student or parent joined a room without an invitation.
    JoinRequiresInvite = "join_requires_invite",
        "Räumen kann nur beitreten, wer eingeladen wurde.",
        "You can only join rooms you were invited to.";
    /// A student or parent made a room public, findable or readable without joining.
    RoomPublicStaffOnly = "room_public_staff_only",
        "Nur Lehrkräfte und die Schulleitung können Räume öffentlich oder auffindbar machen.",
        "Only teachers and the school management can make rooms public or findable.";
    /// A student or parent changed a room setting reserved for teachers.
    RoomSettingsStaffOnly = "room_settings_staff_only",
        "Diese Raumeinstellung können nur Lehrkräfte und die Schulleitung ändern.",
        "Only teachers and the school management can change this room setting.";
    /// A parent raised their own power level.
    PowerLevelRaiseSelf = "power_level_raise_self",
        "Die eigenen Berechtigungen in einem Raum können nicht erhöht werden.",
        "You cannot raise your own permissions in a room.";
    /// Name, topic or avatar changed although `may_set_room_name = false`.
    RoomNameNotAllowed = "room_name_not_allowed",
        "Name, Thema und Bild von Räumen ändern ist für dieses Konto nicht freigegeben.",
        "Changing the name, topic and picture of rooms is not enabled for this account.";
    /// Encryption enabled although `allow_encryption = false`.
    EncryptionDisabled = "encryption_disabled",
        "Die Schule hat die Ende-zu-Ende-Verschlüsselung abgeschaltet.",
        "The school has disabled end-to-end encryption.";
    /// A student or parent upgraded a room.
    RoomUpgradeStaffOnly = "room_upgrade_staff_only",
        "Nur Lehrkräfte und die Schulleitung können Räume aktualisieren.",
        "Only teachers and the school management can upgrade rooms.";
    /// A directory search or profile lookup of someone the actor may not write to.
    DirectoryNotVisible = "directory_not_visible",
        "Sichtbar sind nur Personen, denen dieses Konto schreiben darf.",
        "Only people this account may write to are visible.";
    /// Creating a group is not enabled for the role.
    CreateGroupNotAllowed = "create_group_not_allowed",
        "Gruppen anlegen ist für dieses Konto nicht freigegeben.",
        "Creating groups is not enabled for this account.";
    /// Inviting a whole group is not enabled for the role.
    InviteGroupNotAllowed = "invite_group_not_allowed",
        "Ganze Gruppen einladen ist für dieses Konto nicht freigegeben.",
        "Inviting whole groups is not enabled for this account.";
    /// The group does not exist.
    UnknownGroup = "unknown_group",
        "Diese Gruppe gibt es nicht.",
        "This group does not exist.";
    /// Resetting passwords is not enabled for the role.
    ResetPasswordNotAllowed = "reset_password_not_allowed",
        "Passwörter zurücksetzen ist für dieses Konto nicht freigegeben.",
        "Resetting passwords is not enabled for this account.";
    /// A teacher reset the password of someone who is not a student (or parent of a
    /// student) of their groups.
    ResetPasswordOutsideGroups = "reset_password_outside_groups",
        "Lehrkräfte können nur Passwörter von Schülerinnen und Schülern ihrer Gruppen und deren Sorgeberechtigten zurücksetzen.",
        "Teachers can only reset the passwords of students of their groups and of their parents.";
    /// Setting tasks is not enabled for the role.
    SetTaskNotAllowed = "set_task_not_allowed",
        "Aufgaben stellen ist für dieses Konto nicht freigegeben.",
        "Setting tasks is not enabled for this account.";
    /// Doing and handing in tasks is not enabled for the role.
    SubmitTaskNotAllowed = "submit_task_not_allowed",
        "Aufgaben bearbeiten und abgeben ist für dieses Konto nicht freigegeben.",
        "Doing and handing in tasks is not enabled for this account.";
    /// Starting a video conference is not enabled for the role.
    StartVideoNotAllowed = "start_video_not_allowed",
        "Videokonferenzen starten ist für dieses Konto nicht freigegeben.",
        "Starting video conferences is not enabled for this account.";
    /// Joining a video conference is not enabled for the role.
    JoinVideoNotAllowed = "join_video_not_allowed",
        "An Videokonferenzen teilnehmen ist für dieses Konto nicht freigegeben.",
        "Joining video conferences is not enabled for this account.";
    /// Importing users or changing the rights (admins only).
    AdminOnly = "admin_only",
        "Das kann nur die Schulleitung (Administration).",
        "Only the school management (administration) can do this.";
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A denial: the rule and its messages (static strings; nothing is allocated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    /// The rule that denied.
    pub rule: Rule,
    /// The German message for the user (the one to show; `Rule::message_de`).
    pub message_de: &'static str,
    /// The English message for the user (`Rule::message_en`).
    pub message_en: &'static str,
}

impl From<Rule> for Denial {
    fn from(rule: Rule) -> Denial {
        Denial {
            rule,
            message_de: rule.message_de(),
            message_en: rule.message_en(),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message_de, self.rule)
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
    fn denial_carries_the_rule_messages() {
        let decision = Decision::from(Err(Rule::JoinRequiresInvite));
        assert!(!decision.is_allowed());
        assert_eq!(decision.rule(), Some(Rule::JoinRequiresInvite));
        let denial = decision.into_result().unwrap_err();
        assert_eq!(denial.message_de, Rule::JoinRequiresInvite.message_de());
        assert_eq!(denial.message_en, Rule::JoinRequiresInvite.message_en());
        assert_eq!(
            denial.to_string(),
            "Räumen kann nur beitreten, wer eingeladen wurde. (join_requires_invite)"
        );
        assert_eq!(Decision::from(Ok(())).into_result(), Ok(()));
    }
}
