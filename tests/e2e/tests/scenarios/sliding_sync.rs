//! Simplified sliding sync (MSC4186), the sync of Element X, through matrix-sdk's sliding sync
//! with Element X's two connections per device (room list; encryption) and as raw requests
//! where the exact answer matters: the room list by activity, opening a room, messages,
//! typing and receipts, an encrypted room, a restart (`M_UNKNOWN_POS`), a repeated position,
//! a message held by quiet hours, and a room the user is not in.

use std::pin::{pin, Pin};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};

use anyhow::{bail, ensure, Context, Result};
use matrix_sdk::ruma::api::client::receipt::create_receipt::v3::ReceiptType;
use matrix_sdk::ruma::events::receipt::ReceiptThread;
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, RoomId};
use matrix_sdk::sliding_sync::VersionBuilder;
use matrix_sdk::Client;
use matrix_sdk_ui::eyeball_im::Vector;
use matrix_sdk_ui::room_list_service::filters::new_filter_non_left;
use matrix_sdk_ui::room_list_service::RoomListItem;
use matrix_sdk_ui::sync_service::{State, SyncService};
use schulhof_e2e::{
    backend_tests, encrypt, message, read_receipt, say, shared_room, two_users, typing, RawApi,
    TestServer, TestUser, ALL_ROOMS, SLIDING_SYNC_PATH,
};
use serde_json::{json, Value};

use crate::quiet_hours::{chat, school, send, FRIDAY_EVENING, MONDAY_MORNING};

backend_tests!(
    element_x_room_list,
    room_list_by_activity,
    encrypted_room_decrypts,
    restart_and_repeated_positions,
    held_messages_and_foreign_rooms,
);

/// One raw sliding-sync request of connection `conn` from `pos`, waiting up to `timeout_ms`.
async fn sliding(api: &RawApi, pos: Option<&str>, timeout_ms: u64, body: &Value) -> Result<Value> {
    let mut path = format!("{SLIDING_SYNC_PATH}?timeout={timeout_ms}");
    if let Some(pos) = pos {
        path.push_str(&format!("&pos={pos}"));
    }
    api.post(&path, body.clone()).await?.ok()
}

/// A request body: one list of the `size` most recent rooms with `timeline` events each.
fn list_request(size: u32, timeline: u32) -> Value {
    json!({
        "conn_id": "test",
        "lists": { "all": {
            "ranges": [[0, size - 1]],
            "timeline_limit": timeline,
            "required_state": [["m.room.name", ""], ["m.room.member", "$LAZY"], ["m.room.member", "$ME"]],
        }},
        "extensions": { "typing": { "enabled": true }, "receipts": { "enabled": true } },
    })
}

fn pos(response: &Value) -> Result<String> {
    Ok(response["pos"].as_str().context("pos")?.to_owned())
}

/// The bodies of the messages in a room's timeline of a response.
fn bodies(response: &Value, room: &str) -> Vec<String> {
    response["rooms"][room]["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "m.room.message")
        .filter_map(|e| e["content"]["body"].as_str().map(str::to_owned))
        .collect()
}

/// Element X's own code (matrix-sdk-ui): its `SyncService` with the room-list and encryption
/// connections and `RoomListService`'s room list, sorted by recency. A new message moves its
/// room to the top; after a server restart the service, restarted on its error as Element X
/// does, goes on.
async fn element_x_room_list(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let mut rooms = Vec::new();
    for body in ["eins", "zwei", "drei"] {
        let room = shared_room(&anna, &ben).await?;
        say(&ben, &anna, &room, body).await?;
        rooms.push(room);
    }
    let phone = TestUser::login(server, "anna.schmidt").await?;
    let sync_service = SyncService::builder(phone.client.clone()).build().await?;
    sync_service.start().await;
    let room_list_service = sync_service.room_list_service();
    let all_rooms = room_list_service.all_rooms().await?;
    let (entries, controller) = all_rooms.entries_with_dynamic_adapters(50);
    controller.set_filter(Box::new(new_filter_non_left()));
    let mut shown = RoomList {
        sync_service: &sync_service,
        entries: pin!(entries),
        list: Vector::new(),
        restarts: 0,
    };
    let [eins, zwei, drei] = <[OwnedRoomId; 3]>::try_from(rooms).ok().context("rooms")?;
    shown
        .until(&[&drei, &zwei, &eins], "the rooms by activity")
        .await?;
    ben.send_text(&eins, "vier").await?;
    shown
        .until(&[&eins, &drei, &zwei], "the first room on top")
        .await?;
    ensure!(shown.restarts == 0, "the sync service failed");

    server.restart().await?;
    ben.send_text(&zwei, "fünf").await?;
    shown
        .until(&[&zwei, &eins, &drei], "the list after the restart")
        .await?;
    sync_service.stop().await;
    Ok(())
}

/// Element X's room list as the person sees it.
struct RoomList<'a, S> {
    sync_service: &'a SyncService,
    entries: Pin<&'a mut S>,
    list: Vector<RoomListItem>,
    restarts: usize,
}

