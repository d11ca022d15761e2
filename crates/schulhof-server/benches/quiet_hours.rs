//! Quiet-hours benchmark, in-process on real databases. Prints one JSON object per figure:
//!
//! - `hold_decision`: what the hold decision adds to a send (a student's message on Friday
//!   evening into a direct chat with a teacher and into a class room of 30; a teacher's message,
//!   which is never held), on a synthetic school of about 3,000 people. Goal: ≤ 5 µs.
//! - `release`: releasing 100,000 held events for 200 teachers at one instant, until every
//!   teacher's waiting sync is woken. Goal: ≤ 5 s.
//! - `sync_with_holds`: a teacher's incremental `/sync` after one new message, with 0 and with
//!   10,000 events held for them. Goal: the same cost.
//!
//! `cargo bench -p schulhof-server --bench quiet_hours` (PostgreSQL at `$SCHULHOF_TEST_PG`,
//! default `postgres://postgres@127.0.0.1:5432`; `SCHULHOF_SKIP_PG=1` skips it).

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{account, ms, say, session, us};
use ruma::api::client::filter::FilterDefinition;
use ruma::api::client::room::create_room;
use ruma::{OwnedRoomId, OwnedUserId, RoomId, UserId};
use schulhof_server::service::quiet_hours::release;
use schulhof_server::service::rooms::create;
use schulhof_server::service::rooms::{membership, Rooms};
use schulhof_server::service::school::directory::refusal;
use schulhof_server::service::sync::{self, SinceToken, SyncParams};
use schulhof_server::state::AppState;
use schulhof_store::{Db, NewEvent, NewHold};
use serde_json::{json, Value};
use support::{Backend, TestState};

/// Friday, 4 December 2026, 20:00 in Berlin: quiet hours of the built-in school schedule.
const FRIDAY_EVENING: i64 = 1_796_410_800_000;
/// Teachers whose held events are released at once.
const TEACHERS: usize = 200;
/// Events held for each of them.
const HELD_PER_TEACHER: usize = 500;
/// Events held for the teacher of the sync comparison.
const MANY_HELD: usize = 10_000;

/// A room `owner` creates with `members` joined.
async fn room(
    state: &AppState,
    owner: &UserId,
    members: &[OwnedUserId],
    direct: bool,
) -> OwnedRoomId {
    let mut request = create_room::v3::Request::new();
    request.invite = members.to_vec();
    request.is_direct = direct;
    let room = create::create_room(state, owner, None, &request, &json!({}))
        .await
        .expect("room");
    for member in members {
        membership::join(state, member, &room, None)
            .await
            .expect("join");
    }
    room
}

/// Stores `count` messages from `sender` into `room`, each held for `recipient` until
/// `release_ts`, through the commit path in batches (the set-up of 100,000 sends).
async fn held_messages(
    state: &AppState,
    room: &RoomId,
    sender: &UserId,
    recipient: &UserId,
    count: usize,
    release_ts: i64,
) {
    let mut left = count;
    while left > 0 {
        let batch = left.min(5_000);
        left -= batch;
        state
            .writer
            .commit(state, async |c| {
                for _ in 0..batch {
                    let pos = c.next_pos();
                    let event_id = format!("$held{pos}");
                    let json = json!({
                        "event_id": event_id, "room_id": room, "sender": sender,
                        "type": "m.room.message", "origin_server_ts": FRIDAY_EVENING,
                        "content": { "msgtype": "m.text", "body": "Frage zur Hausaufgabe" },
                    })
                    .to_string();
                    let event = NewEvent {
                        stream_pos: pos,
                        event_id: &event_id,
                        room_id: room.as_str(),
                        sender: sender.as_str(),
                        event_type: "m.room.message",
                        state_key: None,
                        membership: None,
                        origin_server_ts: FRIDAY_EVENING,
                        json: &json,
                        txn: None,
                        relation: None,
                    };
                    Db::insert_event(c.tx(), &event).await?;
                    let hold = NewHold {
                        recipient: recipient.as_str(),
                        event_pos: pos,
                        room_id: room.as_str(),
                        sender: sender.as_str(),
                        release_ts,
                        notify: true,
                        highlight: false,
                        shared_group: false,
                        push_tweaks: None,
                    };
                    Db::insert_hold(c.tx(), &hold).await?;
                }
                Ok(())
            })
            .await
            .expect("held messages stored");
    }
}

