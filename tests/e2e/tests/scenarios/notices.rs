//! Refusals a person understands, and encryption by default. When the school's rights refuse
//! something a person did, the answer is 403 with a text for its reader ("du" for students,
//! "Sie" for parents) and the person finds one notice about it in their server-notices room
//! (tagged `m.server_notice`, Element's "Systemwarnungen"): once per rule and hour, also
//! across a restart, and none for a profile lookup no person asked for. What a person may not
//! change about their account is in the capabilities. New direct chats are encrypted by the
//! server, also with someone who never logged in.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{
    backend_tests, create_room as create, direct_chat, user_id_of, RawApi, RawResponse, TestServer,
    TestUser,
};
use serde_json::json;

backend_tests!(
    refusals_are_explained_in_server_notices,
    new_rooms_are_encrypted_by_default
);

/// The password every imported person gets here.
const PASSWORD: &str = "Gruen-Tanne-4711";

/// Two classes of a primary school: a teacher, three children, two parents.
const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 4a;;ja
S-1;Ben;Müller;Schüler;Klasse 4a;;ja
S-2;Zoë;Yılmaz;Schülerin;Klasse 4a;;ja
S-3;Mia;Weber;Schülerin;Klasse 4b;;ja
E-1;Clara;Müller;Sorgeberechtigte;;S-1;ja
E-3;Udo;Weber;Sorgeberechtigter;;S-3;ja
";

/// The test server's sections with a clock the scenario can move.
const MOVABLE_CLOCK: &str = "[rate_limits]\nenabled = false\n[encryption]\n\
                             enabled_by_default_for = \"off\"\n[testing]\nmovable_clock = true";

/// How long the running server may take to load a re-import.
const PICKUP: Duration = Duration::from_secs(3);

const ROOM_NOT_CREATED: &str = "Der Raum wurde nicht angelegt.";
const CHAT_NOT_STARTED: &str = "Der Chat wurde nicht gestartet.";
const MESSAGE_NOT_SENT: &str = "Die Nachricht wurde nicht gesendet.";
const NOBODY_FOUND: &str = "Die Suche hat niemanden gefunden.";
const NAME_NOT_CHANGED: &str = "Der Name wurde nicht geändert.";

const NO_ROOMS: &str = "Du kannst keine Chaträume anlegen und niemanden einladen. Du kannst \
                        aber Personen aus deiner Klasse und Lehrkräften direkt schreiben.";
const OTHER_CLASS: &str = "Du kannst nur Personen aus deiner Klasse und deinen Gruppen und \
                           Lehrkräften schreiben. Eine Lehrkraft kann euch zusammen in einen \
                           Raum einladen.";
const NOT_FOUND: &str = "Du findest nur Personen, denen du schreiben darfst: aus deiner Klasse, \
                         deinen Gruppen und Lehrkräfte. Fehlt jemand, frag eine Lehrkraft.";
const NO_LONGER: &str = "Hier kannst du nicht mehr schreiben, weil jemand in diesem Chat nicht \
                         mehr in deiner Klasse oder Gruppe ist. Die alten Nachrichten kannst \
                         du weiter lesen.";
const OWN_NAME: &str = "Deinen Namen kannst du nicht ändern, er kommt aus dem Schulverzeichnis. \
                        Ist er falsch, sag es im Sekretariat.";
const OTHER_PARENTS: &str = "Sie können nur Eltern aus den Klassen Ihrer Kinder, Ihren Kindern \
                             und Lehrkräften schreiben. Eine Lehrkraft kann Sie gemeinsam in \
                             einen Raum einladen.";

/// A notice as the person reads it: what was refused, on the next line why and what instead.
fn notice(refused: &str, text: &str) -> String {
    format!("{refused}\n{text}")
}

/// Imports the school, sets everyone's password and logs `people` in (raw HTTP clients).
async fn school(server: &TestServer, people: &[&str]) -> Result<Vec<RawApi>> {
    server.import("schule.csv", SCHOOL, &[]).await?;
    let mut apis = Vec::new();
    for localpart in people {
        let password = format!("{PASSWORD}\n");
        server
            .cli(&["user", "set-password", localpart], Some(&password))
            .await?;
        apis.push(
            TestUser::login_with_password(server, localpart, PASSWORD)
                .await?
                .raw(),
        );
    }
    Ok(apis)
}

