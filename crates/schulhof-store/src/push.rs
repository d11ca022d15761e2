//! Push notifications: each user's pushers (`pushers`), the outbox of notifications waiting
//! for their push gateway (`push_outbox`), and the list of a user's notifications
//! (`push_actions`, read for `GET /notifications`).
//!
//! An outbox row names one pusher and one notification (the position the user is notified
//! at: the event's own, or its release position after quiet hours). It is written in the
//! transaction that records the notification, for every pusher the user has then, and deleted
//! when the gateway accepted it, the sender gave up, or the pusher went away.

use crate::db::AnyRow;
use crate::{execute, execute_tx, fetch, scalar, with_tx, Db, Result, Tx};

/// Recipients named in one queueing statement (well below both engines' limits on
/// parameters).
const USERS_PER_QUEUE: usize = 500;

/// The columns [`PusherRow`] reads, in its order.
const PUSHER_COLUMNS: &str = "user_id, app_id, pushkey, device_id, kind, app_display_name,
    device_display_name, profile_tag, lang, url, data, pushkey_ts";

/// A registered pusher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PusherRow {
    /// Whose notifications it delivers.
    pub user_id: String,
    /// The app's reverse-DNS identifier.
    pub app_id: String,
    /// The app's address of the device at its push service.
    pub pushkey: String,
    /// The device (access token) that registered it; it goes with the device.
    pub device_id: String,
    /// `http` (the only kind this server accepts).
    pub kind: String,
    /// The app's name, for the user.
    pub app_display_name: String,
    /// The device's name, for the user.
    pub device_display_name: String,
    /// Which set of device-specific rules applies.
    pub profile_tag: Option<String>,
    /// The preferred language of notifications.
    pub lang: String,
    /// The push gateway's notify URL.
    pub url: String,
    /// The pusher's `data` without `url` (JSON text): sent to the gateway as given.
    pub data: String,
    /// When the pushkey was last set (ms since the epoch).
    pub pushkey_ts: i64,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for PusherRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(PusherRow {
            user_id: row.col(0)?,
            app_id: row.col(1)?,
            pushkey: row.col(2)?,
            device_id: row.col(3)?,
            kind: row.col(4)?,
            app_display_name: row.col(5)?,
            device_display_name: row.col(6)?,
            profile_tag: row.col(7)?,
            lang: row.col(8)?,
            url: row.col(9)?,
            data: row.col(10)?,
            pushkey_ts: row.col(11)?,
        })
    }
}

/// One notification waiting for one pusher's gateway, with what the sender needs of the
/// pusher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutboxRow {
    /// The recipient.
    pub user_id: String,
    /// The pusher's app.
    pub app_id: String,
    /// The pusher's key.
    pub pushkey: String,
    /// The position the recipient is notified at (the event's, or its release position).
    pub notify_pos: i64,
    /// The event's own stream position.
    pub event_pos: i64,
    /// The event's room.
    pub room_id: String,
    /// The tweaks of the push rule that matched (JSON object text).
    pub tweaks: String,
    /// Failed deliveries so far.
    pub attempts: i64,
    /// When it was recorded (ms).
    pub created_ts: i64,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for PushOutboxRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(PushOutboxRow {
            user_id: row.col(0)?,
            app_id: row.col(1)?,
            pushkey: row.col(2)?,
            notify_pos: row.col(3)?,
            event_pos: row.col(4)?,
            room_id: row.col(5)?,
            tweaks: row.col(6)?,
            attempts: row.col(7)?,
            created_ts: row.col(8)?,
        })
    }
}

/// One of a user's notifications, for `GET /notifications`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    /// The position the user was notified at (their release position for an event held for
    /// quiet hours); the listing's order and token.
    pub notify_pos: i64,
    /// The event's own stream position.
    pub event_pos: i64,
    /// The room.
    pub room_id: String,
    /// Whether it highlighted.
    pub highlight: bool,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for NotificationRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(NotificationRow {
            notify_pos: row.col(0)?,
            event_pos: row.col(1)?,
            room_id: row.col(2)?,
            highlight: row.col::<i64>(3)? != 0,
        })
    }
}

