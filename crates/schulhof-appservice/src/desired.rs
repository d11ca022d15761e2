//! The rooms and spaces the directory asks for: [`desired`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use schulhof_directory::{parents_group_of, Directory, Group, Person, PersonStatus, Role};

use crate::config::{Config, RoomKind, SpaceSlot, BOT_POWER_LEVEL};
use crate::template::Values;

/// The stable key of a managed room or space; the applier maps it to a room alias.
/// `space:school`, `space:year:8`, `space:parents`, `space:staff`, `space:groups`, or
/// `group:<group name>` (e.g. `group:Klasse 8.1`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomKey(String);

impl RoomKey {
    /// The school space.
    pub fn school() -> RoomKey {
        RoomKey("space:school".to_owned())
    }

    /// The space of a year ("8").
    pub fn year(year: &str) -> RoomKey {
        RoomKey(format!("space:year:{year}"))
    }

    /// The room of a group.
    pub fn group(name: &str) -> RoomKey {
        RoomKey(format!("group:{name}"))
    }

    /// The space of `slot` for a room of year `year` (used for [`SpaceSlot::Year`] only).
    pub fn space(slot: SpaceSlot, year: &str) -> RoomKey {
        match slot {
            SpaceSlot::School => RoomKey::school(),
            SpaceSlot::Year => RoomKey::year(year),
            SpaceSlot::Parents => RoomKey("space:parents".to_owned()),
            SpaceSlot::Staff => RoomKey("space:staff".to_owned()),
            SpaceSlot::Groups => RoomKey("space:groups".to_owned()),
        }
    }

    /// A key as stored (for keys read back from the server, e.g. from an alias).
    pub fn from_stored(key: impl Into<String>) -> RoomKey {
        RoomKey(key.into())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One room or space as the directory and the configuration ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredRoom {
    /// Name.
    pub name: String,
    /// Topic (empty: none).
    pub topic: String,
    /// A space (`m.space`) rather than a room.
    pub is_space: bool,
    /// The space it belongs to (`None` for the school space).
    pub parent: Option<RoomKey>,
    /// End-to-end encrypted.
    pub encrypted: bool,
    /// Only members at the teachers' level or above write (spaces: always).
    pub announcement: bool,
    /// The level needed to write in an announcement room (the teachers' level).
    pub writer_level: i64,
    /// Members by localpart with their power level (the bot included, at 100).
    pub members: BTreeMap<String, i64>,
}

impl DesiredRoom {
    /// The `users` of the power levels: members with a level other than 0.
    pub fn power_users(&self) -> BTreeMap<String, i64> {
        self.members
            .iter()
            .filter(|(_, &level)| level != 0)
            .map(|(user, &level)| (user.clone(), level))
            .collect()
    }
}

/// Every managed room and space the school should have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredSchool {
    /// Rooms and spaces by key.
    pub rooms: BTreeMap<RoomKey, DesiredRoom>,
    /// Localparts of the active people (a removal of anyone else reads "left the school").
    pub active: BTreeSet<String>,
    /// The bot's localpart (never removed).
    pub bot: String,
}

impl DesiredSchool {
    /// How deep `key` sits below the school space (0 for the school space).
    pub fn depth(&self, key: &RoomKey) -> usize {
        let mut depth = 0;
        let mut at = self.rooms.get(key).and_then(|room| room.parent.as_ref());
        while let Some(parent) = at {
            depth += 1;
            at = self.rooms.get(parent).and_then(|room| room.parent.as_ref());
        }
        depth
    }
}

/// The class part of a class or parents' group ("Klasse 8.1" → "8.1").
pub fn class_part(group: &str) -> &str {
    group
        .trim()
        .split_once(' ')
        .map_or("", |(_, rest)| rest.trim())
}

/// The year of a class part: its leading digits ("8.1" → "8", "10b" → "10"), else the part
/// before the first dot ("Q1.2" → "Q1"), else all of it ("EF" → "EF").
pub fn year_of(class: &str) -> &str {
    let digits = class.len() - class.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 {
        &class[..digits]
    } else {
        class.split('.').next().unwrap_or(class)
    }
}

/// The rooms and spaces for `directory` under `config` (pure).
///
/// Only active people are members. Each group's members are in its room (parents in their
/// parents' rooms, students only in their own groups' rooms); with `class_teachers` the
/// teachers of a class are also in its parents' room. Each member has the level of their role
/// (teachers are moderators); the bot has 100. A space holds the members of everything inside
/// it (at level 0, admins at theirs) and exists only when something is inside it (the school
/// space always).
pub fn desired(directory: &Directory, config: &Config) -> DesiredSchool {
    let school = School::new(directory, config);
    let mut rooms = BTreeMap::new();
    let mut spaces = BTreeMap::from([(RoomKey::school(), school.space(SpaceSlot::School, ""))]);
    for group in directory.groups.values() {
        let (room, slot, year) = school.group_room(group);
        let parent = RoomKey::space(slot, year);
        spaces
            .entry(parent.clone())
            .or_insert_with(|| school.space(slot, year));
        rooms.insert(
            RoomKey::group(&group.name),
            DesiredRoom {
                parent: Some(parent),
                ..room
            },
        );
    }
    // Every space above a room holds the room's members.
    for room in rooms.values() {
        let mut above = room.parent.clone();
        while let Some(space) = above.and_then(|key| spaces.get_mut(&key)) {
            add_members(space, room, &school.active, config.power_levels.admin);
            above = space.parent.clone();
        }
    }
    rooms.extend(spaces);
    DesiredSchool {
        rooms,
        active: school.active.keys().map(|lp| (*lp).to_owned()).collect(),
        bot: config.bot.clone(),
    }
}

/// What [`desired`] looks up while building: the active people, the members of each group,
/// the class of each parents' group.
struct School<'a> {
    /// The configuration.
    config: &'a Config,
    /// Active people by localpart.
    active: HashMap<&'a str, &'a Person>,
    /// Active members by group name.
    members_of: HashMap<&'a str, Vec<&'a Person>>,
    /// The class group of each parents' group.
    class_of_parents: HashMap<String, &'a str>,
    /// The school space's name (`{schule}`).
    name: String,
}

