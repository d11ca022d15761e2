//! A person's data as a whole: erasing it (retention, `user delete`) and reading it for a
//! data access request (DSGVO Art. 15).

use sqlx::Row;

use crate::{with_db, with_tx, Db, EventRow, MediaRow, Result, Tx};

/// Statements that erase a user's data; `$1` is the user ID.
const ERASE: &[&str] = &[
    "DELETE FROM access_tokens WHERE user_id = $1",
    "DELETE FROM devices WHERE user_id = $1",
    "DELETE FROM device_keys WHERE user_id = $1",
    "DELETE FROM one_time_keys WHERE user_id = $1",
    "DELETE FROM fallback_keys WHERE user_id = $1",
    "DELETE FROM cross_signing_keys WHERE user_id = $1",
    "DELETE FROM key_signatures WHERE target_user_id = $1 OR signer_user_id = $1",
    "DELETE FROM to_device WHERE user_id = $1",
    "DELETE FROM txn_ids WHERE user_id = $1",
    "DELETE FROM account_data WHERE user_id = $1",
    "DELETE FROM receipts WHERE user_id = $1",
    "DELETE FROM filters WHERE user_id = $1",
    "DELETE FROM push_actions WHERE user_id = $1",
    "DELETE FROM push_outbox WHERE user_id = $1",
    "DELETE FROM pushers WHERE user_id = $1",
    "DELETE FROM presence WHERE user_id = $1",
    "DELETE FROM start_codes WHERE user_id = $1",
    "DELETE FROM backup_keys WHERE user_id = $1",
    "DELETE FROM backup_versions WHERE user_id = $1",
    "DELETE FROM media WHERE uploader = $1",
    "DELETE FROM server_notice_rooms WHERE user_id = $1",
    "DELETE FROM notices_sent WHERE user_id = $1",
    "DELETE FROM quiet_hours_personal WHERE user_id = $1",
    // What they scheduled is never sent.
    "DELETE FROM delayed_events WHERE user_id = $1",
    "DELETE FROM quiet_holds WHERE recipient = $1",
    // What they sent and what still waits never arrives: the rows keep it hidden.
    "UPDATE quiet_holds SET status = 'dropped' WHERE sender = $1 AND status = 'held'",
    // The row stays as a tombstone, so the user ID is never given out again.
    "UPDATE users SET password_hash = NULL, displayname = NULL, avatar_url = NULL,
     is_admin = 0, deactivated = 1 WHERE user_id = $1",
];

impl Db {
    /// Erases everything stored about `user_id` except the events they sent, inside the
    /// caller's transaction; the account row stays deactivated and empty. Returns the IDs of
    /// the media they uploaded (their metadata is gone; the caller deletes the files after
    /// commit).
    pub async fn erase_user_tx(tx: &mut Tx, user_id: &str) -> Result<Vec<String>> {
        let sql = "SELECT media_id FROM media WHERE uploader = $1";
        let media: Vec<String> = with_tx!(tx, |c| sqlx::query_scalar(sql)
            .bind(user_id)
            .fetch_all(c)
            .await)?;
        for sql in ERASE {
            with_tx!(tx, |c| sqlx::query(*sql)
                .bind(user_id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(media)
    }

    /// Asks the server to take `user_id` out of all their rooms (done by the running server,
    /// which alone may write room events).
    pub async fn queue_room_leave_tx(tx: &mut Tx, user_id: &str, now: i64) -> Result<()> {
        let sql = "INSERT INTO room_leave_queue (user_id, queued_ts) VALUES ($1, $2)
                   ON CONFLICT (user_id) DO NOTHING";
        with_tx!(tx, |c| sqlx::query(sql)
            .bind(user_id)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Users waiting to be taken out of their rooms.
    pub async fn room_leave_queue(&self) -> Result<Vec<String>> {
        let sql = "SELECT user_id FROM room_leave_queue ORDER BY queued_ts";
        Ok(with_db!(self, |c| sqlx::query_scalar(sql)
            .fetch_all(c)
            .await)?)
    }

    /// Removes a user from the room leave queue.
    pub async fn dequeue_room_leave(&self, user_id: &str) -> Result<()> {
        let sql = "DELETE FROM room_leave_queue WHERE user_id = $1";
        with_db!(self, |c| sqlx::query(sql)
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Every event `user_id` sent, oldest first.
    pub async fn events_sent_by(&self, user_id: &str) -> Result<Vec<EventRow>> {
        let sql = "SELECT stream_pos, event_id, room_id, sender, event_type, state_key, json,
                   txn_device, txn_id FROM events WHERE sender = $1 ORDER BY stream_pos";
        let rows = with_db!(self, |c| {
            let rows = sqlx::query(sql).bind(user_id).fetch_all(c).await?;
            rows.iter()
                .map(|r| -> sqlx::Result<EventRow> {
                    Ok(EventRow {
                        stream_pos: r.try_get(0)?,
                        event_id: r.try_get(1)?,
                        room_id: r.try_get(2)?,
                        sender: r.try_get(3)?,
                        event_type: r.try_get(4)?,
                        state_key: r.try_get(5)?,
                        json: r.try_get(6)?,
                        txn_device: r.try_get(7)?,
                        txn_id: r.try_get(8)?,
                    })
                })
                .collect::<sqlx::Result<Vec<_>>>()
        })?;
        Ok(rows)
    }

    /// Metadata of every file `user_id` uploaded.
    pub async fn media_uploaded_by(&self, user_id: &str) -> Result<Vec<MediaRow>> {
        let sql = "SELECT media_id, content_type, filename, size, uploader FROM media
                   WHERE uploader = $1 ORDER BY created_ts";
        let rows = with_db!(self, |c| {
            let rows = sqlx::query(sql).bind(user_id).fetch_all(c).await?;
            rows.iter()
                .map(|r| -> sqlx::Result<MediaRow> {
                    Ok(MediaRow {
                        media_id: r.try_get(0)?,
                        content_type: r.try_get(1)?,
                        filename: r.try_get(2)?,
                        size: r.try_get(3)?,
                        uploader: r.try_get(4)?,
                    })
                })
                .collect::<sqlx::Result<Vec<_>>>()
        })?;
        Ok(rows)
    }
}
