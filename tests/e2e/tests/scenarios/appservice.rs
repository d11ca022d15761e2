//! Application services, with a real appservice on loopback ([`RecordingAppservice`]):
//! identity assertion; transactions in order, queued while the appservice is down and
//! delivered when it returns (also across a server restart); the ping with its errcodes;
//! registration and login of namespace users; exclusive namespaces; user and alias queries;
//! and the admin join for school admins and the school's appservice, of one person and of
//! many in one call.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{
    backend_tests, user_id_of, RawApi, RawResponse, RecordingAppservice, TestServer, TestUser,
    SERVER_NAME,
};
use serde_json::{json, Value};

backend_tests!(
    appservice_identity,
    appservice_transactions,
    appservice_accounts_and_namespaces,
    appservice_admin_join,
    appservice_admin_join_many
);

const AS_ID: &str = "schulhof-gruppen";
const AS_TOKEN: &str = "as-token-schulhof-e2e";
const HS_TOKEN: &str = "hs-token-schulhof-e2e";

/// How long a transaction may take to arrive once the appservice is reachable (the sender
/// retries with backoff of at most a few seconds in these scenarios).
const ARRIVAL: Duration = Duration::from_secs(30);

/// A registration for the group users `@gruppe_…` and aliases `#gruppe_…`; `url` null or the
/// recording appservice's; `extra` adds lines (e.g. `de.schulhof.admin_join: any`).
fn registration(url: Option<&str>, extra: &str) -> String {
    let server = SERVER_NAME.replace('.', "\\\\.");
    let url = url.map_or("null".to_owned(), |u| format!("{u:?}"));
    format!(
        r#"id: {AS_ID}
url: {url}
as_token: "{AS_TOKEN}"
hs_token: "{HS_TOKEN}"
sender_localpart: schulhof-bot
rate_limited: false
receive_ephemeral: true
{extra}
namespaces:
  users:
    - exclusive: true
      regex: "@gruppe_.*:{server}"
  aliases:
    - exclusive: true
      regex: "\\#gruppe_.*:{server}"
  rooms: []
"#
    )
}

/// Writes the registration and restarts the server with it.
pub(crate) async fn register_appservice(
    server: &TestServer,
    url: Option<&str>,
    extra: &str,
) -> Result<()> {
    let file = server.path("gruppen-appservice.yaml");
    std::fs::write(&file, registration(url, extra))?;
    server
        .restart_with_settings(
            &format!("appservices = [{:?}]", file.display().to_string()),
            "[rate_limits]\nenabled = false\n[encryption]\nenabled_by_default_for = \"off\"",
        )
        .await
}

/// The appservice's API, acting as its sender.
pub(crate) fn appservice_api(server: &TestServer) -> RawApi {
    server.raw().with_token(Some(AS_TOKEN))
}

async fn whoami(api: &RawApi, user_id: Option<&str>) -> Result<RawResponse> {
    let query: Vec<(&str, &str)> = user_id.map(|u| ("user_id", u)).into_iter().collect();
    api.get_query("/_matrix/client/v3/account/whoami", &query)
        .await
}

