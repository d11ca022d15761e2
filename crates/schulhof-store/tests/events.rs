//! Conformance of the event store on SQLite and PostgreSQL: history pages, room state at a
//! position, memberships, duplicate events, stream positions, aliases and the room directory;
//! the reads of many rooms at once equal the reads room by room; events stored together (one
//! statement per table) equal the same events stored one by one.

#[macro_use]
mod common;

use common::{fresh_db, member, store_event, Engine, ANNA, BEN, OTHER_ROOM, ROOM};
use schulhof_store::{Db, EventRow, NewEvent, StatePart, StoreError};

on_both_engines!(
    history_pages_neither_skip_nor_repeat_events,
    state_at_a_position_is_the_state_right_after_that_event,
    memberships_follow_the_newest_member_event,
    an_event_and_a_client_transaction_are_stored_once,
    the_highest_stream_position_covers_every_stream,
    aliases_and_the_room_directory,
    relations_are_found_by_the_event_they_relate_to_until_redacted,
    reads_of_many_rooms_equal_reads_room_by_room,
    events_stored_together_equal_events_stored_one_by_one,
    a_refused_event_stores_nothing_of_its_batch,
);

fn positions(events: &[EventRow]) -> Vec<i64> {
    events.iter().map(|e| e.stream_pos).collect()
}

