//! Delayed events (MSC4140, scheduled sending): events a user asked the server to send into a
//! room later (`delayed_events`).
//!
//! A row's `status` moves once from [`DELAYED_SCHEDULED`] to [`DELAYED_SENDING`] when a sender
//! claims it (one `UPDATE`, so two senders never both get it), and from there to
//! [`DELAYED_SENT`] or [`DELAYED_FAILED`]; a scheduled one may instead become
//! [`DELAYED_CANCELLED`], or go back to waiting when a send attempt could not be made.
//! Finalised rows stay for a while so the owner can look up what happened.

use sqlx::AssertSqlSafe;

use crate::db::AnyRow;
use crate::{batch, execute, fetch, scalar, with_tx, Db, Result, StoreError, Tx};

/// A state event as it supersedes delayed events ([`Db::fail_superseded_delayed`]).
#[derive(Debug, Clone, Copy)]
pub struct StateChange<'a> {
    /// Its type.
    pub event_type: &'a str,
    /// Its state key.
    pub state_key: &'a str,
    /// Its sender, whose own delayed events stay.
    pub sender: &'a str,
}

/// Waiting for its send time.
pub const DELAYED_SCHEDULED: &str = "scheduled";
/// Claimed by a sender that is sending it now (or was, when its process stopped).
pub const DELAYED_SENDING: &str = "sending";
/// Sent: `event_id` names the event.
pub const DELAYED_SENT: &str = "sent";
/// Cancelled by its owner.
pub const DELAYED_CANCELLED: &str = "cancelled";
/// Not sent because of an error (`error` holds it), e.g. the school's rights refused it at
/// its send time, or someone else set the same state meanwhile.
pub const DELAYED_FAILED: &str = "failed";

/// The columns [`DelayedRow`] reads, in its order.
const COLUMNS: &str = "delay_id, user_id, device_id, txn_id, room_id, event_type, state_key,
    content, delay_ms, running_since, send_ts, status, event_id, error, finalised_ts";

/// A delayed event about to be stored (status `scheduled`).
#[derive(Debug, Clone)]
pub struct NewDelayed<'a> {
    /// Its opaque, unguessable ID.
    pub delay_id: &'a str,
    /// The owner, who will be its sender.
    pub user_id: &'a str,
    /// The device that scheduled it.
    pub device_id: &'a str,
    /// The client's transaction ID, if the endpoint has one.
    pub txn_id: Option<&'a str>,
    /// The room it goes into.
    pub room_id: &'a str,
    /// Its event type.
    pub event_type: &'a str,
    /// Its state key, for a state event.
    pub state_key: Option<&'a str>,
    /// Its content (JSON text).
    pub content: &'a str,
    /// The delay asked for (ms).
    pub delay_ms: i64,
    /// When it was scheduled (ms since the epoch).
    pub now: i64,
}

/// A stored delayed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayedRow {
    /// Its ID.
    pub delay_id: String,
    /// The owner.
    pub user_id: String,
    /// The device that scheduled it.
    pub device_id: String,
    /// The client's transaction ID, if any.
    pub txn_id: Option<String>,
    /// The room.
    pub room_id: String,
    /// The event type.
    pub event_type: String,
    /// The state key, for a state event.
    pub state_key: Option<String>,
    /// The content (JSON text).
    pub content: String,
    /// The delay (ms).
    pub delay_ms: i64,
    /// When it was scheduled or last restarted (ms).
    pub running_since: i64,
    /// When it is due: `running_since + delay_ms`.
    pub send_ts: i64,
    /// One of the `DELAYED_*` states.
    pub status: String,
    /// The event it became, once sent.
    pub event_id: Option<String>,
    /// Why it was not sent (a Matrix error response as JSON text), for `failed`.
    pub error: Option<String>,
    /// When it was sent, cancelled or failed (ms).
    pub finalised_ts: Option<i64>,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for DelayedRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(DelayedRow {
            delay_id: row.col(0)?,
            user_id: row.col(1)?,
            device_id: row.col(2)?,
            txn_id: row.col(3)?,
            room_id: row.col(4)?,
            event_type: row.col(5)?,
            state_key: row.col(6)?,
            content: row.col(7)?,
            delay_ms: row.col(8)?,
            running_since: row.col(9)?,
            send_ts: row.col(10)?,
            status: row.col(11)?,
            event_id: row.col(12)?,
            error: row.col(13)?,
            finalised_ts: row.col(14)?,
        })
    }
}

