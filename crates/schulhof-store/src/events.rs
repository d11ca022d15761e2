//! Rooms, events, room state and memberships.
//!
//! One server means one linear chain of events per room, so the state of a room at a stream
//! position is simply the newest state event of each `(type, state_key)` up to that position.

use std::future::Future;

use futures_util::{stream, StreamExt, TryStreamExt};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::AssertSqlSafe;

use crate::db::AnyRow;
use crate::{
    batch, execute, execute_tx, fetch, scalar, with_db, with_tx, Db, Result, StatePart, StoreError,
    Tx,
};

/// An event as stored.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Position in the global stream.
    pub stream_pos: i64,
    /// Event ID.
    pub event_id: String,
    /// Room the event belongs to.
    pub room_id: String,
    /// Sender's user ID.
    pub sender: String,
    /// Event type.
    pub event_type: String,
    /// State key, for state events.
    pub state_key: Option<String>,
    /// The full event (PDU) as JSON.
    pub json: String,
    /// Device that sent the event, if sent with a transaction ID.
    pub txn_device: Option<String>,
    /// The client's transaction ID.
    pub txn_id: Option<String>,
}

/// An event about to be stored.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Position in the global stream, assigned by the single writer.
    pub stream_pos: i64,
    /// Event ID.
    pub event_id: &'a str,
    /// Room ID.
    pub room_id: &'a str,
    /// Sender.
    pub sender: &'a str,
    /// Event type.
    pub event_type: &'a str,
    /// State key for state events.
    pub state_key: Option<&'a str>,
    /// For member events: the new membership.
    pub membership: Option<&'a str>,
    /// `origin_server_ts`.
    pub origin_server_ts: i64,
    /// The event as JSON.
    pub json: &'a str,
    /// `(device, transaction ID)` when the client sent one.
    pub txn: Option<(&'a str, &'a str)>,
    /// `(event ID, rel_type)` of the content's `m.relates_to`, if it has both.
    pub relation: Option<(&'a str, &'a str)>,
}

impl NewEvent<'_> {
    /// The row this event is once stored.
    pub fn to_row(&self) -> EventRow {
        EventRow {
            stream_pos: self.stream_pos,
            event_id: self.event_id.to_owned(),
            room_id: self.room_id.to_owned(),
            sender: self.sender.to_owned(),
            event_type: self.event_type.to_owned(),
            state_key: self.state_key.map(str::to_owned),
            json: self.json.to_owned(),
            txn_device: self.txn.map(|(device, _)| device.to_owned()),
            txn_id: self.txn.map(|(_, id)| id.to_owned()),
        }
    }
}

/// A user's membership in a room.
#[derive(Debug, Clone)]
pub struct MembershipRow {
    /// Room ID.
    pub room_id: String,
    /// `join`, `invite`, `leave`, `ban` or `knock`.
    pub membership: String,
    /// Stream position of the member event.
    pub stream_pos: i64,
    /// The member event's ID.
    pub event_id: String,
}

/// One entry of a room's state.
#[derive(Debug, Clone)]
pub struct StateRow {
    /// Event type.
    pub event_type: String,
    /// State key.
    pub state_key: String,
    /// The event holding this piece of state.
    pub event_id: String,
}

const EVENT_COLUMNS: &str =
    "stream_pos, event_id, room_id, sender, event_type, state_key, json, txn_device, txn_id";

/// A `LIMIT` for the text of a statement on the room reader's hot path. SQLite (3.51, as
/// bundled) prepares a statement whose `LIMIT` is a bound parameter again on every execution,
/// which cost about a tenth of the server's CPU while 200 clients followed a large room; as a
/// literal the prepared statement is reused. The value is a number the caller computed, never
/// client text; a negative one reads nothing.
fn sql_limit(limit: i64) -> i64 {
    limit.max(0)
}

/// Rooms per statement in the reads of many rooms at once: a few statement texts (one per
/// group size) that both engines keep prepared, far below their limits on parameters.
const ROOMS_PER_STATEMENT: usize = 25;