/// Stores a text message.
async fn message(db: &Db, pos: i64, room: &str, sender: &str) -> String {
    let content = format!(r#"{{"msgtype":"m.text","body":"Nachricht {pos}"}}"#);
    store_event(db, pos, room, sender, "m.room.message", None, &content).await
}

/// Stores a room name.
async fn name(db: &Db, pos: i64, room: &str, name: &str) -> String {
    let content = format!(r#"{{"name":"{name}"}}"#);
    store_event(db, pos, room, ANNA, "m.room.name", Some(""), &content).await
}

async fn history_pages_neither_skip_nor_repeat_events(engine: Engine) {
    let db = fresh_db(engine).await;
    // Two rooms written in turns: ROOM has the odd positions 1..=19, OTHER_ROOM the even ones.
    let create = r#"{"creator":"@anna:schule.test"}"#;
    store_event(&db, 1, ROOM, ANNA, "m.room.create", Some(""), create).await;
    for pos in 2..=20 {
        let room = if pos % 2 == 1 { ROOM } else { OTHER_ROOM };
        message(&db, pos, room, ANNA).await;
    }
    let all: Vec<i64> = (1..=19).step_by(2).collect();

    // Backward, as `/messages?dir=b` pages: each page continues below the oldest event seen.
    let mut seen = Vec::new();
    let mut until = 20;
    loop {
        let page = db.room_events_backward(ROOM, 0, until, 3).await.unwrap();
        let Some(oldest) = page.last() else { break };
        until = oldest.stream_pos - 1;
        seen.extend(positions(&page));
    }
    assert_eq!(seen, all.iter().rev().copied().collect::<Vec<_>>());
    // Only what came after a given position (an incremental sync's timeline).
    assert_eq!(
        positions(&db.room_events_backward(ROOM, 15, 20, 10).await.unwrap()),
        vec![19, 17]
    );

    // Forward, as `/messages?dir=f` pages: from is inclusive, until exclusive.
    let mut seen = Vec::new();
    let mut from = 0;
    loop {
        let page = db.room_events_forward(ROOM, from, 21, 4).await.unwrap();
        let Some(newest) = page.last() else { break };
        from = newest.stream_pos + 1;
        seen.extend(positions(&page));
    }
    assert_eq!(seen, all);
    assert_eq!(
        positions(&db.room_events_forward(ROOM, 5, 9, 10).await.unwrap()),
        vec![5, 7]
    );

    let newest = db.last_room_event(ROOM).await.unwrap().unwrap();
    assert_eq!((newest.stream_pos, newest.event_id.as_str()), (19, "$ev19"));
    let mut rooms = db.room_positions().await.unwrap();
    rooms.sort();
    assert_eq!(
        rooms,
        vec![(OTHER_ROOM.to_owned(), 20), (ROOM.to_owned(), 19)]
    );
    let event = db.event("$ev7").await.unwrap().unwrap();
    assert_eq!(
        (event.room_id.as_str(), event.sender.as_str()),
        (ROOM, ANNA)
    );
    assert!(event.json.contains("Nachricht 7"));
    assert!(db.event("$nowhere").await.unwrap().is_none());
}

async fn state_at_a_position_is_the_state_right_after_that_event(engine: Engine) {
    let db = fresh_db(engine).await;
    let create = r#"{"creator":"@anna:schule.test"}"#;
    store_event(&db, 1, ROOM, ANNA, "m.room.create", Some(""), create).await;
    member(&db, 2, ROOM, ANNA, "join").await;
    name(&db, 3, ROOM, "Mathe").await;
    message(&db, 4, ROOM, ANNA).await;
    name(&db, 5, ROOM, "Mathe 8.1").await;
    let invite = r#"{"membership":"invite"}"#;
    store_event(&db, 6, ROOM, ANNA, "m.room.member", Some(BEN), invite).await;
    name(&db, 7, OTHER_ROOM, "Deutsch").await;
    member(&db, 8, ROOM, BEN, "join").await;
    message(&db, 9, ROOM, BEN).await;

    assert!(db
        .state_at(ROOM, 0, &StatePart::ALL)
        .await
        .unwrap()
        .is_empty());
    // What a client joining at the first message would have seen: the old name.
    assert_eq!(
        positions(&db.state_at(ROOM, 4, &StatePart::ALL).await.unwrap()),
        vec![1, 2, 3]
    );
    assert_eq!(
        positions(&db.state_at(ROOM, 6, &StatePart::ALL).await.unwrap()),
        vec![1, 2, 5, 6]
    );
    let now = db.state_at(ROOM, 9, &StatePart::ALL).await.unwrap();
    assert_eq!(positions(&now), vec![1, 2, 5, 8]);
    assert_eq!(
        positions(&db.current_state(ROOM).await.unwrap()),
        positions(&now)
    );
    assert_eq!(
        positions(&db.current_state(OTHER_ROOM).await.unwrap()),
        vec![7]
    );

    // A part of the state: the name, and Ben's membership (invited at 6, joined at 8).
    let mut name_and_ben = StatePart::nothing();
    name_and_ben.add_type("m.room.name");
    name_and_ben.add_member(BEN);
    let part_at = |pos| db.state_at(ROOM, pos, &name_and_ben);
    assert_eq!(positions(&part_at(4).await.unwrap()), vec![3]);
    assert_eq!(positions(&part_at(7).await.unwrap()), vec![5, 6]);
    assert_eq!(positions(&part_at(9).await.unwrap()), vec![5, 8]);
    let nothing = db.state_at(ROOM, 9, &StatePart::nothing()).await.unwrap();
    assert!(nothing.is_empty());

    // What changed between two syncs, and the history of one kind of state.
    assert_eq!(
        positions(&db.state_changes(ROOM, 4, 9).await.unwrap()),
        vec![5, 6, 8]
    );
    assert_eq!(
        positions(&db.state_history(ROOM, "m.room.name", 9).await.unwrap()),
        vec![3, 5]
    );
    assert_eq!(
        positions(&db.membership_history(ROOM, BEN, 9).await.unwrap()),
        vec![6, 8]
    );
    assert_eq!(
        positions(&db.membership_history(ROOM, BEN, 7).await.unwrap()),
        vec![6]
    );
}

async fn memberships_follow_the_newest_member_event(engine: Engine) {
    let db = fresh_db(engine).await;
    let invite = r#"{"membership":"invite"}"#;
    store_event(&db, 1, ROOM, ANNA, "m.room.member", Some(BEN), invite).await;
    member(&db, 2, ROOM, BEN, "join").await;
    member(&db, 3, OTHER_ROOM, BEN, "join").await;
    member(&db, 4, OTHER_ROOM, BEN, "leave").await;
    member(&db, 5, OTHER_ROOM, ANNA, "join").await;
    let ban = r#"{"membership":"ban"}"#;
    store_event(
        &db,
        6,
        "!theater:schule.test",
        ANNA,
        "m.room.member",
        Some(BEN),
        ban,
    )
    .await;

    let mut rooms = db.memberships(BEN).await.unwrap();
    rooms.sort_by(|a, b| a.room_id.cmp(&b.room_id));
    let rooms: Vec<(&str, &str, i64, &str)> = rooms
        .iter()
        .map(|m| (&*m.room_id, &*m.membership, m.stream_pos, &*m.event_id))
        .collect();
    assert_eq!(
        rooms,
        vec![
            (OTHER_ROOM, "leave", 4, "$ev4"),
            (ROOM, "join", 2, "$ev2"),
            ("!theater:schule.test", "ban", 6, "$ev6"),
        ]
    );
    assert_eq!(db.memberships(ANNA).await.unwrap().len(), 1);
    assert!(db
        .memberships("@nobody:schule.test")
        .await
        .unwrap()
        .is_empty());
}

/// A message from ANNA's device DEV with a client transaction ID.
fn sent<'a>(pos: i64, event_id: &'a str, txn_id: &'a str) -> NewEvent<'a> {
    NewEvent {
        stream_pos: pos,
        event_id,
        room_id: ROOM,
        sender: ANNA,
        event_type: "m.room.message",
        state_key: None,
        membership: None,
        origin_server_ts: 0,
        json: "{}",
        txn: Some(("DEV", txn_id)),
        relation: None,
    }
}

/// Stores `event` in a transaction of its own and commits only if it was accepted.
async fn insert(db: &Db, event: &NewEvent<'_>) -> Result<(), StoreError> {
    let mut tx = db.begin().await.unwrap();
    Db::insert_event(&mut tx, event).await?;
    tx.commit().await
}

async fn an_event_and_a_client_transaction_are_stored_once(engine: Engine) {
    let db = fresh_db(engine).await;
    insert(&db, &sent(1, "$first", "txn1")).await.unwrap();
    assert_eq!(
        db.txn_event(ANNA, "DEV", "txn1").await.unwrap().as_deref(),
        Some("$first")
    );
    // A retried request must not post the message twice, and event IDs are unique.
    let again = insert(&db, &sent(2, "$second", "txn1")).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let same_id = insert(&db, &sent(3, "$first", "txn3")).await;
    assert!(matches!(same_id, Err(StoreError::Conflict)), "{same_id:?}");
    // The same transaction ID from another device is another message.
    let other_device = NewEvent {
        txn: Some(("PHONE", "txn1")),
        ..sent(4, "$fourth", "txn1")
    };
    insert(&db, &other_device).await.unwrap();
    assert_eq!(
        positions(&db.room_events_forward(ROOM, 0, 10, 10).await.unwrap()),
        vec![1, 4]
    );

    // A rejected state event leaves the room's state as it was.
    name(&db, 5, ROOM, "Mathe").await;
    let duplicate_name = NewEvent {
        event_type: "m.room.name",
        state_key: Some(""),
        ..sent(6, "$ev5", "txn6")
    };
    assert!(insert(&db, &duplicate_name).await.is_err());
    let state = db.current_state(ROOM).await.unwrap();
    assert_eq!(positions(&state), vec![5]);

    // A device that is deleted and logs in again under its old ID starts without old
    // transactions.
    db.delete_devices(ANNA, &["DEV".to_owned()]).await.unwrap();
    assert!(db.txn_event(ANNA, "DEV", "txn1").await.unwrap().is_none());
    insert(&db, &sent(7, "$seventh", "txn1")).await.unwrap();
}

async fn the_highest_stream_position_covers_every_stream(engine: Engine) {
    let db = fresh_db(engine).await;
    assert_eq!(db.max_stream_pos().await.unwrap(), 0);
    message(&db, 3, ROOM, ANNA).await;
    assert_eq!(db.max_stream_pos().await.unwrap(), 3);

    // A restarted server continues after the newest position of any stream, or clients would
    // miss what lies between.
    let mut tx = db.begin().await.unwrap();
    Db::put_account_data(&mut tx, ANNA, "", "m.direct", "{}", 5)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.max_stream_pos().await.unwrap(), 5);

    let mut tx = db.begin().await.unwrap();
    Db::put_receipt(&mut tx, ROOM, BEN, "m.read", "", "$ev3", 3, 0, 7)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.max_stream_pos().await.unwrap(), 7);

    let mut tx = db.begin().await.unwrap();
    Db::insert_device_list_change(&mut tx, ANNA, 9)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.max_stream_pos().await.unwrap(), 9);

    let mut tx = db.begin().await.unwrap();
    let to_ben = schulhof_store::NewToDevice {
        user_id: BEN,
        device_id: "PHONE",
        content: "{}",
    };
    Db::insert_to_device(&mut tx, ANNA, "m.room_key_request", &[to_ben], 11)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.max_stream_pos().await.unwrap(), 11);

    let mut tx = db.begin().await.unwrap();
    Db::put_presence(&mut tx, BEN, "online", None, 0, 13)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.max_stream_pos().await.unwrap(), 13);

    message(&db, 12, ROOM, ANNA).await;
    assert_eq!(db.max_stream_pos().await.unwrap(), 13);
}

