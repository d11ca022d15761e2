//! End-to-end test harness for the Schulhof homeserver.
//!
//! Every scenario runs against a freshly started `schulhof serve` (SQLite or PostgreSQL) with
//! a [`openapi_check::ValidatingProxy`] in front, and talks to it with the real Matrix client
//! library matrix-sdk (plus raw HTTP where the exact status code matters). After a scenario,
//! every response that passed the proxy must have matched the Matrix spec.
//!
//! Scenarios are `async fn name(server: &TestServer) -> anyhow::Result<()>`;
//! [`backend_tests!`] turns each into a test module with one test per backend.

mod appservice;
mod browser;
mod checks;
mod push_gateway;
mod raw;
mod school_appservice;
mod server;
mod sliding;
mod user;

use std::time::Duration;

pub use appservice::RecordingAppservice;
pub use browser::{Browser, PageResponse};
pub use checks::Checks;
pub use push_gateway::{GatewayAnswer, GatewayCall, PushGateway, NOTIFY_PATH};
pub use raw::{create_room, direct_chat, Body, RawApi, RawResponse};
pub use school_appservice::{
    appservice_binary, SchoolAppservice, SCHOOL_AS_ID, SCHOOL_AS_TOKEN, SCHOOL_BOT, SCHOOL_HS_TOKEN,
};
pub use server::{password_of, server_binary, user_id_of, Backend, TestServer, SERVER_NAME};
pub use sliding::{room_list_required_state, SlidingSession, ALL_ROOMS, SLIDING_SYNC_PATH};
pub use user::{
    direct_invite, encrypt, invite, left, membership, message, read_receipt, say, shared_room,
    state_event, text_bodies, timeline_json, two_users, typing, Section, SyncItem, TestUser,
};

/// Upper bound for one whole scenario, so a hanging server fails the test instead of the run.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs `scenario` against a fresh server on `backend`, then fails if the scenario failed or
/// any response violated the spec (listing all violations).
pub async fn run(backend: Backend, scenario: impl AsyncFnOnce(&TestServer) -> anyhow::Result<()>) {
    if backend.skipped() {
        eprintln!("skipped: SCHULHOF_SKIP_PG=1");
        return;
    }
    let server = TestServer::start(backend)
        .await
        .unwrap_or_else(|e| panic!("starting the server: {e:#}"));
    let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, scenario(&server)).await;
    let violations = server.violations();
    eprintln!(
        "validated endpoints:\n  {}",
        server.validated_endpoints().join("\n  ")
    );
    let mut failures = Vec::new();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => failures.push(format!("scenario failed: {error:#}")),
        Err(_) => failures.push(format!(
            "scenario did not finish within {SCENARIO_TIMEOUT:?}"
        )),
    }
    if !violations.is_empty() {
        failures.push(format!(
            "{} spec violation(s):\n  {}",
            violations.len(),
            violations.join("\n  ")
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Declares, for each scenario function, a module with the tests `sqlite` and `postgres`
/// (e.g. `room_chat::sqlite`), each running the scenario on its own fresh server.
#[macro_export]
macro_rules! backend_tests {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::run($crate::Backend::Sqlite, super::$scenario).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::run($crate::Backend::Postgres, super::$scenario).await;
            }
        }
    )*};
}