/// Statements of a read of many rooms running at once, each on its own pooled connection
/// (SQLite hands rows over one by one and PostgreSQL answers over the network, so two overlap
/// well), leaving the rest of the pool to other requests.
const GROUPS_AT_ONCE: usize = 2;

/// Runs `read` on the groups of at most [`ROOMS_PER_STATEMENT`] of `rooms`, a few at a time,
/// and joins their rows in the order of the groups.
pub(crate) async fn per_room_group<'r, T, F, Fut>(rooms: &'r [&'r str], read: F) -> Result<Vec<T>>
where
    F: FnMut(&'r [&'r str]) -> Fut,
    Fut: Future<Output = Result<Vec<T>>>,
{
    // Collected first: a lazy iterator's closure held across the awaits would keep the
    // caller's future from being `Send` (the compiler cannot prove it for every lifetime).
    let reads: Vec<Fut> = rooms.chunks(ROOMS_PER_STATEMENT).map(read).collect();
    let groups: Vec<Vec<T>> = stream::iter(reads)
        .buffered(GROUPS_AT_ONCE)
        .try_collect()
        .await?;
    Ok(groups.into_iter().flatten().collect())
}

/// `$first, $first+1, …` for `count` parameters (an `IN` list).
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `part`'s condition as ` AND …` to append to a `WHERE` clause (empty for all state), with
/// the values of its placeholders numbered from `first`.
fn part_condition(part: &StatePart, first: usize) -> (String, Vec<&str>) {
    part.sql_condition(first)
        .map(|(sql, values)| (format!(" AND {sql}"), values))
        .unwrap_or_default()
}

/// Reads the columns of `EVENT_COLUMNS` in order.
impl<R: AnyRow> sqlx::FromRow<'_, R> for EventRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(EventRow {
            stream_pos: row.col(0)?,
            event_id: row.col(1)?,
            room_id: row.col(2)?,
            sender: row.col(3)?,
            event_type: row.col(4)?,
            state_key: row.col(5)?,
            json: row.col(6)?,
            txn_device: row.col(7)?,
            txn_id: row.col(8)?,
        })
    }
}

/// An event whose `m.relates_to` names another, with the relation's `rel_type`.
#[derive(Debug, Clone)]
pub struct RelatingEvent {
    /// The relating event.
    pub event: EventRow,
    /// Its `rel_type` (`m.thread`, `m.replace`, `m.annotation`, `m.reference`, …).
    pub rel_type: String,
}

/// Reads the columns of `EVENT_COLUMNS`, then `rel_type`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for RelatingEvent {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(RelatingEvent {
            event: EventRow::from_row(row)?,
            rel_type: row.col(9)?,
        })
    }
}

/// Reads `room_id, membership, stream_pos, event_id` (a missing membership reads as empty).
impl<R: AnyRow> sqlx::FromRow<'_, R> for MembershipRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(MembershipRow {
            room_id: row.col(0)?,
            membership: row.col::<Option<String>>(1)?.unwrap_or_default(),
            stream_pos: row.col(2)?,
            event_id: row.col(3)?,
        })
    }
}

