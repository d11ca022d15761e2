//! Push notifications as a phone app and its push gateway see them, against a real HTTP
//! gateway on loopback (`PushGateway`, speaking the Push Gateway API): the app registers a
//! pusher (`event_id_only`); a direct message produces exactly one notify call with the
//! unread count `/sync` shows and nothing of the message; a notification the gateway has not
//! taken survives a crash of the server; bad registrations are refused
//! with the spec's errcodes and a German text and change nothing; a deleted pusher and a
//! logged-out device get no more calls. A message held by a teacher's quiet hours is pushed
//! once at its release, a message deleted while held never; a pusher without
//! `event_id_only` gets content only when the admin allows it. A failing gateway is retried with
//! growing pauses and then given up; a gateway that rejects the pushkey gets the pusher
//! removed. `/pushers` and `/notifications` responses are validated against the spec.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{
    backend_tests, password_of, two_users, GatewayAnswer, GatewayCall, PushGateway, RawApi,
    TestServer, TestUser,
};
use serde_json::{json, Value};

use crate::quiet_hours::{self, FRIDAY_EVENING, MONDAY_MORNING};

backend_tests!(
    a_direct_message_is_pushed_once_without_content,
    a_held_message_is_pushed_at_its_release,
    failing_and_rejecting_gateways
);

/// The app ID of the pushers of these scenarios.
const APP_ID: &str = "de.schulhof.test.android";

/// How long a scenario waits to be sure no (further) call arrives.
const QUIET: Duration = Duration::from_millis(1_500);

/// Restarts `server` with the gateway allowed (and the test clock movable), plus `extra`
/// lines of the `[push]` section.
async fn allow_gateway(server: &TestServer, gateway: &PushGateway, extra: &str) -> Result<()> {
    server
        .restart_with_movable_clock(&format!(
            "[push]\ngateways = [\"{}\"]\n{extra}\n",
            gateway.url()
        ))
        .await
}

/// The body of `/pushers/set` for an `event_id_only` pusher of `pushkey` at `url`.
fn pusher(pushkey: &str, url: &str) -> Value {
    json!({
        "kind": "http",
        "app_id": APP_ID,
        "pushkey": pushkey,
        "app_display_name": "Schulhof Test",
        "device_display_name": "Telefon",
        "lang": "de",
        "data": { "url": url, "format": "event_id_only" },
    })
}

/// Registers an `event_id_only` pusher of `api`'s device.
async fn register(api: &RawApi, pushkey: &str, gateway: &PushGateway) -> Result<()> {
    api.post(
        "/_matrix/client/v3/pushers/set",
        pusher(pushkey, &gateway.url()),
    )
    .await?
    .ok()?;
    Ok(())
}

/// The pushkeys `GET /pushers` lists for `api`'s user.
async fn pushkeys(api: &RawApi) -> Result<Vec<String>> {
    let listed = api.get("/_matrix/client/v3/pushers").await?.ok()?;
    Ok(listed["pushers"]
        .as_array()
        .context("pushers")?
        .iter()
        .filter_map(|p| p["pushkey"].as_str().map(str::to_owned))
        .collect())
}

/// Sends a text into `room`; its event ID.
async fn send(api: &RawApi, room: &str, body: &str) -> Result<String> {
    quiet_hours::send(api, room, body).await
}

/// `GET /notifications` of `api`: the body and the listed event IDs, newest first.
async fn notifications(api: &RawApi) -> Result<(Value, Vec<String>)> {
    let listed = api.get("/_matrix/client/v3/notifications").await?.ok()?;
    let ids = listed["notifications"]
        .as_array()
        .context("notifications")?
        .iter()
        .filter_map(|n| n["event"]["event_id"].as_str().map(str::to_owned))
        .collect();
    Ok((listed, ids))
}

/// The sum of the unread notification counts of every joined room in a sync response.
fn unread_total(sync: &Value) -> u64 {
    sync["rooms"]["join"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, room)| room["unread_notifications"]["notification_count"].as_u64())
        .sum()
}

/// Checks that a notification names `event_id` in `room`, carries the unread count
/// `unread`, the pusher's device with the `event_id_only` pusher's data, and nothing of the
/// message.
fn check_event_id_only(call: &GatewayCall, event_id: &str, room: &str, unread: u64) -> Result<()> {
    check_without_content(
        call,
        event_id,
        room,
        unread,
        json!({ "format": "event_id_only" }),
    )
}

