//! Room tags (favourites, low priority, …), stored as room account data `m.tag`.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::tag::{create_tag, delete_tag, get_tags};
use ruma::{RoomId, UserId};
use serde_json::{json, Map, Value};

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::user::account_data::{account_data, set_account_data};
use crate::state::AppState;
use crate::{Error, Result};

const TAG_TYPE: &str = "m.tag";

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<get_tags::v3::Request, _, _>(get)
        .endpoint::<create_tag::v3::Request, _, _>(put)
        .endpoint::<delete_tag::v3::Request, _, _>(delete)
}

fn only_own(asker: &UserId, owner: &UserId) -> Result<()> {
    if asker != owner {
        return Err(Error::forbidden(
            "Nur die eigenen Markierungen lassen sich sehen und ändern.",
            "You can only see and change your own tags.",
        ));
    }
    Ok(())
}

async fn current_tags(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
) -> Result<Map<String, Value>> {
    let content = account_data(state, user_id, Some(room_id), TAG_TYPE).await?;
    Ok(content
        .and_then(|c| c.get("tags").and_then(Value::as_object).cloned())
        .unwrap_or_default())
}

async fn store_tags(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
    tags: Map<String, Value>,
) -> Result<()> {
    set_account_data(
        state,
        user_id,
        Some(room_id),
        TAG_TYPE,
        &json!({ "tags": tags }),
    )
    .await?;
    Ok(())
}

async fn get(State(state): State<Arc<AppState>>, req: Ruma<get_tags::v3::Request>) -> JsonResult {
    only_own(req.user_id(), &req.body.user_id)?;
    Ok(Json(
        json!({ "tags": current_tags(&state, &req.body.user_id, &req.body.room_id).await? }),
    ))
}

async fn put(State(state): State<Arc<AppState>>, req: Ruma<create_tag::v3::Request>) -> JsonResult {
    let b = &req.body;
    only_own(req.user_id(), &b.user_id)?;
    let mut tags = current_tags(&state, &b.user_id, &b.room_id).await?;
    let info = req
        .json_body
        .clone()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    tags.insert(b.tag.clone(), info);
    store_tags(&state, &b.user_id, &b.room_id, tags).await?;
    Ok(Json(json!({})))
}

async fn delete(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_tag::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    only_own(req.user_id(), &b.user_id)?;
    let mut tags = current_tags(&state, &b.user_id, &b.room_id).await?;
    if tags.remove(&b.tag).is_some() {
        store_tags(&state, &b.user_id, &b.room_id, tags).await?;
    }
    Ok(Json(json!({})))
}
