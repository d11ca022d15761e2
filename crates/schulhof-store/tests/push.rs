//! Conformance of pushers and the push outbox on SQLite and PostgreSQL: pushers are set,
//! replaced, moved between users unless appended, and deleted with their device, their
//! sessions or their person; notifications are queued for every pusher of their recipient in the transaction
//! that records them (also at a quiet-hours release), retried with backoff in order and
//! removed; `GET /notifications` reads them newest first, at release positions too.

#[macro_use]
mod common;

use common::{fresh_db, member, store_event, Engine, ANNA, BEN, ROOM};
use schulhof_store::{Db, NewHold, NewNotifications, PushOutboxRow, PusherRow};

on_both_engines!(
    pushers_are_set_replaced_moved_and_deleted,
    notifications_are_queued_for_every_pusher_and_retried_in_order,
    released_holds_queue_their_notifications,
    pushers_go_with_their_device_and_their_person,
    notifications_are_listed_newest_first,
    a_rooms_outcome_counts_for_the_members_joined_at_the_event,
);

const APP: &str = "de.schule.app.android";

fn pusher(user_id: &str, pushkey: &str, device_id: &str) -> PusherRow {
    PusherRow {
        user_id: user_id.into(),
        app_id: APP.into(),
        pushkey: pushkey.into(),
        device_id: device_id.into(),
        kind: "http".into(),
        app_display_name: "Schul-App".into(),
        device_display_name: "Telefon".into(),
        profile_tag: None,
        lang: "de".into(),
        url: "https://push.schule.test/_matrix/push/v1/notify".into(),
        data: r#"{"format":"event_id_only"}"#.into(),
        pushkey_ts: 1_000,
    }
}

