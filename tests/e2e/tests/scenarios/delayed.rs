//! Scheduled sending (MSC4140 delayed events), as matrix-sdk's ruma requests and raw HTTP ask
//! for it: a message scheduled an hour ahead is not in the room, is listed for its sender only,
//! survives a restart of the server and arrives exactly once when the (moved) clock passes its
//! time; `cancel`, `restart` and `send` do what they say, also without a token for whoever
//! knows the `delay_id`, and another user can neither see nor change it. What the school's
//! rights or the room refuse is refused when scheduling, and again at the send time, where it
//! is dropped and its error kept for the sender.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use matrix_sdk::ruma::api::client::delayed_events::update_delayed_event::unstable::{
    Request as UpdateDelayed, UpdateAction,
};
use matrix_sdk::ruma::api::client::delayed_events::{
    delayed_message_event, delayed_state_event, DelayParameters,
};
use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use matrix_sdk::ruma::events::room::topic::RoomTopicEventContent;
use matrix_sdk::ruma::{OwnedTransactionId, RoomId};
use schulhof_e2e::{
    backend_tests, message, shared_room, state_event, two_users, RawApi, TestServer, TestUser,
};
use serde_json::{json, Value};

backend_tests!(
    scheduled_messages_arrive_once_at_their_time,
    scheduling_is_checked_now_and_at_the_send_time,
);

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// The unstable prefix of the MSC's own endpoints.
const PREFIX: &str = "/_matrix/client/unstable/org.matrix.msc4140";

fn now_ms() -> Result<i64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64)
}

fn delay(ms: i64) -> DelayParameters {
    DelayParameters::Timeout {
        timeout: Duration::from_millis(ms as u64),
    }
}

/// `user` schedules a text message `body` in `room_id` with matrix-sdk (`/send` with
/// `org.matrix.msc4140.delay`); returns the `delay_id`.
async fn schedule(user: &TestUser, room_id: &RoomId, body: &str, ms: i64) -> Result<String> {
    let request = delayed_message_event::unstable::Request::new(
        room_id.to_owned(),
        OwnedTransactionId::from(format!("txn-{body}")),
        delay(ms),
        &RoomMessageEventContent::text_plain(body),
    )?;
    let response = user.client.send(request).await.context("scheduling")?;
    Ok(response.delay_id)
}

