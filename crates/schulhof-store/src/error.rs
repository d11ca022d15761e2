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
}

impl StoreError {
    /// Maps unique-constraint violations to [`StoreError::Conflict`].
    pub(crate) fn from_write(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Sqlx(err),
        }
    }
}
