//! Quiet hours as a teacher and a student see them, with the server's test clock: a student
//! writes to a teacher on Friday evening; the teacher's client sees nothing (no event, no count,
//! not through `/messages`, `/event` or `/context`) through the weekend, also across a
//! restart; the student is told once when the message will arrive; a message the student
//! deletes meanwhile never arrives; on Monday at 07:00 the teacher's waiting long-poll wakes
//! with the messages, unread, in their original order, and history shows each once. A student
//! who left the school or moved to another class before the release does not reach the
//! teacher; the one who moved is told.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use chrono::Timelike;
use schulhof_e2e::{backend_tests, direct_chat, user_id_of, RawApi, TestServer, TestUser};
use schulhof_quiet_hours::{berlin_wall_time, chrono};
use serde_json::{json, Value};

backend_tests!(
    held_over_the_weekend,
    dropped_when_the_sender_left,
    a_window_from_now_holds_then_delivers_in_real_time,
    relations_wait_for_the_release,
);

/// The password every imported person gets here.
const PASSWORD: &str = "Gruen-Tanne-4711";

/// A teacher and two students of her class.
const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
S-2;Zoë;Yılmaz;Schülerin;Klasse 8a;;ja
";

/// Friday, 4 December 2026, 20:00 in Berlin.
pub(crate) const FRIDAY_EVENING: i64 = 1_796_410_800_000;
/// Saturday, 5 December 2026, 12:00 in Berlin.
const SATURDAY_NOON: i64 = 1_796_468_400_000;
/// Monday, 7 December 2026, 07:00 in Berlin: the school's quiet hours end.
pub(crate) const MONDAY_MORNING: i64 = 1_796_623_200_000;

/// What the student reads about his held message.
const HELD_NOTICE: &str = "Deine Nachricht an Anna Schmidt wird später zugestellt: Anna Schmidt \
                           hat gerade Ruhezeit. Zugestellt wird sie am Montag, 7. Dezember \
                           2026, 07:00 Uhr.";
/// What the student reads when a held message was not delivered.
const DROPPED_NOTICE: &str = "Deine Nachricht an Anna Schmidt aus der Ruhezeit wurde nicht \
                              zugestellt: Du kannst Anna Schmidt inzwischen nicht mehr \
                              schreiben, weil sich Klassen, Gruppen oder der Chat geändert haben.";

/// Imports the school, sets passwords, switches quiet hours and the test clock on and logs
/// `people` in with matrix-sdk; returns their raw APIs.
pub(crate) async fn school(server: &TestServer, people: &[&str]) -> Result<Vec<RawApi>> {
    school_on_clock(server, people, true).await
}

/// [`school`], on the test clock (`movable_clock`) or on the system's clock alone.
async fn school_on_clock(
    server: &TestServer,
    people: &[&str],
    movable_clock: bool,
) -> Result<Vec<RawApi>> {
    server.import("schule.csv", SCHOOL, &[]).await?;
    for localpart in people {
        server
            .cli(
                &["user", "set-password", localpart],
                Some(&format!("{PASSWORD}\n")),
            )
            .await?;
    }
    server.restart_with_quiet_hours(movable_clock).await?;
    let mut apis = Vec::new();
    for localpart in people {
        let user = TestUser::login_with_password(server, localpart, PASSWORD).await?;
        apis.push(user.raw());
    }
    Ok(apis)
}

/// A direct chat the student opens with the teacher, which she joins.
pub(crate) async fn chat(student: &RawApi, teacher: &RawApi) -> Result<String> {
    let created = student
        .post("/_matrix/client/v3/createRoom", direct_chat("anna.schmidt"))
        .await?
        .ok()?;
    let room = created["room_id"].as_str().context("room_id")?.to_owned();
    teacher
        .post(&format!("/_matrix/client/v3/join/{room}"), json!({}))
        .await?
        .ok()?;
    Ok(room)
}

/// Sends a text; its event ID.
pub(crate) async fn send(api: &RawApi, room: &str, body: &str) -> Result<String> {
    let sent = api
        .put(
            &format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/{body}"),
            json!({ "msgtype": "m.text", "body": body }),
        )
        .await?
        .ok()?;
    Ok(sent["event_id"].as_str().context("event_id")?.to_owned())
}

