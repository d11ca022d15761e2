//! Room aliases, room directory visibility and `/publicRooms`.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::alias::{create_alias, delete_alias, get_alias};
use ruma::api::client::directory::{
    get_public_rooms, get_public_rooms_filtered, get_room_visibility, set_room_visibility,
};
use ruma::api::client::room::{aliases, Visibility};
use schulhof_policy::Action;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::{MaybeAuthenticated, Ruma};
use crate::service::rooms::room_directory as directory;
use crate::service::school::policy;
use crate::state::AppState;
use crate::Error;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<create_alias::v3::Request, _, _>(put_alias)
        .endpoint::<get_alias::v3::Request, _, _>(get_alias_handler)
        .endpoint::<delete_alias::v3::Request, _, _>(delete_alias_handler)
        .endpoint::<aliases::v3::Request, _, _>(room_aliases)
        .endpoint::<get_room_visibility::v3::Request, _, _>(get_visibility)
        .endpoint::<set_room_visibility::v3::Request, _, _>(set_visibility)
        .endpoint::<get_public_rooms::v3::Request, _, _>(public_rooms)
        .endpoint::<get_public_rooms_filtered::v3::Request, _, _>(public_rooms_filtered)
}

async fn put_alias(
    State(state): State<Arc<AppState>>,
    req: Ruma<create_alias::v3::Request>,
) -> JsonResult {
    directory::create_alias(
        &state,
        req.user_id(),
        req.session().appservice.as_deref(),
        &req.body.room_alias,
        &req.body.room_id,
    )
    .await?;
    Ok(Json(json!({})))
}

async fn get_alias_handler(
    State(state): State<Arc<AppState>>,
    MaybeAuthenticated(asker): MaybeAuthenticated,
    req: Ruma<get_alias::v3::Request>,
) -> JsonResult {
    let asker = asker.as_ref().map(|s| s.user_id.as_ref());
    let room_id = directory::resolve_alias(&state, asker, &req.body.room_alias).await?;
    Ok(Json(
        json!({ "room_id": room_id, "servers": [state.server_name] }),
    ))
}

async fn delete_alias_handler(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_alias::v3::Request>,
) -> JsonResult {
    directory::delete_alias(&state, req.user_id(), &req.body.room_alias).await?;
    Ok(Json(json!({})))
}

async fn room_aliases(
    State(state): State<Arc<AppState>>,
    req: Ruma<aliases::v3::Request>,
) -> JsonResult {
    let aliases = directory::room_aliases(&state, req.user_id(), &req.body.room_id).await?;
    Ok(Json(json!({ "aliases": aliases })))
}

async fn get_visibility(
    State(state): State<Arc<AppState>>,
    MaybeAuthenticated(asker): MaybeAuthenticated,
    req: Ruma<get_room_visibility::v3::Request>,
) -> JsonResult {
    let asker = asker.as_ref().map(|s| s.user_id.as_ref());
    let published = directory::published(&state, asker, &req.body.room_id).await?;
    Ok(Json(
        json!({ "visibility": if published { "public" } else { "private" } }),
    ))
}

async fn set_visibility(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_room_visibility::v3::Request>,
) -> JsonResult {
    let room = crate::service::rooms::Rooms::current(&state, &req.body.room_id).await?;
    if !room
        .power_levels()
        .user_can_send_state(req.user_id(), "m.room.canonical_alias".into())
    {
        return Err(Error::forbidden(
            "Diesen Raum im Verzeichnis zu veröffentlichen, ist hier nicht erlaubt.",
            "You may not publish this room in the directory.",
        ));
    }
    let public = req.body.visibility == Visibility::Public;
    if public {
        policy::check(
            &state,
            req.user_id(),
            &Action::PublishRoom,
            req.body.room_id.as_str(),
        )
        .await?;
    }
    state
        .db
        .set_room_published(req.body.room_id.as_str(), public)
        .await?;
    Ok(Json(json!({})))
}

async fn public_rooms(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_public_rooms::v3::Request>,
) -> JsonResult {
    let limit = req.body.limit.map(|l| u64::from(l) as usize);
    Ok(Json(
        directory::public_rooms(&state, None, None, limit, req.body.since.as_deref()).await?,
    ))
}

async fn public_rooms_filtered(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_public_rooms_filtered::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    let limit = b.limit.map(|l| u64::from(l) as usize);
    Ok(Json(
        directory::public_rooms(
            &state,
            Some(req.user_id()),
            b.filter.generic_search_term.as_deref(),
            limit,
            b.since.as_deref(),
        )
        .await?,
    ))
}
