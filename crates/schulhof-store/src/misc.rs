//! Media metadata.

use crate::db::AnyRow;
use crate::{execute, fetch, scalar, Db, Result, StoreError};

/// The `meta` key of the moment media stopped being served without authentication.
const MEDIA_FREEZE_KEY: &str = "media_freeze_ts";

/// Metadata of an uploaded file (the bytes live under the configured media path).
#[derive(Debug, Clone)]
pub struct MediaRow {
    /// Media ID (the part after the server name in the `mxc://` URI).
    pub media_id: String,
    /// MIME type given at upload.
    pub content_type: String,
    /// File name given at upload.
    pub filename: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// Uploader's user ID.
    pub uploader: String,
}

/// Reads `media_id, content_type, filename, size, uploader`.
impl<R: AnyRow> sqlx::FromRow<'_, R> for MediaRow {
    fn from_row(row: &R) -> sqlx::Result<Self> {
        Ok(MediaRow {
            media_id: row.col(0)?,
            content_type: row.col(1)?,
            filename: row.col(2)?,
            size: row.col(3)?,
            uploader: row.col(4)?,
        })
    }
}

impl Db {
    /// Records an uploaded file; fails with [`StoreError::Conflict`] if the media ID is taken.
    pub async fn create_media(&self, media: &MediaRow, now: i64) -> Result<()> {
        let sql = "INSERT INTO media (media_id, content_type, filename, size, uploader, created_ts)
                   VALUES ($1, $2, $3, $4, $5, $6)";
        execute!(
            self,
            sql,
            [
                &media.media_id,
                &media.content_type,
                &media.filename,
                media.size,
                &media.uploader,
                now
            ]
        )
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// The moment the unauthenticated (legacy) media endpoints were frozen, in ms: `now` the
    /// first time this is called on a database, the stored moment afterwards.
    pub async fn media_freeze(&self, now: i64) -> Result<i64> {
        let insert = "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
        execute!(self, insert, [MEDIA_FREEZE_KEY, now])?;
        let sql = "SELECT value FROM meta WHERE key = $1";
        Ok(scalar!(self, fetch_one, sql, [MEDIA_FREEZE_KEY])?)
    }

    /// When one uploaded file was uploaded (ms), if it exists.
    pub async fn media_uploaded_ts(&self, media_id: &str) -> Result<Option<i64>> {
        let sql = "SELECT created_ts FROM media WHERE media_id = $1";
        Ok(scalar!(self, fetch_optional, sql, [media_id])?)
    }

    /// Looks up the metadata of one uploaded file.
    pub async fn media(&self, media_id: &str) -> Result<Option<MediaRow>> {
        let sql = "SELECT media_id, content_type, filename, size, uploader FROM media WHERE media_id = $1";
        Ok(fetch!(self, fetch_optional, sql, [media_id])?)
    }
}
