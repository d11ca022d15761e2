//! Media metadata.

use sqlx::Row;

use crate::{with_db, Db, Result, StoreError};

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

impl Db {
    /// Records an uploaded file; fails with [`StoreError::Conflict`] if the media ID is taken.
    pub async fn create_media(&self, media: &MediaRow, now: i64) -> Result<()> {
        let sql = "INSERT INTO media (media_id, content_type, filename, size, uploader, created_ts)
                   VALUES ($1, $2, $3, $4, $5, $6)";
        with_db!(self, |c| sqlx::query(sql)
            .bind(&media.media_id)
            .bind(&media.content_type)
            .bind(&media.filename)
            .bind(media.size)
            .bind(&media.uploader)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Looks up the metadata of one uploaded file.
    pub async fn media(&self, media_id: &str) -> Result<Option<MediaRow>> {
        let sql = "SELECT media_id, content_type, filename, size, uploader FROM media WHERE media_id = $1";
        let row = with_db!(self, |c| {
            let row = sqlx::query(sql).bind(media_id).fetch_optional(c).await?;
            row.map(|r| -> sqlx::Result<MediaRow> {
                Ok(MediaRow {
                    media_id: r.try_get(0)?,
                    content_type: r.try_get(1)?,
                    filename: r.try_get(2)?,
                    size: r.try_get(3)?,
                    uploader: r.try_get(4)?,
                })
            })
            .transpose()
        })?;
        Ok(row)
    }
}
