//! The directory's data model.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A person's role at the school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Lehrkraft.
    Teacher,
    /// Schülerin / Schüler.
    Student,
    /// Sorgeberechtigte(r).
    Parent,
    /// Schulleitung / Administration.
    Admin,
}

impl Role {
    /// The stored name (`teacher`, `student`, `parent`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Teacher => "teacher",
            Role::Student => "student",
            Role::Parent => "parent",
            Role::Admin => "admin",
        }
    }

    /// Parses the stored name.
    pub fn from_stored(s: &str) -> Option<Role> {
        match s {
            "teacher" => Some(Role::Teacher),
            "student" => Some(Role::Student),
            "parent" => Some(Role::Parent),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The German name shown to users.
    pub fn german(self) -> &'static str {
        match self {
            Role::Teacher => "Lehrkraft",
            Role::Student => "Schüler/in",
            Role::Parent => "Sorgeberechtigte/r",
            Role::Admin => "Schulleitung",
        }
    }
}

/// Group names (lower case) of kind [`GroupKind::Staff`].
const STAFF_GROUPS: [&str; 4] = ["lehrer", "lehrkräfte", "kollegium", "lehrerzimmer"];

/// The derived parents' group of a class group: "Klasse 8.1" → "Sorgeberechtigte 8.1";
/// `None` if `class` is not of kind [`GroupKind::Class`].
pub fn parents_group_of(class: &str) -> Option<String> {
    if GroupKind::of_name(class) != GroupKind::Class {
        return None;
    }
    let (_, rest) = class.trim().split_once(' ')?;
    Some(format!("Sorgeberechtigte {}", rest.trim()))
}

/// What kind of group a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// A class, e.g. "Klasse 8.1".
    Class,
    /// The parents of a class, e.g. "Sorgeberechtigte 8.1" (derived, never listed in the file).
    Parents,
    /// Staff, e.g. "Lehrer", "Kollegium".
    Staff,
    /// A subject conference, e.g. "Fachkonferenz Englisch".
    SubjectConference,
    /// Any other group (from the import or created by a teacher).
    Custom,
}

impl GroupKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Class => "class",
            GroupKind::Parents => "parents",
            GroupKind::Staff => "staff",
            GroupKind::SubjectConference => "subject_conference",
            GroupKind::Custom => "custom",
        }
    }

    /// The German name shown to users ("Klasse", "Sorgeberechtigte", ...).
    pub fn german(self) -> &'static str {
        match self {
            GroupKind::Class => "Klasse",
            GroupKind::Parents => "Sorgeberechtigte",
            GroupKind::Staff => "Kollegium",
            GroupKind::SubjectConference => "Fachkonferenz",
            GroupKind::Custom => "Gruppe",
        }
    }

    /// The kind of a group by its name (case-insensitive): "Klasse …" → [`Class`],
    /// "Sorgeberechtigte …" → [`Parents`], "Lehrer", "Lehrkräfte", "Kollegium",
    /// "Lehrerzimmer" → [`Staff`], "Fachkonferenz …" / "FK …" → [`SubjectConference`],
    /// anything else → [`Custom`]. A prefix needs a non-empty rest ("Klasse" alone is custom).
    ///
    /// [`Class`]: GroupKind::Class
    /// [`Parents`]: GroupKind::Parents
    /// [`Staff`]: GroupKind::Staff
    /// [`SubjectConference`]: GroupKind::SubjectConference
    /// [`Custom`]: GroupKind::Custom
    pub fn of_name(name: &str) -> GroupKind {
        let lower = name.trim().to_lowercase();
        let prefixed = |prefix: &str| {
            lower
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(' ') && !rest.trim().is_empty())
        };
        if prefixed("klasse") {
            GroupKind::Class
        } else if prefixed("sorgeberechtigte") {
            GroupKind::Parents
        } else if prefixed("fachkonferenz") || prefixed("fk") {
            GroupKind::SubjectConference
        } else if STAFF_GROUPS.contains(&lower.as_str()) {
            GroupKind::Staff
        } else {
            GroupKind::Custom
        }
    }

    /// Parses the stored name.
    pub fn from_stored(s: &str) -> Option<GroupKind> {
        match s {
            "class" => Some(GroupKind::Class),
            "parents" => Some(GroupKind::Parents),
            "staff" => Some(GroupKind::Staff),
            "subject_conference" => Some(GroupKind::SubjectConference),
            "custom" => Some(GroupKind::Custom),
            _ => None,
        }
    }
}

