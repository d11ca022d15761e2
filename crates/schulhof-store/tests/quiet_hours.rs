//! Conformance of quiet-hours holds and personal schedules on SQLite and PostgreSQL: holds
//! are released once, at positions in the original order per recipient, with their
//! notifications; withdrawn and dropped holds stay hidden; personal settings round-trip.

#[macro_use]
mod common;

use common::{fresh_db, store_event, Engine, ANNA, BEN, OTHER_ROOM, ROOM};
use schulhof_store::{Db, NewHold, PersonalQuietHours};

on_both_engines!(
    due_holds_are_released_once_in_order_with_their_notifications,
    withdrawn_and_dropped_holds_never_release,
    personal_settings_round_trip,
);

const CARLA: &str = "@carla:schule.test";
const MONDAY: i64 = 1_000_000;

async fn hold(db: &Db, recipient: &str, pos: i64, room: &str, release_ts: i64, notify: bool) {
    let mut tx = db.begin().await.unwrap();
    Db::insert_hold(
        &mut tx,
        &NewHold {
            recipient,
            event_pos: pos,
            room_id: room,
            sender: BEN,
            release_ts,
            notify,
            highlight: false,
            shared_group: true,
            push_tweaks: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// `(event_pos, status, released_pos)` of a recipient's holds.
async fn statuses(db: &Db, recipient: &str) -> Vec<(i64, String, Option<i64>)> {
    db.holds_of(recipient)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.event_pos, h.status, h.released_pos))
        .collect()
}

async fn due_holds_are_released_once_in_order_with_their_notifications(engine: Engine) {
    let db = fresh_db(engine).await;
    for pos in 1..=4 {
        let room = if pos == 3 { OTHER_ROOM } else { ROOM };
        store_event(&db, pos, room, BEN, "m.room.message", None, "{}").await;
    }
    // Anna waits for 2, 1 (stored out of order) and 3; Carla for 4; one hold is not due yet.
    hold(&db, ANNA, 2, ROOM, MONDAY, true).await;
    hold(&db, ANNA, 1, ROOM, MONDAY, true).await;
    hold(&db, ANNA, 3, OTHER_ROOM, MONDAY, false).await;
    hold(&db, CARLA, 4, ROOM, MONDAY - 10, true).await;
    hold(&db, CARLA, 2, ROOM, MONDAY + 1, true).await;
    assert_eq!(db.next_release().await.unwrap(), Some(MONDAY - 10));
    let mut waiting = db.waiting_holds().await.unwrap();
    waiting.sort();
    assert_eq!(
        waiting,
        vec![
            (ANNA.into(), OTHER_ROOM.into(), MONDAY),
            (ANNA.into(), ROOM.into(), MONDAY),
            (CARLA.into(), ROOM.into(), MONDAY + 1),
        ]
    );

    let mut tx = db.begin().await.unwrap();
    let pairs = Db::due_pairs(&mut tx, MONDAY).await.unwrap();
    let summary: Vec<_> = pairs
        .iter()
        .map(|p| (p.recipient.as_str(), p.room_id.as_str(), p.events))
        .collect();
    assert_eq!(
        summary,
        vec![(ANNA, OTHER_ROOM, 1), (ANNA, ROOM, 2), (CARLA, ROOM, 1)]
    );
    assert!(pairs.iter().all(|p| p.shared_group && p.sender == BEN));
    assert_eq!(Db::count_due(&mut tx, MONDAY).await.unwrap(), 4);
    assert_eq!(Db::release_due(&mut tx, MONDAY, 100).await.unwrap(), 4);
    tx.commit().await.unwrap();
    // A restarted writer goes on after the release positions, which belong to no event.
    assert_eq!(db.max_stream_pos().await.unwrap(), 103);

    // Per recipient in the original order: Anna's 1, 2, 3 at 100, 101, 102; Carla's 4 at 103.
    assert_eq!(
        statuses(&db, ANNA).await,
        vec![
            (1, "released".into(), Some(100)),
            (2, "released".into(), Some(101)),
            (3, "released".into(), Some(102)),
        ]
    );
    assert_eq!(
        statuses(&db, CARLA).await,
        vec![(2, "held".into(), None), (4, "released".into(), Some(103))]
    );
    // Notifications at the release positions, for the holds that notify.
    assert_eq!(db.notification_counts(ANNA, ROOM).await.unwrap(), (2, 0));
    assert_eq!(
        db.notification_counts(ANNA, OTHER_ROOM).await.unwrap(),
        (0, 0)
    );
    assert_eq!(db.notification_counts(CARLA, ROOM).await.unwrap(), (1, 0));

    // Releasing again changes nothing.
    let mut tx = db.begin().await.unwrap();
    assert!(Db::due_pairs(&mut tx, MONDAY).await.unwrap().is_empty());
    assert_eq!(Db::release_due(&mut tx, MONDAY, 200).await.unwrap(), 0);
    tx.commit().await.unwrap();
    assert_eq!(db.next_release().await.unwrap(), Some(MONDAY + 1));
}

async fn withdrawn_and_dropped_holds_never_release(engine: Engine) {
    let db = fresh_db(engine).await;
    for pos in 1..=3 {
        store_event(&db, pos, ROOM, BEN, "m.room.message", None, "{}").await;
    }
    hold(&db, ANNA, 1, ROOM, MONDAY, true).await;
    hold(&db, CARLA, 1, ROOM, MONDAY, true).await;
    hold(&db, CARLA, 2, ROOM, MONDAY, true).await;

    // Event 1 is redacted by event 3: withdrawn for both, and the redaction hidden too.
    let mut tx = db.begin().await.unwrap();
    let mut withdrawn = Db::withdraw_holds(&mut tx, 1, 3).await.unwrap();
    withdrawn.sort();
    assert_eq!(withdrawn, vec![ANNA.to_owned(), CARLA.to_owned()]);
    tx.commit().await.unwrap();
    assert_eq!(
        statuses(&db, ANNA).await,
        vec![(1, "withdrawn".into(), None), (3, "withdrawn".into(), None)]
    );

    // Carla's remaining hold is dropped (Ben may no longer write to her).
    let mut tx = db.begin().await.unwrap();
    let pairs = Db::due_pairs(&mut tx, MONDAY).await.unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(Db::drop_due(&mut tx, MONDAY, &pairs[0]).await.unwrap(), 1);
    assert_eq!(Db::count_due(&mut tx, MONDAY).await.unwrap(), 0);
    tx.commit().await.unwrap();
    assert_eq!(
        statuses(&db, CARLA).await,
        vec![
            (1, "withdrawn".into(), None),
            (2, "dropped".into(), None),
            (3, "withdrawn".into(), None),
        ]
    );
    assert_eq!(db.next_release().await.unwrap(), None);
    assert_eq!(db.notification_counts(CARLA, ROOM).await.unwrap(), (0, 0));
}

async fn personal_settings_round_trip(engine: Engine) {
    let db = fresh_db(engine).await;
    let anna = PersonalQuietHours {
        user_id: ANNA.into(),
        schedule: None,
        window_begin: Some("19:30".into()),
        window_end: Some("06:30".into()),
        updated_ts: 5,
    };
    db.set_personal_quiet_hours(&anna).await.unwrap();
    assert_eq!(
        db.personal_quiet_hours(ANNA).await.unwrap(),
        Some(anna.clone())
    );
    let changed = PersonalQuietHours {
        schedule: Some("windows = []".into()),
        updated_ts: 6,
        ..anna.clone()
    };
    db.set_personal_quiet_hours(&changed).await.unwrap();
    assert_eq!(db.all_personal_quiet_hours().await.unwrap(), vec![changed]);
    let cleared = PersonalQuietHours {
        schedule: None,
        window_begin: None,
        window_end: None,
        ..anna
    };
    db.set_personal_quiet_hours(&cleared).await.unwrap();
    assert_eq!(db.personal_quiet_hours(ANNA).await.unwrap(), None);
}
