//! The school's rights over HTTP on an imported school: each row of the rights table allowed
//! or denied as a user of a Matrix client sees it (403 `M_FORBIDDEN` with the rule's German
//! text, "du" for students, "Sie" for parents), the escalation paths, the directory search and profiles, reports, a group change
//! and the audit log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{
    backend_tests, create_room as create, direct_chat as dm, say, user_id_of, RawApi, RawResponse,
    TestServer, TestUser,
};
use serde_json::{json, Value};

backend_tests!(school_rights);

/// The password every imported person gets here (satisfies the password rule).
pub(crate) const PASSWORD: &str = "Gruen-Tanne-4711";

/// A small school: two classes with a teacher each, three students, three parents.
pub(crate) const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
L-2;Jürgen;Groß;Lehrkraft;Lehrer, Klasse 8b;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
S-2;Zoë;Yılmaz;Schülerin;Klasse 8a;;ja
S-3;Mia;Weber;Schülerin;Klasse 8b;;ja
E-1;Clara;Müller;Sorgeberechtigte;;S-1;ja
E-2;Eva;Yılmaz;Sorgeberechtigte;;S-2;ja
E-3;Udo;Weber;Sorgeberechtigter;;S-3;ja
";

/// How long the running server may take to load a re-import.
pub(crate) const PICKUP: Duration = Duration::from_secs(3);

// What a student reads ("du") and what a parent reads ("Sie").
pub(crate) const STUDENT_CONTACT: &str =
    "Du kannst nur Personen aus deiner Klasse und deinen Gruppen und \
                               Lehrkräften schreiben. Eine Lehrkraft kann euch zusammen in einen \
                               Raum einladen.";
pub(crate) const STUDENT_CREATE_ROOM: &str =
    "Du kannst keine Chaträume anlegen und niemanden einladen. Du \
                                   kannst aber Personen aus deiner Klasse und Lehrkräften direkt \
                                   schreiben.";
pub(crate) const PARENT_ROOM: &str =
    "In Räume können Sie nur Eltern aus den Klassen Ihrer Kinder und \
                           Lehrkräfte einladen. Ihren Kindern können Sie direkt schreiben.";
pub(crate) const ROOM_PUBLIC: &str =
    "Nur Lehrkräfte können Räume öffentlich oder auffindbar machen. Frag \
                           eine Lehrkraft, wenn andere den Raum finden sollen.";
pub(crate) const ROOM_SETTINGS: &str =
    "Diese Raumeinstellung können nur Lehrkräfte ändern. Frag eine \
                             Lehrkraft, wenn sie geändert werden soll.";
pub(crate) const ROOM_NAME: &str =
    "Name, Thema und Bild von Räumen kannst du nicht ändern. Frag eine \
                         Lehrkraft, wenn etwas geändert werden soll.";
pub(crate) const RAISE_SELF: &str =
    "Ihre eigenen Rechte in einem Raum können Sie nicht erhöhen. Das kann \
                          nur, wer im Raum mehr Rechte hat.";
pub(crate) const JOIN_INVITE: &str =
    "Du kannst nur Räumen beitreten, in die dich jemand eingeladen hat. \
                           Frag eine Lehrkraft nach einer Einladung.";
pub(crate) const JOIN_INVITE_SIE: &str =
    "Sie können nur Räumen beitreten, in die Sie eingeladen wurden. \
                               Bitten Sie eine Lehrkraft um eine Einladung.";
pub(crate) const INVITE_OUTDATED: &str =
    "Diese Einladung gilt nicht mehr, weil sich die Klassen oder \
                               Gruppen geändert haben. Du kannst sie ablehnen.";
pub(crate) const NO_LONGER: &str =
    "Hier kannst du nicht mehr schreiben, weil jemand in diesem Chat nicht \
                         mehr in deiner Klasse oder Gruppe ist. Die alten Nachrichten kannst \
                         du weiter lesen.";
