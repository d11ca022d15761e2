//! Short web sessions for the pages behind a login (password reset, quiet hours): a random
//! 256-bit id in an `HttpOnly`, `SameSite=Strict` cookie, kept only in memory, valid for 15
//! minutes after last use and only on the page it was opened for.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ruma::OwnedUserId;

use super::random_token;

/// Name of the session cookie.
pub const COOKIE: &str = "schulhof_web_session";

/// How long a session lives without being used.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The open web sessions.
#[derive(Default)]
pub struct WebSessions {
    sessions: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    user_id: OwnedUserId,
    page: &'static str,
    expires: Instant,
}

impl WebSessions {
    /// Opens a session for `user_id` on the page at `page` and returns its id (dropping
    /// expired sessions).
    pub fn create(&self, user_id: OwnedUserId, page: &'static str) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("web sessions lock");
        sessions.retain(|_, e| e.expires > now);
        sessions.insert(
            id.clone(),
            Entry {
                user_id,
                page,
                expires: now + IDLE_TIMEOUT,
            },
        );
        id
    }

    /// The user of a live session on the page at `page`, extending its life; `None` when
    /// unknown, expired or opened for another page.
    pub fn user(&self, id: &str, page: &str) -> Option<OwnedUserId> {
        self.user_at(id, page, Instant::now())
    }

    fn user_at(&self, id: &str, page: &str, now: Instant) -> Option<OwnedUserId> {
        let mut sessions = self.sessions.lock().expect("web sessions lock");
        let entry = sessions.get_mut(id).filter(|entry| entry.page == page)?;
        if entry.expires <= now {
            sessions.remove(id);
            return None;
        }
        entry.expires = now + IDLE_TIMEOUT;
        Some(entry.user_id.clone())
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.sessions.lock().expect("web sessions lock").remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_after_idle_time_and_can_be_ended() {
        let sessions = WebSessions::default();
        let anna: OwnedUserId = "@anna:schule.test".try_into().unwrap();
        let id = sessions.create(anna.clone(), "/a");
        assert_eq!(id.len(), 43);
        assert_eq!(sessions.user(&id, "/a"), Some(anna.clone()));
        assert_eq!(sessions.user(&id, "/b"), None, "only on its own page");
        assert_eq!(sessions.user("unknown", "/a"), None);
        let later = Instant::now() + IDLE_TIMEOUT + Duration::from_secs(1);
        assert_eq!(sessions.user_at(&id, "/a", later), None);
        assert_eq!(sessions.user(&id, "/a"), None, "expired session is gone");

        let id = sessions.create(anna, "/a");
        sessions.remove(&id);
        assert_eq!(sessions.user(&id, "/a"), None);
    }
}
