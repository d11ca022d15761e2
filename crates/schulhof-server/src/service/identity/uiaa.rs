//! User-interactive authentication (UIA) with the `m.login.password` stage.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};
use serde_json::{json, Value};

use crate::state::AppState;
use crate::{Error, Result};

/// Open UIA sessions: session ID → (user, created).
#[derive(Default)]
pub struct UiaaSessions {
    sessions: Mutex<HashMap<String, (String, Instant)>>,
}

impl UiaaSessions {
    fn open(&self, user_id: &str) -> String {
        let id = Alphanumeric.sample_string(&mut rand::thread_rng(), 24);
        let mut sessions = self.sessions.lock().expect("uiaa lock");
        sessions.retain(|_, (_, created)| created.elapsed() < Duration::from_secs(600));
        sessions.insert(id.clone(), (user_id.to_owned(), Instant::now()));
        id
    }

    fn close(&self, session: &str) {
        self.sessions.lock().expect("uiaa lock").remove(session);
    }
}

fn challenge(session: &str, failed: bool) -> Error {
    let mut body = json!({
        "flows": [{ "stages": ["m.login.password"] }],
        "params": {},
        "session": session,
    });
    if failed {
        body["errcode"] = json!("M_FORBIDDEN");
        body["error"] = json!("Falsches Passwort.");
    }
    Error::Uiaa(Box::new(body))
}

/// Checks the `auth` object of a request body for `user_id`: passes if it holds the right
/// password, otherwise answers with a 401 challenge (and `M_FORBIDDEN` on a wrong password).
pub async fn require_password(state: &AppState, user_id: &str, body: Option<&Value>) -> Result<()> {
    let auth = body.and_then(|b| b.get("auth")).filter(|a| a.is_object());
    let Some(auth) = auth else {
        return Err(challenge(&state.uiaa.open(user_id), false));
    };
    let session = auth
        .get("session")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| state.uiaa.open(user_id));
    if auth.get("type").and_then(Value::as_str) != Some("m.login.password") {
        return Err(challenge(&session, false));
    }
    let password = auth
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let claimed = auth
        .get("identifier")
        .and_then(|i| i.get("user"))
        .or_else(|| auth.get("user"))
        .and_then(Value::as_str);
    let names_someone_else =
        claimed.is_some_and(|c| c != user_id && !user_id.starts_with(&format!("@{c}:")));
    state.rate_limiter.check_login(user_id)?;
    let hash = state.db.user(user_id).await?.and_then(|u| u.password_hash);
    if names_someone_else || !state.passwords.verify(password, hash.as_deref()).await? {
        return Err(challenge(&session, true));
    }
    state.uiaa.close(&session);
    Ok(())
}
