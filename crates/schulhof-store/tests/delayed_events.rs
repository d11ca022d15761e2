//! Conformance of delayed events (MSC4140) on SQLite and PostgreSQL: scheduling with
//! transaction IDs, claiming due events exactly once, the actions, listing with pages and
//! filters, superseded state and pruning.

#[macro_use]
mod common;

use common::{fresh_db, Engine, ANNA, BEN, OTHER_ROOM, ROOM};
use schulhof_store::{
    Db, DelayedQuery, NewDelayed, StateChange, StoreError, Tx, DELAYED_CANCELLED, DELAYED_FAILED,
    DELAYED_SCHEDULED, DELAYED_SENDING, DELAYED_SENT,
};

on_both_engines!(
    due_events_are_claimed_once_and_finalised,
    actions_only_change_scheduled_events,
    the_owner_lists_pages_with_filters,
    other_users_state_fails_waiting_state_and_old_outcomes_are_pruned,
    state_changes_together_fail_what_each_change_fails,
);

/// A delayed message of `user` in `room`, scheduled at `now` for `delay_ms` later.
fn message<'a>(
    delay_id: &'a str,
    user: &'a str,
    room: &'a str,
    now: i64,
    delay_ms: i64,
) -> NewDelayed<'a> {
    NewDelayed {
        delay_id,
        user_id: user,
        device_id: "LAPTOP",
        txn_id: Some(delay_id),
        room_id: room,
        event_type: "m.room.message",
        state_key: None,
        content: r#"{"msgtype":"m.text","body":"Hausaufgaben"}"#,
        delay_ms,
        now,
    }
}

async fn status(db: &Db, delay_id: &str) -> String {
    db.delayed_event(delay_id).await.unwrap().unwrap().status
}

