//! Typing notifications, read receipts and read markers.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use ruma::api::client::read_marker::set_read_marker;
use ruma::api::client::receipt::create_receipt::{self, v3::ReceiptType};
use ruma::api::client::typing::create_typing_event::{self, v3::Typing};
use ruma::events::receipt::ReceiptThread;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::rooms::receipts::{set_fully_read, set_receipt};
use crate::service::rooms::Audience;
use crate::service::school::policy;
use crate::state::AppState;
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<create_typing_event::v3::Request, _, _>(typing)
        .endpoint::<create_receipt::v3::Request, _, _>(receipt)
        .endpoint::<set_read_marker::v3::Request, _, _>(read_markers)
}

async fn typing(
    State(state): State<Arc<AppState>>,
    req: Ruma<create_typing_event::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    if &b.user_id != req.user_id() {
        return Err(Error::forbidden(
            "Nur der eigene Tippstatus lässt sich setzen.",
            "You can only set your own typing status.",
        ));
    }
    let room = crate::service::rooms::Rooms::current(&state, &b.room_id).await?;
    room.require_joined(&b.user_id)?;
    let timeout = match &b.state {
        Typing::Yes(info) => Some(info.timeout.max(Duration::from_millis(1))),
        _ => None,
    };
    if timeout.is_some() {
        policy::check_signal(&state, &room, &b.user_id, "m.typing").await?;
    }
    if state
        .typing
        .set(b.room_id.as_str(), b.user_id.as_str(), timeout)
    {
        state.notifier.notify(
            room.members(Audience::Joined).map(|u| u.as_str()),
            state.writer.current(),
        );
    }
    Ok(Json(json!({})))
}

fn thread_id(thread: &ReceiptThread) -> &str {
    thread.as_str().unwrap_or_default()
}

async fn receipt(
    State(state): State<Arc<AppState>>,
    req: Ruma<create_receipt::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    let me = req.user_id();
    match &b.receipt_type {
        ReceiptType::FullyRead => set_fully_read(&state, me, &b.room_id, &b.event_id).await?,
        other => {
            set_receipt(
                &state,
                me,
                &b.room_id,
                other.as_str(),
                thread_id(&b.thread),
                &b.event_id,
            )
            .await?
        }
    }
    Ok(Json(json!({})))
}

async fn read_markers(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_read_marker::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    let me = req.user_id();
    if let Some(event_id) = &b.fully_read {
        set_fully_read(&state, me, &b.room_id, event_id).await?;
    }
    if let Some(event_id) = &b.read_receipt {
        set_receipt(&state, me, &b.room_id, "m.read", "", event_id).await?;
    }
    if let Some(event_id) = &b.private_read_receipt {
        set_receipt(&state, me, &b.room_id, "m.read.private", "", event_id).await?;
    }
    Ok(Json(json!({})))
}
