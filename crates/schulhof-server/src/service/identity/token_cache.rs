//! In-memory cache of access-token lookups, so the hot path (send, sync) needs no database
//! read to authenticate. Entries are removed when their device or user loses its tokens.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::ruma_wrapper::Session;

/// Largest number of cached tokens before the cache is cleared and refilled on demand.
const MAX_ENTRIES: usize = 100_000;

/// Token hash → session.
#[derive(Default)]
pub struct TokenCache {
    entries: RwLock<HashMap<String, Session>>,
}

impl TokenCache {
    /// The cached session for a token hash.
    pub fn get(&self, token_hash: &str) -> Option<Session> {
        self.entries
            .read()
            .expect("token cache")
            .get(token_hash)
            .cloned()
    }

    /// Remembers a looked-up session.
    pub fn insert(&self, token_hash: String, session: Session) {
        let mut entries = self.entries.write().expect("token cache");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token_hash, session);
    }

    /// Forgets every cached token (after a directory change that may have revoked sessions).
    pub fn clear(&self) {
        self.entries.write().expect("token cache").clear();
    }

    /// Forgets every token of `user_id` (of one device, if given).
    pub fn forget(&self, user_id: &str, device_id: Option<&str>) {
        self.entries.write().expect("token cache").retain(|_, s| {
            s.user_id.as_str() != user_id || device_id.is_some_and(|d| s.device_id.as_str() != d)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: &str, device: &str) -> Session {
        Session {
            appservice: None,
            user_id: user.try_into().unwrap(),
            device_id: device.into(),
        }
    }

    #[test]
    fn forgetting_a_device_keeps_the_others() {
        let cache = TokenCache::default();
        cache.insert("h1".into(), session("@a:x", "D1"));
        cache.insert("h2".into(), session("@a:x", "D2"));
        cache.insert("h3".into(), session("@b:x", "D1"));
        cache.forget("@a:x", Some("D1"));
        assert!(cache.get("h1").is_none());
        assert!(cache.get("h2").is_some());
        assert!(cache.get("h3").is_some());
        cache.forget("@a:x", None);
        assert!(cache.get("h2").is_none());
        assert!(cache.get("h3").is_some());
    }
}