impl Db {
    /// Creates or updates the pusher `(user_id, app_id, pushkey)`. Unless `append`, the same
    /// app ID and pushkey registered by other users is removed (with their waiting
    /// notifications): the device now belongs to this user.
    pub async fn set_pusher(&self, pusher: &PusherRow, append: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        if !append {
            let others =
                "DELETE FROM push_outbox WHERE app_id = $1 AND pushkey = $2 AND user_id <> $3";
            let pushers =
                "DELETE FROM pushers WHERE app_id = $1 AND pushkey = $2 AND user_id <> $3";
            for sql in [others, pushers] {
                execute_tx!(
                    &mut tx,
                    sql,
                    [
                        pusher.app_id.as_str(),
                        pusher.pushkey.as_str(),
                        pusher.user_id.as_str()
                    ]
                )?;
            }
        }
        let sql = "INSERT INTO pushers (user_id, app_id, pushkey, device_id, kind,
                   app_display_name, device_display_name, profile_tag, lang, url, data, pushkey_ts)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                   ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET device_id = $4, kind = $5,
                   app_display_name = $6, device_display_name = $7, profile_tag = $8, lang = $9,
                   url = $10, data = $11, pushkey_ts = $12";
        execute_tx!(
            &mut tx,
            sql,
            [
                pusher.user_id.as_str(),
                pusher.app_id.as_str(),
                pusher.pushkey.as_str(),
                pusher.device_id.as_str(),
                pusher.kind.as_str(),
                pusher.app_display_name.as_str(),
                pusher.device_display_name.as_str(),
                pusher.profile_tag.as_deref(),
                pusher.lang.as_str(),
                pusher.url.as_str(),
                pusher.data.as_str(),
                pusher.pushkey_ts,
            ]
        )?;
        tx.commit().await
    }

    /// Deletes a user's pusher and its waiting notifications; whether it existed.
    pub async fn delete_pusher(&self, user_id: &str, app_id: &str, pushkey: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let sql = "DELETE FROM push_outbox WHERE user_id = $1 AND app_id = $2 AND pushkey = $3";
        execute_tx!(&mut tx, sql, [user_id, app_id, pushkey])?;
        let sql = "DELETE FROM pushers WHERE user_id = $1 AND app_id = $2 AND pushkey = $3";
        let deleted = execute_tx!(&mut tx, sql, [user_id, app_id, pushkey])?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// Deletes the pushers a device registered, with their waiting notifications, inside the
    /// transaction that deletes the device.
    pub async fn delete_device_pushers(tx: &mut Tx, user_id: &str, device_id: &str) -> Result<()> {
        let sql = "DELETE FROM push_outbox WHERE user_id = $1 AND (app_id, pushkey) IN
                   (SELECT app_id, pushkey FROM pushers WHERE user_id = $1 AND device_id = $2)";
        execute_tx!(tx, sql, [user_id, device_id])?;
        let sql = "DELETE FROM pushers WHERE user_id = $1 AND device_id = $2";
        execute_tx!(tx, sql, [user_id, device_id])?;
        Ok(())
    }

    /// A user's pushers, ordered by app and key.
    pub async fn pushers(&self, user_id: &str) -> Result<Vec<PusherRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PUSHER_COLUMNS} FROM pushers WHERE user_id = $1 ORDER BY app_id, pushkey"
        ));
        Ok(fetch!(self, fetch_all, sql, [user_id])?)
    }

    /// One pusher, if it still exists.
    pub async fn pusher(
        &self,
        user_id: &str,
        app_id: &str,
        pushkey: &str,
    ) -> Result<Option<PusherRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PUSHER_COLUMNS} FROM pushers
             WHERE user_id = $1 AND app_id = $2 AND pushkey = $3"
        ));
        Ok(fetch!(
            self,
            fetch_optional,
            sql,
            [user_id, app_id, pushkey]
        )?)
    }

    /// Queues the notification at `notify_pos` (about the event at `event_pos`) for every
    /// pusher of `user_ids`, with the push rule's `tweaks`, inside the transaction that
    /// records the notifications: one statement for all recipients, so those without pushers
    /// cost nothing more. Returns how many rows were queued.
    pub async fn queue_push(
        tx: &mut Tx,
        user_ids: &[&str],
        room_id: &str,
        (notify_pos, event_pos): (i64, i64),
        tweaks: &str,
        now: i64,
    ) -> Result<u64> {
        let mut queued = 0;
        for users in user_ids.chunks(USERS_PER_QUEUE) {
            let list = (0..users.len())
                .map(|i| format!("${}", i + 6))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO push_outbox (user_id, app_id, pushkey, notify_pos, event_pos,
                 room_id, tweaks, attempts, next_attempt_ts, created_ts)
                 SELECT user_id, app_id, pushkey, $1, $2, $3, $4, 0, $5, $5
                 FROM pushers WHERE user_id IN ({list})"
            );
            queued += with_tx!(&mut *tx, |c| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(notify_pos)
                    .bind(event_pos)
                    .bind(room_id)
                    .bind(tweaks)
                    .bind(now);
                for user in users {
                    query = query.bind(*user);
                }
                query.execute(c).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(queued)
    }

    /// Queues the notifications of the holds released at the positions `first_pos..end_pos`
    /// (those whose event notifies) for every pusher of their recipients, inside the
    /// transaction of the release. Returns how many rows were queued.
    pub async fn queue_released_pushes(
        tx: &mut Tx,
        first_pos: i64,
        end_pos: i64,
        now: i64,
    ) -> Result<u64> {
        let sql = "INSERT INTO push_outbox (user_id, app_id, pushkey, notify_pos, event_pos,
                   room_id, tweaks, attempts, next_attempt_ts, created_ts)
                   SELECT p.user_id, p.app_id, p.pushkey, h.released_pos, h.event_pos, h.room_id,
                   COALESCE(h.push_tweaks, '{}'), 0, $3, $3
                   FROM quiet_holds h JOIN pushers p ON p.user_id = h.recipient
                   WHERE h.released_pos >= $1 AND h.released_pos < $2 AND h.notify = 1";
        Ok(execute_tx!(tx, sql, [first_pos, end_pos, now])?)
    }

    /// Up to `limit` outbox rows due at `now`, oldest notification first.
    pub async fn due_pushes(&self, now: i64, limit: i64) -> Result<Vec<PushOutboxRow>> {
        let sql = "SELECT user_id, app_id, pushkey, notify_pos, event_pos, room_id, tweaks,
                   attempts, created_ts FROM push_outbox WHERE next_attempt_ts <= $1
                   ORDER BY notify_pos, user_id, app_id, pushkey LIMIT $2";
        Ok(fetch!(self, fetch_all, sql, [now, limit])?)
    }

    /// When the next outbox row falls due after `now` (`None`: none waits for a later time).
    pub async fn next_push_due(&self, now: i64) -> Result<Option<i64>> {
        let sql = "SELECT MIN(next_attempt_ts) FROM push_outbox WHERE next_attempt_ts > $1";
        Ok(scalar!(self, fetch_one, sql, [now])?)
    }

    /// Removes a sent (or given up) outbox row.
    pub async fn remove_push(&self, row: &PushOutboxRow) -> Result<()> {
        let sql = "DELETE FROM push_outbox
                   WHERE user_id = $1 AND app_id = $2 AND pushkey = $3 AND notify_pos = $4";
        execute!(
            self,
            sql,
            [
                row.user_id.as_str(),
                row.app_id.as_str(),
                row.pushkey.as_str(),
                row.notify_pos
            ]
        )?;
        Ok(())
    }

    /// Records a failed delivery of `row` (its `attempts`) and holds back every waiting row
    /// of its pusher until `next_attempt_ts`, so later notifications keep their order behind it.
    pub async fn push_failed(
        &self,
        row: &PushOutboxRow,
        attempts: i64,
        next_attempt_ts: i64,
    ) -> Result<()> {
        let sql = "UPDATE push_outbox SET next_attempt_ts = $4,
                   attempts = CASE WHEN notify_pos = $5 THEN $6 ELSE attempts END
                   WHERE user_id = $1 AND app_id = $2 AND pushkey = $3";
        execute!(
            self,
            sql,
            [
                row.user_id.as_str(),
                row.app_id.as_str(),
                row.pushkey.as_str(),
                next_attempt_ts,
                row.notify_pos,
                attempts
            ]
        )?;
        Ok(())
    }

    /// Up to `limit` of a user's notifications notified before `before` (newest first),
    /// only highlights if `only_highlight`. A notification of an event released from quiet
    /// hours names the event's own position.
    pub async fn notifications(
        &self,
        user_id: &str,
        before: i64,
        only_highlight: bool,
        limit: i64,
    ) -> Result<Vec<NotificationRow>> {
        // The room outcomes of the rooms the user is joined to (since their join, not
        // replaced by an exception), and the user's notifying exceptions.
        let sql = "SELECT notify_pos, event_pos, room_id, highlight FROM (
                     SELECT n.stream_pos AS notify_pos, n.stream_pos AS event_pos, n.room_id,
                       n.highlight
                     FROM current_state m JOIN room_notifications n
                       ON n.room_id = m.room_id AND n.stream_pos > m.joined_pos
                     WHERE m.event_type = 'm.room.member' AND m.state_key = $1
                       AND m.membership = 'join' AND n.stream_pos < $2
                       AND (n.highlight = 1 OR $3 = 0)
                       AND NOT EXISTS (SELECT 1 FROM push_actions p WHERE p.user_id = $1
                         AND p.room_id = n.room_id AND p.stream_pos = n.stream_pos)
                     UNION ALL
                     SELECT p.stream_pos, COALESCE(h.event_pos, p.stream_pos), p.room_id,
                       p.highlight
                     FROM push_actions p LEFT JOIN quiet_holds h
                       ON h.recipient = p.user_id AND h.released_pos = p.stream_pos
                     WHERE p.user_id = $1 AND p.notify = 1 AND p.stream_pos < $2
                       AND (p.highlight = 1 OR $3 = 0)
                   ) listed ORDER BY notify_pos DESC LIMIT $4";
        Ok(fetch!(
            self,
            fetch_all,
            sql,
            [user_id, before, i64::from(only_highlight), limit]
        )?)
    }

    /// The position up to which `user_id` has read `room_id` (their newest `m.read` or
    /// `m.read.private` receipt; 0 without one).
    pub async fn read_up_to(&self, user_id: &str, room_id: &str) -> Result<i64> {
        let sql = "SELECT COALESCE(MAX(event_pos), 0) FROM receipts
                   WHERE room_id = $2 AND user_id = $1
                   AND receipt_type IN ('m.read', 'm.read.private')";
        Ok(scalar!(self, fetch_one, sql, [user_id, room_id])?)
    }

    /// A user's waiting outbox rows, oldest notification first.
    pub async fn queued_pushes(&self, user_id: &str) -> Result<Vec<PushOutboxRow>> {
        let sql = "SELECT user_id, app_id, pushkey, notify_pos, event_pos, room_id, tweaks,
                   attempts, created_ts FROM push_outbox WHERE user_id = $1
                   ORDER BY notify_pos, app_id, pushkey";
        Ok(fetch!(self, fetch_all, sql, [user_id])?)
    }
}
