//! Presence: `GET/PUT /presence/{userId}/status`. Others' presence (with its free-text
//! status message) only of people one may reach (`service::school::reach`).

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::presence::{get_presence, set_presence};
use ruma::presence::PresenceState;
use schulhof_policy::Channel;
use serde_json::{json, Map, Value};

use super::account_data::require_self;
use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::school::reach::Contacts;
use crate::service::user::presence;
use crate::state::AppState;
use crate::{Error, Result};

/// How long after the last update a user still counts as currently active.
const CURRENTLY_ACTIVE_MS: i64 = 5 * 60 * 1000;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<get_presence::v3::Request, _, _>(get)
        .endpoint::<set_presence::v3::Request, _, _>(set)
}

/// Accepts only the presence states of the spec.
fn check_state(presence: &PresenceState) -> Result<()> {
    if matches!(
        presence,
        PresenceState::Online | PresenceState::Offline | PresenceState::Unavailable
    ) {
        return Ok(());
    }
    Err(Error::InvalidParam(crate::text!(
        "Unbekannter Anwesenheitsstatus: {}",
        "Unknown presence state: {}",
        presence.as_str()
    )))
}

async fn set(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_presence::v3::Request>,
) -> JsonResult {
    let user_id = req.user_id();
    require_self(user_id, &req.body.user_id)?;
    check_state(&req.body.presence)?;
    crate::service::user::presence::set_presence(
        &state,
        user_id,
        req.body.presence.as_str(),
        req.body.status_msg.as_deref(),
    )
    .await?;
    Ok(Json(json!({})))
}

/// The response body for a stored presence `(presence, status_msg, last_active_ts)`.
fn presence_json(presence: &str, status_msg: Option<&str>, last_active_ts: i64, now: i64) -> Value {
    let ago = (now - last_active_ts).max(0);
    let mut body = Map::new();
    body.insert("presence".into(), json!(presence));
    body.insert("last_active_ago".into(), json!(ago));
    body.insert(
        "currently_active".into(),
        json!(presence == "online" && ago < CURRENTLY_ACTIVE_MS),
    );
    if let Some(msg) = status_msg {
        body.insert("status_msg".into(), json!(msg));
    }
    Value::Object(body)
}

async fn get(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_presence::v3::Request>,
) -> JsonResult {
    Contacts::of(&state, req.user_id())
        .require_existing(&req.body.user_id, Channel::Presence)
        .await?;
    let user_id = req.body.user_id.as_str();
    Ok(Json(
        match presence::stored_presence(&state, user_id).await? {
            Some((presence, status_msg, last_active_ts, _)) => presence_json(
                &presence,
                status_msg.as_deref(),
                last_active_ts,
                state.clock.now_ms(),
            ),
            None => json!({ "presence": "offline" }),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_online_presence_is_currently_active() {
        let body = presence_json("online", Some("Im Unterricht"), 1_000, 61_000);
        assert_eq!(
            body,
            json!({ "presence": "online", "last_active_ago": 60_000, "currently_active": true, "status_msg": "Im Unterricht" })
        );
        let stale = presence_json("online", None, 0, CURRENTLY_ACTIVE_MS + 1);
        assert_eq!(stale["currently_active"], json!(false));
        assert!(stale.get("status_msg").is_none());
    }

    #[test]
    fn only_spec_states_are_accepted() {
        assert!(check_state(&PresenceState::Unavailable).is_ok());
        assert_eq!(
            check_state(&PresenceState::from("busy"))
                .unwrap_err()
                .errcode(),
            "M_INVALID_PARAM"
        );
    }
}
