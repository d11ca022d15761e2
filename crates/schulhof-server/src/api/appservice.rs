//! The Client-Server API's endpoint for application services:
//! `POST /_matrix/client/v1/appservice/{appserviceId}/ping`.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::appservice::request_ping;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::state::AppState;
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.endpoint::<request_ping::v1::Request, _, _>(ping)
}

/// Has the server ping the appservice that asks (its own `as_token`, the ID in the path) and
/// answers how long that took. Reaches no person, so the school policy has nothing to decide.
async fn ping(
    State(state): State<Arc<AppState>>,
    req: Ruma<request_ping::v1::Request>,
) -> JsonResult {
    let registration = req
        .session()
        .appservice
        .as_deref()
        .filter(|id| *id == req.body.appservice_id)
        .and_then(|id| state.appservices.by_id(id))
        .ok_or_else(|| {
            Error::forbidden(
                "Nur der Anwendungsdienst selbst kann sich anpingen lassen.",
                "Only the application service itself may ask for its ping.",
            )
        })?;
    let transaction_id = req.body.transaction_id.as_ref().map(|t| t.as_str());
    let duration = state
        .appservices
        .client
        .ping(registration, transaction_id)
        .await?;
    Ok(Json(json!({ "duration_ms": duration.as_millis() as u64 })))
}
