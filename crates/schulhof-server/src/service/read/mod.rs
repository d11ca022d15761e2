//! The one reader of room history. Every path that shows a user events of a room — `/sync`,
//! `/messages`, `/context`, `/event`, `/relations`, `/threads`, state at an event, notification
//! counts — reads through a [`RoomReader`], which applies, in this order:
//!
//! 1. the range the user may read at all (nothing after their leave),
//! 2. history visibility and their membership at each event ([`visibility`]),
//! 3. the per-recipient exclusions ([`exclusions`]: ignored users, and quiet-hours holds,
//!    whose released events it merges in at their release positions), and
//! 4. the client's filter ([`filter`]),
//!
//! and only then the `limit`, so a filtered page is as long as the client asked for. Fast
//! paths (skipping visibility for a member joined before the whole range) live inside it.

pub mod exclusions;
pub mod filter;
pub mod history;
pub mod prefetch;
pub mod relations;
pub mod threads;
pub mod unread;
pub mod visibility;

use std::collections::BTreeSet;
use std::sync::Arc;

use ruma::api::client::filter::RoomEventFilter;
use ruma::{RoomId, UserId};
use schulhof_store::{EventRow, RelatingEvent, StatePart};
use tokio::sync::OnceCell;

use crate::service::rooms::bumps::BUMP_TYPES;
use crate::service::school::policy::Context;
use crate::state::AppState;
use crate::{Error, Result};
use exclusions::Exclusions;
use filter::{event_matches, lazy_load_members, state_part};
use prefetch::Prefetched;
use visibility::Visibility;

/// Rows fetched per database round trip once a page needs more than its first chunk (the
/// first asks for one more than the limit: usually all a page reads).
const CHUNK: i64 = 100;
/// Most rows one page looks at before it stops and hands out a token to go on from.
const SCAN_LIMIT: usize = 2_000;
/// Most related events one `/relations` request looks at (reactions of a whole school to one
/// announcement stay below it).
pub const RELATIONS_LIMIT: usize = 5_000;

/// How many events a page of `limit` events reads first: one more than the limit, so a page
/// of visible, matching events needs one query and knows whether more follow.
pub fn first_chunk(limit: usize) -> i64 {
    (limit as i64 + 1).min(CHUNK)
}

/// What one user may read of one room.
pub struct RoomReader<'a> {
    state: &'a AppState,
    user_id: &'a UserId,
    room_id: &'a RoomId,
    /// Nothing after this position is visible (the user's leave, or the stream's end).
    until: i64,
    /// The user is joined and was since this position: later events need no visibility check.
    joined_since: Option<i64>,
    visibility: OnceCell<Visibility>,
    exclusions: Arc<Exclusions>,
    /// What was read of this room together with others, if it was.
    prefetched: Option<&'a Prefetched>,
}

/// Which way a page runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From newer to older events.
    Backward,
    /// From older to newer events.
    Forward,
}

/// A page of visible, matching events.
pub struct Page {
    /// The events in the order of the page's direction.
    pub events: Vec<EventRow>,
    /// Where to go on from if the range holds more (a position between two events).
    pub next: Option<i64>,
}

