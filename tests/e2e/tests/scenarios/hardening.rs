//! Ways around the school's rights, tried as a student and as a parent on the school of
//! `policy.rs`: each is refused with the rule's German message, and the person it would have
//! reached receives nothing.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{
    backend_tests, create_room as create, direct_chat as dm, user_id_of, Body, RawApi, RawResponse,
    TestServer, TestUser,
};
use serde_json::{json, Value};

use crate::policy::{
    created, denied, import_and_log_in, join, put_state, put_state_key, send_text, until_not_found,
    School, NOT_VISIBLE, NO_LONGER, PASSWORD, PICKUP, ROOM_SETTINGS, SCHOOL, STUDENT_CONTACT,
    STUDENT_CREATE_ROOM, UPGRADE,
};

backend_tests!(ways_around_the_rights);

const START_VIDEO: &str = "Du kannst keine Videokonferenz starten. Wenn eine Lehrkraft eine \
                           startet, kannst du teilnehmen.";
const CREATE_GROUP: &str =
    "Sie können keine Gruppen anlegen. Bitte wenden Sie sich an eine Lehrkraft.";
const NO_CONSENT: &str = "Für Ihr Konto fehlt noch die Einwilligung. Das Sekretariat schaltet \
                          es frei, sobald sie vorliegt.";

/// A student's own name change.
const DISPLAY_NAME: &str = "Deinen Namen kannst du nicht ändern, er kommt aus dem \
                            Schulverzeichnis. Ist er falsch, sag es im Sekretariat.";

/// What a parent reads ("Sie") where `policy.rs` has the student's text.
const ROOM_SETTINGS_SIE: &str = "Diese Raumeinstellung können nur Lehrkräfte und die Schulleitung \
                                 ändern. Bitte fragen Sie eine Lehrkraft.";
const NO_LONGER_SIE: &str = "Hier können Sie nicht mehr schreiben, weil jemand in diesem Chat \
                             nicht mehr in einer Gruppe mit Ihnen ist. Die bisherigen Nachrichten \
                             können Sie weiter lesen.";

/// Text a refused request tried to get to someone.
const SECRET: &str = "Treffen um 3 am Tor";

async fn ways_around_the_rights(server: &TestServer) -> Result<()> {
    let s = import_and_log_in(server).await?;
    let dm_room = membership_events(&s).await.context("membership events")?;
    to_device_and_keys(&s)
        .await
        .context("to-device messages and keys")?;
    presence_and_profiles(&s)
        .await
        .context("presence and profiles")?;
    calls_and_widgets(&s, &dm_room)
        .await
        .context("calls and widgets")?;
    history_for_new_partners(&s)
        .await
        .context("history handed to a new partner")?;
    let staff_room = room_directory(&s, server).await.context("room directory")?;
    creation_content(&s, &staff_room)
        .await
        .context("creation_content")?;
    media_is_frozen(&s, server).await.context("media")?;
    receipt_threads(&s).await.context("receipt threads")?;
    after_a_group_change(server, &s, &dm_room)
        .await
        .context("after a group change")?;
    restricted_parents(server, &s)
        .await
        .context("restricted parents")?;
    Ok(())
}

