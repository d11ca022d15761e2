//! What the policy engine needs stored: how each room came to be (its creator's role, whether
//! it is a direct chat), content reports, and the newest audit log entries.

use crate::db::AnyRow;
use crate::{execute, execute_tx, fetch, AuditRow, Db, Result, Tx};

/// How a room was created, recorded at creation for the policy decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomOriginRow {
    /// The creator's directory role then (`teacher`, `student`, `parent`, `admin`); `None`: the
    /// creator was not in the school directory.
    pub creator_role: Option<String>,
    /// Created as a direct chat (`is_direct`).
    pub is_direct: bool,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for RoomOriginRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(RoomOriginRow {
            creator_role: row.col(0)?,
            is_direct: row.col::<i64>(1)? != 0,
        })
    }
}

/// A report of an event, a room or a user (`/report`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// When, ms since the epoch.
    pub ts: i64,
    /// The reporting user's ID.
    pub reporter: String,
    /// The room reported, or the room of the reported event.
    pub room_id: Option<String>,
    /// The reported event.
    pub event_id: Option<String>,
    /// The reported user.
    pub user_id: Option<String>,
    /// The reporter's reason (may be empty).
    pub reason: String,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for ReportRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(ReportRow {
            ts: row.col(0)?,
            reporter: row.col(1)?,
            room_id: row.col(2)?,
            event_id: row.col(3)?,
            user_id: row.col(4)?,
            reason: row.col(5)?,
        })
    }
}

impl Db {
    /// Records how a new room was created, inside the transaction that creates it.
    pub async fn insert_room_origin(
        tx: &mut Tx,
        room_id: &str,
        origin: &RoomOriginRow,
    ) -> Result<()> {
        let sql = "INSERT INTO room_origin (room_id, creator_role, is_direct) VALUES ($1, $2, $3)";
        let is_direct = i64::from(origin.is_direct);
        execute_tx!(
            tx,
            sql,
            [room_id, origin.creator_role.as_deref(), is_direct]
        )?;
        Ok(())
    }

    /// How a room was created; `None` for rooms from before this was recorded.
    pub async fn room_origin(&self, room_id: &str) -> Result<Option<RoomOriginRow>> {
        let sql = "SELECT creator_role, is_direct FROM room_origin WHERE room_id = $1";
        Ok(fetch!(self, fetch_optional, sql, [room_id])?)
    }

    /// Points every local alias of room `from` to room `to` (a room upgrade).
    pub async fn move_aliases(&self, from: &str, to: &str) -> Result<()> {
        let sql = "UPDATE room_aliases SET room_id = $1 WHERE room_id = $2";
        execute!(self, sql, [to, from])?;
        Ok(())
    }

    /// Stores a report together with its audit log entry, in one transaction.
    pub async fn insert_report(&self, report: &ReportRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin().await?;
        let sql = "INSERT INTO reports (ts, reporter, room_id, event_id, user_id, reason)
                   VALUES ($1, $2, $3, $4, $5, $6)";
        execute_tx!(
            &mut tx,
            sql,
            [
                report.ts,
                report.reporter.as_str(),
                report.room_id.as_deref(),
                report.event_id.as_deref(),
                report.user_id.as_deref(),
                report.reason.as_str(),
            ]
        )?;
        Db::audit_tx(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await
    }

    /// The newest `limit` reports, newest first.
    pub async fn recent_reports(&self, limit: i64) -> Result<Vec<ReportRow>> {
        let sql = "SELECT ts, reporter, room_id, event_id, user_id, reason FROM reports
                   ORDER BY ts DESC LIMIT $1";
        Ok(fetch!(self, fetch_all, sql, [limit])?)
    }

    /// Appends audit log entries in a transaction of their own.
    pub async fn audit(&self, rows: &[AuditRow]) -> Result<()> {
        let mut tx = self.begin().await?;
        Db::audit_tx(&mut tx, rows).await?;
        tx.commit().await
    }

    /// The newest `limit` audit log entries, newest first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRow>> {
        let sql = "SELECT ts, actor, action, target, detail FROM audit_log
                   ORDER BY ts DESC LIMIT $1";
        let rows: Vec<crate::directory::AuditColumns> = fetch!(self, fetch_all, sql, [limit])?;
        Ok(rows.into_iter().map(AuditRow::from).collect())
    }
}
