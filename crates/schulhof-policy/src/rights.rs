//! The school's rights table (`config/rights.toml`).

use schulhof_directory::Role;
use serde::Deserialize;

/// The shipped `config/rights.toml`: the defaults of [`Rights::default`], commented for
/// admins (for example to write it when the file is missing).
pub const DEFAULT_RIGHTS_TOML: &str = include_str!("../../../config/rights.toml");

/// Whom someone may address: write to directly, put into rooms, find in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Everyone at the school.
    Everyone,
    /// Members of their own groups, teachers and the school management.
    OwnGroupsAndTeachers,
    /// Teachers and the school management only.
    Teachers,
}

/// What the policy does with accounts that are not in the school directory (created with
/// `schulhof user add`, e.g. admins' service accounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownUsers {
    /// Such accounts may do everything except [`ImportUsers`](crate::Action::ImportUsers)
    /// and [`ChangeRights`](crate::Action::ChangeRights), and everyone may address them.
    Allow,
    /// Such accounts can do nothing and cannot be invited; only admins find them in the
    /// user directory.
    Deny,
}

/// The rights of teachers (`[teacher]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeacherRights {
    /// Whom teachers may write to and invite (default: everyone).
    pub may_message: Reach,
    /// Create chat rooms and invite people into rooms (default: true).
    pub may_create_rooms: bool,
    /// Create their own groups (default: true).
    pub may_create_groups: bool,
    /// Invite whole groups (default: true).
    pub may_invite_groups: bool,
    /// Reset the passwords of the students of their groups and of those students' parents
    /// (default: true).
    pub may_reset_passwords: bool,
    /// Set tasks (default: true).
    pub may_set_tasks: bool,
    /// Start video conferences (default: true).
    pub may_start_video_conferences: bool,
    /// Change their own display name (default: true).
    pub may_change_display_name: bool,
    /// Change their own profile picture (default: true).
    pub may_change_avatar: bool,
    /// Change their own password (default: true).
    pub may_change_password: bool,
}

impl Default for TeacherRights {
    fn default() -> TeacherRights {
        TeacherRights {
            may_message: Reach::Everyone,
            may_create_rooms: true,
            may_create_groups: true,
            may_invite_groups: true,
            may_reset_passwords: true,
            may_set_tasks: true,
            may_start_video_conferences: true,
            may_change_display_name: true,
            may_change_avatar: true,
            may_change_password: true,
        }
    }
}

/// The rights of students (`[student]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudentRights {
    /// Whom students may write to (default: own groups and teachers).
    pub may_message: Reach,
    /// Students may also write to their own parents (default: true).
    pub may_message_own_parents: bool,
    /// Create chat rooms and invite people (default: false; direct messages to a single
    /// person are always possible within `may_message`).
    pub may_create_rooms: bool,
    /// Create groups (default: false).
    pub may_create_groups: bool,
    /// Change the name, topic and picture of rooms (default: false).
    pub may_set_room_name: bool,
    /// Do and hand in tasks (default: true).
    pub may_submit_tasks: bool,
    /// Start video conferences (default: false).
    pub may_start_video_conferences: bool,
    /// Join video conferences (default: true).
    pub may_join_video_conferences: bool,
    /// Change their own display name (default: false; the name comes from the school directory).
    pub may_change_display_name: bool,
    /// Change their own profile picture (default: true).
    pub may_change_avatar: bool,
    /// Change their own password (default: true).
    pub may_change_password: bool,
}

impl Default for StudentRights {
    fn default() -> StudentRights {
        StudentRights {
            may_message: Reach::OwnGroupsAndTeachers,
            may_message_own_parents: true,
            may_create_rooms: false,
            may_create_groups: false,
            may_set_room_name: false,
            may_submit_tasks: true,
            may_start_video_conferences: false,
            may_join_video_conferences: true,
            may_change_display_name: false,
            may_change_avatar: true,
            may_change_password: true,
        }
    }
}

/// The rights of parents (`[parent]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParentRights {
    /// Whom parents may write to (default: own groups and teachers).
    pub may_message: Reach,
    /// Parents may also write to their own children (default: true).
    pub may_message_own_children: bool,
    /// Create chat rooms and invite people (default: true).
    pub may_create_rooms: bool,
    /// Whom parents may invite into rooms (default: own groups and teachers; their own
    /// children only in direct messages).
    pub room_members: Reach,
    /// Create groups (default: false).
    pub may_create_groups: bool,
    /// Change the name, topic and picture of rooms (default: true).
    pub may_set_room_name: bool,
    /// Do and hand in tasks (default: true).
    pub may_submit_tasks: bool,
    /// Start video conferences (default: false).
    pub may_start_video_conferences: bool,
    /// Join video conferences (default: true).
    pub may_join_video_conferences: bool,
    /// Change their own display name (default: true).
    pub may_change_display_name: bool,
    /// Change their own profile picture (default: true).
    pub may_change_avatar: bool,
    /// Change their own password (default: true).
    pub may_change_password: bool,
}