/// Like [`check_event_id_only`] for a pusher with `data` (without its URL).
fn check_without_content(
    call: &GatewayCall,
    event_id: &str,
    room: &str,
    unread: u64,
    data: Value,
) -> Result<()> {
    ensure!(call.path == schulhof_e2e::NOTIFY_PATH, "path {}", call.path);
    let n = call.notification();
    ensure!(n["event_id"] == event_id, "event_id: {n}");
    ensure!(n["room_id"] == room, "room_id: {n}");
    ensure!(n["counts"]["unread"] == unread, "counts: {n}");
    let devices = n["devices"].as_array().context("devices")?;
    ensure!(devices.len() == 1, "devices: {n}");
    ensure!(devices[0]["app_id"] == APP_ID, "app_id: {n}");
    ensure!(devices[0]["pushkey"].is_string(), "pushkey: {n}");
    ensure!(devices[0]["pushkey_ts"].is_u64(), "pushkey_ts: {n}");
    ensure!(
        devices[0]["data"] == data,
        "data must be the pusher's data without url: {n}"
    );
    for leaked in [
        "content",
        "sender",
        "sender_display_name",
        "type",
        "room_name",
        "room_alias",
    ] {
        ensure!(n.get(leaked).is_none(), "{leaked} left the server: {n}");
    }
    Ok(())
}

