//! Migrations on SQLite and PostgreSQL: both engines end up with the same schema, a database
//! written by Schulhof before versioned migrations is adopted with all its data, and processes
//! starting at the same time apply every migration once.

#[macro_use]
mod common;
#[path = "fixtures/main_2026_12.rs"]
mod main_2026_12;

use std::collections::{BTreeMap, BTreeSet};

use common::{Engine, TempDatabase};
use main_2026_12 as main;
use schulhof_store::Db;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, SqlitePool};

on_both_engines!(
    a_database_of_the_version_before_migrations_keeps_all_its_data,
    processes_starting_together_apply_each_migration_once,
);

/// A table as the catalog describes it, with what the engines merely spell differently made
/// equal: INTEGER and BIGINT are both `int64`, the names of the indexes behind PRIMARY KEY and
/// UNIQUE constraints are left out, and a primary key column counts as NOT NULL (PostgreSQL
/// enforces it; SQLite would accept a NULL key unless told NOT NULL, and the store never writes
/// one).
#[derive(Debug, PartialEq, Eq)]
struct Table {
    columns: Vec<Column>,
    primary_key: Vec<String>,
    indexes: BTreeSet<Index>,
}

#[derive(Debug, PartialEq, Eq)]
struct Column {
    name: String,
    kind: String,
    not_null: bool,
    has_default: bool,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    /// `None` for the index of a UNIQUE constraint.
    name: Option<String>,
    columns: Vec<String>,
    unique: bool,
    /// Has a WHERE clause.
    partial: bool,
}

fn column_kind(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "int64".into(),
        other => other.into(),
    }
}

/// Every table of the database by name.
async fn catalog(db: &Db) -> BTreeMap<String, Table> {
    let sql = match db {
        Db::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Db::Postgres(_) => {
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    let names: Vec<String> = schulhof_store::scalar!(db, fetch_all, sql, []).unwrap();
    let mut tables = BTreeMap::new();
    for name in names {
        let table = match db {
            Db::Sqlite(pool) => sqlite_table(pool, &name).await,
            Db::Postgres(pool) => postgres_table(pool, &name).await,
        };
        tables.insert(name, table);
    }
    tables
}

/// A table from SQLite's `pragma_table_info`, `pragma_index_list` and `pragma_index_info`.
async fn sqlite_table(pool: &SqlitePool, table: &str) -> Table {
    let sql = r#"SELECT name, type, "notnull", dflt_value IS NOT NULL, pk
                 FROM pragma_table_info($1) ORDER BY cid"#;
    let rows: Vec<(String, String, bool, bool, i64)> = sqlx::query_as(sql)
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
    let mut primary_key: Vec<(i64, String)> = rows
        .iter()
        .filter(|row| row.4 > 0)
        .map(|row| (row.4, row.0.clone()))
        .collect();
    primary_key.sort();
    let columns = rows
        .into_iter()
        .map(|(name, kind, not_null, has_default, pk)| Column {
            name,
            kind: column_kind(&kind),
            not_null: not_null || pk > 0,
            has_default,
        })
        .collect();
    let sql = r#"SELECT name, "unique", origin, partial FROM pragma_index_list($1)
                 WHERE origin <> 'pk'"#;
    let listed: Vec<(String, bool, String, bool)> = sqlx::query_as(sql)
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
    let mut indexes = BTreeSet::new();
    for (name, unique, origin, partial) in listed {
        let sql = "SELECT name FROM pragma_index_info($1) ORDER BY seqno";
        let columns = sqlx::query_scalar(sql)
            .bind(&name)
            .fetch_all(pool)
            .await
            .unwrap();
        indexes.insert(Index {
            name: (origin == "c").then_some(name),
            columns,
            unique,
            partial,
        });
    }
    Table {
        columns,
        primary_key: primary_key.into_iter().map(|(_, name)| name).collect(),
        indexes,
    }
}

/// A table from PostgreSQL's `information_schema.columns`, `pg_index` and `pg_constraint`.
async fn postgres_table(pool: &PgPool, table: &str) -> Table {
    let sql = "SELECT column_name::text, data_type::text, is_nullable = 'NO',
                      column_default IS NOT NULL
               FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = $1
               ORDER BY ordinal_position";
    let rows: Vec<(String, String, bool, bool)> = sqlx::query_as(sql)
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
    let columns = rows
        .into_iter()
        .map(|(name, kind, not_null, has_default)| Column {
            name,
            kind: column_kind(&kind),
            not_null,
            has_default,
        })
        .collect();
    let sql = "SELECT c.relname::text, i.indisunique, i.indisprimary, i.indpred IS NOT NULL,
                      EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid),
                      ARRAY(SELECT a.attname::text
                            FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                            ORDER BY k.n)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = $1::text::regclass";
    let listed: Vec<(String, bool, bool, bool, bool, Vec<String>)> = sqlx::query_as(sql)
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
    let mut primary_key = Vec::new();
    let mut indexes = BTreeSet::new();
    for (name, unique, primary, partial, of_constraint, index_columns) in listed {
        if primary {
            primary_key = index_columns;
        } else {
            indexes.insert(Index {
                name: (!of_constraint).then_some(name),
                columns: index_columns,
                unique,
                partial,
            });
        }
    }
    Table {
        columns,
        primary_key,
        indexes,
    }
}

/// A fresh database of `engine`, migrated, with its catalog.
async fn fresh_catalog(engine: Engine) -> BTreeMap<String, Table> {
    let db = common::fresh_db(engine).await;
    let tables = catalog(&db).await;
    db.close().await;
    tables
}

#[tokio::test]
async fn both_engines_have_the_same_tables_columns_and_indexes() {
    let sqlite = fresh_catalog(Engine::Sqlite).await;
    let postgres = fresh_catalog(Engine::Postgres).await;
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "tables"
    );
    for (name, table) in &sqlite {
        assert_eq!(
            table, &postgres[name],
            "table {name}: SQLite left, PostgreSQL right"
        );
    }
    // The comparison has something to compare: the tables the server relies on, with their keys.
    assert_eq!(sqlite["events"].primary_key, ["stream_pos"]);
    assert!(sqlite["events"].indexes.contains(&Index {
        name: Some("events_txn".into()),
        columns: vec!["sender".into(), "txn_device".into(), "txn_id".into()],
        unique: true,
        partial: true,
    }));
    assert!(sqlite.contains_key("schema_migrations"));
}