impl<'a> RoomReader<'a> {
    /// A reader for `user_id`, who has or had a membership in the room (or the room is
    /// world-readable); anyone else gets 403 `M_FORBIDDEN`.
    pub async fn open(
        state: &'a AppState,
        user_id: &'a UserId,
        room_id: &'a RoomId,
    ) -> Result<RoomReader<'a>> {
        let room = state.rooms.existing(&state.db, room_id).await?;
        let now = state.writer.current();
        let world_readable = room
            .state_str("m.room.history_visibility", "history_visibility")
            .as_deref()
            == Some("world_readable");
        if room.membership(user_id).is_none() && !world_readable {
            return Err(Error::forbidden(
                "Dieses Konto ist nicht Mitglied dieses Raums.",
                "You are not a member of this room.",
            ));
        }
        let limited = Context::now(state).origin_of(&room).limits_history();
        let visibility =
            Visibility::load(&state.db, room_id.as_str(), user_id.as_str(), now, limited).await?;
        let until = visibility.left_at().unwrap_or(now);
        let reader = Self::new(state, user_id, room_id, until, None).await?;
        reader
            .visibility
            .set(visibility)
            .map_err(|_| Error::Internal("visibility loaded twice".into()))?;
        Ok(reader)
    }

    /// A reader for `/sync`, which knows the user's membership already: `until` is where
    /// they may read to, and `joined_since` the position of their current join if they are
    /// joined.
    pub async fn new(
        state: &'a AppState,
        user_id: &'a UserId,
        room_id: &'a RoomId,
        until: i64,
        joined_since: Option<i64>,
    ) -> Result<RoomReader<'a>> {
        Ok(RoomReader {
            state,
            user_id,
            room_id,
            until,
            joined_since,
            visibility: OnceCell::new(),
            exclusions: state.exclusions.of(state, user_id).await?,
            prefetched: None,
        })
    }

    /// This reader, taking what it reads from `prefetched` where that holds it.
    pub fn with_prefetched(mut self, prefetched: Option<&'a Prefetched>) -> Self {
        self.prefetched = prefetched;
        self
    }

    /// Whose reader this is.
    pub fn user_id(&self) -> &UserId {
        self.user_id
    }

    /// Where the user may read to.
    pub fn until(&self) -> i64 {
        self.until
    }

    async fn visibility(&self) -> Result<&Visibility> {
        self.visibility
            .get_or_try_init(|| async {
                let room = self
                    .state
                    .rooms
                    .existing(&self.state.db, self.room_id)
                    .await?;
                let limited = Context::now(self.state).origin_of(&room).limits_history();
                Visibility::load(
                    &self.state.db,
                    self.room_id.as_str(),
                    self.user_id.as_str(),
                    self.until,
                    limited,
                )
                .await
            })
            .await
    }

    /// Whether the user may see a stored event of this room (range, visibility, exclusions;
    /// not the client's filter).
    pub async fn can_see(&self, event: &EventRow) -> Result<bool> {
        if event.stream_pos > self.until || event.room_id != self.room_id.as_str() {
            return Ok(false);
        }
        if self.exclusions.hides(event) {
            return Ok(false);
        }
        if self.joined_since.is_some_and(|p| event.stream_pos >= p) {
            return Ok(true);
        }
        Ok(self.visibility().await?.can_see(
            event.stream_pos,
            &event.event_type,
            event.state_key.as_deref(),
        ))
    }

    /// Up to `limit` visible events that match `filter`, running from the position `from`
    /// (exclusive going backward, i.e. events at or before it; exclusive going forward, i.e.
    /// events after it) towards `to`. The limit counts only events that are returned.
    pub async fn page(
        &self,
        direction: Direction,
        from: i64,
        to: Option<i64>,
        limit: usize,
        filter: &RoomEventFilter,
    ) -> Result<Page> {
        let mut events = Vec::new();
        let mut scanned = 0;
        // The position the next chunk starts from, exclusive.
        let mut cursor = match direction {
            Direction::Backward => from.min(self.until),
            Direction::Forward => from,
        };
        let mut size = first_chunk(limit);
        loop {
            let chunk = self.chunk(direction, cursor, to, size).await?;
            let exhausted = (chunk.len() as i64) < size;
            let mut rows = chunk.into_iter().peekable();
            while let Some(row) = rows.next() {
                scanned += 1;
                cursor = match direction {
                    Direction::Backward => row.stream_pos - 1,
                    Direction::Forward => row.stream_pos,
                };
                if self.can_see(&row).await? && event_matches(filter, &row) {
                    events.push(row);
                    if events.len() == limit {
                        let more = rows.peek().is_some()
                            || (!exhausted
                                && !self.chunk(direction, cursor, to, 1).await?.is_empty());
                        return Ok(Page {
                            events,
                            next: more.then_some(cursor),
                        });
                    }
                }
            }
            if exhausted {
                return Ok(Page { events, next: None });
            }
            if scanned >= SCAN_LIMIT {
                return Ok(Page {
                    events,
                    next: Some(cursor),
                });
            }
            size = CHUNK;
        }
    }

    /// Up to `size` events of the room beyond `cursor` (exclusive) in `direction`, bounded
    /// by `to` and by what the user may read, at the positions the user sees them: events
    /// released to them from quiet hours are merged in at their release positions.
    async fn chunk(
        &self,
        direction: Direction,
        cursor: i64,
        to: Option<i64>,
        size: i64,
    ) -> Result<Vec<EventRow>> {
        let db = &self.state.db;
        let room = self.room_id.as_str();
        let (stored, range) = match direction {
            Direction::Backward => {
                let lower = to.unwrap_or(0);
                let prefetched = self
                    .prefetched
                    .and_then(|p| p.events(room, lower, cursor, size));
                let kept = || {
                    self.state
                        .rooms
                        .recent()
                        .backward(room, lower, cursor, size)
                };
                let rows = match prefetched.or_else(kept) {
                    Some(rows) => rows,
                    None => db.room_events_backward(room, lower, cursor, size).await?,
                };
                (rows, lower + 1..=cursor)
            }
            Direction::Forward => {
                let end = to.unwrap_or(self.until).min(self.until);
                let rows = db
                    .room_events_forward(room, cursor + 1, end + 1, size)
                    .await?;
                (rows, cursor + 1..=end)
            }
        };
        let released = self.exclusions.released_in(room, range);
        let released: Vec<(i64, i64)> = match direction {
            Direction::Backward => released.rev().take(size as usize).collect(),
            Direction::Forward => released.take(size as usize).collect(),
        };
        if released.is_empty() {
            return Ok(stored);
        }
        let mut rows = stored;
        for (at, pos) in released {
            if let Some(mut row) = db.event_at(pos).await? {
                row.stream_pos = at;
                rows.push(row);
            }
        }
        match direction {
            Direction::Backward => rows.sort_by_key(|row| std::cmp::Reverse(row.stream_pos)),
            Direction::Forward => rows.sort_by_key(|row| row.stream_pos),
        }
        rows.truncate(size as usize);
        Ok(rows)
    }

    /// Position of the newest event of a [`BUMP_TYPES`] type the user sees, if any. It is the
    /// room's newest bump event ([`BumpIndex`](crate::service::rooms::bumps::BumpIndex)) when
    /// the reader would return that event as it is: within the range, at or after the user's
    /// join (no visibility check applies), not hidden by their exclusions, and no event
    /// released to them from quiet hours after it. Otherwise the history is read, newest first.
    pub async fn newest_bump(&self) -> Result<Option<i64>> {
        let room = self.room_id.as_str();
        if let Some(bump) = self.state.rooms.bumps().newest(room) {
            let seen_as_is = bump.pos <= self.until
                && self.joined_since.is_some_and(|p| bump.pos >= p)
                && !self.exclusions.hides_at(bump.pos, &bump.sender, bump.state)
                && (bump.pos >= self.until
                    || self
                        .exclusions
                        .released_in(room, bump.pos + 1..=self.until)
                        .next()
                        .is_none());
            if seen_as_is {
                return Ok(Some(bump.pos));
            }
        }
        let mut filter = RoomEventFilter::default();
        filter.types = Some(BUMP_TYPES.iter().map(|t| (*t).to_owned()).collect());
        let page = self
            .page(Direction::Backward, self.until, None, 1, &filter)
            .await?;
        Ok(page.events.first().map(|event| event.stream_pos))
    }

    /// One event, if it exists in this room and the user may see it, at the position they
    /// see it (its release position if it was released to them from quiet hours).
    pub async fn event(&self, event_id: &str) -> Result<Option<EventRow>> {
        let Some(mut event) = self.state.db.event(event_id).await? else {
            return Ok(None);
        };
        if let Some(at) = self.exclusions.release_position(event.stream_pos) {
            event.stream_pos = at;
        }
        Ok(self.can_see(&event).await?.then_some(event))
    }

    /// The events relating to `event_id` (their `m.relates_to` names it) that the user may
    /// see, at the positions they see them, each once; with `depth` above 1 also the events
    /// relating to those, up to that many steps. Relations are few per event; a read stops at
    /// [`RELATIONS_LIMIT`] events.
    pub async fn relating(&self, event_id: &str, depth: usize) -> Result<Vec<RelatingEvent>> {
        let mut found = Vec::new();
        let mut seen = BTreeSet::new();
        let mut frontier = vec![event_id.to_owned()];
        for _ in 0..depth {
            let mut next = Vec::new();
            for target in &frontier {
                let room = self.room_id.as_str();
                let rows = self
                    .state
                    .db
                    .relating_events(room, target, RELATIONS_LIMIT as i64)
                    .await?;
                for mut related in rows {
                    let event = &mut related.event;
                    if let Some(at) = self.exclusions.release_position(event.stream_pos) {
                        event.stream_pos = at;
                    }
                    if !seen.insert(event.event_id.clone()) || !self.can_see(event).await? {
                        continue;
                    }
                    next.push(event.event_id.clone());
                    found.push(related);
                    if found.len() >= RELATIONS_LIMIT {
                        return Ok(found);
                    }
                }
            }
            frontier = next;
        }
        Ok(found)
    }

    /// The user's exclusions (ignored users, quiet-hours holds).
    pub fn exclusions(&self) -> &Exclusions {
        &self.exclusions
    }

    /// The room's state right after position `pos` (capped at what the user may read),
    /// filtered by the client's state filter; with lazy-loaded members only the member events
    /// of `senders` (and the user's own) are kept.
    pub async fn state_at(
        &self,
        pos: i64,
        filter: &RoomEventFilter,
        senders: &BTreeSet<&str>,
    ) -> Result<Vec<EventRow>> {
        let part = state_part(filter, self.user_id.as_str(), senders);
        let rows = self.state_rows_at(pos, &part).await?;
        Ok(self.filter_state(rows, filter, senders))
    }

    /// The room's state right after position `pos` (capped at what the user may read): at
    /// least its `part`. Taken from the room's snapshot where its current state is the state
    /// at `pos` (no state event of the part since), read from the store otherwise.
    pub async fn state_rows_at(&self, pos: i64, part: &StatePart) -> Result<Vec<EventRow>> {
        let pos = pos.min(self.until);
        let room = self
            .state
            .rooms
            .existing(&self.state.db, self.room_id)
            .await?;
        if let Some(rows) = room.stored_state_at(pos, part) {
            return Ok(rows);
        }
        Ok(self
            .state
            .db
            .state_at(self.room_id.as_str(), pos, part)
            .await?)
    }

    /// Applies the client's state filter (and lazy loading of members) to state events.
    pub fn filter_state(
        &self,
        rows: Vec<EventRow>,
        filter: &RoomEventFilter,
        senders: &BTreeSet<&str>,
    ) -> Vec<EventRow> {
        let lazy = lazy_load_members(filter);
        let mut rows: Vec<EventRow> = rows
            .into_iter()
            .filter(|e| event_matches(filter, e))
            .filter(|e| {
                !lazy
                    || e.event_type != "m.room.member"
                    || e.state_key
                        .as_deref()
                        .is_some_and(|k| k == self.user_id.as_str() || senders.contains(k))
            })
            .collect();
        if let Some(limit) = filter.limit {
            rows.truncate(u64::from(limit) as usize);
        }
        rows
    }

    /// `(notification_count, highlight_count)`: the user's unread notifying events of this
    /// room that they may see.
    pub async fn notification_counts(&self) -> Result<(u64, u64)> {
        let (user, room) = (self.user_id.as_str(), self.room_id.as_str());
        if !self.exclusions.hides_anyone() {
            // Nothing to leave out: the database counts.
            let (notifications, highlights) = self.state.db.notification_counts(user, room).await?;
            return Ok((notifications as u64, highlights as u64));
        }
        let unread = self.state.db.unread_notifications(user, room).await?;
        Ok(unread::count_shown(&self.exclusions, unread))
    }
}
