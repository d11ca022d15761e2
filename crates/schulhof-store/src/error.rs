//! The store's error type.

/// Anything that can go wrong while talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names an engine Schulhof does not support.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The database driver failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A file or directory for the database could not be created.
    #[error("cannot create database directory: {0}")]
    Io(String),
    /// Another `schulhof serve` already serves this database.
    #[error(
        "another `schulhof serve` process already serves {0}; only one may write to a database"
    )]
    AlreadyServing(String),
    /// A row would violate a uniqueness rule (the key already exists).
    #[error("already exists")]
    Conflict,
    /// The database schema cannot be brought up to date.
    #[error(transparent)]
    Migration(#[from] MigrationError),
}

/// Why the schema of a database cannot be brought up to date at start.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// A migration file was edited after the database had applied it.
    #[error(
        "database migration {name} was changed after this database applied it (recorded checksum \
         {recorded}, built-in {built_in}): an applied migration must never be edited; restore the \
         original file and put the change into a new migration"
    )]
    Changed {
        /// File name of the migration, without `.sql`.
        name: &'static str,
        /// Checksum recorded when the database applied it.
        recorded: String,
        /// Checksum of the migration built into this program.
        built_in: String,
    },
    /// The database has a migration this program does not know.
    #[error(
        "the database has migration {version} ({name}) applied, but this Schulhof only knows \
         migrations up to {known}: a newer Schulhof has upgraded the database; run that version \
         or a newer one, or restore a backup taken before the upgrade"
    )]
    Unknown {
        /// Version of the unknown migration.
        version: i64,
        /// Its name as recorded.
        name: String,
        /// The newest version this program knows.
        known: i64,
    },
    /// A migration is missing below one that is applied (it was added out of order).
    #[error(
        "database migration {missing} is not applied, but the later migration {newest} is: \
         migrations must be added after the newest released one, never between"
    )]
    Gap {
        /// The first migration that is not applied.
        missing: &'static str,
        /// The newest applied version.
        newest: i64,
    },
    /// A migration's SQL failed; its transaction was rolled back.
    #[error("database migration {name} failed and was rolled back: {source}")]
    Failed {
        /// File name of the migration, without `.sql`.
        name: &'static str,
        /// What the database said.
        source: sqlx::Error,
    },
}

impl StoreError {
    /// Whether SQLite refused because another connection held a lock that its own wait does not
    /// cover (`SQLITE_BUSY` and its extended codes: "database is locked").
    pub(crate) fn is_sqlite_busy(&self) -> bool {
        const SQLITE_BUSY: i32 = 5;
        let source = match self {
            StoreError::Sqlx(source)
            | StoreError::Migration(MigrationError::Failed { source, .. }) => source,
            _ => return false,
        };
        matches!(source, sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                && db.code().and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(|code| code & 0xff == SQLITE_BUSY))
    }

    /// Maps unique-constraint violations to [`StoreError::Conflict`].
    pub(crate) fn from_write(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Sqlx(err),
        }
    }
}
