//! Stored `/sync` filters: `POST /user/{userId}/filter` and `GET /user/{userId}/filter/{filterId}`.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::filter::{create_filter, get_filter};
use serde_json::json;

use super::account_data::require_self;
use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::user::account_data::{parse_filter, stored_filter};
use crate::state::AppState;
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<create_filter::v3::Request, _, _>(create)
        .endpoint::<get_filter::v3::Request, _, _>(get)
}

async fn create(
    State(state): State<Arc<AppState>>,
    req: Ruma<create_filter::v3::Request>,
) -> JsonResult {
    require_self(req.user_id(), &req.body.user_id)?;
    // Stored as uploaded, so a later download returns exactly what the client sent.
    let json = req
        .json_body
        .clone()
        .filter(|j| j.is_object())
        .ok_or_else(|| {
            Error::bad_json(
                "Ein Filter muss ein JSON-Objekt sein.",
                "A filter must be a JSON object.",
            )
        })?;
    parse_filter(json.clone())?;
    let filter_id = state
        .db
        .create_filter(req.user_id().as_str(), &json.to_string())
        .await?;
    Ok(Json(json!({ "filter_id": filter_id.to_string() })))
}

async fn get(State(state): State<Arc<AppState>>, req: Ruma<get_filter::v3::Request>) -> JsonResult {
    require_self(req.user_id(), &req.body.user_id)?;
    Ok(Json(
        stored_filter(&state, &req.body.user_id, &req.body.filter_id).await?,
    ))
}
