//! Account creation and password changes.

use ruma::{OwnedUserId, UserId};
use schulhof_store::{StoreError, UserRow};

use crate::state::AppState;
use crate::{Error, Result};

/// Creates a local account with an Argon2id password hash.
pub async fn create_user(
    state: &AppState,
    localpart: &str,
    password: &str,
    display_name: Option<&str>,
    admin: bool,
) -> Result<OwnedUserId> {
    let user_id = UserId::parse_with_server_name(localpart.to_lowercase(), &state.server_name)
        .map_err(|e| {
            Error::InUse(
                "M_INVALID_USERNAME",
                crate::text!("Ungültiger Benutzername: {}", "Invalid user name: {}", e),
            )
        })?;
    crate::service::notices::refuse_system_account(state, &user_id)?;
    let row = UserRow {
        user_id: user_id.to_string(),
        password_hash: Some(state.passwords.hash(password).await?),
        displayname: display_name.map(str::to_owned),
        avatar_url: None,
        is_admin: admin,
        deactivated: false,
    };
    insert_account(state, &row).await?;
    Ok(user_id)
}

/// Stores a new account; one that exists already is 400 `M_USER_IN_USE`.
pub async fn insert_account(state: &AppState, row: &UserRow) -> Result<()> {
    state
        .db
        .create_user(row, state.clock.now_ms())
        .await
        .map_err(|e| match e {
            StoreError::Conflict => Error::InUse(
                "M_USER_IN_USE",
                crate::text!(
                    "Den Benutzer {} gibt es schon.",
                    "User {} already exists.",
                    row.user_id
                ),
            ),
            other => other.into(),
        })
}

/// Sets a new password for the session's user after checking it against the password rule;
/// with `logout_devices` every other device of theirs is signed out.
pub async fn change_password(
    state: &AppState,
    session: &crate::ruma_wrapper::Session,
    new_password: &str,
    logout_devices: bool,
) -> Result<()> {
    let user_id = &session.user_id;
    crate::service::identity::password_rule::check(
        &state.config.passwords,
        new_password,
        &[user_id.localpart()],
    )?;
    let hash = state.passwords.hash(new_password).await?;
    state.db.set_password_hash(user_id.as_str(), &hash).await?;
    if logout_devices {
        crate::service::identity::devices::delete_other_devices(
            state,
            user_id,
            session.device_id.as_str(),
        )
        .await?;
    }
    Ok(())
}

/// Every account that is not deactivated.
pub async fn active_users(state: &AppState) -> Result<Vec<UserRow>> {
    Ok(state.db.active_users().await?)
}
