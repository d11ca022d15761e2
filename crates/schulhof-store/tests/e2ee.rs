//! Store-level tests of the end-to-end encryption tables on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use common::{fresh_db, member, Engine};
use schulhof_store::{Db, NewToDevice, OneTimeKeyRow};

on_both_engines!(
    one_time_keys_are_claimed_before_the_fallback_key,
    to_device_messages_wait_until_acknowledged,
    device_list_changes_reach_users_sharing_a_room,
);

fn key(id: &str) -> OneTimeKeyRow {
    OneTimeKeyRow {
        key_id: format!("signed_curve25519:{id}"),
        algorithm: "signed_curve25519".into(),
        json: format!("{{\"key\":\"{id}\"}}"),
    }
}

async fn one_time_keys_are_claimed_before_the_fallback_key(engine: Engine) {
    let db = fresh_db(engine).await;
    let (u, d) = ("@a:x", "DEV");
    db.add_one_time_keys(u, d, &[key("A"), key("B")])
        .await
        .unwrap();
    db.add_one_time_keys(u, d, &[key("A")]).await.unwrap();
    db.put_fallback_keys(u, d, &[key("F")]).await.unwrap();
    assert_eq!(
        db.one_time_key_counts(u, d).await.unwrap(),
        vec![("signed_curve25519".to_owned(), 2)]
    );
    assert_eq!(
        db.claim_key(u, d, "signed_curve25519")
            .await
            .unwrap()
            .unwrap()
            .0,
        "signed_curve25519:A"
    );
    assert_eq!(
        db.claim_key(u, d, "signed_curve25519")
            .await
            .unwrap()
            .unwrap()
            .0,
        "signed_curve25519:B"
    );
    assert!(db.one_time_key_counts(u, d).await.unwrap().is_empty());
    assert_eq!(
        db.unused_fallback_key_algorithms(u, d).await.unwrap(),
        vec!["signed_curve25519"]
    );
    assert_eq!(
        db.claim_key(u, d, "signed_curve25519")
            .await
            .unwrap()
            .unwrap()
            .0,
        "signed_curve25519:F"
    );
    assert!(db
        .unused_fallback_key_algorithms(u, d)
        .await
        .unwrap()
        .is_empty());
    // The fallback key is handed out again while it is the only key.
    assert_eq!(
        db.claim_key(u, d, "signed_curve25519")
            .await
            .unwrap()
            .unwrap()
            .0,
        "signed_curve25519:F"
    );
    db.put_fallback_keys(u, d, &[key("F")]).await.unwrap();
    assert!(db
        .unused_fallback_key_algorithms(u, d)
        .await
        .unwrap()
        .is_empty());
    db.put_fallback_keys(u, d, &[key("G")]).await.unwrap();
    assert_eq!(
        db.unused_fallback_key_algorithms(u, d).await.unwrap(),
        vec!["signed_curve25519"]
    );
    assert!(db
        .claim_key(u, "OTHER", "signed_curve25519")
        .await
        .unwrap()
        .is_none());
}

async fn to_device_messages_wait_until_acknowledged(engine: Engine) {
    let db = fresh_db(engine).await;
    for pos in [5, 7] {
        let mut tx = db.begin().await.unwrap();
        assert!(
            Db::remember_to_device_txn(&mut tx, "@s:x", "SDEV", &format!("t{pos}"), 0)
                .await
                .unwrap()
        );
        let message = NewToDevice {
            user_id: "@a:x",
            device_id: "DEV",
            content: "{}",
        };
        Db::insert_to_device(&mut tx, "@s:x", "m.test", &[message], pos)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = db.begin().await.unwrap();
    assert!(
        !Db::remember_to_device_txn(&mut tx, "@s:x", "SDEV", "t5", 0)
            .await
            .unwrap()
    );
    drop(tx);
    let rows = db.to_device_until("@a:x", "DEV", 6).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.stream_pos).collect::<Vec<_>>(),
        vec![5]
    );
    db.delete_to_device("@a:x", "DEV", 5).await.unwrap();
    let rows = db.to_device_until("@a:x", "DEV", 10).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.stream_pos).collect::<Vec<_>>(),
        vec![7]
    );
    assert_eq!(rows[0].event_type, "m.test");
}

async fn change(db: &Db, user: &str, pos: i64) {
    let mut tx = db.begin().await.unwrap();
    Db::insert_device_list_change(&mut tx, user, pos)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn device_list_changes_reach_users_sharing_a_room(engine: Engine) {
    let db = fresh_db(engine).await;
    member(&db, 1, "!r:x", "@a:x", "join").await;
    member(&db, 2, "!r:x", "@b:x", "join").await;
    member(&db, 3, "!other:x", "@c:x", "join").await;
    let mut shared = db.users_sharing_room("@a:x").await.unwrap();
    shared.sort();
    assert_eq!(shared, vec!["@a:x", "@b:x"]);

    change(&db, "@b:x", 10).await;
    change(&db, "@c:x", 11).await;
    change(&db, "@a:x", 12).await;
    let mut changed = db.device_list_changes_since("@a:x", 9, 12).await.unwrap();
    changed.sort();
    assert_eq!(changed, vec!["@a:x", "@b:x"]);
    assert!(db
        .device_list_changes_since("@a:x", 12, 20)
        .await
        .unwrap()
        .is_empty());

    // Carol joins a's room: she newly shares a room with a.
    member(&db, 13, "!r:x", "@c:x", "join").await;
    assert_eq!(
        db.device_list_changes_since("@a:x", 12, 13).await.unwrap(),
        vec!["@c:x"]
    );

    // Bob leaves: a candidate for `left`.
    member(&db, 14, "!r:x", "@b:x", "leave").await;
    assert_eq!(
        db.room_partings_since("@a:x", 13, 14).await.unwrap(),
        vec!["@b:x"]
    );
    assert!(db
        .device_list_changes_since("@a:x", 13, 14)
        .await
        .unwrap()
        .is_empty());
}