async fn appservice_identity(server: &TestServer) -> Result<()> {
    for (localpart, name) in [("gruppe_8a", "Klasse 8a"), ("anna.schmidt", "Anna Schmidt")] {
        server.add_user(localpart, name).await?;
    }
    register_appservice(server, None, "").await?;

    let api = appservice_api(server);
    let own = whoami(&api, None).await?.ok()?;
    ensure!(
        own["user_id"] == user_id_of("schulhof-bot") && own.get("device_id").is_none(),
        "without user_id the appservice acts as its sender (created at start), with no device: {own}"
    );
    let group = user_id_of("gruppe_8a");
    let asserted = whoami(&api, Some(&group)).await?.ok()?;
    ensure!(
        asserted["user_id"] == group,
        "asserted identity: {asserted}"
    );

    // Acting as the namespace user works for real requests too.
    let room = api
        .post(
            &format!("/_matrix/client/v3/createRoom?user_id={group}"),
            json!({ "name": "Klasse 8a" }),
        )
        .await?
        .ok()?;
    let room_id = room["room_id"].as_str().context("no room_id")?;
    let members = api
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/joined_members?user_id={group}"
        ))
        .await?
        .ok()?;
    let joined: Vec<&String> = members["joined"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    ensure!(
        joined == [&group],
        "the room was created by the group and has only it as member: {members}"
    );

    whoami(&api, Some(&user_id_of("anna.schmidt")))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    whoami(&api, Some(&user_id_of("gruppe_9z")))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    whoami(&server.raw().with_token(Some("as-token-falsch")), None)
        .await?
        .expect_error(&[401], &["M_UNKNOWN_TOKEN"])?;
    // Without a URL the ping has nobody to call.
    appservice_api(server)
        .post(
            &format!("/_matrix/client/v1/appservice/{AS_ID}/ping"),
            json!({}),
        )
        .await?
        .expect_error(&[400], &["M_URL_NOT_SET"])?;
    Ok(())
}

/// Sends text messages `bodies` into `room` (raw API, one transaction ID each).
async fn say_all(api: &RawApi, room: &str, bodies: &[&str]) -> Result<()> {
    for body in bodies {
        api.put(
            &format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/as-{body}"),
            json!({ "msgtype": "m.text", "body": body }),
        )
        .await?
        .ok()?;
    }
    Ok(())
}

/// Every event has the fields of the spec's `ClientEvent` (the transaction schema's items).
fn check_client_events(events: &[Value]) -> Result<()> {
    for event in events {
        for field in ["event_id", "room_id", "sender", "type", "content"] {
            ensure!(event.get(field).is_some(), "event without {field}: {event}");
        }
        ensure!(
            event["origin_server_ts"].is_i64(),
            "event without origin_server_ts: {event}"
        );
    }
    Ok(())
}