async fn aliases_and_the_room_directory(engine: Engine) {
    let db = fresh_db(engine).await;
    let mut tx = db.begin().await.unwrap();
    Db::insert_room(&mut tx, ROOM, "10", ANNA, 0).await.unwrap();
    Db::insert_room(&mut tx, OTHER_ROOM, "11", ANNA, 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.room_version(ROOM).await.unwrap().as_deref(), Some("10"));
    assert!(db
        .room_version("!gibtsnicht:schule.test")
        .await
        .unwrap()
        .is_none());
    let mut tx = db.begin().await.unwrap();
    let twice = Db::insert_room(&mut tx, ROOM, "10", ANNA, 0).await;
    assert!(matches!(twice, Err(StoreError::Conflict)), "{twice:?}");
    drop(tx);

    db.create_alias("#mathe:schule.test", ROOM, ANNA)
        .await
        .unwrap();
    db.create_alias("#mathe-8-1:schule.test", ROOM, ANNA)
        .await
        .unwrap();
    let taken = db.create_alias("#mathe:schule.test", OTHER_ROOM, BEN).await;
    assert!(matches!(taken, Err(StoreError::Conflict)), "{taken:?}");
    assert_eq!(
        db.alias("#mathe:schule.test").await.unwrap(),
        Some((ROOM.to_owned(), ANNA.to_owned()))
    );
    assert_eq!(
        db.room_aliases(ROOM).await.unwrap(),
        vec!["#mathe-8-1:schule.test", "#mathe:schule.test"]
    );
    db.delete_alias("#mathe:schule.test").await.unwrap();
    assert!(db.alias("#mathe:schule.test").await.unwrap().is_none());

    assert!(!db.room_published(ROOM).await.unwrap());
    db.set_room_published(OTHER_ROOM, true).await.unwrap();
    db.set_room_published(ROOM, true).await.unwrap();
    db.set_room_published(ROOM, false).await.unwrap();
    assert!(db.room_published(OTHER_ROOM).await.unwrap());
    assert_eq!(db.published_rooms().await.unwrap(), vec![OTHER_ROOM]);
}

