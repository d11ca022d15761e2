//! The Client-Server API's endpoint for application services,
//! `POST /_matrix/client/v1/appservice/{appserviceId}/ping`, and Schulhof's directory read for
//! the school's appservice, `GET /_schulhof/appservice/v1/directory?since=&timeout=`.

use std::sync::Arc;

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::routing::MethodFilter;
use ruma::api::client::appservice::request_ping;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::{Authenticated, Ruma};
use crate::service::appservice::directory::{self, DirectoryRead};
use crate::state::AppState;
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<request_ping::v1::Request, _, _>(ping)
        .raw_with(
            "/_schulhof/appservice/v1/directory",
            MethodFilter::GET,
            read_directory,
        )
}

/// The school directory for the school's appservice (`service::appservice::directory`):
/// `since` is the revision it has, `timeout` how long to wait for a change (ms). Answers
/// `{"revision", "people", "groups"}`, or only `{"revision"}` when nothing changed. Reaches
/// no room and no person's messages; the check of who asks is the registration named in the
/// config, so the policy has nothing to decide.
async fn read_directory(
    State(state): State<Arc<AppState>>,
    Authenticated(caller): Authenticated,
    RawQuery(query): RawQuery,
) -> JsonResult {
    let mut since = None;
    let mut timeout = Duration::ZERO;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let number = || {
            value
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    Error::invalid_param(
                        format!("„{key}“ muss eine nicht negative ganze Zahl sein."),
                        format!("`{key}` must be a non-negative integer."),
                    )
                })
        };
        match key.as_ref() {
            "since" => since = Some(number()?),
            "timeout" => timeout = Duration::from_millis(number()?.unsigned_abs()),
            _ => {}
        }
    }
    match directory::read(&state, &caller, since, timeout).await? {
        DirectoryRead::Changed(export) => {
            Ok(Json(serde_json::to_value(export).map_err(|e| {
                Error::Internal(format!("directory export: {e}"))
            })?))
        }
        DirectoryRead::Unchanged(revision) => Ok(Json(json!({ "revision": revision }))),
    }
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
