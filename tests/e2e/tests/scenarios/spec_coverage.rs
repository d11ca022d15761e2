//! Spec coverage: endpoints the client scenarios do not reach, called with raw HTTP through
//! the validating proxy, so their responses are checked against the OpenAPI definitions
//! (the harness fails the test on any violation) and their content asserted here.

use anyhow::{ensure, Result};
use schulhof_e2e::{backend_tests, TestServer, SERVER_NAME};
use serde_json::{json, Value};

backend_tests!(room_and_account_endpoints);

/// Rooms, state, aliases, directory, context, members, account data, tags, filters, push
/// rules, profile, presence, devices, capabilities, discovery: each answers as the spec says.
async fn room_and_account_endpoints(server: &TestServer) -> Result<()> {
    let anna = server.user("anna.schmidt", "Anna Schmidt").await?;
    let ben = server.user("ben.mueller", "Ben Müller").await?;
    let (a, b) = (anna.raw(), ben.raw());
    let raw = server.raw();

    ensure!(
        raw.get("/.well-known/matrix/client").await?.ok()?["m.homeserver"]["base_url"].is_string()
    );
    let versions = raw.get("/_matrix/client/versions").await?.ok()?;
    ensure!(
        versions["unstable_features"]["org.matrix.e2e_cross_signing"] == true,
        "{versions}"
    );
    a.get("/_matrix/client/v3/capabilities").await?.ok()?;

    let room = a
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "name": "Klasse 8.1", "topic": "Mathe", "room_alias_name": "klasse81",
                    "visibility": "public", "preset": "public_chat" }),
        )
        .await?
        .ok()?;
    let room_id = room["room_id"].as_str().unwrap_or_default().to_owned();
    let alias = format!("#klasse81:{SERVER_NAME}");
    // A taken alias refuses the new room; of two creations racing for one alias exactly one
    // gets its room, and the other creates nothing.
    let rooms_before = a.get("/_matrix/client/v3/joined_rooms").await?.ok()?["joined_rooms"]
        .as_array()
        .map_or(0, Vec::len);
    a.post(
        "/_matrix/client/v3/createRoom",
        json!({ "room_alias_name": "klasse81" }),
    )
    .await?
    .expect_error(&[400], &["M_ROOM_IN_USE"])?;
    let racing = json!({ "name": "Klasse 8.2", "room_alias_name": "klasse82" });
    let (first, second) = tokio::join!(
        a.post("/_matrix/client/v3/createRoom", racing.clone()),
        a.post("/_matrix/client/v3/createRoom", racing.clone()),
    );
    let (first, second) = (first?, second?);
    let (won, lost) = if first.status == 200 {
        (first, second)
    } else {
        (second, first)
    };
    lost.expect_error(&[400], &["M_ROOM_IN_USE"])?;
    let won = won.ok()?;
    let rooms_after = a.get("/_matrix/client/v3/joined_rooms").await?.ok()?["joined_rooms"]
        .as_array()
        .map_or(0, Vec::len);
    ensure!(
        rooms_after == rooms_before + 1,
        "one room for the raced alias: {rooms_before} rooms before, {rooms_after} after"
    );
    let raced = a
        .get(&format!(
            "/_matrix/client/v3/directory/room/%23klasse82:{SERVER_NAME}"
        ))
        .await?
        .ok()?;
    ensure!(raced["room_id"] == won["room_id"], "{raced} vs {won}");
    // Only someone who could join the room (or sees it) learns where the alias points.
    let resolved = b
        .get(&format!(
            "/_matrix/client/v3/directory/room/{}",
            alias.replace('#', "%23")
        ))
        .await?
        .ok()?;
    ensure!(resolved["room_id"] == room_id.as_str(), "{resolved}");
    b.post(
        &format!("/_matrix/client/v3/join/{}", alias.replace('#', "%23")),
        json!({}),
    )
    .await?
    .ok()?;

    let public = b
        .post(
            "/_matrix/client/v3/publicRooms",
            json!({ "filter": { "generic_search_term": "klasse" } }),
        )
        .await?
        .ok()?;
    ensure!(
        public["chunk"][0]["room_id"] == room_id.as_str(),
        "{public}"
    );
    ensure!(public["chunk"][0]["num_joined_members"] == 2, "{public}");
    raw.get("/_matrix/client/v3/publicRooms").await?.ok()?;
    let visibility = a
        .get(&format!("/_matrix/client/v3/directory/list/room/{room_id}"))
        .await?
        .ok()?;
    ensure!(visibility["visibility"] == "public", "{visibility}");

    let sent = a
        .put(
            &format!("/_matrix/client/v3/rooms/{room_id}/send/m.room.message/t1"),
            json!({ "msgtype": "m.text", "body": "Hallo" }),
        )
        .await?
        .ok()?;
    let event_id = sent["event_id"].as_str().unwrap_or_default().to_owned();
    let topic = b
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/state/m.room.topic/"
        ))
        .await?
        .ok()?;
    ensure!(topic["topic"] == "Mathe", "{topic}");
    let state: Value = b
        .get(&format!("/_matrix/client/v3/rooms/{room_id}/state"))
        .await?
        .ok()?;
    ensure!(
        state
            .as_array()
            .is_some_and(|s| s.iter().any(|e| e["type"] == "m.room.create")),
        "{state}"
    );
    let context = b
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/context/{event_id}?limit=4"
        ))
        .await?
        .ok()?;
    ensure!(context["event"]["content"]["body"] == "Hallo", "{context}");
    let event = b
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/event/{event_id}"
        ))
        .await?
        .ok()?;
    ensure!(event["sender"] == anna.id(), "{event}");
    let members = b
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/members?membership=join"
        ))
        .await?
        .ok()?;
    ensure!(
        members["chunk"].as_array().map(Vec::len) == Some(2),
        "{members}"
    );
    let joined = b
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/joined_members"
        ))
        .await?
        .ok()?;
    ensure!(
        joined["joined"][anna.id()]["display_name"] == "Anna Schmidt",
        "{joined}"
    );
    let aliases = b
        .get(&format!("/_matrix/client/v3/rooms/{room_id}/aliases"))
        .await?
        .ok()?;
    ensure!(aliases["aliases"][0] == alias.as_str(), "{aliases}");
    a.put(
        &format!("/_matrix/client/v3/rooms/{room_id}/redact/{event_id}/r1"),
        json!({ "reason": "Tippfehler" }),
    )
    .await?
    .ok()?;
    let redacted = b
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/event/{event_id}"
        ))
        .await?
        .ok()?;
    ensure!(
        redacted["content"] == json!({}),
        "redacted content must be empty: {redacted}"
    );

    let me = anna.id();
    a.put(
        &format!("/_matrix/client/v3/user/{me}/account_data/de.schulhof.test"),
        json!({ "a": 1 }),
    )
    .await?
    .ok()?;
    ensure!(
        a.get(&format!(
            "/_matrix/client/v3/user/{me}/account_data/de.schulhof.test"
        ))
        .await?
        .ok()?["a"]
            == 1
    );
    a.put(
        &format!("/_matrix/client/v3/user/{me}/rooms/{room_id}/tags/m.favourite"),
        json!({ "order": 0.5 }),
    )
    .await?
    .ok()?;
    let tags = a
        .get(&format!(
            "/_matrix/client/v3/user/{me}/rooms/{room_id}/tags"
        ))
        .await?
        .ok()?;
    ensure!(tags["tags"]["m.favourite"]["order"] == 0.5, "{tags}");
    let filter = a
        .post(
            &format!("/_matrix/client/v3/user/{me}/filter"),
            json!({ "room": { "timeline": { "limit": 5 } } }),
        )
        .await?
        .ok()?;
    let filter_id = filter["filter_id"].as_str().unwrap_or_default().to_owned();
    a.get(&format!("/_matrix/client/v3/user/{me}/filter/{filter_id}"))
        .await?
        .ok()?;
    let rules = a.get("/_matrix/client/v3/pushrules/").await?.ok()?;
    ensure!(
        rules["global"]["override"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{rules}"
    );
    a.put(
        "/_matrix/client/v3/pushrules/global/content/schule",
        json!({ "pattern": "schule", "actions": ["notify"] }),
    )
    .await?
    .ok()?;
    a.get("/_matrix/client/v3/pushrules/global/content/schule")
        .await?
        .ok()?;
    let profile = b
        .get(&format!("/_matrix/client/v3/profile/{me}"))
        .await?
        .ok()?;
    ensure!(profile["displayname"] == "Anna Schmidt", "{profile}");
    a.put(
        &format!("/_matrix/client/v3/presence/{me}/status"),
        json!({ "presence": "online" }),
    )
    .await?
    .ok()?;
    ensure!(
        b.get(&format!("/_matrix/client/v3/presence/{me}/status"))
            .await?
            .ok()?["presence"]
            == "online"
    );
    let found = b
        .post(
            "/_matrix/client/v3/user_directory/search",
            json!({ "search_term": "anna" }),
        )
        .await?
        .ok()?;
    ensure!(found["results"][0]["user_id"] == me, "{found}");
    let devices = a.get("/_matrix/client/v3/devices").await?.ok()?;
    ensure!(
        devices["devices"].as_array().map(Vec::len) == Some(1),
        "{devices}"
    );
    a.get("/_matrix/client/v3/joined_rooms").await?.ok()?;
    a.get("/_matrix/client/v3/pushers").await?.ok()?;
    a.get("/_matrix/client/v3/voip/turnServer").await?.ok()?;
    a.get("/_matrix/client/v3/thirdparty/protocols")
        .await?
        .ok()?;
    a.get("/_matrix/client/v1/media/config").await?.ok()?;
    a.get("/_matrix/client/v3/room_keys/version")
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    b.post(
        &format!("/_matrix/client/v3/rooms/{room_id}/leave"),
        json!({}),
    )
    .await?
    .ok()?;
    b.post(
        &format!("/_matrix/client/v3/rooms/{room_id}/forget"),
        json!({}),
    )
    .await?
    .ok()?;
    Ok(())
}

