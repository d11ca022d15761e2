//! Uploaded files: storage on disk and thumbnails.