async fn appservice_transactions(server: &TestServer) -> Result<()> {
    server.add_user("anna.schmidt", "Anna Schmidt").await?;
    server.add_user("ben.weber", "Ben Weber").await?;
    let appservice = RecordingAppservice::start(HS_TOKEN).await?;
    register_appservice(server, Some(&appservice.url()), "").await?;
    let as_api = appservice_api(server);
    as_api
        .post(
            "/_matrix/client/v3/register",
            json!({ "type": "m.login.application_service", "username": "gruppe_8a", "inhibit_login": true }),
        )
        .await?
        .ok()?;
    let group = user_id_of("gruppe_8a");

    // A room without appservice users: the appservice hears nothing of it.
    let anna = TestUser::login(server, "anna.schmidt").await?.raw();
    let private = anna
        .post("/_matrix/client/v3/createRoom", json!({ "name": "Privat" }))
        .await?
        .ok()?;
    let private = private["room_id"].as_str().context("room_id")?.to_owned();
    say_all(&anna, &private, &["geheim"]).await?;

    // A room the group user joins: from the invitation on, everything arrives, in order.
    let room = anna
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "name": "Klasse 8a", "invite": [group] }),
        )
        .await?
        .ok()?;
    let room = room["room_id"].as_str().context("room_id")?.to_owned();
    as_api
        .post(
            &format!("/_matrix/client/v3/join/{room}?user_id={group}"),
            json!({}),
        )
        .await?
        .ok()?;
    say_all(&anna, &room, &["1", "2", "3", "4", "5"]).await?;
    appservice
        .wait_until(ARRIVAL, "messages 1 to 5", |a| {
            a.message_bodies().len() >= 5
        })
        .await?;
    ensure!(
        appservice.message_bodies() == ["1", "2", "3", "4", "5"],
        "messages in order, none of the private room: {:?}",
        appservice.message_bodies()
    );
    let events = appservice.events();
    check_client_events(&events)?;
    let invite = events
        .iter()
        .position(|e| e["type"] == "m.room.member" && e["state_key"] == group.as_str());
    ensure!(
        invite.is_some() && events.iter().all(|e| e["room_id"] == room.as_str()),
        "the invitation of the group user came first, only events of its room: {events:?}"
    );
    // Public read receipts reach it as ephemeral data (receive_ephemeral).
    let last = events.last().context("events")?["event_id"]
        .as_str()
        .context("event_id")?
        .to_owned();
    anna.post(
        &format!("/_matrix/client/v3/rooms/{room}/receipt/m.read/{last}"),
        json!({}),
    )
    .await?
    .ok()?;
    appservice
        .wait_until(ARRIVAL, "the read receipt", |a| {
            a.ephemeral().iter().any(|e| e["type"] == "m.receipt")
        })
        .await?;
    let receipt = appservice
        .ephemeral()
        .into_iter()
        .find(|e| e["type"] == "m.receipt");
    let receipt = receipt.context("receipt")?;
    ensure!(
        receipt["room_id"] == room.as_str()
            && receipt["content"][&last]["m.read"][user_id_of("anna.schmidt")]["ts"].is_i64(),
        "receipt with room_id: {receipt}"
    );

    // The appservice is down: messages wait and arrive in order when it is back.
    appservice.stop().await;
    say_all(&anna, &room, &["6", "7", "8"]).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ensure!(
        appservice.message_bodies().len() == 5,
        "nothing arrives while it is down"
    );
    appservice.resume().await?;
    appservice
        .wait_until(ARRIVAL, "messages 6 to 8", |a| {
            a.message_bodies().len() >= 8
        })
        .await?;

    // Down again, and the server restarts meanwhile (killed): nothing is lost.
    appservice.stop().await;
    say_all(&anna, &room, &["9", "10"]).await?;
    server.restart().await?;
    say_all(&anna, &room, &["11"]).await?;
    appservice.resume().await?;
    appservice
        .wait_until(ARRIVAL, "messages 9 to 11", |a| {
            a.message_bodies().len() >= 11
        })
        .await?;
    let expected: Vec<String> = (1..=11).map(|n| n.to_string()).collect();
    ensure!(
        appservice.message_bodies() == expected,
        "every message once, in order: {:?}",
        appservice.message_bodies()
    );
    let ids: Vec<u64> = appservice
        .transactions()
        .iter()
        .map(|(id, _)| id.parse().context("numeric txnId"))
        .collect::<Result<_>>()?;
    ensure!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "transaction IDs increase: {ids:?}"
    );
    ensure!(
        appservice.refused() == 0,
        "every request carried the hs_token"
    );
    Ok(())
}

