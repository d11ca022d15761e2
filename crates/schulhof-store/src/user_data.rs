//! Per-user data: account data, receipts, filters, notification counts and presence.

use sqlx::Row;

use crate::{with_db, with_tx, Db, Result, Tx};

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
        with_tx!(tx, |c| sqlx::query(sql)
            .bind(user_id)
            .bind(room_id)
            .bind(data_type)
            .bind(content)
            .bind(pos)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
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
        Ok(with_db!(self, |c| sqlx::query_scalar(sql)
            .bind(user_id)
            .bind(room_id)
            .bind(data_type)
            .fetch_optional(c)
            .await)?)
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
        let rows = with_db!(self, |c| {
            let rows = sqlx::query(sql)
                .bind(user_id)
                .bind(after)
                .bind(until)
                .fetch_all(c)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(AccountDataRow {
                        room_id: r.try_get(0)?,
                        data_type: r.try_get(1)?,
                        content: r.try_get(2)?,
                    })
                })
                .collect::<sqlx::Result<Vec<_>>>()
        })?;
        Ok(rows)
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
        let done = with_tx!(tx, |c| sqlx::query(sql)
            .bind(room_id)
            .bind(user_id)
            .bind(receipt_type)
            .bind(thread_id)
            .bind(event_id)
            .bind(event_pos)
            .bind(ts)
            .bind(pos)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
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
        let rows = with_db!(self, |c| {
            let rows = sqlx::query(sql)
                .bind(room_id)
                .bind(after)
                .bind(until)
                .fetch_all(c)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(ReceiptRow {
                        user_id: r.try_get(0)?,
                        receipt_type: r.try_get(1)?,
                        thread_id: r.try_get(2)?,
                        event_id: r.try_get(3)?,
                        ts: r.try_get(4)?,
                    })
                })
                .collect::<sqlx::Result<Vec<_>>>()
        })?;
        Ok(rows)
    }

    /// Stream position of the newest receipt of a room (0 if none).
    pub async fn room_receipt_positions(&self) -> Result<Vec<(String, i64)>> {
        let sql = "SELECT room_id, MAX(stream_pos) FROM receipts GROUP BY room_id";
        let rows = with_db!(self, |c| {
            let rows = sqlx::query(sql).fetch_all(c).await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<sqlx::Result<Vec<_>>>()
        })?;
        Ok(rows)
    }

    /// Stores a filter and returns its ID.
    pub async fn create_filter(&self, user_id: &str, json: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let next: i64 = with_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT COALESCE(MAX(filter_id), -1) + 1 FROM filters WHERE user_id = $1"
        )
        .bind(user_id)
        .fetch_one(c)
        .await)?;
        with_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO filters (user_id, filter_id, json) VALUES ($1, $2, $3)"
        )
        .bind(user_id)
        .bind(next)
        .bind(json)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(next)
    }

    /// A stored filter.
    pub async fn filter(&self, user_id: &str, filter_id: i64) -> Result<Option<String>> {
        let sql = "SELECT json FROM filters WHERE user_id = $1 AND filter_id = $2";
        Ok(with_db!(self, |c| sqlx::query_scalar(sql)
            .bind(user_id)
            .bind(filter_id)
            .fetch_optional(c)
            .await)?)
    }

    /// Records that an event notifies a user (inside the writer's transaction).
    pub async fn insert_push_action(
        tx: &mut Tx,
        user_id: &str,
        room_id: &str,
        pos: i64,
        highlight: bool,
    ) -> Result<()> {
        let sql = "INSERT INTO push_actions (user_id, room_id, stream_pos, highlight) VALUES ($1, $2, $3, $4)";
        with_tx!(tx, |c| sqlx::query(sql)
            .bind(user_id)
            .bind(room_id)
            .bind(pos)
            .bind(i64::from(highlight))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// `(notification_count, highlight_count)` of a user in a room: notifying events after the
    /// user's newest read receipt.
    pub async fn notification_counts(&self, user_id: &str, room_id: &str) -> Result<(i64, i64)> {
        let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(highlight), 0) AS BIGINT) FROM push_actions
                   WHERE user_id = $1 AND room_id = $2 AND stream_pos > COALESCE(
                     (SELECT MAX(event_pos) FROM receipts WHERE room_id = $2 AND user_id = $1
                      AND receipt_type IN ('m.read', 'm.read.private')), 0)";
        let row = with_db!(self, |c| {
            let r = sqlx::query(sql)
                .bind(user_id)
                .bind(room_id)
                .fetch_one(c)
                .await?;
            Ok::<_, sqlx::Error>((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))
        })?;
        Ok(row)
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
        with_tx!(tx, |c| sqlx::query(sql)
            .bind(user_id)
            .bind(presence)
            .bind(status_msg)
            .bind(now)
            .bind(pos)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A user's presence: `(presence, status_msg, last_active_ts, stream_pos)`.
    pub async fn presence(
        &self,
        user_id: &str,
    ) -> Result<Option<(String, Option<String>, i64, i64)>> {
        let sql = "SELECT presence, status_msg, last_active_ts, stream_pos FROM presence WHERE user_id = $1";
        let row = with_db!(self, |c| {
            let row = sqlx::query(sql).bind(user_id).fetch_optional(c).await?;
            row.map(|r| {
                Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
            })
            .transpose()
        })?;
        Ok(row)
    }
}
