//! Reconciliation: [`plan`] compares the desired rooms with the current ones and lists the
//! changes that make them equal, in a fixed order.

use std::collections::{BTreeMap, BTreeSet};

use crate::current::{CurrentRoom, CurrentSchool, Membership};
use crate::desired::{DesiredRoom, DesiredSchool, RoomKey};

/// The name suffix of an archived room.
pub const ARCHIVE_SUFFIX: &str = " (Archiv)";

/// Why a member is removed (shown to them as the kick reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Not (any more) in the room's group or space, e.g. moved to another class.
    LeftGroup {
        /// The room's name.
        room_name: String,
    },
    /// Not active at the school any more (left, deactivated or locked).
    LeftSchool,
}

impl Reason {
    /// German text (the kick reason users see).
    pub fn german(&self) -> String {
        match self {
            Reason::LeftGroup { room_name } => {
                format!("Nicht mehr in „{room_name}“ laut Schulverwaltung")
            }
            Reason::LeftSchool => "Nicht mehr an der Schule laut Schulverwaltung".to_owned(),
        }
    }

    /// English text.
    pub fn english(&self) -> String {
        match self {
            Reason::LeftGroup { room_name } => {
                format!("No longer in “{room_name}” according to the school's records")
            }
            Reason::LeftSchool => {
                "No longer at the school according to the school's records".to_owned()
            }
        }
    }
}

/// One step of a plan. Users are localparts; rooms are keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Create the room or space (name, topic, encryption, power levels as desired; the bot is
    /// its only member).
    Create {
        /// Its key (the applier creates the alias).
        room: RoomKey,
        /// What to create.
        desired: DesiredRoom,
    },
    /// Bring back a room that was archived (its group exists again).
    Unarchive {
        /// The room.
        room: RoomKey,
    },
    /// Set the name.
    SetName {
        /// The room.
        room: RoomKey,
        /// The new name.
        name: String,
    },
    /// Set the topic.
    SetTopic {
        /// The room.
        room: RoomKey,
        /// The new topic.
        topic: String,
    },
    /// Turn on encryption (it is never turned off).
    EnableEncryption {
        /// The room.
        room: RoomKey,
    },
    /// Make the user join (without an invite to accept).
    Join {
        /// The room.
        room: RoomKey,
        /// The user.
        user: String,
    },
    /// Replace the power levels' `users` and the writing level.
    SetPowerLevels {
        /// The room.
        room: RoomKey,
        /// The complete new `users` map.
        users: BTreeMap<String, i64>,
        /// Only members at `writer_level` or above write.
        announcement: bool,
        /// The level needed to write in an announcement room.
        writer_level: i64,
        /// What changes, for the listing: `(user, old level, new level)`.
        changed: Vec<(String, i64, i64)>,
    },
    /// Add a room to a space.
    AddChild {
        /// The space.
        space: RoomKey,
        /// The room or space added.
        child: RoomKey,
    },
    /// Remove a member (kick with a reason, or withdraw an invite).
    Remove {
        /// The room.
        room: RoomKey,
        /// The user.
        user: String,
        /// Why.
        reason: Reason,
    },
    /// Take a room out of a space.
    RemoveChild {
        /// The space.
        space: RoomKey,
        /// The room or space taken out.
        child: RoomKey,
    },
    /// Archive a room whose group is gone: rename with "(Archiv)", read-only (the applier sets
    /// `events_default` to 100, so only the bot writes); members and history are kept. Its
    /// space drops it by a [`Change::RemoveChild`].
    Archive {
        /// The room.
        room: RoomKey,
        /// The new name.
        name: String,
    },
}

