//! Password hashing off the async runtime, at most two at a time: Argon2id needs about 19 MiB
//! per hash, so a burst of logins must not multiply the server's memory.

use tokio::sync::Semaphore;

use crate::auth::{hash_password, verify_password};
use crate::{Error, Result};

/// How many Argon2 computations may run at once.
const PARALLEL_HASHES: usize = 2;

/// Bounded Argon2id hashing and verification.
pub struct Passwords {
    permits: Semaphore,
}

impl Default for Passwords {
    fn default() -> Self {
        Self {
            permits: Semaphore::new(PARALLEL_HASHES),
        }
    }
}

impl Passwords {
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// Hashes a new password (Argon2id, random salt).
    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_owned();
        self.run(move || hash_password(&password)).await
    }

    /// Checks a password against a stored hash (`None`: account without password).
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool> {
        let Some(phc) = phc else { return Ok(false) };
        let (password, phc) = (password.to_owned(), phc.to_owned());
        self.run(move || verify_password(&password, &phc)).await
    }
}
