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
    /// The serial of each user's latest change (start, stop or expiry).
    changed: HashMap<String, u64>,
}

/// A room's typing set as a `/sync` since some serial sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypingUpdate {
    /// The users typing now.
    pub users: Vec<String>,
    /// The users whose typing started, stopped or expired since then; `None` if unknown (the
    /// serial is from before a restart).
    pub changed: Option<Vec<String>>,
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
        room.changed.insert(user_id.to_owned(), serial);
        changed || timeout.is_some()
    }

    /// The current serial number (for sync tokens).
    pub fn serial(&self) -> u64 {
        self.inner.lock().expect("typing lock").serial
    }

    /// If the room's typing set changed after `since` (or `since` is from before a restart),
    /// the users typing now and who changed.
    pub fn changed_since(&self, room_id: &str, since: u64) -> Option<TypingUpdate> {
        let mut state = self.inner.lock().expect("typing lock");
        let current = state.serial;
        let room = state.rooms.get_mut(room_id)?;
        let now = Instant::now();
        let expired: Vec<String> = room
            .users
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(user, _)| user.clone())
            .collect();
        if !expired.is_empty() {
            // Expiry is a change too; give it a fresh serial so every client hears of it.
            for user in expired {
                room.users.remove(&user);
                room.changed.insert(user, current + 1);
            }
            room.serial = current + 1;
            state.serial = current + 1;
        }
        let restarted = since > state.serial;
        let room = state.rooms.get(room_id)?;
        (room.serial > since || restarted).then(|| TypingUpdate {
            users: room.users.keys().cloned().collect(),
            changed: (!restarted).then(|| {
                room.changed
                    .iter()
                    .filter(|(_, serial)| **serial > since)
                    .map(|(user, _)| user.clone())
                    .collect()
            }),
        })
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
        assert_eq!(
            t.changed_since("!r:x", s0),
            Some(update(&["@a:x"], &["@a:x"]))
        );
        let s1 = t.serial();
        assert_eq!(t.changed_since("!r:x", s1), None);
        assert!(t.set("!r:x", "@b:x", Some(Duration::from_secs(30))));
        let s2 = t.serial();
        assert!(t.set("!r:x", "@a:x", None));
        assert_eq!(
            t.changed_since("!r:x", s2),
            Some(update(&["@b:x"], &["@a:x"]))
        );
        assert_eq!(t.changed_since("!r:x", s2 + 100).unwrap().changed, None);
    }

    #[test]
    fn typing_expires() {
        let t = Typing::default();
        t.set("!r:x", "@a:x", Some(Duration::from_millis(1)));
        let s = t.serial();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(t.changed_since("!r:x", s), Some(update(&[], &["@a:x"])));
    }

    fn update(users: &[&str], changed: &[&str]) -> TypingUpdate {
        let owned = |list: &[&str]| list.iter().map(|u| (*u).to_owned()).collect();
        TypingUpdate {
            users: owned(users),
            changed: Some(owned(changed)),
        }
    }
}
