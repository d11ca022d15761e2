//! What the server benchmarks share: accounts without passwords (no Argon2 in the set-up),
//! sending a message, a session, the synthetic school of about 3,000 people, and figures
//! rounded for the printed JSON.

#![allow(dead_code)]

use std::time::Duration;

use ruma::api::client::room::create_room;
use ruma::{OwnedRoomId, OwnedUserId, RoomId, UserId};
use schulhof_server::ruma_wrapper::Session;
use schulhof_server::service::rooms::{create, membership, EventTemplate, Rooms};
use schulhof_server::state::AppState;
use schulhof_store::UserRow;
use serde_json::json;

/// The school of about 3,000 people in about 150 groups
/// ([`SyntheticSchool::large`](schulhof_directory::SyntheticSchool::large) with seed 42).
pub fn synthetic_school() -> schulhof_directory::SyntheticSchool {
    schulhof_directory::SyntheticSchool::large(42)
}

/// Imports [`synthetic_school`] into `state`.
pub async fn import_synthetic_school(state: &AppState) {
    let file = schulhof_directory::parse_csv(synthetic_school().csv().as_bytes()).expect("valid");
    schulhof_server::service::school::import::apply(state, &file, "bench")
        .await
        .expect("no database error")
        .expect("importable");
}

/// A duration in milliseconds, one decimal.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

/// A duration in microseconds, one decimal.
pub fn us(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 10.0
}

/// An account without password, on `schule.test`.
pub async fn account(state: &AppState, localpart: &str) -> OwnedUserId {
    let user_id = format!("@{localpart}:schule.test");
    let row = UserRow {
        user_id: user_id.clone(),
        password_hash: None,
        displayname: Some(localpart.to_owned()),
        avatar_url: None,
        is_admin: false,
        deactivated: false,
    };
    state.db.create_user(&row, 0).await.expect("account");
    UserId::parse(user_id).expect("user ID")
}

/// Sends one text message from `sender` into `room`.
pub async fn say(state: &AppState, room: &RoomId, sender: &UserId, body: &str) {
    let message = EventTemplate::message(
        "m.room.message",
        json!({ "msgtype": "m.text", "body": body }),
    );
    Rooms::send(state, room, sender, message, None)
        .await
        .expect("sent");
}

/// A session of `user` on the device `BENCH`.
pub fn session(user: &UserId) -> Session {
    Session {
        user_id: user.to_owned(),
        device_id: "BENCH".into(),
        appservice: None,
    }
}

/// CPU time (user + system) of this process so far, in clock ticks of /proc.
pub fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat format")
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15; after the command's ")" they are the 12th and 13th.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// A direct chat `from` opens with `to`, who joins.
pub async fn direct_chat(state: &AppState, from: &UserId, to: &OwnedUserId) -> OwnedRoomId {
    let mut request = create_room::v3::Request::new();
    request.invite = vec![to.clone()];
    request.is_direct = true;
    let room = create::create_room(state, from, None, &request, &json!({}))
        .await
        .expect("room");
    membership::join(state, to, &room, None)
        .await
        .expect("join");
    room
}

/// The engines a benchmark runs on: SQLite, and PostgreSQL unless `SCHULHOF_SKIP_PG=1`.
pub fn backends() -> Vec<crate::support::Backend> {
    if std::env::var("SCHULHOF_SKIP_PG").is_ok_and(|v| v == "1") {
        eprintln!("PostgreSQL skipped (SCHULHOF_SKIP_PG=1)");
        vec![crate::support::Backend::Sqlite]
    } else {
        vec![
            crate::support::Backend::Sqlite,
            crate::support::Backend::Postgres,
        ]
    }
}

/// Runs a benchmark on a multi-threaded runtime.
pub fn block_on(bench: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(bench);
}