impl Default for ParentRights {
    fn default() -> ParentRights {
        ParentRights {
            may_message: Reach::OwnGroupsAndTeachers,
            may_message_own_children: true,
            may_create_rooms: true,
            room_members: Reach::OwnGroupsAndTeachers,
            may_create_groups: false,
            may_set_room_name: true,
            may_submit_tasks: true,
            may_start_video_conferences: false,
            may_join_video_conferences: true,
            may_change_display_name: true,
            may_change_avatar: true,
            may_change_password: true,
        }
    }
}

/// The school's rights: who may do what. Admins (school management) may always do
/// everything; importing users and changing the rights are theirs alone (not settable).
///
/// Parsed from `config/rights.toml` by [`Rights::from_toml`]; keys left out take their
/// defaults, unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rights {
    /// Accounts that are not in the school directory (default: allow).
    pub unknown_users: UnknownUsers,
    /// Parents in the same derived parents' group ("Sorgeberechtigte 8.1") count as sharing
    /// a group, so they may write to each other (default: true).
    pub derived_parent_groups_count_as_shared: bool,
    /// Roles whose accounts are restricted (can do nothing) without consent
    /// (default: students and parents).
    pub consent_required: Vec<Role>,
    /// Whether end-to-end encryption may be enabled in rooms (default: true; admins always may).
    pub allow_encryption: bool,
    /// Parents are restricted as well while students need consent and none of their children
    /// has it (default: true). Not part of the rights file: the server sets it from its
    /// configuration (`[directory] restrict_parents_of_students_without_consent`).
    #[serde(skip)]
    pub parents_need_a_consenting_child: bool,
    /// `[teacher]`.
    pub teacher: TeacherRights,
    /// `[student]`.
    pub student: StudentRights,
    /// `[parent]`.
    pub parent: ParentRights,
}

impl Default for Rights {
    fn default() -> Rights {
        Rights {
            unknown_users: UnknownUsers::Allow,
            derived_parent_groups_count_as_shared: true,
            consent_required: vec![Role::Student, Role::Parent],
            allow_encryption: true,
            parents_need_a_consenting_child: true,
            teacher: TeacherRights::default(),
            student: StudentRights::default(),
            parent: ParentRights::default(),
        }
    }
}

/// An invalid rights file: the line and field, with a German and English message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Zeile {line}, Feld „{field}“: {message_de} (line {line}, field `{field}`: {message_en})")]
pub struct RightsError {
    /// Line in the file (1-based).
    pub line: usize,
    /// The field, with its table, e.g. `student.may_create_rooms`; for a table header the
    /// table's name; empty if the problem is not inside a field.
    pub field: String,
    /// What is wrong, in German.
    pub message_de: String,
    /// What is wrong, in English (the TOML parser's message).
    pub message_en: String,
}

impl Rights {
    /// Parses a rights file. Keys left out take their defaults; unknown keys, unknown
    /// values and wrong types are errors naming the line and field.
    pub fn from_toml(text: &str) -> Result<Rights, RightsError> {
        toml::from_str(text).map_err(|error| RightsError::new(text, &error))
    }
}

impl RightsError {
    /// Locates a TOML error in `text` and words it in German.
    fn new(text: &str, error: &toml::de::Error) -> RightsError {
        let (line, field) = match error.span() {
            Some(span) => locate(text, span.start),
            None => (1, String::new()),
        };
        RightsError {
            line,
            field,
            message_de: german(error.message()),
            message_en: error.message().trim().to_owned(),
        }
    }
}

/// The 1-based line of byte `offset` and the field there: the nearest key or table header
/// at or above that line (a value may span lines), prefixed with its table.
fn locate(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let line = text[..offset].matches('\n').count() + 1;
    let mut key = None;
    for raw in text
        .lines()
        .take(line)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let content = raw.split('#').next().unwrap_or("").trim();
        if let Some(header) = content.strip_prefix('[') {
            let table = header.trim_end_matches(']').trim().trim_matches('"');
            let field = match key {
                Some(key) => format!("{table}.{key}"),
                None => table.to_owned(),
            };
            return (line, field);
        }
        if key.is_none() {
            key = content
                .split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"').to_owned());
        }
    }
    (line, key.unwrap_or_default())
}

/// A German wording of a TOML or serde message.
fn german(message: &str) -> String {
    let message = message.trim();
    let quoted = backticked(message);
    let expected = message
        .split_once("expected ")
        .map_or("", |(_, rest)| rest.trim());
    let allowed = || backticked(expected).join(", ");
    if message.starts_with("unknown field") {
        format!(
            "Unbekannter Eintrag „{}“. Erlaubt sind: {}.",
            quoted.first().map_or("", |s| s),
            allowed()
        )
    } else if message.starts_with("unknown variant") {
        format!(
            "Unbekannter Wert „{}“. Erlaubt sind: {}.",
            quoted.first().map_or("", |s| s),
            allowed()
        )
    } else if message.starts_with("invalid type") {
        format!("Falscher Wert: erwartet wird {}.", german_type(expected))
    } else if message.starts_with("duplicate key") {
        "Der Eintrag kommt doppelt vor.".to_owned()
    } else {
        "Die Datei ist kein gültiges TOML (siehe englische Meldung).".to_owned()
    }
}

