//! The school appservice (`schulhof-appservice` as its own process) against the server: after
//! an import the school's groups are rooms inside the school's spaces with the right members
//! and power levels, as the people's own Matrix clients show them; a re-import moves and
//! removes members and archives a dissolved class; killing the appservice in the middle of
//! its first reconcile and starting it again converges; and the bot's transactions queued
//! while the appservice is down arrive, in order, when it is back.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use matrix_sdk::ruma::OwnedRoomId;
use schulhof_e2e::{
    backend_tests, user_id_of, RawApi, SchoolAppservice, TestServer, TestUser, SCHOOL_AS_TOKEN,
    SCHOOL_BOT,
};
use serde_json::{json, Value};

backend_tests!(
    school_rooms_follow_the_directory,
    school_appservice_recovers,
    school_appservice_in_process
);

/// The test school: two classes of year 8 and one of year 9, a teachers' group, an
/// announcement group ("Infos 8", see [`CONFIG`]), and a student without consent.
const SCHOOL: &str = "\
ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8.1, Infos 8;;ja
L-2;Jürgen;Groß;Lehrkraft;Lehrer, Klasse 8.2, Klasse 9.1;;ja
S-1;Ben;Müller;Schüler;Klasse 8.1, Infos 8;;ja
S-2;Zoe;Yilmaz;Schülerin;Klasse 8.1;;ja
S-3;Mia;Weber;Schülerin;Klasse 8.2;;ja
S-4;Lea;Fuchs;Schülerin;Klasse 8.2;;ja
S-5;Tom;Klein;Schüler;Klasse 9.1;;ja
S-6;Max;Mustermann;Schüler;Klasse 8.1;;nein
E-1;Clara;Müller;Sorgeberechtigte;;S-1;ja
A-1;Birgit;Schäfer;Schulleitung;Lehrer;;ja
";

/// The appservice's configuration: the defaults, with the other groups as announcement rooms
/// and no encryption (the scenario reads messages as the server stores them).
const CONFIG: &str = r#"
bot = "schulhof-schule"
[rooms.class]
name = "Klasse {klasse}"
space = "year"
encrypted = false
[rooms.parents]
name = "Sorgeberechtigte {klasse}"
space = "parents"
encrypted = false
class_teachers = true
[rooms.custom]
name = "{gruppe}"
space = "groups"
announcement = true
encrypted = false
"#;

/// The password every imported person gets here.
const PASSWORD: &str = "Gruen-Tanne-4711";

/// How long the appservice may take to bring the rooms in line.
const CONVERGE: Duration = Duration::from_secs(60);

/// Sets `localpart`'s password and logs them in with matrix-sdk.
async fn login(server: &TestServer, localpart: &str) -> Result<TestUser> {
    let password = format!("{PASSWORD}\n");
    server
        .cli(&["user", "set-password", localpart], Some(&password))
        .await?;
    TestUser::login_with_password(server, localpart, PASSWORD).await
}

/// The rooms `user`'s client shows after a sync: name → (room ID, is a space).
async fn rooms_of(user: &TestUser) -> Result<BTreeMap<String, (OwnedRoomId, bool)>> {
    user.sync().await?;
    let mut rooms = BTreeMap::new();
    for room in user.client.joined_rooms() {
        let name = room.name().unwrap_or_default();
        rooms.insert(name, (room.room_id().to_owned(), room.is_space()));
    }
    Ok(rooms)
}

