//! The one room reader: a filter is applied before the limit, every read path hides what the
//! reader hides (here: messages of a user someone ignores), and `/relations` finds threads,
//! edits and reactions, and the unread counts follow each member's push rules.

use anyhow::{ensure, Context, Result};
use matrix_sdk::ruma::RoomId;
use schulhof_e2e::{backend_tests, membership, say, shared_room, two_users, TestServer, TestUser};
use serde_json::{json, Value};

backend_tests!(
    filter_before_limit,
    every_read_path_hides_ignored_messages,
    relations_of_threads_edits_and_reactions,
    unread_counts_follow_each_members_push_rules,
);

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
    ensure!(
        messages["end"].is_string(),
        "/messages: more history but no `end`"
    );
    Ok(())
}

/// Ben ignores Anna; Anna's message is then hidden from Ben on every read path — `/sync`,
/// `/messages`, `/context`, `/event` and the unread count — while Carla's is shown.
async fn every_read_path_hides_ignored_messages(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let carla = server.user("carla.wolf", "Carla Wolf").await?;
    let room_id = shared_room(&anna, &ben).await?;
    add_member(&anna, &carla, &ben, &room_id).await?;
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
    ensure!(
        unread == 1,
        "/sync counts {unread} unread, expected only Carla's message"
    );

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
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/event/{hidden}"
        ))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;

    let reaction = send_event(&anna, &room_id, "m.reaction", reaction_to(shown.as_str())).await?;
    ensure!(
        relations(&anna, &room_id, shown.as_str(), "").await?["chunk"][0]["event_id"] == reaction
    );
    let related = relations(&ben, &room_id, shown.as_str(), "").await?;
    ensure!(related["chunk"] == json!([]), "/relations: {related}");
    // Anna herself still sees her message.
    anna.raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/event/{hidden}"
        ))
        .await?
        .ok()?;
    Ok(())
}

/// Sends an event of `kind` with `content`; returns its ID.
async fn send_event(
    user: &TestUser,
    room_id: &RoomId,
    kind: &str,
    content: Value,
) -> Result<String> {
    let txn = format!("rel-{}", rand_suffix());
    let sent = user
        .raw()
        .put(
            &format!("/_matrix/client/v3/rooms/{room_id}/send/{kind}/{txn}"),
            content,
        )
        .await?
        .ok()?;
    Ok(sent["event_id"].as_str().context("event_id")?.to_owned())
}

/// A transaction ID suffix unique within the test process.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A 👍 reaction to `event_id`.
fn reaction_to(event_id: &str) -> Value {
    json!({ "m.relates_to": { "rel_type": "m.annotation", "event_id": event_id, "key": "👍" } })
}

/// A text message answering in the thread of `root`, as Element sends it.
fn thread_answer(root: &str, body: &str) -> Value {
    json!({
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": true,
            "m.in_reply_to": { "event_id": root },
        },
    })
}

/// `GET /v1/rooms/{room_id}/threads{query}`, answered with 200.
async fn thread_list(user: &TestUser, room_id: &RoomId, query: &str) -> Result<Value> {
    user.raw()
        .get(&format!(
            "/_matrix/client/v1/rooms/{room_id}/threads{query}"
        ))
        .await?
        .ok()
}

/// A text message that replaces (edits) `event_id`.
fn edit_of(event_id: &str, body: &str) -> Value {
    json!({
        "msgtype": "m.text",
        "body": format!("* {body}"),
        "m.new_content": { "msgtype": "m.text", "body": body },
        "m.relates_to": { "rel_type": "m.replace", "event_id": event_id },
    })
}

/// `GET /v1/rooms/{room_id}/relations/{event_id}{suffix}` (suffix: `/relType[/eventType]` and a
/// query), answered with 200.
async fn relations(
    user: &TestUser,
    room_id: &RoomId,
    event_id: &str,
    suffix: &str,
) -> Result<Value> {
    user.raw()
        .get(&format!(
            "/_matrix/client/v1/rooms/{room_id}/relations/{event_id}{suffix}"
        ))
        .await?
        .ok()
}

/// The event IDs of a `/relations` chunk.
fn ids(page: &Value) -> Vec<&str> {
    page["chunk"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["event_id"].as_str())
        .collect()
}

