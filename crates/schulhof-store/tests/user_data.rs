//! Conformance of accounts and per-user data on SQLite and PostgreSQL: access tokens and
//! devices, account data, receipts with unread counts, filters, presence and the freeze of
//! unauthenticated media.

#[macro_use]
mod common;

use common::{fresh_db, Engine, ANNA, BEN, ROOM};
use schulhof_store::{Db, MediaRow, NewNotifications, StoreError, UserRow};

on_both_engines!(
    an_access_token_stands_for_its_device_until_revoked,
    account_data_is_replaced_and_delivered_once_per_change,
    receipts_only_move_forward_and_clear_unread_counts,
    filters_and_presence,
    notices_are_claimed_once_per_period_and_rooms_remembered,
    the_media_freeze_is_set_once,
    accounts_of_many_people_are_read_at_once,
    the_users_with_stored_push_rules_are_listed,
);

fn account(user_id: &str) -> UserRow {
    UserRow {
        user_id: user_id.into(),
        password_hash: Some("$argon2id$hash".into()),
        displayname: Some("Anna Schmidt".into()),
        avatar_url: None,
        is_admin: false,
        deactivated: false,
    }
}

/// The `(user, device)` a token hash stands for.
async fn holder(db: &Db, token_hash: &str) -> Option<(String, String)> {
    let row = db.token(token_hash).await.unwrap()?;
    Some((row.user_id, row.device_id))
}

async fn an_access_token_stands_for_its_device_until_revoked(engine: Engine) {
    let db = fresh_db(engine).await;
    db.create_user(&account(ANNA), 1).await.unwrap();
    let twice = db.create_user(&account(ANNA), 2).await;
    assert!(matches!(twice, Err(StoreError::Conflict)), "{twice:?}");
    let anna = db.user(ANNA).await.unwrap().unwrap();
    assert_eq!(anna.displayname.as_deref(), Some("Anna Schmidt"));

    let laptop = || Some((ANNA.to_owned(), "LAPTOP".to_owned()));
    db.create_device_with_token(ANNA, "LAPTOP", Some("Laptop"), "hash1", 10)
        .await
        .unwrap();
    assert_eq!(holder(&db, "hash1").await, laptop());
    assert_eq!(holder(&db, "unknown").await, None);

    // Logging in again with the same device ID replaces its token and keeps its name.
    db.create_device_with_token(ANNA, "LAPTOP", None, "hash2", 20)
        .await
        .unwrap();
    assert_eq!(holder(&db, "hash1").await, None);
    assert_eq!(holder(&db, "hash2").await, laptop());
    db.touch_device(ANNA, "LAPTOP", "192.0.2.7", 30)
        .await
        .unwrap();
    db.create_device_with_token(ANNA, "PHONE", Some("Handy"), "hash3", 40)
        .await
        .unwrap();
    let devices = db.devices(ANNA).await.unwrap();
    let listed: Vec<_> = devices
        .iter()
        .map(|d| (&*d.device_id, d.display_name.as_deref(), d.last_seen_ts))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("LAPTOP", Some("Laptop"), Some(30)),
            ("PHONE", Some("Handy"), Some(40))
        ]
    );
    assert_eq!(devices[0].last_seen_ip.as_deref(), Some("192.0.2.7"));

    // A password change signs out every other device.
    db.delete_tokens_except(ANNA, Some("PHONE")).await.unwrap();
    assert_eq!(holder(&db, "hash2").await, None);
    assert!(holder(&db, "hash3").await.is_some());

    // A deactivated account's tokens stop working, and work again when it is reactivated.
    for deactivated in [true, false] {
        let mut tx = db.begin().await.unwrap();
        Db::set_deactivated_tx(&mut tx, ANNA, deactivated)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(holder(&db, "hash3").await.is_some(), !deactivated);
    }

    // Deleting a device takes its token and its keys along.
    db.put_device_keys(ANNA, "PHONE", "{}", false)
        .await
        .unwrap();
    db.delete_devices(ANNA, &["PHONE".to_owned()])
        .await
        .unwrap();
    assert_eq!(holder(&db, "hash3").await, None);
    assert!(db.device_keys(ANNA, "PHONE").await.unwrap().is_none());
    assert_eq!(db.devices(ANNA).await.unwrap().len(), 1);
}

