//! In-memory room state equals the committed state under concurrency: many members join,
//! write and leave one room at once while other tasks read the room's state with cold caches;
//! afterwards every member's cached membership and the member counts equal what the database
//! holds, and so does the stored form of the state the snapshot serves readers (with state
//! events set and redacted meanwhile). The same with joins going together in one commit
//! (`Rooms::send_each`, the admin join of many people) beside single joins and messages, one
//! of them refused. And the newest events a large room keeps in memory equal the stored ones
//! while members write, redact and join at once and after a device is deleted. Runs on
//! SQLite and PostgreSQL.

#[macro_use]
mod support;

use std::sync::Arc;

use ruma::api::client::room::create_room;
use ruma::api::client::room::Visibility;
use ruma::{OwnedUserId, RoomId};
use schulhof_server::service::rooms::user_rooms::UserRooms;
use schulhof_server::service::rooms::{recent, EventTemplate, Rooms};
use schulhof_server::service::{identity::accounts, identity::devices};
use schulhof_server::service::{rooms::create, rooms::membership};
use schulhof_server::state::AppState;
use schulhof_store::StatePart;
use serde_json::json;
use support::{Backend, TestState};

/// Members taking part in each round.
const MEMBERS: usize = 24;
/// Rounds, each on a server state with cold caches.
const ROUNDS: usize = 4;

async fn public_room(state: &AppState, creator: &OwnedUserId) -> ruma::OwnedRoomId {
    let mut request = create_room::v3::Request::new();
    request.preset = Some(create_room::v3::RoomPreset::PublicChat);
    request.visibility = Visibility::Private;
    create::create_room(state, creator, None, &request, &json!({}))
        .await
        .expect("room created")
}

/// Joins, writes and (every third member) leaves again.
async fn member_life(state: Arc<AppState>, room: ruma::OwnedRoomId, user: OwnedUserId, i: usize) {
    membership::join(&state, &user, &room, None)
        .await
        .expect("join");
    let message = EventTemplate::message(
        "m.room.message",
        json!({ "msgtype": "m.text", "body": "Hallo" }),
    );
    Rooms::send(&state, &room, &user, message, None)
        .await
        .expect("a joined member may write");
    if i.is_multiple_of(3) {
        membership::set_membership(&state, &user, &room, &user, "leave", None)
            .await
            .expect("leave");
    }
}

/// `user` redacts `event_id`.
async fn redact(state: &AppState, room: &RoomId, user: &OwnedUserId, event_id: ruma::OwnedEventId) {
    let redaction = EventTemplate {
        kind: "m.room.redaction".into(),
        content: json!({}),
        state_key: None,
        redacts: Some(event_id),
    };
    Rooms::send(state, room, user, redaction, None)
        .await
        .expect("redaction");
}

/// Sets the room's topic a few times and redacts each topic event again.
async fn topics_set_and_redacted(
    state: Arc<AppState>,
    room: ruma::OwnedRoomId,
    teacher: OwnedUserId,
) {
    for i in 0..5 {
        let topic =
            EventTemplate::state("m.room.topic", "", json!({ "topic": format!("Thema {i}") }));
        let sent = Rooms::send(&state, &room, &teacher, topic, None)
            .await
            .expect("topic");
        redact(&state, &room, &teacher, sent.event_id).await;
        tokio::task::yield_now().await;
    }
}

/// Compares the cached snapshot with the database for every member, and the stored state
/// it serves with the database's.
async fn assert_cache_matches_database(state: &AppState, room: &RoomId, users: &[OwnedUserId]) {
    let snapshot = state.rooms.existing(&state.db, room).await.unwrap();
    let served = snapshot
        .stored_state_at(i64::MAX, &StatePart::ALL)
        .expect("every piece of state kept in its stored form");
    let stored = state
        .db
        .state_at(room.as_str(), i64::MAX, &StatePart::ALL)
        .await
        .unwrap();
    let rows = |rows: &[schulhof_store::EventRow]| -> Vec<(i64, String, String)> {
        rows.iter()
            .map(|r| (r.stream_pos, r.event_id.clone(), r.json.clone()))
            .collect()
    };
    assert_eq!(
        rows(&served),
        rows(&stored),
        "served state differs from the database"
    );
    let (mut joined, mut invited) = (0, 0);
    for user in users {
        let stored = state
            .db
            .memberships(user.as_str())
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.room_id == room.as_str())
            .map(|m| m.membership);
        let cached = snapshot.membership(user).map(|m| m.to_string());
        assert_eq!(
            cached, stored,
            "{user}: cached membership differs from the database"
        );
        let synced = UserRooms::of(state, user)
            .await
            .unwrap()
            .iter()
            .find(|m| m.room_id == room.as_str())
            .map(|m| m.membership.clone());
        assert_eq!(
            synced, stored,
            "{user}: /sync's room list differs from the database"
        );
        match stored.as_deref() {
            Some("join") => joined += 1,
            Some("invite") => invited += 1,
            _ => {}
        }
    }
    assert_eq!(snapshot.member_counts(), (joined, invited));
}