async fn due_events_are_claimed_once_and_finalised(engine: Engine) {
    let db = fresh_db(engine).await;
    db.insert_delayed(&message("a", ANNA, ROOM, 1_000, 500))
        .await
        .unwrap();
    db.insert_delayed(&message("b", ANNA, ROOM, 1_000, 100))
        .await
        .unwrap();
    db.insert_delayed(&message("c", BEN, ROOM, 1_000, 9_000))
        .await
        .unwrap();
    // The same transaction ID of the same device is refused and found again.
    let again = db
        .insert_delayed(&message("a", ANNA, ROOM, 1_000, 500))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let found = db.delayed_by_txn(ANNA, "LAPTOP", "a").await.unwrap();
    assert_eq!(found.as_deref(), Some("a"));
    assert_eq!(db.delayed_by_txn(ANNA, "PHONE", "a").await.unwrap(), None);
    assert_eq!(db.next_delayed_send().await.unwrap(), Some(1_100));
    assert_eq!(db.waiting_delayed_of(ANNA).await.unwrap(), (2, Some(1_100)));

    let claimed = db.claim_due_delayed(1_600, 10).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|r| r.delay_id.as_str()).collect();
    assert_eq!(ids, ["b", "a"], "due ones, earliest first");
    assert!(db.claim_due_delayed(1_600, 10).await.unwrap().is_empty());
    assert!(!db.claim_delayed("a").await.unwrap(), "claimed already");
    assert_eq!(db.unfinished_delayed().await.unwrap().len(), 2);

    db.finish_delayed("b", Some("$sent"), None, 1_700)
        .await
        .unwrap();
    db.finish_delayed("a", None, Some(r#"{"errcode":"M_FORBIDDEN"}"#), 1_700)
        .await
        .unwrap();
    let b = db.delayed_event("b").await.unwrap().unwrap();
    assert_eq!(
        (b.status.as_str(), b.event_id.as_deref()),
        (DELAYED_SENT, Some("$sent"))
    );
    assert_eq!(b.finalised_ts, Some(1_700));
    let a = db.delayed_event("a").await.unwrap().unwrap();
    assert_eq!(a.status, DELAYED_FAILED);
    assert!(a.error.unwrap().contains("M_FORBIDDEN"));
    // Finalised ones are neither claimed again nor changed by a late finish.
    db.finish_delayed("b", None, Some("{}"), 1_800)
        .await
        .unwrap();
    assert_eq!(status(&db, "b").await, DELAYED_SENT);
    assert!(db.unfinished_delayed().await.unwrap().is_empty());
    assert_eq!(db.next_delayed_send().await.unwrap(), Some(10_000));
}

async fn actions_only_change_scheduled_events(engine: Engine) {
    let db = fresh_db(engine).await;
    db.insert_delayed(&message("a", ANNA, ROOM, 1_000, 500))
        .await
        .unwrap();
    assert!(db.restart_delayed("a", 1_200).await.unwrap());
    let a = db.delayed_event("a").await.unwrap().unwrap();
    assert_eq!((a.running_since, a.send_ts), (1_200, 1_700));
    assert!(
        db.claim_due_delayed(1_600, 10).await.unwrap().is_empty(),
        "postponed"
    );

    // A claimed one goes back to waiting when a send attempt could not be made.
    assert!(db.claim_delayed("a").await.unwrap());
    assert_eq!(status(&db, "a").await, DELAYED_SENDING);
    assert!(!db.cancel_delayed("a", 1_300).await.unwrap());
    assert!(!db.restart_delayed("a", 1_300).await.unwrap());
    db.unclaim_delayed("a", 2_000).await.unwrap();
    assert_eq!(status(&db, "a").await, DELAYED_SCHEDULED);
    assert_eq!(db.next_delayed_send().await.unwrap(), Some(2_000));

    assert!(db.cancel_delayed("a", 1_400).await.unwrap());
    assert_eq!(status(&db, "a").await, DELAYED_CANCELLED);
    assert!(!db.cancel_delayed("a", 1_500).await.unwrap());
    assert!(!db.claim_delayed("a").await.unwrap());
    assert!(db.claim_due_delayed(5_000, 10).await.unwrap().is_empty());
    assert_eq!(db.waiting_delayed_of(ANNA).await.unwrap(), (0, None));
}

async fn the_owner_lists_pages_with_filters(engine: Engine) {
    let db = fresh_db(engine).await;
    for (i, id) in ["d1", "d2", "d3", "d4"].iter().enumerate() {
        let room = if i == 3 { OTHER_ROOM } else { ROOM };
        db.insert_delayed(&message(id, ANNA, room, 0, 100 * (i as i64 + 1)))
            .await
            .unwrap();
    }
    db.insert_delayed(&message("b1", BEN, ROOM, 0, 50))
        .await
        .unwrap();
    assert!(db.cancel_delayed("d2", 10).await.unwrap());

    let ids = |rows: Vec<schulhof_store::DelayedRow>| -> Vec<String> {
        rows.into_iter().map(|r| r.delay_id).collect()
    };
    let waiting = DelayedQuery {
        finalised: Some(false),
        limit: 2,
        ..Default::default()
    };
    let page = db.delayed_events_of(ANNA, &waiting).await.unwrap();
    assert_eq!(ids(page.clone()), ["d1", "d3"]);
    let last = page.last().unwrap();
    let next = DelayedQuery {
        after: Some((last.send_ts, last.delay_id.as_str())),
        ..waiting.clone()
    };
    assert_eq!(
        ids(db.delayed_events_of(ANNA, &next).await.unwrap()),
        ["d4"]
    );

    let finalised = DelayedQuery {
        finalised: Some(true),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        ids(db.delayed_events_of(ANNA, &finalised).await.unwrap()),
        ["d2"]
    );
    let in_room = DelayedQuery {
        room_id: Some(OTHER_ROOM),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        ids(db.delayed_events_of(ANNA, &in_room).await.unwrap()),
        ["d4"]
    );
    let wanted = ["d4".to_owned(), "d1".to_owned(), "b1".to_owned()];
    let by_id = DelayedQuery {
        delay_ids: &wanted,
        event_type: Some("m.room.message"),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        ids(db.delayed_events_of(ANNA, &by_id).await.unwrap()),
        ["d1", "d4"]
    );
    let other_type = DelayedQuery {
        event_type: Some("m.room.topic"),
        limit: 10,
        ..Default::default()
    };
    assert!(db
        .delayed_events_of(ANNA, &other_type)
        .await
        .unwrap()
        .is_empty());
}

async fn other_users_state_fails_waiting_state_and_old_outcomes_are_pruned(engine: Engine) {
    let db = fresh_db(engine).await;
    let topic = |delay_id, user| NewDelayed {
        event_type: "m.room.topic",
        state_key: Some(""),
        txn_id: None,
        ..message(delay_id, user, ROOM, 0, 1_000)
    };
    db.insert_delayed(&topic("anna-topic", ANNA)).await.unwrap();
    db.insert_delayed(&topic("ben-topic", BEN)).await.unwrap();
    db.insert_delayed(&message("anna-message", ANNA, ROOM, 0, 1_000))
        .await
        .unwrap();

    let mut tx: Tx = db.begin().await.unwrap();
    let topic_by_anna = StateChange {
        event_type: "m.room.topic",
        state_key: "",
        sender: ANNA,
    };
    let failed = Db::fail_superseded_delayed(&mut tx, ROOM, &[topic_by_anna], "{}", 500)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        failed, 1,
        "only the other user's delayed state of the same key"
    );
    assert_eq!(status(&db, "ben-topic").await, DELAYED_FAILED);
    assert_eq!(status(&db, "anna-topic").await, DELAYED_SCHEDULED);
    assert_eq!(status(&db, "anna-message").await, DELAYED_SCHEDULED);

    assert_eq!(db.prune_finalised_delayed(500).await.unwrap(), 0);
    assert_eq!(db.prune_finalised_delayed(501).await.unwrap(), 1);
    assert!(db.delayed_event("ben-topic").await.unwrap().is_none());
    assert!(db.delayed_event("anna-topic").await.unwrap().is_some());
}