/// A sync token for `api`'s user now.
async fn sync_token(api: &RawApi) -> Result<String> {
    let body = api.get("/_matrix/client/v3/sync?timeout=0").await?.ok()?;
    Ok(body["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned())
}

/// What `api`'s user received since `token`, as JSON text.
async fn received_since(api: &RawApi, token: &str) -> Result<String> {
    let body = api
        .get_query(
            "/_matrix/client/v3/sync",
            &[("since", token), ("timeout", "0")],
        )
        .await?
        .ok()?;
    Ok(body.to_string())
}

/// `POST /rooms/{room}/{action}` (`ban`, `unban`, `kick`) for `user_id` with a reason.
async fn membership(api: &RawApi, room: &str, action: &str, user_id: &str) -> Result<RawResponse> {
    api.post(
        &format!("/_matrix/client/v3/rooms/{room}/{action}"),
        json!({ "user_id": user_id, "reason": SECRET }),
    )
    .await
}

/// Ban, unban, kick and member events about someone who is not in the room reach them: they
/// are decided as invitations. Unknown and case-variant user IDs are 404, nothing stored.
/// Returns Ben's direct chat with Zoë (both joined).
async fn membership_events(s: &School) -> Result<String> {
    let ben = s.ben.raw();
    let room = created(&ben, dm("zoe.yilmaz")).await?;
    join(&s.zoe.raw(), &room).await?.ok()?;
    let mia = user_id_of("mia.weber");
    let mia_since = sync_token(&s.mia.raw()).await?;
    for action in ["ban", "unban", "kick"] {
        denied(
            membership(&ben, &room, action, &mia).await?,
            STUDENT_CREATE_ROOM,
        )?;
    }
    let about_mia = json!({ "membership": "leave", "displayname": SECRET });
    denied(
        put_state_key(&ben, &room, "m.room.member", &mia, about_mia).await?,
        STUDENT_CREATE_ROOM,
    )?;
    // Alone in a direct chat (the teacher declined), Ben reaches whom he may write to: not
    // Mia.
    let alone = created(&ben, dm("anna.schmidt")).await?;
    s.anna
        .raw()
        .post(
            &format!("/_matrix/client/v3/rooms/{alone}/leave"),
            json!({}),
        )
        .await?
        .ok()?;
    denied(
        membership(&ben, &alone, "ban", &mia).await?,
        STUDENT_CONTACT,
    )?;
    let received = received_since(&s.mia.raw(), &mia_since).await?;
    ensure!(
        !received.contains(&room) && !received.contains(&alone) && !received.contains(SECRET),
        "Mia received {received}"
    );
    let members = s
        .mia
        .raw()
        .get(&format!("/_matrix/client/v3/rooms/{room}/members"))
        .await?;
    members.expect_error(&[403], &["M_FORBIDDEN"])?;

    // Unknown and case-variant user IDs get what /invite answers; nothing is stored.
    membership(&ben, &room, "ban", "@gibtsnicht:schule.test")
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    let variant = "@Zoe.Yilmaz:schule.test";
    put_state_key(
        &ben,
        &room,
        "m.room.member",
        variant,
        json!({ "membership": "ban" }),
    )
    .await?
    .expect_error(&[404], &["M_NOT_FOUND"])?;
    let state = format!("/_matrix/client/v3/rooms/{room}/state/m.room.member/{variant}");
    ben.get(&state)
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    Ok(room)
}

/// To-device messages go only to people one may write to or shares a room with; keys are
/// handed out only for them.
async fn to_device_and_keys(s: &School) -> Result<()> {
    // matrix-sdk uploads the devices' keys while syncing.
    s.mia.sync().await?;
    s.zoe.sync().await?;
    let ben = s.ben.raw();
    let (mia, zoe) = (user_id_of("mia.weber"), user_id_of("zoe.yilmaz"));
    let mia_since = sync_token(&s.mia.raw()).await?;
    let zoe_since = sync_token(&s.zoe.raw()).await?;
    for (n, event_type) in ["m.schulhof.notiz", "m.room.encrypted", "m.room_key_request"]
        .iter()
        .enumerate()
    {
        let path = format!("/_matrix/client/v3/sendToDevice/{event_type}/td-{n}");
        let body = json!({ "messages": { mia.as_str(): { "*": { "body": SECRET } } } });
        denied(ben.put(&path, body).await?, STUDENT_CONTACT)?;
    }
    let to_zoe = json!({ "messages": { zoe.as_str(): { "*": { "body": "Hallo Zoë" } } } });
    ben.put(
        "/_matrix/client/v3/sendToDevice/m.schulhof.notiz/td-zoe",
        to_zoe,
    )
    .await?
    .ok()?;
    let received = received_since(&s.mia.raw(), &mia_since).await?;
    ensure!(!received.contains(SECRET), "Mia received {received}");
    let received = received_since(&s.zoe.raw(), &zoe_since).await?;
    ensure!(received.contains("Hallo Zoë"), "Zoë received {received}");

    let query = json!({ "device_keys": { mia.as_str(): [], zoe.as_str(): [] } });
    let own = s
        .mia
        .raw()
        .post("/_matrix/client/v3/keys/query", query.clone())
        .await?
        .ok()?;
    let devices = own["device_keys"][&mia]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let device = devices.keys().next().context("Mia's device keys")?.clone();
    let seen = ben
        .post("/_matrix/client/v3/keys/query", query)
        .await?
        .ok()?;
    ensure!(seen["device_keys"][&mia] == json!({}), "{seen}");
    ensure!(seen["master_keys"][&mia].is_null(), "{seen}");
    ensure!(
        seen["device_keys"][&zoe]
            .as_object()
            .is_some_and(|d| !d.is_empty()),
        "Ben gets his classmate's keys: {seen}"
    );
    let claim = json!({ "one_time_keys": { mia.as_str(): { device: "signed_curve25519" } } });
    let claimed = ben
        .post("/_matrix/client/v3/keys/claim", claim)
        .await?
        .ok()?;
    ensure!(claimed["one_time_keys"][&mia].is_null(), "{claimed}");
    Ok(())
}

/// Presence (with its status message) and profiles only of people one may reach; unknown
/// users get the same answer as unreachable ones.
async fn presence_and_profiles(s: &School) -> Result<()> {
    let mia = user_id_of("mia.weber");
    s.mia
        .raw()
        .put(
            &format!("/_matrix/client/v3/presence/{mia}/status"),
            json!({ "presence": "online", "status_msg": SECRET }),
        )
        .await?
        .ok()?;
    let ben = s.ben.raw();
    let presence = |user: &str| format!("/_matrix/client/v3/presence/{user}/status");
    let profile = |user: &str| format!("/_matrix/client/v3/profile/{user}");
    let unknown = "@gibtsnicht:schule.test";
    for path in [
        presence(&mia),
        presence(unknown),
        profile(&mia),
        profile(unknown),
    ] {
        denied(ben.get(&path).await?, NOT_VISIBLE).with_context(|| path.clone())?;
    }
    ben.get(&presence(&user_id_of("zoe.yilmaz"))).await?.ok()?;
    Ok(())
}

/// Starting a call is decided by what the event does: an empty `memberships` list next to
/// a widget or a call session does not make it "leaving a call".
async fn calls_and_widgets(s: &School, dm_room: &str) -> Result<()> {
    let ben = s.ben.raw();
    let widget = json!({
        "type": "jitsi", "url": "https://meet.schule.test/x", "name": SECRET, "memberships": [],
    });
    denied(
        put_state_key(&ben, dm_room, "im.vector.modular.widgets", "w1", widget).await?,
        START_VIDEO,
    )?;
    let ben_id = user_id_of("ben.mueller");
    let session = json!({
        "memberships": [], "application": "m.call", "call_id": "", "device_id": "GERAET",
        "focus_active": { "type": "livekit" },
    });
    let key = format!("_{ben_id}_GERAET");
    denied(
        put_state_key(
            &ben,
            dm_room,
            "org.matrix.msc3401.call.member",
            &key,
            session,
        )
        .await?,
        START_VIDEO,
    )?;
    // Leaving a call is always possible.
    put_state_key(
        &ben,
        dm_room,
        "org.matrix.msc3401.call.member",
        &ben_id,
        json!({}),
    )
    .await?
    .ok()?;
    Ok(())
}

/// Rooms of students and parents show a new partner nothing from before their invitation,
/// and students and parents cannot widen that.
async fn history_for_new_partners(s: &School) -> Result<()> {
    // Ben's chat with his mother (private_chat: he may remove her), then with a classmate.
    let mut body = dm("clara.mueller");
    body["preset"] = json!("private_chat");
    let room = created(&s.ben.raw(), body).await?;
    let visibility = s
        .ben
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{room}/state/m.room.history_visibility/"
        ))
        .await?
        .ok()?;
    ensure!(
        visibility["history_visibility"] == "invited",
        "{visibility}"
    );
    let mathe = "Mama, ich habe die Mathearbeit verhauen.";
    hand_over(&s.ben, &room, &s.clara, &s.zoe, mathe, ROOM_SETTINGS).await?;
    // A parents' room, then with a teacher.
    let body = json!({ "name": "Eltern 8a", "invite": [user_id_of("eva.yilmaz")] });
    let room = created(&s.clara.raw(), body).await?;
    let trip = "Unter uns: der Ausflug fällt aus.";
    hand_over(&s.clara, &room, &s.eva, &s.anna, trip, ROOM_SETTINGS_SIE).await
}

