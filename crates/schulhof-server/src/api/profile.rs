//! Profiles: `GET /profile/{userId}` and the `displayname` / `avatar_url` fields.
//!
//! A change is stored with the account and then sent as a new `m.room.member` event into every
//! room the user has joined, so the other members see the new name or picture.

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::profile::{
    get_avatar_url, get_display_name, get_profile, set_avatar_url, set_display_name,
};
use ruma::UserId;
use schulhof_policy::{Action, Channel};
use schulhof_store::UserRow;
use serde_json::{json, Map, Value};

use super::account_data::require_self;
use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::{MaybeAuthenticated, Ruma};
use crate::service::school::policy;
use crate::service::school::reach::Contacts;
use crate::service::user::profile::{change_profile, Field};
use crate::state::AppState;
use crate::{Error, Result};

/// Longest display name accepted, in characters (as Synapse).
const MAX_DISPLAYNAME_CHARS: usize = 256;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<get_profile::v3::Request, _, _>(get_full)
        .endpoint::<get_display_name::v3::Request, _, _>(get_displayname)
        .endpoint::<set_display_name::v3::Request, _, _>(set_displayname)
        .endpoint::<get_avatar_url::v3::Request, _, _>(get_avatar)
        .endpoint::<set_avatar_url::v3::Request, _, _>(set_avatar)
}

/// The account whose profile is asked for (an appservice whose namespace contains a missing
/// one is asked first).
async fn user(state: &AppState, user_id: &UserId) -> Result<UserRow> {
    crate::service::appservice::query::find_user(state, user_id.as_str())
        .await?
        .ok_or_else(|| Error::not_found("Diesen Benutzer gibt es nicht.", "Unknown user."))
}

/// The profile of a user as JSON: only the fields that are set.
fn profile_json(user: &UserRow, fields: &[Field]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| Some((f.key().to_owned(), Value::String(f.value(user)?.to_owned()))))
        .collect()
}

/// 403 unless `viewer` may see `target`'s profile: the people one may reach (the school's
/// policy, `Action::Contact`: those one may write to and those one shares a room with);
/// unknown accounts get the same answer; without logging in, nobody.
async fn require_visible(state: &AppState, viewer: Option<&UserId>, target: &UserId) -> Result<()> {
    let Some(viewer) = viewer else {
        return Err(Error::forbidden(
            "Profile sind erst nach der Anmeldung sichtbar.",
            "Profiles are only visible after logging in.",
        ));
    };
    Contacts::of(state, viewer)
        .require_existing(target, Channel::Profile)
        .await
}

async fn get_full(
    State(state): State<Arc<AppState>>,
    MaybeAuthenticated(viewer): MaybeAuthenticated,
    req: Ruma<get_profile::v3::Request>,
) -> JsonResult {
    let viewer = viewer.as_ref().map(|s| s.user_id.as_ref());
    require_visible(&state, viewer, &req.body.user_id).await?;
    let user = user(&state, &req.body.user_id).await?;
    Ok(Json(Value::Object(profile_json(
        &user,
        &[Field::DisplayName, Field::AvatarUrl],
    ))))
}

/// One field of a profile (if `viewer` may see it); 404 if it is not set.
async fn get_field(
    state: &AppState,
    viewer: Option<crate::ruma_wrapper::Session>,
    user_id: &UserId,
    field: Field,
) -> JsonResult {
    require_visible(state, viewer.as_ref().map(|s| s.user_id.as_ref()), user_id).await?;
    let profile = profile_json(&user(state, user_id).await?, &[field]);
    if profile.is_empty() {
        return Err(Error::not_found(
            "Dieses Profilfeld ist nicht gesetzt.",
            "This profile field is not set.",
        ));
    }
    Ok(Json(Value::Object(profile)))
}

async fn get_displayname(
    State(state): State<Arc<AppState>>,
    MaybeAuthenticated(viewer): MaybeAuthenticated,
    req: Ruma<get_display_name::v3::Request>,
) -> JsonResult {
    get_field(&state, viewer, &req.body.user_id, Field::DisplayName).await
}

async fn get_avatar(
    State(state): State<Arc<AppState>>,
    MaybeAuthenticated(viewer): MaybeAuthenticated,
    req: Ruma<get_avatar_url::v3::Request>,
) -> JsonResult {
    get_field(&state, viewer, &req.body.user_id, Field::AvatarUrl).await
}

/// Requires the field's key in the request body (`null` removes the field).
fn require_key(body: Option<&Value>, field: Field) -> Result<()> {
    if body.and_then(|b| b.get(field.key())).is_some() {
        return Ok(());
    }
    Err(Error::MissingParam(crate::text!(
        "{} fehlt.",
        "{} is missing.",
        field.key()
    )))
}

async fn set_displayname(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_display_name::v3::Request>,
) -> JsonResult {
    require_self(req.user_id(), &req.body.user_id)?;
    require_key(req.json_body.as_ref(), Field::DisplayName)?;
    let user = req.user_id();
    policy::check(&state, user, &Action::ChangeDisplayName, user.as_str()).await?;
    let name = req.body.displayname.as_deref().filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > MAX_DISPLAYNAME_CHARS) {
        return Err(Error::BadJson(crate::text!(
            "Der Anzeigename ist zu lang (höchstens {} Zeichen).",
            "The display name is too long (at most {} characters).",
            MAX_DISPLAYNAME_CHARS
        )));
    }
    change_profile(&state, req.user_id(), Field::DisplayName, name).await?;
    Ok(Json(json!({})))
}

async fn set_avatar(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_avatar_url::v3::Request>,
) -> JsonResult {
    require_self(req.user_id(), &req.body.user_id)?;
    require_key(req.json_body.as_ref(), Field::AvatarUrl)?;
    let user = req.user_id();
    policy::check(&state, user, &Action::ChangeAvatar, user.as_str()).await?;
    // Element removes an avatar by sending an empty string.
    let url = req
        .body
        .avatar_url
        .as_ref()
        .filter(|u| !u.as_str().is_empty());
    if url.is_some_and(|u| !u.is_valid()) {
        return Err(Error::invalid_param(
            "avatar_url muss eine mxc://-Adresse sein.",
            "avatar_url must be an mxc:// URI.",
        ));
    }
    change_profile(
        &state,
        req.user_id(),
        Field::AvatarUrl,
        url.map(|u| u.as_str()),
    )
    .await?;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_lists_only_set_fields() {
        let user = UserRow {
            user_id: "@a:x".into(),
            password_hash: None,
            displayname: Some("Anna".into()),
            avatar_url: None,
            is_admin: false,
            deactivated: false,
        };
        let profile = profile_json(&user, &[Field::DisplayName, Field::AvatarUrl]);
        assert_eq!(Value::Object(profile), json!({ "displayname": "Anna" }));
    }

    #[test]
    fn the_field_must_be_in_the_body() {
        assert!(require_key(Some(&json!({ "displayname": null })), Field::DisplayName).is_ok());
        assert_eq!(
            require_key(Some(&json!({})), Field::DisplayName)
                .unwrap_err()
                .errcode(),
            "M_MISSING_PARAM"
        );
        assert!(require_key(None, Field::AvatarUrl).is_err());
    }
}
