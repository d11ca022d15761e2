//! Sliding sync's room list on SQLite and PostgreSQL. The index of each room's newest bump
//! event equals what is committed while many senders write into the same rooms at once (also
//! at every published position, seen from a reader running alongside); the bump stamp never
//! comes from an event the user cannot see — a message of someone they ignore, history from
//! before they joined that the room's visibility hides, or a message held for their quiet
//! hours; and rooms read together for a room list are sent exactly as each room read alone.

#[macro_use]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ruma::api::client::room::create_room;
use ruma::api::client::sync::sync_events::v5;
use ruma::{OwnedRoomId, OwnedUserId, RoomId, UserId};
use schulhof_directory::parse_csv;
use schulhof_server::ruma_wrapper::Session;
use schulhof_server::service::rooms::bumps::{is_bump_type, BumpEvent, BumpIndex};
use schulhof_server::service::rooms::{create, membership, EventTemplate, Rooms};
use schulhof_server::service::school::import;
use schulhof_server::service::sync::sliding;
use schulhof_server::service::user::account_data::set_account_data;
use schulhof_server::state::AppState;
use schulhof_store::UserRow;
use serde_json::json;
use support::{Backend, TestState};

on_both!(
    the_index_equals_the_committed_events_under_concurrent_sends,
    hidden_events_never_bump_a_room,
    a_held_message_bumps_the_room_only_for_others,
    rooms_read_together_are_sent_as_read_alone,
);

/// Rooms written into at once.
const ROOMS: usize = 4;
/// Senders writing at once, each into every room.
const SENDERS: usize = 8;
/// Events each sender writes.
const EVENTS_PER_SENDER: usize = 12;

/// An account without password.
async fn account(state: &AppState, localpart: &str) -> OwnedUserId {
    let user_id = format!("@{localpart}:schule.test");
    let row = UserRow {
        user_id: user_id.clone(),
        password_hash: None,
        displayname: Some(localpart.to_owned()),
        avatar_url: None,
        is_admin: false,
        deactivated: false,
    };
    state.db.create_user(&row, 0).await.unwrap();
    UserId::parse(user_id).unwrap()
}

fn session(user: &UserId) -> Session {
    Session {
        user_id: user.to_owned(),
        device_id: "TEST".into(),
        appservice: None,
    }
}

/// A room `creator` makes with `members` invited, who join.
async fn room_with(state: &AppState, creator: &UserId, members: &[OwnedUserId]) -> OwnedRoomId {
    created(state, creator, members, create_room::v3::Request::new()).await
}

/// A direct chat `creator` opens with `member`, who joins.
async fn direct_chat(state: &AppState, creator: &UserId, member: &OwnedUserId) -> OwnedRoomId {
    let mut request = create_room::v3::Request::new();
    request.is_direct = true;
    request.preset = Some(create_room::v3::RoomPreset::TrustedPrivateChat);
    created(state, creator, std::slice::from_ref(member), request).await
}

/// The room `request` creates, with `members` invited, who join.
async fn created(
    state: &AppState,
    creator: &UserId,
    members: &[OwnedUserId],
    mut request: create_room::v3::Request,
) -> OwnedRoomId {
    request.invite = members.to_vec();
    let room = create::create_room(state, creator, None, &request, &json!({}))
        .await
        .unwrap();
    for member in members {
        membership::join(state, member, &room, None).await.unwrap();
    }
    room
}

/// Sends a text message; its stream position.
async fn say(state: &AppState, room: &RoomId, sender: &UserId, body: &str) -> i64 {
    let message = EventTemplate::message(
        "m.room.message",
        json!({ "msgtype": "m.text", "body": body }),
    );
    Rooms::send(state, room, sender, message, None)
        .await
        .unwrap()
        .stream_pos
}

/// The newest committed bump event of `room` at or before `until`, read from the events.
async fn committed_bump(state: &AppState, room: &RoomId, until: i64) -> Option<BumpEvent> {
    let events = state
        .db
        .room_events_backward(room.as_str(), 0, until, 10_000)
        .await
        .unwrap();
    events
        .into_iter()
        .find(|e| is_bump_type(&e.event_type))
        .map(|e| BumpEvent {
            pos: e.stream_pos,
            sender: e.sender,
            state: e.state_key.is_some(),
        })
}