/// A message in ROOM relating to `target` with `rel_type`.
fn relating<'a>(pos: i64, event_id: &'a str, target: &'a str, rel_type: &'a str) -> NewEvent<'a> {
    NewEvent {
        txn: None,
        relation: Some((target, rel_type)),
        ..sent(pos, event_id, "")
    }
}

async fn relations_are_found_by_the_event_they_relate_to_until_redacted(engine: Engine) {
    let db = fresh_db(engine).await;
    insert(&db, &sent(1, "$root", "t1")).await.unwrap();
    insert(&db, &relating(2, "$reply", "$root", "m.thread"))
        .await
        .unwrap();
    insert(&db, &relating(3, "$like", "$root", "m.annotation"))
        .await
        .unwrap();
    insert(&db, &relating(4, "$edit", "$reply", "m.replace"))
        .await
        .unwrap();
    let other_room = NewEvent {
        room_id: OTHER_ROOM,
        ..relating(5, "$elsewhere", "$root", "m.thread")
    };
    insert(&db, &other_room).await.unwrap();

    let found = related(&db, "$root", 10).await;
    assert_eq!(
        found,
        ["$reply m.thread", "$like m.annotation"],
        "oldest first, this room only, with the relation type"
    );
    assert_eq!(related(&db, "$root", 1).await, ["$reply m.thread"]);
    assert_eq!(related(&db, "$reply", 10).await, ["$edit m.replace"]);

    // A redacted event loses its content and with it the relation.
    let mut tx = db.begin().await.unwrap();
    Db::replace_event_json(&mut tx, "$like", "{}")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(related(&db, "$root", 10).await, ["$reply m.thread"]);
}

/// The events of ROOM relating to `target` as "event ID rel_type", oldest first.
async fn related(db: &Db, target: &str, limit: i64) -> Vec<String> {
    let found = db.relating_events(ROOM, target, limit).await.unwrap();
    found
        .into_iter()
        .map(|r| format!("{} {}", r.event.event_id, r.rel_type))
        .collect()
}