/// Whether a person's account may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    /// Normal account.
    Active,
    /// Locked by an admin: login refused, sessions revoked.
    Locked,
    /// Missing from the last import: login refused; data deleted after the retention period.
    Deactivated {
        /// When the person was deactivated (ms since the epoch).
        since_ms: i64,
    },
}

/// One person in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Stable key from the school's administration software.
    pub import_id: String,
    /// Matrix localpart, assigned once (`vorname.nachname`, lower case, transliterated).
    pub localpart: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Role.
    pub role: Role,
    /// Names of the groups the person belongs to (including derived parent groups).
    pub groups: BTreeSet<String>,
    /// For parents: import IDs of their children.
    pub children: BTreeSet<String>,
    /// Consent given (students; parents as the school decides).
    pub consent: bool,
    /// Account state.
    pub status: PersonStatus,
}

impl Person {
    /// "Vorname Nachname".
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// One group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Unique name, e.g. "Klasse 8.1".
    pub name: String,
    /// Kind.
    pub kind: GroupKind,
    /// For groups a teacher created: that teacher's import ID. Imported groups: `None`.
    pub created_by: Option<String>,
}

/// The whole directory of one school, keyed by import ID and group name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// People by import ID.
    pub people: BTreeMap<String, Person>,
    /// Groups by name.
    pub groups: BTreeMap<String, Group>,
}

impl Directory {
    /// The person with this Matrix localpart.
    pub fn by_localpart(&self, localpart: &str) -> Option<&Person> {
        self.people.values().find(|p| p.localpart == localpart)
    }

    /// Members of a group.
    pub fn members<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Person> + 'a {
        self.people
            .values()
            .filter(move |p| p.groups.contains(group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_group_names() {
        use GroupKind::*;
        for (name, kind) in [
            ("Klasse 8.1", Class),
            ("klasse 10b", Class),
            ("Klasse", Custom),
            ("Klassenfahrt", Custom),
            ("Sorgeberechtigte 8.1", Parents),
            ("Lehrer", Staff),
            ("Lehrkräfte", Staff),
            ("LEHRKRÄFTE", Staff),
            ("Kollegium", Staff),
            ("Lehrerzimmer", Staff),
            ("Lehrerrat", Custom),
            ("Fachkonferenz Englisch", SubjectConference),
            ("FK Mathe", SubjectConference),
            ("FKK", Custom),
            ("AG Theater", Custom),
        ] {
            assert_eq!(GroupKind::of_name(name), kind, "{name}");
        }
    }

    #[test]
    fn derives_parents_groups_from_classes() {
        assert_eq!(
            parents_group_of("Klasse 8.1").as_deref(),
            Some("Sorgeberechtigte 8.1")
        );
        assert_eq!(
            parents_group_of("KLASSE  10b ").as_deref(),
            Some("Sorgeberechtigte 10b")
        );
        assert_eq!(parents_group_of("AG Theater"), None);
    }

    #[test]
    fn stored_names_round_trip() {
        for role in [Role::Teacher, Role::Student, Role::Parent, Role::Admin] {
            assert_eq!(Role::from_stored(role.as_str()), Some(role));
        }
        use GroupKind::*;
        for kind in [Class, Parents, Staff, SubjectConference, Custom] {
            assert_eq!(GroupKind::from_stored(kind.as_str()), Some(kind));
        }
    }
}