impl<S> RoomList<'_, S>
where
    S: Stream<Item = Vec<matrix_sdk_ui::eyeball_im::VectorDiff<RoomListItem>>>,
{
    /// Follows the list until it shows exactly `expected`, restarting the sync service after
    /// an error as Element X does.
    async fn until(&mut self, expected: &[&OwnedRoomId], what: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let order: Vec<&RoomId> = self.list.iter().map(|room| room.room_id()).collect();
            if order.len() == expected.len()
                && order
                    .iter()
                    .zip(expected)
                    .all(|(a, b)| a.as_str() == b.as_str())
            {
                return Ok(());
            }
            if matches!(self.sync_service.state().get(), State::Error(_)) {
                self.restarts += 1;
                self.sync_service.start().await;
            }
            let Some(remaining) = deadline.checked_duration_since(Instant::now()) else {
                bail!("Element X's room list never showed {what}: {order:?}");
            };
            let step = remaining.min(Duration::from_millis(500));
            if let Ok(diffs) = tokio::time::timeout(step, self.entries.next()).await {
                for diff in diffs.context("the room list ended")? {
                    diff.apply(&mut self.list);
                }
            }
        }
    }
}

/// Anna is in three rooms with Ben; Ben wrote last in the first, before that in the third.
/// A fresh device of Anna's (discovering sliding sync from `/versions`, as Element X does)
/// lists the two most recently active rooms, opens the third, and sees Ben's messages,
/// typing and read receipt there.
async fn room_list_by_activity(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let mut rooms = Vec::new();
    for _ in 0..3 {
        rooms.push(shared_room(&anna, &ben).await?);
    }
    for (room, body) in [(0, "eins"), (1, "zwei"), (2, "drei"), (0, "vier")] {
        say(&ben, &anna, &rooms[room], body).await?;
    }

    // Element X refuses a server whose /versions does not advertise simplified sliding sync.
    let discovery = Client::builder()
        .homeserver_url(server.url())
        .sliding_sync_version_builder(VersionBuilder::DiscoverNative)
        .build()
        .await;
    ensure!(
        discovery.is_ok(),
        "matrix-sdk does not discover sliding sync: {:?}",
        discovery.err()
    );

    let phone = TestUser::login(server, "anna.schmidt").await?;
    let session = phone.use_sliding_sync(2).await?;
    phone.sync().await?;
    let count = session
        .room_list()
        .on_list(ALL_ROOMS, |list| {
            let count = list.maximum_number_of_rooms();
            async move { count }
        })
        .await
        .flatten();
    ensure!(count == Some(3), "the room list counts {count:?} rooms");
    let listed = |room: &RoomId| phone.client.get_room(room).is_some();
    ensure!(
        listed(&rooms[0]) && listed(&rooms[2]) && !listed(&rooms[1]),
        "the two most recently active rooms are not the ones listed"
    );
    let stamp = |room: &RoomId| -> Result<u64> {
        let stamp = phone.room(room)?.recency_stamp().context("no bump_stamp")?;
        Ok(stamp.into())
    };
    ensure!(
        stamp(&rooms[0])? > stamp(&rooms[2])?,
        "bump stamps do not follow the last messages"
    );
    phone
        .wait_for("Ben's last message", message(&rooms[0], ben.id(), "vier"))
        .await?;

    // Opening the room further down the list: its timeline arrives.
    session.open(&rooms[1]);
    phone
        .wait_for(
            "the opened room's message",
            message(&rooms[1], ben.id(), "zwei"),
        )
        .await?;
    let sent = ben.send_text(&rooms[1], "fünf").await?;
    phone
        .wait_for("a new message", message(&rooms[1], ben.id(), "fünf"))
        .await?;
    let bens_room = ben.room(&rooms[1])?;
    bens_room.typing_notice(true).await?;
    phone
        .wait_for("Ben typing", typing(&rooms[1], ben.id()))
        .await?;
    bens_room
        .send_single_receipt(ReceiptType::Read, ReceiptThread::Unthreaded, sent.clone())
        .await?;
    phone
        .wait_for(
            "Ben's read receipt",
            read_receipt(&rooms[1], sent.as_str(), ben.id()),
        )
        .await?;

    // The room list as the server sends it: "fünf" moved the opened room to the top.
    let first = sliding(&phone.raw(), None, 0, &list_request(10, 5)).await?;
    ensure!(first["lists"]["all"]["count"] == 3, "lists: {first}");
    let room = &first["rooms"][rooms[0].as_str()];
    ensure!(
        room["initial"] == true
            && room["name"] == "Klasse 7b"
            && room["joined_count"] == 2
            && room["notification_count"] == 2
            && bodies(&first, rooms[0].as_str()) == ["eins", "vier"],
        "first room: {room}"
    );
    let bump = |room: &RoomId| first["rooms"][room.as_str()]["bump_stamp"].as_u64();
    ensure!(
        bump(&rooms[1]) > bump(&rooms[0]) && bump(&rooms[0]) > bump(&rooms[2]),
        "bump stamps: {first}"
    );
    Ok(())
}

