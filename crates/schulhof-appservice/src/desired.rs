//! The rooms and spaces the directory asks for: [`desired`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use schulhof_directory::{parents_group_of, Directory, Person, PersonStatus, Role};

use crate::config::{Config, RoomKind, SpaceSettings, SpaceSlot, BOT_POWER_LEVEL};
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
    let class_of_parents: HashMap<String, &str> = directory
        .groups
        .keys()
        .filter_map(|class| parents_group_of(class).map(|parents| (parents, class.as_str())))
        .collect();
    let school_name = config.school.name.render(&Values::default());
    let bot = config.bot.clone();
    let levels = &config.power_levels;
    let mut rooms: BTreeMap<RoomKey, DesiredRoom> = BTreeMap::new();

    for group in directory.groups.values() {
        let kind = RoomKind::of(group);
        let settings = config.rooms.of(kind);
        let class = if kind.has_class() {
            class_part(&group.name)
        } else {
            ""
        };
        let values = Values {
            group: &group.name,
            class,
            year: year_of(class),
            school: &school_name,
        };
        let mut members = BTreeMap::from([(bot.clone(), BOT_POWER_LEVEL)]);
        let people = members_of.get(group.name.as_str()).into_iter().flatten();
        let class_teachers = class_of_parents
            .get(&group.name)
            .filter(|_| settings.class_teachers)
            .and_then(|class| members_of.get(class))
            .into_iter()
            .flatten()
            .filter(|p| p.role == Role::Teacher);
        for person in people.chain(class_teachers) {
            members.insert(person.localpart.clone(), levels.of(person.role));
        }
        rooms.insert(
            RoomKey::group(&group.name),
            DesiredRoom {
                name: settings.name.render(&values),
                topic: settings.topic.render(&values),
                is_space: false,
                parent: Some(RoomKey::space(settings.space, values.year)),
                encrypted: settings.encrypted,
                announcement: settings.announcement,
                writer_level: levels.teacher,
                members,
            },
        );
    }

    let school = Values {
        school: &school_name,
        ..Values::default()
    };
    let space =
        |settings: &SpaceSettings, values: &Values<'_>, parent: Option<RoomKey>| DesiredRoom {
            name: settings.name.render(values),
            topic: settings.topic.render(values),
            is_space: true,
            parent,
            encrypted: false,
            announcement: true,
            writer_level: levels.teacher,
            members: BTreeMap::from([(bot.clone(), BOT_POWER_LEVEL)]),
        };
    let mut spaces = BTreeMap::from([(RoomKey::school(), space(&config.school, &school, None))]);
    let parents: BTreeSet<RoomKey> = rooms.values().filter_map(|r| r.parent.clone()).collect();
    for key in parents.into_iter().filter(|key| *key != RoomKey::school()) {
        let key_text = key.to_string();
        let (settings, year) = match key_text.strip_prefix("space:year:") {
            Some(year) => (&config.spaces.year, year),
            None if key_text == "space:parents" => (&config.spaces.parents, ""),
            None if key_text == "space:staff" => (&config.spaces.staff, ""),
            None => (&config.spaces.groups, ""),
        };
        let values = Values { year, ..school };
        spaces.insert(key, space(settings, &values, Some(RoomKey::school())));
    }
    // Spaces hold the members of their rooms: first the second level, then the school space.
    for room in rooms.values() {
        let parent = room.parent.as_ref().and_then(|key| spaces.get_mut(key));
        add_members(parent, room, &active, levels.admin);
    }
    let second: Vec<DesiredRoom> = spaces
        .iter()
        .filter(|(key, _)| **key != RoomKey::school())
        .map(|(_, space)| space.clone())
        .collect();
    for space in &second {
        add_members(
            spaces.get_mut(&RoomKey::school()),
            space,
            &active,
            levels.admin,
        );
    }
    rooms.extend(spaces);
    DesiredSchool {
        rooms,
        active: active.keys().map(|lp| (*lp).to_owned()).collect(),
        bot,
    }
}

/// Adds the members of `room` to `space` at level 0 (admins at `admin_level`).
fn add_members(
    space: Option<&mut DesiredRoom>,
    room: &DesiredRoom,
    active: &HashMap<&str, &Person>,
    admin_level: i64,
) {
    let Some(space) = space else { return };
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
