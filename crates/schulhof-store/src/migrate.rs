//! Versioned schema migrations, one directory per engine (`migrations/sqlite`,
//! `migrations/postgres`, embedded at build time; `migrations/README.md` says how to add one).
//!
//! [`Db::connect`] brings every database up to date. Each migration runs in a transaction of
//! its own and is recorded in `schema_migrations` with its version and the SHA-256 checksum of
//! its SQL, in the same transaction. Before anything is applied the recorded migrations are
//! checked against the ones built in: an edited migration or one this build does not know (the
//! database was set up by a newer Schulhof) stops the start with a [`MigrationError`].
//!
//! Several processes may start at once: on PostgreSQL every migration transaction first takes
//! an advisory lock and then re-reads what is applied; on SQLite `BEGIN IMMEDIATE` serialises
//! them. Either way each migration is applied exactly once.
//!
//! A database created before there were migrations has the tables but no `schema_migrations`.
//! Migration 0001 is that schema written with `IF NOT EXISTS` throughout, so applying it to such
//! a database adopts it: existing tables and rows stay as they are, anything an older version
//! lacked is added, and 0001 is recorded like on a new database.

use sha2::{Digest, Sha256};

use crate::{execute_tx, fetch_tx, scalar_tx, with_tx, Db, MigrationError, Result, Tx};

/// One migration: its file name without `.sql` (`NNNN_what_it_does`) and its SQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// `NNNN_what_it_does`; the version is the position in the list, counted from 1.
    pub(crate) name: &'static str,
    /// The SQL, any number of statements, run as one script.
    pub(crate) sql: &'static str,
}

impl Migration {
    /// Hex SHA-256 of the SQL text, as recorded when the migration is applied.
    pub(crate) fn checksum(&self) -> String {
        format!("{:x}", Sha256::digest(self.sql.as_bytes()))
    }
}

/// Lists the migrations, oldest first, by file name; each needs a file of that name for every
/// engine, or the crate does not build.
macro_rules! migrations {
    ($($name:literal),+ $(,)?) => {
        /// SQLite's migrations, oldest first.
        pub(crate) const SQLITE: &[Migration] = &[$(Migration {
            name: $name,
            sql: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
        }),+];
        /// PostgreSQL's migrations, oldest first.
        pub(crate) const POSTGRES: &[Migration] = &[$(Migration {
            name: $name,
            sql: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }),+];
    };
}

migrations![
    "0001_baseline",
    "0002_server_notices",
    "0003_quiet_hours",
    "0004_delayed_events",
    "0005_event_relations",
    "0006_push",
    "0007_appservice",
    "0008_room_notifications",
    "0009_notification_sender",
];

/// Advisory lock key held by a PostgreSQL migration transaction ("SCHMIGRA" in ASCII; the
/// serving lease uses another key).
const MIGRATION_LOCK: i64 = 0x5343_484d_4947_5241;

/// The bookkeeping table, valid on both engines.
const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_ts BIGINT NOT NULL
)";

/// A recorded migration: `(version, name, checksum)`.
type Applied = (i64, String, String);

