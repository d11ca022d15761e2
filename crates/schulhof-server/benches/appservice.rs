//! Appservice transaction benchmark, in-process on real databases with a real appservice
//! (an HTTP server on loopback). Prints one JSON object per engine:
//!
//! - `send_to_sync_without_appservice` / `…_with_appservice`: from the start of a send until
//!   the other member's waiting `/sync` returns it, on a server without any appservice and on
//!   one with an appservice interested in the room (one of its users is joined; its sender job
//!   delivers every event over HTTP meanwhile). Sends alternate between both servers, so both
//!   see the same load of the machine. Goal: the appservice adds ≤ 1 ms at p99.
//! - `commit_to_transaction`: from the end of the send (committed) until the appservice has
//!   received the event in a transaction.
//!
//! `cargo bench -p schulhof-server --bench appservice` (PostgreSQL at `$SCHULHOF_TEST_PG`,
//! default `postgres://postgres@127.0.0.1:5432`; `SCHULHOF_SKIP_PG=1` skips it).

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::put;
use axum::Router;
use common::{account, ms, say, session};
use ruma::api::client::filter::FilterDefinition;
use ruma::api::client::room::create_room;
use ruma::{OwnedUserId, UserId};
use schulhof_server::service::appservice::sender;
use schulhof_server::service::rooms::{create, membership};
use schulhof_server::service::runtime::jobs::Scope;
use schulhof_server::service::sync::{self, SinceToken, SyncParams};
use schulhof_server::state::AppState;
use serde_json::{json, Value};
use support::{Backend, TestState};

/// Measured sends per configuration (after a warm-up of a tenth as many).
const SENDS: usize = 1000;

/// When the appservice received each message body.
type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;

/// Median and p99 of `times`, in ms.
fn percentiles(mut times: Vec<Duration>) -> Value {
    times.sort();
    json!({
        "median_ms": ms(times[times.len() / 2]),
        "p99_ms": ms(times[times.len() * 99 / 100]),
    })
}

/// The appservice: answers every transaction 200 and notes when each message arrived.
async fn start_appservice() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .route(
            "/_matrix/app/v1/transactions/{txn_id}",
            put(
                |State(arrivals): State<Arrivals>, body: axum::body::Bytes| async move {
                    let now = Instant::now();
                    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let mut arrivals = arrivals.lock().unwrap();
                    for event in body["events"].as_array().into_iter().flatten() {
                        if let Some(text) = event["content"]["body"].as_str() {
                            arrivals.push((text.to_owned(), now));
                        }
                    }
                    "{}"
                },
            ),
        )
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, arrivals)
}

/// A `/sync` of `user` from `since` waiting up to 10 s; the response and when it returned.
async fn sync_waiting(state: Arc<AppState>, user: OwnedUserId, since: String) -> (Value, Instant) {
    let params = SyncParams {
        since: Some(SinceToken::parse(&since).expect("token")),
        full_state: false,
        timeout: Duration::from_secs(10),
        filter: FilterDefinition::default(),
    };
    let bytes = sync::sync(&state, &session(&user), params)
        .await
        .expect("sync");
    let returned = Instant::now();
    (serde_json::from_slice(&bytes).expect("JSON"), returned)
}

/// One server state with a room of three members and a receiver waiting in `/sync`.
struct Setup {
    _test: TestState,
    state: Arc<AppState>,
    room: ruma::OwnedRoomId,
    sender: OwnedUserId,
    receiver: OwnedUserId,
    since: String,
    /// With an interested appservice: what it received.
    arrivals: Option<Arrivals>,
}

