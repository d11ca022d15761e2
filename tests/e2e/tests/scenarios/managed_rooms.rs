//! Rooms the school manages: a room the school's appservice creates with
//! `de.schulhof.managed` in its create content, into which it makes a teacher, two students and
//! a parent join. Students and parents, with their own clients, try everything only staff and
//! the appservice may do there (invite, settings, power levels, space structure, kick, leave)
//! and are refused with 403 `M_FORBIDDEN` and the rule's German text; they can still write.
//! The teacher changes the settings and removes a student, but invites nobody: only the
//! appservice does. An ordinary user cannot create a room with the marker.

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{backend_tests, user_id_of, RawApi, TestServer};
use serde_json::{json, Value};

use crate::appservice::{appservice_api, joined_members, login, register_appservice};

backend_tests!(managed_rooms_are_the_schools);

const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
S-2;Mia;Weber;Schülerin;Klasse 8a;;ja
S-3;Tom;Berg;Schüler;Klasse 8b;;ja
E-1;Eva;Müller;Sorgeberechtigte;;S-1;ja
";

/// What students (du) and parents and teachers (Sie) read.
const INVITE_DU: &str = "Wer in diesem Raum ist, bestimmt die Schule nach dem Schulverzeichnis. Einladen kann hier niemand von Hand.";
const SETTINGS_DU: &str = "In den Räumen der Schule können nur Lehrkräfte Einstellungen ändern und Personen entfernen. Frag eine Lehrkraft.";
const SETTINGS_SIE: &str = "In den Räumen der Schule können nur Lehrkräfte und die Schulleitung Einstellungen ändern und Personen entfernen. Bitte fragen Sie eine Lehrkraft.";
const LEAVE_DU: &str = "Aus den Räumen deiner Klasse und Gruppen kannst du nicht austreten, das regelt die Schule. Du kannst den Raum aber stummschalten.";
const LEAVE_SIE: &str = "Aus den Räumen Ihrer Klassen und Gruppen können Sie nicht austreten, das regelt die Schule. Sie können den Raum aber stummschalten.";
const RESERVED_DU: &str = "Räume, die die Schule verwaltet, legt nur der Dienst der Schule an. Lege deinen Raum ohne das Kennzeichen „de.schulhof.managed“ an.";

/// The state events only staff may send, with a content each.
fn settings() -> Vec<(&'static str, String, Value)> {
    let space_child = format!("!irgendwo:{}", schulhof_e2e::SERVER_NAME);
    vec![
        (
            "m.room.name",
            String::new(),
            json!({ "name": "Unsere Klasse" }),
        ),
        ("m.room.topic", String::new(), json!({ "topic": "Neu" })),
        (
            "m.room.avatar",
            String::new(),
            json!({ "url": "mxc://schule.test/bild" }),
        ),
        (
            "m.room.power_levels",
            String::new(),
            json!({ "users": { user_id_of("ben.mueller"): 100 } }),
        ),
        (
            "m.room.encryption",
            String::new(),
            json!({ "algorithm": "m.megolm.v1.aes-sha2" }),
        ),
        (
            "m.room.join_rules",
            String::new(),
            json!({ "join_rule": "invite" }),
        ),
        (
            "m.room.history_visibility",
            String::new(),
            json!({ "history_visibility": "joined" }),
        ),
        (
            "m.space.child",
            space_child.clone(),
            json!({ "via": ["schule.test"] }),
        ),
        (
            "m.space.parent",
            space_child,
            json!({ "via": ["schule.test"] }),
        ),
    ]
}

fn state_path(room: &str, kind: &str, key: &str) -> String {
    format!("/_matrix/client/v3/rooms/{room}/state/{kind}/{key}")
}