async fn account_data_is_replaced_and_delivered_once_per_change(engine: Engine) {
    let db = fresh_db(engine).await;
    let put = |user: &'static str,
               room: &'static str,
               kind: &'static str,
               content: &'static str,
               pos: i64| {
        let db = &db;
        async move {
            let mut tx = db.begin().await.unwrap();
            Db::put_account_data(&mut tx, user, room, kind, content, pos)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    };
    put(ANNA, "", "m.direct", r#"{"@ben:schule.test":[]}"#, 1).await;
    put(ANNA, ROOM, "m.tag", r#"{"tags":{"m.favourite":{}}}"#, 2).await;
    put(BEN, "", "m.direct", "{}", 3).await;

    let since = |after, until| db.account_data_since(ANNA, after, until);
    let changes = |rows: Vec<schulhof_store::AccountDataRow>| -> Vec<(String, String)> {
        rows.into_iter().map(|r| (r.room_id, r.data_type)).collect()
    };
    assert_eq!(
        changes(since(0, 3).await.unwrap()),
        vec![
            ("".to_owned(), "m.direct".to_owned()),
            (ROOM.to_owned(), "m.tag".to_owned())
        ]
    );
    assert_eq!(
        db.account_data(ANNA, ROOM, "m.tag")
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"tags":{"m.favourite":{}}}"#)
    );
    // Global and room account data of the same type are separate.
    assert!(db
        .account_data(ANNA, ROOM, "m.direct")
        .await
        .unwrap()
        .is_none());

    put(
        ANNA,
        "",
        "m.direct",
        r#"{"@ben:schule.test":["!dm:schule.test"]}"#,
        4,
    )
    .await;
    let newer = since(3, 4).await.unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(
        newer[0].content,
        r#"{"@ben:schule.test":["!dm:schule.test"]}"#
    );
    assert_eq!(
        changes(since(0, 4).await.unwrap()),
        vec![
            (ROOM.to_owned(), "m.tag".to_owned()),
            ("".to_owned(), "m.direct".to_owned())
        ]
    );
    assert!(since(4, 10).await.unwrap().is_empty());
}

async fn receipts_only_move_forward_and_clear_unread_counts(engine: Engine) {
    let db = fresh_db(engine).await;
    let receipt = |kind: &'static str, thread: &'static str, event_pos: i64, pos: i64| {
        let db = &db;
        async move {
            let event_id = format!("$ev{event_pos}");
            let mut tx = db.begin().await.unwrap();
            let moved = Db::put_receipt(
                &mut tx,
                ROOM,
                BEN,
                kind,
                thread,
                &event_id,
                event_pos,
                pos * 1000,
                pos,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            moved
        }
    };
    // Three notifying messages for Ben, the last one mentions him; Anna is notified of one.
    let mut tx = db.begin().await.unwrap();
    for (pos, exceptions) in [
        (4, &[(BEN, Some(false))][..]),
        (6, &[(BEN, Some(false))][..]),
        (9, &[(BEN, Some(true)), (ANNA, Some(false))][..]),
    ] {
        let notifications = NewNotifications {
            room_id: ROOM,
            pos,
            room_outcome: None,
            exceptions,
        };
        Db::insert_notifications(&mut tx, &notifications)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(db.notification_counts(BEN, ROOM).await.unwrap(), (3, 1));

    assert!(receipt("m.read", "", 6, 10).await);
    assert_eq!(db.notification_counts(BEN, ROOM).await.unwrap(), (1, 1));
    // A late receipt for an older event does not move the marker back.
    assert!(!receipt("m.read", "", 4, 11).await);
    assert_eq!(db.notification_counts(BEN, ROOM).await.unwrap(), (1, 1));
    let stored = db.receipts_since(ROOM, 0, 20).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].event_id.as_str(), stored[0].ts),
        ("$ev6", 10_000)
    );

    // Threaded and private receipts are kept apart; a private one also clears the count.
    assert!(receipt("m.read", "$thread", 4, 12).await);
    assert!(receipt("m.read.private", "", 9, 13).await);
    assert_eq!(db.notification_counts(BEN, ROOM).await.unwrap(), (0, 0));
    let mut newer: Vec<(String, String, String)> = db
        .receipts_since(ROOM, 11, 13)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.receipt_type, r.thread_id, r.event_id))
        .collect();
    newer.sort();
    assert_eq!(
        newer,
        vec![
            ("m.read".into(), "$thread".into(), "$ev4".into()),
            ("m.read.private".into(), "".into(), "$ev9".into())
        ]
    );
    assert_eq!(
        db.room_receipt_positions().await.unwrap(),
        vec![(ROOM.to_owned(), 13)]
    );
    // Ben's receipts mark nothing read for Anna.
    assert_eq!(db.notification_counts(ANNA, ROOM).await.unwrap(), (1, 0));
}