impl Db {
    /// The migrations of this database's engine, oldest first.
    pub(crate) fn migrations(&self) -> &'static [Migration] {
        match self {
            Db::Sqlite(_) => SQLITE,
            Db::Postgres(_) => POSTGRES,
        }
    }

    /// Applies every migration the database lacks, one transaction each, after checking the
    /// ones it has.
    pub(crate) async fn migrate(&self) -> Result<()> {
        self.migrate_with(self.migrations()).await
    }

    /// [`Db::migrate`] with a given list of migrations (the tests add their own).
    pub(crate) async fn migrate_with(&self, migrations: &[Migration]) -> Result<()> {
        loop {
            let mut tx = self.begin().await?;
            if let Tx::Postgres(t) = &mut tx {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(MIGRATION_LOCK)
                    .execute(&mut **t)
                    .await?;
            }
            execute_tx!(&mut tx, BOOKKEEPING, [])?;
            let sql = "SELECT version, name, checksum FROM schema_migrations ORDER BY version";
            let applied: Vec<Applied> = fetch_tx!(&mut tx, fetch_all, sql, [])?;
            let Some((version, migration)) = next_migration(migrations, &applied)? else {
                // Commits the bookkeeping table of a database that had nothing to apply.
                return tx.commit().await;
            };
            if applied.is_empty() && has_tables_before_migrations(&mut tx).await? {
                tracing::info!(
                    "adopting a database created before versioned migrations: {} adds what it lacks",
                    migration.name
                );
            }
            with_tx!(&mut tx, |c| sqlx::raw_sql(migration.sql)
                .execute(c)
                .await
                .map(drop))
            .map_err(|source| MigrationError::Failed {
                name: migration.name,
                source,
            })?;
            let sql = "INSERT INTO schema_migrations (version, name, checksum, applied_ts) VALUES ($1, $2, $3, $4)";
            execute_tx!(
                &mut tx,
                sql,
                [version, migration.name, migration.checksum(), now_ms()]
            )?;
            tx.commit().await?;
            tracing::info!(migration = migration.name, "database migration applied");
        }
    }
}

/// Checks the recorded migrations against `migrations` and picks the next one to apply with
/// its version, or `None` when the database is up to date.
///
/// The recorded ones must be exactly the first migrations of the list, unchanged.
fn next_migration<'m>(
    migrations: &'m [Migration],
    applied: &[Applied],
) -> std::result::Result<Option<(i64, &'m Migration)>, MigrationError> {
    for (version, name, checksum) in applied {
        let Some(migration) = usize::try_from(*version - 1)
            .ok()
            .and_then(|i| migrations.get(i))
        else {
            return Err(MigrationError::Unknown {
                version: *version,
                name: name.clone(),
                known: migrations.len() as i64,
            });
        };
        let built_in = migration.checksum();
        if *checksum != built_in {
            return Err(MigrationError::Changed {
                name: migration.name,
                recorded: checksum.clone(),
                built_in,
            });
        }
    }
    // Recorded versions are unique, ascending and known: the first one that differs from its
    // position (counted from 1) skips a migration that was added below an applied one.
    let skipped = applied
        .iter()
        .zip(1..)
        .find(|((v, _, _), position)| v != position);
    if let Some((_, missing)) = skipped {
        return Err(MigrationError::Gap {
            missing: migrations[(missing - 1) as usize].name,
            newest: applied[applied.len() - 1].0,
        });
    }
    let count = applied.len() as i64;
    Ok(migrations.get(applied.len()).map(|m| (count + 1, m)))
}

/// Whether the tables of a Schulhof from before versioned migrations are there (`users` is one
/// of the first it created).
async fn has_tables_before_migrations(tx: &mut Tx) -> Result<bool> {
    let sql = match tx {
        Tx::Sqlite(_) => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'"
        }
        Tx::Postgres(_) => {
            "SELECT COUNT(*) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name = 'users'"
        }
    };
    let count: i64 = scalar_tx!(tx, fetch_one, sql, [])?;
    Ok(count > 0)
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
#[macro_use]
#[path = "../tests/common/engines.rs"]
mod engines;

#[cfg(test)]
mod tests {
    use super::engines::{Engine, TempDatabase};
    use super::*;
    use crate::{execute, scalar, with_db, StoreError};

    on_both_engines!(
        a_database_from_before_migrations_is_adopted_and_then_migrated,
        a_failed_migration_leaves_nothing_behind,
        edited_and_unknown_migrations_are_refused,
        the_sender_of_a_room_outcome_becomes_an_exception,
    );

    /// A migration the tests add after the built-in ones.
    const PRONOUNS: Migration = Migration {
        name: "0002_pronouns",
        sql: "ALTER TABLE users ADD COLUMN pronouns TEXT",
    };

