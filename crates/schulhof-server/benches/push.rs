//! Push benchmark, in-process on real databases with a push gateway on loopback (an HTTP
//! server speaking the Push Gateway API). Prints one JSON object per figure:
//!
//! - `push_latency`: from the start of a send (`Rooms::send`, which returns after the
//!   commit) until the gateway has received the notification, for a direct message to a user
//!   with one pusher, median and p99 over 300 messages sent one after another; once for a
//!   user in that one room, once for a user who also has unread messages in 200 other rooms
//!   (the badge count sums them). Goal: ≤ 50 ms after the commit (the figure includes the
//!   send itself, so it bounds that from above).
//! - `push_idle_cpu`: CPU time the whole process used during three idle seconds after the
//!   last notification, with the push sender running (no other job is started). Goal: 0.
//!
//! `cargo bench -p schulhof-server --bench push` (PostgreSQL at `$SCHULHOF_TEST_PG`,
//! default `postgres://postgres@127.0.0.1:5432`; `SCHULHOF_SKIP_PG=1` skips it).

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use axum::routing::post;
use common::{account, cpu_ticks, direct_chat, ms, say};
use schulhof_server::service::push::sender;
use schulhof_server::service::runtime::jobs::Scope;
use schulhof_store::PusherRow;
use serde_json::json;
use support::{Backend, TestState};
use tokio::sync::mpsc;

/// Messages whose push is timed.
const MESSAGES: usize = 300;
/// Messages sent first and not timed (connections, caches).
const WARM_UP: usize = 20;

/// A push gateway on a free loopback port: reports the arrival of each notification.
async fn gateway() -> (String, mpsc::UnboundedReceiver<Instant>) {
    let (arrived, receiver) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/_matrix/push/v1/notify",
        post(move |_body: axum::body::Bytes| {
            let arrived = arrived.clone();
            async move {
                let _ = arrived.send(Instant::now());
                (
                    [(http::header::CONTENT_TYPE, "application/json")],
                    r#"{"rejected":[]}"#,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("gateway port");
    let url = format!(
        "http://{}/_matrix/push/v1/notify",
        listener.local_addr().expect("gateway address")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

async fn push_latency(backend: Backend, other_rooms: usize) {
    let (url, mut arrivals) = gateway().await;
    let sections = format!("[push]\ngateways = [\"{url}\"]\n");
    let test = TestState::with_sections(backend, "bench_push", &sections).await;
    let state = &test.state;
    let anna = account(state, "anna").await;
    let ben = account(state, "ben").await;
    let room = direct_chat(state, &ben, &anna).await;
    for i in 0..other_rooms {
        let other = account(state, &format!("schueler{i}")).await;
        let chat = direct_chat(state, &other, &anna).await;
        say(state, &chat, &other, "Frage").await;
    }
    let pusher = PusherRow {
        user_id: anna.to_string(),
        app_id: "de.schulhof.bench".into(),
        pushkey: "bench".into(),
        device_id: "PHONE".into(),
        kind: "http".into(),
        app_display_name: "Bench".into(),
        device_display_name: "Telefon".into(),
        profile_tag: None,
        lang: "de".into(),
        url,
        data: r#"{"format":"event_id_only"}"#.into(),
        pushkey_ts: 0,
    };
    state.db.set_pusher(&pusher, false).await.expect("pusher");
    state
        .jobs
        .start(state, "push-sender", Scope::Singleton, sender::job);

    let mut latencies = Vec::with_capacity(MESSAGES);
    for i in 0..WARM_UP + MESSAGES {
        let start = Instant::now();
        say(state, &room, &ben, &format!("Nachricht {i}")).await;
        let arrived = tokio::time::timeout(Duration::from_secs(5), arrivals.recv())
            .await
            .expect("the push arrived within 5 s")
            .expect("gateway running");
        if i >= WARM_UP {
            latencies.push(arrived - start);
        }
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    println!(
        "{}",
        json!({
            "figure": "push_latency", "backend": format!("{backend:?}"),
            "rooms_with_unread": other_rooms + 1, "messages": MESSAGES, "median_ms": ms(median), "p99_ms": ms(p99),
            "max_ms": ms(*latencies.last().expect("latencies")),
        })
    );

    if other_rooms > 0 {
        state.jobs.shutdown(Duration::from_secs(2)).await;
        return;
    }
    // Idle: nothing is sent; the sender must not run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_ticks();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_ticks() - before;
    println!(
        "{}",
        json!({
            "figure": "push_idle_cpu", "backend": format!("{backend:?}"),
            "idle_s": 3, "cpu_ticks": used, "extra_calls": arrivals.try_recv().is_ok(),
        })
    );
    state.jobs.shutdown(Duration::from_secs(2)).await;
}

fn main() {
    common::block_on(async {
        for other_rooms in [0, 200] {
            for backend in common::backends() {
                push_latency(backend, other_rooms).await;
            }
        }
    });
}