async fn appservice_accounts_and_namespaces(server: &TestServer) -> Result<()> {
    server.add_user("anna.schmidt", "Anna Schmidt").await?;
    let appservice = RecordingAppservice::start(HS_TOKEN).await?;
    register_appservice(server, Some(&appservice.url()), "").await?;
    appservice.answer_queries_with(&server.url(), AS_TOKEN);
    let as_api = appservice_api(server);
    let anonymous = server.raw();

    // Registration of namespace users by the appservice, with and without login.
    let registered = as_api
        .post(
            "/_matrix/client/v3/register",
            json!({ "type": "m.login.application_service", "username": "gruppe_8a" }),
        )
        .await?
        .ok()?;
    ensure!(
        registered["user_id"] == user_id_of("gruppe_8a")
            && registered["access_token"].is_string()
            && registered["device_id"].is_string(),
        "registered and logged in: {registered}"
    );
    let token = registered["access_token"].as_str().context("token")?;
    let own = whoami(&server.raw().with_token(Some(token)), None)
        .await?
        .ok()?;
    ensure!(own["user_id"] == user_id_of("gruppe_8a"), "{own}");
    as_api
        .post(
            "/_matrix/client/v3/register",
            json!({ "type": "m.login.application_service", "username": "gruppe_8a" }),
        )
        .await?
        .expect_error(&[400], &["M_USER_IN_USE"])?;
    as_api
        .post(
            "/_matrix/client/v3/register",
            json!({ "type": "m.login.application_service", "username": "hans" }),
        )
        .await?
        .expect_error(&[400], &["M_EXCLUSIVE"])?;
    // Nobody else registers in the exclusive namespace; other names are refused as always.
    anonymous
        .post(
            "/_matrix/client/v3/register",
            json!({ "username": "gruppe_9b", "password": "Geheim-123!" }),
        )
        .await?
        .expect_error(&[400], &["M_EXCLUSIVE"])?;
    anonymous
        .get_query(
            "/_matrix/client/v3/register/available",
            &[("username", "gruppe_9b")],
        )
        .await?
        .expect_error(&[400], &["M_EXCLUSIVE"])?;
    anonymous
        .post(
            "/_matrix/client/v3/register",
            json!({ "username": "hans", "password": "Geheim-123!" }),
        )
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    anonymous
        .post(
            "/_matrix/client/v3/register",
            json!({ "type": "m.login.application_service", "username": "gruppe_9b" }),
        )
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;

    // m.login.application_service: only with the as_token, only for namespace users.
    let types = anonymous.get("/_matrix/client/v3/login").await?.ok()?;
    ensure!(
        types["flows"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["type"] == "m.login.application_service")),
        "login types: {types}"
    );
    let login = |user: &str| {
        json!({
            "type": "m.login.application_service",
            "identifier": { "type": "m.id.user", "user": user },
        })
    };
    let logged_in = as_api
        .post("/_matrix/client/v3/login", login("gruppe_8a"))
        .await?
        .ok()?;
    ensure!(
        logged_in["user_id"] == user_id_of("gruppe_8a") && logged_in["access_token"].is_string(),
        "{logged_in}"
    );
    as_api
        .post("/_matrix/client/v3/login", login("anna.schmidt"))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    anonymous
        .post("/_matrix/client/v3/login", login("gruppe_8a"))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;

    // The ping: the appservice hears it with the transaction ID; errcodes per the spec.
    let ping_path = format!("/_matrix/client/v1/appservice/{AS_ID}/ping");
    let pinged = as_api
        .post(&ping_path, json!({ "transaction_id": "ping-1" }))
        .await?
        .ok()?;
    ensure!(pinged["duration_ms"].is_u64(), "{pinged}");
    ensure!(
        appservice.pings() == [json!({ "transaction_id": "ping-1" })],
        "the appservice got the ping: {:?}",
        appservice.pings()
    );
    as_api
        .post(
            "/_matrix/client/v1/appservice/andere-bruecke/ping",
            json!({}),
        )
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    let anna = TestUser::login(server, "anna.schmidt").await?.raw();
    anna.post(&ping_path, json!({}))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    appservice.answer_pings_with(500);
    let bad = as_api.post(&ping_path, json!({})).await?;
    bad.expect_error(&[502], &["M_BAD_STATUS"])?;
    ensure!(
        bad.body["status"] == 500
            && bad.body["body"]
                .as_str()
                .is_some_and(|b| b.contains("kaputt")),
        "the appservice's status and body: {}",
        bad.body
    );
    appservice.answer_pings_with(200);
    appservice.stop().await;
    as_api
        .post(&ping_path, json!({}))
        .await?
        .expect_error(&[502], &["M_CONNECTION_FAILED"])?;
    appservice.resume().await?;

    // Exclusive aliases: nobody else creates them.
    let room = anna
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "name": "AG Theater" }),
        )
        .await?
        .ok()?;
    let room = room["room_id"].as_str().context("room_id")?.to_owned();
    let alias = format!("%23gruppe_theater:{SERVER_NAME}");
    anna.put(
        &format!("/_matrix/client/v3/directory/room/{alias}"),
        json!({ "room_id": room }),
    )
    .await?
    .expect_error(&[400], &["M_EXCLUSIVE"])?;
    anna.post(
        "/_matrix/client/v3/createRoom",
        json!({ "name": "AG Chor", "room_alias_name": "gruppe_chor" }),
    )
    .await?
    .expect_error(&[400], &["M_EXCLUSIVE"])?;

    // User and alias queries: unknown names of the namespace are asked for, and exist after.
    let profile = anna
        .get(&format!(
            "/_matrix/client/v3/profile/{}",
            user_id_of("gruppe_neu")
        ))
        .await?;
    ensure!(
        appservice.queries().contains(&user_id_of("gruppe_neu")),
        "the appservice was asked about the user: {:?}",
        appservice.queries()
    );
    profile.ok()?;
    let resolved = anna
        .get(&format!(
            "/_matrix/client/v3/directory/room/%23gruppe_neu:{SERVER_NAME}"
        ))
        .await?;
    ensure!(
        appservice
            .queries()
            .contains(&format!("#gruppe_neu:{SERVER_NAME}")),
        "the appservice was asked about the alias: {:?}",
        appservice.queries()
    );
    let resolved = resolved.ok()?;
    ensure!(resolved["room_id"].is_string(), "{resolved}");
    // Outside the namespaces nobody is asked.
    anna.get(&format!(
        "/_matrix/client/v3/directory/room/%23theater:{SERVER_NAME}"
    ))
    .await?
    .expect_error(&[404], &["M_NOT_FOUND"])?;
    ensure!(
        appservice.queries().len() == 2,
        "{:?}",
        appservice.queries()
    );
    Ok(())
}