/// In `owner`'s room with `partner` (invited), `owner` says `secret`, cannot widen the
/// history (refused with `refusal`), removes `partner` and invites `newcomer`, who reads nothing
/// of `secret`.
async fn hand_over(
    owner: &TestUser,
    room: &str,
    partner: &TestUser,
    newcomer: &TestUser,
    secret: &str,
    refusal: &str,
) -> Result<()> {
    let api = owner.raw();
    join(&partner.raw(), room).await?.ok()?;
    send_text(&api, room, secret).await?.ok()?;
    let shared = json!({ "history_visibility": "shared" });
    denied(
        put_state(&api, room, "m.room.history_visibility", shared).await?,
        refusal,
    )?;
    membership(&api, room, "kick", partner.id()).await?.ok()?;
    crate::policy::invite(&api, room, newcomer.user_id.localpart())
        .await?
        .ok()?;
    join(&newcomer.raw(), room).await?.ok()?;
    let history = newcomer
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=50"
        ))
        .await?
        .ok()?;
    ensure!(
        !history.to_string().contains(secret),
        "the new member reads {history}"
    );
    Ok(())
}

/// Alias lookups and directory visibility only for rooms the asker sees or could join.
/// Returns Anna's private room.
async fn room_directory(s: &School, server: &TestServer) -> Result<String> {
    let anna = s.anna.raw();
    let private = json!({ "name": "Lehrerzimmer", "room_alias_name": "lehrerzimmer" });
    let room = created(&anna, private).await?;
    let public = json!({
        "name": "Aula", "room_alias_name": "aula", "preset": "public_chat", "visibility": "public",
    });
    created(&anna, public).await?;
    let alias = |name: &str| format!("/_matrix/client/v3/directory/room/%23{name}:schule.test");
    let listed = format!("/_matrix/client/v3/directory/list/room/{room}");
    for asker in [s.ben.raw(), s.juergen.raw(), server.raw()] {
        for path in [alias("lehrerzimmer"), listed.clone()] {
            asker
                .get(&path)
                .await?
                .expect_error(&[404], &["M_NOT_FOUND"])
                .with_context(|| path.clone())?;
        }
    }
    anna.get(&alias("lehrerzimmer")).await?.ok()?;
    let visibility = anna.get(&listed).await?.ok()?;
    ensure!(visibility["visibility"] == "private", "{visibility}");
    // A public room: another teacher could join it, a student could not.
    s.juergen.raw().get(&alias("aula")).await?.ok()?;
    s.ben
        .raw()
        .get(&alias("aula"))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    Ok(room)
}

