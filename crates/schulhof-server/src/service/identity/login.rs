//! Checking a user name and password: the one path behind the Matrix `/login` and the web
//! pages, with the same rate limits and the same refusals (pending start code, locked,
//! deactivated, missing consent).

use ruma::{OwnedUserId, UserId};
use schulhof_store::UserRow;

use crate::service::school::directory as school;
use crate::state::AppState;
use crate::{Error, Result};

/// The one answer to a wrong user name or password (no hint which of both was wrong).
pub fn wrong_login() -> Error {
    Error::forbidden(
        "Benutzername oder Passwort ist falsch.",
        "Wrong username or password.",
    )
}

/// Resolves what the user typed as user name (localpart or full user ID) into a local user ID.
pub fn resolve_user(state: &AppState, typed: &str) -> Result<OwnedUserId> {
    let typed = typed.trim().to_lowercase();
    let id = if typed.starts_with('@') {
        typed
    } else {
        format!("@{typed}:{}", state.server_name)
    };
    UserId::parse(id)
        .ok()
        .filter(|u| u.server_name() == state.server_name)
        .ok_or_else(wrong_login)
}

/// Checks `typed` user name and `password` from `client` (an address): rate limits per address
/// and account, then the password, then whether the account may be used at all.
pub async fn check_password(
    state: &AppState,
    typed: &str,
    password: &str,
    client: &str,
) -> Result<(OwnedUserId, UserRow)> {
    state.rate_limiter.check_login_address(client)?;
    let user_id = resolve_user(state, typed)?;
    state.rate_limiter.check_login(user_id.as_str())?;
    let user = state
        .db
        .user(user_id.as_str())
        .await?
        .ok_or_else(wrong_login)?;
    if !user.deactivated {
        school::refuse_pending_start_code(state, &user_id).await?;
    }
    if !state
        .passwords
        .verify(password, user.password_hash.as_deref())
        .await?
    {
        return Err(wrong_login());
    }
    if user.deactivated {
        return Err(Error::UserDeactivated);
    }
    school::refuse_by_directory(state, &user_id)?;
    Ok((user_id, user))
}

/// Signs `user_id` in on a device (`device_id`, or a new one): a new access token for it;
/// logging in again with a known device ID replaces that device's old token. Returns the
/// device ID and the token.
pub async fn open_session(
    state: &AppState,
    user_id: &UserId,
    device_id: Option<&str>,
    display_name: Option<&str>,
) -> Result<(String, String)> {
    let device_id = device_id
        .map(str::to_owned)
        .unwrap_or_else(crate::auth::new_device_id);
    let token = crate::auth::new_access_token();
    state.tokens.forget(user_id.as_str(), Some(&device_id));
    state
        .db
        .create_device_with_token(
            user_id.as_str(),
            &device_id,
            display_name,
            &crate::auth::token_hash(&token),
            state.clock.now_ms(),
        )
        .await?;
    Ok((device_id, token))
}