/// A small school: an admin, a teacher and a student.
const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
A-1;Sabine;Leitner;Schulleitung;;;ja
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
S-2;Mia;Weber;Schülerin;Klasse 8a;;ja
";

pub(crate) const PASSWORD: &str = "Gruen-Tanne-4711";

pub(crate) async fn login(server: &TestServer, localpart: &str) -> Result<RawApi> {
    let password = format!("{PASSWORD}\n");
    server
        .cli(&["user", "set-password", localpart], Some(&password))
        .await?;
    Ok(TestUser::login_with_password(server, localpart, PASSWORD)
        .await?
        .raw())
}

pub(crate) async fn joined_members(api: &RawApi, room: &str) -> Result<Vec<String>> {
    let members = api
        .get(&format!("/_matrix/client/v3/rooms/{room}/joined_members"))
        .await?
        .ok()?;
    let mut joined: Vec<String> = members["joined"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    joined.sort();
    Ok(joined)
}

async fn appservice_admin_join(server: &TestServer) -> Result<()> {
    server.import("schule.csv", SCHOOL, &[]).await?;
    register_appservice(server, None, "de.schulhof.admin_join: any").await?;
    let admin = login(server, "sabine.leitner").await?;
    let teacher = login(server, "anna.schmidt").await?;
    let student = login(server, "ben.mueller").await?;
    let (ben, mia) = (user_id_of("ben.mueller"), user_id_of("mia.weber"));

    // The admin's room: the admin makes the student join without an invitation to accept.
    let room = admin
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "name": "Klasse 8a" }),
        )
        .await?
        .ok()?;
    let room = room["room_id"].as_str().context("room_id")?.to_owned();
    let join_path = format!("/_synapse/admin/v1/join/{room}");
    let joined = admin
        .post(&join_path, json!({ "user_id": ben }))
        .await?
        .ok()?;
    ensure!(joined["room_id"] == room.as_str(), "{joined}");
    ensure!(
        joined_members(&admin, &room).await?.contains(&ben),
        "the student is joined"
    );

    // Teachers and students may not.
    let refused = teacher.post(&join_path, json!({ "user_id": mia })).await?;
    refused.expect_error(&[403], &["M_FORBIDDEN"])?;
    ensure!(
        refused.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("Schulleitung")),
        "a clear reason: {}",
        refused.body
    );
    student
        .post(&join_path, json!({ "user_id": mia }))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    ensure!(
        !joined_members(&admin, &room).await?.contains(&mia),
        "nobody was made to join"
    );

    // The school's appservice (admin_join: any) may, through a room its sender manages.
    let as_api = appservice_api(server);
    let as_room = as_api
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "name": "Kollegium", "room_alias_name": "gruppe_kollegium" }),
        )
        .await?
        .ok()?;
    let as_room = as_room["room_id"].as_str().context("room_id")?.to_owned();
    as_api
        .post(
            &format!("/_synapse/admin/v1/join/%23gruppe_kollegium:{SERVER_NAME}"),
            json!({ "user_id": user_id_of("anna.schmidt") }),
        )
        .await?
        .ok()?;
    ensure!(
        joined_members(&teacher, &as_room)
            .await?
            .contains(&user_id_of("anna.schmidt")),
        "the teacher was made to join by the appservice"
    );

    // Bad requests change nothing and say why.
    admin
        .post(&join_path, json!({}))
        .await?
        .expect_error(&[400], &["M_MISSING_PARAM"])?;
    admin
        .post(&join_path, json!({ "user_id": "kein-benutzer" }))
        .await?
        .expect_error(&[400], &["M_INVALID_PARAM"])?;
    admin
        .post(&join_path, json!({ "user_id": user_id_of("niemand") }))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    admin
        .post(
            &format!("/_synapse/admin/v1/join/!unbekannt:{SERVER_NAME}"),
            json!({ "user_id": mia }),
        )
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    server
        .raw()
        .post(&join_path, json!({ "user_id": mia }))
        .await?
        .expect_error(&[401], &["M_MISSING_TOKEN"])?;
    Ok(())
}