/// A teacher (first) and [`MEMBERS`] children, each with an account.
async fn teacher_and_children(state: &AppState) -> Vec<OwnedUserId> {
    let mut users = Vec::with_capacity(MEMBERS + 1);
    for localpart in
        std::iter::once("lehrkraft".to_owned()).chain((0..MEMBERS).map(|i| format!("kind{i}")))
    {
        let user = accounts::create_user(state, &localpart, "Sonne-Mond-42!", None, false)
            .await
            .unwrap();
        users.push(user);
    }
    users
}

async fn concurrent_members_keep_the_cache_exact(backend: Backend) {
    let t = TestState::new(backend, "room_state").await;
    let users = teacher_and_children(&t.state).await;
    let creator = users[0].clone();
    for round in 0..ROUNDS {
        // One server state creates the room and goes away; the next starts with a cold room
        // cache, so the readers below load snapshots from the database while writers commit.
        // (Only one state writes at a time, as the serve lease guarantees for processes.)
        let creating = AppState::new(t.state.config.clone()).await.unwrap();
        let room = public_room(&creating, &creator).await;
        creating.db.close().await;
        drop(creating);
        let state = AppState::new(t.state.config.clone()).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for reader in 0..4 {
            let (state, room, users) = (state.clone(), room.clone(), users.clone());
            tasks.spawn(async move {
                for i in 0..20 * (reader + 1) {
                    state.rooms.existing(&state.db, &room).await.unwrap();
                    // A syncing member's room list, loaded while members join and leave.
                    UserRooms::of(&state, &users[i % users.len()])
                        .await
                        .unwrap();
                    tokio::task::yield_now().await;
                }
            });
        }
        tasks.spawn(topics_set_and_redacted(
            state.clone(),
            room.clone(),
            creator.clone(),
        ));
        for (i, user) in users.iter().skip(1).enumerate() {
            tasks.spawn(member_life(
                state.clone(),
                room.clone(),
                user.clone(),
                i + round,
            ));
        }
        while let Some(result) = tasks.join_next().await {
            result.expect("task");
        }
        assert_cache_matches_database(&state, &room, &users).await;
        state.db.close().await;
    }
}

/// The join event of `user` with `EventTemplate::state`.
fn join_of(user: &OwnedUserId) -> (OwnedUserId, EventTemplate) {
    let content = json!({ "membership": "join" });
    let template = EventTemplate::state("m.room.member", user.as_str(), content);
    (user.clone(), template)
}

async fn joins_together_keep_the_cache_exact(backend: Backend) {
    let t = TestState::new(backend, "joins_together").await;
    let users = teacher_and_children(&t.state).await;
    let creator = users[0].clone();
    let creating = AppState::new(t.state.config.clone()).await.unwrap();
    let room = public_room(&creating, &creator).await;
    // Banned: their join is refused by the room's authorization rules.
    let banned = users[1].clone();
    membership::set_membership(&creating, &creator, &room, &banned, "ban", None)
        .await
        .expect("ban");
    creating.db.close().await;
    drop(creating);
    // Cold caches: the snapshot is loaded while the commits below run.
    let state = AppState::new(t.state.config.clone()).await.unwrap();
    let (together, alone) = users[1..].split_at(MEMBERS / 2);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, user) in alone.iter().enumerate() {
        tasks.spawn(member_life(state.clone(), room.clone(), user.clone(), i));
    }
    let groups: Vec<_> = together.iter().map(|user| vec![join_of(user)]).collect();
    let results = Rooms::send_each(&state, &room, groups)
        .await
        .expect("no server fault");
    while let Some(result) = tasks.join_next().await {
        result.expect("task");
    }
    assert_eq!(results.len(), together.len());
    for (user, result) in together.iter().zip(&results) {
        match result {
            Err(error) if *user == banned => assert_eq!(error.errcode(), "M_FORBIDDEN"),
            Err(error) => panic!("{user} refused: {error}"),
            Ok(()) => assert_ne!(*user, banned, "the banned person joined"),
        }
    }
    let snapshot = state.rooms.existing(&state.db, &room).await.unwrap();
    assert!(snapshot.is_joined(&together[1]), "the others joined");
    assert_cache_matches_database(&state, &room, &users).await;
    state.db.close().await;
}

