//! The newest events of each large room, as stored. When a message reaches a room of many
//! members (a school-wide announcement room), every member's woken `/sync` reads the same
//! few newest events; they take them from here instead of each reading the database. Kept
//! by the commit path (`Effects`, applied before a position is published), so a reader never
//! finds it behind a position it may read: every event of a kept room after the room's
//! `after` position is here. Redactions replace the kept row; a deleted device's transaction
//! IDs are cleared here as in the store.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use schulhof_store::EventRow;

/// Rooms with at least this many joined members keep their newest events.
pub const MIN_MEMBERS: u64 = 50;

/// Events kept per room (a woken sync reads the few since its last one; a timeline of 10
/// reads 11).
const KEPT: usize = 16;

/// Room ID → its newest events.
#[derive(Debug, Default)]
pub struct RecentEvents {
    rooms: RwLock<HashMap<String, Arc<Recent>>>,
}

/// One room's newest events.
#[derive(Debug, Clone)]
struct Recent {
    /// Every event of the room after this position is in `rows`.
    after: i64,
    /// Oldest first.
    rows: VecDeque<Arc<EventRow>>,
}

impl RecentEvents {
    /// Records the committed events `rows` of `room_id` (in position order); `large`: whether
    /// the room has [`MIN_MEMBERS`] joined members after them (a room that has not is not
    /// kept).
    pub fn record(&self, room_id: &str, rows: Vec<EventRow>, large: bool) {
        if !large {
            // Most rooms are small and never kept: no write lock for them.
            if self
                .rooms
                .read()
                .expect("recent events lock")
                .contains_key(room_id)
            {
                self.rooms
                    .write()
                    .expect("recent events lock")
                    .remove(room_id);
            }
            return;
        }
        let Some(first) = rows.first() else {
            return;
        };
        let mut rooms = self.rooms.write().expect("recent events lock");
        // Kept from this commit on: no event of the room lies between its first and the
        // position before it.
        let after = first.stream_pos - 1;
        let entry = rooms.entry(room_id.to_owned()).or_insert_with(|| {
            Arc::new(Recent {
                after,
                rows: VecDeque::new(),
            })
        });
        let recent = Arc::make_mut(entry);
        recent.rows.extend(rows.into_iter().map(Arc::new));
        while recent.rows.len() > KEPT {
            if let Some(oldest) = recent.rows.pop_front() {
                recent.after = oldest.stream_pos;
            }
        }
    }

    /// Replaces the stored JSON of a kept event that was redacted.
    pub fn redacted(&self, room_id: &str, event_id: &str, json: &str) {
        let mut rooms = self.rooms.write().expect("recent events lock");
        let Some(entry) = rooms.get_mut(room_id) else {
            return;
        };
        if !entry.rows.iter().any(|row| row.event_id == event_id) {
            return;
        }
        for row in &mut Arc::make_mut(entry).rows {
            if row.event_id == event_id {
                Arc::make_mut(row).json = json.to_owned();
            }
        }
    }

    /// Clears the transaction IDs of `sender`'s events sent from `device` (the device was
    /// deleted; the store clears them too).
    pub fn forget_transactions(&self, sender: &str, device: &str) {
        let sent_from = |row: &EventRow| {
            row.sender == sender
                && row.txn_device.as_deref() == Some(device)
                && row.txn_id.is_some()
        };
        let mut rooms = self.rooms.write().expect("recent events lock");
        for entry in rooms.values_mut() {
            if !entry.rows.iter().any(|row| sent_from(row)) {
                continue;
            }
            for row in &mut Arc::make_mut(entry).rows {
                if sent_from(row) {
                    Arc::make_mut(row).txn_id = None;
                }
            }
        }
    }

    /// The newest `size` events of `room_id` in `(after, until]`, newest first, if they are
    /// all kept here.
    pub fn backward(
        &self,
        room_id: &str,
        after: i64,
        until: i64,
        size: i64,
    ) -> Option<Vec<EventRow>> {
        let recent = self
            .rooms
            .read()
            .expect("recent events lock")
            .get(room_id)?
            .clone();
        let size = usize::try_from(size).unwrap_or(0);
        let mut rows = Vec::with_capacity(size.min(KEPT));
        for row in recent.rows.iter().rev() {
            if rows.len() == size || row.stream_pos <= after {
                break;
            }
            if row.stream_pos <= until {
                rows.push(EventRow::clone(row));
            }
        }
        // Fewer than asked for: complete only if nothing of the range lies before the kept.
        (rows.len() == size || recent.after <= after).then_some(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pos: i64) -> EventRow {
        EventRow {
            stream_pos: pos,
            event_id: format!("$e{pos}"),
            room_id: "!r:s".into(),
            sender: "@anna:s".into(),
            event_type: "m.room.message".into(),
            state_key: None,
            json: "{}".into(),
            txn_device: Some("PHONE".into()),
            txn_id: Some(format!("t{pos}")),
        }
    }

    fn positions(rows: Option<Vec<EventRow>>) -> Option<Vec<i64>> {
        rows.map(|rows| rows.iter().map(|r| r.stream_pos).collect())
    }

    #[test]
    fn a_range_is_served_only_where_every_event_of_it_is_kept() {
        let recent = RecentEvents::default();
        // Events of the room at 10, 12, ..., 60 (26 events, the first 10 evicted).
        for pos in (10..=60).step_by(2) {
            recent.record("!r:s", vec![row(pos)], true);
        }
        // ((after, until, size), positions served)
        type Case = ((i64, i64, i64), Option<Vec<i64>>);
        let cases: [Case; 7] = [
            ((58, 60, 5), Some(vec![60])),
            ((50, 60, 3), Some(vec![60, 58, 56])),
            ((50, 57, 10), Some(vec![56, 54, 52])),
            // Kept from 30 on (10 evicted: 10..=28): the range reaches below.
            ((0, 60, 16), Some((30..=60).rev().step_by(2).collect())),
            ((0, 60, 17), None),
            ((28, 60, 20), Some((30..=60).rev().step_by(2).collect())),
            ((0, 40, 10), None),
        ];
        for ((after, until, size), want) in cases {
            let got = positions(recent.backward("!r:s", after, until, size));
            assert_eq!(got, want, "({after}, {until}] × {size}");
        }
        assert_eq!(recent.backward("!other:s", 0, 60, 1).map(|r| r.len()), None);
    }

    #[test]
    fn a_room_that_is_no_longer_large_is_forgotten() {
        let recent = RecentEvents::default();
        recent.record("!r:s", vec![row(1), row(2)], true);
        assert_eq!(
            positions(recent.backward("!r:s", 0, 2, 5)),
            Some(vec![2, 1])
        );
        recent.record("!r:s", vec![row(3)], false);
        assert_eq!(positions(recent.backward("!r:s", 0, 3, 5)), None);
    }

    #[test]
    fn redactions_and_deleted_devices_change_the_kept_rows() {
        let recent = RecentEvents::default();
        recent.record("!r:s", vec![row(1), row(2)], true);
        recent.redacted("!r:s", "$e1", r#"{"redacted":true}"#);
        recent.forget_transactions("@anna:s", "PHONE");
        let rows = recent.backward("!r:s", 0, 2, 5).unwrap();
        assert_eq!(rows[1].json, r#"{"redacted":true}"#);
        assert_eq!(rows[0].json, "{}");
        assert!(rows.iter().all(|r| r.txn_id.is_none()));
    }
}
