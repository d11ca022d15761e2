//! Quiet hours: events held back from a recipient until their quiet period ends
//! (`quiet_holds`), and the schedules of single people (`quiet_hours_personal`).
//!
//! A hold is one row per recipient and event. Its `status` moves once from `held` to
//! `released` (the event reaches the recipient at `released_pos`, a stream position of its
//! own), `withdrawn` (the event was redacted first) or `dropped` (the sender may no longer
//! reach the recipient). Rows of every status stay: they tell the reader where a recipient
//! sees an event, or that they never see it.

use crate::db::AnyRow;
use crate::{execute_tx, fetch, fetch_tx, scalar, Db, Result, Tx};

/// A hold still waiting: the event stays hidden from the recipient.
pub const HOLD_HELD: &str = "held";
/// A released hold: the recipient sees the event at `released_pos`.
pub const HOLD_RELEASED: &str = "released";
/// A hold whose event was redacted before its release: the recipient never sees it.
pub const HOLD_WITHDRAWN: &str = "withdrawn";
/// A hold dropped at release because the sender may no longer reach the recipient.
pub const HOLD_DROPPED: &str = "dropped";

/// A hold about to be stored.
#[derive(Debug, Clone)]
pub struct NewHold<'a> {
    /// Who does not see the event yet.
    pub recipient: &'a str,
    /// The event's stream position.
    pub event_pos: i64,
    /// Its room.
    pub room_id: &'a str,
    /// Its sender.
    pub sender: &'a str,
    /// When the recipient's quiet period ends (ms since the epoch).
    pub release_ts: i64,
    /// Whether the event notifies the recipient (their push rules at send time).
    pub notify: bool,
    /// Whether it highlights.
    pub highlight: bool,
    /// Whether sender and recipient shared a group of the school directory when it was sent
    /// (if they no longer do at release, it is dropped).
    pub shared_group: bool,
    /// The tweaks of the push rule that matched (JSON object text), sent with the push
    /// notification at release.
    pub push_tweaks: Option<&'a str>,
}

/// One hold of a recipient, as the reader needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    /// The event's stream position.
    pub event_pos: i64,
    /// Its room.
    pub room_id: String,
    /// `held`, `released`, `withdrawn` or `dropped`.
    pub status: String,
    /// Where the recipient sees it, once released.
    pub released_pos: Option<i64>,
    /// When the quiet period ends (ms).
    pub release_ts: i64,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for HoldRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(HoldRow {
            event_pos: row.col(0)?,
            room_id: row.col(1)?,
            status: row.col(2)?,
            released_pos: row.col(3)?,
            release_ts: row.col(4)?,
        })
    }
}

/// Senders, recipients and rooms of the holds due at one instant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DuePair {
    /// The sender of held events.
    pub sender: String,
    /// Their recipient.
    pub recipient: String,
    /// The room.
    pub room_id: String,
    /// How many events of this sender wait for this recipient in this room.
    pub events: i64,
    /// Whether they shared a group of the school directory when any of them was sent.
    pub shared_group: bool,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for DuePair {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(DuePair {
            sender: row.col(0)?,
            recipient: row.col(1)?,
            room_id: row.col(2)?,
            events: row.col(3)?,
            shared_group: row.col::<i64>(4)? != 0,
        })
    }
}

/// A person's own quiet-hours settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalQuietHours {
    /// The user.
    pub user_id: String,
    /// A schedule an admin set for them (TOML of the `[school]` table's form), if any.
    pub schedule: Option<String>,
    /// The begin of their moved window (`HH:MM`), if they moved it.
    pub window_begin: Option<String>,
    /// The end of their moved window.
    pub window_end: Option<String>,
    /// When it last changed (ms).
    pub updated_ts: i64,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for PersonalQuietHours {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(PersonalQuietHours {
            user_id: row.col(0)?,
            schedule: row.col(1)?,
            window_begin: row.col(2)?,
            window_end: row.col(3)?,
            updated_ts: row.col(4)?,
        })
    }
}