    /// The built-in migrations of `db`'s engine followed by `later`.
    fn with(db: &Db, later: Migration) -> Vec<Migration> {
        let mut migrations = db.migrations().to_vec();
        migrations.push(later);
        migrations
    }

    /// The `(version, name)` pairs `migrations` are recorded as.
    fn numbered(migrations: &[Migration]) -> Vec<(i64, String)> {
        (1..)
            .zip(migrations.iter().map(|m| m.name.to_owned()))
            .collect()
    }

    /// The recorded `(version, name)` pairs.
    async fn recorded(db: &Db) -> Vec<(i64, String)> {
        let sql = "SELECT version, name FROM schema_migrations ORDER BY version";
        crate::fetch!(db, fetch_all, sql, []).unwrap()
    }

    async fn a_database_from_before_migrations_is_adopted_and_then_migrated(engine: Engine) {
        let database = TempDatabase::new(engine).await;
        let db = Db::open(&database.url).await.unwrap();
        let old_schema = match engine {
            Engine::Sqlite => include_str!("../tests/fixtures/schema-2026-12-main-sqlite.sql"),
            Engine::Postgres => include_str!("../tests/fixtures/schema-2026-12-main-postgres.sql"),
        };
        with_db!(&db, |c| sqlx::raw_sql(old_schema)
            .execute(c)
            .await
            .map(drop))
        .unwrap();
        // As if written by an older version, which did not have the reports yet.
        execute!(&db, "DROP TABLE reports", []).unwrap();
        let sql = "INSERT INTO users (user_id, password_hash, created_ts) VALUES ($1, $2, $3)";
        execute!(&db, sql, ["@anna:schule.test", "$argon2id$hash", 1_i64]).unwrap();

        let migrations = with(&db, PRONOUNS);
        db.migrate_with(&migrations).await.unwrap();
        assert_eq!(recorded(&db).await, numbered(&migrations));
        let user = db.user("@anna:schule.test").await.unwrap().unwrap();
        assert_eq!(user.password_hash.as_deref(), Some("$argon2id$hash"));
        // The later migration ran on the adopted tables, and what the older version lacked is there.
        let sql = "UPDATE users SET pronouns = $1 WHERE user_id = $2";
        execute!(&db, sql, ["sie", "@anna:schule.test"]).unwrap();
        assert!(db.recent_reports(10).await.unwrap().is_empty());

        // A second start finds nothing to do.
        db.migrate_with(&migrations).await.unwrap();
        assert_eq!(recorded(&db).await.len(), migrations.len());
        let sql = "SELECT pronouns FROM users WHERE user_id = $1";
        let pronouns: Option<String> = scalar!(&db, fetch_one, sql, ["@anna:schule.test"]).unwrap();
        assert_eq!(pronouns.as_deref(), Some("sie"));
        db.close().await;
    }

    /// 0009 on a database whose `room_notifications` rows still name their sender: each
    /// sender gets an exception that does not notify (unless one is there), the column goes.
    async fn the_sender_of_a_room_outcome_becomes_an_exception(engine: Engine) {
        let database = TempDatabase::new(engine).await;
        let db = Db::open(&database.url).await.unwrap();
        // The schema up to 0008, with rows written then.
        let upto_0008 = db
            .migrations()
            .iter()
            .position(|m| m.name == "0008_room_notifications");
        db.migrate_with(&db.migrations()[..=upto_0008.unwrap()])
            .await
            .unwrap();
        let sql = "INSERT INTO room_notifications (room_id, stream_pos, highlight, sender)
                   VALUES ($1, $2, 0, $3)";
        execute!(&db, sql, ["!a:s.test", 5_i64, "@ben:s.test"]).unwrap();
        execute!(&db, sql, ["!a:s.test", 6_i64, "@anna:s.test"]).unwrap();
        // Anna was mentioned in Ben's message: her exception stays as it is.
        let sql = "INSERT INTO push_actions (user_id, room_id, stream_pos, highlight, notify)
                   VALUES ($1, $2, $3, 1, 1)";
        execute!(&db, sql, ["@anna:s.test", "!a:s.test", 5_i64]).unwrap();

        db.migrate().await.unwrap();
        let sql = "SELECT user_id, stream_pos, highlight, notify FROM push_actions
                   ORDER BY stream_pos, user_id";
        let rows: Vec<(String, i64, i64, i64)> = crate::fetch!(&db, fetch_all, sql, []).unwrap();
        assert_eq!(
            rows,
            [
                ("@anna:s.test".to_owned(), 5, 1, 1),
                ("@ben:s.test".to_owned(), 5, 0, 0),
                ("@anna:s.test".to_owned(), 6, 0, 0),
            ]
        );
        assert!(execute!(&db, "SELECT sender FROM room_notifications", []).is_err());
        db.close().await;
    }

