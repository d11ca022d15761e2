//! Profile changes: a new display name or avatar is stored with the account and announced as
//! a new `m.room.member` event in every room the user has joined.

use ruma::{RoomId, UserId};
use schulhof_store::UserRow;
use serde_json::{json, Value};

use crate::service::rooms::{EventTemplate, Rooms};
use crate::state::AppState;
use crate::{Error, Result};

/// The profile fields a user can change.
#[derive(Clone, Copy)]
pub enum Field {
    /// `displayname`.
    DisplayName,
    /// `avatar_url`.
    AvatarUrl,
}

impl Field {
    /// The field's key in profiles and member events.
    pub fn key(self) -> &'static str {
        match self {
            Field::DisplayName => "displayname",
            Field::AvatarUrl => "avatar_url",
        }
    }

    /// The field's value in a stored account.
    pub fn value(self, user: &UserRow) -> Option<&str> {
        match self {
            Field::DisplayName => user.displayname.as_deref(),
            Field::AvatarUrl => user.avatar_url.as_deref(),
        }
    }
}

/// Stores a profile field and announces it in every room the user has joined.
pub async fn change_profile(
    state: &AppState,
    user_id: &UserId,
    field: Field,
    value: Option<&str>,
) -> Result<()> {
    match field {
        Field::DisplayName => state.db.set_displayname(user_id.as_str(), value).await?,
        Field::AvatarUrl => state.db.set_avatar_url(user_id.as_str(), value).await?,
    }
    let joined = state
        .db
        .memberships(user_id.as_str())
        .await?
        .into_iter()
        .filter(|m| m.membership == "join");
    for membership in joined {
        // One room refusing the event must not keep the others from being updated.
        if let Err(err) =
            update_member_event(state, user_id, &membership.room_id, field, value).await
        {
            tracing::warn!(%err, room_id = %membership.room_id, "profile change not sent to room");
        }
    }
    Ok(())
}

/// Member event content with one profile field replaced (or removed for `None`).
fn with_field(mut content: Value, field: Field, value: Option<&str>) -> Value {
    if let Some(object) = content.as_object_mut() {
        match value {
            Some(v) => object.insert(field.key().to_owned(), json!(v)),
            None => object.remove(field.key()),
        };
    }
    content
}

/// Sends a new `m.room.member` event with the changed field, keeping the rest of the content.
async fn update_member_event(
    state: &AppState,
    user_id: &UserId,
    room_id: &str,
    field: Field,
    value: Option<&str>,
) -> Result<()> {
    let room_id = RoomId::parse(room_id)
        .map_err(|e| Error::Internal(format!("stored room ID {room_id}: {e}")))?;
    let room = state.rooms.existing(&state.db, &room_id).await?;
    let Some(current) = room.content("m.room.member", user_id.as_str()) else {
        return Ok(());
    };
    let content = with_field(current.clone(), field, value);
    if content == current || current.get("membership").and_then(Value::as_str) != Some("join") {
        return Ok(());
    }
    Rooms::send(
        state,
        &room_id,
        user_id,
        EventTemplate::state("m.room.member", user_id.as_str(), content),
        None,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_content_keeps_other_fields() {
        let current =
            json!({ "membership": "join", "displayname": "Alt", "avatar_url": "mxc://a/b" });
        let renamed = with_field(current.clone(), Field::DisplayName, Some("Neu"));
        assert_eq!(
            renamed,
            json!({ "membership": "join", "displayname": "Neu", "avatar_url": "mxc://a/b" })
        );
        let no_avatar = with_field(current, Field::AvatarUrl, None);
        assert_eq!(
            no_avatar,
            json!({ "membership": "join", "displayname": "Alt" })
        );
    }
}
