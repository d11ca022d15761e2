//! Synapse's admin API, as far as Schulhof offers it: `POST /_synapse/admin/v1/join/{roomIdOrAlias}`
//! with `{"user_id": …}` makes a person join a room (see `service::school::admin_join` for
//! who may call it). Errors are Matrix error responses, as Synapse answers.
//!
//! Not rate-limited: only school admins and appservices the admin registered get past the
//! check, and each join is two room events through the commit path.

use axum::extract::{Path, State};
use axum::routing::MethodFilter;
use ruma::{OwnedRoomOrAliasId, OwnedUserId};
use serde::Deserialize;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::{AppStateArg, Routes};
use crate::ruma_wrapper::Authenticated;
use crate::service::school::admin_join::admin_join;
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.raw_with(
        "/_synapse/admin/v1/join/{room_id_or_alias}",
        MethodFilter::POST,
        join,
    )
}

/// The request body.
#[derive(Deserialize)]
struct JoinBody {
    /// Who joins.
    user_id: String,
}

async fn join(
    State(state): AppStateArg,
    Authenticated(caller): Authenticated,
    Path(room): Path<String>,
    body: axum::body::Bytes,
) -> JsonResult {
    let body: JoinBody = serde_json::from_slice(&body).map_err(|e| {
        if serde_json::from_slice::<serde_json::Value>(&body).is_err() {
            Error::NotJson
        } else {
            Error::MissingParam(crate::text!(
                "user_id fehlt oder ist kein Text: {}",
                "user_id is missing or not a string: {}",
                e
            ))
        }
    })?;
    let target = OwnedUserId::try_from(body.user_id.as_str())
        .map_err(|_| Error::invalid_param("Ungültige user_id.", "Invalid user_id."))?;
    let room = OwnedRoomOrAliasId::try_from(room.as_str()).map_err(|_| {
        Error::invalid_param(
            "Ungültige Raum-ID oder ungültiger Raumalias.",
            "Invalid room ID or alias.",
        )
    })?;
    let room_id = admin_join(&state, &caller, &target, &room).await?;
    Ok(Json(json!({ "room_id": room_id })))
}