/// A room-list request over the first `size` rooms (new connection).
fn room_list(size: u32) -> v5::Request {
    let list = json!({ "ranges": [[0, size - 1]], "timeline_limit": 1 });
    let mut request = v5::Request::new();
    request.conn_id = Some(format!("test-{}", rand_suffix()));
    request
        .lists
        .insert("all".to_owned(), serde_json::from_value(list).unwrap());
    request
}

/// A connection ID of its own per request.
fn rand_suffix() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The bump stamp `user`'s first sliding-sync response gives `room`.
async fn bump_stamp(state: &AppState, user: &UserId, room: &RoomId) -> u64 {
    let response = sliding::sync(state, &session(user), &room_list(20))
        .await
        .unwrap();
    let shown = response.rooms.get(room).expect("room in the list");
    shown.bump_stamp.map(u64::from).expect("bump stamp")
}

async fn the_index_equals_the_committed_events_under_concurrent_sends(backend: Backend) {
    let test = TestState::new(backend, "bump_index_concurrent").await;
    let state = test.state.clone();
    let creator = account(&state, "lehrerin").await;
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        senders.push(account(&state, &format!("kind{i}")).await);
    }
    let mut rooms = Vec::new();
    for _ in 0..ROOMS {
        rooms.push(room_with(&state, &creator, &senders).await);
    }
    let rooms = Arc::new(rooms);

    // A reader alongside: at every published position, the index is never behind it.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (state, rooms, done) = (state.clone(), rooms.clone(), done.clone());
        tokio::spawn(async move {
            let mut checks = 0;
            while !done.load(Ordering::SeqCst) {
                let published = state.writer.current();
                for room in rooms.iter() {
                    let indexed = state.rooms.bumps().newest(room.as_str()).unwrap();
                    let committed = committed_bump(&state, room, published).await.unwrap();
                    assert!(
                        indexed.pos >= committed.pos,
                        "index behind a published position: {indexed:?} < {committed:?}"
                    );
                }
                checks += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            checks
        })
    };

    let writers: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(i, sender)| {
            let (state, rooms, sender) = (state.clone(), rooms.clone(), sender.clone());
            tokio::spawn(async move {
                for n in 0..EVENTS_PER_SENDER {
                    let room = &rooms[(i + n) % ROOMS];
                    if n % 2 == 1 {
                        // An event that does not bump.
                        let other = EventTemplate::message(
                            "de.schulhof.test.ping",
                            json!({ "n": format!("{i}-{n}") }),
                        );
                        Rooms::send(&state, room, &sender, other, None)
                            .await
                            .unwrap();
                    } else {
                        say(&state, room, &sender, &format!("{i}-{n}")).await;
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    assert!(watcher.await.unwrap() > 0, "the reader ran alongside");

    let loaded = BumpIndex::load(&state.db).await.unwrap();
    let now = state.writer.current();
    for room in rooms.iter() {
        let indexed = state.rooms.bumps().newest(room.as_str()).unwrap();
        let committed = committed_bump(&state, room, now).await.unwrap();
        assert_eq!(indexed, committed, "index and events of {room}");
        assert_eq!(
            loaded.newest(room.as_str()),
            Some(committed),
            "loaded at start"
        );
        assert!(!indexed.state, "a message is the newest bump event");
    }
}

async fn hidden_events_never_bump_a_room(backend: Backend) {
    let test = TestState::new(backend, "bump_hidden").await;
    let state = &test.state;
    let (anna, ben, carl) = (
        account(state, "anna").await,
        account(state, "ben").await,
        account(state, "carl").await,
    );

    // Carl's message is the room's newest; Anna ignores Carl.
    let room = room_with(state, &anna, &[ben.clone(), carl.clone()]).await;
    let from_ben = say(state, &room, &ben, "Hallo").await;
    let from_carl = say(state, &room, &carl, "Ignoriert").await;
    let ignored = json!({ "ignored_users": { carl.as_str(): {} } });
    set_account_data(state, &anna, None, "m.ignored_user_list", &ignored)
        .await
        .unwrap();
    assert_eq!(bump_stamp(state, &anna, &room).await, from_ben as u64);
    assert_eq!(bump_stamp(state, &ben, &room).await, from_carl as u64);

    // History only for members: Ben's message before Anna joined is not hers to see.
    let private = room_with(state, &ben, &[]).await;
    let visibility = EventTemplate::state(
        "m.room.history_visibility",
        "",
        json!({ "history_visibility": "joined" }),
    );
    Rooms::send(state, &private, &ben, visibility, None)
        .await
        .unwrap();
    let before_anna = say(state, &private, &ben, "Vor Anna").await;
    membership::invite(state, &ben, &private, &anna, None)
        .await
        .unwrap();
    membership::join(state, &anna, &private, None)
        .await
        .unwrap();
    let stamp = bump_stamp(state, &anna, &private).await;
    assert!(stamp < before_anna as u64, "{stamp} < {before_anna}");
    assert_eq!(bump_stamp(state, &ben, &private).await, before_anna as u64);
    let after_join = say(state, &private, &ben, "Mit Anna").await;
    assert_eq!(bump_stamp(state, &anna, &private).await, after_join as u64);
}

/// A teacher and a student of her class.
const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
";

/// Friday, 4 December 2026, 20:00 in Berlin: the school's quiet hours.
const FRIDAY_EVENING: i64 = 1_796_410_800_000;

async fn a_held_message_bumps_the_room_only_for_others(backend: Backend) {
    let test =
        TestState::with_sections(backend, "bump_held", "[testing]\nmovable_clock = true\n").await;
    let state = &test.state;
    let file = parse_csv(SCHOOL.as_bytes()).unwrap();
    import::apply(state, &file, "test").await.unwrap().unwrap();
    let anna = UserId::parse("@anna.schmidt:schule.test").unwrap();
    let ben = UserId::parse("@ben.mueller:schule.test").unwrap();
    assert!(state.clock.set(FRIDAY_EVENING));

    let room = direct_chat(state, &ben, &anna.to_owned()).await;
    let before = say(state, &room, &anna, "Schönes Wochenende").await;
    let held = say(state, &room, &ben, "Hausaufgabe?").await;
    let holds = state.db.holds_of(anna.as_str()).await.unwrap();
    assert!(
        holds.iter().any(|h| h.event_pos == held),
        "the message is held for Anna"
    );
    assert_eq!(bump_stamp(state, &anna, &room).await, before as u64);
    assert_eq!(bump_stamp(state, &ben, &room).await, held as u64);
}

/// Element X's room-list details: a timeline of one and some state, lazy members.
fn details() -> serde_json::Value {
    json!({
        "timeline_limit": 1,
        "required_state": [
            ["m.room.member", "$LAZY"], ["m.room.member", "$ME"], ["m.room.name", ""],
            ["m.room.topic", ""], ["m.room.create", ""],
        ],
    })
}

async fn rooms_read_together_are_sent_as_read_alone(backend: Backend) {
    let test = TestState::new(backend, "rooms_together").await;
    let state = &test.state;
    let (anna, ben, carl) = (
        account(state, "anna").await,
        account(state, "ben").await,
        account(state, "carl").await,
    );
    // A message Anna has read; a room whose newest event is a join (state newer than the
    // timeline's start); one whose newest message is from Carl, whom Anna ignores (read on
    // past it); a topic changed between two messages; a room with only its creation.
    let read = room_with(state, &ben, std::slice::from_ref(&anna)).await;
    let message = EventTemplate::message(
        "m.room.message",
        json!({ "msgtype": "m.text", "body": "Gelesen" }),
    );
    let sent = Rooms::send(state, &read, &ben, message, None)
        .await
        .unwrap();
    schulhof_server::service::rooms::receipts::set_receipt(
        state,
        &anna,
        &read,
        "m.read",
        "",
        &sent.event_id,
    )
    .await
    .unwrap();
    let joined = room_with(state, &ben, std::slice::from_ref(&anna)).await;
    say(state, &joined, &ben, "Vor Carl").await;
    membership::invite(state, &ben, &joined, &carl, None)
        .await
        .unwrap();
    membership::join(state, &carl, &joined, None).await.unwrap();
    let ignored_room = room_with(state, &anna, &[ben.clone(), carl.clone()]).await;
    say(state, &ignored_room, &ben, "Von Ben").await;
    say(state, &ignored_room, &carl, "Von Carl").await;
    let ignored = json!({ "ignored_users": { carl.as_str(): {} } });
    set_account_data(state, &anna, None, "m.ignored_user_list", &ignored)
        .await
        .unwrap();
    let topic_room = room_with(state, &anna, std::slice::from_ref(&ben)).await;
    say(state, &topic_room, &ben, "Erste").await;
    let topic = EventTemplate::state("m.room.topic", "", json!({ "topic": "Mathe" }));
    Rooms::send(state, &topic_room, &anna, topic, None)
        .await
        .unwrap();
    say(state, &topic_room, &ben, "Zweite").await;
    let quiet = room_with(state, &anna, &[]).await;
    // A larger room: ten more members, Carl wrote before Ben; only Ben's message is sent.
    let mut others = Vec::new();
    for i in 0..10 {
        others.push(account(state, &format!("kind{i}")).await);
    }
    others.extend([ben.clone(), carl.clone()]);
    let large = room_with(state, &anna, &others).await;
    say(state, &large, &carl, "Von Carl").await;
    say(state, &large, &ben, "Zuletzt Ben").await;
    let rooms = [read, joined, ignored_room, topic_room, quiet, large.clone()];

    let mut list = details();
    list["ranges"] = json!([[0, 9]]);
    let mut together = v5::Request::new();
    together.conn_id = Some("together".into());
    together
        .lists
        .insert("all".into(), serde_json::from_value(list).unwrap());
    together.extensions =
        serde_json::from_value(json!({ "receipts": { "enabled": true } })).unwrap();
    let all = sliding::sync(state, &session(&anna), &together)
        .await
        .unwrap();
    assert_eq!(all.rooms.len(), rooms.len());
    for room in &rooms {
        let mut alone = v5::Request::new();
        alone.conn_id = Some(format!("alone {room}"));
        alone
            .room_subscriptions
            .insert(room.clone(), serde_json::from_value(details()).unwrap());
        alone.extensions = together.extensions.clone();
        let one = sliding::sync(state, &session(&anna), &alone).await.unwrap();
        let as_json = |r: &v5::Response| {
            let mut sent = serde_json::to_value(&r.rooms[room]).unwrap();
            without_age(&mut sent);
            let receipts = r.extensions.receipts.rooms.get(room);
            (sent, receipts.map(|e| e.json().get().to_owned()))
        };
        assert_eq!(as_json(&all), as_json(&one), "room {room}");
    }
    let receipts = &all.extensions.receipts.rooms;
    assert!(receipts.contains_key(&rooms[0]), "the read receipt is sent");
    // Of the large room's 13 members, Anna gets her own and the sender's member event.
    let members: Vec<String> = all.rooms[&large]
        .required_state
        .iter()
        .filter_map(|e| {
            let e: serde_json::Value = serde_json::from_str(e.json().get()).unwrap();
            (e["type"] == "m.room.member").then(|| e["state_key"].as_str().unwrap().to_owned())
        })
        .collect();
    let mut expected = vec![anna.to_string(), ben.to_string()];
    expected.sort();
    let mut members = members;
    members.sort();
    assert_eq!(members, expected);
}

/// `value` without the events' ages (they grow between two responses).
fn without_age(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(unsigned)) = map.get_mut("unsigned") {
                unsigned.remove("age");
            }
            map.values_mut().for_each(without_age);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_age),
        _ => {}
    }
}