    async fn a_failed_migration_leaves_nothing_behind(engine: Engine) {
        let database = TempDatabase::new(engine).await;
        let db = Db::open(&database.url).await.unwrap();
        let broken = Migration {
            name: "0002_broken",
            sql: "CREATE TABLE half (x TEXT); INSERT INTO missing_table VALUES (1)",
        };
        let err = db.migrate_with(&with(&db, broken)).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Migration(MigrationError::Failed {
                    name: "0002_broken",
                    ..
                })
            ),
            "{err}"
        );
        // The built-in ones were committed each on its own; the broken one neither recorded
        // nor half applied.
        assert_eq!(recorded(&db).await, numbered(db.migrations()));
        assert!(execute!(&db, "SELECT x FROM half", []).is_err());
        db.close().await;
    }

    async fn edited_and_unknown_migrations_are_refused(engine: Engine) {
        let database = TempDatabase::new(engine).await;
        let db = Db::open(&database.url).await.unwrap();
        db.migrate_with(&with(&db, PRONOUNS)).await.unwrap();

        let edited = Migration {
            sql: "ALTER TABLE users ADD COLUMN pronouns TEXT NOT NULL DEFAULT ''",
            ..PRONOUNS
        };
        let err = db.migrate_with(&with(&db, edited)).await.unwrap_err();
        assert!(
            matches!(
                &err,
                StoreError::Migration(MigrationError::Changed {
                    name: "0002_pronouns",
                    ..
                })
            ),
            "{err}"
        );
        assert!(err.to_string().contains("must never be edited"), "{err}");

        // A build that knows only the built-in migrations meets a database a newer one upgraded.
        let newer = i64::try_from(db.migrations().len()).unwrap() + 1;
        let err = db.migrate().await.unwrap_err();
        assert!(
            matches!(
                &err,
                StoreError::Migration(MigrationError::Unknown { version, .. }) if *version == newer
            ),
            "{err}"
        );
        assert!(err.to_string().contains("a newer Schulhof"), "{err}");
        assert_eq!(recorded(&db).await.len(), db.migrations().len() + 1);
        db.close().await;
    }

    #[test]
    fn a_migration_added_below_an_applied_one_is_refused() {
        let migrations = [
            SQLITE[0],
            PRONOUNS,
            Migration {
                name: "0003_x",
                sql: "",
            },
        ];
        let applied = |versions: &[usize]| -> Vec<Applied> {
            versions
                .iter()
                .map(|&v| {
                    (
                        v as i64,
                        migrations[v - 1].name.into(),
                        migrations[v - 1].checksum(),
                    )
                })
                .collect()
        };
        assert_eq!(
            next_migration(&migrations, &applied(&[1]))
                .unwrap()
                .map(|(v, m)| (v, m.name)),
            Some((2, "0002_pronouns"))
        );
        assert!(next_migration(&migrations, &applied(&[1, 2, 3]))
            .unwrap()
            .is_none());
        let err = next_migration(&migrations, &applied(&[1, 3])).unwrap_err();
        assert!(
            matches!(
                err,
                MigrationError::Gap {
                    missing: "0002_pronouns",
                    newest: 3
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn every_migration_file_is_built_in_for_both_engines() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for (engine, built_in) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let mut files: Vec<String> = std::fs::read_dir(dir.join(engine))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect();
            files.sort();
            let expected: Vec<String> = built_in
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    assert!(
                        m.name.starts_with(&format!("{:04}_", i + 1)),
                        "{engine}: {} is migration {}",
                        m.name,
                        i + 1
                    );
                    format!("{}.sql", m.name)
                })
                .collect();
            assert_eq!(files, expected, "files in migrations/{engine}");
        }
    }

    /// Checksums of every migration: `(name, SQLite, PostgreSQL)`. A migration must never
    /// change once a database may have applied it (that database would refuse to start), so a
    /// new migration gets its line here when it is final.
    const PINNED: &[(&str, &str, &str)] = &[
        (
            "0001_baseline",
            "38c2d7869ebc467e336f1fa91e2470dbcbcab285fa1880352701471a88a7a88e",
            "980709c4b128e3ecb0cf5a04a64d20de4721214bcb2db63ea38f21972c8223c3",
        ),
        (
            "0002_server_notices",
            "50c1036db0c3e660888f2e5531ef83f6e4113cf97444570fac8d63a0e3292711",
            "efeaef57a0bf6cccce13f0c252d7d928435b93fad8972e5b285cd4e0e483b2e6",
        ),
        (
            "0003_quiet_hours",
            "6c0a77ffaa7df526799ec755c52591e195f5e3934b721dd14bff5e1ddefe749d",
            "2a9de168c0be6edf7ec562ee9d933a63dc7085653da62e5ca9ea0112f07b4dc9",
        ),
        (
            "0004_delayed_events",
            "2d09f912d6fd514ebc725992159ed9b2f78a534f9e1ce45e05d9a530416b5d11",
            "2253241c41ce0406814fa749c0c9bb18fde40e496005564787982c20d8060db0",
        ),
        (
            "0005_event_relations",
            "b662f18576390150df832739d5c590617f4085c9a485bbf52aa9e2d673a16c53",
            "a89d6594e51997cf4aee6824c903e382377fca3a2657f67f87fefacf984d01f1",
        ),
        (
            "0006_push",
            "0ba2e32e455391baaa82c16892b5db8b42902f5bad3f9a3bea177c39eda8746d",
            "cd929a00db7cda9aff63a0e3ebf74465d007f234ce86f78e94b990aa2ce9ea1a",
        ),
        (
            "0007_appservice",
            "d6c1ec8e4d3e1a539d648ad2a2405c009140983a132c231ff921507f7c10153a",
            "b3173a19ba7f941d4dc9fa70780ed265e960dc3628702415c1ec7df84009a2bd",
        ),
        (
            "0008_room_notifications",
            "fad9e3f5c77d6d0cafe58db8c7fb2db807810055f688d18be547bc0a399cbb16",
            "abe42f897edeb0912f02222cce9057ca12d80be73d26b1ea9700320728b637d0",
        ),
        (
            "0009_notification_sender",
            "0ed2b70927785eaff205c5baea24609363d68628f4eaa7826296457d5a5b030d",
            "0ed2b70927785eaff205c5baea24609363d68628f4eaa7826296457d5a5b030d",
        ),
    ];

    #[test]
    fn migrations_match_their_pinned_checksums() {
        let actual: Vec<(&str, String, String)> = SQLITE
            .iter()
            .zip(POSTGRES)
            .map(|(sqlite, postgres)| (sqlite.name, sqlite.checksum(), postgres.checksum()))
            .collect();
        let pinned: Vec<(&str, String, String)> = PINNED
            .iter()
            .map(|(name, sqlite, postgres)| (*name, sqlite.to_string(), postgres.to_string()))
            .collect();
        assert_eq!(
            pinned, actual,
            "a released migration changed (restore it), or a new one is not pinned yet (pin it)"
        );
    }
}