impl Db {
    /// Stores a hold (status `held`), inside the transaction of the event it holds.
    pub async fn insert_hold(tx: &mut Tx, hold: &NewHold<'_>) -> Result<()> {
        let sql = "INSERT INTO quiet_holds (recipient, event_pos, room_id, sender, release_ts,
                   status, released_pos, notify, highlight, shared_group, push_tweaks)
                   VALUES ($1, $2, $3, $4, $5, 'held', NULL, $6, $7, $8, $9)";
        execute_tx!(
            tx,
            sql,
            [
                hold.recipient,
                hold.event_pos,
                hold.room_id,
                hold.sender,
                hold.release_ts,
                i64::from(hold.notify),
                i64::from(hold.highlight),
                i64::from(hold.shared_group),
                hold.push_tweaks,
            ]
        )?;
        Ok(())
    }

    /// Withdraws the waiting holds of the event at `event_pos` (it was redacted), and records
    /// the redaction at `redaction_pos` as withdrawn for the same recipients, so they see
    /// neither. Returns those recipients.
    pub async fn withdraw_holds(
        tx: &mut Tx,
        event_pos: i64,
        redaction_pos: i64,
    ) -> Result<Vec<String>> {
        let sql = "UPDATE quiet_holds SET status = 'withdrawn'
                   WHERE event_pos = $1 AND status = 'held' RETURNING recipient";
        let recipients: Vec<(String,)> = fetch_tx!(tx, fetch_all, sql, [event_pos])?;
        let recipients: Vec<String> = recipients.into_iter().map(|(r,)| r).collect();
        for recipient in &recipients {
            let sql = "INSERT INTO quiet_holds (recipient, event_pos, room_id, sender, release_ts,
                       status, released_pos, notify, highlight, shared_group)
                       SELECT recipient, $2, room_id, sender, release_ts, 'withdrawn', NULL, 0, 0, 0
                       FROM quiet_holds WHERE recipient = $1 AND event_pos = $3
                       ON CONFLICT (recipient, event_pos) DO UPDATE SET status = 'withdrawn'";
            execute_tx!(tx, sql, [recipient.as_str(), redaction_pos, event_pos])?;
        }
        Ok(recipients)
    }

    /// Every hold of `recipient`, whatever its status, in stream order.
    pub async fn holds_of(&self, recipient: &str) -> Result<Vec<HoldRow>> {
        let sql = "SELECT event_pos, room_id, status, released_pos, release_ts FROM quiet_holds
                   WHERE recipient = $1 ORDER BY event_pos";
        Ok(fetch!(self, fetch_all, sql, [recipient])?)
    }

    /// `(recipient, room_id, latest release_ts)` of every recipient and room with waiting holds.
    pub async fn waiting_holds(&self) -> Result<Vec<(String, String, i64)>> {
        let sql = "SELECT recipient, room_id, MAX(release_ts) FROM quiet_holds
                   WHERE status = 'held' GROUP BY recipient, room_id";
        Ok(fetch!(self, fetch_all, sql, [])?)
    }

    /// The earliest release time of a waiting hold.
    pub async fn next_release(&self) -> Result<Option<i64>> {
        let sql = "SELECT MIN(release_ts) FROM quiet_holds WHERE status = 'held'";
        Ok(scalar!(self, fetch_one, sql, [])?)
    }

    /// The senders, recipients and rooms of the holds due at `now` (release time reached).
    pub async fn due_pairs(tx: &mut Tx, now: i64) -> Result<Vec<DuePair>> {
        let sql = "SELECT sender, recipient, room_id, COUNT(*), MAX(shared_group) FROM quiet_holds
                   WHERE status = 'held' AND release_ts <= $1
                   GROUP BY sender, recipient, room_id ORDER BY recipient, room_id, sender";
        Ok(fetch_tx!(tx, fetch_all, sql, [now])?)
    }

    /// Drops the due holds of one sender for one recipient in one room.
    pub async fn drop_due(tx: &mut Tx, now: i64, pair: &DuePair) -> Result<u64> {
        let sql = "UPDATE quiet_holds SET status = 'dropped'
                   WHERE status = 'held' AND release_ts <= $1
                   AND sender = $2 AND recipient = $3 AND room_id = $4";
        Ok(execute_tx!(
            tx,
            sql,
            [
                now,
                pair.sender.as_str(),
                pair.recipient.as_str(),
                pair.room_id.as_str()
            ]
        )?)
    }

    /// Releases every hold due at `now`: the `n`-th of them, ordered by recipient and then by
    /// the event's position, gets the position `first_pos + n` (so each recipient gets their
    /// events in the original order), and those that notify get their push action there.
    /// The caller reserved the positions; returns how many were released.
    pub async fn release_due(tx: &mut Tx, now: i64, first_pos: i64) -> Result<u64> {
        let sql = "UPDATE quiet_holds SET status = 'released', released_pos = $2 + due.n - 1
                   FROM (SELECT recipient, event_pos,
                           ROW_NUMBER() OVER (ORDER BY recipient, event_pos) AS n
                         FROM quiet_holds WHERE status = 'held' AND release_ts <= $1) AS due
                   WHERE quiet_holds.recipient = due.recipient
                   AND quiet_holds.event_pos = due.event_pos";
        let released = execute_tx!(tx, sql, [now, first_pos])?;
        let sql = "INSERT INTO push_actions (user_id, room_id, stream_pos, highlight)
                   SELECT recipient, room_id, released_pos, highlight FROM quiet_holds
                   WHERE released_pos >= $1 AND released_pos < $2 AND notify = 1";
        execute_tx!(tx, sql, [first_pos, first_pos + released as i64])?;
        Ok(released)
    }

    /// How many holds are due at `now`.
    pub async fn count_due(tx: &mut Tx, now: i64) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM quiet_holds WHERE status = 'held' AND release_ts <= $1";
        let (count,): (i64,) = fetch_tx!(tx, fetch_one, sql, [now])?;
        Ok(count)
    }

    /// The personal quiet-hours settings of `user_id`, if any.
    pub async fn personal_quiet_hours(&self, user_id: &str) -> Result<Option<PersonalQuietHours>> {
        let sql = "SELECT user_id, schedule, window_begin, window_end, updated_ts
                   FROM quiet_hours_personal WHERE user_id = $1";
        Ok(fetch!(self, fetch_optional, sql, [user_id])?)
    }

    /// Everyone's personal quiet-hours settings.
    pub async fn all_personal_quiet_hours(&self) -> Result<Vec<PersonalQuietHours>> {
        let sql = "SELECT user_id, schedule, window_begin, window_end, updated_ts
                   FROM quiet_hours_personal ORDER BY user_id";
        Ok(fetch!(self, fetch_all, sql, [])?)
    }

    /// The personal quiet-hours settings of `user_id` inside the caller's transaction (to
    /// change them there).
    pub async fn personal_quiet_hours_tx(
        tx: &mut Tx,
        user_id: &str,
    ) -> Result<Option<PersonalQuietHours>> {
        let sql = "SELECT user_id, schedule, window_begin, window_end, updated_ts
                   FROM quiet_hours_personal WHERE user_id = $1";
        Ok(fetch_tx!(tx, fetch_optional, sql, [user_id])?)
    }

    /// Stores a person's settings; a row without schedule and window is deleted.
    pub async fn set_personal_quiet_hours(&self, row: &PersonalQuietHours) -> Result<()> {
        let mut tx = self.begin().await?;
        Db::set_personal_quiet_hours_tx(&mut tx, row).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a person's settings inside the caller's transaction; a row without schedule and
    /// window is deleted.
    pub async fn set_personal_quiet_hours_tx(tx: &mut Tx, row: &PersonalQuietHours) -> Result<()> {
        if row.schedule.is_none() && row.window_begin.is_none() && row.window_end.is_none() {
            execute_tx!(
                tx,
                "DELETE FROM quiet_hours_personal WHERE user_id = $1",
                [row.user_id.as_str()]
            )?;
            return Ok(());
        }
        let sql = "INSERT INTO quiet_hours_personal (user_id, schedule, window_begin, window_end, updated_ts)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (user_id) DO UPDATE SET schedule = $2, window_begin = $3,
                   window_end = $4, updated_ts = $5";
        execute_tx!(
            tx,
            sql,
            [
                row.user_id.as_str(),
                row.schedule.as_deref(),
                row.window_begin.as_deref(),
                row.window_end.as_deref(),
                row.updated_ts
            ]
        )?;
        Ok(())
    }
}
