//! Media metadata.

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