/// The user IDs an answer of the admin join of many people lists under `field`, sorted.
fn listed(answer: &Value, field: &str) -> Vec<String> {
    let mut users: Vec<String> = answer[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect();
    users.sort();
    users
}

/// The errcode an answer of the admin join of many people gives for a refused `user`.
fn refusal<'a>(answer: &'a Value, user: &str) -> &'a str {
    answer["refused"][user]["errcode"].as_str().unwrap_or("")
}

async fn appservice_admin_join_many(server: &TestServer) -> Result<()> {
    server.import("schule.csv", SCHOOL, &[]).await?;
    register_appservice(server, None, "de.schulhof.admin_join: namespace").await?;
    let admin = login(server, "sabine.leitner").await?;
    let teacher = login(server, "anna.schmidt").await?;
    let student = login(server, "ben.mueller").await?;
    let (anna, ben, mia) = (
        user_id_of("anna.schmidt"),
        user_id_of("ben.mueller"),
        user_id_of("mia.weber"),
    );
    let nobody = user_id_of("niemand");

    // The admin's room; Mia is banned from it.
    let room = admin
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "name": "Klasse 8a" }),
        )
        .await?
        .ok()?;
    let room = room["room_id"].as_str().context("room_id")?.to_owned();
    admin
        .post(
            &format!("/_matrix/client/v3/rooms/{room}/ban"),
            json!({ "user_id": mia }),
        )
        .await?
        .ok()?;
    let path = format!("/_schulhof/admin/v1/rooms/{room}/join");

    // Everyone allowed joins in one call; a refused person is reported with the reason and
    // does not stop the others.
    let answer = admin
        .post(&path, json!({ "user_ids": [ben, mia, anna, nobody, ben] }))
        .await?
        .ok()?;
    ensure!(answer["room_id"] == room.as_str(), "{answer}");
    ensure!(
        listed(&answer, "joined") == [anna.clone(), ben.clone()],
        "{answer}"
    );
    ensure!(listed(&answer, "already_joined").is_empty(), "{answer}");
    ensure!(
        refusal(&answer, &mia) == "M_FORBIDDEN" && refusal(&answer, &nobody) == "M_NOT_FOUND",
        "{answer}"
    );
    ensure!(
        answer["refused"][&nobody]["error"]
            .as_str()
            .is_some_and(|e| e.contains("gibt es nicht")),
        "a German reason: {answer}"
    );
    let members = joined_members(&admin, &room).await?;
    ensure!(
        members.contains(&anna) && members.contains(&ben) && !members.contains(&mia),
        "{members:?}"
    );

    // Again: nothing to do, nothing sent.
    let before = admin
        .get(&format!(
            "/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=50"
        ))
        .await?
        .ok()?;
    let answer = admin
        .post(&path, json!({ "user_ids": [ben, anna] }))
        .await?
        .ok()?;
    ensure!(
        listed(&answer, "already_joined") == [anna.clone(), ben.clone()]
            && listed(&answer, "joined").is_empty(),
        "{answer}"
    );
    let after = admin
        .get(&format!(
            "/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=50"
        ))
        .await?
        .ok()?;
    let event_ids = |page: &Value| -> Vec<String> {
        page["chunk"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
            .collect()
    };
    ensure!(
        event_ids(&before) == event_ids(&after) && !event_ids(&before).is_empty(),
        "an idempotent call sends no events"
    );

    // Teachers and students may not, for anyone.
    for api in [&teacher, &student] {
        api.post(&path, json!({ "user_ids": [mia] }))
            .await?
            .expect_error(&[403], &["M_FORBIDDEN"])?;
    }

    // An appservice with `namespace`: people of its namespace join, others are refused alone.
    let as_api = appservice_api(server);
    as_api
        .post(
            "/_matrix/client/v3/register",
            json!({ "type": "m.login.application_service", "username": "gruppe_8a", "inhibit_login": true }),
        )
        .await?
        .ok()?;
    let group = user_id_of("gruppe_8a");
    let as_room = as_api
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "name": "Kollegium", "room_alias_name": "gruppe_kollegium" }),
        )
        .await?
        .ok()?;
    let as_room = as_room["room_id"].as_str().context("room_id")?.to_owned();
    let answer = as_api
        .post(
            &format!("/_schulhof/admin/v1/rooms/%23gruppe_kollegium:{SERVER_NAME}/join"),
            json!({ "user_ids": [group, anna] }),
        )
        .await?
        .ok()?;
    ensure!(
        answer["room_id"] == as_room.as_str()
            && listed(&answer, "joined") == [group.clone()]
            && refusal(&answer, &anna) == "M_FORBIDDEN",
        "{answer}"
    );
    ensure!(
        joined_members(&as_api, &as_room).await?.contains(&group),
        "the namespace user joined"
    );

    // Bad requests change nothing and say why.
    let too_many: Vec<String> = (0..101).map(|i| user_id_of(&format!("kind{i}"))).collect();
    admin
        .post(&path, json!({ "user_ids": too_many }))
        .await?
        .expect_error(&[400], &["M_INVALID_PARAM"])?;
    admin
        .post(&path, json!({ "user_id": ben }))
        .await?
        .expect_error(&[400], &["M_MISSING_PARAM"])?;
    admin
        .post(&path, json!({ "user_ids": [ben, "kein-benutzer"] }))
        .await?
        .expect_error(&[400], &["M_INVALID_PARAM"])?;
    admin
        .post(
            &format!("/_schulhof/admin/v1/rooms/!unbekannt:{SERVER_NAME}/join"),
            json!({ "user_ids": [ben] }),
        )
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    server
        .raw()
        .post(&path, json!({ "user_ids": [ben] }))
        .await?
        .expect_error(&[401], &["M_MISSING_TOKEN"])?;

    // An appservice without `de.schulhof.admin_join` is refused the whole call.
    std::fs::write(
        server.path("gruppen-appservice.yaml"),
        registration(None, ""),
    )?;
    server.restart().await?;
    appservice_api(server)
        .post(&path, json!({ "user_ids": [group] }))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    Ok(())
}
