//! Login, logout and `whoami`.

use std::sync::Arc;

use crate::service::identity::login::{check_password, open_session};
use axum::extract::State;
use ruma::api::client::account::whoami;
use ruma::api::client::session::{get_login_types, login, logout, logout_all};
use ruma::api::client::uiaa::UserIdentifier;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::appservice;
use crate::state::AppState;
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<get_login_types::v3::Request, _, _>(login_types)
        .endpoint::<login::v3::Request, _, _>(login)
        .endpoint::<logout::v3::Request, _, _>(logout)
        .endpoint::<logout_all::v3::Request, _, _>(logout_all)
        .endpoint::<whoami::v3::Request, _, _>(whoami)
}

async fn login_types(_: Ruma<get_login_types::v3::Request>) -> JsonResult {
    Ok(Json(json!({ "flows": [
        { "type": "m.login.password" },
        { "type": "m.login.application_service" },
    ] })))
}

async fn login(State(state): State<Arc<AppState>>, req: Ruma<login::v3::Request>) -> JsonResult {
    let user_id = match &req.body.login_info {
        login::v3::LoginInfo::Password(password) => {
            let typed = match &password.identifier {
                Some(UserIdentifier::Matrix(id)) => id.user.clone(),
                _ => {
                    return Err(Error::bad_json(
                        "Bitte mit dem Benutzernamen anmelden.",
                        "Please log in with your user name.",
                    ))
                }
            };
            let address = req.client_ip.map(|ip| ip.to_string()).unwrap_or_default();
            check_password(&state, &typed, &password.password, &address)
                .await?
                .0
        }
        login::v3::LoginInfo::ApplicationService(info) => {
            appservice_login(&state, req.optional_session(), info).await?
        }
        _ => {
            return Err(Error::bad_json(
                "Nur die Anmeldung mit Passwort ist möglich.",
                "Only password login is supported.",
            ))
        }
    };
    let (device_id, token) = open_session(
        &state,
        &user_id,
        req.body.device_id.as_deref().map(|d| d.as_str()),
        req.body.initial_device_display_name.as_deref(),
    )
    .await?;
    Ok(Json(json!({
        "user_id": user_id,
        "access_token": token,
        "device_id": device_id,
        "home_server": state.server_name,
        "well_known": { "m.homeserver": { "base_url": state.config.public_baseurl } },
    })))
}

/// `m.login.application_service`: an appservice (its `as_token` in the request) logs in as a
/// user of its namespace.
async fn appservice_login(
    state: &AppState,
    session: Option<&crate::ruma_wrapper::Session>,
    info: &login::v3::ApplicationService,
) -> crate::Result<ruma::OwnedUserId> {
    let registration = session
        .and_then(|s| s.appservice.as_deref())
        .and_then(|id| state.appservices.by_id(id))
        .ok_or_else(appservice::accounts::not_an_appservice)?;
    #[allow(deprecated)]
    let typed = match (&info.identifier, &info.user) {
        (Some(UserIdentifier::Matrix(id)), _) => id.user.clone(),
        (None, Some(user)) => user.clone(),
        _ => {
            return Err(Error::bad_json(
                "Bitte den Benutzer angeben (identifier).",
                "Please name the user (identifier).",
            ))
        }
    };
    appservice::accounts::login_user(state, registration, &typed).await
}

async fn logout(State(state): State<Arc<AppState>>, req: Ruma<logout::v3::Request>) -> JsonResult {
    let session = req.session();
    crate::service::identity::devices::delete_devices(
        &state,
        &session.user_id,
        &[session.device_id.to_string()],
    )
    .await?;
    Ok(Json(json!({})))
}

async fn logout_all(
    State(state): State<Arc<AppState>>,
    req: Ruma<logout_all::v3::Request>,
) -> JsonResult {
    let user_id = req.user_id();
    let devices: Vec<String> = state
        .db
        .devices(user_id.as_str())
        .await?
        .into_iter()
        .map(|d| d.device_id)
        .collect();
    crate::service::identity::devices::delete_devices(&state, user_id, &devices).await?;
    Ok(Json(json!({})))
}

async fn whoami(req: Ruma<whoami::v3::Request>) -> JsonResult {
    let s = req.session();
    let mut body = json!({ "user_id": s.user_id, "is_guest": false });
    // An appservice acting without one of the user's devices has no device to name.
    if s.device_id != crate::ruma_wrapper::APPSERVICE_DEVICE {
        body["device_id"] = json!(s.device_id);
    }
    Ok(Json(body))
}