async fn managed_rooms_are_the_schools(server: &TestServer) -> Result<()> {
    server.import("schule.csv", SCHOOL, &[]).await?;
    register_appservice(server, None, "de.schulhof.admin_join: any").await?;
    let anna = login(server, "anna.schmidt").await?;
    let ben = login(server, "ben.mueller").await?;
    let mia = login(server, "mia.weber").await?;
    let eva = login(server, "eva.mueller").await?;

    // The appservice creates the class room (teachers at 50 may change every setting) and
    // makes everyone join.
    let service = appservice_api(server);
    let created = service
        .post(
            "/_matrix/client/v3/createRoom",
            json!({
                "name": "Klasse 8a",
                "creation_content": { "de.schulhof.managed": "group:Klasse 8a" },
                "power_level_content_override": {
                    "users": { user_id_of("anna.schmidt"): 50 },
                    "events": {
                        "m.room.power_levels": 50,
                        "m.room.history_visibility": 50,
                        "m.room.encryption": 50
                    }
                }
            }),
        )
        .await?
        .ok()?;
    let room = created["room_id"].as_str().context("room_id")?.to_owned();
    for person in ["anna.schmidt", "ben.mueller", "mia.weber", "eva.mueller"] {
        service
            .post(
                &format!("/_synapse/admin/v1/join/{room}"),
                json!({ "user_id": user_id_of(person) }),
            )
            .await?
            .ok()
            .with_context(|| format!("{person} made to join"))?;
    }

    students_and_parents_are_refused(&room, &ben, &eva).await?;
    // They can still write there, and so can the teacher.
    for (who, api) in [("ben", &ben), ("eva", &eva), ("anna", &anna)] {
        api.put(
            &format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/{who}-1"),
            json!({ "msgtype": "m.text", "body": "Hallo" }),
        )
        .await?
        .ok()
        .with_context(|| format!("{who} writes"))?;
    }
    staff_may(&room, &anna, &mia).await?;

    // An ordinary user cannot create a room the school manages.
    ben.post(
        "/_matrix/client/v3/createRoom",
        json!({ "creation_content": { "de.schulhof.managed": "group:Klasse 8a" } }),
    )
    .await?
    .expect_forbidden(RESERVED_DU)?;
    // The refused students and parents are still there; the teacher left, Mia was removed.
    let joined = joined_members(&service, &room).await?;
    for person in ["ben.mueller", "eva.mueller"] {
        ensure!(
            joined.contains(&user_id_of(person)),
            "{person} still joined"
        );
    }
    for person in ["anna.schmidt", "mia.weber"] {
        ensure!(!joined.contains(&user_id_of(person)), "{person} is gone");
    }
    Ok(())
}

/// Every action reserved for staff and the appservice, by a student (du) and a parent (Sie).
async fn students_and_parents_are_refused(room: &str, ben: &RawApi, eva: &RawApi) -> Result<()> {
    let invite = format!("/_matrix/client/v3/rooms/{room}/invite");
    for api in [ben, eva] {
        api.post(&invite, json!({ "user_id": user_id_of("tom.berg") }))
            .await?
            .expect_forbidden(INVITE_DU)?;
    }
    for (who, api, text) in [("ben", ben, SETTINGS_DU), ("eva", eva, SETTINGS_SIE)] {
        for (kind, key, content) in settings() {
            api.put(&state_path(room, kind, &key), content)
                .await?
                .expect_forbidden(text)
                .with_context(|| format!("{who} sends {kind}"))?;
        }
        api.post(
            &format!("/_matrix/client/v3/rooms/{room}/kick"),
            json!({ "user_id": user_id_of("mia.weber"), "reason": "raus" }),
        )
        .await?
        .expect_forbidden(text)
        .with_context(|| format!("{who} kicks"))?;
    }
    let leave = format!("/_matrix/client/v3/rooms/{room}/leave");
    ben.post(&leave, json!({}))
        .await?
        .expect_forbidden(LEAVE_DU)?;
    ben.post(&leave, json!({ "reason": "Tschüss" }))
        .await?
        .expect_forbidden(LEAVE_DU)?;
    eva.post(&leave, json!({}))
        .await?
        .expect_forbidden(LEAVE_SIE)?;
    Ok(())
}

/// The teacher changes every setting and removes a student, but invites nobody.
async fn staff_may(room: &str, anna: &RawApi, mia: &RawApi) -> Result<()> {
    for (kind, key, content) in settings() {
        if kind == "m.room.power_levels" {
            continue;
        }
        anna.put(&state_path(room, kind, &key), content)
            .await?
            .ok()
            .with_context(|| format!("the teacher sends {kind}"))?;
    }
    let levels = state_path(room, "m.room.power_levels", "");
    let mut content = anna.get(&levels).await?.ok()?;
    content["users"][user_id_of("mia.weber")] = json!(10);
    anna.put(&levels, content)
        .await?
        .ok()
        .context("the teacher changes power levels")?;
    anna.post(
        &format!("/_matrix/client/v3/rooms/{room}/kick"),
        json!({ "user_id": user_id_of("mia.weber"), "reason": "Klassenwechsel" }),
    )
    .await?
    .ok()
    .context("the teacher removes a student")?;
    ensure!(
        !joined_members(anna, room)
            .await?
            .contains(&user_id_of("mia.weber")),
        "Mia is out"
    );
    // Joining again is the appservice's business, not hers.
    mia.post(&format!("/_matrix/client/v3/rooms/{room}/join"), json!({}))
        .await?
        .expect_forbidden(
            "Du kannst nur Räumen beitreten, in die dich jemand eingeladen hat. Frag eine Lehrkraft nach einer Einladung.",
        )?;
    anna.post(
        &format!("/_matrix/client/v3/rooms/{room}/invite"),
        json!({ "user_id": user_id_of("tom.berg") }),
    )
    .await?
    .expect_forbidden(INVITE_DU)?;
    // A teacher may leave.
    anna.post(&format!("/_matrix/client/v3/rooms/{room}/leave"), json!({}))
        .await?
        .ok()
        .context("the teacher leaves")?;
    Ok(())
}