/// One `/sync` of `user` (incremental from `since`, initial without); the response.
async fn sync_once(state: &AppState, user: &UserId, since: Option<&str>) -> Value {
    let params = SyncParams {
        since: since.map(|s| SinceToken::parse(s).expect("token")),
        full_state: false,
        timeout: Duration::ZERO,
        filter: FilterDefinition::default(),
    };
    let bytes = sync::sync(state, &session(user), params)
        .await
        .expect("sync");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// The hold decision on a synthetic school (SQLite): per call, for a student's message into
/// a direct chat and into a class room in quiet hours, and for a teacher's message.
async fn hold_decision() {
    let test = TestState::new(Backend::Sqlite, "bench_hold").await;
    let state = &*test.state;
    common::import_synthetic_school(state).await;
    let directory = state.directory.snapshot();
    let people = state.db.load_directory().await.unwrap().people;
    let of_role = |role: schulhof_directory::Role| -> Vec<OwnedUserId> {
        people
            .values()
            .filter(|p| p.role == role)
            .map(|p| UserId::parse(format!("@{}:schule.test", p.localpart)).unwrap())
            // People the school lets use Schulhof (the synthetic school has some without
            // consent).
            .filter(|user| refusal(state, user).is_none())
            .collect()
    };
    let teachers = of_role(schulhof_directory::Role::Teacher);
    let students = of_role(schulhof_directory::Role::Student);
    let (teacher, student) = (&teachers[0], &students[0]);
    let direct = room(state, student, std::slice::from_ref(teacher), true).await;
    let class: Vec<OwnedUserId> = students[..28]
        .iter()
        .chain(&teachers[1..2])
        .cloned()
        .collect();
    let class_room = room(state, teacher, &class, false).await;
    let mut figures = serde_json::Map::new();
    for (name, room_id, sender) in [
        ("student_direct_chat", &direct, student),
        ("student_class_room_30", &class_room, student),
        ("teacher_class_room_30", &class_room, teacher),
    ] {
        say(state, room_id, sender, "Hallo").await;
        let event = state
            .db
            .last_room_event(room_id.as_str())
            .await
            .unwrap()
            .unwrap();
        let pdu = Rooms::parse(&event.json).unwrap();
        let snapshot = state.rooms.existing(&state.db, room_id).await.unwrap();
        let rounds = 100_000;
        let started = Instant::now();
        let mut held = 0;
        for _ in 0..rounds {
            held += black_box(state.quiet_hours.holds(
                &directory,
                &snapshot,
                sender,
                &pdu,
                FRIDAY_EVENING,
            ))
            .len();
        }
        let per_call = started.elapsed() / rounds;
        figures.insert(
            name.to_owned(),
            json!({ "per_send_us": us(per_call), "held_recipients": held / rounds as usize }),
        );
    }
    println!(
        "{}",
        json!({ "bench": "hold_decision", "goal_us": 5, "figures": figures })
    );
}

/// Releasing 100,000 held events for 200 teachers, and a teacher's incremental sync with 0
/// and 10,000 held events.
async fn release_and_sync(backend: Backend) {
    let test = TestState::new(backend, "bench_release").await;
    let state = &*test.state;
    let mut teachers = Vec::new();
    let mut rooms = Vec::new();
    for i in 0..TEACHERS {
        let teacher = account(state, &format!("lehrkraft{i}")).await;
        let student = account(state, &format!("kind{i}")).await;
        let room = room(state, &student, std::slice::from_ref(&teacher), true).await;
        held_messages(
            state,
            &room,
            &student,
            &teacher,
            HELD_PER_TEACHER,
            FRIDAY_EVENING,
        )
        .await;
        teachers.push(teacher);
        rooms.push(room);
    }
    let tokens: Vec<String> = {
        let mut tokens = Vec::new();
        for teacher in &teachers {
            let first = sync_once(state, teacher, None).await;
            tokens.push(first["next_batch"].as_str().unwrap().to_owned());
        }
        tokens
    };
    let mut woken: Vec<_> = teachers
        .iter()
        .map(|t| state.notifier.subscribe(t.as_str()))
        .collect();
    let started = Instant::now();
    release::release_due(state, FRIDAY_EVENING + 1)
        .await
        .expect("released");
    let released = started.elapsed();
    let all_woken = woken.iter_mut().all(|rx| rx.has_changed().unwrap_or(false));
    let wake_time = started.elapsed();
    let after = sync_once(state, &teachers[0], Some(&tokens[0])).await;
    let arrived = after["rooms"]["join"][rooms[0].as_str()]["timeline"]["events"]
        .as_array()
        .map_or(0, Vec::len);
    let unread =
        &after["rooms"]["join"][rooms[0].as_str()]["unread_notifications"]["notification_count"];
    println!(
        "{}",
        json!({
            "bench": "release", "backend": format!("{backend:?}"), "goal_ms": 5000,
            "teachers": TEACHERS, "events": TEACHERS * HELD_PER_TEACHER,
            "release_ms": ms(released), "all_syncs_woken": all_woken, "woken_after_ms": ms(wake_time),
            "first_teacher_timeline_events": arrived, "first_teacher_unread": unread,
        })
    );

    // A teacher with 10,000 events held and one with none, in one staff room.
    let busy = account(state, "lehrkraft_viel").await;
    let idle = account(state, "lehrkraft_nichts").await;
    let colleague = account(state, "lehrkraft_kollegin").await;
    let student = account(state, "kind_viel").await;
    let chat = room(state, &student, std::slice::from_ref(&busy), true).await;
    held_messages(state, &chat, &student, &busy, MANY_HELD, i64::MAX).await;
    // The same rooms for both: a direct chat (nothing held for this one) and the staff room.
    room(state, &student, std::slice::from_ref(&idle), true).await;
    let staff = room(state, &colleague, &[busy.clone(), idle.clone()], false).await;
    let mut figures = serde_json::Map::new();
    for (name, teacher) in [("held_0", &idle), ("held_10000", &busy)] {
        let mut token = sync_once(state, teacher, None).await["next_batch"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut times = Vec::new();
        for i in 0..200 {
            say(state, &staff, &colleague, &format!("Konferenz {i}")).await;
            let started = Instant::now();
            let response = sync_once(state, teacher, Some(&token)).await;
            times.push(started.elapsed());
            token = response["next_batch"].as_str().unwrap().to_owned();
        }
        times.sort();
        figures.insert(
            name.to_owned(),
            json!({ "median_ms": ms(times[times.len() / 2]), "p99_ms": ms(times[times.len() * 99 / 100]) }),
        );
    }
    println!(
        "{}",
        json!({ "bench": "sync_with_holds", "backend": format!("{backend:?}"), "figures": figures })
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        hold_decision().await;
        release_and_sync(Backend::Sqlite).await;
        if std::env::var("SCHULHOF_SKIP_PG").is_ok_and(|v| v == "1") {
            eprintln!("PostgreSQL skipped (SCHULHOF_SKIP_PG=1)");
        } else {
            release_and_sync(Backend::Postgres).await;
        }
    });
}
