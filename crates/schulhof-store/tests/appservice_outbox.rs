//! Conformance of the appservice outbox on SQLite and PostgreSQL: rows written with their
//! write's transaction (or not at all), grouped into numbered transactions in order, the same
//! transaction until it is delivered, IDs never reused, appservices kept apart.

#[macro_use]
mod common;

use common::{fresh_db, Engine};
use schulhof_store::{Db, NewOutboxRow, OUTBOX_EPHEMERAL, OUTBOX_EVENT};

on_both_engines!(
    transactions_are_numbered_in_order_and_repeated_until_delivered,
    rows_of_a_rolled_back_write_are_not_there,
    appservices_have_their_own_outboxes_and_numbers,
    every_row_of_a_large_write_is_there,
);

/// Writes one event row for each position in one transaction, as the commit path does.
async fn write(db: &Db, appservice: &str, positions: &[i64]) {
    let json: Vec<String> = positions
        .iter()
        .map(|p| format!(r#"{{"event_id":"$ev{p}"}}"#))
        .collect();
    let rows: Vec<NewOutboxRow> = positions
        .iter()
        .zip(&json)
        .map(|(p, json)| NewOutboxRow {
            appservice_id: appservice,
            stream_pos: *p,
            kind: if *p % 10 == 0 {
                OUTBOX_EPHEMERAL
            } else {
                OUTBOX_EVENT
            },
            json,
        })
        .collect();
    let mut tx = db.begin().await.unwrap();
    Db::insert_appservice_outbox(&mut tx, &rows).await.unwrap();
    tx.commit().await.unwrap();
}

/// The positions of the next transaction and its ID.
async fn next(db: &Db, appservice: &str, limit: i64) -> Option<(i64, Vec<i64>)> {
    db.next_appservice_txn(appservice, limit)
        .await
        .unwrap()
        .map(|t| (t.txn_id, t.rows.iter().map(|r| r.stream_pos).collect()))
}

async fn transactions_are_numbered_in_order_and_repeated_until_delivered(engine: Engine) {
    let db = fresh_db(engine).await;
    assert_eq!(next(&db, "gruppen", 10).await, None, "nothing waits yet");
    write(&db, "gruppen", &[3, 4]).await;
    write(&db, "gruppen", &[7, 10, 12]).await;
    assert_eq!(db.appservice_outbox_len("gruppen").await.unwrap(), 5);

    // At most `limit` rows, oldest first; until delivered the same transaction comes back,
    // even when more rows arrive meanwhile.
    assert_eq!(next(&db, "gruppen", 3).await, Some((1, vec![3, 4, 7])));
    write(&db, "gruppen", &[13]).await;
    assert_eq!(next(&db, "gruppen", 3).await, Some((1, vec![3, 4, 7])));
    let first = db.next_appservice_txn("gruppen", 3).await.unwrap().unwrap();
    assert_eq!(first.rows[0].json, r#"{"event_id":"$ev3"}"#);
    assert_eq!(first.rows[0].kind, OUTBOX_EVENT);

    assert_eq!(db.appservice_txn_delivered("gruppen", 1).await.unwrap(), 3);
    assert_eq!(
        db.appservice_txn_delivered("gruppen", 1).await.unwrap(),
        0,
        "a delivered transaction is gone"
    );
    let second = db.next_appservice_txn("gruppen", 3).await.unwrap().unwrap();
    assert_eq!(second.txn_id, 2);
    assert_eq!(
        second.rows.iter().map(|r| r.stream_pos).collect::<Vec<_>>(),
        [10, 12, 13]
    );
    assert_eq!(second.rows[0].kind, OUTBOX_EPHEMERAL);
    db.appservice_txn_delivered("gruppen", 2).await.unwrap();
    assert_eq!(next(&db, "gruppen", 3).await, None);

    // A later transaction gets a new number even though the outbox was empty.
    write(&db, "gruppen", &[20]).await;
    assert_eq!(next(&db, "gruppen", 3).await, Some((3, vec![20])));
}

async fn rows_of_a_rolled_back_write_are_not_there(engine: Engine) {
    let db = fresh_db(engine).await;
    let mut tx = db.begin().await.unwrap();
    let row = NewOutboxRow {
        appservice_id: "gruppen",
        stream_pos: 5,
        kind: OUTBOX_EVENT,
        json: "{}",
    };
    Db::insert_appservice_outbox(&mut tx, &[row]).await.unwrap();
    drop(tx);
    assert_eq!(db.appservice_outbox_len("gruppen").await.unwrap(), 0);
    assert_eq!(next(&db, "gruppen", 10).await, None);
}

async fn appservices_have_their_own_outboxes_and_numbers(engine: Engine) {
    let db = fresh_db(engine).await;
    write(&db, "gruppen", &[1, 2]).await;
    write(&db, "bruecke", &[2, 3]).await;
    assert_eq!(next(&db, "gruppen", 10).await, Some((1, vec![1, 2])));
    assert_eq!(next(&db, "bruecke", 10).await, Some((1, vec![2, 3])));
    db.appservice_txn_delivered("bruecke", 1).await.unwrap();
    assert_eq!(db.appservice_outbox_len("gruppen").await.unwrap(), 2);
    assert_eq!(db.appservice_outbox_len("bruecke").await.unwrap(), 0);
}

async fn every_row_of_a_large_write_is_there(engine: Engine) {
    let db = fresh_db(engine).await;
    // More rows than one statement carries (a commit of 100 joins).
    let positions: Vec<i64> = (1..=100).collect();
    write(&db, "gruppen", &positions).await;
    assert_eq!(db.appservice_outbox_len("gruppen").await.unwrap(), 100);
    let (txn_id, rows) = next(&db, "gruppen", 500).await.unwrap();
    assert_eq!(txn_id, 1);
    assert_eq!(rows, positions);
}
