//! The directory as the school's appservice reads it (`GET /_schulhof/appservice/v1/directory`):
//! only what rooms and memberships need (localpart, display name, role, groups, active), no
//! import IDs, children, consent or dates.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::index::DirectoryIndex;
use crate::model::{Directory, Group, GroupKind, Person, PersonStatus, Role};

/// One revision of the directory, as sent to the school's appservice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryExport {
    /// Changes with every change of the directory.
    pub revision: i64,
    /// Everyone in the directory, sorted by localpart (inactive people with `active: false`).
    pub people: Vec<ExportedPerson>,
    /// Every group, sorted by name.
    pub groups: Vec<ExportedGroup>,
}

/// One person in a [`DirectoryExport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedPerson {
    /// Matrix localpart.
    pub localpart: String,
    /// "Vorname Nachname".
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The groups the person belongs to.
    pub groups: BTreeSet<String>,
    /// Not locked and not deactivated.
    pub active: bool,
}

/// One group in a [`DirectoryExport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedGroup {
    /// Unique name, e.g. "Klasse 8.1".
    pub name: String,
    /// Kind.
    pub kind: GroupKind,
    /// A group a teacher created (not imported).
    pub teacher_group: bool,
}

impl DirectoryExport {
    /// The export of `index` at `revision`; `usable` tells who is active (may use the
    /// messenger now: the server also leaves out people restricted for want of consent).
    pub fn of(
        index: &DirectoryIndex,
        revision: i64,
        usable: impl Fn(&Person) -> bool,
    ) -> DirectoryExport {
        let mut people: Vec<ExportedPerson> = index
            .people()
            .map(|p| ExportedPerson {
                localpart: p.localpart.clone(),
                display_name: p.display_name(),
                role: p.role,
                groups: p.groups.clone(),
                active: usable(p),
            })
            .collect();
        people.sort_by(|a, b| a.localpart.cmp(&b.localpart));
        let mut groups: Vec<ExportedGroup> = index
            .groups()
            .map(|g| ExportedGroup {
                name: g.name.clone(),
                kind: g.kind,
                teacher_group: g.created_by.is_some(),
            })
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        DirectoryExport {
            revision,
            people,
            groups,
        }
    }

    /// A [`Directory`] with what the export carries: people keyed by localpart (which stands
    /// in for the import ID), the display name as the first name, inactive people `Locked`;
    /// teachers' groups are marked as created by someone (`created_by: Some("")`).
    pub fn into_directory(self) -> Directory {
        let people = self
            .people
            .into_iter()
            .map(|p| {
                let person = Person {
                    import_id: p.localpart.clone(),
                    localpart: p.localpart,
                    first_name: p.display_name,
                    last_name: String::new(),
                    role: p.role,
                    groups: p.groups,
                    children: BTreeSet::new(),
                    consent: true,
                    status: if p.active {
                        PersonStatus::Active
                    } else {
                        PersonStatus::Locked
                    },
                };
                (person.import_id.clone(), person)
            })
            .collect();
        let groups = self
            .groups
            .into_iter()
            .map(|g| {
                let group = Group {
                    name: g.name,
                    kind: g.kind,
                    created_by: g.teacher_group.then(String::new),
                };
                (group.name.clone(), group)
            })
            .collect();
        Directory { people, groups }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_rooms_need_and_nothing_else() {
        let person = |lp: &str, role, group: &str, status| Person {
            import_id: format!("id-{lp}"),
            localpart: lp.to_owned(),
            first_name: "Vor".to_owned(),
            last_name: lp.to_owned(),
            role,
            groups: BTreeSet::from([group.to_owned()]),
            children: BTreeSet::from(["id-x".to_owned()]),
            consent: false,
            status,
        };
        let directory = Directory {
            people: [
                person("ben", Role::Student, "Klasse 8.1", PersonStatus::Active),
                person("alt", Role::Student, "Klasse 8.1", PersonStatus::Locked),
            ]
            .into_iter()
            .map(|p| (p.import_id.clone(), p))
            .collect(),
            groups: [
                ("Klasse 8.1", GroupKind::Class, None),
                ("AG", GroupKind::Custom, Some("id-t".to_owned())),
            ]
            .into_iter()
            .map(|(name, kind, created_by)| {
                (
                    name.to_owned(),
                    Group {
                        name: name.to_owned(),
                        kind,
                        created_by,
                    },
                )
            })
            .collect(),
        };
        let export = DirectoryExport::of(&DirectoryIndex::new(directory), 7, |p| {
            p.status == PersonStatus::Active
        });
        let json = serde_json::to_string(&export).unwrap();
        assert!(!json.contains("id-"), "no import IDs or children: {json}");
        assert_eq!(export.people[0].localpart, "alt");
        assert!(!export.people[0].active);
        assert!(export.people[1].active);
        assert_eq!(export.people[1].display_name, "Vor ben");
        let back = export.into_directory();
        assert_eq!(back.people["ben"].status, PersonStatus::Active);
        assert_eq!(back.people["alt"].status, PersonStatus::Locked);
        assert!(back.groups["AG"].created_by.is_some());
        assert!(back.groups["Klasse 8.1"].created_by.is_none());
    }
}
