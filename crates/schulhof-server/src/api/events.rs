//! Sending and reading room events: send, state, redact, messages, context, event, relations,
//! threads, members.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::routing::MethodFilter;
use ruma::api::client::context::get_context;
use ruma::api::client::membership::{get_member_events, joined_members};
use ruma::api::client::message::{get_message_events, send_message_event};
use ruma::api::client::redact::redact_event;
use ruma::api::client::relations::{
    get_relating_events, get_relating_events_with_rel_type,
    get_relating_events_with_rel_type_and_event_type,
};
use ruma::api::client::room::get_room_event;
use ruma::api::client::state::{get_state_event_for_key, get_state_events, send_state_event};
use ruma::api::client::threads::get_threads;
use ruma::api::Direction;
use ruma::{OwnedRoomId, RoomId, UserId};
use serde_json::{json, Value};

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::{read_body, Authenticated, Ruma, Session};
use crate::service::delayed::{self, Scheduled};
use crate::service::read;
use crate::service::read::history::{self as timeline, format_events, parse_token, PageRequest};
use crate::service::read::relations::{self, RelationsRequest};
use crate::service::rooms::{EventTemplate, Rooms};
use crate::state::AppState;
use crate::{Error, Result};

pub(super) fn routes(routes: Routes) -> Routes {
    let mut routes = routes
        .endpoint::<send_message_event::v3::Request, _, _>(send)
        .endpoint::<send_state_event::v3::Request, _, _>(put_state)
        .endpoint::<get_state_event_for_key::v3::Request, _, _>(get_state)
        .endpoint::<get_state_events::v3::Request, _, _>(all_state)
        .endpoint::<redact_event::v3::Request, _, _>(redact)
        .endpoint::<get_message_events::v3::Request, _, _>(messages)
        .endpoint::<get_context::v3::Request, _, _>(context)
        .endpoint::<get_room_event::v3::Request, _, _>(event)
        .endpoint::<get_member_events::v3::Request, _, _>(members)
        .endpoint::<joined_members::v3::Request, _, _>(joined)
        .endpoint::<get_relating_events::v1::Request, _, _>(relations)
        .endpoint::<get_threads::v1::Request, _, _>(threads)
        .endpoint::<get_relating_events_with_rel_type::v1::Request, _, _>(relations_of_type)
        .endpoint::<get_relating_events_with_rel_type_and_event_type::v1::Request, _, _>(
            relations_of_type_and_event_type,
        );
    // State with an empty state key may be addressed without the trailing key segment.
    for version in ["r0", "v3"] {
        for suffix in ["", "/"] {
            let path =
                format!("/_matrix/client/{version}/rooms/{{room_id}}/state/{{event_type}}{suffix}");
            routes = routes
                .raw_with(&path, MethodFilter::PUT, put_state_empty_key)
                .raw_with(&path, MethodFilter::GET, get_state_empty_key);
        }
    }
    routes
}

async fn send(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    req: Ruma<send_message_event::v3::Request>,
) -> JsonResult {
    let s = req.session();
    let b = &req.body;
    let txn_id = b.txn_id.as_str();
    if let Some(event_id) = state
        .db
        .txn_event(s.user_id.as_str(), s.device_id.as_str(), txn_id)
        .await?
    {
        return Ok(Json(json!({ "event_id": event_id })));
    }
    let content: Value = serde_json::from_str(b.body.json().get()).map_err(|_| {
        Error::bad_json(
            "Der Inhalt muss ein JSON-Objekt sein.",
            "Content must be a JSON object.",
        )
    })?;
    if !content.is_object() {
        return Err(Error::bad_json(
            "Der Inhalt muss ein JSON-Objekt sein.",
            "Content must be a JSON object.",
        ));
    }
    if let Some(delay_ms) = delayed::requested_delay(query.as_deref())? {
        let event_type = b.event_type.to_string();
        let what = Scheduled {
            room_id: &b.room_id,
            event_type: &event_type,
            state_key: None,
            txn_id: Some(txn_id),
            content,
            delay_ms,
        };
        return super::delayed::schedule(&state, s, what).await;
    }
    let template = EventTemplate::message(&b.event_type.to_string(), content);
    let sent = Rooms::send(
        &state,
        &b.room_id,
        &s.user_id,
        template,
        Some((s.device_id.as_str(), txn_id)),
    )
    .await?;
    Ok(Json(json!({ "event_id": sent.event_id })))
}

async fn send_state(
    state: &AppState,
    s: &Session,
    room_id: &RoomId,
    kind: &str,
    key: &str,
    content: Value,
    query: Option<&str>,
) -> JsonResult {
    if !content.is_object() {
        return Err(Error::bad_json(
            "Der Inhalt muss ein JSON-Objekt sein.",
            "Content must be a JSON object.",
        ));
    }
    if let Some(delay_ms) = delayed::requested_delay(query)? {
        let what = Scheduled {
            room_id,
            event_type: kind,
            state_key: Some(key),
            txn_id: None,
            content,
            delay_ms,
        };
        return super::delayed::schedule(state, s, what).await;
    }
    let sent = Rooms::send(
        state,
        room_id,
        &s.user_id,
        EventTemplate::state(kind, key, content),
        None,
    )
    .await?;
    Ok(Json(json!({ "event_id": sent.event_id })))
}