backend_tests!(room_version_11);

/// A room of version 11 (no `creator` in the create event, `redacts` inside the redaction's
/// content) works like version 10; unknown versions are refused.
async fn room_version_11(server: &TestServer) -> Result<()> {
    let anna = server.user("anna.schmidt", "Anna Schmidt").await?;
    let a = anna.raw();
    a.post(
        "/_matrix/client/v3/createRoom",
        json!({ "room_version": "4" }),
    )
    .await?
    .expect_error(&[400], &["M_UNSUPPORTED_ROOM_VERSION"])?;
    let room = a
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "room_version": "11" }),
        )
        .await?
        .ok()?;
    let room_id = room["room_id"].as_str().unwrap_or_default().to_owned();
    let create = a
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/state/m.room.create/"
        ))
        .await?
        .ok()?;
    ensure!(
        create["room_version"] == "11" && create.get("creator").is_none(),
        "{create}"
    );
    let sent = a
        .put(
            &format!("/_matrix/client/v3/rooms/{room_id}/send/m.room.message/v11"),
            json!({ "msgtype": "m.text", "body": "Version 11" }),
        )
        .await?
        .ok()?;
    let event_id = sent["event_id"].as_str().unwrap_or_default().to_owned();
    let redaction = a
        .put(
            &format!("/_matrix/client/v3/rooms/{room_id}/redact/{event_id}/x"),
            json!({}),
        )
        .await?
        .ok()?;
    let redaction_id = redaction["event_id"].as_str().unwrap_or_default();
    let stored = a
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/event/{redaction_id}"
        ))
        .await?
        .ok()?;
    ensure!(
        stored["content"]["redacts"] == event_id.as_str(),
        "{stored}"
    );
    let original = a
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/event/{event_id}"
        ))
        .await?
        .ok()?;
    ensure!(original["content"] == json!({}), "{original}");
    Ok(())
}

