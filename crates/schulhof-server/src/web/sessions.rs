//! Short web sessions for the password-reset page: a random 256-bit id in an `HttpOnly`,
//! `SameSite=Strict` cookie, kept only in memory and valid for 15 minutes after last use.

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
    expires: Instant,
}

impl WebSessions {
    /// Opens a session for `user_id` and returns its id (dropping expired sessions).
    pub fn create(&self, user_id: OwnedUserId) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("web sessions lock");
        sessions.retain(|_, e| e.expires > now);
        sessions.insert(
            id.clone(),
            Entry {
                user_id,
                expires: now + IDLE_TIMEOUT,
            },
        );
        id
    }

    /// The user of a live session, extending its life; `None` when unknown or expired.
    pub fn user(&self, id: &str) -> Option<OwnedUserId> {
        self.user_at(id, Instant::now())
    }

    fn user_at(&self, id: &str, now: Instant) -> Option<OwnedUserId> {
        let mut sessions = self.sessions.lock().expect("web sessions lock");
        let entry = sessions.get_mut(id)?;
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
        let id = sessions.create(anna.clone());
        assert_eq!(id.len(), 43);
        assert_eq!(sessions.user(&id), Some(anna.clone()));
        assert_eq!(sessions.user("unknown"), None);
        let later = Instant::now() + IDLE_TIMEOUT + Duration::from_secs(1);
        assert_eq!(sessions.user_at(&id, later), None);
        assert_eq!(sessions.user(&id), None, "expired session is gone");

        let id = sessions.create(anna);
        sessions.remove(&id);
        assert_eq!(sessions.user(&id), None);
    }
}