async fn a_direct_message_is_pushed_once_without_content(server: &TestServer) -> Result<()> {
    let gateway = PushGateway::start().await?;
    let (anna, ben) = two_users(server).await?;
    allow_gateway(server, &gateway, "first_retry_ms = 300").await?;
    let (anna, ben) = (anna.raw(), ben.raw());
    ensure!(pushkeys(&anna).await?.is_empty());

    // Bad registrations are refused with what is wrong, and change nothing.
    let mut missing = pusher("k-anna", &gateway.url());
    missing.as_object_mut().context("object")?.remove("lang");
    anna.post("/_matrix/client/v3/pushers/set", missing)
        .await?
        .expect_error(&[400], &["M_MISSING_PARAM"])?;
    let elsewhere = pusher("k-anna", "https://push.example.org/_matrix/push/v1/notify");
    let refused = anna
        .post("/_matrix/client/v3/pushers/set", elsewhere)
        .await?;
    refused.expect_error(&[400], &["M_INVALID_PARAM"])?;
    let text = refused.body["error"].as_str().unwrap_or_default();
    ensure!(text.contains("nicht freigegeben"), "error text: {text}");
    let mut email = pusher("anna@schule.test", &gateway.url());
    email["kind"] = json!("email");
    email["app_id"] = json!("m.email");
    anna.post("/_matrix/client/v3/pushers/set", email)
        .await?
        .expect_error(&[400], &["M_INVALID_PARAM"])?;
    ensure!(
        pushkeys(&anna).await?.is_empty(),
        "a refusal changed something"
    );

    register(&anna, "k-anna", &gateway).await?;
    let listed = anna.get("/_matrix/client/v3/pushers").await?.ok()?;
    ensure!(
        listed["pushers"][0]["data"] == json!({ "url": gateway.url(), "format": "event_id_only" }),
        "pushers: {listed}"
    );

    // Ben writes to Anna: exactly one notify call, with the count her client shows.
    let room = quiet_hours::chat(&ben, &anna).await?;
    let first = send(&ben, &room, "Hallo Frau Schmidt").await?;
    let calls = gateway.wait_for_calls(1, Duration::from_secs(5)).await?;
    check_event_id_only(&calls[0], &first, &room, 1)?;
    let sync = quiet_hours::sync(&anna, None, 0).await?;
    ensure!(unread_total(&sync) == 1, "unread in /sync: {sync}");
    let second = send(&ben, &room, "Noch eine Frage").await?;
    let calls = gateway.wait_for_calls(2, Duration::from_secs(5)).await?;
    check_event_id_only(&calls[1], &second, &room, 2)?;
    tokio::time::sleep(QUIET).await;
    ensure!(gateway.calls().len() == 2, "one call per message");
    let sync = quiet_hours::sync(&anna, None, 0).await?;
    ensure!(unread_total(&sync) == 2, "unread in /sync: {sync}");

    // Her notifications, newest first; only highlights: none.
    let (listed, ids) = notifications(&anna).await?;
    ensure!(ids == [second.as_str(), first.as_str()], "{listed}");
    ensure!(listed["notifications"][0]["read"] == false);
    let page = anna
        .get_query("/_matrix/client/v3/notifications", &[("limit", "1")])
        .await?
        .ok()?;
    let token = page["next_token"].as_str().context("next_token")?;
    let rest = anna
        .get_query("/_matrix/client/v3/notifications", &[("from", token)])
        .await?
        .ok()?;
    ensure!(rest["notifications"][0]["event"]["event_id"] == first.as_str());
    let highlights = anna
        .get_query("/_matrix/client/v3/notifications", &[("only", "highlight")])
        .await?
        .ok()?;
    ensure!(highlights["notifications"] == json!([]), "{highlights}");

    // A notification the gateway has not taken survives a crash of the server.
    gateway.answer_with(GatewayAnswer::Fail);
    let durable = send(&ben, &room, "Kommt trotzdem an").await?;
    let before = gateway
        .wait_for_calls(3, Duration::from_secs(5))
        .await?
        .len();
    server.restart().await?;
    gateway.answer_with(GatewayAnswer::Accept);
    let accepted = |calls: &[GatewayCall]| {
        calls
            .iter()
            .filter(|c| c.notification()["event_id"] == durable.as_str())
            .filter(|c| c.answer == GatewayAnswer::Accept)
            .count()
    };
    let mut delivered = false;
    for _ in 0..100 {
        if accepted(&gateway.calls()) > 0 {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(
        delivered,
        "not delivered after the restart: {:?}",
        gateway.calls()
    );
    tokio::time::sleep(QUIET).await;
    let after_restart = gateway.calls();
    ensure!(
        accepted(&after_restart) == 1,
        "delivered twice: {after_restart:?}"
    );
    ensure!(after_restart.len() > before, "no call after the restart");
    let after_restart = after_restart.len();

    // A deleted pusher, and the pusher of a device that logged out, get no more calls.
    let deleted = json!({ "kind": null, "app_id": APP_ID, "pushkey": "k-anna" });
    anna.post("/_matrix/client/v3/pushers/set", deleted)
        .await?
        .ok()?;
    ensure!(pushkeys(&anna).await?.is_empty());
    let phone = TestUser::login_with_password(server, "anna.schmidt", &password_of("anna.schmidt"))
        .await?
        .raw();
    register(&phone, "k-phone", &gateway).await?;
    ensure!(pushkeys(&anna).await? == ["k-phone"]);
    phone
        .post("/_matrix/client/v3/logout", json!({}))
        .await?
        .ok()?;
    ensure!(
        pushkeys(&anna).await?.is_empty(),
        "the pusher outlived its device"
    );
    send(&ben, &room, "Hallo?").await?;
    tokio::time::sleep(QUIET).await;
    ensure!(
        gateway.calls().len() == after_restart,
        "a removed pusher got a call"
    );
    Ok(())
}

async fn a_held_message_is_pushed_at_its_release(server: &TestServer) -> Result<()> {
    let gateway = PushGateway::start().await?;
    let apis = quiet_hours::school(server, &["anna.schmidt", "ben.mueller"]).await?;
    let [anna, ben] = <[RawApi; 2]>::try_from(apis).ok().context("logins")?;
    allow_gateway(server, &gateway, "").await?;
    server.set_clock(FRIDAY_EVENING).await?;
    // A pusher without `event_id_only`: the server still sends no content unless the admin
    // allows it.
    let mut full = pusher("k-anna", &gateway.url());
    full["data"] = json!({ "url": gateway.url() });
    anna.post("/_matrix/client/v3/pushers/set", full)
        .await?
        .ok()?;
    let room = quiet_hours::chat(&ben, &anna).await?;

    // Friday evening: Ben writes twice and deletes the second; nothing reaches Anna's phone.
    let kept = send(&ben, &room, "eins").await?;
    let deleted = send(&ben, &room, "zwei").await?;
    ben.put(
        &format!("/_matrix/client/v3/rooms/{room}/redact/{deleted}/weg"),
        json!({}),
    )
    .await?
    .ok()?;
    tokio::time::sleep(QUIET).await;
    ensure!(
        gateway.calls().is_empty(),
        "pushed in quiet hours: {:?}",
        gateway.calls()
    );
    let listed = anna.get("/_matrix/client/v3/notifications").await?.ok()?;
    ensure!(
        listed["notifications"] == json!([]),
        "listed while held: {listed}"
    );

    // Monday 07:00: exactly one call, for the kept message, with the count her client shows.
    server.set_clock(MONDAY_MORNING).await?;
    let calls = gateway.wait_for_calls(1, Duration::from_secs(10)).await?;
    check_without_content(&calls[0], &kept, &room, 1, json!({}))?;
    tokio::time::sleep(QUIET).await;
    ensure!(gateway.calls().len() == 1, "calls: {:?}", gateway.calls());
    let sync = quiet_hours::sync(&anna, None, 0).await?;
    ensure!(unread_total(&sync) == 1, "unread in /sync: {sync}");
    let (listed, ids) = notifications(&anna).await?;
    ensure!(ids == [kept.as_str()], "{listed}");

    // With `include_content` the same pusher gets the message's type, sender and content.
    allow_gateway(server, &gateway, "include_content = true").await?;
    server.set_clock(MONDAY_MORNING + 3_600_000).await?;
    let open = send(&ben, &room, "drei").await?;
    let calls = gateway.wait_for_calls(2, Duration::from_secs(10)).await?;
    let n = calls[1].notification();
    ensure!(n["event_id"] == open.as_str(), "{n}");
    ensure!(
        n["type"] == "m.room.message" && n["content"]["body"] == "drei",
        "{n}"
    );
    ensure!(n["sender"] == "@ben.mueller:schule.test", "{n}");
    ensure!(n["sender_display_name"] == "Ben Müller", "{n}");
    ensure!(n["counts"]["unread"] == 2, "{n}");
    Ok(())
}

async fn failing_and_rejecting_gateways(server: &TestServer) -> Result<()> {
    let gateway = PushGateway::start().await?;
    let (anna, ben) = two_users(server).await?;
    allow_gateway(
        server,
        &gateway,
        "first_retry_ms = 200\ngive_up_after_seconds = 3",
    )
    .await?;
    let (anna, ben) = (anna.raw(), ben.raw());
    register(&anna, "k-anna", &gateway).await?;
    let room = quiet_hours::chat(&ben, &anna).await?;

    // The gateway fails: tried at once, again after at least 0.2 s, 0.4 s and 0.8 s (each pause
    // twice the one before), then given up: the next pause would pass the three seconds.
    gateway.answer_with(GatewayAnswer::Fail);
    let lost = send(&ben, &room, "eins").await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let calls = gateway.calls();
    ensure!(
        (3..=5).contains(&calls.len()),
        "{} tries: {calls:?}",
        calls.len()
    );
    for call in &calls {
        ensure!(call.notification()["event_id"] == lost.as_str());
    }
    // A retry never comes before its pause; a busy machine may only make pauses longer.
    let pauses: Vec<Duration> = calls.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (i, pause) in pauses.iter().enumerate() {
        let backoff = Duration::from_millis(200 << i);
        ensure!(
            *pause >= backoff * 9 / 10,
            "retry {} came after {pause:?}, before its pause of {backoff:?}: {pauses:?}",
            i + 1
        );
    }
    tokio::time::sleep(QUIET).await;
    ensure!(gateway.calls().len() == calls.len(), "not given up");
    ensure!(
        pushkeys(&anna).await? == ["k-anna"],
        "a failing gateway keeps the pusher"
    );

    // Working again: the next message arrives once; the given-up one never again.
    gateway.answer_with(GatewayAnswer::Accept);
    let next = send(&ben, &room, "zwei").await?;
    let all = gateway
        .wait_for_calls(calls.len() + 1, Duration::from_secs(5))
        .await?;
    ensure!(all[calls.len()].notification()["event_id"] == next.as_str());
    tokio::time::sleep(QUIET).await;
    ensure!(gateway.calls().len() == calls.len() + 1);

    // The gateway rejects the pushkey: the pusher is removed and gets no more calls.
    gateway.answer_with(GatewayAnswer::Reject);
    send(&ben, &room, "drei").await?;
    gateway
        .wait_for_calls(calls.len() + 2, Duration::from_secs(5))
        .await?;
    let mut removed = false;
    for _ in 0..50 {
        if pushkeys(&anna).await?.is_empty() {
            removed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(removed, "the rejected pusher is still there");
    send(&ben, &room, "vier").await?;
    tokio::time::sleep(QUIET).await;
    ensure!(
        gateway.calls().len() == calls.len() + 2,
        "a removed pusher got a call"
    );
    Ok(())
}
