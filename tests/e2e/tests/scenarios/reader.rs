//! The one room reader: a filter is applied before the limit, and every read path hides what
//! the reader hides (here: messages of a user someone ignores).

use anyhow::{ensure, Context, Result};
use matrix_sdk::ruma::RoomId;
use schulhof_e2e::{backend_tests, membership, say, shared_room, two_users, TestServer, TestUser};
use serde_json::{json, Value};

backend_tests!(filter_before_limit, every_read_path_hides_ignored_messages);

/// The bodies of the `m.room.message` events in a list of client events.
fn bodies(events: &Value) -> Vec<String> {
    events
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter(|e| e["type"] == "m.room.message")
                .filter_map(|e| e["content"]["body"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A raw initial `/sync` of `user` with an inline filter; the room's part of the response.
async fn sync_room(user: &TestUser, room_id: &RoomId, filter: Value) -> Result<Value> {
    let body = user
        .raw()
        .get_query(
            "/_matrix/client/v3/sync",
            &[("filter", filter.to_string().as_str())],
        )
        .await?
        .ok()?;
    Ok(body["rooms"]["join"][room_id.as_str()].clone())
}

/// `{"limit": 5, "types": ["m.room.message"]}` returns five messages although a member
/// event is among the newest five events, in `/sync` and in `/messages`.
async fn filter_before_limit(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;
    for i in 1..=6 {
        say(&anna, &ben, &room_id, &format!("Nachricht {i}")).await?;
    }
    // A member event among the newest five: Ben changes his display name.
    ben.raw()
        .put(
            &format!(
                "/_matrix/client/v3/rooms/{room_id}/state/m.room.member/{}",
                ben.id()
            ),
            json!({ "membership": "join", "displayname": "Ben M." }),
        )
        .await?
        .ok()?;
    say(&anna, &ben, &room_id, "Nachricht 7").await?;
    let expected: Vec<String> = (3..=7).map(|i| format!("Nachricht {i}")).collect();

    let filter = json!({ "room": { "timeline": { "limit": 5, "types": ["m.room.message"] } } });
    let room = sync_room(&ben, &room_id, filter).await?;
    let timeline = &room["timeline"];
    ensure!(
        bodies(&timeline["events"]) == expected,
        "/sync timeline: expected {expected:?}, got {}",
        timeline["events"]
    );
    ensure!(timeline["limited"] == true, "/sync timeline not limited");

    let messages = ben
        .raw()
        .get_query(
            &format!("/_matrix/client/v3/rooms/{room_id}/messages"),
            &[
                ("dir", "b"),
                ("limit", "5"),
                ("filter", r#"{"types":["m.room.message"]}"#),
            ],
        )
        .await?
        .ok()?;
    let mut newest_first = expected.clone();
    newest_first.reverse();
    ensure!(
        bodies(&messages["chunk"]) == newest_first,
        "/messages: expected {newest_first:?}, got {}",
        messages["chunk"]
    );
    ensure!(messages["end"].is_string(), "/messages: more history but no `end`");
    Ok(())
}

/// Ben ignores Anna; Anna's message is then hidden from Ben on every read path — `/sync`,
/// `/messages`, `/context`, `/event` and the unread count — while Carla's is shown.
async fn every_read_path_hides_ignored_messages(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let carla = server.user("carla.wolf", "Carla Wolf").await?;
    let room_id = shared_room(&anna, &ben).await?;
    anna.raw()
        .post(
            &format!("/_matrix/client/v3/rooms/{room_id}/invite"),
            json!({ "user_id": carla.id() }),
        )
        .await?
        .ok()?;
    carla.accept_invite(&room_id).await?;
    ben.wait_for("Carla's join", membership(&room_id, carla.id(), "join"))
        .await?;
    ben.raw()
        .put(
            &format!(
                "/_matrix/client/v3/user/{}/account_data/m.ignored_user_list",
                ben.id()
            ),
            json!({ "ignored_users": { anna.id(): {} } }),
        )
        .await?
        .ok()?;

    let hidden = anna.send_text(&room_id, "Geheim").await?;
    let shown = say(&carla, &ben, &room_id, "Sichtbar").await?;

    let room = sync_room(&ben, &room_id, json!({})).await?;
    let synced = bodies(&room["timeline"]["events"]);
    ensure!(
        synced.contains(&"Sichtbar".to_owned()) && !synced.contains(&"Geheim".to_owned()),
        "/sync: {synced:?}"
    );
    let unread = room["unread_notifications"]["notification_count"]
        .as_u64()
        .context("no notification_count")?;
    ensure!(unread == 1, "/sync counts {unread} unread, expected only Carla's message");

    let messages = ben
        .raw()
        .get_query(
            &format!("/_matrix/client/v3/rooms/{room_id}/messages"),
            &[("dir", "b"), ("limit", "50")],
        )
        .await?
        .ok()?;
    let paged = bodies(&messages["chunk"]);
    ensure!(
        paged.contains(&"Sichtbar".to_owned()) && !paged.contains(&"Geheim".to_owned()),
        "/messages: {paged:?}"
    );

    let context = ben
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/context/{shown}?limit=10"
        ))
        .await?
        .ok()?;
    let before = bodies(&context["events_before"]);
    ensure!(
        !before.contains(&"Geheim".to_owned()),
        "/context events_before: {before:?}"
    );

    ben.raw()
        .get(&format!("/_matrix/client/v3/rooms/{room_id}/event/{hidden}"))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    // Anna herself still sees her message.
    anna.raw()
        .get(&format!("/_matrix/client/v3/rooms/{room_id}/event/{hidden}"))
        .await?
        .ok()?;
    Ok(())
}
