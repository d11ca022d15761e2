//! Constant-time lookups into a directory, for the policy engine.

use std::collections::{BTreeSet, HashMap};

use crate::model::{Directory, Group, Person};

/// Returned for lookups that find nothing.
static EMPTY: BTreeSet<String> = BTreeSet::new();

/// An immutable, hashed view of a [`Directory`]: person by localpart, group members,
/// a person's groups, children and parents, each in O(1).
///
/// Covers every person in the directory, **including locked and deactivated ones**:
/// callers deciding about access must check [`Person::status`].
#[derive(Debug, Clone, Default)]
pub struct DirectoryIndex {
    people: HashMap<String, Person>,
    localparts: HashMap<String, String>,
    groups: HashMap<String, Group>,
    members: HashMap<String, BTreeSet<String>>,
    children: HashMap<String, BTreeSet<String>>,
    parents: HashMap<String, BTreeSet<String>>,
}

impl DirectoryIndex {
    /// Indexes `directory` (taking it over; see [`Directory::index`] to keep it).
    pub fn new(directory: Directory) -> DirectoryIndex {
        let localparts: HashMap<String, String> = directory
            .people
            .values()
            .map(|p| (p.import_id.clone(), p.localpart.clone()))
            .collect();
        let mut index = DirectoryIndex {
            groups: directory.groups.into_iter().collect(),
            ..DirectoryIndex::default()
        };
        for person in directory.people.into_values() {
            for group in &person.groups {
                link(&mut index.members, group, &person.localpart);
            }
            for child in person.children.iter().filter_map(|c| localparts.get(c)) {
                link(&mut index.children, &person.localpart, child);
                link(&mut index.parents, child, &person.localpart);
            }
            index.people.insert(person.localpart.clone(), person);
        }
        index.localparts = localparts;
        index
    }

    /// The person with this Matrix localpart.
    pub fn person(&self, localpart: &str) -> Option<&Person> {
        self.people.get(localpart)
    }

    /// Every group, in no particular order.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    /// The localpart of the person with this import ID.
    pub fn localpart_of(&self, import_id: &str) -> Option<&str> {
        self.localparts.get(import_id).map(String::as_str)
    }

    /// The group with this name.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Localparts of a group's members (empty for unknown groups).
    pub fn members(&self, group: &str) -> &BTreeSet<String> {
        self.members.get(group).unwrap_or(&EMPTY)
    }

    /// Names of the groups a person belongs to (empty for unknown people).
    pub fn groups_of(&self, localpart: &str) -> &BTreeSet<String> {
        self.people.get(localpart).map_or(&EMPTY, |p| &p.groups)
    }

    /// Localparts of a parent's children (empty for non-parents).
    pub fn children_of(&self, localpart: &str) -> &BTreeSet<String> {
        self.children.get(localpart).unwrap_or(&EMPTY)
    }

    /// Localparts of a student's parents (empty if none are known).
    pub fn parents_of(&self, localpart: &str) -> &BTreeSet<String> {
        self.parents.get(localpart).unwrap_or(&EMPTY)
    }

    /// All people, in no particular order.
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.people.values()
    }

    /// Number of people.
    pub fn len(&self) -> usize {
        self.people.len()
    }

    /// Whether the directory is empty.
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
}

/// Adds `value` to the set under `key`.
fn link(map: &mut HashMap<String, BTreeSet<String>>, key: &str, value: &str) {
    map.entry(key.to_owned())
        .or_default()
        .insert(value.to_owned());
}

impl Directory {
    /// A hashed index of this directory (clones the data).
    pub fn index(&self) -> DirectoryIndex {
        DirectoryIndex::new(self.clone())
    }
}

impl From<Directory> for DirectoryIndex {
    fn from(directory: Directory) -> DirectoryIndex {
        DirectoryIndex::new(directory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_csv, plan_import, GroupKind};

    #[test]
    fn looks_up_people_groups_and_families() {
        let csv = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder\n\
            L1;Anna;Schmidt;Lehrkraft;Lehrer,Klasse 8.1;\n\
            S1;Ben;Schmidt;Schüler;Klasse 8.1;\n\
            S2;Mia;Schmidt;Schüler;Klasse 9.2;\n\
            E1;Clara;Schmidt;Eltern;;S1,S2\n\
            E2;Jo;Schmidt;Eltern;;S1\n";
        let file = parse_csv(csv.as_bytes()).unwrap();
        let directory = plan_import(&Directory::default(), &file, 0).unwrap().result;
        let index = directory.index();
        let names = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>();
        assert_eq!(index.len(), 5);
        assert_eq!(index.person("ben.schmidt").unwrap().import_id, "S1");
        assert!(index.person("nobody").is_none());
        assert_eq!(index.localpart_of("E2"), Some("jo.schmidt"));
        assert_eq!(
            names(index.members("Klasse 8.1")),
            ["anna.schmidt", "ben.schmidt"]
        );
        assert_eq!(
            names(index.members("Sorgeberechtigte 8.1")),
            ["clara.schmidt", "jo.schmidt"]
        );
        assert!(index.members("Klasse 5.1").is_empty());
        assert_eq!(
            index.group("Sorgeberechtigte 9.2").unwrap().kind,
            GroupKind::Parents
        );
        assert_eq!(
            names(index.groups_of("anna.schmidt")),
            ["Klasse 8.1", "Lehrer"]
        );
        assert_eq!(
            names(index.children_of("clara.schmidt")),
            ["ben.schmidt", "mia.schmidt"]
        );
        assert_eq!(
            names(index.parents_of("ben.schmidt")),
            ["clara.schmidt", "jo.schmidt"]
        );
        assert!(index.children_of("ben.schmidt").is_empty());
        assert_eq!(index.people().count(), 5);
        assert_eq!(DirectoryIndex::from(directory).len(), 5);
    }
}