/// `creation_content`: a predecessor only for who may upgrade it, a space only for who may
/// create rooms and groups; nothing is created otherwise.
async fn creation_content(s: &School, staff_room: &str) -> Result<()> {
    let (ben, clara) = (s.ben.raw(), s.clara.raw());
    let rooms_before = (s.ben.joined_rooms().await?, s.clara.joined_rooms().await?);
    let predecessor = json!({ "room_id": staff_room, "event_id": "$vorher" });
    let mut body = dm("zoe.yilmaz");
    body["creation_content"] = json!({ "predecessor": predecessor });
    denied(create(&ben, body).await?, UPGRADE)?;
    let mut body = dm("zoe.yilmaz");
    body["creation_content"] = json!({ "type": "m.space" });
    denied(create(&ben, body).await?, STUDENT_CREATE_ROOM)?;
    let space = json!({ "name": "Elternbereich", "creation_content": { "type": "m.space" } });
    denied(create(&clara, space.clone()).await?, CREATE_GROUP)?;
    let rooms_after = (s.ben.joined_rooms().await?, s.clara.joined_rooms().await?);
    ensure!(
        rooms_before == rooms_after,
        "a refused createRoom created a room"
    );
    // Teachers may; a predecessor only if they may upgrade it (Jürgen is not in it).
    created(&s.anna.raw(), space).await?;
    let body = json!({ "creation_content": { "predecessor": predecessor } });
    created(&s.anna.raw(), body.clone()).await?;
    create(&s.juergen.raw(), body)
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    Ok(())
}

