//! Per-user data: account data, receipts, filters, notification counts and presence.

use std::sync::LazyLock;

use sqlx::AssertSqlSafe;

use crate::db::AnyRow;
use crate::events::{per_room_group, placeholders};

use crate::{execute_tx, fetch, scalar, scalar_tx, with_tx, Db, Result, Tx};

/// Exceptions recorded by one statement (three parameters each, well below both engines'
/// limits on parameters).
const EXCEPTIONS_PER_INSERT: usize = 300;

/// The unread notifications of user `$1` as rows `(room_id, sender, highlight)`, in the rooms
/// `rooms` names (an SQL condition on a room ID: `= $2` for one room, `IS NOT NULL` for all),
/// each after the user's newest read receipt there: the room's outcomes since the user's
/// current join that no exception of theirs replaces (their own events are such exceptions),
/// and their exceptions that notify (the sender is `NULL` for a release position).
fn unread_sql(rooms: &str) -> String {
    let read_mark = |room: &str| {
        format!(
            "(SELECT COALESCE(MAX(r.event_pos), 0) FROM receipts r WHERE r.room_id = {room}
              AND r.user_id = $1 AND r.receipt_type IN ('m.read', 'm.read.private'))"
        )
    };
    format!(
        "SELECT n.room_id, e.sender, n.highlight FROM room_notifications n
         JOIN events e ON e.stream_pos = n.stream_pos
         JOIN current_state m ON m.room_id = n.room_id AND m.event_type = 'm.room.member'
           AND m.state_key = $1 AND m.membership = 'join'
         WHERE n.room_id {rooms} AND n.stream_pos > m.joined_pos
         AND NOT EXISTS (SELECT 1 FROM push_actions p
           WHERE p.user_id = $1 AND p.room_id = n.room_id AND p.stream_pos = n.stream_pos)
         AND n.stream_pos > {}
         UNION ALL
         SELECT p.room_id, e.sender, p.highlight FROM push_actions p
         LEFT JOIN events e ON e.stream_pos = p.stream_pos
         WHERE p.user_id = $1 AND p.room_id {rooms} AND p.notify = 1 AND p.stream_pos > {}",
        read_mark("n.room_id"),
        read_mark("p.room_id"),
    )
}

/// [`unread_sql`] for the room `$2`.
static UNREAD_IN_ROOM: LazyLock<String> = LazyLock::new(|| unread_sql("= $2"));

/// [`unread_sql`] for every room.
static UNREAD_EVERYWHERE: LazyLock<String> = LazyLock::new(|| unread_sql("IS NOT NULL"));

/// How a new event notifies the members of its room. The outcome most members get is stored
/// once for the room ([`room_outcome`](Self::room_outcome)); it applies to every member joined
/// at the event. Members whose outcome differs (the sender among them) are stored one by one.
#[derive(Debug)]
pub struct NewNotifications<'a> {
    /// The room.
    pub room_id: &'a str,
    /// The event's stream position.
    pub pos: i64,
    /// The room's outcome: `Some(highlight)` if it notifies, `None` if it does not.
    pub room_outcome: Option<bool>,
    /// The members whose outcome differs from the room's, with their own.
    pub exceptions: &'a [(&'a str, Option<bool>)],
}

/// One account data entry.
#[derive(Debug, Clone)]
pub struct AccountDataRow {
    /// Room ID, or empty for global account data.
    pub room_id: String,
    /// Event type.
    pub data_type: String,
    /// JSON content.
    pub content: String,
}

/// One read receipt.
#[derive(Debug, Clone)]
pub struct ReceiptRow {
    /// Reader.
    pub user_id: String,
    /// `m.read` or `m.read.private`.
    pub receipt_type: String,
    /// Thread ID, empty when unthreaded.
    pub thread_id: String,
    /// Event read up to.
    pub event_id: String,
    /// When, ms since the epoch.
    pub ts: i64,
}

/// Reads `room_id, data_type, content`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for AccountDataRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(AccountDataRow {
            room_id: row.col(0)?,
            data_type: row.col(1)?,
            content: row.col(2)?,
        })
    }
}

/// Reads `user_id, receipt_type, thread_id, event_id, ts`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for ReceiptRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(ReceiptRow {
            user_id: row.col(0)?,
            receipt_type: row.col(1)?,
            thread_id: row.col(2)?,
            event_id: row.col(3)?,
            ts: row.col(4)?,
        })
    }
}

impl Db {
    /// Sets account data inside the writer's transaction.
    pub async fn put_account_data(
        tx: &mut Tx,
        user_id: &str,
        room_id: &str,
        data_type: &str,
        content: &str,
        pos: i64,
    ) -> Result<()> {
        let sql = "INSERT INTO account_data (user_id, room_id, data_type, content, stream_pos) VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (user_id, room_id, data_type) DO UPDATE SET content = $4, stream_pos = $5";
        execute_tx!(tx, sql, [user_id, room_id, data_type, content, pos])?;
        Ok(())
    }