impl Change {
    /// The room (for space-child changes: the space) the change is made in.
    pub fn room(&self) -> &RoomKey {
        match self {
            Change::Create { room, .. }
            | Change::Unarchive { room }
            | Change::SetName { room, .. }
            | Change::SetTopic { room, .. }
            | Change::EnableEncryption { room }
            | Change::Join { room, .. }
            | Change::SetPowerLevels { room, .. }
            | Change::Remove { room, .. }
            | Change::Archive { room, .. } => room,
            Change::AddChild { space, .. } | Change::RemoveChild { space, .. } => space,
        }
    }
}

/// The changes from `current` to `desired`, deterministic and in this order: create
/// (spaces before what they contain), unarchive, names, topics, encryption, joins, power
/// levels, space children added, removals, space children removed, archives.
///
/// Applied fully, the next plan is empty; applied partly (a crash), the next plan does the
/// rest. Missing rooms are treated as freshly created, so their members and space entries
/// follow in the same plan. Archived rooms are left alone unless their group returns; banned
/// users are not brought back; encryption is never turned off.
pub fn plan(desired: &DesiredSchool, current: &CurrentSchool) -> Vec<Change> {
    let mut phases = Phases::default();
    let mut missing: Vec<&RoomKey> = desired
        .rooms
        .keys()
        .filter(|key| !current.rooms.contains_key(*key))
        .collect();
    missing.sort_by_key(|key| (desired.depth(key), *key));
    let mut created = BTreeMap::new();
    for key in missing {
        let room = &desired.rooms[key];
        phases.create.push(Change::Create {
            room: key.clone(),
            desired: room.clone(),
        });
        created.insert(key, CurrentRoom::created(String::new(), &desired.bot, room));
    }

    let mut children_of: BTreeMap<&RoomKey, BTreeSet<&RoomKey>> = BTreeMap::new();
    for (child, room) in &desired.rooms {
        if let Some(parent) = &room.parent {
            children_of.entry(parent).or_default().insert(child);
        }
    }
    let no_children = BTreeSet::new();
    for (key, want) in &desired.rooms {
        let have = current
            .rooms
            .get(key)
            .or_else(|| created.get(key))
            .expect("created above");
        phases.settings(key, want, have);
        phases.members(key, want, have, desired);
        phases.children(key, children_of.get(key).unwrap_or(&no_children), have);
    }

    for (key, have) in &current.rooms {
        if !desired.rooms.contains_key(key) && !have.archived {
            // A run that stopped after renaming left the suffix already.
            let name = if have.name.ends_with(ARCHIVE_SUFFIX) {
                have.name.clone()
            } else {
                format!("{}{ARCHIVE_SUFFIX}", have.name)
            };
            phases.archive.push(Change::Archive {
                room: key.clone(),
                name,
            });
        }
    }
    phases.into_changes()
}

/// The changes of a plan, by phase (see [`plan`] for the order).
#[derive(Default)]
struct Phases {
    /// [`Change::Create`].
    create: Vec<Change>,
    /// [`Change::Unarchive`].
    unarchive: Vec<Change>,
    /// [`Change::SetName`].
    names: Vec<Change>,
    /// [`Change::SetTopic`].
    topics: Vec<Change>,
    /// [`Change::EnableEncryption`].
    encryption: Vec<Change>,
    /// [`Change::Join`].
    joins: Vec<Change>,
    /// [`Change::SetPowerLevels`].
    power: Vec<Change>,
    /// [`Change::AddChild`].
    add_child: Vec<Change>,
    /// [`Change::Remove`].
    remove: Vec<Change>,
    /// [`Change::RemoveChild`].
    remove_child: Vec<Change>,
    /// [`Change::Archive`].
    archive: Vec<Change>,
}

impl Phases {
    /// Archive flag, name, topic, encryption and power levels of one room.
    fn settings(&mut self, key: &RoomKey, want: &DesiredRoom, have: &CurrentRoom) {
        let room = || key.clone();
        if have.archived {
            self.unarchive.push(Change::Unarchive { room: room() });
        }
        if have.name != want.name {
            let name = want.name.clone();
            self.names.push(Change::SetName { room: room(), name });
        }
        if have.topic != want.topic {
            let topic = want.topic.clone();
            self.topics.push(Change::SetTopic {
                room: room(),
                topic,
            });
        }
        if want.encrypted && !have.encrypted {
            self.encryption
                .push(Change::EnableEncryption { room: room() });
        }
        self.power.extend(power_change(key, want, have));
    }