impl Db {
    /// Records a new room.
    pub async fn insert_room(
        tx: &mut Tx,
        room_id: &str,
        version: &str,
        creator: &str,
        now: i64,
    ) -> Result<()> {
        let sql = "INSERT INTO rooms (room_id, room_version, creator, created_ts) VALUES ($1, $2, $3, $4)";
        execute_tx!(tx, sql, [room_id, version, creator, now]).map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Stores an event, updates the room's current state for state events and remembers the
    /// transaction ID, all inside the caller's transaction ([`Db::insert_events`] of one).
    pub async fn insert_event(tx: &mut Tx, ev: &NewEvent<'_>) -> Result<()> {
        Self::insert_events(tx, std::slice::from_ref(ev)).await
    }

    /// Stores `events` in order as [`Db::insert_event`] stores each of them, with one
    /// statement per table for up to 64 events (more in chunks of 64, 32, ...): the event rows,
    /// the current state (a state key changed twice in one call takes one statement per
    /// change, in order) and the relations. A unique violation (a transaction ID used before)
    /// is a [`StoreError::Conflict`] and stores nothing of the call.
    pub async fn insert_events<'e>(tx: &mut Tx, events: &[NewEvent<'e>]) -> Result<()> {
        for chunk in batch::chunks(events) {
            let sql = format!(
                "INSERT INTO events (stream_pos, event_id, room_id, sender, event_type, state_key,
                   origin_server_ts, json, txn_device, txn_id) VALUES {}",
                batch::values(chunk.len(), 10, 1)
            );
            with_tx!(&mut *tx, |c| {
                let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
                for ev in chunk {
                    query = query
                        .bind(ev.stream_pos)
                        .bind(ev.event_id)
                        .bind(ev.room_id)
                        .bind(ev.sender)
                        .bind(ev.event_type)
                        .bind(ev.state_key)
                        .bind(ev.origin_server_ts)
                        .bind(ev.json)
                        .bind(ev.txn.map(|t| t.0))
                        .bind(ev.txn.map(|t| t.1));
                }
                query.execute(c).await.map(|_| ())
            })
            .map_err(StoreError::from_write)?;
        }
        let state: Vec<(&NewEvent<'e>, &'e str)> = events
            .iter()
            .filter_map(|ev| ev.state_key.map(|key| (ev, key)))
            .collect();
        let key = |row: &(&NewEvent<'e>, &'e str)| -> (&'e str, &'e str, &'e str) {
            (row.0.room_id, row.0.event_type, row.1)
        };
        for run in batch::distinct_runs(&state, key) {
            for chunk in batch::chunks(run) {
                Self::upsert_current_state(tx, chunk).await?;
            }
        }
        let relations: Vec<(i64, &str, (&str, &str))> = events
            .iter()
            .filter_map(|ev| ev.relation.map(|r| (ev.stream_pos, ev.room_id, r)))
            .collect();
        for chunk in batch::chunks(&relations) {
            let sql = format!(
                "INSERT INTO event_relations (event_pos, room_id, relates_to, rel_type) VALUES {}",
                batch::values(chunk.len(), 4, 1)
            );
            with_tx!(&mut *tx, |c| {
                let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
                for (pos, room_id, (relates_to, rel_type)) in chunk {
                    query = query
                        .bind(*pos)
                        .bind(*room_id)
                        .bind(*relates_to)
                        .bind(*rel_type);
                }
                query.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Makes the state events `rows` (no `(room, type, state_key)` twice) the current state
    /// of their rooms in one statement. `joined_pos` keeps where a member's current run of
    /// `join` began.
    async fn upsert_current_state(tx: &mut Tx, rows: &[(&NewEvent<'_>, &str)]) -> Result<()> {
        let sql = format!(
            "INSERT INTO current_state
               (room_id, event_type, state_key, event_id, stream_pos, membership, joined_pos)
             VALUES {}
             ON CONFLICT (room_id, event_type, state_key)
             DO UPDATE SET event_id = excluded.event_id, stream_pos = excluded.stream_pos,
               membership = excluded.membership,
               joined_pos = CASE
                 WHEN excluded.membership = 'join' AND current_state.membership = 'join'
                   THEN current_state.joined_pos
                 ELSE excluded.joined_pos
               END",
            batch::values(rows.len(), 7, 1)
        );
        with_tx!(&mut *tx, |c| {
            let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
            for (ev, state_key) in rows {
                let joined_pos = (ev.membership == Some("join")).then_some(ev.stream_pos);
                query = query
                    .bind(ev.room_id)
                    .bind(ev.event_type)
                    .bind(*state_key)
                    .bind(ev.event_id)
                    .bind(ev.stream_pos)
                    .bind(ev.membership)
                    .bind(joined_pos);
            }
            query.execute(c).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Replaces the stored JSON of an event when it is redacted; its relation goes with the
    /// content it came from.
    pub async fn replace_event_json(tx: &mut Tx, event_id: &str, json: &str) -> Result<()> {
        let sql = "UPDATE events SET json = $1 WHERE event_id = $2";
        execute_tx!(tx, sql, [json, event_id])?;
        let sql = "DELETE FROM event_relations
                   WHERE event_pos = (SELECT stream_pos FROM events WHERE event_id = $1)";
        execute_tx!(tx, sql, [event_id])?;
        Ok(())
    }

    /// The threads of `room_id` (events others relate to with `m.thread`) whose newest
    /// answer is before `before`, newest answer first, at most `limit`: `(root event ID,
    /// position of the newest answer)`.
    pub async fn thread_roots(
        &self,
        room_id: &str,
        before: i64,
        limit: i64,
    ) -> Result<Vec<(String, i64)>> {
        let sql = "SELECT relates_to, MAX(event_pos) AS latest FROM event_relations
                   WHERE room_id = $1 AND rel_type = 'm.thread'
                   GROUP BY relates_to HAVING MAX(event_pos) < $2
                   ORDER BY latest DESC LIMIT $3";
        Ok(fetch!(self, fetch_all, sql, [room_id, before, limit])?)
    }

    /// The events of `room_id` whose `m.relates_to` names `event_id`, with the relation's
    /// type, oldest first, at most `limit`.
    pub async fn relating_events(
        &self,
        room_id: &str,
        event_id: &str,
        limit: i64,
    ) -> Result<Vec<RelatingEvent>> {
        let columns = EVENT_COLUMNS.replace(", ", ", e.");
        let sql = AssertSqlSafe(format!(
            "SELECT e.{columns}, r.rel_type FROM event_relations r
             JOIN events e ON e.stream_pos = r.event_pos
             WHERE r.relates_to = $1 AND r.room_id = $2 ORDER BY r.event_pos LIMIT $3"
        ));
        Ok(fetch!(self, fetch_all, sql, [event_id, room_id, limit])?)
    }

    /// The event a client's transaction ID produced, if any.
    pub async fn txn_event(
        &self,
        user_id: &str,
        device_id: &str,
        txn_id: &str,
    ) -> Result<Option<String>> {
        // The unique index `events_txn` makes this a lookup and refuses a second event.
        let sql =
            "SELECT event_id FROM events WHERE sender = $1 AND txn_device = $2 AND txn_id = $3";
        Ok(scalar!(
            self,
            fetch_optional,
            sql,
            [user_id, device_id, txn_id]
        )?)
    }

    /// Looks up one event by ID.
    pub async fn event(&self, event_id: &str) -> Result<Option<EventRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE event_id = $1"
        ));
        Ok(fetch!(self, fetch_optional, sql, [event_id])?)
    }

    /// The event at stream position `pos`, if one is there.
    pub async fn event_at(&self, pos: i64) -> Result<Option<EventRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_pos = $1"
        ));
        Ok(fetch!(self, fetch_optional, sql, [pos])?)
    }

    /// Events of a room with `after < stream_pos <= until`, newest first, at most `limit`.
    pub async fn room_events_backward(
        &self,
        room_id: &str,
        after: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        // The limit is part of the text (see `sql_limit`).
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND stream_pos > $2 AND stream_pos <= $3
                 ORDER BY stream_pos DESC LIMIT {}",
            sql_limit(limit)
        ));
        Ok(fetch!(self, fetch_all, sql, [room_id, after, until])?)
    }

    /// [`room_events_backward`](Self::room_events_backward) of many rooms at once: of each of
    /// `rooms`, the newest `limit` events with `after < stream_pos <= until`, newest first.
    pub async fn rooms_events_backward(
        &self,
        rooms: &[&str],
        after: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        per_room_group(rooms, |group| async move {
            // One indexed read per room, each with its own limit, in one statement.
            let sql = (0..group.len())
                .map(|i| {
                    format!(
                        "SELECT * FROM (SELECT {EVENT_COLUMNS} FROM events WHERE room_id = ${}
                             AND stream_pos > $1 AND stream_pos <= $2
                             ORDER BY stream_pos DESC LIMIT {}) room{i}",
                        i + 3,
                        sql_limit(limit)
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            self.fetch_bound(&sql, &[after, until], group.iter().copied())
                .await
        })
        .await
    }

    /// Runs `sql` with `numbers` as its first parameters and `texts` as the ones after them,
    /// and decodes its rows (for statements whose `IN` lists vary in length).
    pub(crate) async fn fetch_bound<'t, T>(
        &self,
        sql: &str,
        numbers: &[i64],
        texts: impl IntoIterator<Item = &'t str>,
    ) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(with_db!(self, |c| {
            let mut query = sqlx::query_as(AssertSqlSafe(sql));
            for number in numbers {
                query = query.bind(*number);
            }
            for text in texts {
                query = query.bind(text);
            }
            query.fetch_all(c).await
        })?)
    }

    /// Events of a room with `from <= stream_pos < until`, oldest first, at most `limit`.
    pub async fn room_events_forward(
        &self,
        room_id: &str,
        from: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND stream_pos >= $2 AND stream_pos < $3
                 ORDER BY stream_pos ASC LIMIT {}",
            sql_limit(limit)
        ));
        Ok(fetch!(self, fetch_all, sql, [room_id, from, until])?)
    }

    /// The `part` of a room's state as it was right after the event at `pos` (inclusive).
    pub async fn state_at(
        &self,
        room_id: &str,
        pos: i64,
        part: &StatePart,
    ) -> Result<Vec<EventRow>> {
        let (condition, values) = part_condition(part, 3);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_pos IN (
                    SELECT MAX(stream_pos) FROM events
                    WHERE room_id = $2 AND state_key IS NOT NULL AND stream_pos <= $1{condition}
                    GROUP BY event_type, state_key)
                 ORDER BY stream_pos"
        );
        let texts = std::iter::once(room_id).chain(values.iter().copied());
        self.fetch_bound(&sql, &[pos], texts).await
    }

    /// State events of a room with `after < stream_pos <= until`, oldest first.
    pub async fn state_changes(
        &self,
        room_id: &str,
        after: i64,
        until: i64,
    ) -> Result<Vec<EventRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND state_key IS NOT NULL
                 AND stream_pos > $2 AND stream_pos <= $3 ORDER BY stream_pos"
        ));
        Ok(fetch!(self, fetch_all, sql, [room_id, after, until])?)
    }

    /// The current state of a room.
    pub async fn current_state(&self, room_id: &str) -> Result<Vec<EventRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE event_id IN
                 (SELECT event_id FROM current_state WHERE room_id = $1) ORDER BY stream_pos"
        ));
        Ok(fetch!(self, fetch_all, sql, [room_id])?)
    }

    /// A room's version, or `None` if the room does not exist.
    pub async fn room_version(&self, room_id: &str) -> Result<Option<String>> {
        let sql = "SELECT room_version FROM rooms WHERE room_id = $1";
        Ok(scalar!(self, fetch_optional, sql, [room_id])?)
    }

    /// The newest event of a room: `(stream_pos, event_id, depth source JSON)`.
    pub async fn last_room_event(&self, room_id: &str) -> Result<Option<EventRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 ORDER BY stream_pos DESC LIMIT 1"
        ));
        Ok(fetch!(self, fetch_optional, sql, [room_id])?)
    }

    /// Every room with the stream position of its newest event.
    pub async fn room_positions(&self) -> Result<Vec<(String, i64)>> {
        let sql = "SELECT room_id, MAX(stream_pos) FROM events GROUP BY room_id";
        Ok(fetch!(self, fetch_all, sql, [])?)
    }

    /// The newest event of one of `types` in every room that has one, as
    /// `(room_id, stream_pos, sender, state_key)` (a full scan, once at start).
    pub async fn newest_events_of_types(
        &self,
        types: &[&str],
    ) -> Result<Vec<(String, i64, String, Option<String>)>> {
        let sql = format!(
            "SELECT room_id, stream_pos, sender, state_key FROM events WHERE stream_pos IN (
                 SELECT MAX(stream_pos) FROM events WHERE event_type IN ({})
                 GROUP BY room_id)",
            placeholders(1, types.len())
        );
        Ok(with_db!(self, |c| {
            let mut query = sqlx::query_as(AssertSqlSafe(sql.as_str()));
            for kind in types {
                query = query.bind(*kind);
            }
            query.fetch_all(c).await
        })?)
    }

    /// The current membership of a user in every room they have one in.
    pub async fn memberships(&self, user_id: &str) -> Result<Vec<MembershipRow>> {
        let sql = "SELECT room_id, membership, stream_pos, event_id FROM current_state
                   WHERE event_type = 'm.room.member' AND state_key = $1";
        Ok(fetch!(self, fetch_all, sql, [user_id])?)
    }

    /// A user's member events in one room with `stream_pos <= until`, oldest first.
    pub async fn membership_history(
        &self,
        room_id: &str,
        user_id: &str,
        until: i64,
    ) -> Result<Vec<EventRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE event_type = 'm.room.member' AND state_key = $1
                 AND room_id = $2 AND stream_pos <= $3 ORDER BY stream_pos"
        ));
        Ok(fetch!(self, fetch_all, sql, [user_id, room_id, until])?)
    }

    /// History of one kind of state (e.g. history visibility) in a room up to `until`, oldest first.
    pub async fn state_history(
        &self,
        room_id: &str,
        event_type: &str,
        until: i64,
    ) -> Result<Vec<EventRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND event_type = $2 AND state_key = ''
                 AND stream_pos <= $3 ORDER BY stream_pos"
        ));
        Ok(fetch!(self, fetch_all, sql, [room_id, event_type, until])?)
    }

    /// Creates a room alias; [`StoreError::Conflict`] if it is taken.
    pub async fn create_alias(&self, alias: &str, room_id: &str, creator: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::insert_alias(&mut tx, alias, room_id, creator).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores an alias inside an open transaction, e.g. with the room it names
    /// ([`StoreError::Conflict`] if it is taken).
    pub async fn insert_alias(
        tx: &mut Tx,
        alias: &str,
        room_id: &str,
        creator: &str,
    ) -> Result<()> {
        let sql = "INSERT INTO room_aliases (alias, room_id, creator) VALUES ($1, $2, $3)";
        execute_tx!(tx, sql, [alias, room_id, creator]).map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Resolves an alias to `(room_id, creator)`.
    pub async fn alias(&self, alias: &str) -> Result<Option<(String, String)>> {
        let sql = "SELECT room_id, creator FROM room_aliases WHERE alias = $1";
        Ok(fetch!(self, fetch_optional, sql, [alias])?)
    }

    /// Removes an alias.
    pub async fn delete_alias(&self, alias: &str) -> Result<()> {
        let sql = "DELETE FROM room_aliases WHERE alias = $1";
        execute!(self, sql, [alias])?;
        Ok(())
    }

    /// All aliases of a room.
    pub async fn room_aliases(&self, room_id: &str) -> Result<Vec<String>> {
        let sql = "SELECT alias FROM room_aliases WHERE room_id = $1 ORDER BY alias";
        Ok(scalar!(self, fetch_all, sql, [room_id])?)
    }

    /// Publishes or unpublishes a room in the room directory.
    pub async fn set_room_published(&self, room_id: &str, published: bool) -> Result<()> {
        let sql = "UPDATE rooms SET published = $1 WHERE room_id = $2";
        execute!(self, sql, [i64::from(published), room_id])?;
        Ok(())
    }

    /// Whether a room is published in the room directory.
    pub async fn room_published(&self, room_id: &str) -> Result<bool> {
        let sql = "SELECT published FROM rooms WHERE room_id = $1";
        let v: Option<i64> = scalar!(self, fetch_optional, sql, [room_id])?;
        Ok(v.unwrap_or(0) != 0)
    }

    /// IDs of all rooms published in the room directory.
    pub async fn published_rooms(&self) -> Result<Vec<String>> {
        let sql = "SELECT room_id FROM rooms WHERE published = 1 ORDER BY room_id";
        Ok(scalar!(self, fetch_all, sql, [])?)
    }
}
