//! The appservice outbox (`appservice_outbox`, `appservice_txns`): events and ephemeral data
//! waiting to be pushed to a registered application service.
//!
//! Rows are written by the commit path inside the transaction of the write they come from
//! ([`Db::insert_appservice_outbox`]), keyed by `(appservice, stream position)`, so they
//! commit in position order. The sender takes the oldest rows as one transaction
//! ([`Db::next_appservice_txn`]): the first call numbers them with a new transaction ID,
//! later calls return the same transaction until [`Db::appservice_txn_delivered`] deletes its
//! rows. So a transaction is retried with the same ID until the appservice accepts it, and
//! nothing is lost or reordered across restarts.

use crate::db::AnyRow;
use crate::{batch, execute, execute_tx, fetch_tx, scalar, scalar_tx, with_tx, Db, Result, Tx};

/// An event of the rooms an appservice is interested in (`events` of a transaction).
pub const OUTBOX_EVENT: &str = "event";
/// Ephemeral data (`ephemeral` of a transaction: receipts, typing).
pub const OUTBOX_EPHEMERAL: &str = "ephemeral";

/// A row about to be written.
#[derive(Debug, Clone)]
pub struct NewOutboxRow<'a> {
    /// The appservice's registration ID.
    pub appservice_id: &'a str,
    /// The stream position of the write the row comes from.
    pub stream_pos: i64,
    /// [`OUTBOX_EVENT`] or [`OUTBOX_EPHEMERAL`].
    pub kind: &'a str,
    /// The event as the appservice receives it (JSON text, client format).
    pub json: &'a str,
}

/// A stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppserviceOutboxRow {
    /// Its stream position.
    pub stream_pos: i64,
    /// [`OUTBOX_EVENT`] or [`OUTBOX_EPHEMERAL`].
    pub kind: String,
    /// The event (JSON text).
    pub json: String,
}

impl<R: AnyRow> sqlx::FromRow<'_, R> for AppserviceOutboxRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(AppserviceOutboxRow {
            stream_pos: row.col(0)?,
            kind: row.col(1)?,
            json: row.col(2)?,
        })
    }
}

/// A transaction to push: its ID and its rows, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxTxn {
    /// The transaction ID (per appservice, counted from 1, never reused).
    pub txn_id: i64,
    /// What it carries.
    pub rows: Vec<AppserviceOutboxRow>,
}

impl Db {
    /// Writes outbox rows inside the transaction of the write they come from.
    pub async fn insert_appservice_outbox(tx: &mut Tx, rows: &[NewOutboxRow<'_>]) -> Result<()> {
        for chunk in batch::chunks(rows) {
            let sql = format!(
                "INSERT INTO appservice_outbox (appservice_id, stream_pos, kind, json) VALUES {}",
                batch::values(chunk.len(), 4, 1)
            );
            with_tx!(&mut *tx, |c| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for row in chunk {
                    query = query
                        .bind(row.appservice_id)
                        .bind(row.stream_pos)
                        .bind(row.kind)
                        .bind(row.json);
                }
                query.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The transaction to push to `appservice_id` next: the one numbered earlier and not yet
    /// delivered, else up to `limit` of the oldest waiting rows numbered as a new one; `None`
    /// when nothing waits.
    pub async fn next_appservice_txn(
        &self,
        appservice_id: &str,
        limit: i64,
    ) -> Result<Option<OutboxTxn>> {
        let mut tx = self.begin().await?;
        let pending: Option<i64> = scalar_tx!(
            &mut tx,
            fetch_one,
            "SELECT MIN(txn_id) FROM appservice_outbox WHERE appservice_id = $1",
            [appservice_id]
        )?;
        let txn_id = match pending {
            Some(txn_id) => txn_id,
            None => {
                let last: Option<i64> = scalar_tx!(
                    &mut tx,
                    fetch_optional,
                    "SELECT stream_pos FROM appservice_outbox
                     WHERE appservice_id = $1 AND txn_id IS NULL
                     ORDER BY stream_pos LIMIT 1 OFFSET $2",
                    [appservice_id, limit - 1]
                )?;
                let newest_waiting: Option<i64> = scalar_tx!(
                    &mut tx,
                    fetch_one,
                    "SELECT MAX(stream_pos) FROM appservice_outbox
                     WHERE appservice_id = $1 AND txn_id IS NULL",
                    [appservice_id]
                )?;
                let Some(up_to) = last.or(newest_waiting) else {
                    return Ok(None);
                };
                let txn_id: i64 = scalar_tx!(
                    &mut tx,
                    fetch_one,
                    "INSERT INTO appservice_txns (appservice_id, last_txn_id) VALUES ($1, 1)
                     ON CONFLICT (appservice_id)
                     DO UPDATE SET last_txn_id = appservice_txns.last_txn_id + 1
                     RETURNING last_txn_id",
                    [appservice_id]
                )?;
                execute_tx!(
                    &mut tx,
                    "UPDATE appservice_outbox SET txn_id = $2
                     WHERE appservice_id = $1 AND txn_id IS NULL AND stream_pos <= $3",
                    [appservice_id, txn_id, up_to]
                )?;
                txn_id
            }
        };
        let rows: Vec<AppserviceOutboxRow> = fetch_tx!(
            &mut tx,
            fetch_all,
            "SELECT stream_pos, kind, json FROM appservice_outbox
             WHERE appservice_id = $1 AND txn_id = $2 ORDER BY stream_pos",
            [appservice_id, txn_id]
        )?;
        tx.commit().await?;
        Ok(Some(OutboxTxn { txn_id, rows }))
    }

    /// Deletes the rows of a transaction the appservice accepted; returns how many.
    pub async fn appservice_txn_delivered(&self, appservice_id: &str, txn_id: i64) -> Result<u64> {
        let sql = "DELETE FROM appservice_outbox WHERE appservice_id = $1 AND txn_id = $2";
        Ok(execute!(self, sql, [appservice_id, txn_id])?)
    }

    /// How many rows wait for `appservice_id` (numbered or not).
    pub async fn appservice_outbox_len(&self, appservice_id: &str) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM appservice_outbox WHERE appservice_id = $1";
        Ok(scalar!(self, fetch_one, sql, [appservice_id])?)
    }
}
