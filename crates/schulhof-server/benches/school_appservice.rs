//! School appservice benchmark: the first reconcile of a school of about 3,000 people in about
//! 150 groups against a real Schulhof (in-process, served on loopback, on SQLite and
//! PostgreSQL), then a reconcile without changes. The appservice is the real one
//! (`schulhof-appservice`): it reads the directory through Schulhof's directory read, the
//! rooms back through the Client-Server API, and applies the plan over HTTP. Prints one JSON
//! object per engine. Goals: first reconcile ≤ 10 s, no-change reconcile ≤ 1 s.
//!
//! `cargo bench -p schulhof-server --bench school_appservice` (PostgreSQL at
//! `$SCHULHOF_TEST_PG`, default `postgres://postgres@127.0.0.1:5432`; `SCHULHOF_SKIP_PG=1`
//! skips it).

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use common::ms;
use schulhof_appservice::{Appservice, Config, DirectorySource, Registration};
use schulhof_server::service::appservice::accounts::ensure_senders;
use serde_json::json;
use support::{Backend, TestState};

/// The registration of the school appservice (no URL: the benchmark measures reconciling,
/// not the bot).
const REGISTRATION: &str = r##"id: schulhof-schule
url: null
as_token: as-bench-schule
hs_token: hs-bench-schule
sender_localpart: schulhof-schule
rate_limited: false
de.schulhof.admin_join: any
namespaces:
  aliases:
    - exclusive: true
      regex: "#schule_.*:schule\\.test"
"##;

async fn run(backend: Backend) -> serde_json::Value {
    let test = TestState::with_settings(backend, "bench_school_as", |dir| {
        let file = dir.join("schule.yaml");
        std::fs::write(&file, REGISTRATION).unwrap();
        format!(
            "appservices = [{:?}]\nschool_appservice = {{ registration = \"schulhof-schule\" }}",
            file.display().to_string()
        )
    })
    .await;
    let state = test.state.clone();
    ensure_senders(&state).await.expect("bot account");
    common::import_synthetic_school(&state).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(schulhof_server::serve(state.clone(), listener));

    let registration = Registration::parse(REGISTRATION).expect("registration");
    let appservice = Appservice::connect(
        &url,
        registration,
        Config::default(),
        DirectorySource::Schulhof,
    )
    .await
    .expect("connect");
    let directory = DirectorySource::Schulhof
        .read(&appservice.homeserver)
        .await
        .expect("directory")
        .directory;
    let started = Instant::now();
    let first = appservice
        .reconcile(&directory)
        .await
        .expect("first reconcile");
    let first_ms = ms(started.elapsed());
    assert!(
        first.applied.failed.is_empty(),
        "{:?}",
        first.applied.failed
    );
    let mut unchanged = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let again = appservice.reconcile(&directory).await.expect("reconcile");
        unchanged.push(ms(started.elapsed()));
        assert_eq!(again.planned, 0, "a second reconcile changes nothing");
    }
    unchanged.sort_by(f64::total_cmp);
    let memberships: usize = schulhof_appservice::desired(&directory, &Config::default())
        .rooms
        .values()
        .map(|r| r.members.len())
        .sum();
    json!({
        "engine": format!("{backend:?}"),
        "people": directory.people.len(),
        "groups": directory.groups.len(),
        "memberships": memberships,
        "first_reconcile": { "changes": first.planned, "ms": first_ms },
        "no_change_reconcile_ms": { "median": unchanged[2], "max": unchanged[4] },
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("{}", run(Backend::Sqlite).await);
    if std::env::var("SCHULHOF_SKIP_PG").is_ok_and(|v| v == "1") {
        return;
    }
    println!("{}", run(Backend::Postgres).await);
}