/// Anna asks a question; Ben answers in a thread and reacts, Anna edits the question and Ben
/// his answer. `/relations` lists them newest first, filtered by relation and event type,
/// page by page in both directions, with `recurse` also the edit of the answer; `/threads`
/// lists the threads with their summaries; a redacted reaction is gone; someone outside the
/// room and an unknown event get errors.
async fn relations_of_threads_edits_and_reactions(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;
    let root = anna
        .send_text(&room_id, "Wer kommt mit ins Museum?")
        .await?;
    let root = root.as_str();
    let answer = send_event(&ben, &room_id, "m.room.message", thread_answer(root, "Ich")).await?;
    let like = send_event(&ben, &room_id, "m.reaction", reaction_to(root)).await?;
    let edit = send_event(
        &anna,
        &room_id,
        "m.room.message",
        edit_of(root, "Wer kommt mit ins Museum am Freitag?"),
    )
    .await?;
    let answer_edit = send_event(
        &ben,
        &room_id,
        "m.room.message",
        edit_of(&answer, "Ich auch"),
    )
    .await?;
    // A plain reply is no relation for `/relations`.
    send_event(
        &anna,
        &room_id,
        "m.room.message",
        json!({ "msgtype": "m.text", "body": "Schön", "m.relates_to": { "m.in_reply_to": { "event_id": root } } }),
    )
    .await?;

    let all = relations(&ben, &room_id, root, "").await?;
    ensure!(
        ids(&all) == [edit.as_str(), like.as_str(), answer.as_str()],
        "/relations: {all}"
    );
    ensure!(
        all.get("next_batch").is_none() && all.get("recursion_depth").is_none(),
        "{all}"
    );
    let threads = relations(&ben, &room_id, root, "/m.thread").await?;
    ensure!(ids(&threads) == [answer.as_str()], "m.thread: {threads}");
    let reactions = relations(&anna, &room_id, root, "/m.annotation/m.reaction").await?;
    ensure!(
        ids(&reactions) == [like.as_str()],
        "m.annotation: {reactions}"
    );
    ensure!(reactions["chunk"][0]["content"]["m.relates_to"]["key"] == "👍");
    let no_messages = relations(&anna, &room_id, root, "/m.annotation/m.room.message").await?;
    ensure!(ids(&no_messages).is_empty(), "{no_messages}");

    // Page by page, newest first, then oldest first.
    let first = relations(&ben, &room_id, root, "?limit=2").await?;
    ensure!(
        ids(&first) == [edit.as_str(), like.as_str()],
        "first page: {first}"
    );
    let next = first["next_batch"].as_str().context("next_batch")?;
    let second = relations(&ben, &room_id, root, &format!("?limit=2&from={next}")).await?;
    ensure!(ids(&second) == [answer.as_str()], "second page: {second}");
    ensure!(second.get("next_batch").is_none(), "{second}");
    let forward = relations(&ben, &room_id, root, "?dir=f&limit=2").await?;
    ensure!(
        ids(&forward) == [answer.as_str(), like.as_str()],
        "forward: {forward}"
    );

    // `/threads` lists the question with its summary; a newer thread comes first.
    let listed = thread_list(&anna, &room_id, "").await?;
    ensure!(ids(&listed) == [root], "/threads: {listed}");
    let summary = &listed["chunk"][0]["unsigned"]["m.relations"]["m.thread"];
    ensure!(
        summary["latest_event"]["event_id"] == answer.as_str()
            && summary["count"] == 1
            && summary["current_user_participated"] == true,
        "thread summary: {summary}"
    );
    let second = anna.send_text(&room_id, "Und wer kommt ins Kino?").await?;
    let second = second.as_str();
    send_event(
        &ben,
        &room_id,
        "m.room.message",
        thread_answer(second, "Ich nicht"),
    )
    .await?;
    let both = thread_list(&ben, &room_id, "").await?;
    ensure!(ids(&both) == [second, root], "two threads: {both}");
    let newest = thread_list(&ben, &room_id, "?limit=1").await?;
    ensure!(ids(&newest) == [second], "limit 1: {newest}");
    let next = newest["next_batch"].as_str().context("next_batch")?;
    let older = thread_list(&ben, &room_id, &format!("?limit=1&from={next}")).await?;
    ensure!(
        ids(&older) == [root] && older.get("next_batch").is_none(),
        "{older}"
    );

    // With recurse, the edit of the answer (relating to the answer) comes too.
    let deep = relations(&ben, &room_id, root, "?recurse=true").await?;
    ensure!(
        ids(&deep)
            == [
                answer_edit.as_str(),
                edit.as_str(),
                like.as_str(),
                answer.as_str()
            ],
        "recurse: {deep}"
    );
    ensure!(
        deep["recursion_depth"].as_u64().is_some_and(|d| d >= 3),
        "{deep}"
    );

    // A redacted reaction has no relation any more.
    ben.raw()
        .put(
            &format!("/_matrix/client/v3/rooms/{room_id}/redact/{like}/weg"),
            json!({}),
        )
        .await?
        .ok()?;
    let reactions = relations(&anna, &room_id, root, "/m.annotation").await?;
    ensure!(
        ids(&reactions).is_empty(),
        "after the redaction: {reactions}"
    );

    let outsider = server.user("carla.wolf", "Carla Wolf").await?;
    outsider
        .raw()
        .get(&format!(
            "/_matrix/client/v1/rooms/{room_id}/relations/{root}"
        ))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    anna.raw()
        .get(&format!(
            "/_matrix/client/v1/rooms/{room_id}/relations/$unbekannt"
        ))
        .await?
        .expect_error(&[404], &["M_NOT_FOUND"])?;
    Ok(())
}

