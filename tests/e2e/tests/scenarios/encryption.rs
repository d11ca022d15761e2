//! End-to-end encrypted messages.

use anyhow::{ensure, Result};
use schulhof_e2e::{backend_tests, encrypt, message, shared_room, two_users, TestServer, TestUser};
use serde_json::json;

backend_tests!(encrypted_dm);

/// Anna enables encryption and writes "geheim"; Ben's client decrypts it, the server only
/// stores ciphertext.
async fn encrypted_dm(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    for user in [&anna, &ben] {
        user.client
            .encryption()
            .wait_for_e2ee_initialization_tasks()
            .await;
        // matrix-sdk uploads the device keys with the requests it sends around a sync.
        user.sync().await?;
    }
    ensure_device_keys_published(&ben, &anna).await?;
    ensure_device_keys_published(&anna, &ben).await?;
    let room_id = shared_room(&anna, &ben).await?;
    encrypt(&room_id, &anna, &ben).await?;

    let event_id = anna.send_text(&room_id, "geheim").await?;
    ben.wait_for(
        "Anna's decrypted message",
        message(&room_id, anna.id(), "geheim"),
    )
    .await?;
    let stored = ben
        .raw()
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/event/{event_id}"
        ))
        .await?
        .ok()?;
    ensure!(
        stored["type"] == "m.room.encrypted",
        "the server returns the event as {stored}"
    );
    Ok(())
}

/// `observer` finds the device keys of `owner`'s logged-in device with `/keys/query`.
async fn ensure_device_keys_published(observer: &TestUser, owner: &TestUser) -> Result<()> {
    let device = owner
        .client
        .device_id()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let keys = observer
        .raw()
        .post(
            "/_matrix/client/v3/keys/query",
            json!({ "device_keys": { owner.id(): [] } }),
        )
        .await?
        .ok()?;
    ensure!(
        keys["device_keys"][owner.id()][&device].is_object(),
        "/keys/query does not return the keys of {}'s device {device}: {keys}",
        owner.id()
    );
    Ok(())
}