/// The user's delayed events (`GET …/delayed_events`, with `query`).
async fn listed(api: &RawApi, query: &[(&str, &str)]) -> Result<Vec<Value>> {
    let body = api
        .get_query(&format!("{PREFIX}/delayed_events"), query)
        .await?
        .ok()?;
    Ok(body["delayed_events"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// The listed delayed event `delay_id`, if it is listed.
fn find<'a>(events: &'a [Value], delay_id: &str) -> Option<&'a Value> {
    events.iter().find(|e| e["delay_id"] == delay_id)
}

/// How often a text message `body` is in the room's history as `user` reads it.
async fn copies(user: &TestUser, room_id: &RoomId, body: &str) -> Result<usize> {
    let path = format!("/_matrix/client/v3/rooms/{room_id}/messages");
    let page = user
        .raw()
        .get_query(&path, &[("dir", "b"), ("limit", "100")])
        .await?
        .ok()?;
    let chunk = page["chunk"].as_array().cloned().unwrap_or_default();
    Ok(chunk
        .iter()
        .filter(|e| e["type"] == "m.room.message" && e["content"]["body"] == body)
        .count())
}

async fn scheduled_messages_arrive_once_at_their_time(server: &TestServer) -> Result<()> {
    server.restart_with_movable_clock("").await?;
    let start = now_ms()?;
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;
    let anna_api = anna.raw();

    let trip = schedule(&anna, &room_id, "Morgen ist Wandertag", HOUR).await?;
    let cancelled = schedule(&anna, &room_id, "Sportfest fällt aus", HOUR).await?;
    let postponed = schedule(&anna, &room_id, "Elternabend um 19 Uhr", HOUR).await?;
    let sent_now = schedule(&anna, &room_id, "Bitte Turnbeutel mitbringen", HOUR).await?;
    let topic = anna
        .client
        .send(delayed_state_event::unstable::Request::new(
            room_id.clone(),
            String::new(),
            delay(HOUR),
            &RoomTopicEventContent::new("Wandertag am Freitag".to_owned()),
        )?)
        .await?
        .delay_id;

    // The same transaction again (a client's retry) is the same delayed event.
    let path = format!("/_matrix/client/v3/rooms/{room_id}/send/m.room.message/txn-Morgen ist Wandertag?org.matrix.msc4140.delay={HOUR}");
    let retry = anna_api
        .put(
            &path,
            json!({ "msgtype": "m.text", "body": "Morgen ist Wandertag" }),
        )
        .await?
        .ok()?;
    ensure!(
        retry["delay_id"] == trip.as_str(),
        "a retry scheduled again: {retry}"
    );

    // Listed for Anna, with what she asked for.
    let waiting = listed(&anna_api, &[]).await?;
    ensure!(waiting.len() == 5, "Anna's list: {waiting:?}");
    let entry = find(&waiting, &trip).context("the trip message is listed")?;
    ensure!(
        entry["room_id"] == room_id.as_str()
            && entry["type"] == "m.room.message"
            && entry["delay"] == HOUR
            && entry["content"]["body"] == "Morgen ist Wandertag"
            && entry["running_since"].as_i64().is_some_and(|t| t >= start)
            && entry.get("state_key").is_none()
            && entry.get("event_id").is_none(),
        "listed as {entry}"
    );
    let topic_entry = find(&waiting, &topic).context("the topic is listed")?;
    ensure!(topic_entry["state_key"] == "", "listed as {topic_entry}");
    let single = anna_api
        .get(&format!("{PREFIX}/delayed_events/{trip}"))
        .await?
        .ok()?;
    ensure!(single["delay_id"] == trip.as_str(), "looked up: {single}");

    // Ben neither sees them in the room nor in any list, nor can he change them.
    let ben_api = ben.raw();
    ensure!(listed(&ben_api, &[]).await?.is_empty(), "Ben lists Anna's");
    ben_api
        .get(&format!("{PREFIX}/delayed_events/{trip}"))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    ben_api
        .post(&format!("{PREFIX}/delayed_events/{trip}/cancel"), json!({}))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    ben_api
        .post(
            &format!("{PREFIX}/delayed_events/{trip}"),
            json!({ "action": "send" }),
        )
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    for body in ["Morgen ist Wandertag", "Bitte Turnbeutel mitbringen"] {
        ensure!(
            !ben.has_seen(message(&room_id, anna.id(), body)).await?,
            "{body:?} arrived before its time"
        );
    }

    // `send` without a token (whoever knows the delay_id): Ben gets it now.
    server
        .raw()
        .post(
            &format!("{PREFIX}/delayed_events/{sent_now}/send"),
            json!({}),
        )
        .await?
        .ok()?;
    ben.wait_for(
        "the message sent at once",
        message(&room_id, anna.id(), "Bitte Turnbeutel mitbringen"),
    )
    .await?;
    // `cancel` as matrix-sdk sends it (the action in the body); twice is fine.
    for _ in 0..2 {
        anna.client
            .send(UpdateDelayed::new(cancelled.clone(), UpdateAction::Cancel))
            .await
            .context("cancel")?;
    }
    anna_api
        .post(
            &format!("{PREFIX}/delayed_events/{cancelled}/send"),
            json!({}),
        )
        .await?
        .expect_error(&[409], &["M_UNKNOWN"])?;
    anna_api
        .post(
            &format!("{PREFIX}/delayed_events/unbekannt/cancel"),
            json!({}),
        )
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;

    // A restart of the server loses nothing, and what fell due while it was down is sent at
    // its start.
    let late = schedule(&anna, &room_id, "Nachzügler", 1_000).await?;
    server.restart_after(Duration::from_secs(2)).await?;
    ben.wait_for(
        "the message due while the server was down",
        message(&room_id, anna.id(), "Nachzügler"),
    )
    .await?;
    let mut expected = vec![trip.clone(), postponed.clone(), topic.clone()];
    expected.sort_unstable();
    let mut ids = Vec::new();
    // The sent one leaves the list once its outcome is recorded, a moment after Ben saw it.
    for _ in 0..20 {
        let waiting = listed(&anna_api, &[]).await?;
        ids = waiting
            .iter()
            .filter_map(|e| e["delay_id"].as_str().map(str::to_owned))
            .collect();
        ids.sort_unstable();
        if ids == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(ids == expected, "after the restart Anna lists {ids:?}");

    // Half an hour later Anna restarts one: it is due an hour from then.
    server.set_clock(start + 30 * MINUTE).await?;
    anna_api
        .post(
            &format!("{PREFIX}/delayed_events/{postponed}/restart"),
            json!({}),
        )
        .await?
        .ok()?;

    // Past the hour: the trip message and the topic arrive; the others not.
    server.set_clock(start + 61 * MINUTE).await?;
    let arrived = ben
        .wait_for(
            "the scheduled message",
            message(&room_id, anna.id(), "Morgen ist Wandertag"),
        )
        .await?;
    ensure!(
        arrived.event["unsigned"]
            .get("org.matrix.msc4140.delay_id")
            .is_none(),
        "Ben learns the delay_id: {}",
        arrived.event
    );
    // Anna's own copy names the delayed event it was (MSC4140).
    let own = anna
        .wait_for(
            "her scheduled message",
            message(&room_id, anna.id(), "Morgen ist Wandertag"),
        )
        .await?;
    ensure!(
        own.event["unsigned"]["org.matrix.msc4140.delay_id"] == trip.as_str(),
        "Anna's copy: {}",
        own.event
    );
    let topic_set = |item: &schulhof_e2e::SyncItem| {
        state_event(&room_id, "m.room.topic")(item)
            && item.content()["topic"] == "Wandertag am Freitag"
    };
    ben.wait_for("the scheduled topic", topic_set).await?;
    ensure!(
        !ben.has_seen(message(&room_id, anna.id(), "Elternabend um 19 Uhr"))
            .await?,
        "the restarted message came at its old time"
    );

    server.set_clock(start + 91 * MINUTE).await?;
    ben.wait_for(
        "the restarted message",
        message(&room_id, anna.id(), "Elternabend um 19 Uhr"),
    )
    .await?;
    // Each exactly once; the cancelled one never.
    for (body, expected) in [
        ("Morgen ist Wandertag", 1),
        ("Elternabend um 19 Uhr", 1),
        ("Bitte Turnbeutel mitbringen", 1),
        ("Sportfest fällt aus", 0),
        ("Nachzügler", 1),
    ] {
        let found = copies(&ben, &room_id, body).await?;
        ensure!(found == expected, "{body:?} is in the room {found} times");
    }

    // Nothing waits any more; the outcomes are there to look up.
    ensure!(listed(&anna_api, &[]).await?.is_empty(), "still waiting");
    let finalised = listed(&anna_api, &[("status", "finalised")]).await?;
    for id in [&trip, &postponed, &sent_now, &topic, &late] {
        let entry = find(&finalised, id).context("a sent one is listed as finalised")?;
        ensure!(
            entry["event_id"]
                .as_str()
                .is_some_and(|e| e.starts_with('$'))
                && entry["origin_server_ts"].is_i64(),
            "sent: {entry}"
        );
    }
    let entry = find(&finalised, &cancelled).context("the cancelled one")?;
    ensure!(
        entry.get("event_id").is_none() && entry.get("error").is_none(),
        "cancelled: {entry}"
    );

    // Anna's data export names them, without the delay IDs that would let its reader act.
    let export: Value = serde_json::from_str(
        &server
            .cli(&["user", "export", "anna.schmidt"], None)
            .await?,
    )?;
    let exported = export["delayed_events"]
        .as_array()
        .context("delayed_events")?;
    let mut statuses: Vec<&str> = exported
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    statuses.sort_unstable();
    ensure!(
        statuses == ["cancelled", "sent", "sent", "sent", "sent", "sent"]
            && exported.iter().all(|e| e.get("delay_id").is_none()),
        "exported: {exported:?}"
    );
    Ok(())
}

async fn scheduling_is_checked_now_and_at_the_send_time(server: &TestServer) -> Result<()> {
    server
        .restart_with_movable_clock("[delayed_events]\nmax_per_user = 2")
        .await?;
    let start = now_ms()?;
    let (anna, ben) = two_users(server).await?;
    let anna_api = anna.raw();
    let ben_api = ben.raw();

    // Advertised, with the longest delay.
    let versions = server.raw().get("/_matrix/client/versions").await?.ok()?;
    ensure!(
        versions["unstable_features"]["org.matrix.msc4140"] == true,
        "/versions: {versions}"
    );
    let capabilities = anna_api
        .get("/_matrix/client/v3/capabilities")
        .await?
        .ok()?;
    let max_delay = 30 * 24 * HOUR;
    ensure!(
        capabilities["capabilities"]["org.matrix.msc4140"]["max_delay"] == max_delay,
        "capabilities: {capabilities}"
    );

    let room_id = anna.create_room(&[&ben], false).await?;
    let send = |ms: i64, txn: &str| {
        format!("/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txn}?org.matrix.msc4140.delay={ms}")
    };
    let text = json!({ "msgtype": "m.text", "body": "Hallo" });

    // Too far ahead, no delay at all, not a number.
    let too_long = anna_api
        .put(&send(max_delay + 1, "t1"), text.clone())
        .await?;
    too_long.expect_error(&[400], &["M_MAX_DELAY_EXCEEDED"])?;
    ensure!(too_long.body["max_delay"] == max_delay, "{}", too_long.body);
    for (ms, txn) in [("0", "t2"), ("bald", "t3")] {
        let path = format!("/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txn}?org.matrix.msc4140.delay={ms}");
        anna_api
            .put(&path, text.clone())
            .await?
            .expect_error(&[400], &["M_INVALID_PARAM"])?;
    }
    // Ben is only invited: he cannot send there now, so he cannot schedule either.
    ben_api
        .put(&send(HOUR, "b1"), text.clone())
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    let nowhere = format!("/_matrix/client/v3/rooms/!nirgends:schule.test/send/m.room.message/b2?org.matrix.msc4140.delay={HOUR}");
    ben_api
        .put(&nowhere, text.clone())
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    ensure!(
        listed(&ben_api, &[]).await?.is_empty(),
        "something was scheduled"
    );

    // Joined, Ben schedules a message and (MSC4140's own endpoint) his leave.
    ben.accept_invite(&room_id).await?;
    let scheduled = ben_api
        .put(
            &send(2 * MINUTE, "b3"),
            json!({ "msgtype": "m.text", "body": "Bin gleich da" }),
        )
        .await?
        .ok()?;
    let message_id = scheduled["delay_id"]
        .as_str()
        .context("delay_id")?
        .to_owned();
    let leave_path = format!("{PREFIX}/rooms/{room_id}/delayed_event/m.room.member/b4");
    let leave = ben_api
        .put(
            &leave_path,
            json!({ "delay": HOUR, "state_key": ben.id(), "content": { "membership": "leave" } }),
        )
        .await?
        .ok()?;
    let leave_id = leave["delay_id"].as_str().context("delay_id")?.to_owned();
    // Two waiting are as many as one person may have here.
    let third = ben_api.put(&send(HOUR, "b5"), text.clone()).await?;
    third.expect_error(&[429], &["M_LIMIT_EXCEEDED"])?;

    // Anna removes Ben: his membership changed, so his scheduled leave is dropped at once …
    anna_api
        .post(
            &format!("/_matrix/client/v3/rooms/{room_id}/kick"),
            json!({ "user_id": ben.id() }),
        )
        .await?
        .ok()?;
    let finalised = listed(&ben_api, &[("status", "finalised")]).await?;
    let entry = find(&finalised, &leave_id).context("the superseded leave")?;
    ensure!(
        entry["error"]["org.matrix.msc4140.errcode"] == "M_CANCELLED_BY_STATE_UPDATE",
        "superseded: {entry}"
    );
    // … and his message is refused when it is due, and kept with its error.
    server.set_clock(start + 3 * MINUTE).await?;
    let mut refused = None;
    for _ in 0..50 {
        let finalised = listed(&ben_api, &[("status", "finalised")]).await?;
        refused = find(&finalised, &message_id).cloned();
        if refused.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = refused.context("the message due after the kick was not finalised")?;
    ensure!(
        refused["error"]["errcode"] == "M_FORBIDDEN" && refused.get("event_id").is_none(),
        "refused: {refused}"
    );
    ensure!(
        copies(&anna, &room_id, "Bin gleich da").await? == 0,
        "it was sent"
    );
    ensure!(listed(&ben_api, &[]).await?.is_empty(), "still waiting");
    Ok(())
}
