//! Per-user account data (global and per room) and stored `/sync` filters.
//!
//! Account data changes go through the single writer, so `/sync` sees them at a stream position
//! and the user's waiting requests wake up.

use ruma::api::client::filter::FilterDefinition;
use ruma::{RoomId, UserId};
use schulhof_store::Db;
use serde_json::Value;

use crate::service::push::rules::PUSH_RULES_TYPE;
use crate::service::quiet_hours::personal::account_data::{
    self as quiet_hours_data, QUIET_HOURS_TYPE,
};
use crate::service::read::exclusions::IGNORED_USERS_TYPE;
use crate::service::write::activity::UserStream;
use crate::service::write::Commit;
use crate::state::AppState;
use crate::{Error, Result};

/// Stores account data of `user_id` (global when `room_id` is `None`) and wakes the user's
/// `/sync` requests; returns the stream position of the change. Global account data of type
/// `de.schulhof.quiet_hours` is checked and applied as a teacher's personal quiet hours
/// (`quiet_hours::personal::account_data`).
pub async fn set_account_data(
    state: &AppState,
    user_id: &UserId,
    room_id: Option<&RoomId>,
    data_type: &str,
    content: &Value,
) -> Result<i64> {
    if room_id.is_none() && data_type == QUIET_HOURS_TYPE {
        return quiet_hours_data::set(state, user_id, content).await;
    }
    let json = content.to_string();
    state
        .writer
        .commit(state, async |c| {
            put_account_data(c, user_id, room_id, data_type, &json).await
        })
        .await
}

/// Stores account data inside a commit that may change more (the commit path's transaction),
/// with its effects; returns its stream position.
pub async fn put_account_data(
    c: &mut Commit<'_, '_>,
    user_id: &UserId,
    room_id: Option<&RoomId>,
    data_type: &str,
    json: &str,
) -> Result<i64> {
    let pos = c.next_pos();
    Db::put_account_data(
        c.tx(),
        user_id.as_str(),
        room_key(room_id),
        data_type,
        json,
        pos,
    )
    .await?;
    if room_id.is_none() && data_type == PUSH_RULES_TYPE {
        // Applied under the write lock: the next event is evaluated with the new rules.
        c.effects().push_rules_changed(user_id.to_owned());
    }
    if room_id.is_none() && data_type == IGNORED_USERS_TYPE {
        c.effects().exclusions_changed(user_id.as_str());
    }
    c.effects()
        .user_stream(UserStream::AccountData, user_id.as_str());
    Ok(pos)
}

/// The content of one account data entry, if set.
pub async fn account_data(
    state: &AppState,
    user_id: &UserId,
    room_id: Option<&RoomId>,
    data_type: &str,
) -> Result<Option<Value>> {
    if room_id.is_none() && data_type == QUIET_HOURS_TYPE {
        return quiet_hours_data::in_force(state, user_id).await.map(Some);
    }
    let stored = state
        .db
        .account_data(user_id.as_str(), room_key(room_id), data_type)
        .await?;
    stored
        .map(|json| {
            serde_json::from_str(&json)
                .map_err(|e| Error::Internal(format!("stored account data unreadable: {e}")))
        })
        .transpose()
}

/// The store's key for global (`""`) or per-room account data.
fn room_key(room_id: Option<&RoomId>) -> &str {
    room_id.map_or("", RoomId::as_str)
}

fn unknown_filter() -> Error {
    Error::not_found("Diesen Filter gibt es nicht.", "Unknown filter.")
}

/// A stored filter of `user_id` exactly as it was uploaded; unknown IDs are a 404.
pub async fn stored_filter(state: &AppState, user_id: &UserId, filter_id: &str) -> Result<Value> {
    let id = filter_id.parse::<i64>().map_err(|_| unknown_filter())?;
    let json = state
        .db
        .filter(user_id.as_str(), id)
        .await?
        .ok_or_else(unknown_filter)?;
    serde_json::from_str(&json)
        .map_err(|e| Error::Internal(format!("stored filter unreadable: {e}")))
}

/// Checks that JSON is a valid filter definition (`M_BAD_JSON` otherwise).
pub fn parse_filter(json: Value) -> Result<FilterDefinition> {
    serde_json::from_value(json).map_err(|e| {
        Error::BadJson(crate::text!(
            "Ungültiger Filter: {}",
            "Invalid filter: {}",
            e
        ))
    })
}

/// The filter of a `filter` query parameter given inline as JSON (it starts with `{`);
/// `None` if the parameter is a filter ID.
fn inline_filter(param: &str) -> Option<Result<FilterDefinition>> {
    param.trim_start().starts_with('{').then(|| {
        let json = serde_json::from_str(param).map_err(|e| {
            Error::BadJson(crate::text!(
                "Ungültiger Filter: {}",
                "Invalid filter: {}",
                e
            ))
        })?;
        parse_filter(json)
    })
}

/// Resolves the `filter` query parameter of `/sync`: a filter ID of `user_id` or inline JSON.
pub async fn load_filter(
    state: &AppState,
    user_id: &UserId,
    filter_param: &str,
) -> Result<FilterDefinition> {
    match inline_filter(filter_param) {
        Some(filter) => filter,
        None => parse_filter(stored_filter(state, user_id, filter_param).await?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_filters_are_parsed() {
        let filter = inline_filter(r#"{"room":{"timeline":{"limit":5}}}"#)
            .expect("inline")
            .expect("valid");
        assert_eq!(filter.room.timeline.limit, Some(5u32.into()));
        assert!(inline_filter(" {}").expect("inline").is_ok());
    }

    #[test]
    fn filter_ids_are_not_inline() {
        assert!(inline_filter("0").is_none());
        assert!(inline_filter("12").is_none());
    }

    #[test]
    fn broken_inline_filters_are_bad_json() {
        for bad in ["{", r#"{"room":{"timeline":{"limit":"many"}}}"#] {
            let err = inline_filter(bad).expect("inline").unwrap_err();
            assert_eq!(err.errcode(), "M_BAD_JSON");
        }
    }
}