pub(crate) const NOT_VISIBLE: &str =
    "Du findest nur Personen, denen du schreiben darfst: aus deiner \
                           Klasse, deinen Gruppen und Lehrkräfte. Fehlt jemand, frag eine \
                           Lehrkraft.";
pub(crate) const UPGRADE: &str =
    "Nur Lehrkräfte können Räume aktualisieren. Der Raum funktioniert weiter \
                       wie bisher.";

/// The people logged in for the scenario.
pub(crate) struct School {
    pub(crate) anna: TestUser,
    pub(crate) juergen: TestUser,
    pub(crate) ben: TestUser,
    pub(crate) zoe: TestUser,
    pub(crate) mia: TestUser,
    pub(crate) clara: TestUser,
    pub(crate) eva: TestUser,
    pub(crate) udo: TestUser,
}

/// Fails unless `response` is 403 `M_FORBIDDEN` with exactly `message`.
pub(crate) fn denied(response: RawResponse, message: &str) -> Result<()> {
    response.expect_forbidden(message)
}

/// `createRoom` that must succeed; the new room's ID.
pub(crate) async fn created(api: &RawApi, body: Value) -> Result<String> {
    let body = create(api, body).await?.ok()?;
    Ok(body["room_id"].as_str().context("room_id")?.to_owned())
}

/// `PUT /rooms/{room}/state/{kind}` (empty state key).
pub(crate) async fn put_state(
    api: &RawApi,
    room: &str,
    kind: &str,
    content: Value,
) -> Result<RawResponse> {
    put_state_key(api, room, kind, "", content).await
}

/// `PUT /rooms/{room}/state/{kind}/{key}`.
pub(crate) async fn put_state_key(
    api: &RawApi,
    room: &str,
    kind: &str,
    key: &str,
    content: Value,
) -> Result<RawResponse> {
    api.put(
        &format!("/_matrix/client/v3/rooms/{room}/state/{kind}/{key}"),
        content,
    )
    .await
}

/// Sends a text message with a raw request.
pub(crate) async fn send_text(api: &RawApi, room: &str, body: &str) -> Result<RawResponse> {
    static TXN: AtomicU64 = AtomicU64::new(0);
    let txn = TXN.fetch_add(1, Ordering::Relaxed);
    api.put(
        &format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/policy-{txn}"),
        json!({ "msgtype": "m.text", "body": body }),
    )
    .await
}

/// Joins `room` (an ID or `#alias`).
pub(crate) async fn join(api: &RawApi, room: &str) -> Result<RawResponse> {
    let room = room.replace('#', "%23");
    api.post(&format!("/_matrix/client/v3/join/{room}"), json!({}))
        .await
}

/// Invites `localpart` into `room`.
pub(crate) async fn invite(api: &RawApi, room: &str, localpart: &str) -> Result<RawResponse> {
    api.post(
        &format!("/_matrix/client/v3/rooms/{room}/invite"),
        json!({ "user_id": user_id_of(localpart) }),
    )
    .await
}

/// The user IDs a directory search for `term` finds.
pub(crate) async fn search(api: &RawApi, term: &str) -> Result<Vec<String>> {
    let body = api
        .post(
            "/_matrix/client/v3/user_directory/search",
            json!({ "search_term": term }),
        )
        .await?
        .ok()?;
    let results = body["results"].as_array().cloned().unwrap_or_default();
    Ok(results
        .iter()
        .filter_map(|r| r["user_id"].as_str().map(str::to_owned))
        .collect())
}

