//! The admin join over HTTP (see `service::school::admin_join` for who may call it and what
//! it does):
//! - `POST /_synapse/admin/v1/join/{roomIdOrAlias}` with `{"user_id": …}`: one person, as
//!   Synapse's admin API answers it (`{"room_id"}`, or the Matrix error);
//! - `POST /_schulhof/admin/v1/rooms/{roomIdOrAlias}/join` with `{"user_ids": […]}` (at most
//!   `MAX_PEOPLE`): many people in one commit. 200 with the room ID and each person's outcome:
//!   `joined`, `already_joined` (user ID lists) and `refused` (user ID → `errcode` and
//!   `error`); errors of the whole call are Matrix errors.
//!
//! Not rate-limited: only school admins and appservices the admin registered get past the
//! check, and every join goes through the commit path as room events.

use axum::extract::{Path, State};
use axum::routing::MethodFilter;
use ruma::{OwnedRoomOrAliasId, OwnedUserId};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{Json, JsonResult};
use crate::router::{AppStateArg, Routes};
use crate::ruma_wrapper::Authenticated;
use crate::service::school::admin_join::{admin_join, admin_join_many, JoinOutcome};
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .raw_with(
            "/_synapse/admin/v1/join/{room_id_or_alias}",
            MethodFilter::POST,
            join,
        )
        .raw_with(
            "/_schulhof/admin/v1/rooms/{room_id_or_alias}/join",
            MethodFilter::POST,
            join_many,
        )
}

/// The body of Synapse's admin join.
#[derive(Deserialize)]
struct JoinBody {
    /// Who joins.
    user_id: String,
}

/// The body of Schulhof's admin join of many people.
#[derive(Deserialize)]
struct JoinManyBody {
    /// Who joins.
    user_ids: Vec<String>,
}

async fn join(
    State(state): AppStateArg,
    Authenticated(caller): Authenticated,
    Path(room): Path<String>,
    body: axum::body::Bytes,
) -> JsonResult {
    let body: JoinBody = parse_body(&body, "user_id")?;
    let target = user_id(&body.user_id)?;
    let room_id = admin_join(&state, &caller, &target, &room_or_alias(&room)?).await?;
    Ok(Json(json!({ "room_id": room_id })))
}

async fn join_many(
    State(state): AppStateArg,
    Authenticated(caller): Authenticated,
    Path(room): Path<String>,
    body: axum::body::Bytes,
) -> JsonResult {
    let body: JoinManyBody = parse_body(&body, "user_ids")?;
    let targets = body
        .user_ids
        .iter()
        .map(|u| user_id(u))
        .collect::<crate::Result<Vec<_>>>()?;
    let room = room_or_alias(&room)?;
    let (room_id, outcomes) = admin_join_many(&state, &caller, &targets, &room).await?;
    let (mut joined, mut already_joined, mut refused) = (Vec::new(), Vec::new(), Map::new());
    for (target, outcome) in outcomes {
        match outcome {
            JoinOutcome::Joined => joined.push(target),
            JoinOutcome::AlreadyJoined => already_joined.push(target),
            JoinOutcome::Refused(error) => {
                let text = error.text();
                let why = json!({
                    "errcode": error.errcode(),
                    "error": text.get(state.config.language),
                });
                refused.insert(target.to_string(), why);
            }
        }
    }
    Ok(Json(json!({
        "room_id": room_id,
        "joined": joined,
        "already_joined": already_joined,
        "refused": refused,
    })))
}

/// A JSON body: 400 `M_NOT_JSON` if it is not JSON, `M_MISSING_PARAM` naming `field` if it
/// does not have the expected shape.
fn parse_body<T: DeserializeOwned>(body: &[u8], field: &str) -> crate::Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        if serde_json::from_slice::<Value>(body).is_err() {
            Error::NotJson
        } else {
            Error::MissingParam(crate::text!(
                "{} fehlt oder hat die falsche Form: {}",
                "{} is missing or has the wrong shape: {}",
                field,
                e
            ))
        }
    })
}

/// A user ID of the request (400 `M_INVALID_PARAM` if it is none).
fn user_id(text: &str) -> crate::Result<OwnedUserId> {
    OwnedUserId::try_from(text).map_err(|_| {
        Error::invalid_param(
            format!("Ungültige Benutzer-ID: {text}"),
            format!("Invalid user ID: {text}"),
        )
    })
}

/// The room ID or alias of the path (400 `M_INVALID_PARAM` if it is neither).
fn room_or_alias(text: &str) -> crate::Result<OwnedRoomOrAliasId> {
    OwnedRoomOrAliasId::try_from(text).map_err(|_| {
        Error::invalid_param(
            "Ungültige Raum-ID oder ungültiger Raumalias.",
            "Invalid room ID or alias.",
        )
    })
}
