//! Account endpoints the school manages itself (registration, deactivation, 3PIDs), password
//! changes, features Schulhof does not offer but clients ask for (TURN, bridges), and the
//! notification history.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::account::{
    change_password, deactivate, get_3pids, get_username_availability, register,
};
use ruma::api::client::push::get_notifications;
use ruma::api::client::thirdparty::get_protocols;
use ruma::api::client::voip::get_turn_server_info;
use schulhof_policy::Action;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::identity::accounts;
use crate::service::identity::uiaa::require_password;
use crate::service::school::policy;
use crate::state::AppState;
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<register::v3::Request, _, _>(registration_disabled)
        .endpoint::<get_username_availability::v3::Request, _, _>(registration_disabled)
        .endpoint::<deactivate::v3::Request, _, _>(deactivation_disabled)
        .endpoint::<change_password::v3::Request, _, _>(change_password)
        .endpoint::<get_3pids::v3::Request, _, _>(threepids)
        .endpoint::<get_turn_server_info::v3::Request, _, _>(turn_server)
        .endpoint::<get_protocols::v3::Request, _, _>(protocols)
        .endpoint::<get_notifications::v3::Request, _, _>(notifications)
}

/// Accounts are created by the school; answered without looking at the request at all.
async fn registration_disabled() -> Error {
    Error::forbidden(
        "Konten werden von der Schule angelegt; eine Selbstregistrierung ist nicht möglich.",
        "Accounts are created by the school; self-registration is not possible.",
    )
}

async fn deactivation_disabled() -> Error {
    Error::forbidden(
        "Konten verwaltet die Schule.",
        "Accounts are managed by the school.",
    )
}

async fn change_password(
    State(state): State<Arc<AppState>>,
    req: Ruma<change_password::v3::Request>,
) -> JsonResult {
    // The school's rights (`may_change_password`) come before the question for the password.
    if let Some(session) = req.optional_session() {
        let user = &session.user_id;
        policy::check(&state, user, &Action::ChangePassword, user.as_str()).await?;
    }
    // The endpoint allows anonymous password resets via e-mail, which Schulhof does not offer.
    let session = req.optional_session().ok_or(Error::MissingToken)?;
    require_password(&state, session.user_id.as_str(), req.json_body.as_ref()).await?;
    accounts::change_password(
        &state,
        session,
        &req.body.new_password,
        req.body.logout_devices,
    )
    .await?;
    Ok(Json(json!({})))
}

async fn threepids(_: Ruma<get_3pids::v3::Request>) -> JsonResult {
    Ok(Json(json!({ "threepids": [] })))
}

/// No TURN server is configured: the spec's required fields with no URIs, which clients read
/// as "no relay available" (calls then use direct connections only).
async fn turn_server(_: Ruma<get_turn_server_info::v3::Request>) -> JsonResult {
    Ok(Json(
        json!({ "username": "", "password": "", "uris": [], "ttl": 86400 }),
    ))
}

async fn protocols(_: Ruma<get_protocols::v3::Request>) -> JsonResult {
    Ok(Json(json!({})))
}

/// The user's notifications, newest first (`service::push::notifications`).
async fn notifications(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_notifications::v3::Request>,
) -> JsonResult {
    let limit = req
        .body
        .limit
        .map(|l| usize::try_from(u64::from(l)).unwrap_or(usize::MAX));
    Ok(Json(
        crate::service::push::notifications::page(
            &state,
            req.user_id(),
            req.body.from.as_deref(),
            limit,
            req.body.only.as_deref(),
        )
        .await?,
    ))
}