    /// One account data entry's content.
    pub async fn account_data(
        &self,
        user_id: &str,
        room_id: &str,
        data_type: &str,
    ) -> Result<Option<String>> {
        let sql = "SELECT content FROM account_data WHERE user_id = $1 AND room_id = $2 AND data_type = $3";
        let content = scalar!(self, fetch_optional, sql, [user_id, room_id, data_type])?;
        Ok(content)
    }

    /// The users who have global account data of type `data_type` (e.g. stored push rules).
    pub async fn users_with_account_data(&self, data_type: &str) -> Result<Vec<String>> {
        let sql = "SELECT user_id FROM account_data WHERE room_id = '' AND data_type = $1";
        Ok(scalar!(self, fetch_all, sql, [data_type])?)
    }

    /// Account data of a user changed in `(after, until]` (all of it when `after` is 0).
    pub async fn account_data_since(
        &self,
        user_id: &str,
        after: i64,
        until: i64,
    ) -> Result<Vec<AccountDataRow>> {
        let sql = "SELECT room_id, data_type, content FROM account_data
                   WHERE user_id = $1 AND stream_pos > $2 AND stream_pos <= $3 ORDER BY stream_pos";
        Ok(fetch!(self, fetch_all, sql, [user_id, after, until])?)
    }

    /// Stores a receipt inside the writer's transaction; returns false if an existing receipt
    /// already points at a later event (receipts never move backwards).
    #[allow(clippy::too_many_arguments)]
    pub async fn put_receipt(
        tx: &mut Tx,
        room_id: &str,
        user_id: &str,
        receipt_type: &str,
        thread_id: &str,
        event_id: &str,
        event_pos: i64,
        ts: i64,
        pos: i64,
    ) -> Result<bool> {
        let sql = "INSERT INTO receipts (room_id, user_id, receipt_type, thread_id, event_id, event_pos, ts, stream_pos)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (room_id, user_id, receipt_type, thread_id)
                   DO UPDATE SET event_id = $5, event_pos = $6, ts = $7, stream_pos = $8
                   WHERE receipts.event_pos < $6";
        let done = execute_tx!(
            tx,
            sql,
            [
                room_id,
                user_id,
                receipt_type,
                thread_id,
                event_id,
                event_pos,
                ts,
                pos
            ]
        )?;
        Ok(done > 0)
    }

    /// Receipts of a room changed in `(after, until]`.
    pub async fn receipts_since(
        &self,
        room_id: &str,
        after: i64,
        until: i64,
    ) -> Result<Vec<ReceiptRow>> {
        let sql = "SELECT user_id, receipt_type, thread_id, event_id, ts FROM receipts
                   WHERE room_id = $1 AND stream_pos > $2 AND stream_pos <= $3";
        Ok(fetch!(self, fetch_all, sql, [room_id, after, until])?)
    }

    /// [`receipts_since`](Self::receipts_since) of many rooms at once, each receipt with its
    /// room.
    pub async fn rooms_receipts_since(
        &self,
        rooms: &[&str],
        after: i64,
        until: i64,
    ) -> Result<Vec<(String, ReceiptRow)>> {
        let rows: Vec<(String, String, String, String, String, i64)> =
            per_room_group(rooms, |group| async move {
                let sql = format!(
                    "SELECT room_id, user_id, receipt_type, thread_id, event_id, ts FROM receipts
                     WHERE room_id IN ({}) AND stream_pos > $1 AND stream_pos <= $2",
                    placeholders(3, group.len())
                );
                self.fetch_bound(&sql, &[after, until], group.iter().copied())
                    .await
            })
            .await?;
        let receipts = rows.into_iter().map(
            |(room_id, user_id, receipt_type, thread_id, event_id, ts)| {
                let receipt = ReceiptRow {
                    user_id,
                    receipt_type,
                    thread_id,
                    event_id,
                    ts,
                };
                (room_id, receipt)
            },
        );
        Ok(receipts.collect())
    }

    /// Stream position of the newest receipt of a room (0 if none).
    pub async fn room_receipt_positions(&self) -> Result<Vec<(String, i64)>> {
        let sql = "SELECT room_id, MAX(stream_pos) FROM receipts GROUP BY room_id";
        Ok(fetch!(self, fetch_all, sql, [])?)
    }

    /// Stores a filter and returns its ID.
    pub async fn create_filter(&self, user_id: &str, json: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let next: i64 = scalar_tx!(
            &mut tx,
            fetch_one,
            "SELECT COALESCE(MAX(filter_id), -1) + 1 FROM filters WHERE user_id = $1",
            [user_id]
        )?;
        execute_tx!(
            &mut tx,
            "INSERT INTO filters (user_id, filter_id, json) VALUES ($1, $2, $3)",
            [user_id, next, json]
        )?;
        tx.commit().await?;
        Ok(next)
    }