fn sha256_hex(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

async fn a_database_of_the_version_before_migrations_keeps_all_its_data(engine: Engine) {
    let database = TempDatabase::new(engine).await;
    main::create(&database.url).await;
    let db = Db::connect(&database.url).await.unwrap();

    // Its tables became exactly those of a new database.
    assert_eq!(catalog(&db).await, fresh_catalog(engine).await);

    // Accounts, devices and the tokens the clients still hold.
    let anna = db.user(main::ANNA).await.unwrap().unwrap();
    assert_eq!(anna.displayname.as_deref(), Some("Anna Schmidt"));
    assert!(anna
        .password_hash
        .is_some_and(|hash| hash.starts_with("$argon2id$")));
    let users = db.active_users().await.unwrap();
    assert_eq!(users.len(), 10);
    let suffix = format!(":{}", main::SERVER_NAME);
    assert!(users.iter().all(|user| user.user_id.ends_with(&suffix)));
    let devices = db.devices(main::ANNA).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].display_name.as_deref(), Some("Annas Laptop"));
    for (token, user, device) in [
        (main::ANNA_TOKEN, main::ANNA, main::ANNA_DEVICE),
        (main::BEN_TOKEN, main::BEN, main::BEN_DEVICE),
    ] {
        let row = db.token(&sha256_hex(token)).await.unwrap().unwrap();
        assert_eq!(
            (row.user_id.as_str(), row.device_id.as_str()),
            (user, device)
        );
    }

    // The room, its state, its members and its messages.
    assert_eq!(
        db.room_version(main::ROOM).await.unwrap().as_deref(),
        Some("10")
    );
    let state = db.current_state(main::ROOM).await.unwrap();
    let name = state
        .iter()
        .find(|e| e.event_type == "m.room.name")
        .unwrap();
    assert!(name.json.contains("\"name\":\"Mathe 8.1\""));
    let ben_rooms = db.memberships(main::BEN).await.unwrap();
    assert_eq!(ben_rooms.len(), 1);
    assert_eq!(
        (
            ben_rooms[0].room_id.as_str(),
            ben_rooms[0].membership.as_str()
        ),
        (main::ROOM, "join")
    );
    let newest_first = db
        .room_events_backward(main::ROOM, 0, i64::MAX, 3)
        .await
        .unwrap();
    for (event, (event_id, sender, body)) in newest_first.iter().zip(main::MESSAGES.iter().rev()) {
        assert_eq!(
            (event.event_id.as_str(), event.sender.as_str()),
            (*event_id, *sender)
        );
        assert!(event.json.contains(body), "{}", event.json);
    }
    assert_eq!(
        db.txn_event(main::ANNA, main::ANNA_DEVICE, "anna-txn-1")
            .await
            .unwrap()
            .as_deref(),
        Some(main::MESSAGES[0].0)
    );
    // New writes continue after every stream the old version wrote.
    assert_eq!(db.max_stream_pos().await.unwrap(), main::LAST_STREAM_POS);

    // Read state, unread counts, account data, filter, presence and the waiting to-device message.
    let receipts = db.receipts_since(main::ROOM, 0, i64::MAX).await.unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(
        (receipts[0].user_id.as_str(), receipts[0].event_id.as_str()),
        (main::BEN, main::MESSAGES[2].0)
    );
    assert_eq!(
        db.notification_counts(main::BEN, main::ROOM).await.unwrap(),
        (0, 0)
    );
    assert_eq!(
        db.notification_counts(main::ANNA, main::ROOM)
            .await
            .unwrap(),
        (1, 0)
    );
    assert_eq!(
        db.account_data(main::BEN, main::ROOM, "m.tag")
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"tags":{"u.mathe":{"order":0.5}}}"#)
    );
    assert!(db.filter(main::BEN, 0).await.unwrap().is_some());
    let presence = db.presence(main::BEN).await.unwrap().unwrap();
    assert_eq!(
        (presence.0.as_str(), presence.1.as_deref()),
        ("online", Some("Hausaufgaben"))
    );
    let to_device = db
        .to_device_until(main::BEN, main::BEN_DEVICE, i64::MAX)
        .await
        .unwrap();
    assert_eq!(to_device.len(), 1);
    assert_eq!(to_device[0].event_type, "m.room_key_request");

    // End-to-end keys: device keys, one-time and fallback keys, cross-signing, signatures.
    let keys = db
        .device_keys(main::ANNA, main::ANNA_DEVICE)
        .await
        .unwrap()
        .unwrap();
    assert!(keys.contains("curve25519:ANNALAPTOP"));
    assert_eq!(
        db.one_time_key_counts(main::ANNA, main::ANNA_DEVICE)
            .await
            .unwrap(),
        vec![("signed_curve25519".to_owned(), 2)]
    );
    assert_eq!(
        db.unused_fallback_key_algorithms(main::ANNA, main::ANNA_DEVICE)
            .await
            .unwrap(),
        vec!["signed_curve25519"]
    );
    assert_eq!(db.cross_signing_keys(main::ANNA).await.unwrap().len(), 3);
    assert_eq!(
        db.key_signatures(main::ANNA, main::BEN)
            .await
            .unwrap()
            .len(),
        1
    );
    let claimed = db
        .claim_key(main::BEN, main::BEN_DEVICE, "signed_curve25519")
        .await
        .unwrap()
        .unwrap();
    assert!(claimed.0.starts_with("signed_curve25519:BBBBBQ"));

    // The key backup.
    let backup = db.backup_version(main::ANNA, None).await.unwrap().unwrap();
    assert_eq!((backup.version, backup.count), (1, 2));
    let sessions = db
        .backup_keys(main::ANNA, 1, Some(main::ROOM), Some("sessionBBBB"))
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        (sessions[0].first_message_index, sessions[0].is_verified),
        (4, false)
    );

    // The school directory.
    let directory = db.load_directory().await.unwrap();
    assert_eq!(directory.people.len(), 10);
    let anna = directory.by_localpart("anna.schmidt").unwrap();
    assert!(anna.groups.contains("Klasse 8.1"));
    assert_eq!(db.directory_version().await.unwrap(), 5);
    assert!(db
        .start_code("@mia.mueller:schulhof.local")
        .await
        .unwrap()
        .is_some());
    let origin = db.room_origin(main::ROOM).await.unwrap().unwrap();
    assert_eq!(origin.creator_role.as_deref(), Some("teacher"));

    // A second start changes nothing.
    db.close().await;
    let db = Db::connect(&database.url).await.unwrap();
    assert_eq!(db.max_stream_pos().await.unwrap(), main::LAST_STREAM_POS);
    db.close().await;
}

async fn processes_starting_together_apply_each_migration_once(engine: Engine) {
    let database = TempDatabase::new(engine).await;
    // Separate pools, as separate processes would have, all creating the tables at once.
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let url = database.url.clone();
        starts.spawn(async move { Db::connect(&url).await });
    }
    let dbs: Vec<Db> = starts
        .join_all()
        .await
        .into_iter()
        .map(|started| started.unwrap())
        .collect();
    let sql = "SELECT version, COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version";
    let recorded: Vec<(i64, i64)> = schulhof_store::fetch!(&dbs[0], fetch_all, sql, []).unwrap();
    assert!(!recorded.is_empty());
    for (position, (version, times)) in (1..).zip(recorded) {
        assert_eq!(
            (version, times),
            (position, 1),
            "version {version} applied {times} times"
        );
    }
    assert!(dbs[0].active_users().await.unwrap().is_empty());
    for db in dbs {
        db.close().await;
    }
}
