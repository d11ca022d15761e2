//! Reporting content: `POST /rooms/{roomId}/report/{eventId}`, `POST /rooms/{roomId}/report`
//! and `POST /users/{userId}/report`.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::reporting::report_user;
use ruma::api::client::room::{report_content, report_room};
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::rooms::report::{report, Reported};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<report_content::v3::Request, _, _>(event)
        .endpoint::<report_room::v3::Request, _, _>(room)
        .endpoint::<report_user::v3::Request, _, _>(user)
}

async fn event(
    State(state): State<Arc<AppState>>,
    req: Ruma<report_content::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    let reported = Reported::Event {
        room_id: &b.room_id,
        event_id: &b.event_id,
    };
    let reason = b.reason.as_deref().unwrap_or_default();
    report(&state, req.user_id(), reported, reason).await?;
    Ok(Json(json!({})))
}

async fn room(
    State(state): State<Arc<AppState>>,
    req: Ruma<report_room::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    report(&state, req.user_id(), Reported::Room(&b.room_id), &b.reason).await?;
    Ok(Json(json!({})))
}

async fn user(
    State(state): State<Arc<AppState>>,
    req: Ruma<report_user::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    report(&state, req.user_id(), Reported::User(&b.user_id), &b.reason).await?;
    Ok(Json(json!({})))
}