/// Syncs until `user`'s joined rooms satisfy `check` (which says what is still missing).
async fn wait_for_rooms(
    user: &TestUser,
    what: &str,
    check: impl Fn(&BTreeMap<String, (OwnedRoomId, bool)>) -> Option<String>,
) -> Result<BTreeMap<String, (OwnedRoomId, bool)>> {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let rooms = rooms_of(user).await?;
        match check(&rooms) {
            None => return Ok(rooms),
            Some(missing) if Instant::now() > deadline => {
                bail!(
                    "{}: {what}: {missing}; rooms: {:?}",
                    user.id(),
                    rooms.keys()
                )
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// `None` if `rooms` has every name of `present` (spaces as marked) and none of `absent`.
fn has(
    rooms: &BTreeMap<String, (OwnedRoomId, bool)>,
    present: &[(&str, bool)],
    absent: &[&str],
) -> Option<String> {
    for (name, space) in present {
        match rooms.get(*name) {
            None => return Some(format!("{name} missing")),
            Some((_, is_space)) if is_space != space => {
                return Some(format!("{name}: space {is_space}, expected {space}"))
            }
            Some(_) => {}
        }
    }
    absent
        .iter()
        .find(|name| rooms.contains_key(**name))
        .map(|name| format!("{name} present"))
}

/// A state event's content as `api` reads it.
async fn state(api: &RawApi, room: &OwnedRoomId, kind: &str, key: &str) -> Result<Value> {
    api.get(&format!(
        "/_matrix/client/v3/rooms/{room}/state/{kind}/{key}"
    ))
    .await?
    .ok()
}

/// The `m.space.child` state keys of a space with a `via`.
async fn children(api: &RawApi, space: &OwnedRoomId) -> Result<Vec<String>> {
    let events = api
        .get(&format!("/_matrix/client/v3/rooms/{space}/state"))
        .await?
        .ok()?;
    Ok(events
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "m.space.child" && e["content"]["via"].is_array())
        .filter_map(|e| e["state_key"].as_str().map(str::to_owned))
        .collect())
}

/// The appservice's own API (acting as the bot).
fn bot_api(server: &TestServer) -> RawApi {
    server.raw().with_token(Some(SCHOOL_AS_TOKEN))
}

/// A membership event of `user` in `room` as the bot reads it.
async fn member(server: &TestServer, room: &OwnedRoomId, user: &str) -> Result<Value> {
    state(&bot_api(server), room, "m.room.member", &user_id_of(user)).await
}

async fn school_rooms_follow_the_directory(server: &TestServer) -> Result<()> {
    server.import("schule.csv", SCHOOL, &[]).await?;
    let mut appservice = SchoolAppservice::register(server, CONFIG, "").await?;
    appservice.start()?;
    let outcome = follow_the_directory(server).await;
    outcome.with_context(|| format!("appservice log:\n{}", tail(&appservice.log())))
}

async fn follow_the_directory(server: &TestServer) -> Result<()> {
    let ben = login(server, "ben.mueller").await?;
    let rooms = wait_for_rooms(&ben, "the student's rooms", |rooms| {
        has(
            rooms,
            &[
                ("Klasse 8.1", false),
                ("Infos 8", false),
                ("Unsere Schule", true),
                ("Jahrgang 8", true),
                ("Gruppen und AGs", true),
            ],
            &[],
        )
    })
    .await?;
    for other in [
        "Klasse 8.2",
        "Klasse 9.1",
        "Sorgeberechtigte 8.1",
        "Kollegium",
        "Jahrgang 9",
    ] {
        ensure!(
            !rooms.contains_key(other),
            "Ben is in {other}: {:?}",
            rooms.keys()
        );
    }
    // The directory read shows the appservice only what rooms need; a student without
    // consent cannot use Schulhof, so he is not active and the appservice leaves him out.
    let directory = bot_api(server)
        .get("/_schulhof/appservice/v1/directory")
        .await?
        .ok()?;
    let people = directory["people"].as_array().context("people")?;
    let person = |localpart: &str| people.iter().find(|p| p["localpart"] == localpart).cloned();
    ensure!(
        person("max.mustermann").is_some_and(|p| p["active"] == false)
            && person("ben.mueller").is_some_and(|p| {
                p == json!({ "localpart": "ben.mueller", "display_name": "Ben Müller",
                    "role": "student", "groups": ["Infos 8", "Klasse 8.1"], "active": true })
            }),
        "the directory read: {directory}"
    );
    let revision = directory["revision"].as_i64().context("revision")?;
    let unchanged = bot_api(server)
        .get(&format!(
            "/_schulhof/appservice/v1/directory?since={revision}&timeout=100"
        ))
        .await?
        .ok()?;
    ensure!(
        unchanged == json!({ "revision": revision }),
        "no change: {unchanged}"
    );
    ben.raw()
        .get("/_schulhof/appservice/v1/directory")
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    let max = bot_api(server)
        .get(&format!(
            "/_matrix/client/v3/rooms/{}/state/m.room.member/{}",
            rooms["Klasse 8.1"].0,
            user_id_of("max.mustermann")
        ))
        .await?;
    ensure!(
        max.status == 404,
        "Max (no consent) is not in 8.1: {}",
        max.body
    );

    // The spaces nest as the school does: school ⊃ year 8 ⊃ class 8.1.
    let api = ben.raw();
    let id = |name: &str| rooms[name].0.clone();
    ensure!(
        children(&api, &id("Unsere Schule"))
            .await?
            .contains(&id("Jahrgang 8").to_string()),
        "the year space is in the school space"
    );
    ensure!(
        children(&api, &id("Jahrgang 8"))
            .await?
            .contains(&id("Klasse 8.1").to_string()),
        "the class room is in the year space"
    );
    let parent = state(
        &api,
        &id("Klasse 8.1"),
        "m.space.parent",
        id("Jahrgang 8").as_str(),
    )
    .await?;
    ensure!(
        parent["canonical"] == true,
        "the class names its space: {parent}"
    );

    // The parent is in the parents' room with the class's teacher as moderator.
    let clara = login(server, "clara.mueller").await?;
    let clara_rooms = wait_for_rooms(&clara, "the parent's rooms", |rooms| {
        has(
            rooms,
            &[("Sorgeberechtigte 8.1", false), ("Sorgeberechtigte", true)],
            &["Klasse 8.1"],
        )
    })
    .await?;
    let parents_room = clara_rooms["Sorgeberechtigte 8.1"].0.clone();
    let levels = state(&clara.raw(), &parents_room, "m.room.power_levels", "").await?;
    ensure!(
        levels["users"][user_id_of("anna.schmidt")] == 50,
        "the class teacher moderates the parents' room: {levels}"
    );

    // Teachers of the class are moderators; students are not.
    let class = id("Klasse 8.1");
    let levels = state(&api, &class, "m.room.power_levels", "").await?;
    ensure!(
        levels["users"][user_id_of("anna.schmidt")] == 50
            && levels["users"].get(user_id_of("ben.mueller")).is_none(),
        "power levels of Klasse 8.1: {levels}"
    );

    // The announcement room refuses the student's message, takes the teacher's.
    let infos = id("Infos 8");
    api.put(
        &format!("/_matrix/client/v3/rooms/{infos}/send/m.room.message/ben-1"),
        json!({ "msgtype": "m.text", "body": "Darf ich?" }),
    )
    .await?
    .expect_error(&[403], &["M_FORBIDDEN"])?;
    let anna = login(server, "anna.schmidt").await?;
    wait_for_rooms(&anna, "the teacher's rooms", |rooms| {
        has(
            rooms,
            &[("Infos 8", false), ("Lehrer", false), ("Kollegium", true)],
            &[],
        )
    })
    .await?;
    anna.raw()
        .put(
            &format!("/_matrix/client/v3/rooms/{infos}/send/m.room.message/anna-1"),
            json!({ "msgtype": "m.text", "body": "Morgen Wandertag." }),
        )
        .await?
        .ok()?;

    // The bot welcomed Ben in his class room (in German).
    let welcome = ben
        .wait_for("the welcome", |item| {
            item.event_type() == "m.room.message"
                && item.sender() == user_id_of(SCHOOL_BOT)
                && item.content()["body"]
                    .as_str()
                    .is_some_and(|b| b.starts_with("Willkommen") && b.contains("Ben Müller"))
        })
        .await?;
    ensure!(
        welcome.content()["msgtype"] == "m.notice",
        "{:?}",
        welcome.content()
    );

    // Re-import: Zoe moves to 8.2, Lea leaves the school, class 9.1 is dissolved.
    let zoe = login(server, "zoe.yilmaz").await?;
    wait_for_rooms(&zoe, "Zoe's class", |rooms| {
        has(rooms, &[("Klasse 8.1", false)], &[])
    })
    .await?;
    let class_82 = bot_room(server, "Klasse 8.2").await?;
    let class_91 = bot_room(server, "Klasse 9.1").await?;
    let moved = SCHOOL
        .replace(
            "S-2;Zoe;Yilmaz;Schülerin;Klasse 8.1",
            "S-2;Zoe;Yilmaz;Schülerin;Klasse 8.2",
        )
        .replace("S-4;Lea;Fuchs;Schülerin;Klasse 8.2;;ja\n", "")
        .replace(
            "S-5;Tom;Klein;Schüler;Klasse 9.1",
            "S-5;Tom;Klein;Schüler;Klasse 8.2",
        )
        .replace("Klasse 8.2, Klasse 9.1", "Klasse 8.2");
    server.import("schule-neu.csv", &moved, &[]).await?;
    wait_for_rooms(&zoe, "Zoe moved to 8.2", |rooms| {
        has(
            rooms,
            &[("Klasse 8.2", false), ("Jahrgang 8", true)],
            &["Klasse 8.1"],
        )
    })
    .await?;
    let left = member(server, &class, "zoe.yilmaz").await?;
    ensure!(
        left["membership"] == "leave"
            && left["reason"] == "Nicht mehr in „Klasse 8.1“ laut Schulverwaltung",
        "Zoe was taken out of 8.1 with the reason: {left}"
    );
    let lea = converged_member(server, &class_82, "lea.fuchs", "leave").await?;
    ensure!(
        lea["reason"] == "Nicht mehr an der Schule laut Schulverwaltung",
        "Lea left the school: {lea}"
    );
    // The dissolved class is archived, read-only, with its history.
    let deadline = Instant::now() + CONVERGE;
    loop {
        let name = state(&bot_api(server), &class_91, "m.room.name", "").await?;
        if name["name"] == "Klasse 9.1 (Archiv)" {
            break;
        }
        ensure!(Instant::now() < deadline, "9.1 not archived: {name}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let levels = state(&bot_api(server), &class_91, "m.room.power_levels", "").await?;
    ensure!(
        levels["events_default"] == 100,
        "archived rooms are read-only: {levels}"
    );
    Ok(())
}

/// The room the bot knows by `name`.
async fn bot_room(server: &TestServer, name: &str) -> Result<OwnedRoomId> {
    let api = bot_api(server);
    let joined = api.get("/_matrix/client/v3/joined_rooms").await?.ok()?;
    for room in joined["joined_rooms"].as_array().into_iter().flatten() {
        let room: OwnedRoomId = serde_json::from_value(room.clone())?;
        let current = api
            .get(&format!(
                "/_matrix/client/v3/rooms/{room}/state/m.room.name/"
            ))
            .await?;
        if current.status == 200 && current.body["name"] == name {
            return Ok(room);
        }
    }
    bail!("the bot has no room {name}")
}

/// Waits until `user`'s membership in `room` is `membership`; returns the member event.
async fn converged_member(
    server: &TestServer,
    room: &OwnedRoomId,
    user: &str,
    membership: &str,
) -> Result<Value> {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let event = member(server, room, user).await?;
        if event["membership"] == membership {
            return Ok(event);
        }
        ensure!(Instant::now() < deadline, "{user} in {room}: {event}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A larger school for the interrupted reconcile: 8 classes of 15 students with their
/// parents and teachers.
fn larger_school() -> String {
    let mut csv = String::from("ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung\n");
    for class in 0..8 {
        let name = format!("Klasse {}.{}", 5 + class / 2, 1 + class % 2);
        csv.push_str(&format!(
            "L-{class};Lehrerin;Nummer{class};Lehrkraft;Lehrer, {name};;ja\n"
        ));
        for student in 0..15 {
            let id = class * 100 + student;
            csv.push_str(&format!("S-{id};Kind;Nummer{id};Schüler;{name};;ja\n"));
            csv.push_str(&format!(
                "E-{id};Elter;Nummer{id};Sorgeberechtigte;;S-{id};ja\n"
            ));
        }
    }
    csv
}

async fn school_appservice_recovers(server: &TestServer) -> Result<()> {
    server.import("schule.csv", &larger_school(), &[]).await?;
    let mut appservice = SchoolAppservice::register(server, CONFIG, "").await?;
    let outcome = recover(server, &mut appservice).await;
    outcome.with_context(|| format!("appservice log:\n{}", tail(&appservice.log())))
}

async fn recover(server: &TestServer, appservice: &mut SchoolAppservice) -> Result<()> {
    let plan_args = |lang: &'static str| {
        let registration = server.path("schule-appservice.yaml").display().to_string();
        let config = server.path("appservice.toml").display().to_string();
        vec![
            "--homeserver".to_owned(),
            server.url(),
            "--registration".to_owned(),
            registration,
            "--config".to_owned(),
            config,
            "plan".to_owned(),
            "--lang".to_owned(),
            lang.to_owned(),
        ]
    };
    let plan = |lang| {
        let args = plan_args(lang);
        async move {
            let output = tokio::process::Command::new(schulhof_e2e::appservice_binary()?)
                .args(&args)
                .output()
                .await?;
            ensure!(
                output.status.success(),
                "plan failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Ok::<_, anyhow::Error>(String::from_utf8_lossy(&output.stdout).into_owned())
        }
    };
    let first = plan("de").await?;
    ensure!(
        first.contains("Anlegen") && first.contains("Beitreten") && first.contains("„Klasse 5.1“"),
        "the plan lists what the first reconcile does:\n{first}"
    );
    ensure!(plan("en").await?.contains("Join"), "the plan in English");

    // Kill the appservice once it has created some rooms but before it is done.
    appservice.start()?;
    let bot = bot_api(server);
    let deadline = Instant::now() + CONVERGE;
    loop {
        let joined = bot.get("/_matrix/client/v3/joined_rooms").await?.ok()?;
        if joined["joined_rooms"].as_array().map_or(0, Vec::len) >= 4 {
            break;
        }
        ensure!(Instant::now() < deadline, "no rooms created");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    appservice.kill().await?;
    let rest = plan("de").await?;
    ensure!(
        rest.contains("Beitreten"),
        "killed mid-reconcile, joins are left to do:\n{rest}"
    );

    // Started again, it finishes: nothing is left to do, and every group has one room.
    appservice.start()?;
    let deadline = Instant::now() + CONVERGE;
    loop {
        let now = plan("de").await?;
        if now.starts_with("Keine Änderungen") {
            break;
        }
        ensure!(Instant::now() < deadline, "did not converge:\n{now}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let joined = bot.get("/_matrix/client/v3/joined_rooms").await?.ok()?;
    // 8 classes + 8 parents' rooms + Lehrer; school, 4 years, parents, staff spaces.
    ensure!(
        joined["joined_rooms"].as_array().map_or(0, Vec::len) == 17 + 7,
        "one room per key, none twice: {joined}"
    );
    let kid = login(server, "kind.nummer0").await?;
    wait_for_rooms(&kid, "the student's rooms", |rooms| {
        has(
            rooms,
            &[
                ("Klasse 5.1", false),
                ("Jahrgang 5", true),
                ("Unsere Schule", true),
            ],
            &["Klasse 5.2"],
        )
    })
    .await?;

    // Transactions queued while the appservice is down arrive in order: the bot answers a
    // teacher's three requests in its direct chat in the order they were sent.
    let teacher = login(server, "lehrerin.nummer0").await?.raw();
    let bot_id = user_id_of(SCHOOL_BOT);
    let dm = teacher
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "is_direct": true, "preset": "trusted_private_chat", "invite": [bot_id] }),
        )
        .await?
        .ok()?;
    let dm: OwnedRoomId = serde_json::from_value(dm["room_id"].clone())?;
    converged_member(server, &dm, SCHOOL_BOT, "join").await?;
    appservice.kill().await?;
    let mut asked = Vec::new();
    for (i, body) in ["!hilfe", "!help", "!hilfe"].into_iter().enumerate() {
        let sent = teacher
            .put(
                &format!("/_matrix/client/v3/rooms/{dm}/send/m.room.message/frage-{i}"),
                json!({ "msgtype": "m.text", "body": body }),
            )
            .await?
            .ok()?;
        asked.push(sent["event_id"].as_str().context("event_id")?.to_owned());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    appservice.start()?;
    let deadline = Instant::now() + CONVERGE;
    let answers = loop {
        let messages = teacher
            .get(&format!(
                "/_matrix/client/v3/rooms/{dm}/messages?dir=f&limit=100"
            ))
            .await?
            .ok()?;
        let answers: Vec<Value> = messages["chunk"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["sender"] == bot_id.as_str() && e["type"] == "m.room.message")
            .cloned()
            .collect();
        if answers.len() >= 3 {
            break answers;
        }
        ensure!(
            Instant::now() < deadline,
            "the bot answered {} of 3",
            answers.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let replied: Vec<&str> = answers
        .iter()
        .map(|a| {
            a["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
                .as_str()
                .unwrap_or("")
        })
        .collect();
    ensure!(
        replied == asked,
        "answers in order: {replied:?} for {asked:?}"
    );
    let bodies: Vec<&str> = answers
        .iter()
        .map(|a| a["content"]["body"].as_str().unwrap_or(""))
        .collect();
    ensure!(
        bodies[0].starts_with("Hallo! Ich bin der Bot der Schule")
            && bodies[1].starts_with("Hello! I am the school's bot")
            && bodies[2] == bodies[0],
        "German, English, German: {bodies:?}"
    );
    Ok(())
}

/// `schulhof serve` runs the appservice itself (`[school_appservice] in_process = true`):
/// the student sees the school space; `schulhof appservice plan` then has nothing to do; an
/// invalid `appservice.toml` stops the server at start, naming line and field.
async fn school_appservice_in_process(server: &TestServer) -> Result<()> {
    server.import("schule.csv", SCHOOL, &[]).await?;
    SchoolAppservice::register(
        server,
        CONFIG,
        "in_process = true\nconfig = \"appservice.toml\"",
    )
    .await?;
    let ben = login(server, "ben.mueller").await?;
    wait_for_rooms(&ben, "the student's rooms", |rooms| {
        has(
            rooms,
            &[
                ("Klasse 8.1", false),
                ("Unsere Schule", true),
                ("Jahrgang 8", true),
            ],
            &["Klasse 8.2"],
        )
    })
    .await?;
    let deadline = Instant::now() + CONVERGE;
    loop {
        let plan = server.cli(&["appservice", "plan"], None).await?;
        if plan.starts_with("Keine Änderungen") {
            break;
        }
        ensure!(Instant::now() < deadline, "not converged:\n{plan}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    std::fs::write(
        server.path("appservice.toml"),
        "bot = \"schulhof-schule\"\nroboter = 1\n",
    )?;
    let refused = server.restart().await;
    let error = format!(
        "{:#}",
        refused
            .err()
            .context("the server started with an invalid appservice.toml")?
    );
    ensure!(
        error.contains("appservice.toml, Zeile 2, Feld „roboter“"),
        "the start names file, line and field: {error}"
    );
    Ok(())
}

/// The last lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
