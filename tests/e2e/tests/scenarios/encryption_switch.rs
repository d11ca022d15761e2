//! The `[encryption] allow = false` switch: encrypted rooms are refused with a clear German
//! message and `.well-known` tells Element not to encrypt by default.

use anyhow::{ensure, Result};
use schulhof_e2e::{backend_tests, TestServer};
use serde_json::json;

backend_tests!(encryption_can_be_switched_off);

async fn encryption_can_be_switched_off(server: &TestServer) -> Result<()> {
    server.add_user("anna.schmidt", "Anna Schmidt").await?;
    server
        .restart_with_sections("[rate_limits]\nenabled = false\n[encryption]\nallow = false")
        .await?;
    let well_known = server.raw().get("/.well-known/matrix/client").await?.ok()?;
    ensure!(
        well_known["io.element.e2ee"]["force_disable"] == true,
        "{well_known}"
    );
    let anna = schulhof_e2e::TestUser::login(server, "anna.schmidt").await?;
    let a = anna.raw();
    let encrypted = json!({ "type": "m.room.encryption", "state_key": "",
                            "content": { "algorithm": "m.megolm.v1.aes-sha2" } });
    let refused = a
        .post(
            "/_matrix/client/v3/createRoom",
            json!({ "initial_state": [encrypted] }),
        )
        .await?;
    refused.expect_error(&[403], &["M_FORBIDDEN"])?;
    ensure!(
        refused.body["error"] == "Verschlüsselte Räume sind auf diesem Server abgeschaltet.",
        "{}",
        refused.body
    );
    ensure!(
        a.get("/_matrix/client/v3/joined_rooms").await?.ok()?["joined_rooms"] == json!([]),
        "a refused createRoom must create nothing"
    );
    let room = a
        .post("/_matrix/client/v3/createRoom", json!({}))
        .await?
        .ok()?;
    let room_id = room["room_id"].as_str().unwrap_or_default();
    a.put(
        &format!("/_matrix/client/v3/rooms/{room_id}/state/m.room.encryption/"),
        json!({ "algorithm": "m.megolm.v1.aes-sha2" }),
    )
    .await?
    .expect_error(&[403], &["M_FORBIDDEN"])
}
