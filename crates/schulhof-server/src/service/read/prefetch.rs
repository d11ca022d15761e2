//! The reads of many rooms at once, for a response that sends many rooms whole (a new
//! sliding-sync connection's room list): each room's newest events, its state, its receipts
//! and the user's unread counts, in a few statements for all rooms instead of four per room.
//! The reader still decides what the user sees: it takes from here only what it would have
//! read from the database itself (the same range and at most the same number of events;
//! state only where it holds the part of the state asked for and no state event of it is
//! newer than the position asked for), and visibility, exclusions, released events and
//! filters apply as before.
//!
//! Of the state only the part the rooms are sent with is read: the kinds of state the client
//! asked for and the member events of the user and of the events' senders (a school-wide
//! room's 1,500 member events are not read for a room list). It is read from the current
//! state, which holds each kind's newest event: where none of its rows is newer than the
//! position asked for, it is the state at that position.

use std::collections::{BTreeSet, HashMap};

use futures_util::future::try_join;
use ruma::UserId;
use schulhof_store::{EventRow, ReceiptRow, StatePart};

use super::exclusions::Exclusions;
use super::unread::UnreadCounts;
use crate::state::AppState;
use crate::{Error, Result};

/// What was read of a set of rooms in the range `(after, until]`.
#[derive(Debug)]
pub struct Prefetched {
    after: i64,
    until: i64,
    /// Events read per room (the newest).
    limit: i64,
    /// Room → its newest events in the range, newest first.
    events: HashMap<String, Vec<EventRow>>,
    /// The part of the state read.
    part: StatePart,
    /// Room → that part of its current state.
    state: HashMap<String, Vec<EventRow>>,
    /// Room → its receipts changed in the range.
    receipts: HashMap<String, Vec<ReceiptRow>>,
    unread: UnreadCounts,
}

impl Prefetched {
    /// Reads the newest `limit` events and the receipts of `rooms` in `(after, until]`, the
    /// part of their current state `state_part` names for those events' senders, and the
    /// unread counts of all of `user_id`'s rooms.
    pub async fn load(
        state: &AppState,
        user_id: &UserId,
        exclusions: &Exclusions,
        rooms: &[&str],
        (after, until): (i64, i64),
        limit: i64,
        state_part: &(dyn Fn(&BTreeSet<&str>) -> StatePart + Sync),
    ) -> Result<Prefetched> {
        let db = &state.db;
        // The state needs the events' senders; receipts and counts are read meanwhile.
        let events_and_state = async {
            let mut events = by_room(rooms);
            for row in db.rooms_events_backward(rooms, after, until, limit).await? {
                events.entry(row.room_id.clone()).or_default().push(row);
            }
            for rows in events.values_mut() {
                rows.sort_by_key(|row| std::cmp::Reverse(row.stream_pos));
            }
            let senders: BTreeSet<&str> = events
                .values()
                .flatten()
                .map(|e| e.sender.as_str())
                .collect();
            let part = state_part(&senders);
            let mut room_state = by_room(rooms);
            for row in db.rooms_current_state(rooms, &part).await? {
                room_state.entry(row.room_id.clone()).or_default().push(row);
            }
            Ok::<_, Error>((events, part, room_state))
        };
        let receipts_and_counts = async {
            let mut receipts = by_room(rooms);
            for (room, receipt) in db.rooms_receipts_since(rooms, after, until).await? {
                receipts.entry(room).or_default().push(receipt);
            }
            let unread = UnreadCounts::load(state, user_id, exclusions).await?;
            Ok((receipts, unread))
        };
        let ((events, part, room_state), (receipts, unread)) =
            try_join(events_and_state, receipts_and_counts).await?;
        Ok(Prefetched {
            after,
            until,
            limit,
            events,
            part,
            state: room_state,
            receipts,
            unread,
        })
    }

    /// The newest `size` events of `room` in `(after, until]`, newest first, if read here.
    pub(super) fn events(
        &self,
        room: &str,
        after: i64,
        until: i64,
        size: i64,
    ) -> Option<Vec<EventRow>> {
        if after != self.after || until != self.until || size > self.limit {
            return None;
        }
        let rows = self.events.get(room)?;
        Some(rows.iter().take(size.max(0) as usize).cloned().collect())
    }

    /// At least the `part` of the state of `room` right after `pos`, if read here: when the
    /// part read covers it and none of its events is newer than `pos` (then no state event
    /// of the part lies after `pos`, as the newest of each would be among them).
    pub(super) fn state_at(&self, room: &str, pos: i64, part: &StatePart) -> Option<Vec<EventRow>> {
        let rows = self.state.get(room)?;
        (self.part.covers(part) && rows.iter().all(|row| row.stream_pos <= pos))
            .then(|| rows.clone())
    }

    /// The receipts of `room` changed in `(after, until]`, if read here.
    pub fn receipts(&self, room: &str, after: i64, until: i64) -> Option<&[ReceiptRow]> {
        if after != self.after || until != self.until {
            return None;
        }
        self.receipts.get(room).map(Vec::as_slice)
    }

    /// The unread counts of all of the user's rooms.
    pub fn unread(&self) -> &UnreadCounts {
        &self.unread
    }
}

/// An empty list for each of `rooms`.
fn by_room<T>(rooms: &[&str]) -> HashMap<String, Vec<T>> {
    rooms
        .iter()
        .map(|room| ((*room).to_owned(), Vec::new()))
        .collect()
}
