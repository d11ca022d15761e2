//! The server's secret key: 32 random bytes in a file outside the database (created on first
//! start, readable only by the server's user). It keys the MACs of start codes, so a stolen
//! database alone does not reveal them.

use std::io::Write;
use std::path::Path;

use rand::RngCore;

use crate::{Error, Result};

/// The loaded secret key.
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// Loads the key from `path`, creating it (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<SecretKey> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    Error::Internal(format!(
                        "secret key file {} must hold exactly 32 bytes",
                        path.display()
                    ))
                })?;
                Ok(SecretKey(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Error::Internal(format!("{}: {e}", dir.display())))?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options
                    .open(path)
                    .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
                file.write_all(&key)
                    .and_then(|_| file.sync_all())
                    .map_err(|e| Error::Internal(e.to_string()))?;
                Ok(SecretKey(key))
            }
            Err(e) => Err(Error::Internal(format!(
                "secret key file {}: {e}",
                path.display()
            ))),
        }
    }

    /// The key bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}