/// The server notices `localpart` can read, oldest first: the messages of the system account
/// in their rooms tagged `m.server_notice` (there must be one at most).
async fn notices(api: &RawApi, localpart: &str) -> Result<Vec<String>> {
    let user = user_id_of(localpart);
    let joined = api.get("/_matrix/client/v3/joined_rooms").await?.ok()?;
    let mut notice_rooms = Vec::new();
    for room in joined["joined_rooms"].as_array().context("joined_rooms")? {
        let room = room.as_str().context("room ID")?;
        let tags = api
            .get(&format!("/_matrix/client/v3/user/{user}/rooms/{room}/tags"))
            .await?
            .ok()?;
        if tags["tags"].get("m.server_notice").is_some() {
            notice_rooms.push(room.to_owned());
        }
    }
    ensure!(
        notice_rooms.len() <= 1,
        "several notices rooms: {notice_rooms:?}"
    );
    let Some(room) = notice_rooms.first() else {
        return Ok(Vec::new());
    };
    let page = api
        .get(&format!(
            "/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=100"
        ))
        .await?
        .ok()?;
    let mut bodies = Vec::new();
    for event in page["chunk"].as_array().context("chunk")?.iter().rev() {
        if event["content"]["msgtype"] != "m.server_notice" {
            continue;
        }
        ensure!(
            event["sender"] == user_id_of("schulhof") && event["type"] == "m.room.message",
            "{event}"
        );
        bodies.push(
            event["content"]["body"]
                .as_str()
                .context("body")?
                .to_owned(),
        );
    }
    Ok(bodies)
}

/// Fails unless `localpart` has exactly the notices `expected`.
async fn expect_notices(api: &RawApi, localpart: &str, expected: &[String]) -> Result<()> {
    let got = notices(api, localpart).await?;
    ensure!(got == expected, "notices of {localpart}: {got:#?}");
    Ok(())
}

/// Sends a text message; the raw response.
async fn send_text(api: &RawApi, room: &str, txn: &str) -> Result<RawResponse> {
    api.put(
        &format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}"),
        json!({ "msgtype": "m.text", "body": "Hallo" }),
    )
    .await
}

/// Whether the capability `name` is enabled for the owner of `api`.
async fn capability(api: &RawApi, name: &str) -> Result<bool> {
    let body = api.get("/_matrix/client/v3/capabilities").await?.ok()?;
    body["capabilities"][name]["enabled"]
        .as_bool()
        .with_context(|| format!("capability {name}: {body}"))
}