backend_tests!(kick_ban_unban);

/// The room's moderator kicks, bans and unbans a member; the member sees each change and a
/// banned member cannot rejoin until unbanned. A member without power cannot kick.
async fn kick_ban_unban(server: &TestServer) -> Result<()> {
    let anna = server.user("anna.schmidt", "Anna Schmidt").await?;
    let ben = server.user("ben.mueller", "Ben Müller").await?;
    let (a, b) = (anna.raw(), ben.raw());
    let room = a
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "preset": "public_chat" }),
        )
        .await?
        .ok()?;
    let room_id = room["room_id"].as_str().unwrap_or_default().to_owned();
    let join = format!("/_matrix/client/v3/rooms/{room_id}/join");
    let membership =
        |who: &str| format!("/_matrix/client/v3/rooms/{room_id}/state/m.room.member/{who}");
    let target = json!({ "user_id": ben.id(), "reason": "Test" });

    b.post(&join, json!({})).await?.ok()?;
    b.post(
        &format!("/_matrix/client/v3/rooms/{room_id}/kick"),
        json!({ "user_id": anna.id() }),
    )
    .await?
    .expect_error(&[403], &["M_FORBIDDEN"])?;
    a.post(
        &format!("/_matrix/client/v3/rooms/{room_id}/kick"),
        target.clone(),
    )
    .await?
    .ok()?;
    ensure!(a.get(&membership(ben.id())).await?.ok()?["membership"] == "leave");

    b.post(&join, json!({})).await?.ok()?;
    a.post(
        &format!("/_matrix/client/v3/rooms/{room_id}/ban"),
        target.clone(),
    )
    .await?
    .ok()?;
    ensure!(a.get(&membership(ben.id())).await?.ok()?["membership"] == "ban");
    b.post(&join, json!({}))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;

    a.post(&format!("/_matrix/client/v3/rooms/{room_id}/unban"), target)
        .await?
        .ok()?;
    ensure!(a.get(&membership(ben.id())).await?.ok()?["membership"] == "leave");
    b.post(&join, json!({})).await?.ok()?;
    ensure!(a.get(&membership(ben.id())).await?.ok()?["membership"] == "join");
    Ok(())
}
