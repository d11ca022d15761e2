//! Password hashing (Argon2id) and access tokens (random, stored as SHA-256 hashes).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

/// Hashes a password with Argon2id and a random salt; returns the PHC string.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters cannot fail")
        .to_string()
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random access token (256 bits of entropy) to hand to the client.
pub fn new_access_token() -> String {
    format!(
        "sht_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 43)
    )
}

/// A new `delay_id` of a delayed event (MSC4140): knowing it is enough to manage the event,
/// so it is as random as an access token (256 bits).
pub fn new_delay_id() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 43)
}

/// A new random device ID.
pub fn new_device_id() -> String {
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 10)
        .to_uppercase()
}

/// The form in which a token is stored: tokens are high-entropy, so a plain SHA-256 suffices.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let phc = hash_password("Geheim!123");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("Geheim!123", &phc));
        assert!(!verify_password("geheim!123", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_access_token();
        let b = new_access_token();
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
