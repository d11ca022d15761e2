//! The school directory while the server runs: accounts from `schulhof import`, login refusals
//! with German messages, and admin changes (lock, re-import, delete) that reach the running
//! server within a second.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{backend_tests, user_id_of, RawApi, TestServer};
use serde_json::{json, Value};

backend_tests!(school_directory);

/// Passwords chosen for the imported people (they satisfy the password rule).
const PASSWORD: &str = "Gruen-Tanne-4711";

/// How long a running server may take to notice a change made by the CLI.
const PICKUP: Duration = Duration::from_millis(1500);

fn example_file() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/beispiel-import.csv")
        .display()
        .to_string()
}

/// `POST /login` with `localpart` and `password`; the raw response.
pub(crate) async fn login(
    server: &TestServer,
    localpart: &str,
    password: &str,
) -> Result<schulhof_e2e::RawResponse> {
    server
        .raw()
        .post(
            "/_matrix/client/v3/login",
            json!({
                "type": "m.login.password",
                "identifier": { "type": "m.id.user", "user": localpart },
                "password": password,
            }),
        )
        .await
}

/// Sets a password with the CLI and logs in; returns an API client with the new token.
async fn logged_in(server: &TestServer, localpart: &str) -> Result<RawApi> {
    server
        .cli(
            &["user", "set-password", localpart],
            Some(&format!("{PASSWORD}\n")),
        )
        .await?;
    let body = login(server, localpart, PASSWORD).await?.ok()?;
    let token = body["access_token"].as_str().context("access_token")?;
    Ok(server.raw().with_token(Some(token)))
}

/// Polls `whoami` until the token is rejected; returns how long that took.
async fn token_dies(api: &RawApi) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let response = api.get("/_matrix/client/v3/account/whoami").await?;
        if response.status == 401 {
            response.expect_error(&[401], &["M_UNKNOWN_TOKEN"])?;
            return Ok(started.elapsed());
        }
        ensure!(
            started.elapsed() < PICKUP,
            "token still valid after {PICKUP:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fails unless `response` is the error `errcode` with a message containing `text`.
fn refused(
    response: &schulhof_e2e::RawResponse,
    status: u16,
    errcode: &str,
    text: &str,
) -> Result<()> {
    response.expect_error(&[status], &[errcode])?;
    let error = response.body["error"].as_str().unwrap_or("");
    ensure!(error.contains(text), "error text {error:?} lacks {text:?}");
    Ok(())
}

async fn school_directory(server: &TestServer) -> Result<()> {
    server
        .cli(&["import", &example_file(), "--letters", "briefe"], None)
        .await?;
    let letters = std::fs::read_to_string(server.path("briefe/zugangsbriefe.csv"))?;
    let codes: HashMap<&str, &str> = letters
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(';').collect();
            Some((*fields.first()?, *fields.get(2)?))
        })
        .collect();
    ensure!(codes.len() == 10, "letters: {letters}");

    // A start code is not a password: the refusal points to the first-login page (right after
    // the import the server may not know Ben's role yet and say "Sie").
    let response = login(server, "ben.mueller", codes["ben.mueller"]).await?;
    refused(
        &response,
        403,
        "M_FORBIDDEN",
        "/erstanmeldung mit dem Startcode von",
    )?;

    // No consent: the student and his mother, whose only child he is, are refused.
    for localpart in ["max.mustermann", "erika.mustermann"] {
        server
            .cli(
                &["user", "set-password", localpart],
                Some(&format!("{PASSWORD}\n")),
            )
            .await?;
        let response = login(server, localpart, PASSWORD).await?;
        refused(&response, 403, "M_FORBIDDEN", "fehlt noch die Einwilligung")?;
    }

    // Locking ends a running session within a second; login then says why.
    let anna = logged_in(server, "anna.schmidt").await?;
    let whoami = anna.get("/_matrix/client/v3/account/whoami").await?.ok()?;
    ensure!(
        whoami["user_id"] == json!(user_id_of("anna.schmidt")),
        "{whoami}"
    );
    server.cli(&["user", "lock", "anna.schmidt"], None).await?;
    let took = token_dies(&anna).await?;
    eprintln!("locked session ended after {took:?}");
    let response = login(server, "anna.schmidt", PASSWORD).await?;
    refused(&response, 401, "M_USER_LOCKED", "gesperrt")?;
    ensure!(
        response.body["soft_logout"] == json!(false),
        "{}",
        response.body
    );
    server
        .cli(&["user", "unlock", "anna.schmidt"], None)
        .await?;
    let anna = logged_in(server, "anna.schmidt").await?;

    // A re-import without Zoë deactivates her at once.
    let zoe = logged_in(server, "zoe.yilmaz").await?;
    let without_zoe: String = std::fs::read_to_string(example_file())?
        .lines()
        .filter(|l| !l.starts_with("S-2003;") && !l.starts_with("E-3002;"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(server.path("ohne-zoe.csv"), without_zoe)?;
    server.cli(&["import", "ohne-zoe.csv"], None).await?;
    token_dies(&zoe).await?;
    let response = login(server, "zoe.yilmaz", PASSWORD).await?;
    response.expect_error(&[403], &["M_USER_DEACTIVATED"])?;

    // Deleting takes the person out of their rooms.
    let juergen = logged_in(server, "juergen.gross").await?;
    let room = anna
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "name": "Klasse 8.2", "invite": [user_id_of("juergen.gross")] }),
        )
        .await?
        .ok()?;
    let room_id = room["room_id"].as_str().context("room_id")?;
    juergen
        .post(
            &format!("/_matrix/client/v3/rooms/{room_id}/join"),
            json!({}),
        )
        .await?
        .ok()?;
    server
        .cli(&["user", "delete", "juergen.gross", "--yes"], None)
        .await?;
    token_dies(&juergen).await?;
    let started = Instant::now();
    let member = format!(
        "/_matrix/client/v3/rooms/{room_id}/state/m.room.member/{}",
        user_id_of("juergen.gross")
    );
    loop {
        let content: Value = anna.get(&member).await?.ok()?;
        if content["membership"] == json!("leave") {
            break;
        }
        ensure!(started.elapsed() < PICKUP * 2, "still a member: {content}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The account is gone: its password too.
    let response = login(server, "juergen.gross", PASSWORD).await?;
    response.expect_error(&[403], &["M_FORBIDDEN"])?;
    Ok(())
}