async fn put_state(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    req: Ruma<send_state_event::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    let content: Value = serde_json::from_str(b.body.json().get()).unwrap_or(Value::Null);
    send_state(
        &state,
        req.session(),
        &b.room_id,
        &b.event_type.to_string(),
        &b.state_key,
        content,
        query.as_deref(),
    )
    .await
}

async fn put_state_empty_key(
    State(state): State<Arc<AppState>>,
    Authenticated(session): Authenticated,
    Path((room_id, kind)): Path<(OwnedRoomId, String)>,
    RawQuery(query): RawQuery,
    body: axum::body::Body,
) -> JsonResult {
    let bytes = read_body(body, state.config.limits.max_request_bytes as usize).await?;
    let content: Value = serde_json::from_slice(&bytes).map_err(|_| Error::NotJson)?;
    send_state(
        &state,
        &session,
        &room_id,
        &kind,
        "",
        content,
        query.as_deref(),
    )
    .await
}

async fn state_content(
    state: &AppState,
    user_id: &UserId,
    room_id: &RoomId,
    kind: &str,
    key: &str,
) -> JsonResult {
    let events = timeline::visible_state(state, user_id, room_id, None).await?;
    let event = events
        .into_iter()
        .find(|e| e.event_type == kind && e.state_key.as_deref() == Some(key))
        .ok_or_else(|| {
            Error::not_found(
                "Diesen Zustand gibt es in diesem Raum nicht.",
                "No such state in this room.",
            )
        })?;
    let pdu: Value =
        serde_json::from_str(&event.json).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Json(
        pdu.get("content").cloned().unwrap_or_else(|| json!({})),
    ))
}

async fn get_state(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_state_event_for_key::v3::Request>,
) -> JsonResult {
    let b = &req.body;
    state_content(
        &state,
        req.user_id(),
        &b.room_id,
        &b.event_type.to_string(),
        &b.state_key,
    )
    .await
}

async fn get_state_empty_key(
    State(state): State<Arc<AppState>>,
    Authenticated(session): Authenticated,
    Path((room_id, kind)): Path<(OwnedRoomId, String)>,
) -> JsonResult {
    state_content(&state, &session.user_id, &room_id, &kind, "").await
}

async fn all_state(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_state_events::v3::Request>,
) -> JsonResult {
    let s = req.session();
    let events = timeline::visible_state(&state, &s.user_id, &req.body.room_id, None).await?;
    Ok(Json(Value::Array(format_events(
        &state,
        &events,
        &s.user_id,
        s.device_id.as_str(),
    ))))
}

async fn redact(
    State(state): State<Arc<AppState>>,
    req: Ruma<redact_event::v3::Request>,
) -> JsonResult {
    let s = req.session();
    let b = &req.body;
    let txn_id = format!("redact:{}", b.txn_id);
    if let Some(event_id) = state
        .db
        .txn_event(s.user_id.as_str(), s.device_id.as_str(), &txn_id)
        .await?
    {
        return Ok(Json(json!({ "event_id": event_id })));
    }
    let mut content = json!({});
    if let Some(reason) = &b.reason {
        content["reason"] = json!(reason);
    }
    let template = EventTemplate {
        kind: "m.room.redaction".into(),
        content,
        state_key: None,
        redacts: Some(b.event_id.clone()),
    };
    let sent = Rooms::send(
        &state,
        &b.room_id,
        &s.user_id,
        template,
        Some((s.device_id.as_str(), &txn_id)),
    )
    .await?;
    Ok(Json(json!({ "event_id": sent.event_id })))
}

fn optional_token(token: Option<&str>) -> Result<Option<i64>> {
    token.filter(|t| !t.is_empty()).map(parse_token).transpose()
}

async fn messages(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_message_events::v3::Request>,
) -> JsonResult {
    let s = req.session();
    let b = &req.body;
    let page = PageRequest {
        from: optional_token(b.from.as_deref())?,
        to: optional_token(b.to.as_deref())?,
        backward: b.dir == Direction::Backward,
        limit: u64::from(b.limit) as usize,
        filter: &b.filter,
    };
    Ok(Json(
        timeline::messages(&state, &s.user_id, s.device_id.as_str(), &b.room_id, page).await?,
    ))
}

async fn context(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_context::v3::Request>,
) -> JsonResult {
    let s = req.session();
    let b = &req.body;
    let limit = (u64::from(b.limit) as usize).min(100);
    let body = timeline::context(
        &state,
        &s.user_id,
        s.device_id.as_str(),
        &b.room_id,
        b.event_id.as_str(),
        limit,
        &b.filter,
    )
    .await?;
    Ok(Json(body))
}