/// Waits until `api`'s user no longer finds `term` in the directory search: a re-import that
/// moved someone away was picked up by the server.
pub(crate) async fn until_not_found(api: &RawApi, term: &str) -> Result<()> {
    let started = Instant::now();
    while !search(api, term).await?.is_empty() {
        ensure!(started.elapsed() < PICKUP, "the move was not picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Imports the school, sets passwords and logs everyone in.
pub(crate) async fn import_and_log_in(server: &TestServer) -> Result<School> {
    server
        .import("schule.csv", SCHOOL, &["--letters", "briefe"])
        .await?;
    let people = [
        "anna.schmidt",
        "juergen.gross",
        "ben.mueller",
        "zoe.yilmaz",
        "mia.weber",
        "clara.mueller",
        "eva.yilmaz",
        "udo.weber",
    ];
    for localpart in people {
        server
            .cli(
                &["user", "set-password", localpart],
                Some(&format!("{PASSWORD}\n")),
            )
            .await?;
    }
    let login = |localpart| TestUser::login_with_password(server, localpart, PASSWORD);
    Ok(School {
        anna: login("anna.schmidt").await?,
        juergen: login("juergen.gross").await?,
        ben: login("ben.mueller").await?,
        zoe: login("zoe.yilmaz").await?,
        mia: login("mia.weber").await?,
        clara: login("clara.mueller").await?,
        eva: login("eva.yilmaz").await?,
        udo: login("udo.weber").await?,
    })
}

async fn school_rights(server: &TestServer) -> Result<()> {
    let s = import_and_log_in(server).await?;
    let dm_room = direct_messages(&s).await.context("direct messages")?;
    rooms_of_parents(&s).await.context("parents' rooms")?;
    let staff_room = rooms_of_teachers(&s).await.context("teachers' rooms")?;
    room_settings(&s, &dm_room, &staff_room)
        .await
        .context("room settings")?;
    joining_without_invitation(&s)
        .await
        .context("joining without invitation")?;
    directory_and_profiles(server, &s)
        .await
        .context("directory and profiles")?;
    group_change(server, &s, &dm_room)
        .await
        .context("group change")?;
    reports_and_audit(server, &s, &dm_room, &staff_room)
        .await
        .context("reports and audit log")?;
    upgrades(&s, &dm_room, &staff_room)
        .await
        .context("room upgrades")?;
    Ok(())
}

/// Students write to classmates and teachers, not to other classes, and create no rooms.
/// Returns Ben's direct chat with Zoë.
async fn direct_messages(s: &School) -> Result<String> {
    // Allowed with a real client: Ben writes to his classmate Zoë.
    let room_id = s.ben.create_room(&[&s.zoe], true).await?;
    s.zoe.accept_invite(&room_id).await?;
    say(&s.ben, &s.zoe, &room_id, "Hast du die Mathe-Hausaufgaben?").await?;
    say(&s.zoe, &s.ben, &room_id, "Ja, Seite 42.").await?;

    // Denied, as Ben's client reports it: Mia is in another class.
    let error = s
        .ben
        .create_room(&[&s.mia], true)
        .await
        .expect_err("a direct chat with another class must be refused");
    ensure!(
        format!("{error:#}").contains(STUDENT_CONTACT),
        "the client shows {error:#}"
    );
    denied(
        create(&s.ben.raw(), dm("mia.weber")).await?,
        STUDENT_CONTACT,
    )?;

    // Teachers of other classes and one's own parents are reachable.
    created(&s.ben.raw(), dm("juergen.gross")).await?;
    created(&s.ben.raw(), dm("clara.mueller")).await?;

    // Chat rooms are not for students, even with classmates only.
    let room = json!({ "name": "Lerngruppe", "invite": [user_id_of("zoe.yilmaz")] });
    denied(create(&s.ben.raw(), room).await?, STUDENT_CREATE_ROOM)?;
    denied(
        create(&s.ben.raw(), json!({ "name": "Allein" })).await?,
        STUDENT_CREATE_ROOM,
    )?;
    Ok(room_id.to_string())
}

/// Parents create rooms with their own groups and teachers, not with other parents.
async fn rooms_of_parents(s: &School) -> Result<()> {
    let clara = s.clara.raw();
    let body = json!({
        "name": "Elternabend 8a",
        "invite": [user_id_of("eva.yilmaz"), user_id_of("anna.schmidt")],
    });
    let room = created(&clara, body).await?;
    // Udo's child is in 8b: not at creation, not by a later invitation.
    let body = json!({ "name": "Eltern", "invite": [user_id_of("udo.weber")] });
    denied(create(&clara, body).await?, PARENT_ROOM)?;
    denied(invite(&clara, &room, "udo.weber").await?, PARENT_ROOM)?;
    // Her own child by direct message.
    created(&clara, dm("ben.mueller")).await?;
    // Eva accepts and writes.
    join(&s.eva.raw(), &room).await?.ok()?;
    send_text(&s.eva.raw(), &room, "Guten Abend!").await?.ok()?;
    Ok(())
}

/// Teachers invite anyone; in their rooms students of different classes write together.
/// Returns the room.
async fn rooms_of_teachers(s: &School) -> Result<String> {
    let anna = s.anna.raw();
    let body = json!({
        "name": "Theater-AG",
        "invite": [user_id_of("mia.weber"), user_id_of("ben.mueller")],
    });
    let room = created(&anna, body).await?;
    invite(&anna, &room, "clara.mueller").await?.ok()?;
    for user in [&s.mia, &s.ben, &s.clara] {
        join(&user.raw(), &room).await?.ok()?;
    }
    send_text(&s.mia.raw(), &room, "Hallo aus der 8b")
        .await?
        .ok()?;
    send_text(&s.ben.raw(), &room, "Hallo aus der 8a")
        .await?
        .ok()?;
    Ok(room)
}

/// Students do not open rooms or change settings; nobody raises their own power level.
async fn room_settings(s: &School, dm_room: &str, staff_room: &str) -> Result<()> {
    let ben = s.ben.raw();
    // In his own direct chat Ben has power level 100 (trusted_private_chat): the school's
    // rights still say no.
    for (kind, content) in [
        ("m.room.join_rules", json!({ "join_rule": "public" })),
        ("m.room.join_rules", json!({ "join_rule": "knock" })),
        (
            "m.room.history_visibility",
            json!({ "history_visibility": "world_readable" }),
        ),
    ] {
        denied(put_state(&ben, dm_room, kind, content).await?, ROOM_PUBLIC)?;
    }
    let publish = ben
        .put(
            &format!("/_matrix/client/v3/directory/list/room/{dm_room}"),
            json!({ "visibility": "public" }),
        )
        .await?;
    denied(publish, ROOM_PUBLIC)?;
    denied(
        put_state(&ben, dm_room, "m.room.name", json!({ "name": "Geheim" })).await?,
        ROOM_NAME,
    )?;
    let alias = ben
        .put(
            "/_matrix/client/v3/directory/room/%23bens-raum:schule.test",
            json!({ "room_id": dm_room }),
        )
        .await?;
    denied(alias, ROOM_PUBLIC)?;
    // Closing a room is always allowed.
    put_state(
        &ben,
        dm_room,
        "m.room.join_rules",
        json!({ "join_rule": "invite" }),
    )
    .await?
    .ok()?;

    // Raising one's own power level in a teacher's room.
    let mut levels = s
        .anna
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{staff_room}/state/m.room.power_levels/"
        ))
        .await?
        .ok()?;
    levels["users"][user_id_of("ben.mueller")] = json!(100);
    levels["users"][user_id_of("clara.mueller")] = json!(100);
    let raise = put_state(&ben, staff_room, "m.room.power_levels", levels.clone()).await?;
    denied(raise, ROOM_SETTINGS)?;
    let raise = put_state(&s.clara.raw(), staff_room, "m.room.power_levels", levels).await?;
    denied(raise, RAISE_SELF)?;
    Ok(())
}

/// Public rooms with an alias: staff join and find them, students and parents neither.
async fn joining_without_invitation(s: &School) -> Result<()> {
    let body = json!({
        "name": "Offener Raum",
        "preset": "public_chat",
        "visibility": "public",
        "room_alias_name": "offen",
    });
    created(&s.anna.raw(), body).await?;
    let alias = "#offen:schule.test";
    denied(join(&s.ben.raw(), alias).await?, JOIN_INVITE)?;
    denied(join(&s.clara.raw(), alias).await?, JOIN_INVITE_SIE)?;
    let knock = s
        .ben
        .raw()
        .post("/_matrix/client/v3/knock/%23offen:schule.test", json!({}))
        .await?;
    denied(knock, JOIN_INVITE)?;
    join(&s.juergen.raw(), alias).await?.ok()?;

    // The room directory lists it for staff only.
    let listed = |api: RawApi| async move {
        let body = api
            .post("/_matrix/client/v3/publicRooms", json!({}))
            .await?
            .ok()?;
        Ok::<usize, anyhow::Error>(body["chunk"].as_array().map_or(0, Vec::len))
    };
    ensure!(listed(s.juergen.raw()).await? == 1, "staff see the room");
    ensure!(listed(s.ben.raw()).await? == 0, "students see no room");
    ensure!(listed(s.udo.raw()).await? == 0, "parents see no room");
    Ok(())
}

/// Students and parents find and look up only people they may write to.
async fn directory_and_profiles(server: &TestServer, s: &School) -> Result<()> {
    let ben = s.ben.raw();
    // Neither Mia (another class; sharing the Theater-AG room does not count) nor her father.
    ensure!(
        search(&ben, "weber").await?.is_empty(),
        "Ben searching Weber"
    );
    let teacher_sees = search(&s.anna.raw(), "weber").await?;
    ensure!(
        teacher_sees.len() == 2,
        "Anna searching Weber: {teacher_sees:?}"
    );
    ensure!(
        search(&ben, "schmidt").await? == [user_id_of("anna.schmidt")],
        "teacher"
    );
    ensure!(
        search(&ben, "zoe").await? == [user_id_of("zoe.yilmaz")],
        "classmate"
    );
    ensure!(
        search(&ben, "clara").await? == [user_id_of("clara.mueller")],
        "own parent"
    );
    ensure!(
        search(&s.udo.raw(), "ben").await?.is_empty(),
        "another class's child"
    );

    let profile = |who: &str| format!("/_matrix/client/v3/profile/{}", user_id_of(who));
    denied(ben.get(&profile("udo.weber")).await?, NOT_VISIBLE)?;
    ben.get(&profile("anna.schmidt")).await?.ok()?;
    // Sharing a room makes the profile visible (the name is shown there anyway).
    ben.get(&profile("mia.weber")).await?.ok()?;
    let anonymous = server.raw().get(&profile("anna.schmidt")).await?;
    anonymous.expect_error(&[403], &["M_FORBIDDEN"])?;
    Ok(())
}

/// Zoë moves to 8b: an invitation Ben sent before is refused when she accepts it, and their
/// direct chat stays readable but nobody can write there any more.
async fn group_change(server: &TestServer, s: &School, dm_room: &str) -> Result<()> {
    let pending = created(&s.ben.raw(), dm("zoe.yilmaz")).await?;
    let moved = SCHOOL.replace(
        "S-2;Zoë;Yılmaz;Schülerin;Klasse 8a",
        "S-2;Zoë;Yılmaz;Schülerin;Klasse 8b",
    );
    server.import("schule-neu.csv", &moved, &[]).await?;
    // The next request after the server loaded the change sees it.
    until_not_found(&s.ben.raw(), "zoe").await?;
    denied(join(&s.zoe.raw(), &pending).await?, INVITE_OUTDATED)?;
    denied(
        send_text(&s.ben.raw(), dm_room, "Noch da?").await?,
        NO_LONGER,
    )?;
    denied(send_text(&s.zoe.raw(), dm_room, "Ja!").await?, NO_LONGER)?;
    let history = s
        .ben
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{dm_room}/messages?dir=b&limit=10"
        ))
        .await?
        .ok()?;
    ensure!(
        history.to_string().contains("Seite 42"),
        "the chat stays readable"
    );
    // Zoë and Mia are classmates now.
    created(&s.zoe.raw(), dm("mia.weber")).await?;
    Ok(())
}

