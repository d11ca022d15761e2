//! Shared helpers of the store's integration tests: each test runs once on a fresh SQLite file
//! and once on a fresh PostgreSQL database (see `engines.rs`).

// Each test binary uses a part of these helpers.
#![allow(dead_code)]

#[macro_use]
pub mod engines;

pub use engines::{Engine, TempDatabase};
use schulhof_store::{Db, NewEvent};

/// A room of the tests.
pub const ROOM: &str = "!mathe:schule.test";
/// Another room.
pub const OTHER_ROOM: &str = "!deutsch:schule.test";
/// A teacher.
pub const ANNA: &str = "@anna:schule.test";
/// A student.
pub const BEN: &str = "@ben:schule.test";

/// A migrated store on a fresh database; the database is removed when this is dropped.
pub struct TestDb {
    db: Db,
    // Dropped after `db`.
    _database: TempDatabase,
}

impl std::ops::Deref for TestDb {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}

/// A store on a fresh database of `engine`, opened (and so migrated) with [`Db::connect`].
pub async fn fresh_db(engine: Engine) -> TestDb {
    let database = TempDatabase::new(engine).await;
    TestDb {
        db: Db::connect(&database.url).await.unwrap(),
        _database: database,
    }
}

/// Stores an event at stream position `pos` in a transaction of its own, as the single writer
/// does, and returns its ID, `$ev<pos>`. A member event's membership is taken from `content`.
pub async fn store_event(
    db: &Db,
    pos: i64,
    room: &str,
    sender: &str,
    kind: &str,
    state_key: Option<&str>,
    content: &str,
) -> String {
    let event_id = format!("$ev{pos}");
    let content: serde_json::Value = serde_json::from_str(content).unwrap();
    let mut json = serde_json::json!({
        "event_id": event_id, "room_id": room, "sender": sender, "type": kind,
        "content": content, "origin_server_ts": pos * 1000,
    });
    if let Some(state_key) = state_key {
        json["state_key"] = state_key.into();
    }
    let mut tx = db.begin().await.unwrap();
    let event = NewEvent {
        stream_pos: pos,
        event_id: &event_id,
        room_id: room,
        sender,
        event_type: kind,
        state_key,
        membership: content["membership"]
            .as_str()
            .filter(|_| kind == "m.room.member"),
        origin_server_ts: pos * 1000,
        json: &json.to_string(),
        txn: None,
        relation: None,
    };
    Db::insert_event(&mut tx, &event).await.unwrap();
    tx.commit().await.unwrap();
    event_id
}

/// Stores `user`'s own member event with `membership` (see [`store_event`]).
pub async fn member(db: &Db, pos: i64, room: &str, user: &str, membership: &str) -> String {
    let content = format!(r#"{{"membership":"{membership}"}}"#);
    store_event(db, pos, room, user, "m.room.member", Some(user), &content).await
}