/// Files uploaded now are served only to logged-in users by the authenticated endpoints;
/// their IDs cannot be guessed.
async fn media_is_frozen(s: &School, server: &TestServer) -> Result<()> {
    let ben = s.ben.raw();
    let uploaded = ben
        .request(
            reqwest::Method::POST,
            "/_matrix/media/v3/upload?filename=notiz.json",
            Body::Bytes(br#"{"notiz": "Hausaufgaben"}"#.to_vec()),
        )
        .await?
        .ok()?;
    let uri = uploaded["content_uri"].as_str().context("content_uri")?;
    let media_id = uri.rsplit('/').next().unwrap_or_default();
    ensure!(
        media_id.len() >= 22 && media_id.chars().all(|c| c.is_ascii_alphanumeric()),
        "media ID {media_id}"
    );
    let legacy = [
        format!("/_matrix/media/v3/download/schule.test/{media_id}"),
        format!("/_matrix/media/v3/download/schule.test/{media_id}/notiz.json"),
        format!("/_matrix/media/v3/thumbnail/schule.test/{media_id}?width=32&height=32"),
    ];
    for path in &legacy {
        for api in [server.raw(), ben.clone()] {
            api.get(path)
                .await?
                .expect_error(&[404], &["M_NOT_FOUND"])
                .with_context(|| path.clone())?;
        }
    }
    let v1 = format!("/_matrix/client/v1/media/download/schule.test/{media_id}");
    s.zoe.raw().get(&v1).await?.ok()?;
    server
        .raw()
        .get(&v1)
        .await?
        .expect_error(&[401], &["M_MISSING_TOKEN"])?;
    Ok(())
}

/// A receipt's `thread_id` is `main` or an event of the room, never free text.
async fn receipt_threads(s: &School) -> Result<()> {
    let room = created(&s.ben.raw(), dm("anna.schmidt")).await?;
    join(&s.anna.raw(), &room).await?.ok()?;
    let sent = send_text(&s.anna.raw(), &room, "Denkt an die Hausaufgaben")
        .await?
        .ok()?;
    let event = sent["event_id"].as_str().context("event_id")?;
    let path = format!("/_matrix/client/v3/rooms/{room}/receipt/m.read/{event}");
    s.ben
        .raw()
        .post(&path, json!({ "thread_id": SECRET }))
        .await?
        .expect_error(&[400], &["M_INVALID_PARAM"])?;
    s.ben
        .raw()
        .post(&path, json!({ "thread_id": "main" }))
        .await?
        .ok()?;
    Ok(())
}

/// Zoë moves to 8b (and her mother Eva with her): in the chats that can no longer be written
/// to, nothing else gets through either — profile, typing, receipts, kicks, name and topic —
/// only leaving.
async fn after_a_group_change(server: &TestServer, s: &School, dm_room: &str) -> Result<()> {
    let (ben, clara) = (s.ben.raw(), s.clara.raw());
    let body = json!({ "name": "Elternstammtisch", "invite": [user_id_of("eva.yilmaz")] });
    let parents = created(&clara, body).await?;
    join(&s.eva.raw(), &parents).await?.ok()?;
    let sent = send_text(&s.zoe.raw(), dm_room, "Bis morgen!")
        .await?
        .ok()?;
    let event = sent["event_id"].as_str().context("event_id")?.to_owned();
    reimport(
        server,
        &SCHOOL.replace(
            "S-2;Zoë;Yılmaz;Schülerin;Klasse 8a",
            "S-2;Zoë;Yılmaz;Schülerin;Klasse 8b",
        ),
    )
    .await?;
    until_not_found(&ben, "zoe").await?;
    let zoe_since = sync_token(&s.zoe.raw()).await?;
    let eva_since = sync_token(&s.eva.raw()).await?;
    let ben_id = user_id_of("ben.mueller");
    let renamed = json!({ "membership": "join", "displayname": SECRET });
    let refused = [
        put_state_key(&ben, dm_room, "m.room.member", &ben_id, renamed).await?,
        ben.put(
            &format!("/_matrix/client/v3/rooms/{dm_room}/typing/{ben_id}"),
            json!({ "typing": true, "timeout": 30000 }),
        )
        .await?,
        ben.post(
            &format!("/_matrix/client/v3/rooms/{dm_room}/receipt/m.read/{event}"),
            json!({}),
        )
        .await?,
        ben.post(
            &format!("/_matrix/client/v3/rooms/{dm_room}/read_markers"),
            json!({ "m.read": event }),
        )
        .await?,
        membership(&ben, dm_room, "kick", &user_id_of("zoe.yilmaz")).await?,
        put_state(&clara, &parents, "m.room.name", json!({ "name": SECRET })).await?,
        put_state(&clara, &parents, "m.room.topic", json!({ "topic": SECRET })).await?,
    ];
    for (n, response) in refused.into_iter().enumerate() {
        // The last two are Clara's (a parent: "Sie").
        let text = if n >= 5 { NO_LONGER_SIE } else { NO_LONGER };
        denied(response, text).with_context(|| format!("request {n}"))?;
    }
    // Students keep the directory's name (server notices' rights), so a display name cannot
    // carry text into this chat either.
    denied(
        ben.put(
            &format!("/_matrix/client/v3/profile/{ben_id}/displayname"),
            json!({ "displayname": SECRET }),
        )
        .await?,
        DISPLAY_NAME,
    )?;
    for (who, api, since) in [
        ("Zoë", s.zoe.raw(), &zoe_since),
        ("Eva", s.eva.raw(), &eva_since),
    ] {
        let received = received_since(&api, since).await?;
        ensure!(
            !received.contains(SECRET)
                && !received.contains("m.typing")
                && !received.contains(&event),
            "{who} received {received}"
        );
    }
    // Leaving stays possible.
    clara
        .post(
            &format!("/_matrix/client/v3/rooms/{parents}/leave"),
            json!({}),
        )
        .await?
        .ok()?;
    Ok(())
}

/// Imports `csv` as the school's new export.
async fn reimport(server: &TestServer, csv: &str) -> Result<()> {
    std::fs::write(server.path("schule-neu.csv"), csv)?;
    server.cli(&["import", "schule-neu.csv"], None).await?;
    Ok(())
}

/// A parent whose only child's consent is withdrawn, and a parent whose own consent is,
/// are restricted: their sessions end at once and they cannot log in.
async fn restricted_parents(server: &TestServer, s: &School) -> Result<()> {
    let csv = SCHOOL
        .replace(
            "S-2;Zoë;Yılmaz;Schülerin;Klasse 8a",
            "S-2;Zoë;Yılmaz;Schülerin;Klasse 8b",
        )
        .replace(
            "S-3;Mia;Weber;Schülerin;Klasse 8b;;ja",
            "S-3;Mia;Weber;Schülerin;Klasse 8b;;nein",
        )
        .replace(
            "E-2;Eva;Yılmaz;Sorgeberechtigte;;S-2;ja",
            "E-2;Eva;Yılmaz;Sorgeberechtigte;;S-2;nein",
        );
    ensure!(csv.matches(";nein").count() == 2, "the changed export");
    reimport(server, &csv).await?;
    for (localpart, api) in [("udo.weber", s.udo.raw()), ("eva.yilmaz", s.eva.raw())] {
        let started = Instant::now();
        loop {
            let whoami = api.get("/_matrix/client/v3/account/whoami").await?;
            if whoami.status == 401 {
                whoami.expect_error(&[401], &["M_UNKNOWN_TOKEN"])?;
                break;
            }
            ensure!(
                started.elapsed() < PICKUP,
                "{localpart}'s session still works"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let login = crate::directory::login(server, localpart, PASSWORD).await?;
        denied(login, NO_CONSENT).with_context(|| localpart.to_owned())?;
    }
    // Clara, whose children have consent, keeps her session.
    s.clara
        .raw()
        .get("/_matrix/client/v3/account/whoami")
        .await?
        .ok()
        .map(|_: Value| ())
}
