//! Rooms as a whole: `POST /createRoom` and `POST /rooms/{roomId}/upgrade`.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::room::{create_room, upgrade_room};
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::rooms::create::create_room;
use crate::service::rooms::upgrade::upgrade;
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<create_room::v3::Request, _, _>(create)
        .endpoint::<upgrade_room::v3::Request, _, _>(upgrade_handler)
}

async fn create(
    State(state): State<Arc<AppState>>,
    req: Ruma<create_room::v3::Request>,
) -> JsonResult {
    let raw = req.json_body.clone().unwrap_or_else(|| json!({}));
    let room_id = create_room(
        &state,
        req.user_id(),
        req.session().appservice.as_deref(),
        &req.body,
        &raw,
    )
    .await?;
    Ok(Json(json!({ "room_id": room_id })))
}

async fn upgrade_handler(
    State(state): State<Arc<AppState>>,
    req: Ruma<upgrade_room::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    let replacement = upgrade(&state, req.user_id(), &b.room_id, &b.new_version).await?;
    Ok(Json(json!({ "replacement_room": replacement })))
}
