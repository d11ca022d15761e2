//! Sliding-sync benchmark (MSC4186), in-process on real databases, timing the service call
//! the endpoint makes (server time, no HTTP). Prints one JSON object per figure:
//!
//! - `sliding_first_response`: a new connection's first response for a user in 200 rooms
//!   (each with a message), with Element X's room-list request (timeline limit 1, its
//!   required state, account data, receipts and typing), once for a list of the first 20
//!   rooms (Element X's first request) and once for all 200; median and p99 of 20.
//!   Goal: ≤ 30 ms.
//! - `sliding_incremental`: the response from the previous position after one new message in
//!   one of the 200 rooms; median and p99 of 200. Goal: ≤ 2 ms.
//! - `sliding_queries`: the database statements of one more (untimed) response of each kind,
//!   counted from sqlx's statement log: how many, their summed time, and per statement kind.
//! - `sliding_idle_cpu`: CPU time of the whole process during three idle seconds while 1,000
//!   connections (1,000 users, one room each) wait in a long-poll. Goal: 0.
//!
//! `cargo bench -p schulhof-server --bench sliding_sync` (PostgreSQL at `$SCHULHOF_TEST_PG`,
//! default `postgres://postgres@127.0.0.1:5432`; `SCHULHOF_SKIP_PG=1` skips it).

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{account, cpu_ticks, direct_chat, ms, say, session, us};
use ruma::api::client::sync::sync_events::v5;
use ruma::{OwnedRoomId, OwnedUserId};
use schulhof_server::service::sync::sliding;
use schulhof_server::state::AppState;
use serde_json::json;
use support::{Backend, TestState};
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Rooms of the user whose responses are timed.
const ROOMS: usize = 200;
/// First responses timed per list size.
const FIRST_RESPONSES: usize = 20;
/// Incremental responses timed.
const INCREMENTAL: usize = 200;
/// Idle long-polling connections.
const IDLE_CONNECTIONS: usize = 1_000;

/// Element X's room-list request with a list of the first `size` rooms.
fn room_list_request(size: u32, pos: Option<String>, timeout_ms: u64) -> v5::Request {
    let list = json!({
        "ranges": [[0, size - 1]],
        "timeline_limit": 1,
        "required_state": [
            ["m.room.encryption", ""], ["m.room.member", "$LAZY"], ["m.room.member", "$ME"],
            ["m.room.name", ""], ["m.room.topic", ""], ["m.room.avatar", ""],
            ["m.room.canonical_alias", ""], ["m.room.power_levels", ""],
            ["m.room.join_rules", ""], ["m.room.create", ""], ["m.room.history_visibility", ""],
        ],
    });
    let extensions = json!({
        "account_data": { "enabled": true },
        "receipts": { "enabled": true },
        "typing": { "enabled": true },
    });
    let mut request = v5::Request::new();
    request.conn_id = Some("room-list".to_owned());
    request.lists.insert(
        "all_rooms".to_owned(),
        serde_json::from_value(list).expect("list"),
    );
    request.extensions = serde_json::from_value(extensions).expect("extensions");
    request.pos = pos;
    request.timeout = Some(Duration::from_millis(timeout_ms));
    request
}

/// The statements sqlx reports while switched on: per statement summary, how many and their
/// summed time in seconds. Switched off, sqlx's log costs nothing (the callsite is disabled).
#[derive(Default)]
struct QueryLog {
    on: AtomicBool,
    seen: Mutex<BTreeMap<String, (usize, f64)>>,
}

/// The fields of one sqlx statement event.
#[derive(Default)]
struct Statement {
    summary: String,
    secs: f64,
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.summary = value.to_owned();
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.secs = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.summary = format!("{value:?}");
        }
    }
}

impl QueryLog {
    /// Counts the statements `work` makes: `(count, milliseconds, per summary)`.
    async fn count<T, E: std::fmt::Debug>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> serde_json::Value {
        self.seen.lock().expect("log").clear();
        self.on.store(true, Ordering::SeqCst);
        work.await.expect("counted response");
        self.on.store(false, Ordering::SeqCst);
        let seen = std::mem::take(&mut *self.seen.lock().expect("log"));
        let total: usize = seen.values().map(|(n, _)| n).sum();
        let secs: f64 = seen.values().map(|(_, s)| s).sum();
        let kinds: BTreeMap<String, serde_json::Value> = seen
            .into_iter()
            .map(|(k, (n, s))| (k, json!({ "count": n, "ms": (s * 1e4).round() / 10.0 })))
            .collect();
        json!({ "statements": total, "ms": (secs * 1e4).round() / 10.0, "by_kind": kinds })
    }
}

impl<S: Subscriber> Layer<S> for &'static QueryLog {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.target() == "sqlx::query" {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target() == "sqlx::query" && self.on.load(Ordering::SeqCst)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut statement = Statement::default();
        event.record(&mut statement);
        let summary: String = statement.summary.chars().take(60).collect();
        let mut seen = self.seen.lock().expect("log");
        let entry = seen.entry(summary).or_default();
        entry.0 += 1;
        entry.1 += statement.secs;
    }
}