async fn filters_and_presence(engine: Engine) {
    let db = fresh_db(engine).await;
    let timeline = r#"{"room":{"timeline":{"limit":10}}}"#;
    assert_eq!(db.create_filter(ANNA, timeline).await.unwrap(), 0);
    assert_eq!(db.create_filter(ANNA, "{}").await.unwrap(), 1);
    assert_eq!(db.create_filter(BEN, "{}").await.unwrap(), 0);
    assert_eq!(db.filter(ANNA, 0).await.unwrap().as_deref(), Some(timeline));
    assert!(db.filter(BEN, 1).await.unwrap().is_none());

    assert!(db.presence(ANNA).await.unwrap().is_none());
    for (presence, status, pos) in [
        ("online", Some("Im Unterricht"), 5),
        ("unavailable", None, 8),
    ] {
        let mut tx = db.begin().await.unwrap();
        Db::put_presence(&mut tx, ANNA, presence, status, pos * 1000, pos)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(
        db.presence(ANNA).await.unwrap(),
        Some(("unavailable".to_owned(), None, 8000, 8))
    );
}

async fn notices_are_claimed_once_per_period_and_rooms_remembered(engine: Engine) {
    let db = fresh_db(engine).await;
    let hour = 3_600_000;
    let claim = |now: i64| db.claim_notice(ANNA, "policy.student_create_room", now, now - hour);
    assert!(claim(10 * hour).await.unwrap(), "the first one is sent");
    assert!(
        !claim(10 * hour + 1).await.unwrap(),
        "a retry within the hour is not"
    );
    assert!(!claim(11 * hour - 1).await.unwrap());
    assert!(claim(11 * hour + 1).await.unwrap(), "after the hour again");
    // Per kind and per person.
    let other_kind = db.claim_notice(ANNA, "policy.join_requires_invite", 11 * hour + 2, 0);
    assert!(other_kind.await.unwrap());
    let other_person = db.claim_notice(BEN, "policy.student_create_room", 11 * hour + 2, 0);
    assert!(other_person.await.unwrap());

    assert_eq!(db.notice_room(ANNA).await.unwrap(), None);
    db.set_notice_room(ANNA, ROOM).await.unwrap();
    assert_eq!(db.notice_room(ANNA).await.unwrap().as_deref(), Some(ROOM));
    db.set_notice_room(ANNA, "!neu:schule.test").await.unwrap();
    assert_eq!(
        db.notice_room(ANNA).await.unwrap().as_deref(),
        Some("!neu:schule.test")
    );
    assert_eq!(db.notice_room(BEN).await.unwrap(), None);
}

async fn the_media_freeze_is_set_once(engine: Engine) {
    let db = fresh_db(engine).await;
    assert_eq!(db.media_freeze(1_000).await.unwrap(), 1_000);
    // Later starts keep the first moment.
    assert_eq!(db.media_freeze(5_000).await.unwrap(), 1_000);
    let file = MediaRow {
        media_id: "A".repeat(24),
        content_type: "text/plain".into(),
        filename: None,
        size: 3,
        uploader: ANNA.into(),
    };
    db.create_media(&file, 2_000).await.unwrap();
    assert_eq!(
        db.media_uploaded_ts(&file.media_id).await.unwrap(),
        Some(2_000)
    );
    assert_eq!(db.media_uploaded_ts("gibtsnicht").await.unwrap(), None);
}

async fn accounts_of_many_people_are_read_at_once(engine: Engine) {
    let db = fresh_db(engine).await;
    // More people than one statement asks for; every tenth has no account.
    let ids: Vec<String> = (0..100).map(|i| format!("@kind{i}:schule.test")).collect();
    for id in ids.iter().filter(|id| !id.ends_with("0:schule.test")) {
        db.create_user(&account(id), 1).await.unwrap();
    }
    let asked: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut found: Vec<String> = db
        .users(&asked)
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            assert_eq!(row.displayname.as_deref(), Some("Anna Schmidt"));
            row.user_id
        })
        .collect();
    found.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .filter(|id| !id.ends_with("0:schule.test"))
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(found, expected);
    assert!(db.users(&[]).await.unwrap().is_empty());
}

async fn the_users_with_stored_push_rules_are_listed(engine: Engine) {
    let db = fresh_db(engine).await;
    let mut tx = db.begin().await.unwrap();
    Db::put_account_data(&mut tx, ANNA, "", "m.push_rules", "{}", 1)
        .await
        .unwrap();
    // Per room, or of another type: not push rules.
    Db::put_account_data(&mut tx, BEN, ROOM, "m.push_rules", "{}", 2)
        .await
        .unwrap();
    Db::put_account_data(&mut tx, BEN, "", "m.direct", "{}", 3)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        db.users_with_account_data("m.push_rules").await.unwrap(),
        vec![ANNA.to_owned()]
    );
}
