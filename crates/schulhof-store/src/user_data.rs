//! Per-user data: account data, receipts, filters, notification counts and presence.

use crate::db::AnyRow;
use crate::{execute_tx, fetch, scalar, scalar_tx, with_tx, Db, Result, Tx};

/// Recipients recorded by one push-action statement (two parameters each, well below both
/// engines' limits on parameters).
const PUSH_ACTIONS_PER_INSERT: usize = 500;

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

    /// Records that the event at `pos` notifies `recipients` (user ID, highlight), inside the
    /// writer's transaction: one statement per [`PUSH_ACTIONS_PER_INSERT`] recipients, as a
    /// message in a room of 1,500 would otherwise cost 1,500 statements.
    pub async fn insert_push_actions(
        tx: &mut Tx,
        room_id: &str,
        pos: i64,
        recipients: &[(&str, bool)],
    ) -> Result<()> {
        for chunk in recipients.chunks(PUSH_ACTIONS_PER_INSERT) {
            let rows = (0..chunk.len())
                .map(|i| format!("(${}, $1, $2, ${})", 2 * i + 3, 2 * i + 4))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO push_actions (user_id, room_id, stream_pos, highlight) VALUES {rows}"
            );
            with_tx!(&mut *tx, |c| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(room_id)
                    .bind(pos);
                for (user, highlight) in chunk {
                    query = query.bind(*user).bind(i64::from(*highlight));
                }
                query.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// `(notification_count, highlight_count)` of a user in a room: notifying events after the
    /// user's newest read receipt.
    pub async fn notification_counts(&self, user_id: &str, room_id: &str) -> Result<(i64, i64)> {
        let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(highlight), 0) AS BIGINT) FROM push_actions
                   WHERE user_id = $1 AND room_id = $2 AND stream_pos > COALESCE(
                     (SELECT MAX(event_pos) FROM receipts WHERE room_id = $2 AND user_id = $1
                      AND receipt_type IN ('m.read', 'm.read.private')), 0)";
        Ok(fetch!(self, fetch_one, sql, [user_id, room_id])?)
    }

    /// The unread notifying events of a user in a room as `(sender, highlight)`, for counts
    /// that leave out events the user's reader hides. The sender is `None` for an event
    /// released from quiet hours (its push action is at its release position).
    pub async fn unread_notifications(
        &self,
        user_id: &str,
        room_id: &str,
    ) -> Result<Vec<(Option<String>, i64)>> {
        let sql = "SELECT e.sender, p.highlight FROM push_actions p
                   LEFT JOIN events e ON e.stream_pos = p.stream_pos
                   WHERE p.user_id = $1 AND p.room_id = $2 AND p.stream_pos > COALESCE(
                     (SELECT MAX(event_pos) FROM receipts WHERE room_id = $2 AND user_id = $1
                      AND receipt_type IN ('m.read', 'm.read.private')), 0)";
        Ok(fetch!(self, fetch_all, sql, [user_id, room_id])?)
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
