//! The newest bump event of each room: the event of a [`BUMP_TYPES`] type with the highest
//! stream position. Loaded once at start, then kept by the commit path (`Effects`, applied
//! before a position is published), so it is never behind what a reader can read. Events are
//! never deleted and a redacted event keeps its type, so a room's newest bump event only ever
//! moves forward. Sliding sync's reader takes a room's bump stamp from here where the user
//! sees that event as it is (`RoomReader::newest_bump`).

use std::collections::HashMap;
use std::sync::RwLock;

use schulhof_store::Db;

use crate::Result;

/// Event types that move a room up the list (message-like events a person would notice).
pub const BUMP_TYPES: [&str; 7] = [
    "m.room.create",
    "m.room.message",
    "m.room.encrypted",
    "m.sticker",
    "m.call.invite",
    "m.poll.start",
    "m.beacon_info",
];

/// Whether events of `kind` move a room up the list.
pub fn is_bump_type(kind: &str) -> bool {
    BUMP_TYPES.contains(&kind)
}

/// A room's newest bump event: what a reader needs to decide whether a user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BumpEvent {
    /// Its stream position.
    pub pos: i64,
    /// Its sender.
    pub sender: String,
    /// Whether it is a state event (`m.room.create`): never hidden by exclusions.
    pub state: bool,
}

/// Room ID → the room's newest bump event.
#[derive(Debug, Default)]
pub struct BumpIndex {
    rooms: RwLock<HashMap<String, BumpEvent>>,
}

impl BumpIndex {
    /// The newest bump event of every room, from the database.
    pub async fn load(db: &Db) -> Result<BumpIndex> {
        let rows = db.newest_events_of_types(&BUMP_TYPES).await?;
        let rooms = rows
            .into_iter()
            .map(|(room_id, pos, sender, state_key)| {
                let event = BumpEvent {
                    pos,
                    sender,
                    state: state_key.is_some(),
                };
                (room_id, event)
            })
            .collect();
        Ok(BumpIndex {
            rooms: RwLock::new(rooms),
        })
    }

    /// The newest bump event of `room_id`, if it has one.
    pub fn newest(&self, room_id: &str) -> Option<BumpEvent> {
        self.rooms
            .read()
            .expect("bump index lock")
            .get(room_id)
            .cloned()
    }

    /// Records a committed bump event of `room_id` (an older one than the recorded changes
    /// nothing).
    pub fn record(&self, room_id: &str, event: BumpEvent) {
        let mut rooms = self.rooms.write().expect("bump index lock");
        match rooms.get_mut(room_id) {
            Some(newest) if newest.pos >= event.pos => {}
            Some(newest) => *newest = event,
            None => {
                rooms.insert(room_id.to_owned(), event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bump(pos: i64, sender: &str) -> BumpEvent {
        BumpEvent {
            pos,
            sender: sender.into(),
            state: false,
        }
    }

    #[test]
    fn only_a_newer_event_replaces_the_newest() {
        let index = BumpIndex::default();
        assert_eq!(index.newest("!r:x"), None);
        index.record("!r:x", bump(5, "@a:x"));
        index.record("!r:x", bump(3, "@b:x"));
        assert_eq!(index.newest("!r:x"), Some(bump(5, "@a:x")));
        index.record("!r:x", bump(9, "@b:x"));
        assert_eq!(index.newest("!r:x"), Some(bump(9, "@b:x")));
        assert_eq!(index.newest("!other:x"), None);
    }

    #[test]
    fn message_like_events_bump_and_others_do_not() {
        assert!(is_bump_type("m.room.message"));
        assert!(is_bump_type("m.room.create"));
        assert!(!is_bump_type("m.room.member"));
        assert!(!is_bump_type("m.reaction"));
    }
}