impl Setup {
    /// A state on `backend`, with an appservice interested in the room (its user
    /// `@bruecke_ben` is the third member) or without any appservice.
    async fn new(backend: Backend, with_appservice: bool) -> Setup {
        let (url, arrivals) = start_appservice().await;
        let name = if with_appservice {
            "bench_as_on"
        } else {
            "bench_as_off"
        };
        let test = TestState::with_settings(backend, name, |dir| {
            if !with_appservice {
                return String::new();
            }
            let file = dir.join("bruecke.yaml");
            std::fs::write(
                &file,
                format!(
                    "id: bruecke\nurl: \"{url}\"\nas_token: as-bench\nhs_token: hs-bench\n\
                     sender_localpart: bruecke\nnamespaces:\n  users:\n    - exclusive: true\n      \
                     regex: \"@bruecke_.*:schule\\\\.test\"\n"
                ),
            )
            .unwrap();
            format!("appservices = [{:?}]", file.display().to_string())
        })
        .await;
        let state = test.state.clone();
        state
            .jobs
            .start(&state, "appservice-sender", Scope::Singleton, sender::job);
        let sender = account(&state, "anna").await;
        let receiver = account(&state, "ben").await;
        let third = account(&state, "bruecke_ben").await;
        let mut request = create_room::v3::Request::new();
        request.invite = vec![receiver.clone(), third.clone()];
        let room = create::create_room(&state, &sender, None, &request, &json!({}))
            .await
            .expect("room");
        for member in [&receiver, &third] {
            membership::join(&state, member, &room, None)
                .await
                .expect("join");
        }
        let since = sync_once(&state, &receiver).await;
        Setup {
            _test: test,
            state,
            room,
            sender,
            receiver,
            since,
            arrivals: with_appservice.then_some(arrivals),
        }
    }

    /// Sends message `body` while the receiver waits in `/sync`: the send→sync latency and,
    /// with the appservice, the time from commit until it received the message (waited for,
    /// so the next measurement starts quiet).
    async fn send(&mut self, body: &str) -> (Duration, Option<Duration>) {
        let waiting = tokio::spawn(sync_waiting(
            self.state.clone(),
            self.receiver.clone(),
            self.since.clone(),
        ));
        // Let the sync subscribe and wait before the message is sent.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let started = Instant::now();
        say(&self.state, &self.room, &self.sender, body).await;
        let committed = Instant::now();
        let (response, returned) = waiting.await.expect("sync task");
        self.since = response["next_batch"].as_str().expect("token").to_owned();
        let arrival = match &self.arrivals {
            None => None,
            Some(arrivals) => {
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    let found = arrivals
                        .lock()
                        .unwrap()
                        .iter()
                        .find(|(text, _)| text == body)
                        .map(|(_, at)| at.saturating_duration_since(committed));
                    if found.is_some() || Instant::now() > deadline {
                        break found;
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            }
        };
        (returned - started, arrival)
    }
}

async fn sync_once(state: &AppState, user: &UserId) -> String {
    let params = SyncParams {
        since: None,
        full_state: false,
        timeout: Duration::ZERO,
        filter: FilterDefinition::default(),
    };
    let bytes = sync::sync(state, &session(user), params)
        .await
        .expect("sync");
    let response: Value = serde_json::from_slice(&bytes).expect("JSON");
    response["next_batch"].as_str().expect("token").to_owned()
}

/// Sends alternately without and with the appservice (so both see the same load on the
/// machine) and prints the figures.
async fn run(backend: Backend) {
    let mut without = Setup::new(backend, false).await;
    let mut with = Setup::new(backend, true).await;
    let (mut plain, mut served, mut delivery) = (Vec::new(), Vec::new(), Vec::new());
    let warm_up = SENDS / 10;
    for i in 0..warm_up + SENDS {
        let body = format!("Nachricht {i}");
        let (latency, _) = without.send(&body).await;
        let (latency_with, arrival) = with.send(&body).await;
        if i >= warm_up {
            plain.push(latency);
            served.push(latency_with);
            delivery.push(arrival.expect("the appservice received the message"));
        }
    }
    for setup in [&without, &with] {
        setup.state.jobs.shutdown(Duration::from_secs(5)).await;
    }
    println!(
        "{}",
        json!({
            "bench": "appservice_transactions", "backend": format!("{backend:?}"),
            "goal": "≤ 1 ms more p99 send→sync with an interested appservice",
            "sends": SENDS,
            "send_to_sync_without_appservice": percentiles(plain),
            "send_to_sync_with_appservice": percentiles(served),
            "commit_to_transaction": percentiles(delivery),
        })
    );
}

fn main() {
    common::block_on(async {
        for backend in common::backends() {
            run(backend).await;
        }
    });
}