/// `/sync` since `since` (initial without), waiting up to `timeout_ms`.
pub(crate) async fn sync(api: &RawApi, since: Option<&str>, timeout_ms: u64) -> Result<Value> {
    let timeout = timeout_ms.to_string();
    let mut query = vec![("timeout", timeout.as_str())];
    if let Some(since) = since {
        query.push(("since", since));
    }
    api.get_query("/_matrix/client/v3/sync", &query).await?.ok()
}

/// The bodies of the messages in `room`'s timeline of a sync response.
pub(crate) fn timeline_bodies(sync: &Value, room: &str) -> Vec<String> {
    sync["rooms"]["join"][room]["timeline"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "m.room.message")
        .filter_map(|e| e["content"]["body"].as_str().map(str::to_owned))
        .collect()
}

/// Every event type in `room`'s timeline of a sync response.
/// Sets whether the owner of `api` (Ben) is typing in `room`.
async fn set_typing(api: &RawApi, room: &str, typing: bool) -> Result<()> {
    let path = format!(
        "/_matrix/client/v3/rooms/{room}/typing/{}",
        user_id_of("ben.mueller")
    );
    api.put(&path, json!({ "typing": typing, "timeout": 30_000 }))
        .await?
        .ok()?;
    Ok(())
}

/// The users typing in `room` according to a `/sync` response (none without an `m.typing`).
fn typing_users(sync: &Value, room: &str) -> Vec<String> {
    let ephemeral = &sync["rooms"]["join"][room]["ephemeral"]["events"];
    ephemeral
        .as_array()
        .into_iter()
        .flatten()
        .filter(|event| event["type"] == "m.typing")
        .flat_map(|event| {
            event["content"]["user_ids"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|user| user.as_str().map(str::to_owned))
        .collect()
}

fn timeline_types(sync: &Value, room: &str) -> Vec<String> {
    sync["rooms"]["join"][room]["timeline"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect()
}

/// The unread notification count of `room` in a sync response (0 when the room is absent).
fn unread(sync: &Value, room: &str) -> u64 {
    sync["rooms"]["join"][room]["unread_notifications"]["notification_count"]
        .as_u64()
        .unwrap_or(0)
}

/// The message bodies of `room` as `/messages` returns them to `api`, oldest first.
async fn history(api: &RawApi, room: &str) -> Result<Vec<String>> {
    let page = api
        .get_query(
            &format!("/_matrix/client/v3/rooms/{room}/messages"),
            &[("dir", "b"), ("limit", "100")],
        )
        .await?
        .ok()?;
    let mut bodies: Vec<String> = page["chunk"]
        .as_array()
        .context("chunk")?
        .iter()
        .filter(|e| e["type"] == "m.room.message")
        .filter_map(|e| e["content"]["body"].as_str().map(str::to_owned))
        .collect();
    bodies.reverse();
    Ok(bodies)
}

/// The bodies of the server notices `api`'s owner has, oldest first.
async fn notices(api: &RawApi) -> Result<Vec<String>> {
    let joined = api.get("/_matrix/client/v3/joined_rooms").await?.ok()?;
    let mut found = Vec::new();
    for room in joined["joined_rooms"].as_array().context("joined_rooms")? {
        let room = room.as_str().context("room ID")?;
        let page = api
            .get_query(
                &format!("/_matrix/client/v3/rooms/{room}/messages"),
                &[("dir", "f"), ("limit", "100")],
            )
            .await?
            .ok()?;
        for event in page["chunk"].as_array().context("chunk")? {
            if event["content"]["msgtype"] == "m.server_notice" {
                found.push(event["content"]["body"].as_str().unwrap_or("").to_owned());
            }
        }
    }
    Ok(found)
}

/// Polls `check` for up to five seconds (notices are sent right after the message).
async fn eventually<T>(mut check: impl AsyncFnMut() -> Result<Option<T>>) -> Result<T> {
    for _ in 0..50 {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("not within five seconds")
}

async fn held_over_the_weekend(server: &TestServer) -> Result<()> {
    let apis = school(server, &["anna.schmidt", "ben.mueller"]).await?;
    let [anna, ben] = <[RawApi; 2]>::try_from(apis).ok().context("logins")?;
    server.set_clock(FRIDAY_EVENING).await?;
    let room = chat(&ben, &anna).await?;
    let first = sync(&anna, None, 0).await?;
    let mut since = first["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned();

    // Friday 20:00: Ben writes three messages; he sees them at once, Anna does not.
    let m1 = send(&ben, &room, "eins").await?;
    send(&ben, &room, "zwei").await?;
    ensure!(history(&ben, &room).await? == ["eins", "zwei"]);
    let told = eventually(async || {
        let got = notices(&ben).await?;
        Ok((!got.is_empty()).then_some(got))
    })
    .await?;
    ensure!(told == [HELD_NOTICE], "notices: {told:#?}");
    let weekend = sync(&anna, Some(&since), 0).await?;
    ensure!(
        timeline_bodies(&weekend, &room).is_empty() && unread(&weekend, &room) == 0,
        "Anna saw something on Friday: {weekend}"
    );
    since = weekend["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned();
    ensure!(history(&anna, &room).await?.is_empty());
    anna.get(&format!("/_matrix/client/v3/rooms/{room}/event/{m1}"))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    anna.get(&format!("/_matrix/client/v3/rooms/{room}/context/{m1}"))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;

    // Saturday: the server restarts; Ben writes once more and deletes that message.
    server.set_clock(SATURDAY_NOON).await?;
    server.restart().await?;
    server.set_clock(SATURDAY_NOON).await?;
    send(&ben, &room, "drei").await?;
    let oops = send(&ben, &room, "vier").await?;
    ben.put(
        &format!("/_matrix/client/v3/rooms/{room}/redact/{oops}/weg"),
        json!({ "reason": "falsch" }),
    )
    .await?
    .ok()?;
    ensure!(history(&ben, &room).await? == ["eins", "zwei", "drei"]);
    // Not even Ben typing reaches Anna.
    set_typing(&ben, &room, true).await?;
    let saturday = sync(&anna, Some(&since), 0).await?;
    ensure!(
        timeline_types(&saturday, &room).is_empty() && unread(&saturday, &room) == 0,
        "Anna saw something on Saturday: {saturday}"
    );
    ensure!(
        typing_users(&saturday, &room).is_empty(),
        "Anna saw Ben typing: {saturday}"
    );
    set_typing(&ben, &room, false).await?;
    since = saturday["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned();
    ensure!(
        notices(&ben).await? == [HELD_NOTICE],
        "one notice per period"
    );

    // Monday 07:00: Anna's waiting long-poll wakes with the three messages, unread, in order.
    let waiting = tokio::spawn({
        let anna = anna.clone();
        let since = since.clone();
        async move { sync(&anna, Some(&since), 30_000).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(
        !waiting.is_finished(),
        "the long-poll returned before Monday"
    );
    server.set_clock(MONDAY_MORNING).await?;
    let monday = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .context("the long-poll did not wake on Monday")???;
    ensure!(
        timeline_types(&monday, &room) == ["m.room.message"; 3],
        "Monday's timeline: {monday}"
    );
    ensure!(timeline_bodies(&monday, &room) == ["eins", "zwei", "drei"]);
    ensure!(unread(&monday, &room) == 3, "unread: {monday}");
    let after = monday["next_batch"].as_str().context("next_batch")?;
    let again = sync(&anna, Some(after), 0).await?;
    ensure!(
        timeline_bodies(&again, &room).is_empty(),
        "delivered twice: {again}"
    );
    ensure!(history(&anna, &room).await? == ["eins", "zwei", "drei"]);
    set_typing(&ben, &room, true).await?;
    let typing = sync(&anna, Some(after), 0).await?;
    ensure!(
        typing_users(&typing, &room) == [user_id_of("ben.mueller")],
        "Anna does not see Ben typing on Monday: {typing}"
    );
    let event = anna
        .get(&format!("/_matrix/client/v3/rooms/{room}/event/{m1}"))
        .await?
        .ok()?;
    ensure!(event["content"]["body"] == "eins");

    // Reading the last one clears the count.
    let last = monday["rooms"]["join"][&room]["timeline"]["events"][2]["event_id"]
        .as_str()
        .context("event_id")?;
    anna.post(
        &format!("/_matrix/client/v3/rooms/{room}/receipt/m.read/{last}"),
        json!({}),
    )
    .await?
    .ok()?;
    let read = sync(&anna, Some(after), 0).await?;
    ensure!(unread(&read, &room) == 0, "still unread: {read}");
    ensure!(notices(&ben).await? == [HELD_NOTICE]);
    Ok(())
}

async fn dropped_when_the_sender_left(server: &TestServer) -> Result<()> {
    let apis = school(server, &["anna.schmidt", "ben.mueller", "zoe.yilmaz"]).await?;
    let [anna, ben, zoe] = <[RawApi; 3]>::try_from(apis).ok().context("logins")?;
    server.set_clock(FRIDAY_EVENING).await?;
    let ben_chat = chat(&ben, &anna).await?;
    let zoe_chat = chat(&zoe, &anna).await?;
    let first = sync(&anna, None, 0).await?;
    let since = first["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned();
    send(&ben, &ben_chat, "von-ben").await?;
    send(&zoe, &zoe_chat, "von-zoe").await?;

    // Over the weekend Ben leaves the school and Zoë moves to another class.
    let changed = SCHOOL
        .replace(
            "S-2;Zoë;Yılmaz;Schülerin;Klasse 8a",
            "S-2;Zoë;Yılmaz;Schülerin;Klasse 9c",
        )
        .lines()
        .filter(|line| !line.starts_with("S-1;"))
        .map(|line| format!("{line}\n"))
        .collect::<String>();
    server.set_clock(SATURDAY_NOON).await?;
    server.import("schule-neu.csv", &changed, &[]).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.set_clock(MONDAY_MORNING).await?;
    let told = eventually(async || {
        let got = notices(&zoe).await?;
        Ok((got.len() == 2).then_some(got))
    })
    .await?;
    ensure!(told[1] == DROPPED_NOTICE, "Zoë's notices: {told:#?}");
    let monday = sync(&anna, Some(&since), 0).await?;
    for room in [&ben_chat, &zoe_chat] {
        ensure!(
            timeline_bodies(&monday, room).is_empty() && unread(&monday, room) == 0,
            "a message of someone who may no longer write arrived: {monday}"
        );
        ensure!(history(&anna, room).await?.is_empty());
    }
    Ok(())
}

/// German weekday abbreviations of the schedule format, Monday first.
const WEEKDAYS: [&str; 7] = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"];

/// `wall` as a weekly point of the schedule format ("Sa 14:05").
fn weekly_point(wall: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{} {:02}:{:02}",
        WEEKDAYS[wall.weekday().num_days_from_monday() as usize],
        wall.hour(),
        wall.minute()
    )
}

/// Without the test clock: an admin gives the teacher a quiet window from this minute to
/// two minutes later (one to two minutes from now); a student's message is held, then
/// delivered when the window ends, in real time.
async fn a_window_from_now_holds_then_delivers_in_real_time(server: &TestServer) -> Result<()> {
    let apis = school_on_clock(server, &["anna.schmidt", "ben.mueller"], false).await?;
    let [anna, ben] = <[RawApi; 2]>::try_from(apis).ok().context("logins")?;
    let room = chat(&ben, &anna).await?;
    let now = chrono::Utc::now();
    let begin = berlin_wall_time(now)
        .with_second(0)
        .context("second")?
        .with_nanosecond(0)
        .context("nanosecond")?;
    let end = begin + chrono::Duration::minutes(2);
    let schedule = format!(
        "windows = [{{ begin = \"{}\", end = \"{}\" }}]\npublic_holidays = false\n\
         school_holidays = false\n",
        weekly_point(begin),
        weekly_point(end)
    );
    std::fs::write(server.path("jetzt.toml"), schedule)?;
    server
        .cli(
            &[
                "quiet-hours",
                "set",
                "anna.schmidt",
                "--schedule",
                "jetzt.toml",
            ],
            None,
        )
        .await?;
    // A restart makes sure the server has the schedule before anything is sent: a running
    // server picks up a change by the CLI within a second, and a message sent before that
    // could be held by the school's own times until a later day, with later ones behind it.
    server.restart().await?;
    let first = sync(&anna, None, 0).await?;
    let mut since = first["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned();

    // Ben's message is held for Anna until the window ends, and Ben is told so.
    let held = "jetzt".to_owned();
    send(&ben, &room, &held).await?;
    let told = eventually(async || {
        let got = notices(&ben).await?;
        Ok((!got.is_empty()).then_some(got))
    })
    .await?;
    ensure!(
        told.len() == 1 && told[0].ends_with(&format!("{} Uhr.", end.format("%H:%M"))),
        "notices: {told:#?}"
    );
    let seen = sync(&anna, Some(&since), 0).await?;
    let early = timeline_bodies(&seen, &room);
    ensure!(
        !early.contains(&held),
        "the held message arrived at once: {seen}"
    );
    since = seen["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned();

    // It arrives when the window ends, not before.
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        ensure!(Instant::now() < deadline, "not delivered after the window");
        let response = sync(&anna, Some(&since), 30_000).await?;
        since = response["next_batch"]
            .as_str()
            .context("next_batch")?
            .to_owned();
        if timeline_bodies(&response, &room).contains(&held) {
            let window_end = (end - berlin_wall_time(chrono::Utc::now())).num_seconds();
            ensure!(
                window_end <= 1,
                "delivered {window_end} s before the window ended"
            );
            return Ok(());
        }
    }
}

/// `GET /v1/rooms/{room}/relations/{event_id}` as `api`: the event IDs of the chunk, or the
/// status code of an error.
async fn related_ids(api: &RawApi, room: &str, event_id: &str) -> Result<Result<Vec<String>, u16>> {
    let response = api
        .get(&format!(
            "/_matrix/client/v1/rooms/{room}/relations/{event_id}"
        ))
        .await?;
    if response.status != 200 {
        return Ok(Err(response.status));
    }
    let chunk = response.body["chunk"].as_array().context("chunk")?;
    Ok(Ok(chunk
        .iter()
        .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
        .collect()))
}

/// Friday evening Anna asks something and Ben answers in a thread: `/relations` and
/// `/threads` show Anna neither the answer nor anything relating to it until Monday 07:00,
/// Ben at once.
async fn relations_wait_for_the_release(server: &TestServer) -> Result<()> {
    let apis = school(server, &["anna.schmidt", "ben.mueller"]).await?;
    let [anna, ben] = <[RawApi; 2]>::try_from(apis).ok().context("logins")?;
    server.set_clock(FRIDAY_EVENING).await?;
    let room = chat(&ben, &anna).await?;
    let question = send(&anna, &room, "frage").await?;
    let answer = ben
        .put(
            &format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/antwort"),
            json!({
                "msgtype": "m.text",
                "body": "antwort",
                "m.relates_to": { "rel_type": "m.thread", "event_id": question },
            }),
        )
        .await?
        .ok()?;
    let answer = answer["event_id"].as_str().context("event_id")?.to_owned();

    ensure!(related_ids(&ben, &room, &question).await? == Ok(vec![answer.clone()]));
    ensure!(
        related_ids(&anna, &room, &question).await? == Ok(vec![]),
        "Anna sees the held answer in /relations"
    );
    ensure!(related_ids(&anna, &room, &answer).await? == Err(404));
    let threads = anna
        .get(&format!("/_matrix/client/v1/rooms/{room}/threads"))
        .await?
        .ok()?;
    ensure!(threads["chunk"] == json!([]), "Anna's threads: {threads}");

    server.set_clock(MONDAY_MORNING).await?;
    let released = eventually(async || {
        let ids = related_ids(&anna, &room, &question).await?;
        Ok((ids != Ok(vec![])).then_some(ids))
    })
    .await?;
    ensure!(released == Ok(vec![answer.clone()]), "Monday: {released:?}");
    ensure!(related_ids(&anna, &room, &answer).await? == Ok(vec![]));
    let threads = anna
        .get(&format!("/_matrix/client/v1/rooms/{room}/threads"))
        .await?
        .ok()?;
    let latest = &threads["chunk"][0]["unsigned"]["m.relations"]["m.thread"]["latest_event"];
    ensure!(
        latest["event_id"] == answer.as_str(),
        "Monday's threads: {threads}"
    );
    Ok(())
}
