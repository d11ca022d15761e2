//! Malformed, unauthorised and unknown requests get the spec's status and error code and
//! change nothing: bad JSON, bodies that are not JSON, events over the spec's size limits or
//! outside canonical JSON, `createRoom` with power levels or room versions no room can have,
//! a login body that once made the parser panic.

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

/// `createRoom` with `power_level_content_override`.
fn levels_override(levels: serde_json::Value) -> Body {
    Body::Json(json!({ "name": "Stufen", "power_level_content_override": levels }))
}

/// Events that may not be stored, into `room`: each answered with the spec's error code.
fn event_cases(room: &str) -> Vec<Case> {
    let send = |txn: &str| format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}");
    let text = |extra: serde_json::Value| {
        let mut content = json!({ "msgtype": "m.text", "body": "Hallo" });
        content
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Body::Json(content)
    };
    let topic = format!("/_matrix/client/v3/rooms/{room}/state/m.room.topic");
    let long = "x".repeat(256);
    vec![
        Case::new(
            "event over 64 KiB",
            Method::PUT,
            &send("gross"),
            Auth::User,
            text(json!({ "body": "x".repeat(70_000) })),
        )
        .expect(&[413], &["M_TOO_LARGE"]),
        Case::new(
            "event type over 255 bytes",
            Method::PUT,
            &format!("/_matrix/client/v3/rooms/{room}/send/{long}/lang"),
            Auth::User,
            text(json!({})),
        )
        .expect(&[400], &["M_INVALID_PARAM"]),
        Case::new(
            "room ID over 255 bytes",
            Method::PUT,
            &format!(
                "/_matrix/client/v3/rooms/!{}:{SERVER_NAME}/send/m.room.message/id",
                "r".repeat(256)
            ),
            Auth::User,
            text(json!({})),
        )
        .expect(&[400], &["M_INVALID_PARAM"]),
        Case::new(
            "state key over 255 bytes",
            Method::PUT,
            &format!("{topic}/{long}"),
            Auth::User,
            Body::Json(json!({ "topic": "Mathe" })),
        )
        .expect(&[400], &["M_INVALID_PARAM"]),
        Case::new(
            "float in content",
            Method::PUT,
            &send("komma"),
            Auth::User,
            text(json!({ "note": 1.5 })),
        )
        .expect(&[400], &["M_BAD_JSON"]),
        Case::new(
            "integer beyond 2^53 - 1",
            Method::PUT,
            &send("riesig"),
            Auth::User,
            text(json!({ "count": 9_007_199_254_740_992_i64 })),
        )
        .expect(&[400], &["M_BAD_JSON"]),
        Case::new(
            "integer below -(2^53 - 1)",
            Method::PUT,
            &send("winzig"),
            Auth::User,
            text(json!({ "count": -9_007_199_254_740_992_i64 })),
        )
        .expect(&[400], &["M_BAD_JSON"]),
        Case::new(
            "empty body on send",
            Method::PUT,
            &send("leer"),
            Auth::User,
            Body::Empty,
        )
        .expect(&[400], &["M_NOT_JSON"]),
        Case::new(
            "text body on send",
            Method::PUT,
            &send("text"),
            Auth::User,
            Body::Bytes(b"Hallo".to_vec()),
        )
        .expect(&[400], &["M_NOT_JSON"]),
        Case::new(
            "empty body on state",
            Method::PUT,
            &format!("{topic}/"),
            Auth::User,
            Body::Empty,
        )
        .expect(&[400], &["M_NOT_JSON"]),
        Case::new(
            "empty body on state with key",
            Method::PUT,
            &format!("{topic}/schluessel"),
            Auth::User,
            Body::Empty,
        )
        .expect(&[400], &["M_NOT_JSON"]),
        Case::new(
            "power levels of the wrong shape",
            Method::PUT,
            &format!("/_matrix/client/v3/rooms/{room}/state/m.room.power_levels/"),
            Auth::User,
            Body::Json(json!({ "users": { "anna": "100" } })),
        )
        .expect(&[400], &["M_BAD_JSON"]),
    ]
}

/// `createRoom` requests no room may come of.
fn create_room_cases() -> Vec<Case> {
    let anna = format!("@anna.schmidt:{SERVER_NAME}");
    let mut cases: Vec<Case> = [
        ("override as an array", json!([{ "ban": 50 }])),
        ("override users as a string", json!({ "users": anna })),
        (
            "override levels as strings",
            json!({ "ban": "50", "users": { anna.as_str(): "100" } }),
        ),
        (
            "override users not user IDs",
            json!({ "users": { "anna": 100 } }),
        ),
    ]
    .into_iter()
    .map(|(name, levels)| {
        Case::new(
            name,
            Method::POST,
            CREATE_ROOM,
            Auth::User,
            levels_override(levels),
        )
        .expect(&[400], &["M_BAD_JSON"])
    })
    .collect();
    cases.push(
        Case::new(
            "override the creator cannot finish with",
            Method::POST,
            CREATE_ROOM,
            Auth::User,
            levels_override(json!({ "users": { anna.as_str(): 0 } })),
        )
        .expect(&[400], &["M_INVALID_ROOM_STATE"]),
    );
    for (name, version) in [("unknown room version", "99"), ("empty room version", "")] {
        cases.push(
            Case::new(
                name,
                Method::POST,
                CREATE_ROOM,
                Auth::User,
                Body::Json(json!({ "room_version": version })),
            )
            .expect(&[400], &["M_UNSUPPORTED_ROOM_VERSION"]),
        );
    }
    cases
}

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
            "login without type",
            Method::POST,
            "/_matrix/client/v3/login",
            Auth::Missing,
            Body::Json(json!({
                "identifier": { "type": "m.id.user", "user": "anna.schmidt" },
                "password": "falsch",
            })),
        )
        .expect(&[400], &["M_BAD_JSON"]),
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
    let room = anna.create_room(&[], false).await?;
    let stored_before = room_events(&anna, room.as_str()).await?;
    let mut checks = Checks::default();
    let all = cases()
        .into_iter()
        .chain(event_cases(room.as_str()))
        .chain(create_room_cases());
    for case in all {
        let name = case.name;
        checks.check(name, check_case(&anna, case)).await;
    }
    checks
        .check("refused events stored nothing", async {
            let stored_after = room_events(&anna, room.as_str()).await?;
            ensure!(
                stored_before == stored_after,
                "the room's events changed from {stored_before:?} to {stored_after:?}"
            );
            Ok(())
        })
        .await;
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

/// The IDs of the events in `room`, newest first.
async fn room_events(anna: &TestUser, room: &str) -> Result<Vec<String>> {
    let history = anna
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=100"
        ))
        .await?
        .ok()?;
    let events = history["chunk"].as_array().cloned().unwrap_or_default();
    Ok(events
        .iter()
        .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
        .collect())
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
