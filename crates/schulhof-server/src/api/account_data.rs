//! Global and per-room account data: `/user/{userId}/account_data/{type}` and
//! `/user/{userId}/rooms/{roomId}/account_data/{type}`.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::config::{
    get_global_account_data, get_room_account_data, set_global_account_data, set_room_account_data,
};
use ruma::serde::Raw;
use ruma::{RoomId, UserId};
use serde_json::{json, Value};

use super::push::ruleset_json;
use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::push::rules::{PushRules, PUSH_RULES_TYPE};
use crate::service::user::account_data::{account_data, set_account_data};
use crate::state::AppState;
use crate::{Error, Result};

/// Room account data type that only read markers may set.
const FULLY_READ_TYPE: &str = "m.fully_read";

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<get_global_account_data::v3::Request, _, _>(get_global)
        .endpoint::<set_global_account_data::v3::Request, _, _>(set_global)
        .endpoint::<get_room_account_data::v3::Request, _, _>(get_room)
        .endpoint::<set_room_account_data::v3::Request, _, _>(set_room)
}

/// Per-user data (account data, filters, presence, profile changes) is only for its owner.
pub(super) fn require_self(requester: &UserId, target: &UserId) -> Result<()> {
    if requester == target {
        return Ok(());
    }
    Err(Error::forbidden(
        "Das geht nur für das eigene Konto.",
        "You can only do this for your own account.",
    ))
}

fn not_set() -> Error {
    Error::not_found(
        "Diese Kontodaten sind nicht gesetzt.",
        "No account data of this type has been set.",
    )
}

/// The JSON object a client wants to store.
fn content<T>(data: &Raw<T>) -> Result<Value> {
    serde_json::from_str::<Value>(data.json().get())
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            Error::bad_json(
                "Kontodaten müssen ein JSON-Objekt sein.",
                "Account data must be a JSON object.",
            )
        })
}

/// Refuses types that the server maintains itself.
fn require_client_writable(data_type: &str, server_controlled: &str) -> Result<()> {
    if data_type != server_controlled {
        return Ok(());
    }
    Err(Error::ServerControlled(crate::text!(
        "{} kann nicht über diese Schnittstelle gesetzt werden.",
        "Cannot set {} through this API.",
        data_type
    )))
}

async fn get_global(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_global_account_data::v3::Request>,
) -> JsonResult {
    let user_id = &req.body.user_id;
    require_self(req.user_id(), user_id)?;
    let data_type = req.body.event_type.to_string();
    if data_type == PUSH_RULES_TYPE {
        // Push rules exist (as server defaults) before the user first changes them.
        let ruleset = PushRules::of(&state, user_id).await?;
        return Ok(Json(json!({ "global": ruleset_json(&ruleset.ruleset) })));
    }
    account_data(&state, user_id, None, &data_type)
        .await?
        .map(Json)
        .ok_or_else(not_set)
}

async fn set_global(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_global_account_data::v3::Request>,
) -> JsonResult {
    let user_id = &req.body.user_id;
    require_self(req.user_id(), user_id)?;
    let data_type = req.body.event_type.to_string();
    require_client_writable(&data_type, PUSH_RULES_TYPE)?;
    set_account_data(&state, user_id, None, &data_type, &content(&req.body.data)?).await?;
    Ok(Json(json!({})))
}

async fn get_room(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_room_account_data::v3::Request>,
) -> JsonResult {
    let user_id = &req.body.user_id;
    require_self(req.user_id(), user_id)?;
    let room_id: &RoomId = &req.body.room_id;
    account_data(
        &state,
        user_id,
        Some(room_id),
        &req.body.event_type.to_string(),
    )
    .await?
    .map(Json)
    .ok_or_else(not_set)
}

async fn set_room(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_room_account_data::v3::Request>,
) -> JsonResult {
    let user_id = &req.body.user_id;
    require_self(req.user_id(), user_id)?;
    let data_type = req.body.event_type.to_string();
    require_client_writable(&data_type, FULLY_READ_TYPE)?;
    set_account_data(
        &state,
        user_id,
        Some(&req.body.room_id),
        &data_type,
        &content(&req.body.data)?,
    )
    .await?;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_objects_are_account_data() {
        let object: Raw<Value> = Raw::from_json_string(r#"{"a":1}"#.into()).unwrap();
        assert_eq!(content(&object).unwrap(), json!({ "a": 1 }));
        let array: Raw<Value> = Raw::from_json_string("[1]".into()).unwrap();
        assert_eq!(content(&array).unwrap_err().errcode(), "M_BAD_JSON");
    }

    #[test]
    fn server_controlled_types_are_refused() {
        assert!(require_client_writable("org.example", FULLY_READ_TYPE).is_ok());
        let err = require_client_writable(FULLY_READ_TYPE, FULLY_READ_TYPE).unwrap_err();
        assert!(matches!(err, Error::ServerControlled(_)));
        assert_eq!(err.errcode(), "M_BAD_JSON");
    }
}