    /// Joins of missing members (not of banned ones) and removals of extra ones.
    fn members(
        &mut self,
        key: &RoomKey,
        want: &DesiredRoom,
        have: &CurrentRoom,
        desired: &DesiredSchool,
    ) {
        for user in want.members.keys() {
            if !matches!(
                have.members.get(user),
                Some(Membership::Join | Membership::Ban)
            ) {
                let user = user.clone();
                self.joins.push(Change::Join {
                    room: key.clone(),
                    user,
                });
            }
        }
        for user in have.members.keys().filter(|user| have.is_in(user)) {
            if want.members.contains_key(user) || *user == desired.bot {
                continue;
            }
            let reason = if desired.active.contains(user) {
                Reason::LeftGroup {
                    room_name: want.name.clone(),
                }
            } else {
                Reason::LeftSchool
            };
            self.remove.push(Change::Remove {
                room: key.clone(),
                user: user.clone(),
                reason,
            });
        }
    }

    /// Space children to add and to take out.
    fn children(&mut self, key: &RoomKey, children: &BTreeSet<&RoomKey>, have: &CurrentRoom) {
        for child in children.iter().filter(|c| !have.children.contains(**c)) {
            self.add_child.push(Change::AddChild {
                space: key.clone(),
                child: (*child).clone(),
            });
        }
        for child in have.children.iter().filter(|c| !children.contains(c)) {
            self.remove_child.push(Change::RemoveChild {
                space: key.clone(),
                child: child.clone(),
            });
        }
    }

    /// All changes in phase order.
    fn into_changes(self) -> Vec<Change> {
        [
            self.create,
            self.unarchive,
            self.names,
            self.topics,
            self.encryption,
            self.joins,
            self.power,
            self.add_child,
            self.remove,
            self.remove_child,
            self.archive,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// A [`Change::SetPowerLevels`] if the levels or the announcement flag drifted.
fn power_change(key: &RoomKey, want: &DesiredRoom, have: &CurrentRoom) -> Option<Change> {
    let users = want.power_users();
    let level = |map: &BTreeMap<String, i64>, user: &str| map.get(user).copied().unwrap_or(0);
    let everyone: BTreeSet<&String> = users.keys().chain(have.power.keys()).collect();
    let changed: Vec<(String, i64, i64)> = everyone
        .into_iter()
        .map(|user| (user.clone(), level(&have.power, user), level(&users, user)))
        .filter(|(_, old, new)| old != new)
        .collect();
    (!changed.is_empty() || have.announcement != want.announcement).then(|| {
        Change::SetPowerLevels {
            room: key.clone(),
            users,
            announcement: want.announcement,
            writer_level: want.writer_level,
            changed,
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    #[test]
    fn archiving_again_after_a_crash_keeps_one_suffix() {
        let room = CurrentRoom {
            room_id: "!r:s".into(),
            name: format!("Klasse 9.1{ARCHIVE_SUFFIX}"),
            topic: String::new(),
            is_space: false,
            encrypted: false,
            announcement: true,
            archived: false,
            members: BTreeMap::new(),
            power: BTreeMap::new(),
            children: BTreeSet::new(),
        };
        let current = CurrentSchool {
            rooms: BTreeMap::from([(RoomKey::group("Klasse 9.1"), room)]),
        };
        let desired = DesiredSchool::default();
        assert_eq!(
            plan(&desired, &current),
            [Change::Archive {
                room: RoomKey::group("Klasse 9.1"),
                name: "Klasse 9.1 (Archiv)".into(),
            }]
        );
    }
}
