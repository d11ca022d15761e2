//! Media metadata.

use crate::db::AnyRow;
use crate::{execute, fetch, Db, Result, StoreError};

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

    /// Looks up the metadata of one uploaded file.
    pub async fn media(&self, media_id: &str) -> Result<Option<MediaRow>> {
        let sql = "SELECT media_id, content_type, filename, size, uploader FROM media WHERE media_id = $1";
        Ok(fetch!(self, fetch_optional, sql, [media_id])?)
    }
}