/// The process's statement log, installed once.
fn query_log() -> &'static QueryLog {
    static LOG: std::sync::OnceLock<&'static QueryLog> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log: &'static QueryLog = Box::leak(Box::default());
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(log))
            .expect("one subscriber");
        log
    })
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

/// Anna in [`ROOMS`] direct chats, each with a message from the other person.
async fn user_in_rooms(state: &AppState) -> (OwnedUserId, Vec<(OwnedRoomId, OwnedUserId)>) {
    let anna = account(state, "anna").await;
    let mut rooms = Vec::new();
    for i in 0..ROOMS {
        let other = account(state, &format!("schueler{i}")).await;
        let room = direct_chat(state, &other, &anna).await;
        say(state, &room, &other, "Frage").await;
        rooms.push((room, other));
    }
    (anna, rooms)
}

async fn responses(backend: Backend) {
    let test = TestState::new(backend, "bench_sliding").await;
    let state = &test.state;
    let (anna, rooms) = user_in_rooms(state).await;
    let me = session(&anna);

    for size in [20, ROOMS as u32] {
        let mut times = Vec::new();
        for _ in 0..FIRST_RESPONSES + 2 {
            let request = room_list_request(size, None, 0);
            let start = Instant::now();
            let response = sliding::sync(state, &me, &request).await.expect("first");
            times.push(start.elapsed());
            assert_eq!(response.rooms.len(), size as usize);
        }
        let (median, p99) = percentiles(times.split_off(2));
        println!(
            "{}",
            json!({
                "figure": "sliding_first_response", "backend": format!("{backend:?}"),
                "rooms": ROOMS, "list_size": size, "median_ms": ms(median), "p99_ms": ms(p99),
            })
        );
        let request = room_list_request(size, None, 0);
        let queries = query_log().count(sliding::sync(state, &me, &request)).await;
        println!(
            "{}",
            json!({
                "figure": "sliding_queries", "backend": format!("{backend:?}"),
                "response": format!("first, list of {size}"), "queries": queries,
            })
        );
    }

    let first = sliding::sync(state, &me, &room_list_request(ROOMS as u32, None, 0))
        .await
        .expect("first");
    let mut pos = first.pos;
    let mut times = Vec::new();
    for i in 0..INCREMENTAL + 10 {
        let (room, other) = &rooms[i % ROOMS];
        say(state, room, other, &format!("Nachricht {i}")).await;
        let request = room_list_request(ROOMS as u32, Some(pos), 0);
        let start = Instant::now();
        let response = sliding::sync(state, &me, &request)
            .await
            .expect("incremental");
        times.push(start.elapsed());
        assert_eq!(response.rooms.len(), 1, "one room with news");
        pos = response.pos;
    }
    let (median, p99) = percentiles(times.split_off(10));
    println!(
        "{}",
        json!({
            "figure": "sliding_incremental", "backend": format!("{backend:?}"), "rooms": ROOMS,
            "responses": INCREMENTAL, "median_us": us(median), "p99_us": us(p99),
        })
    );
    let (room, other) = &rooms[0];
    say(state, room, other, "Gezählt").await;
    let request = room_list_request(ROOMS as u32, Some(pos), 0);
    let queries = query_log().count(sliding::sync(state, &me, &request)).await;
    println!(
        "{}",
        json!({
            "figure": "sliding_queries", "backend": format!("{backend:?}"),
            "response": "incremental", "queries": queries,
        })
    );
    state.jobs.shutdown(Duration::from_secs(2)).await;
}

async fn idle(backend: Backend) {
    let test = TestState::new(backend, "bench_sliding_idle").await;
    let state = test.state.clone();
    let mut positions = Vec::new();
    for i in 0..IDLE_CONNECTIONS {
        let user = account(&state, &format!("telefon{i}")).await;
        let first = sliding::sync(&state, &session(&user), &room_list_request(20, None, 0))
            .await
            .expect("first");
        positions.push((user, first.pos));
    }
    let waiting: Vec<_> = positions
        .into_iter()
        .map(|(user, pos)| {
            let state: Arc<AppState> = state.clone();
            tokio::spawn(async move {
                let request = room_list_request(20, Some(pos), 60_000);
                sliding::sync(&state, &session(&user), &request)
                    .await
                    .map(|r| r.rooms.len())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_ticks();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_ticks() - before;
    let returned = waiting.iter().filter(|w| w.is_finished()).count();
    println!(
        "{}",
        json!({
            "figure": "sliding_idle_cpu", "backend": format!("{backend:?}"),
            "connections": IDLE_CONNECTIONS, "idle_s": 3, "cpu_ticks": used,
            "returned_early": returned,
        })
    );
    for w in waiting {
        w.abort();
    }
    state.jobs.shutdown(Duration::from_secs(2)).await;
}

fn main() {
    common::block_on(async {
        for backend in common::backends() {
            responses(backend).await;
            idle(backend).await;
        }
    });
}