async fn queue(db: &Db, user: &str, pos: i64, now: i64) -> u64 {
    let mut tx = db.begin().await.unwrap();
    let queued = Db::queue_push(
        &mut tx,
        &[user],
        ROOM,
        (pos, pos),
        r#"{"sound":"default"}"#,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    queued
}

fn keys(rows: &[PushOutboxRow]) -> Vec<(&str, i64, i64)> {
    rows.iter()
        .map(|r| (r.pushkey.as_str(), r.notify_pos, r.attempts))
        .collect()
}

async fn pushers_are_set_replaced_moved_and_deleted(engine: Engine) {
    let db = fresh_db(engine).await;
    db.set_pusher(&pusher(ANNA, "k1", "PHONE"), false)
        .await
        .unwrap();
    let mut changed = pusher(ANNA, "k1", "PHONE");
    changed.lang = "en".into();
    changed.profile_tag = Some("tag".into());
    db.set_pusher(&changed, false).await.unwrap();
    assert_eq!(db.pushers(ANNA).await.unwrap(), vec![changed.clone()]);
    assert_eq!(
        db.pusher(ANNA, APP, "k1").await.unwrap(),
        Some(changed.clone())
    );

    // The same device key appended for Ben: both have it; without append it moves to Ben.
    db.set_pusher(&pusher(BEN, "k1", "TABLET"), true)
        .await
        .unwrap();
    assert_eq!(db.pushers(ANNA).await.unwrap().len(), 1);
    assert_eq!(queue(&db, ANNA, 5, 0).await, 1);
    db.set_pusher(&pusher(BEN, "k1", "TABLET"), false)
        .await
        .unwrap();
    assert!(db.pushers(ANNA).await.unwrap().is_empty());
    assert!(
        db.queued_pushes(ANNA).await.unwrap().is_empty(),
        "waiting notifications of the old owner went with the pusher"
    );
    assert_eq!(db.pushers(BEN).await.unwrap().len(), 1);

    assert!(db.delete_pusher(BEN, APP, "k1").await.unwrap());
    assert!(!db.delete_pusher(BEN, APP, "k1").await.unwrap());
    assert!(db.pushers(BEN).await.unwrap().is_empty());
}

async fn notifications_are_queued_for_every_pusher_and_retried_in_order(engine: Engine) {
    let db = fresh_db(engine).await;
    assert_eq!(queue(&db, ANNA, 1, 100).await, 0, "no pusher, no row");
    assert_eq!(db.next_push_due(0).await.unwrap(), None);
    for key in ["k1", "k2"] {
        db.set_pusher(&pusher(ANNA, key, "PHONE"), false)
            .await
            .unwrap();
    }
    db.set_pusher(&pusher(BEN, "kb", "TABLET"), false)
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    let users = [ANNA, "@niemand:schule.test", BEN];
    assert_eq!(
        Db::queue_push(&mut tx, &users, ROOM, (1, 1), "{}", 50)
            .await
            .unwrap(),
        3,
        "every pusher of every recipient, in one statement"
    );
    drop(tx);
    assert_eq!(queue(&db, ANNA, 2, 100).await, 2);
    assert_eq!(queue(&db, ANNA, 3, 100).await, 2);
    assert_eq!(db.next_push_due(99).await.unwrap(), Some(100));
    assert_eq!(
        db.next_push_due(100).await.unwrap(),
        None,
        "due now, not later"
    );
    let due = db.due_pushes(100, 10).await.unwrap();
    assert_eq!(
        keys(&due),
        [("k1", 2, 0), ("k2", 2, 0), ("k1", 3, 0), ("k2", 3, 0)]
    );
    assert_eq!(due[0].tweaks, r#"{"sound":"default"}"#);
    assert_eq!((due[0].event_pos, due[0].room_id.as_str()), (2, ROOM));
    assert!(db.due_pushes(99, 10).await.unwrap().is_empty());
    assert_eq!(db.due_pushes(100, 1).await.unwrap().len(), 1);

    // k1's gateway fails: both of its rows wait, k2's do not.
    db.push_failed(&due[0], 1, 300).await.unwrap();
    assert_eq!(
        keys(&db.due_pushes(200, 10).await.unwrap()),
        [("k2", 2, 0), ("k2", 3, 0)]
    );
    db.remove_push(&due[1]).await.unwrap();
    db.remove_push(&due[3]).await.unwrap();
    assert_eq!(db.next_push_due(200).await.unwrap(), Some(300));
    assert_eq!(
        keys(&db.due_pushes(300, 10).await.unwrap()),
        [("k1", 2, 1), ("k1", 3, 0)]
    );
    assert_eq!(db.queued_pushes(ANNA).await.unwrap().len(), 2);
}

async fn released_holds_queue_their_notifications(engine: Engine) {
    let db = fresh_db(engine).await;
    db.set_pusher(&pusher(ANNA, "k1", "PHONE"), false)
        .await
        .unwrap();
    for pos in 1..=2 {
        store_event(&db, pos, ROOM, BEN, "m.room.message", None, "{}").await;
    }
    let mut tx = db.begin().await.unwrap();
    for (pos, notify) in [(1, true), (2, false)] {
        let hold = NewHold {
            recipient: ANNA,
            event_pos: pos,
            room_id: ROOM,
            sender: BEN,
            release_ts: 500,
            notify,
            highlight: false,
            shared_group: false,
            push_tweaks: notify.then_some(r#"{"sound":"default"}"#),
        };
        Db::insert_hold(&mut tx, &hold).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert!(db.queued_pushes(ANNA).await.unwrap().is_empty(), "held");

    let mut tx = db.begin().await.unwrap();
    let released = Db::release_due(&mut tx, 500, 10).await.unwrap();
    assert_eq!(released, 2);
    let queued = Db::queue_released_pushes(&mut tx, 10, 12, 500)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(queued, 1, "only the notifying event");
    let rows = db.queued_pushes(ANNA).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.notify_pos, r.event_pos, r.tweaks.as_str()))
            .collect::<Vec<_>>(),
        [(10, 1, r#"{"sound":"default"}"#)]
    );
    assert_eq!(rows[0].created_ts, 500);
}

async fn pushers_go_with_their_device_and_their_person(engine: Engine) {
    let db = fresh_db(engine).await;
    db.set_pusher(&pusher(ANNA, "k1", "PHONE"), false)
        .await
        .unwrap();
    db.set_pusher(&pusher(ANNA, "k2", "TABLET"), false)
        .await
        .unwrap();
    queue(&db, ANNA, 1, 0).await;
    db.delete_devices(ANNA, &["PHONE".to_owned()])
        .await
        .unwrap();
    let left: Vec<String> = db
        .pushers(ANNA)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.pushkey)
        .collect();
    assert_eq!(left, ["k2"]);
    assert_eq!(keys(&db.queued_pushes(ANNA).await.unwrap()), [("k2", 1, 0)]);

    // Revoking her sessions (locked account) takes the pushers with the tokens.
    let mut tx = db.begin().await.unwrap();
    Db::revoke_sessions_tx(&mut tx, ANNA).await.unwrap();
    tx.commit().await.unwrap();
    assert!(db.pushers(ANNA).await.unwrap().is_empty());
    assert!(db.queued_pushes(ANNA).await.unwrap().is_empty());

    db.set_pusher(&pusher(ANNA, "k3", "LAPTOP"), false)
        .await
        .unwrap();
    queue(&db, ANNA, 2, 0).await;
    let mut tx = db.begin().await.unwrap();
    Db::erase_user_tx(&mut tx, ANNA).await.unwrap();
    tx.commit().await.unwrap();
    assert!(db.pushers(ANNA).await.unwrap().is_empty());
    assert!(db.queued_pushes(ANNA).await.unwrap().is_empty());
}

async fn notifications_are_listed_newest_first(engine: Engine) {
    let db = fresh_db(engine).await;
    for pos in 1..=3 {
        store_event(&db, pos, ROOM, BEN, "m.room.message", None, "{}").await;
    }
    let mut tx = db.begin().await.unwrap();
    for (pos, highlight) in [(1, false), (2, true)] {
        let notifications = NewNotifications {
            room_id: ROOM,
            pos,
            room_outcome: None,
            exceptions: &[(ANNA, Some(highlight))],
        };
        Db::insert_notifications(&mut tx, &notifications)
            .await
            .unwrap();
    }
    let hold = NewHold {
        recipient: ANNA,
        event_pos: 3,
        room_id: ROOM,
        sender: BEN,
        release_ts: 50,
        notify: true,
        highlight: false,
        shared_group: false,
        push_tweaks: None,
    };
    Db::insert_hold(&mut tx, &hold).await.unwrap();
    Db::release_due(&mut tx, 50, 7).await.unwrap();
    tx.commit().await.unwrap();

    let list = |before, only_highlight, limit| {
        let db = &db;
        async move {
            db.notifications(ANNA, before, only_highlight, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|n| (n.notify_pos, n.event_pos, n.highlight))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(i64::MAX, false, 10).await,
        [(7, 3, false), (2, 2, true), (1, 1, false)]
    );
    assert_eq!(list(7, false, 1).await, [(2, 2, true)]);
    assert_eq!(list(i64::MAX, true, 10).await, [(2, 2, true)]);
    assert_eq!(db.notification_counts(ANNA, ROOM).await.unwrap(), (3, 1));
    assert_eq!(
        db.notification_counts_by_room(ANNA).await.unwrap(),
        [(ROOM.to_owned(), 3, 1)]
    );
    assert_eq!(db.read_up_to(ANNA, ROOM).await.unwrap(), 0);
    let mut tx = db.begin().await.unwrap();
    Db::put_receipt(&mut tx, ROOM, ANNA, "m.read", "", "$ev2", 2, 0, 8)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.read_up_to(ANNA, ROOM).await.unwrap(), 2);
    assert_eq!(
        db.notification_counts(ANNA, ROOM).await.unwrap(),
        (1, 0),
        "only the released one is after her receipt"
    );
    assert_eq!(
        db.notification_counts_by_room(ANNA).await.unwrap(),
        [(ROOM.to_owned(), 1, 0)]
    );
    assert!(db
        .notifications(BEN, i64::MAX, false, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn a_rooms_outcome_counts_for_the_members_joined_at_the_event(engine: Engine) {
    const CARLA: &str = "@carla:schule.test";
    const DORA: &str = "@dora:schule.test";
    let db = fresh_db(engine).await;
    let notify = |pos: i64, sender: &'static str, exceptions: Vec<(String, Option<bool>)>| {
        let db = &db;
        async move {
            store_event(db, pos, ROOM, sender, "m.room.message", None, "{}").await;
            // As the server records it: the sender is an exception of the room's outcome.
            let exceptions: Vec<(&str, Option<bool>)> = exceptions
                .iter()
                .map(|(u, o)| (u.as_str(), *o))
                .chain([(sender, None)])
                .collect();
            let mut tx = db.begin().await.unwrap();
            let notifications = NewNotifications {
                room_id: ROOM,
                pos,
                room_outcome: Some(false),
                exceptions: &exceptions,
            };
            Db::insert_notifications(&mut tx, &notifications)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    };
    let counts = |user: &'static str| {
        let db = &db;
        async move { db.notification_counts(user, ROOM).await.unwrap() }
    };
    for (pos, user) in [(1, ANNA), (2, BEN), (3, CARLA)] {
        member(&db, pos, ROOM, user, "join").await;
    }
    // Anna writes and mentions Ben: the sender is not notified, Ben with a highlight.
    notify(4, ANNA, vec![(BEN.into(), Some(true))]).await;
    // Ben writes; Carla has muted the room.
    notify(5, BEN, vec![(CARLA.into(), None)]).await;
    assert_eq!(counts(ANNA).await, (1, 0));
    assert_eq!(counts(BEN).await, (1, 1));
    assert_eq!(counts(CARLA).await, (1, 0));
    // Dora joins later: older messages do not count for her; a member who is not joined has
    // no count from the room's outcomes.
    member(&db, 6, ROOM, DORA, "join").await;
    assert_eq!(counts(DORA).await, (0, 0));
    // A new display name is a member event but not a new join: Carla keeps her count.
    let renamed = r#"{"membership":"join","displayname":"Carla K."}"#;
    store_event(&db, 7, ROOM, CARLA, "m.room.member", Some(CARLA), renamed).await;
    assert_eq!(counts(CARLA).await, (1, 0));
    // Ben leaves and comes back: the room's outcomes count from his new join; his own
    // exceptions (the mention) stay.
    member(&db, 8, ROOM, BEN, "leave").await;
    assert_eq!(counts(BEN).await, (1, 1));
    member(&db, 9, ROOM, BEN, "join").await;
    // More exceptions than one statement takes are all recorded.
    let mut exceptions: Vec<(String, Option<bool>)> = (0..700)
        .map(|i| (format!("@muted{i}:schule.test"), None))
        .collect();
    exceptions.push((DORA.into(), Some(true)));
    notify(10, ANNA, exceptions).await;
    assert_eq!(counts(BEN).await, (2, 1));
    assert_eq!(counts(CARLA).await, (2, 0));
    assert_eq!(counts(DORA).await, (1, 1));
    // The one query of all rooms counts the same, room by room.
    for (user, notifications, highlights) in [(BEN, 2, 1), (CARLA, 2, 0), (DORA, 1, 1)] {
        assert_eq!(
            db.notification_counts_by_room(user).await.unwrap(),
            [(ROOM.to_owned(), notifications, highlights)],
            "{user}"
        );
    }
    let mut tx = db.begin().await.unwrap();
    Db::insert_notifications(
        &mut tx,
        &NewNotifications {
            room_id: ROOM,
            pos: 11,
            room_outcome: None,
            exceptions: &[],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut unread = db.unread_notifications(BEN, ROOM).await.unwrap();
    unread.sort();
    assert_eq!(
        unread,
        [(Some(ANNA.to_owned()), 0), (Some(ANNA.to_owned()), 1)],
        "the room's outcome since his join, and his mention"
    );
    // The listing: Carla's are the room's outcomes since her join but for the muted one.
    let listed = |user: &'static str| {
        let db = &db;
        async move {
            db.notifications(user, i64::MAX, false, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|n| (n.notify_pos, n.highlight))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(CARLA).await, [(10, false), (4, false)]);
    assert_eq!(listed(DORA).await, [(10, true)]);
    // A read receipt clears what it covers.
    let mut tx = db.begin().await.unwrap();
    Db::put_receipt(&mut tx, ROOM, CARLA, "m.read", "", "$ev5", 5, 0, 12)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(counts(CARLA).await, (1, 0));
}
