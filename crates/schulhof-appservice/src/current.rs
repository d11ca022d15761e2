//! What the server has now, as the applier reads it back, and [`CurrentSchool::apply`], the
//! in-memory effect of a change (for tests of convergence, here and in the applier's tests).

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::{DesiredRoom, RoomKey};
use crate::plan::Change;

/// A user's membership in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Membership {
    /// Joined.
    Join,
    /// Invited, not yet joined.
    Invite,
    /// Left (or was removed).
    Leave,
    /// Banned by a moderator: the appservice does not bring them back.
    Ban,
}

/// One managed room or space as it is on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentRoom {
    /// The room ID.
    pub room_id: String,
    /// `m.room.name`.
    pub name: String,
    /// `m.room.topic` (empty: none).
    pub topic: String,
    /// Created as a space.
    pub is_space: bool,
    /// `m.room.encryption` is set.
    pub encrypted: bool,
    /// Writing needs a raised level (`events_default` above 0).
    pub announcement: bool,
    /// Archived by the appservice (its group was dissolved).
    pub archived: bool,
    /// Memberships by localpart.
    pub members: BTreeMap<String, Membership>,
    /// The `users` of `m.room.power_levels`.
    pub power: BTreeMap<String, i64>,
    /// `m.space.child` entries that are managed rooms, as keys (the applier maps room IDs back
    /// to keys and leaves out rooms it does not manage).
    pub children: BTreeSet<RoomKey>,
}

impl CurrentRoom {
    /// The room right after the bot created it for `desired`: the bot joined, name, topic,
    /// encryption and power levels as asked, no other members, no children.
    pub fn created(room_id: String, bot: &str, desired: &DesiredRoom) -> CurrentRoom {
        CurrentRoom {
            room_id,
            name: desired.name.clone(),
            topic: desired.topic.clone(),
            is_space: desired.is_space,
            encrypted: desired.encrypted,
            announcement: desired.announcement,
            archived: false,
            members: BTreeMap::from([(bot.to_owned(), Membership::Join)]),
            power: desired.power_users(),
            children: BTreeSet::new(),
        }
    }

    /// Joined or invited.
    pub fn is_in(&self, user: &str) -> bool {
        matches!(
            self.members.get(user),
            Some(Membership::Join | Membership::Invite)
        )
    }
}

/// Every managed room and space the server has, by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentSchool {
    /// Rooms and spaces by key.
    pub rooms: BTreeMap<RoomKey, CurrentRoom>,
}

impl CurrentSchool {
    /// Applies `change` in memory as the server would (a created room gets the ID
    /// `!<key>:simulated`; `bot` is the creator). Changes to unknown rooms are ignored.
    pub fn apply(&mut self, bot: &str, change: &Change) {
        if let Change::Create { room, desired } = change {
            let id = format!("!{room}:simulated");
            self.rooms
                .insert(room.clone(), CurrentRoom::created(id, bot, desired));
            return;
        }
        let Some(target) = self.rooms.get_mut(change.room()) else {
            return;
        };
        match change {
            Change::Create { .. } => {}
            Change::Unarchive { .. } => target.archived = false,
            Change::SetName { name, .. } => target.name.clone_from(name),
            Change::SetTopic { topic, .. } => target.topic.clone_from(topic),
            Change::EnableEncryption { .. } => target.encrypted = true,
            Change::Join { user, .. } => {
                target.members.insert(user.clone(), Membership::Join);
            }
            Change::SetPowerLevels {
                users,
                announcement,
                ..
            } => {
                target.power.clone_from(users);
                target.announcement = *announcement;
            }
            Change::AddChild { child, .. } => {
                target.children.insert(child.clone());
            }
            Change::Remove { user, .. } => {
                target.members.insert(user.clone(), Membership::Leave);
            }
            Change::RemoveChild { child, .. } => {
                target.children.remove(child);
            }
            Change::Archive { name, .. } => {
                target.archived = true;
                target.announcement = true;
                target.name.clone_from(name);
            }
        }
    }

    /// [`CurrentSchool::apply`] for each change in order.
    pub fn apply_all<'a>(&mut self, bot: &str, changes: impl IntoIterator<Item = &'a Change>) {
        for change in changes {
            self.apply(bot, change);
        }
    }
}