impl<'a> School<'a> {
    /// The lookups for `directory`.
    fn new(directory: &'a Directory, config: &'a Config) -> School<'a> {
        let active: HashMap<&str, &Person> = directory
            .people
            .values()
            .filter(|p| p.status == PersonStatus::Active)
            .map(|p| (p.localpart.as_str(), p))
            .collect();
        let mut members_of: HashMap<&str, Vec<&Person>> = HashMap::new();
        for person in active.values() {
            for group in &person.groups {
                members_of.entry(group.as_str()).or_default().push(person);
            }
        }
        let class_of_parents = directory
            .groups
            .keys()
            .filter_map(|class| parents_group_of(class).map(|parents| (parents, class.as_str())))
            .collect();
        School {
            config,
            active,
            members_of,
            class_of_parents,
            name: config.school.name.render(&Values::default()),
        }
    }

    /// The room of `group` (without its parent), the slot of its space and its year.
    fn group_room<'g>(&self, group: &'g Group) -> (DesiredRoom, SpaceSlot, &'g str) {
        let kind = RoomKind::of(group);
        let settings = self.config.rooms.of(kind);
        let levels = &self.config.power_levels;
        let class = if kind.has_class() {
            class_part(&group.name)
        } else {
            ""
        };
        let year = year_of(class);
        let values = Values {
            group: &group.name,
            class,
            year,
            school: &self.name,
        };
        let mut members = BTreeMap::from([(self.config.bot.clone(), BOT_POWER_LEVEL)]);
        let people = self
            .members_of
            .get(group.name.as_str())
            .into_iter()
            .flatten();
        let class_teachers = self
            .class_of_parents
            .get(&group.name)
            .filter(|_| settings.class_teachers)
            .and_then(|class| self.members_of.get(class))
            .into_iter()
            .flatten()
            .filter(|p| p.role == Role::Teacher);
        for person in people.chain(class_teachers) {
            members.insert(person.localpart.clone(), levels.of(person.role));
        }
        let room = DesiredRoom {
            name: settings.name.render(&values),
            topic: settings.topic.render(&values),
            is_space: false,
            parent: None,
            encrypted: settings.encrypted,
            announcement: settings.announcement,
            writer_level: levels.teacher,
            members,
        };
        (room, settings.space, year)
    }

    /// The space of `slot` (for [`SpaceSlot::Year`]: of `year`), with only the bot in it.
    fn space(&self, slot: SpaceSlot, year: &str) -> DesiredRoom {
        let spaces = &self.config.spaces;
        let settings = match slot {
            SpaceSlot::School => &self.config.school,
            SpaceSlot::Year => &spaces.year,
            SpaceSlot::Parents => &spaces.parents,
            SpaceSlot::Staff => &spaces.staff,
            SpaceSlot::Groups => &spaces.groups,
        };
        let values = Values {
            year,
            school: &self.name,
            ..Values::default()
        };
        DesiredRoom {
            name: settings.name.render(&values),
            topic: settings.topic.render(&values),
            is_space: true,
            parent: (slot != SpaceSlot::School).then(RoomKey::school),
            encrypted: false,
            announcement: true,
            writer_level: self.config.power_levels.teacher,
            members: BTreeMap::from([(self.config.bot.clone(), BOT_POWER_LEVEL)]),
        }
    }
}

/// Adds the members of `room` to `space` at level 0 (admins at `admin_level`).
fn add_members(
    space: &mut DesiredRoom,
    room: &DesiredRoom,
    active: &HashMap<&str, &Person>,
    admin_level: i64,
) {
    for user in room.members.keys() {
        let level = match active.get(user.as_str()) {
            Some(person) if person.role == Role::Admin => admin_level,
            Some(_) => 0,
            None => continue, // the bot, already there
        };
        space.members.entry(user.clone()).or_insert(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_and_year_parts() {
        for (group, class, year) in [
            ("Klasse 8.1", "8.1", "8"),
            ("Klasse 10b", "10b", "10"),
            ("Sorgeberechtigte 5a", "5a", "5"),
            ("Klasse Q1.2", "Q1.2", "Q1"),
            ("Klasse EF", "EF", "EF"),
        ] {
            assert_eq!(class_part(group), class);
            assert_eq!(year_of(class), year);
        }
    }
}
