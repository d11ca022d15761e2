//! Durability and liveness: crashes and long-polling.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use matrix_sdk::room::MessagesOptions;
use schulhof_e2e::{backend_tests, shared_room, text_bodies, two_users, TestServer};

backend_tests!(crash_after_send, sync_long_poll_wakeup);

/// A message acknowledged with 200 survives `kill -9` of the server.
async fn crash_after_send(server: &TestServer) -> Result<()> {
    const BODY: &str = "Überlebt den Absturz";
    let anna = server.user("anna.schmidt", "Anna Schmidt").await?;
    let room_id = anna.create_room(&[], false).await?;
    let event_id = anna.send_text(&room_id, BODY).await?;

    server.restart().await?;

    let event = anna
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/event/{event_id}"
        ))
        .await?
        .ok()
        .context("fetching the event after the restart")?;
    ensure!(
        event["content"]["body"] == BODY,
        "after the restart the event is {event}"
    );
    let history = anna
        .room(&room_id)?
        .messages(MessagesOptions::backward())
        .await?;
    ensure!(
        text_bodies(&history.chunk).iter().any(|body| body == BODY),
        "/messages after the restart lacks the message"
    );
    Ok(())
}

/// A parked `/sync` long-poll returns promptly when a message arrives.
async fn sync_long_poll_wakeup(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;
    let raw = ben.raw();
    let initial = raw
        .get_query("/_matrix/client/v3/sync", &[("timeout", "0")])
        .await?
        .ok()?;
    let since = initial["next_batch"]
        .as_str()
        .context("no next_batch")?
        .to_owned();

    let poll = tokio::spawn(async move {
        raw.get_query(
            "/_matrix/client/v3/sync",
            &[("since", &since), ("timeout", "30000")],
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(
        !poll.is_finished(),
        "the long-poll returned before anything happened"
    );

    let sent = Instant::now();
    let event_id = anna.send_text(&room_id, "Aufwachen!").await?;
    let response = poll.await??;
    let waited = sent.elapsed();
    let body = response.ok()?;
    let events = body["rooms"]["join"][room_id.as_str()]["timeline"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure!(
        events
            .iter()
            .any(|event| event["event_id"] == event_id.as_str()),
        "the woken sync lacks the message: {body}"
    );
    ensure!(
        waited < Duration::from_secs(2),
        "the long-poll returned {waited:?} after the send"
    );
    Ok(())
}

backend_tests!(second_server_is_refused);

/// A second `schulhof serve` on the same database would hand out the same stream positions:
/// it is refused at start with a message naming the database, and the first keeps serving.
async fn second_server_is_refused(server: &TestServer) -> Result<()> {
    let output = tokio::process::Command::new(schulhof_e2e::server_binary()?)
        .arg("--config")
        .arg(server.path("schulhof.toml"))
        .arg("serve")
        .current_dir(server.path(""))
        .output()
        .await?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(!output.status.success(), "a second server started");
    ensure!(
        stderr.contains("already serves"),
        "unclear refusal: {stderr}"
    );
    server.raw().get("/_matrix/client/versions").await?.ok()?;
    Ok(())
}
