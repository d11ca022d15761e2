//! Typing notifications: held in memory only, they expire by themselves.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Who is typing in which room, with a serial number that changes on every update.
#[derive(Default)]
pub struct Typing {
    inner: Mutex<TypingState>,
}

#[derive(Default)]
struct TypingState {
    serial: u64,
    rooms: HashMap<String, RoomTyping>,
}

#[derive(Default)]
struct RoomTyping {
    serial: u64,
    users: HashMap<String, Instant>,
}

impl Typing {
    /// Starts (with a timeout) or stops typing; returns true if anything changed.
    pub fn set(&self, room_id: &str, user_id: &str, timeout: Option<Duration>) -> bool {
        let mut state = self.inner.lock().expect("typing lock");
        state.serial += 1;
        let serial = state.serial;
        let room = state.rooms.entry(room_id.to_owned()).or_default();
        let changed = match timeout {
            Some(t) => room
                .users
                .insert(
                    user_id.to_owned(),
                    Instant::now() + t.min(Duration::from_secs(120)),
                )
                .is_none(),
            None => room.users.remove(user_id).is_some(),
        };
        room.serial = serial;
        changed || timeout.is_some()
    }

    /// The current serial number (for sync tokens).
    pub fn serial(&self) -> u64 {
        self.inner.lock().expect("typing lock").serial
    }

    /// If the room's typing set changed after `since` (or `since` is from before a restart),
    /// the users typing now.
    pub fn changed_since(&self, room_id: &str, since: u64) -> Option<Vec<String>> {
        let mut state = self.inner.lock().expect("typing lock");
        let current = state.serial;
        let room = state.rooms.get_mut(room_id)?;
        let now = Instant::now();
        let before = room.users.len();
        room.users.retain(|_, until| *until > now);
        if room.users.len() != before {
            // Expiry is a change too; give it a fresh serial so every client hears of it.
            room.serial = current + 1;
            state.serial = current + 1;
        }
        let room = state.rooms.get(room_id)?;
        (room.serial > since || since > state.serial).then(|| room.users.keys().cloned().collect())
    }

    /// The earliest moment a typing notification in one of `rooms` expires, for long-poll waits.
    pub fn next_expiry<'a>(&self, rooms: impl IntoIterator<Item = &'a str>) -> Option<Instant> {
        let state = self.inner.lock().expect("typing lock");
        rooms
            .into_iter()
            .filter_map(|r| state.rooms.get(r))
            .flat_map(|r| r.users.values().copied())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_starts_and_stops() {
        let t = Typing::default();
        let s0 = t.serial();
        assert!(t.set("!r:x", "@a:x", Some(Duration::from_secs(30))));
        assert_eq!(t.changed_since("!r:x", s0), Some(vec!["@a:x".to_owned()]));
        let s1 = t.serial();
        assert_eq!(t.changed_since("!r:x", s1), None);
        assert!(t.set("!r:x", "@a:x", None));
        assert_eq!(t.changed_since("!r:x", s1), Some(vec![]));
    }

    #[test]
    fn typing_expires() {
        let t = Typing::default();
        t.set("!r:x", "@a:x", Some(Duration::from_millis(1)));
        let s = t.serial();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(t.changed_since("!r:x", s), Some(vec![]));
    }
}
