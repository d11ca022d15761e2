//! Accounts of appservices: registering the users of a namespace (`POST /register` with
//! `type: m.login.application_service`), logging in as them
//! (`m.login.application_service`), and the appservices' own sender accounts, created at
//! start.
//!
//! These accounts have no password and are not people of the school directory: what they may
//! do is what the rights give accounts outside the directory (`unknown_users`), like the
//! service accounts of `schulhof user add`; so creating them needs no policy decision.

use ruma::{OwnedUserId, UserId};
use schulhof_store::{StoreError, UserRow};

use super::Registration;
use crate::service::identity::accounts::insert_account;
use crate::state::AppState;
use crate::{Error, Result};

/// The refusal of `m.login.application_service` (registration or login) without an
/// appservice's `as_token`: 403 `M_FORBIDDEN`, a status both endpoints document.
pub fn not_an_appservice() -> Error {
    Error::forbidden(
        "Diese Anmeldeart ist nur mit dem Zugangstoken eines Anwendungsdienstes möglich.",
        "This login type needs the access token of an application service.",
    )
}

/// Creates the account `localpart` for the appservice `registration`: the name must be valid,
/// in its user namespaces and reserved by no other appservice.
pub async fn register(
    state: &AppState,
    registration: &Registration,
    localpart: &str,
) -> Result<OwnedUserId> {
    let user_id = UserId::parse_with_server_name(localpart, &state.server_name)
        .ok()
        .filter(|u| u.validate_strict().is_ok())
        .ok_or_else(|| {
            Error::InUse(
                "M_INVALID_USERNAME",
                crate::text!(
                    "Ungültiger Benutzername: {}",
                    "Invalid user name: {}",
                    localpart
                ),
            )
        })?;
    if !registration.may_act_as(&user_id, &state.server_name) {
        return Err(Error::Exclusive(crate::text!(
            "{} liegt nicht im Namensraum dieses Anwendungsdienstes.",
            "{} is not in the namespace of this application service.",
            user_id
        )));
    }
    super::exclusive::check_user(state, user_id.as_str(), Some(&registration.id))?;
    crate::service::notices::refuse_system_account(state, &user_id)?;
    insert_account(state, &passwordless(&user_id)).await?;
    Ok(user_id)
}

/// The user an appservice logs in as (`m.login.application_service`): one of its namespace
/// that exists and that the directory does not refuse.
pub async fn login_user(
    state: &AppState,
    registration: &Registration,
    typed: &str,
) -> Result<OwnedUserId> {
    let refused = || {
        Error::forbidden(
            "Als dieser Benutzer darf sich der Anwendungsdienst nicht anmelden.",
            "The application service may not log in as this user.",
        )
    };
    let user_id =
        crate::service::identity::login::resolve_user(state, typed).map_err(|_| refused())?;
    if !registration.may_act_as(&user_id, &state.server_name) {
        return Err(refused());
    }
    let user = state.db.user(user_id.as_str()).await?.ok_or_else(refused)?;
    if user.deactivated {
        return Err(Error::UserDeactivated);
    }
    crate::service::school::directory::refuse_by_directory(state, &user_id)?;
    Ok(user_id)
}

/// Creates the sender account of every appservice that lacks one (at start): requests of an
/// appservice act as its sender.
pub async fn ensure_senders(state: &AppState) -> Result<()> {
    for registration in state.appservices.all() {
        if registration.sender == **state.notices.system_user() {
            return Err(Error::Internal(format!(
                "appservice {}: sender_localpart is the server notices account; choose another",
                registration.id
            )));
        }
        let row = passwordless(&registration.sender);
        match state.db.create_user(&row, state.clock.now_ms()).await {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// An account without password, its localpart as display name.
fn passwordless(user_id: &UserId) -> UserRow {
    UserRow {
        user_id: user_id.to_string(),
        password_hash: None,
        displayname: Some(user_id.localpart().to_owned()),
        avatar_url: None,
        is_admin: false,
        deactivated: false,
    }
}