/// Which of a user's delayed events a listing returns, in order of `(send_ts, delay_id)`.
#[derive(Debug, Clone, Default)]
pub struct DelayedQuery<'a> {
    /// Only still waiting ones (`scheduled` and `sending`), or only finalised ones
    /// (`sent`, `cancelled`, `failed`); `None`: all.
    pub finalised: Option<bool>,
    /// Only these IDs (empty: any).
    pub delay_ids: &'a [String],
    /// Only in this room.
    pub room_id: Option<&'a str>,
    /// Only of this event type.
    pub event_type: Option<&'a str>,
    /// Only after this `(send_ts, delay_id)` (the previous page's last row).
    pub after: Option<(i64, &'a str)>,
    /// At most this many.
    pub limit: i64,
}

impl Db {
    /// Stores a new delayed event. A transaction ID the same user's device already used for a
    /// delayed event is [`StoreError::Conflict`].
    pub async fn insert_delayed(&self, new: &NewDelayed<'_>) -> Result<()> {
        let sql = "INSERT INTO delayed_events (delay_id, user_id, device_id, txn_id, room_id,
                   event_type, state_key, content, delay_ms, running_since, send_ts, status)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'scheduled')";
        execute!(
            self,
            sql,
            [
                new.delay_id,
                new.user_id,
                new.device_id,
                new.txn_id,
                new.room_id,
                new.event_type,
                new.state_key,
                new.content,
                new.delay_ms,
                new.now,
                new.now + new.delay_ms,
            ]
        )
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// The ID of the delayed event a device's transaction ID created, if any.
    pub async fn delayed_by_txn(
        &self,
        user_id: &str,
        device_id: &str,
        txn_id: &str,
    ) -> Result<Option<String>> {
        let sql = "SELECT delay_id FROM delayed_events
                   WHERE user_id = $1 AND device_id = $2 AND txn_id = $3";
        Ok(scalar!(
            self,
            fetch_optional,
            sql,
            [user_id, device_id, txn_id]
        )?)
    }

    /// One delayed event by its ID.
    pub async fn delayed_event(&self, delay_id: &str) -> Result<Option<DelayedRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM delayed_events WHERE delay_id = $1"
        ));
        Ok(fetch!(self, fetch_optional, sql, [delay_id])?)
    }

    /// A page of `user_id`'s delayed events (see [`DelayedQuery`]).
    pub async fn delayed_events_of(
        &self,
        user_id: &str,
        query: &DelayedQuery<'_>,
    ) -> Result<Vec<DelayedRow>> {
        let status = match query.finalised {
            None => "",
            Some(false) => " AND status IN ('scheduled', 'sending')",
            Some(true) => " AND status IN ('sent', 'cancelled', 'failed')",
        };
        // The optional filters are written so that a NULL (or empty) argument matches every row.
        let ids = if query.delay_ids.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = (0..query.delay_ids.len())
                .map(|i| format!("${}", i + 7))
                .collect();
            format!(" AND delay_id IN ({})", list.join(", "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM delayed_events WHERE user_id = $1{status}
             AND ($2 IS NULL OR room_id = $2) AND ($3 IS NULL OR event_type = $3)
             AND ($4 IS NULL OR send_ts > $4 OR (send_ts = $4 AND delay_id > $5)){ids}
             ORDER BY send_ts, delay_id LIMIT $6"
        );
        let (after_ts, after_id) = query.after.unzip();
        let sql = AssertSqlSafe(sql);
        crate::with_db!(self, |c| {
            let mut q = sqlx::query_as(sql)
                .bind(user_id)
                .bind(query.room_id)
                .bind(query.event_type)
                .bind(after_ts)
                .bind(after_id.unwrap_or(""))
                .bind(query.limit);
            for id in query.delay_ids {
                q = q.bind(id.as_str());
            }
            q.fetch_all(c).await
        })
        .map_err(Into::into)
    }

    /// How many delayed events of `user_id` wait, and the earliest send time among them.
    pub async fn waiting_delayed_of(&self, user_id: &str) -> Result<(i64, Option<i64>)> {
        let sql = "SELECT COUNT(*), MIN(send_ts) FROM delayed_events
                   WHERE user_id = $1 AND status IN ('scheduled', 'sending')";
        Ok(fetch!(self, fetch_one, sql, [user_id])?)
    }

    /// The earliest send time of a scheduled delayed event.
    pub async fn next_delayed_send(&self) -> Result<Option<i64>> {
        let sql = "SELECT MIN(send_ts) FROM delayed_events WHERE status = 'scheduled'";
        Ok(scalar!(self, fetch_one, sql, [])?)
    }

    /// Claims one scheduled delayed event for sending: `true` if this call moved it to
    /// `sending`, `false` if it was not scheduled (any more).
    pub async fn claim_delayed(&self, delay_id: &str) -> Result<bool> {
        let sql = "UPDATE delayed_events SET status = 'sending'
                   WHERE delay_id = $1 AND status = 'scheduled'";
        Ok(execute!(self, sql, [delay_id])? == 1)
    }

    /// Claims up to `limit` scheduled delayed events due at `now` (earliest first) and
    /// returns them; each is claimed by exactly one caller.
    pub async fn claim_due_delayed(&self, now: i64, limit: i64) -> Result<Vec<DelayedRow>> {
        let sql = AssertSqlSafe(format!(
            "UPDATE delayed_events SET status = 'sending'
             WHERE status = 'scheduled' AND delay_id IN (
                 SELECT delay_id FROM delayed_events
                 WHERE status = 'scheduled' AND send_ts <= $1
                 ORDER BY send_ts, delay_id LIMIT $2)
             RETURNING {COLUMNS}"
        ));
        let mut claimed: Vec<DelayedRow> = fetch!(self, fetch_all, sql, [now, limit])?;
        claimed.sort_by(|a, b| (a.send_ts, &a.delay_id).cmp(&(b.send_ts, &b.delay_id)));
        Ok(claimed)
    }

    /// The delayed events claimed for sending and not finalised (a sender stopped midway).
    pub async fn unfinished_delayed(&self) -> Result<Vec<DelayedRow>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM delayed_events WHERE status = 'sending'
             ORDER BY send_ts, delay_id"
        ));
        Ok(fetch!(self, fetch_all, sql, [])?)
    }

    /// Gives a claimed delayed event back: scheduled again, due at `send_ts`.
    pub async fn unclaim_delayed(&self, delay_id: &str, send_ts: i64) -> Result<()> {
        let sql = "UPDATE delayed_events SET status = 'scheduled', send_ts = $2
                   WHERE delay_id = $1 AND status = 'sending'";
        execute!(self, sql, [delay_id, send_ts])?;
        Ok(())
    }

    /// Finalises a claimed delayed event as `sent` (with `event_id`) or `failed` (with
    /// `error`, a Matrix error response as JSON text) at `now`.
    pub async fn finish_delayed(
        &self,
        delay_id: &str,
        event_id: Option<&str>,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let status = if event_id.is_some() {
            DELAYED_SENT
        } else {
            DELAYED_FAILED
        };
        let sql = "UPDATE delayed_events SET status = $2, event_id = $3, error = $4,
                   finalised_ts = $5 WHERE delay_id = $1 AND status = 'sending'";
        execute!(self, sql, [delay_id, status, event_id, error, now])?;
        Ok(())
    }

    /// Cancels a scheduled delayed event: `true` if it was scheduled.
    pub async fn cancel_delayed(&self, delay_id: &str, now: i64) -> Result<bool> {
        let sql = "UPDATE delayed_events SET status = 'cancelled', finalised_ts = $2
                   WHERE delay_id = $1 AND status = 'scheduled'";
        Ok(execute!(self, sql, [delay_id, now])? == 1)
    }

    /// Restarts the timer of a scheduled delayed event at `now` (due again after its delay):
    /// `true` if it was scheduled.
    pub async fn restart_delayed(&self, delay_id: &str, now: i64) -> Result<bool> {
        let sql = "UPDATE delayed_events SET running_since = $2, send_ts = $2 + delay_ms
                   WHERE delay_id = $1 AND status = 'scheduled'";
        Ok(execute!(self, sql, [delay_id, now])? == 1)
    }

    /// Inside the transaction of state events set in `room_id`: for each of `changes`, fails
    /// the scheduled delayed events of users other than its sender for the same
    /// `(event_type, state_key)` with `error` (MSC4140: they must not overwrite what someone
    /// else set meanwhile), one statement for up to 64 changes. Returns how many.
    pub async fn fail_superseded_delayed(
        tx: &mut Tx,
        room_id: &str,
        changes: &[StateChange<'_>],
        error: &str,
        now: i64,
    ) -> Result<u64> {
        let mut failed = 0;
        for chunk in batch::chunks(changes) {
            let keys = (0..chunk.len())
                .map(|i| {
                    let first = 4 + 3 * i;
                    format!(
                        "(event_type = ${first} AND state_key = ${} AND user_id <> ${})",
                        first + 1,
                        first + 2
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!(
                "UPDATE delayed_events SET status = 'failed', error = $2, finalised_ts = $3
                 WHERE room_id = $1 AND status = 'scheduled' AND ({keys})"
            );
            failed += with_tx!(&mut *tx, |c| {
                let mut query = sqlx::query(AssertSqlSafe(sql.as_str()))
                    .bind(room_id)
                    .bind(error)
                    .bind(now);
                for change in chunk {
                    query = query
                        .bind(change.event_type)
                        .bind(change.state_key)
                        .bind(change.sender);
                }
                query.execute(c).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(failed)
    }

    /// Deletes delayed events finalised before `before` (ms); returns how many.
    pub async fn prune_finalised_delayed(&self, before: i64) -> Result<u64> {
        let sql = "DELETE FROM delayed_events
                   WHERE status IN ('sent', 'cancelled', 'failed') AND finalised_ts < $1";
        Ok(execute!(self, sql, [before])?)
    }
}
