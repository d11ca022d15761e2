//! A database that Schulhof wrote before it had versioned migrations is migrated when the server
//! starts on it, and the server then serves everything in it to the clients: existing sessions,
//! passwords, the room with its messages, to-device messages, keys and the key backup; new
//! messages continue the old streams. On SQLite and on PostgreSQL.

#[macro_use]
#[path = "../../schulhof-store/tests/common/engines.rs"]
mod engines;
#[path = "../../schulhof-store/tests/fixtures/main_2026_12.rs"]
mod main_2026_12;

use std::net::SocketAddr;

use engines::{Engine, TempDatabase};
use main_2026_12 as main;
use schulhof_server::config::Config;
use schulhof_server::state::AppState;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_engines!(the_server_serves_a_database_from_before_migrations);

/// Sends one HTTP/1.1 request to the server (with `token` unless it is empty), expects
/// 200 OK and returns the JSON body.
async fn request(
    server: SocketAddr,
    method: &'static str,
    path: String,
    token: &'static str,
    body: Option<Value>,
) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let authorization = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {server}\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(server).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_owned()
    };
    assert_eq!(status, "200", "{method} {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The content of a `Transfer-Encoding: chunked` body.
fn unchunk(mut chunked: &str) -> String {
    let mut body = String::new();
    while let Some((size, rest)) = chunked.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        body.push_str(&rest[..size]);
        chunked = &rest[size + 2..];
    }
    body
}

/// The message bodies in a list of client events.
fn bodies(events: &Value) -> Vec<&str> {
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "m.room.message")
        .map(|e| e["content"]["body"].as_str().unwrap())
        .collect()
}

async fn the_server_serves_a_database_from_before_migrations(engine: Engine) {
    let database = TempDatabase::new(engine).await;
    main::create(&database.url).await;
    let dir = std::env::temp_dir().join(format!(
        "schulhof-upgraded-{}-{engine:?}",
        std::process::id()
    ));
    let config = Config::parse(&format!(
        "server_name = \"{}\"\nlisten = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\n\
         media_path = \"{dir}/media\"\npublic_baseurl = \"https://chat.schulhof.local/\"\n\
         school_name = \"Demo-Schule\"\n[accounts]\nsecret_key_file = \"{dir}/schulhof.key\"\n",
        main::SERVER_NAME,
        database.url,
        dir = dir.display()
    ))
    .unwrap();
    let state = AppState::new(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let serving = tokio::spawn(schulhof_server::serve(state.clone(), listener));
    let (anna, ben) = (main::ANNA_TOKEN, main::BEN_TOKEN);
    let get = |path: String, token: &'static str| request(server, "GET", path, token, None);
    let post = |path: &'static str, token: &'static str, body| {
        request(server, "POST", path.into(), token, Some(body))
    };

    // The sessions the clients hold still work.
    let me = get("/_matrix/client/v3/account/whoami".into(), ben).await;
    assert_eq!(
        (&me["user_id"], &me["device_id"]),
        (&json!(main::BEN), &json!(main::BEN_DEVICE))
    );

    // Ben's first sync: the room with its name and messages, the tag, the waiting to-device
    // message.
    let sync = get("/_matrix/client/v3/sync".into(), ben).await;
    let room = &sync["rooms"]["join"][main::ROOM];
    let expected: Vec<&str> = main::MESSAGES.iter().map(|m| m.2).collect();
    assert_eq!(bodies(&room["timeline"]["events"]), expected);
    let room_state = room["state"]["events"].as_array().unwrap().iter();
    let timeline = room["timeline"]["events"].as_array().unwrap().iter();
    let name = room_state
        .chain(timeline)
        .find(|e| e["type"] == "m.room.name")
        .unwrap();
    assert_eq!(name["content"]["name"], "Mathe 8.1");
    let tags = room["account_data"]["events"].as_array().unwrap();
    assert!(tags.iter().any(|e| e["type"] == "m.tag"), "{room}");
    let to_device = sync["to_device"]["events"].as_array().unwrap();
    assert_eq!(to_device.len(), 1, "{sync}");
    assert_eq!(to_device[0]["type"], "m.room_key_request");
    let since = sync["next_batch"].as_str().unwrap().to_owned();

    // Anna's password still lets her in.
    let login = json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": main::ANNA},
        "password": main::ANNA_PASSWORD,
    });
    post("/_matrix/client/v3/login", "", login).await;

    // Her device and cross-signing keys, one of her one-time keys, her key backup.
    let query = json!({"device_keys": {main::ANNA: []}});
    let keys = post("/_matrix/client/v3/keys/query", ben, query).await;
    let device = &keys["device_keys"][main::ANNA][main::ANNA_DEVICE];
    assert_eq!(device["device_id"], main::ANNA_DEVICE, "{keys}");
    assert!(
        keys["master_keys"][main::ANNA]["keys"].is_object(),
        "{keys}"
    );
    let claim = json!({"one_time_keys": {main::ANNA: {main::ANNA_DEVICE: "signed_curve25519"}}});
    let claimed = post("/_matrix/client/v3/keys/claim", ben, claim).await;
    let key_ids = claimed["one_time_keys"][main::ANNA][main::ANNA_DEVICE]
        .as_object()
        .unwrap();
    let from_the_old_upload = |id: &String| id.starts_with("signed_curve25519:AAAAAQ");
    assert!(key_ids.keys().all(from_the_old_upload), "{claimed}");
    let backup = get("/_matrix/client/v3/room_keys/version".into(), anna).await;
    let counted = (&backup["version"], &backup["count"]);
    assert_eq!(counted, (&json!("1"), &json!(2)));

    // A new message continues the room and the streams after the old positions.
    let room_path = format!("/_matrix/client/v3/rooms/{}", main::ROOM);
    let text = json!({"msgtype": "m.text", "body": "Nach dem Update"});
    let path = format!("{room_path}/send/m.room.message/after-upgrade");
    let sent = request(server, "PUT", path, anna, Some(text)).await;
    let sync = get(
        format!("/_matrix/client/v3/sync?since={since}&timeout=5000"),
        ben,
    )
    .await;
    let timeline = &sync["rooms"]["join"][main::ROOM]["timeline"]["events"];
    assert_eq!(bodies(timeline), vec!["Nach dem Update"]);
    assert_eq!(timeline[0]["event_id"], sent["event_id"]);
    let page = get(format!("{room_path}/messages?dir=b&limit=2"), ben).await;
    let newest = vec!["Nach dem Update", main::MESSAGES[2].2];
    assert_eq!(bodies(&page["chunk"]), newest);
    let event_id = sent["event_id"].as_str().unwrap();
    let stored = state.db.event(event_id).await.unwrap().unwrap();
    assert!(
        stored.stream_pos > main::LAST_STREAM_POS,
        "{}",
        stored.stream_pos
    );

    serving.abort();
    let _ = serving.await;
    let _ = std::fs::remove_dir_all(dir);
}