/// Anna and Ben sync with sliding sync only; Anna writes in an encrypted room and Ben's
/// client decrypts it.
async fn encrypted_room_decrypts(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    for user in [&anna, &ben] {
        user.use_sliding_sync(20).await?;
        user.client
            .encryption()
            .wait_for_e2ee_initialization_tasks()
            .await;
        user.sync().await?;
    }
    let room_id = shared_room(&anna, &ben).await?;
    encrypt(&room_id, &anna, &ben).await?;
    let event_id = anna.send_text(&room_id, "geheim").await?;
    let seen = ben
        .wait_for("Anna's message", |item| {
            item.room_id == room_id && item.event_id() == event_id.as_str()
        })
        .await?;
    if seen.event_type() == "m.room.message" {
        ensure!(seen.content()["body"] == "geheim", "decrypted as {seen:?}");
        return Ok(());
    }
    // The room key came after the message: decrypt as Element X's timeline does when it
    // arrives.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        ben.sync().await?;
        let raw: Raw<OriginalSyncRoomEncryptedEvent> = serde_json::from_value(seen.event.clone())?;
        if let Ok(event) = ben.room(&room_id)?.decrypt_event(&raw, None).await {
            let json: Value = serde_json::from_str(event.raw().json().get())?;
            ensure!(json["content"]["body"] == "geheim", "decrypted as {json}");
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("Ben's client never decrypted Anna's message");
        }
    }
}