/// Reports are stored; every denial so far is in the audit log (actor, action, rule).
async fn reports_and_audit(
    server: &TestServer,
    s: &School,
    dm_room: &str,
    staff_room: &str,
) -> Result<()> {
    let sent = send_text(&s.anna.raw(), staff_room, "Probe am Freitag")
        .await?
        .ok()?;
    let message = sent["event_id"].as_str().context("event_id")?;
    let report = s
        .mia
        .raw()
        .post(
            &format!("/_matrix/client/v3/rooms/{staff_room}/report/{message}"),
            json!({ "reason": "falscher Termin" }),
        )
        .await?
        .ok()?;
    ensure!(report == json!({}), "{report}");
    s.ben
        .raw()
        .post(
            &format!("/_matrix/client/v3/rooms/{dm_room}/report"),
            json!({ "reason": "" }),
        )
        .await?
        .ok()?;
    // Udo is in no room with Mia's report: the event is not found for him.
    let outsider = s
        .udo
        .raw()
        .post(
            &format!("/_matrix/client/v3/rooms/{staff_room}/report/{message}"),
            json!({ "reason": "x" }),
        )
        .await?;
    outsider.expect_error(&[404], &["M_NOT_FOUND"])?;

    let reports = server.cli(&["audit", "reports"], None).await?;
    ensure!(
        reports.contains(&user_id_of("mia.weber")) && reports.contains(message),
        "reports: {reports}"
    );
    let log = server
        .cli(&["audit", "list", "--limit", "500"], None)
        .await?;
    for expected in [
        "action=create_room rule=student_contact_outside_groups",
        "action=create_room rule=student_create_room",
        "action=create_room rule=parent_room_outside_groups",
        "action=invite rule=parent_room_outside_groups",
        "action=change_room_state rule=room_public_staff_only",
        "action=change_room_state rule=power_level_raise_self",
        "action=join rule=join_requires_invite",
        "action=join rule=invite_outdated",
        "action=send_message rule=conversation_no_longer_allowed",
        "action=view_profile rule=directory_not_visible",
        "report.event",
    ] {
        ensure!(
            log.contains(expected),
            "audit log lacks {expected:?}:\n{log}"
        );
    }
    ensure!(
        !log.contains("Noch da?") && !log.contains("falscher Termin"),
        "the audit log holds no content"
    );
    let shown = server.cli(&["user", "show", "ben.mueller"], None).await?;
    ensure!(shown.contains("policy.deny"), "user show: {shown}");
    Ok(())
}

/// Students cannot upgrade rooms; a teacher's upgrade replaces the room.
async fn upgrades(s: &School, dm_room: &str, staff_room: &str) -> Result<()> {
    let upgrade = |room: &str| format!("/_matrix/client/v3/rooms/{room}/upgrade");
    let body = json!({ "new_version": "11" });
    denied(
        s.ben.raw().post(&upgrade(dm_room), body.clone()).await?,
        UPGRADE,
    )?;
    let replaced = s.anna.raw().post(&upgrade(staff_room), body).await?.ok()?;
    let new_room = replaced["replacement_room"]
        .as_str()
        .context("replacement_room")?;
    let tombstone = s
        .anna
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{staff_room}/state/m.room.tombstone/"
        ))
        .await?
        .ok()?;
    ensure!(tombstone["replacement_room"] == new_room, "{tombstone}");
    // The members are invited into the new room; Mia (another class) joins and writes.
    join(&s.mia.raw(), new_room).await?.ok()?;
    send_text(&s.mia.raw(), new_room, "Bin da").await?.ok()?;
    Ok(())
}
