//! The release job: holds whose quiet period ended reach their recipients.
