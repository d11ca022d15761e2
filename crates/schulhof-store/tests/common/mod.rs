//! Shared helpers of the store's integration tests: each test runs once on a fresh SQLite file
//! and once on a fresh PostgreSQL database (see `engines.rs`).

// Each test binary uses a part of these helpers.
#![allow(dead_code)]

#[macro_use]
pub mod engines;

pub use engines::{Engine, TempDatabase};
use schulhof_store::Db;

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