async fn refusals_are_explained_in_server_notices(server: &TestServer) -> Result<()> {
    let people = ["ben.mueller", "zoe.yilmaz", "clara.mueller"];
    let apis = school(server, &people).await?;
    let [ben, zoe, clara] = <[RawApi; 3]>::try_from(apis).ok().context("logins")?;
    server.restart_with_sections(MOVABLE_CLOCK).await?;
    let mut expected = Vec::new();

    // A new room: refused, explained once, not again for the retries of his app, not even
    // after a restart.
    let study_group = json!({ "name": "Lerngruppe", "invite": [user_id_of("zoe.yilmaz")] });
    create(&ben, study_group.clone())
        .await?
        .expect_forbidden(NO_ROOMS)?;
    expected.push(notice(ROOM_NOT_CREATED, NO_ROOMS));
    expect_notices(&ben, "ben.mueller", &expected).await?;
    create(&ben, study_group.clone())
        .await?
        .expect_forbidden(NO_ROOMS)?;
    server.restart().await?;
    create(&ben, study_group.clone())
        .await?
        .expect_forbidden(NO_ROOMS)?;
    expect_notices(&ben, "ben.mueller", &expected).await?;

    // A direct chat with a child of another class.
    create(&ben, direct_chat("mia.weber"))
        .await?
        .expect_forbidden(OTHER_CLASS)?;
    expected.push(notice(CHAT_NOT_STARTED, OTHER_CLASS));
    expect_notices(&ben, "ben.mueller", &expected).await?;

    // His app looks up her profile on its own: refused, but no notice.
    let profile = format!("/_matrix/client/v3/profile/{}", user_id_of("mia.weber"));
    ben.get(&profile)
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    // Searching for her finds nobody: the notice says why.
    let search = json!({ "search_term": "Mia Weber" });
    let found = ben
        .post("/_matrix/client/v3/user_directory/search", search)
        .await?
        .ok()?;
    ensure!(found["results"] == json!([]), "{found}");
    expected.push(notice(NOBODY_FOUND, NOT_FOUND));
    expect_notices(&ben, "ben.mueller", &expected).await?;

    // His name comes from the school: his app hides the control, the server refuses.
    ensure!(!capability(&ben, "m.set_displayname").await?, "Ben renames");
    ensure!(
        capability(&ben, "m.change_password").await?,
        "Ben's password"
    );
    ensure!(
        capability(&clara, "m.set_displayname").await?,
        "Clara renames"
    );
    let rename = format!(
        "/_matrix/client/v3/profile/{}/displayname",
        user_id_of("ben.mueller")
    );
    ben.put(&rename, json!({ "displayname": "Frau Schmidt" }))
        .await?
        .expect_forbidden(OWN_NAME)?;
    expected.push(notice(NAME_NOT_CHANGED, OWN_NAME));

    // A chat with his classmate Zoë; she moves to 4b, and his next message is refused.
    let chat = create(&ben, direct_chat("zoe.yilmaz")).await?.ok()?;
    let chat = chat["room_id"].as_str().context("room_id")?.to_owned();
    zoe.post(&format!("/_matrix/client/v3/join/{chat}"), json!({}))
        .await?
        .ok()?;
    let moved = SCHOOL.replace(
        "S-2;Zoë;Yılmaz;Schülerin;Klasse 4a",
        "S-2;Zoë;Yılmaz;Schülerin;Klasse 4b",
    );
    server.import("schule-neu.csv", &moved, &[]).await?;
    let started = Instant::now();
    for attempt in 0.. {
        let sent = send_text(&ben, &chat, &format!("noch-da-{attempt}")).await?;
        if sent.status == 403 {
            sent.expect_forbidden(NO_LONGER)?;
            break;
        }
        sent.ok()?;
        ensure!(started.elapsed() < PICKUP, "the move was not picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    expected.push(notice(MESSAGE_NOT_SENT, NO_LONGER));
    expect_notices(&ben, "ben.mueller", &expected).await?;

    // An hour later his app tries the room again: one more notice.
    let in_an_hour = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() + 61 * 60_000;
    server
        .raw()
        .post("/_schulhof/test/clock", json!({ "now_ms": in_an_hour }))
        .await?
        .ok()?;
    create(&ben, study_group)
        .await?
        .expect_forbidden(NO_ROOMS)?;
    expected.push(notice(ROOM_NOT_CREATED, NO_ROOMS));
    expect_notices(&ben, "ben.mueller", &expected).await?;

    // His mother is addressed with "Sie".
    create(&clara, direct_chat("udo.weber"))
        .await?
        .expect_forbidden(OTHER_PARENTS)?;
    expect_notices(
        &clara,
        "clara.mueller",
        &[notice(CHAT_NOT_STARTED, OTHER_PARENTS)],
    )
    .await?;

    // The system account can never log in.
    let login = json!({
        "type": "m.login.password",
        "identifier": { "type": "m.id.user", "user": "schulhof" },
        "password": PASSWORD,
    });
    server
        .raw()
        .post("/_matrix/client/v3/login", login)
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    let set_password = server
        .cli(
            &["user", "set-password", "schulhof"],
            Some(&format!("{PASSWORD}\n")),
        )
        .await;
    ensure!(set_password.is_err(), "the system account got a password");
    Ok(())
}

/// A direct chat created without any `initial_state` (as with someone who never logged in)
/// is encrypted; public rooms are not; clients learn it from `/versions` and `.well-known`.
/// With `allow_encryption = false` in the rights the server encrypts nothing.
async fn new_rooms_are_encrypted_by_default(server: &TestServer) -> Result<()> {
    server.add_user("anna.schmidt", "Anna Schmidt").await?;
    server.add_user("ben.mueller", "Ben Müller").await?;
    // The server's default settings.
    server
        .restart_with_sections("[rate_limits]\nenabled = false")
        .await?;
    let anna = TestUser::login(server, "anna.schmidt").await?.raw();
    let encryption =
        |room: &str| format!("/_matrix/client/v3/rooms/{room}/state/m.room.encryption/");
    let chat = create(&anna, direct_chat("ben.mueller")).await?.ok()?;
    let chat = chat["room_id"].as_str().context("room_id")?;
    let state = anna.get(&encryption(chat)).await?.ok()?;
    ensure!(state["algorithm"] == "m.megolm.v1.aes-sha2", "{state}");
    let public = json!({ "preset": "public_chat", "name": "Schulfest" });
    let public = create(&anna, public).await?.ok()?;
    let public = public["room_id"].as_str().context("room_id")?;
    anna.get(&encryption(public))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;

    let versions = server.raw().get("/_matrix/client/versions").await?.ok()?;
    let features = &versions["unstable_features"];
    ensure!(
        features["io.element.e2ee_forced.trusted_private"] == true
            && features["io.element.e2ee_forced.private"] == true
            && features["io.element.e2ee_forced.public"] == false,
        "{versions}"
    );
    let well_known = server.raw().get("/.well-known/matrix/client").await?.ok()?;
    ensure!(
        well_known["io.element.e2ee"]["default"] == true,
        "{well_known}"
    );

    // The school switches encryption off in its rights: the server adds none.
    std::fs::create_dir_all(server.path("config"))?;
    std::fs::write(
        server.path("config/rights.toml"),
        "allow_encryption = false\n",
    )?;
    server
        .restart_with_sections("[rate_limits]\nenabled = false")
        .await?;
    let chat = create(&anna, direct_chat("ben.mueller")).await?.ok()?;
    let chat = chat["room_id"].as_str().context("room_id")?;
    anna.get(&encryption(chat))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    let well_known = server.raw().get("/.well-known/matrix/client").await?.ok()?;
    ensure!(
        well_known["io.element.e2ee"]["default"] == false,
        "{well_known}"
    );
    Ok(())
}