/// Writes `count` messages from `device` (with transaction IDs), redacting every third.
async fn write_and_redact(
    state: Arc<AppState>,
    room: ruma::OwnedRoomId,
    user: OwnedUserId,
    count: usize,
) {
    for i in 0..count {
        let message = EventTemplate::message(
            "m.room.message",
            json!({ "msgtype": "m.text", "body": format!("Nachricht {i}") }),
        );
        let txn = format!("t{i}");
        let sent = Rooms::send(&state, &room, &user, message, Some(("TELEFON", &txn)))
            .await
            .expect("message");
        if i % 3 == 0 {
            redact(&state, &room, &user, sent.event_id).await;
        }
        tokio::task::yield_now().await;
    }
}

/// Every range the kept newest events of `room` serve equals the store's; returns how many
/// ranges they served.
async fn assert_kept_events_match_database(state: &AppState, room: &RoomId) -> usize {
    let end = state.writer.current();
    let mut served = 0;
    let rows = |rows: &[schulhof_store::EventRow]| -> Vec<_> {
        rows.iter()
            .map(|r| {
                (
                    r.stream_pos,
                    r.event_id.clone(),
                    r.json.clone(),
                    r.txn_device.clone(),
                    r.txn_id.clone(),
                )
            })
            .collect()
    };
    for after in end - 40..=end {
        for size in [1, 3, 11, 16, 20] {
            let Some(kept) = state
                .rooms
                .recent()
                .backward(room.as_str(), after, end, size)
            else {
                continue;
            };
            let stored = state
                .db
                .room_events_backward(room.as_str(), after, end, size)
                .await
                .unwrap();
            assert_eq!(rows(&kept), rows(&stored), "({after}, {end}] × {size}");
            served += 1;
        }
    }
    served
}

async fn large_room_keeps_its_newest_events_exact(backend: Backend) {
    let t = TestState::new(backend, "recent_events").await;
    let users = teacher_and_children(&t.state).await;
    let state = t.state.clone();
    let teacher = users[0].clone();
    let room = public_room(&state, &teacher).await;
    // Enough members (without accounts: joins sent together name whom they like) for the
    // room to keep its newest events.
    let server = teacher.server_name().to_owned();
    let member = move |i: u64| OwnedUserId::try_from(format!("@mitglied{i}:{server}")).unwrap();
    let groups: Vec<_> = (0..recent::MIN_MEMBERS)
        .map(|i| vec![join_of(&member(i))])
        .collect();
    Rooms::send_each(&state, &room, groups).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for writer in &users[1..4] {
        membership::join(&state, writer, &room, None)
            .await
            .expect("join");
        tasks.spawn(write_and_redact(
            state.clone(),
            room.clone(),
            writer.clone(),
            15,
        ));
    }
    let (joining, room_id) = (state.clone(), room.clone());
    tasks.spawn(async move {
        for i in 0..10 {
            let groups = vec![vec![join_of(&member(recent::MIN_MEMBERS + i))]];
            Rooms::send_each(&joining, &room_id, groups).await.unwrap();
            tokio::task::yield_now().await;
        }
    });
    while let Some(result) = tasks.join_next().await {
        result.expect("task");
    }
    assert!(
        assert_kept_events_match_database(&state, &room).await > 0,
        "the large room keeps its newest events"
    );
    // The device that sent the messages goes: its transaction IDs go in both.
    devices::delete_devices(&state, &users[3], &["TELEFON".to_owned()])
        .await
        .unwrap();
    assert!(
        assert_kept_events_match_database(&state, &room).await > 0,
        "the large room still serves its newest events"
    );
}

// Four runtime threads: the members' tasks run truly side by side.
on_both!(
    worker_threads = 4;
    large_room_keeps_its_newest_events_exact,
    joins_together_keep_the_cache_exact,
    concurrent_members_keep_the_cache_exact,
);