    /// A stored filter.
    pub async fn filter(&self, user_id: &str, filter_id: i64) -> Result<Option<String>> {
        let sql = "SELECT json FROM filters WHERE user_id = $1 AND filter_id = $2";
        Ok(scalar!(self, fetch_optional, sql, [user_id, filter_id])?)
    }

    /// Records how the event `n` describes notifies the members of its room, inside the
    /// writer's transaction: one row for the room's outcome and one per exception (see
    /// [`NewNotifications`]), one statement per [`EXCEPTIONS_PER_INSERT`] exceptions.
    pub async fn insert_notifications(tx: &mut Tx, n: &NewNotifications<'_>) -> Result<()> {
        if let Some(highlight) = n.room_outcome {
            let sql = "INSERT INTO room_notifications (room_id, stream_pos, highlight)
                       VALUES ($1, $2, $3)";
            execute_tx!(tx, sql, [n.room_id, n.pos, i64::from(highlight)])?;
        }
        for chunk in n.exceptions.chunks(EXCEPTIONS_PER_INSERT) {
            let rows = (0..chunk.len())
                .map(|i| format!("(${}, $1, $2, ${}, ${})", 3 * i + 3, 3 * i + 4, 3 * i + 5))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO push_actions (user_id, room_id, stream_pos, highlight, notify)
                 VALUES {rows}"
            );
            with_tx!(&mut *tx, |c| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(n.room_id)
                    .bind(n.pos);
                for (user, outcome) in chunk {
                    query = query
                        .bind(*user)
                        .bind(i64::from(*outcome == Some(true)))
                        .bind(i64::from(outcome.is_some()));
                }
                query.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// `(notification_count, highlight_count)` of a user in a room: notifying events after the
    /// user's newest read receipt.
    pub async fn notification_counts(&self, user_id: &str, room_id: &str) -> Result<(i64, i64)> {
        let sql = AssertSqlSafe(format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(highlight), 0) AS BIGINT)
             FROM ({}) unread",
            *UNREAD_IN_ROOM
        ));
        Ok(fetch!(self, fetch_one, sql, [user_id, room_id])?)
    }

    /// The unread notifying events of a user in a room as `(sender, highlight)`, for counts
    /// that leave out events the user's reader hides. The sender is `None` for an event
    /// released from quiet hours (its notification is at its release position).
    pub async fn unread_notifications(
        &self,
        user_id: &str,
        room_id: &str,
    ) -> Result<Vec<(Option<String>, i64)>> {
        let sql = AssertSqlSafe(format!(
            "SELECT sender, highlight FROM ({}) unread",
            *UNREAD_IN_ROOM
        ));
        Ok(fetch!(self, fetch_all, sql, [user_id, room_id])?)
    }

    /// `(room_id, notification_count, highlight_count)` of every room where `user_id` has
    /// unread notifications, in one query ([`notification_counts`](Self::notification_counts)
    /// of many rooms at once).
    pub async fn notification_counts_by_room(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, i64, i64)>> {
        let sql = AssertSqlSafe(format!(
            "SELECT room_id, COUNT(*), CAST(COALESCE(SUM(highlight), 0) AS BIGINT)
             FROM ({}) unread GROUP BY room_id",
            *UNREAD_EVERYWHERE
        ));
        Ok(fetch!(self, fetch_all, sql, [user_id])?)
    }

    /// The unread notifying events of a user in every room as `(room_id, sender,
    /// highlight)`, in one query ([`unread_notifications`](Self::unread_notifications) of many
    /// rooms at once).
    pub async fn unread_notifications_by_room(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, Option<String>, i64)>> {
        let sql = AssertSqlSafe(format!(
            "SELECT room_id, sender, highlight FROM ({}) unread",
            *UNREAD_EVERYWHERE
        ));
        Ok(fetch!(self, fetch_all, sql, [user_id])?)
    }

    /// Stores a user's presence (inside the writer's transaction).
    pub async fn put_presence(
        tx: &mut Tx,
        user_id: &str,
        presence: &str,
        status_msg: Option<&str>,
        now: i64,
        pos: i64,
    ) -> Result<()> {
        let sql = "INSERT INTO presence (user_id, presence, status_msg, last_active_ts, stream_pos) VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (user_id) DO UPDATE SET presence = $2, status_msg = $3, last_active_ts = $4, stream_pos = $5";
        execute_tx!(tx, sql, [user_id, presence, status_msg, now, pos])?;
        Ok(())
    }

    /// A user's presence: `(presence, status_msg, last_active_ts, stream_pos)`.
    pub async fn presence(
        &self,
        user_id: &str,
    ) -> Result<Option<(String, Option<String>, i64, i64)>> {
        let sql = "SELECT presence, status_msg, last_active_ts, stream_pos FROM presence WHERE user_id = $1";
        Ok(fetch!(self, fetch_optional, sql, [user_id])?)
    }
}
