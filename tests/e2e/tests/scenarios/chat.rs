//! Rooms and messages between two users.

use anyhow::{ensure, Context, Result};
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::api::client::receipt::create_receipt::v3::ReceiptType;
use matrix_sdk::ruma::events::receipt::ReceiptThread;
use matrix_sdk::ruma::UInt;
use matrix_sdk::RoomState;
use schulhof_e2e::{
    backend_tests, direct_invite, left, membership, read_receipt, say, shared_room, text_bodies,
    two_users, typing, TestServer,
};

backend_tests!(
    room_chat,
    direct_message,
    history_pagination,
    display_names,
    leave
);

/// Invite, join, messages both ways, typing and read receipts.
async fn room_chat(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;

    let greeting = say(&anna, &ben, &room_id, "Guten Morgen, Ben!").await?;
    say(&ben, &anna, &room_id, "Guten Morgen, Frau Schmidt!").await?;

    let bens_room = ben.room(&room_id)?;
    bens_room.typing_notice(true).await?;
    anna.wait_for("Ben typing", typing(&room_id, ben.id()))
        .await?;

    bens_room
        .send_single_receipt(
            ReceiptType::Read,
            ReceiptThread::Unthreaded,
            greeting.clone(),
        )
        .await?;
    anna.wait_for(
        "Ben's read receipt",
        read_receipt(&room_id, greeting.as_str(), ben.id()),
    )
    .await?;
    Ok(())
}

/// A direct chat: the invite is marked as direct, both write, the creator sees a DM.
async fn direct_message(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = anna.create_room(&[&ben], true).await?;

    ben.wait_for(
        "the invite marked is_direct",
        direct_invite(&room_id, ben.id()),
    )
    .await?;
    ben.client.join_room_by_id(&room_id).await?;
    anna.wait_for("Ben's join", membership(&room_id, ben.id(), "join"))
        .await?;

    say(&anna, &ben, &room_id, "Hast du die Hausaufgaben?").await?;
    say(&ben, &anna, &room_id, "Ja, schicke ich gleich.").await?;
    ensure!(
        anna.room(&room_id)?.is_direct().await?,
        "Anna's client does not list the room as a direct chat (m.direct)"
    );
    Ok(())
}

/// 60 messages, read back with /messages in pages of 20 in both directions.
async fn history_pagination(server: &TestServer) -> Result<()> {
    const COUNT: usize = 60;
    const PAGE: usize = 20;
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;
    let expected: Vec<String> = (1..=COUNT).map(|i| format!("Nachricht {i}")).collect();
    for body in &expected {
        anna.send_text(&room_id, body).await?;
    }

    let room = ben.room(&room_id)?;
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut tokens = Vec::new();
    let mut from = None;
    loop {
        let options = page_of(PAGE, MessagesOptions::backward().from(from.as_deref()));
        let page = room.messages(options).await?;
        pages.push(text_bodies(&page.chunk));
        tokens.push(page.end.clone());
        if page.chunk.is_empty() || page.end.is_none() {
            break;
        }
        ensure!(pages.len() <= COUNT, "backward pagination does not end");
        from = page.end;
    }

    let newest_first: Vec<String> = expected.iter().rev().cloned().collect();
    for (i, chunk) in newest_first.chunks(PAGE).enumerate() {
        ensure!(
            pages.get(i).map(Vec::as_slice) == Some(chunk),
            "backward page {i} is {:?}",
            pages.get(i)
        );
    }
    let all: Vec<String> = pages.concat();
    ensure!(
        all == newest_first,
        "backward pagination returned {} messages: {all:?}",
        all.len()
    );

    let token = tokens[0]
        .as_deref()
        .context("first backward page has no end token")?;
    let options = page_of(PAGE, MessagesOptions::forward().from(token));
    let forward = text_bodies(&room.messages(options).await?.chunk);
    ensure!(
        forward == expected[COUNT - PAGE..],
        "forward pagination from the first page's end token returned {forward:?}"
    );
    Ok(())
}

/// `options` asking for at most `limit` events.
fn page_of(limit: usize, mut options: MessagesOptions) -> MessagesOptions {
    options.limit = UInt::try_from(limit).expect("small page size");
    options
}

/// A new display name shows up in the other user's member list.
async fn display_names(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;
    let shown_name = async || -> Result<Option<String>> {
        let member = ben.room(&room_id)?.get_member(&anna.user_id).await?;
        Ok(member
            .context("Anna is not in Ben's member list")?
            .display_name()
            .map(str::to_owned))
    };
    let before = shown_name().await?;
    ensure!(
        before.as_deref() == Some("Anna Schmidt"),
        "before the change Ben sees {before:?}"
    );

    anna.client
        .account()
        .set_display_name(Some("Frau Schmidt"))
        .await?;
    ben.wait_for("Anna's member event with the new name", |item| {
        membership(&room_id, anna.id(), "join")(item)
            && item.content()["displayname"] == "Frau Schmidt"
    })
    .await?;
    let after = shown_name().await?;
    ensure!(
        after.as_deref() == Some("Frau Schmidt"),
        "after the change Ben sees {after:?}"
    );
    Ok(())
}

/// Leaving: the leaver's sync lists the room under `leave`, the other member sees the leave.
async fn leave(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;

    ben.room(&room_id)?.leave().await?;
    ben.wait_for("the room under leave", left(&room_id)).await?;
    ensure!(
        ben.room(&room_id)?.state() == RoomState::Left,
        "Ben's client does not show the room as left"
    );
    anna.wait_for("Ben's leave", membership(&room_id, ben.id(), "leave"))
        .await?;

    let joined = ben.joined_rooms().await?;
    ensure!(
        !joined.iter().any(|id| id == room_id.as_str()),
        "joined_rooms still lists the room: {joined:?}"
    );
    Ok(())
}