/// `(notification_count, highlight_count)` of `user` in `room_id`, from an initial `/sync`.
async fn unread_counts(user: &TestUser, room_id: &RoomId) -> Result<(u64, u64)> {
    let room = sync_room(user, room_id, json!({})).await?;
    let count = |name: &str| {
        room["unread_notifications"][name]
            .as_u64()
            .with_context(|| format!("no {name} for {}", user.id()))
    };
    Ok((count("notification_count")?, count("highlight_count")?))
}

/// Invites `guest` to `room_id` and waits until `witness` sees the join.
async fn add_member(
    owner: &TestUser,
    guest: &TestUser,
    witness: &TestUser,
    room_id: &RoomId,
) -> Result<()> {
    owner
        .raw()
        .post(
            &format!("/_matrix/client/v3/rooms/{room_id}/invite"),
            json!({ "user_id": guest.id() }),
        )
        .await?
        .ok()?;
    guest.accept_invite(room_id).await?;
    witness
        .wait_for("the join", membership(room_id, guest.id(), "join"))
        .await?;
    Ok(())
}

/// In a room of four, a plain message notifies everyone but its sender, a mention highlights
/// for the one mentioned, a member who muted the room is not notified, a member who joins
/// later counts only what came after their join, and a new display name keeps the count.
async fn unread_counts_follow_each_members_push_rules(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let carla = server.user("carla.wolf", "Carla Wolf").await?;
    let dora = server.user("dora.klein", "Dora Klein").await?;
    let room_id = shared_room(&anna, &ben).await?;
    add_member(&anna, &carla, &ben, &room_id).await?;
    carla
        .raw()
        .put(
            &format!("/_matrix/client/v3/pushrules/global/room/{room_id}"),
            json!({ "actions": [] }),
        )
        .await?
        .ok()?;

    say(&anna, &ben, &room_id, "Hallo zusammen").await?;
    let mention = json!({
        "msgtype": "m.text",
        "body": "Ben, bitte melden",
        "m.mentions": { "user_ids": [ben.id()] },
    });
    send_event(&anna, &room_id, "m.room.message", mention).await?;
    say(&anna, &carla, &room_id, "Noch etwas").await?;
    ensure!(unread_counts(&ben, &room_id).await? == (3, 1), "Ben");
    ensure!(
        unread_counts(&carla, &room_id).await? == (0, 0),
        "Carla muted the room"
    );
    ensure!(
        unread_counts(&anna, &room_id).await? == (0, 0),
        "Anna sent them"
    );

    add_member(&anna, &dora, &ben, &room_id).await?;
    ensure!(
        unread_counts(&dora, &room_id).await? == (0, 0),
        "Dora joined later"
    );
    ben.raw()
        .put(
            &format!("/_matrix/client/v3/profile/{}/displayname", ben.id()),
            json!({ "displayname": "Ben M." }),
        )
        .await?
        .ok()?;
    say(&anna, &dora, &room_id, "Willkommen, Dora").await?;
    ensure!(unread_counts(&dora, &room_id).await? == (1, 0), "Dora");
    ensure!(
        unread_counts(&ben, &room_id).await? == (4, 1),
        "Ben's new name keeps his count"
    );
    Ok(())
}
