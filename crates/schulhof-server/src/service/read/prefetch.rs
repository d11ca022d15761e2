//! The reads of many rooms at once, for a response that sends many rooms whole (a new
//! sliding-sync connection's room list): each room's newest events, its receipts and the
//! user's unread counts, in a few statements for all rooms instead of three per room. (Their
//! state the reader takes from the rooms' snapshots.) The reader still decides what the user
//! sees: it takes from here only what it would have read from the database itself (the same
//! range and at most the same number of events), and visibility, exclusions, released events
//! and filters apply as before.

use std::collections::HashMap;

use futures_util::future::try_join;
use ruma::UserId;
use schulhof_store::{EventRow, ReceiptRow};

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
    /// Room → its receipts changed in the range.
    receipts: HashMap<String, Vec<ReceiptRow>>,
    unread: UnreadCounts,
}

impl Prefetched {
    /// Reads the newest `limit` events and the receipts of `rooms` in `(after, until]`, and
    /// the unread counts of all of `user_id`'s rooms.
    pub async fn load(
        state: &AppState,
        user_id: &UserId,
        exclusions: &Exclusions,
        rooms: &[&str],
        (after, until): (i64, i64),
        limit: i64,
    ) -> Result<Prefetched> {
        let db = &state.db;
        let events = async {
            let mut events = by_room(rooms);
            for row in db.rooms_events_backward(rooms, after, until, limit).await? {
                events.entry(row.room_id.clone()).or_default().push(row);
            }
            for rows in events.values_mut() {
                rows.sort_by_key(|row| std::cmp::Reverse(row.stream_pos));
            }
            Ok::<_, Error>(events)
        };
        let receipts_and_counts = async {
            let mut receipts = by_room(rooms);
            for (room, receipt) in db.rooms_receipts_since(rooms, after, until).await? {
                receipts.entry(room).or_default().push(receipt);
            }
            let unread = UnreadCounts::load(state, user_id, exclusions).await?;
            Ok((receipts, unread))
        };
        let (events, (receipts, unread)) = try_join(events, receipts_and_counts).await?;
        Ok(Prefetched {
            after,
            until,
            limit,
            events,
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
