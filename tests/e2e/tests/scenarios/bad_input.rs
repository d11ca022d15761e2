//! Malformed, unauthorised and unknown requests get the spec's status and error code and
//! change nothing.

use anyhow::{ensure, Context, Result};
use reqwest::Method;
use schulhof_e2e::{backend_tests, Body, Checks, RawApi, TestServer, TestUser, SERVER_NAME};
use serde_json::json;

backend_tests!(bad_input);

/// Which access token a request carries.
#[derive(Clone, Copy)]
enum Auth {
    /// The user's valid token.
    User,
    /// A token the server never issued.
    Invalid,
    /// None at all.
    Missing,
}

/// One bad request and the error the spec requires for it.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    auth: Auth,
    body: Body,
    statuses: &'static [u16],
    errcodes: &'static [&'static str],
}

impl Case {
    fn new(name: &'static str, method: Method, path: &str, auth: Auth, body: Body) -> Self {
        Self {
            name,
            method,
            path: path.to_owned(),
            auth,
            body,
            statuses: &[],
            errcodes: &[],
        }
    }

    fn expect(self, statuses: &'static [u16], errcodes: &'static [&'static str]) -> Self {
        Self {
            statuses,
            errcodes,
            ..self
        }
    }
}

const CREATE_ROOM: &str = "/_matrix/client/v3/createRoom";

fn cases() -> Vec<Case> {
    let unknown_room = format!("!gibtsnicht:{SERVER_NAME}");
    let too_large = json!({ "name": "x".repeat(2 * 1024 * 1024) });
    vec![
        Case::new(
            "malformed JSON",
            Method::POST,
            CREATE_ROOM,
            Auth::User,
            Body::Bytes(b"{\"name\": ".to_vec()),
        )
        .expect(&[400], &["M_NOT_JSON", "M_BAD_JSON"]),
        Case::new(
            "wrong types",
            Method::POST,
            CREATE_ROOM,
            Auth::User,
            Body::Json(json!({ "name": 5, "invite": "ben" })),
        )
        .expect(&[400], &["M_BAD_JSON", "M_INVALID_PARAM"]),
        Case::new(
            "2 MiB body",
            Method::POST,
            CREATE_ROOM,
            Auth::User,
            Body::Json(too_large),
        )
        .expect(&[413], &["M_TOO_LARGE"]),
        Case::new(
            "send into an unknown room",
            Method::PUT,
            &format!("/_matrix/client/v3/rooms/{unknown_room}/send/m.room.message/t1"),
            Auth::User,
            Body::Json(json!({ "msgtype": "m.text", "body": "Hallo?" })),
        )
        .expect(&[403, 404], &["M_FORBIDDEN", "M_NOT_FOUND"]),
        Case::new(
            "history of an unknown room",
            Method::GET,
            &format!("/_matrix/client/v3/rooms/{unknown_room}/messages?dir=b"),
            Auth::User,
            Body::Empty,
        )
        .expect(&[403, 404], &["M_FORBIDDEN", "M_NOT_FOUND"]),
        Case::new(
            "invalid token",
            Method::GET,
            "/_matrix/client/v3/account/whoami",
            Auth::Invalid,
            Body::Empty,
        )
        .expect(&[401], &["M_UNKNOWN_TOKEN"]),
        Case::new(
            "no token",
            Method::GET,
            "/_matrix/client/v3/joined_rooms",
            Auth::Missing,
            Body::Empty,
        )
        .expect(&[401], &["M_MISSING_TOKEN"]),
        Case::new(
            "unknown endpoint",
            Method::GET,
            "/_matrix/client/v3/gibtsnicht",
            Auth::User,
            Body::Empty,
        )
        .expect(&[404], &["M_UNRECOGNIZED"]),
        Case::new(
            "wrong method",
            Method::GET,
            CREATE_ROOM,
            Auth::User,
            Body::Empty,
        )
        .expect(&[405], &["M_UNRECOGNIZED"]),
        Case::new(
            "registration",
            Method::POST,
            "/_matrix/client/v3/register",
            Auth::Missing,
            Body::Json(json!({ "username": "eindringling", "password": "Passwort-123!" })),
        )
        .expect(&[403], &["M_FORBIDDEN"]),
        Case::new(
            "wrong password",
            Method::POST,
            "/_matrix/client/v3/login",
            Auth::Missing,
            Body::Json(json!({
                "type": "m.login.password",
                "identifier": { "type": "m.id.user", "user": "anna.schmidt" },
                "password": "falsch",
            })),
        )
        .expect(&[403], &["M_FORBIDDEN"]),
    ]
}

/// Every case, CORS, and transaction-ID idempotency; all failures are reported together.
async fn bad_input(server: &TestServer) -> Result<()> {
    let anna = server.user("anna.schmidt", "Anna Schmidt").await?;
    let mut checks = Checks::default();
    for case in cases() {
        let name = case.name;
        checks.check(name, check_case(&anna, case)).await;
    }
    checks
        .check("CORS preflight", cors_preflight(&server.raw()))
        .await;
    checks
        .check("CORS on a 404", cors_on_error(&server.raw()))
        .await;
    checks
        .check("replayed transaction ID", replayed_transaction(&anna))
        .await;
    checks.finish()
}

/// Sends the case's request, checks the error, and that Anna's joined rooms did not change.
async fn check_case(anna: &TestUser, case: Case) -> Result<()> {
    let user = anna.raw();
    let raw = match case.auth {
        Auth::User => user,
        Auth::Invalid => user.with_token(Some("ungueltiges-token")),
        Auth::Missing => user.with_token(None),
    };
    let before = anna.joined_rooms().await;
    let response = raw.request(case.method, &case.path, case.body).await?;
    response.expect_error(case.statuses, case.errcodes)?;
    let before = before.context("joined_rooms before the request")?;
    let after = anna
        .joined_rooms()
        .await
        .context("joined_rooms after the request")?;
    ensure!(
        before == after,
        "joined rooms changed from {before:?} to {after:?}"
    );
    Ok(())
}

/// An `OPTIONS` preflight is answered with the CORS headers the spec requires.
async fn cors_preflight(raw: &RawApi) -> Result<()> {
    let response = raw
        .send(
            Method::OPTIONS,
            "/_matrix/client/v3/login",
            Body::Empty,
            &[
                ("origin", "https://app.schule.test"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
            ],
        )
        .await?;
    ensure!(
        matches!(response.status, 200 | 204),
        "preflight status {}",
        response.status
    );
    let header = |name: &str| {
        response
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    ensure!(
        header("access-control-allow-origin") == "*",
        "allow-origin {:?}",
        header("access-control-allow-origin")
    );
    ensure!(
        header("access-control-allow-methods").contains("post"),
        "allow-methods {:?}",
        header("access-control-allow-methods")
    );
    let headers = header("access-control-allow-headers");
    ensure!(
        headers.contains("authorization") && headers.contains("content-type"),
        "allow-headers {headers:?}"
    );
    Ok(())
}

/// Error responses carry CORS headers too, so browser clients can read them.
async fn cors_on_error(raw: &RawApi) -> Result<()> {
    let response = raw
        .send(
            Method::GET,
            "/_matrix/client/v3/gibtsnicht",
            Body::Empty,
            &[("origin", "https://app.schule.test")],
        )
        .await?;
    ensure!(response.status == 404, "status {}", response.status);
    ensure!(
        response
            .headers
            .get("access-control-allow-origin")
            .is_some_and(|v| v == "*"),
        "no access-control-allow-origin: * on the 404"
    );
    Ok(())
}

/// Sending twice with the same transaction ID yields one event.
async fn replayed_transaction(anna: &TestUser) -> Result<()> {
    const BODY: &str = "Nur einmal";
    let raw = anna.raw();
    let room_id = anna.create_room(&[], false).await?;
    let path = format!("/_matrix/client/v3/rooms/{room_id}/send/m.room.message/wiederholt-1");
    let send = || raw.put(&path, json!({ "msgtype": "m.text", "body": BODY }));
    let first = send().await?.ok()?;
    let second = send().await?.ok()?;
    ensure!(
        first["event_id"] == second["event_id"],
        "event IDs {first} and {second} differ"
    );

    let history = raw
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=50"
        ))
        .await?
        .ok()?;
    let copies = history["chunk"].as_array().map(|events| {
        events
            .iter()
            .filter(|event| event["content"]["body"] == BODY)
            .count()
    });
    ensure!(
        copies == Some(1),
        "the room has {copies:?} copies of the message: {history}"
    );
    Ok(())
}