async fn state_changes_together_fail_what_each_change_fails(engine: Engine) {
    let db = fresh_db(engine).await;
    let state = |delay_id, user, event_type, room| NewDelayed {
        event_type,
        state_key: Some(""),
        ..message(delay_id, user, room, 0, 1_000)
    };
    for (delay_id, user, event_type, room) in [
        ("anna-topic", ANNA, "m.room.topic", ROOM),
        ("ben-topic", BEN, "m.room.topic", ROOM),
        ("ben-name", BEN, "m.room.name", ROOM),
        ("ben-avatar", BEN, "m.room.avatar", ROOM),
        ("ben-other-name", BEN, "m.room.name", OTHER_ROOM),
    ] {
        db.insert_delayed(&state(delay_id, user, event_type, room))
            .await
            .unwrap();
    }
    // More changes than one statement carries; the ones that matter come late.
    let keys: Vec<String> = (0..70).map(|i| format!("@kind{i}:schule.test")).collect();
    let mut changes: Vec<StateChange> = keys
        .iter()
        .map(|key| StateChange {
            event_type: "m.room.member",
            state_key: key,
            sender: key,
        })
        .collect();
    let change = |event_type, sender| StateChange {
        event_type,
        state_key: "",
        sender,
    };
    changes.extend([
        change("m.room.topic", ANNA),
        change("m.room.name", ANNA),
        // Ben's own avatar stays; his topic change fails Anna's waiting topic.
        change("m.room.avatar", BEN),
        change("m.room.topic", BEN),
    ]);
    let mut tx: Tx = db.begin().await.unwrap();
    let failed = Db::fail_superseded_delayed(&mut tx, ROOM, &changes, "{}", 500)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(failed, 3);
    for (delay_id, expected) in [
        ("anna-topic", DELAYED_FAILED),
        ("ben-topic", DELAYED_FAILED),
        ("ben-name", DELAYED_FAILED),
        ("ben-avatar", DELAYED_SCHEDULED),
        ("ben-other-name", DELAYED_SCHEDULED),
    ] {
        assert_eq!(status(&db, delay_id).await, expected, "{delay_id}");
    }
}