/// The parameters every `/relations` endpoint shares.
struct RelationsQuery<'a> {
    room_id: &'a RoomId,
    event_id: &'a str,
    from: Option<&'a str>,
    to: Option<&'a str>,
    dir: Direction,
    limit: Option<ruma::UInt>,
    recurse: bool,
}

/// The [`RelationsQuery`] of the body of any of the three `/relations` requests.
macro_rules! relations_query {
    ($body:expr) => {
        RelationsQuery {
            room_id: &$body.room_id,
            event_id: $body.event_id.as_str(),
            from: $body.from.as_deref(),
            to: $body.to.as_deref(),
            dir: $body.dir,
            limit: $body.limit,
            recurse: $body.recurse,
        }
    };
}

/// Answers a `/relations` request of `session`, only with relations of the type `filter.0`
/// and events of the type `filter.1` where given.
async fn relations_for(
    state: &AppState,
    session: &Session,
    query: RelationsQuery<'_>,
    filter: (Option<&str>, Option<&str>),
) -> JsonResult {
    let request = RelationsRequest {
        event_id: query.event_id,
        rel_type: filter.0,
        event_type: filter.1,
        from: optional_token(query.from)?,
        to: optional_token(query.to)?,
        direction: match query.dir {
            Direction::Backward => read::Direction::Backward,
            Direction::Forward => read::Direction::Forward,
        },
        limit: query.limit.map(|l| u64::from(l) as usize),
        recurse: query.recurse,
    };
    let user = (&session.user_id, session.device_id.as_str());
    let body = relations::relations(state, user.0, user.1, query.room_id, request).await?;
    Ok(Json(body))
}

async fn relations(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_relating_events::v1::Request>,
) -> JsonResult {
    relations_for(
        &state,
        req.session(),
        relations_query!(req.body),
        (None, None),
    )
    .await
}

async fn relations_of_type(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_relating_events_with_rel_type::v1::Request>,
) -> JsonResult {
    let rel_type = req.body.rel_type.to_string();
    let query = relations_query!(req.body);
    relations_for(&state, req.session(), query, (Some(&rel_type), None)).await
}

async fn relations_of_type_and_event_type(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_relating_events_with_rel_type_and_event_type::v1::Request>,
) -> JsonResult {
    let (rel_type, event_type) = (
        req.body.rel_type.to_string(),
        req.body.event_type.to_string(),
    );
    let query = relations_query!(req.body);
    relations_for(
        &state,
        req.session(),
        query,
        (Some(&rel_type), Some(&event_type)),
    )
    .await
}

async fn threads(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_threads::v1::Request>,
) -> JsonResult {
    let s = req.session();
    let b = &req.body;
    let body = crate::service::read::threads::threads(
        &state,
        &s.user_id,
        s.device_id.as_str(),
        &b.room_id,
        &b.include,
        optional_token(b.from.as_deref())?,
        b.limit.map(|l| u64::from(l) as usize),
    )
    .await?;
    Ok(Json(body))
}

async fn event(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_room_event::v3::Request>,
) -> JsonResult {
    let s = req.session();
    let b = &req.body;
    Ok(Json(
        timeline::event(
            &state,
            &s.user_id,
            s.device_id.as_str(),
            &b.room_id,
            b.event_id.as_str(),
        )
        .await?,
    ))
}

async fn members(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_member_events::v3::Request>,
) -> JsonResult {
    let s = req.session();
    let b = &req.body;
    let at = optional_token(b.at.as_deref())?;
    let events = timeline::visible_state(&state, &s.user_id, &b.room_id, at).await?;
    let wanted = |e: &schulhof_store::EventRow| {
        let membership = serde_json::from_str::<Value>(&e.json)
            .ok()
            .and_then(|v| {
                v.get("content")?
                    .get("membership")?
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        b.membership
            .as_ref()
            .is_none_or(|m| m.as_str() == membership)
            && b.not_membership
                .as_ref()
                .is_none_or(|m| m.as_str() != membership)
    };
    let members: Vec<_> = events
        .into_iter()
        .filter(|e| e.event_type == "m.room.member" && wanted(e))
        .collect();
    Ok(Json(
        json!({ "chunk": format_events(&state, &members, &s.user_id, s.device_id.as_str()) }),
    ))
}

async fn joined(
    State(state): State<Arc<AppState>>,
    req: Ruma<joined_members::v3::Request>,
) -> JsonResult {
    let room = Rooms::current(&state, &req.body.room_id).await?;
    room.require_joined(req.user_id())?;
    let mut joined = serde_json::Map::new();
    for user in room.joined() {
        let content = room
            .content("m.room.member", user.as_str())
            .unwrap_or_default();
        let mut member = serde_json::Map::new();
        for (from, to) in [
            ("displayname", "display_name"),
            ("avatar_url", "avatar_url"),
        ] {
            if let Some(value) = content.get(from).filter(|v| v.is_string()) {
                member.insert(to.to_owned(), value.clone());
            }
        }
        joined.insert(user.to_string(), Value::Object(member));
    }
    Ok(Json(json!({ "joined": joined })))
}