async fn reads_of_many_rooms_equal_reads_room_by_room(engine: Engine) {
    let db = fresh_db(engine).await;
    // 30 rooms (more than one statement's group), each with its creation, a name and a few
    // messages; every third room only its creation.
    let rooms: Vec<String> = (0..30).map(|i| format!("!raum{i}:schule.test")).collect();
    let mut pos = 0;
    let create = r#"{"creator":"@anna:schule.test"}"#;
    for (i, room) in rooms.iter().enumerate() {
        pos += 1;
        store_event(&db, pos, room, ANNA, "m.room.create", Some(""), create).await;
        if i % 3 == 0 {
            continue;
        }
        pos += 1;
        name(&db, pos, room, "Klasse").await;
        pos += 1;
        member(&db, pos, room, if i % 2 == 0 { ANNA } else { BEN }, "join").await;
        for _ in 0..i % 5 {
            pos += 1;
            message(&db, pos, room, BEN).await;
        }
    }
    let ids: Vec<&str> = rooms.iter().map(String::as_str).collect();
    let until = pos - 3;

    let together = db.rooms_events_backward(&ids, 0, until, 2).await.unwrap();
    let mut by_room = Vec::new();
    for room in &ids {
        by_room.extend(db.room_events_backward(room, 0, until, 2).await.unwrap());
    }
    let key = |e: &EventRow| (e.room_id.clone(), std::cmp::Reverse(e.stream_pos));
    let mut together_keys: Vec<_> = together.iter().map(key).collect();
    together_keys.sort();
    let mut by_room_keys: Vec<_> = by_room.iter().map(key).collect();
    by_room_keys.sort();
    assert_eq!(together_keys, by_room_keys);

    // A part of each room's state equals the whole state filtered by the part.
    let mut names = StatePart::nothing();
    names.add_type("m.room.name");
    let mut lazy = StatePart::nothing();
    lazy.add_every_other_type();
    lazy.add_member(BEN);
    for part in [StatePart::ALL, names, lazy] {
        for room in &ids {
            let rows = db.state_at(room, i64::MAX, &part).await.unwrap();
            let whole = db.state_at(room, i64::MAX, &StatePart::ALL).await.unwrap();
            let filtered: Vec<_> = whole
                .into_iter()
                .filter(|e| part.contains(&e.event_type, e.state_key.as_deref().unwrap()))
                .collect();
            assert_eq!(positions(&rows), positions(&filtered), "{part:?} of {room}");
        }
    }

    let newest = db
        .newest_events_of_types(&["m.room.create", "m.room.message"])
        .await
        .unwrap();
    assert_eq!(newest.len(), rooms.len());
    for (room, pos, sender, state_key) in newest {
        let events = db
            .room_events_backward(&room, 0, i64::MAX, 100)
            .await
            .unwrap();
        let last = events
            .iter()
            .find(|e| e.event_type == "m.room.create" || e.event_type == "m.room.message")
            .unwrap();
        assert_eq!((pos, sender), (last.stream_pos, last.sender.clone()));
        assert_eq!(state_key.is_some(), last.event_type == "m.room.create");
    }
}

/// An event of a batch: `(pos, room, sender, type, state_key, membership, relation target)`.
type Spec = (
    i64,
    &'static str,
    String,
    &'static str,
    Option<String>,
    Option<&'static str>,
    Option<&'static str>,
);

/// A commit's worth of events (more than one statement carries): members joining, an invite
/// and a join of the same person, someone leaving and joining again, a display name change of
/// a member who joined before the batch, the room name set twice, a thread answer and a join
/// in another room.
fn batch_specs() -> Vec<Spec> {
    let member = |pos, user: String, membership| {
        let key = Some(user.clone());
        (
            pos,
            ROOM,
            user,
            "m.room.member",
            key,
            Some(membership),
            None,
        )
    };
    let room_name = |pos| {
        let key = Some(String::new());
        (pos, ROOM, ANNA.into(), "m.room.name", key, None, None)
    };
    let mut specs: Vec<Spec> = (0..70)
        .map(|i| member(10 + i, format!("@kind{i}:schule.test"), "join"))
        .collect();
    specs.extend([
        (
            80,
            ROOM,
            ANNA.into(),
            "m.room.member",
            Some(BEN.into()),
            Some("invite"),
            None,
        ),
        member(81, BEN.into(), "join"),
        room_name(82),
        (
            83,
            ROOM,
            BEN.into(),
            "m.room.message",
            None,
            None,
            Some("$ev10"),
        ),
        member(84, "@kind3:schule.test".into(), "leave"),
        member(85, "@kind3:schule.test".into(), "join"),
        member(86, ANNA.into(), "join"),
        room_name(87),
        (
            88,
            OTHER_ROOM,
            ANNA.into(),
            "m.room.member",
            Some(ANNA.into()),
            Some("join"),
            None,
        ),
    ]);
    specs
}

