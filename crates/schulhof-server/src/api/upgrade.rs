//! Room upgrades: `POST /rooms/{roomId}/upgrade`.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::room::upgrade_room;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::rooms::upgrade::upgrade;
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.endpoint::<upgrade_room::v3::Request, _, _>(upgrade_handler)
}

async fn upgrade_handler(
    State(state): State<Arc<AppState>>,
    req: Ruma<upgrade_room::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    let replacement = upgrade(&state, req.user_id(), &b.room_id, &b.new_version).await?;
    Ok(Json(json!({ "replacement_room": replacement })))
}
