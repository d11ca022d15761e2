//! Application service identity: a request with an appservice's `as_token` acts as its sender
//! or, with `user_id`, as a user of its namespace — and as nobody else.

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{backend_tests, user_id_of, RawApi, TestServer, SERVER_NAME};

backend_tests!(appservice_identity);

const AS_TOKEN: &str = "as-token-schulhof-e2e";

fn registration() -> String {
    let server = SERVER_NAME.replace('.', "\\\\.");
    format!(
        r#"id: schulhof-gruppen
url: null
as_token: "{AS_TOKEN}"
hs_token: "hs-token-schulhof-e2e"
sender_localpart: schulhof-bot
rate_limited: false
namespaces:
  users:
    - exclusive: true
      regex: "@gruppe_.*:{server}"
  aliases: []
  rooms: []
"#
    )
}

async fn whoami(api: &RawApi, user_id: Option<&str>) -> Result<schulhof_e2e::RawResponse> {
    let query: Vec<(&str, &str)> = user_id.map(|u| ("user_id", u)).into_iter().collect();
    api.get_query("/_matrix/client/v3/account/whoami", &query)
        .await
}

async fn appservice_identity(server: &TestServer) -> Result<()> {
    for (localpart, name) in [
        ("schulhof-bot", "Schulhof"),
        ("gruppe_8a", "Klasse 8a"),
        ("anna.schmidt", "Anna Schmidt"),
    ] {
        server.add_user(localpart, name).await?;
    }
    let file = server.path("gruppen-appservice.yaml");
    std::fs::write(&file, registration())?;
    server
        .restart_with_settings(
            &format!("appservices = [{:?}]", file.display().to_string()),
            "[rate_limits]\nenabled = false",
        )
        .await?;

    let api = server.raw().with_token(Some(AS_TOKEN));
    let own = whoami(&api, None).await?.ok()?;
    ensure!(
        own["user_id"] == user_id_of("schulhof-bot") && own.get("device_id").is_none(),
        "without user_id the appservice acts as its sender, with no device: {own}"
    );
    let group = user_id_of("gruppe_8a");
    let asserted = whoami(&api, Some(&group)).await?.ok()?;
    ensure!(
        asserted["user_id"] == group,
        "asserted identity: {asserted}"
    );

    // Acting as the namespace user works for real requests too.
    let room = api
        .post(
            &format!("/_matrix/client/v3/createRoom?user_id={group}"),
            serde_json::json!({ "name": "Klasse 8a" }),
        )
        .await?
        .ok()?;
    let room_id = room["room_id"].as_str().context("no room_id")?;
    let members = api
        .get(&format!(
            "/_matrix/client/v3/rooms/{room_id}/joined_members?user_id={group}"
        ))
        .await?
        .ok()?;
    let joined: Vec<&String> = members["joined"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    ensure!(
        joined == [&group],
        "the room was created by the group and has only it as member: {members}"
    );

    whoami(&api, Some(&user_id_of("anna.schmidt")))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    whoami(&api, Some(&user_id_of("gruppe_9z")))
        .await?
        .expect_error(&[403], &["M_FORBIDDEN"])?;
    whoami(&server.raw().with_token(Some("as-token-falsch")), None)
        .await?
        .expect_error(&[401], &["M_UNKNOWN_TOKEN"])?;
    Ok(())
}
