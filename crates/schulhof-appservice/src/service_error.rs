//! What can go wrong while the appservice runs: its files, the homeserver's answers, the
//! directory.

use crate::error::ConfigError;

/// An error of the running appservice (reading its files, talking to the homeserver).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// The registration file cannot be read or is invalid.
    #[error("appservice registration {file}: {message}")]
    Registration {
        /// The file.
        file: String,
        /// What is wrong (names the field).
        message: String,
    },
    /// `config/appservice.toml` is invalid (names line and field).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The school's CSV export cannot be read or is invalid.
    #[error("{file}: {message}")]
    Csv {
        /// The file.
        file: String,
        /// What is wrong (line and field for parse errors).
        message: String,
    },
    /// The homeserver could not be reached or answered something unreadable.
    #[error("{request}: {message}")]
    Http {
        /// Method and path.
        request: String,
        /// What happened.
        message: String,
    },
    /// The homeserver answered with a Matrix error.
    #[error("{request}: {status} {errcode}: {error}")]
    Matrix {
        /// Method and path.
        request: String,
        /// HTTP status.
        status: u16,
        /// The Matrix errcode.
        errcode: String,
        /// The error text.
        error: String,
    },
    /// The homeserver refused one person of a call about many (the call itself succeeded).
    #[error("{request}: {user}: {errcode}: {error}")]
    Refused {
        /// Method and path.
        request: String,
        /// Whom the refusal is about.
        user: String,
        /// The Matrix errcode.
        errcode: String,
        /// The error text.
        error: String,
    },
    /// The registration and `config/appservice.toml` disagree, or the homeserver does not
    /// know the appservice as expected.
    #[error("{0}")]
    Setup(String),
}

impl ServiceError {
    /// The Matrix errcode, if the homeserver answered with one.
    pub fn errcode(&self) -> Option<&str> {
        match self {
            ServiceError::Matrix { errcode, .. } | ServiceError::Refused { errcode, .. } => {
                Some(errcode)
            }
            _ => None,
        }
    }
}