/// The event rows of `specs` (the event JSON is its position).
fn new_events<'a>(specs: &'a [Spec], json: &'a [String]) -> Vec<NewEvent<'a>> {
    specs
        .iter()
        .zip(json)
        .map(
            |((pos, room, sender, kind, key, membership, target), json)| NewEvent {
                stream_pos: *pos,
                event_id: &json[1..json.len() - 1],
                room_id: room,
                sender,
                event_type: kind,
                state_key: key.as_deref(),
                membership: *membership,
                origin_server_ts: *pos * 1000,
                json,
                txn: None,
                relation: target.map(|t| (t, "m.thread")),
            },
        )
        .collect()
}

/// Every stored row of the tables an event writes, in a fixed order.
async fn event_tables(db: &Db) -> Vec<String> {
    let queries = [
        "SELECT stream_pos || ' ' || event_id || ' ' || room_id || ' ' || sender || ' '
           || event_type || ' ' || COALESCE(state_key, '-') || ' ' || json
         FROM events ORDER BY stream_pos",
        "SELECT room_id || ' ' || event_type || ' ' || state_key || ' ' || event_id || ' '
           || stream_pos || ' ' || COALESCE(membership, '-') || ' '
           || COALESCE(CAST(joined_pos AS TEXT), '-')
         FROM current_state ORDER BY room_id, event_type, state_key",
        "SELECT event_pos || ' ' || room_id || ' ' || relates_to || ' ' || rel_type
         FROM event_relations ORDER BY event_pos",
    ];
    let mut rows = Vec::new();
    for sql in queries {
        let table: Vec<String> =
            schulhof_store::with_db!(db, |c| sqlx::query_scalar(sql).fetch_all(c).await).unwrap();
        rows.extend(table);
    }
    rows
}

async fn events_stored_together_equal_events_stored_one_by_one(engine: Engine) {
    let specs = batch_specs();
    let json: Vec<String> = specs.iter().map(|s| format!("\"$ev{}\"", s.0)).collect();
    let events = new_events(&specs, &json);
    let mut tables = Vec::new();
    for together in [true, false] {
        let db = fresh_db(engine).await;
        // ANNA joined before the batch: her display name change keeps her join position.
        member(&db, 1, ROOM, ANNA, "join").await;
        let mut tx = db.begin().await.unwrap();
        if together {
            Db::insert_events(&mut tx, &events).await.unwrap();
        } else {
            for event in &events {
                Db::insert_event(&mut tx, event).await.unwrap();
            }
        }
        tx.commit().await.unwrap();
        tables.push(event_tables(&db).await);
    }
    assert_eq!(tables[0], tables[1]);
    let stored = &tables[0];
    for expected in [
        // Joined before the batch and still joined: the run began at 1.
        format!("{ROOM} m.room.member {ANNA} $ev86 86 join 1"),
        // Invited, then joined in the same batch.
        format!("{ROOM} m.room.member {BEN} $ev81 81 join 81"),
        // Left and joined again: the new run begins at the new join.
        format!("{ROOM} m.room.member @kind3:schule.test $ev85 85 join 85"),
        format!("{ROOM} m.room.member @kind69:schule.test $ev79 79 join 79"),
        format!("{ROOM} m.room.name  $ev87 87 - -"),
        format!("{OTHER_ROOM} m.room.member {ANNA} $ev88 88 join 88"),
        format!("83 {ROOM} $ev10 m.thread"),
    ] {
        assert!(stored.contains(&expected), "{expected} not in {stored:#?}");
    }
    assert_eq!(stored.len(), 1 + specs.len() + 74 + 1);
}

async fn a_refused_event_stores_nothing_of_its_batch(engine: Engine) {
    let db = fresh_db(engine).await;
    insert(&db, &sent(1, "$first", "txn1")).await.unwrap();
    let batch: Vec<NewEvent> = vec![
        sent(2, "$second", "txn2"),
        NewEvent {
            event_type: "m.room.topic",
            state_key: Some(""),
            ..sent(3, "$third", "txn3")
        },
        // A retried transaction.
        sent(4, "$fourth", "txn1"),
    ];
    let mut tx = db.begin().await.unwrap();
    let refused = Db::insert_events(&mut tx, &batch).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    drop(tx);
    assert_eq!(
        positions(&db.room_events_forward(ROOM, 0, 10, 10).await.unwrap()),
        vec![1]
    );
    assert!(db.current_state(ROOM).await.unwrap().is_empty());
}