/// The German name of a serde type expectation.
fn german_type(expected: &str) -> &'static str {
    match expected {
        "a boolean" => "true oder false",
        "a sequence" => "eine Liste in eckigen Klammern",
        _ if expected.starts_with("string") || expected.starts_with("a string") => {
            "ein Text in Anführungszeichen"
        }
        _ => "ein Wert anderer Art",
    }
}

/// The parts of `text` enclosed in backticks.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_shipped_file() {
        assert_eq!(
            Rights::from_toml(DEFAULT_RIGHTS_TOML),
            Ok(Rights::default())
        );
    }

    #[test]
    fn missing_keys_take_their_defaults() {
        let rights = Rights::from_toml("[student]\nmay_create_rooms = true\n").unwrap();
        assert!(rights.student.may_create_rooms);
        assert_eq!(rights.parent, ParentRights::default());
        assert_eq!(Rights::from_toml(""), Ok(Rights::default()));
    }

    #[test]
    fn reads_every_value_kind() {
        let text = "unknown_users = \"deny\"\n\
            consent_required = [\"student\", \"teacher\"]\n\
            [parent]\nroom_members = \"teachers\"\n";
        let rights = Rights::from_toml(text).unwrap();
        assert_eq!(rights.unknown_users, UnknownUsers::Deny);
        assert_eq!(rights.consent_required, [Role::Student, Role::Teacher]);
        assert_eq!(rights.parent.room_members, Reach::Teachers);
    }

    /// Parses `text` expecting an error.
    fn error(text: &str) -> RightsError {
        Rights::from_toml(text).unwrap_err()
    }

    #[test]
    fn unknown_key_names_line_and_field() {
        let e = error("unknown_users = \"allow\"\n\n[student]\nmay_fly = true\n");
        assert_eq!((e.line, e.field.as_str()), (4, "student.may_fly"));
        assert!(
            e.message_de.starts_with(
                "Unbekannter Eintrag „may_fly“. Erlaubt sind: may_message, may_message_own_parents"
            ),
            "{}",
            e.message_de
        );
        assert!(e.message_en.contains("unknown field"), "{}", e.message_en);
        assert!(e
            .to_string()
            .starts_with("Zeile 4, Feld „student.may_fly“: Unbekannter Eintrag"));
    }

    #[test]
    fn unknown_table_names_the_table() {
        let e = error("# Rechte\n[lehrer]\nmay_create_rooms = true\n");
        assert_eq!((e.line, e.field.as_str()), (2, "lehrer"));
        assert!(
            e.message_de.starts_with("Unbekannter Eintrag „lehrer“"),
            "{}",
            e.message_de
        );
    }

    #[test]
    fn wrong_type_names_line_and_field() {
        let e = error("[teacher]\nmay_set_tasks = \"ja\" # Aufgaben\n");
        assert_eq!((e.line, e.field.as_str()), (2, "teacher.may_set_tasks"));
        assert_eq!(
            e.message_de,
            "Falscher Wert: erwartet wird true oder false."
        );
    }

    #[test]
    fn unknown_value_lists_the_allowed_ones() {
        let e = error("unknown_users = \"vielleicht\"\n");
        assert_eq!((e.line, e.field.as_str()), (1, "unknown_users"));
        assert_eq!(
            e.message_de,
            "Unbekannter Wert „vielleicht“. Erlaubt sind: allow, deny."
        );
    }

    #[test]
    fn error_inside_a_multi_line_list_names_its_key() {
        let e = error("consent_required = [\n  \"student\",\n  \"lehrer\",\n]\n");
        assert_eq!((e.line, e.field.as_str()), (3, "consent_required"));
        assert!(
            e.message_de.starts_with("Unbekannter Wert „lehrer“"),
            "{}",
            e.message_de
        );
    }

    #[test]
    fn syntax_and_duplicate_errors_name_the_line() {
        let e = error("[parent]\nmay_create_rooms = \n");
        assert_eq!((e.line, e.field.as_str()), (2, "parent.may_create_rooms"));
        assert!(e.message_de.starts_with("Die Datei ist kein gültiges TOML"));
        let e = error("[parent]\nmay_create_rooms = true\nmay_create_rooms = false\n");
        assert_eq!((e.line, e.field.as_str()), (3, "parent.may_create_rooms"));
        assert_eq!(e.message_de, "Der Eintrag kommt doppelt vor.");
    }
}