/// After a restart the server no longer knows the connections: the client gets
/// `M_UNKNOWN_POS`, starts over and receives the next message. A client that dropped a
/// long-poll and sends the same position again gets the same news again.
async fn restart_and_repeated_positions(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;
    let session = anna.use_sliding_sync(10).await?;
    say(&ben, &anna, &room_id, "vor dem Neustart").await?;

    server.restart().await?;
    say(&ben, &anna, &room_id, "nach dem Neustart").await?;
    ensure!(
        session.unknown_positions() >= 1,
        "the client was not told its position is unknown"
    );

    let raw = anna.raw();
    // Element X reads account data it never set: that is a 404, not an empty object.
    raw.get(&format!(
        "/_matrix/client/v3/user/{}/account_data/im.vector.setting.breadcrumbs",
        anna.id()
    ))
    .await?
    .expect_error(&[404], &["M_NOT_FOUND"])?;
    let request = list_request(10, 5);
    let unknown = raw
        .post(
            &format!("{SLIDING_SYNC_PATH}?pos=abc_1&timeout=0"),
            request.clone(),
        )
        .await?;
    unknown.expect_error(&[400], &["M_UNKNOWN_POS"])?;

    let first = sliding(&raw, None, 0, &request).await?;
    let start = pos(&first)?;
    let quiet = sliding(&raw, Some(&start), 0, &request).await?;
    ensure!(
        quiet["rooms"].as_object().is_none_or(|r| r.is_empty()),
        "news without a change: {quiet}"
    );
    let before = pos(&quiet)?;
    let room = room_id.as_str();
    ben.send_text(&room_id, "wiederholt").await?;
    let news = sliding(&raw, Some(&before), 5_000, &request).await?;
    ensure!(bodies(&news, room) == ["wiederholt"], "news: {news}");
    // The client never saw that answer and asks from the same position again.
    let again = sliding(&raw, Some(&before), 5_000, &request).await?;
    ensure!(bodies(&again, room) == ["wiederholt"], "repeated: {again}");
    let after = sliding(&raw, Some(&pos(&again)?), 0, &request).await?;
    ensure!(bodies(&after, room).is_empty(), "delivered twice: {after}");
    Ok(())
}

/// A student's message to a teacher in quiet hours reaches her sliding sync neither as an
/// event nor as a count nor as a move up the list before Monday; then it does. A student
/// subscribing to a room he is not in sees nothing of it.
async fn held_messages_and_foreign_rooms(server: &TestServer) -> Result<()> {
    let apis = school(server, &["anna.schmidt", "ben.mueller", "zoe.yilmaz"]).await?;
    let [anna, ben, zoe] = <[RawApi; 3]>::try_from(apis).ok().context("logins")?;
    server.set_clock(FRIDAY_EVENING).await?;
    let room = chat(&ben, &anna).await?;
    let request = list_request(10, 10);
    let first = sliding(&anna, None, 0, &request).await?;
    let bump = first["rooms"][&room]["bump_stamp"]
        .as_u64()
        .context("bump_stamp")?;
    let mut at = pos(&first)?;

    send(&ben, &room, "Hausaufgabe?").await?;
    let friday = sliding(&anna, Some(&at), 1_000, &request).await?;
    let shown = &friday["rooms"][&room];
    ensure!(
        bodies(&friday, &room).is_empty()
            && shown["notification_count"].as_u64().unwrap_or(0) == 0
            && shown["bump_stamp"].as_u64().is_none_or(|b| b == bump),
        "Anna saw the held message on Friday: {friday}"
    );
    at = pos(&friday)?;

    server.set_clock(MONDAY_MORNING).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let monday = loop {
        let response = sliding(&anna, Some(&at), 2_000, &request).await?;
        at = pos(&response)?;
        if !bodies(&response, &room).is_empty() {
            break response;
        }
        ensure!(Instant::now() < deadline, "not delivered on Monday");
    };
    let shown = &monday["rooms"][&room];
    ensure!(
        bodies(&monday, &room) == ["Hausaufgabe?"]
            && shown["notification_count"] == 1
            && shown["bump_stamp"].as_u64().is_some_and(|b| b > bump),
        "Monday: {monday}"
    );

    // Zoë is not in Ben's chat with Anna.
    let mut spying = list_request(10, 10);
    spying["room_subscriptions"] = json!({ room.clone(): { "timeline_limit": 10 } });
    let seen = sliding(&zoe, None, 0, &spying).await?;
    ensure!(
        seen["rooms"].get(&room).is_none(),
        "Zoë sees the chat: {seen}"
    );
    Ok(())
}
