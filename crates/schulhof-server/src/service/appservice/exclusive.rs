//! Names appservices reserve: user IDs of an exclusive user namespace (and each appservice's
//! sender) and room aliases of an exclusive alias namespace belong to that appservice alone;
//! anyone else who tries to register or create them gets 400 `M_EXCLUSIVE`.

use crate::state::AppState;
use crate::{Error, Result};

/// Refuses `user_id` unless no appservice reserves it or `acting` (the appservice making the
/// request, if any) is the one that does.
pub fn check_user(state: &AppState, user_id: &str, acting: Option<&str>) -> Result<()> {
    let reserved = state
        .appservices
        .all()
        .iter()
        .any(|r| Some(r.id.as_str()) != acting && r.claims_user(user_id));
    if reserved {
        return Err(Error::Exclusive(crate::text!(
            "Der Benutzername {} ist für einen Anwendungsdienst reserviert.",
            "The user ID {} is reserved for an application service.",
            user_id
        )));
    }
    Ok(())
}

/// Refuses `alias` unless no appservice reserves it or `acting` is the one that does.
pub fn check_alias(state: &AppState, alias: &str, acting: Option<&str>) -> Result<()> {
    let reserved = state
        .appservices
        .all()
        .iter()
        .any(|r| Some(r.id.as_str()) != acting && r.owns_alias(alias, true));
    if reserved {
        return Err(Error::Exclusive(crate::text!(
            "Der Raumalias {} ist für einen Anwendungsdienst reserviert.",
            "The room alias {} is reserved for an application service.",
            alias
        )));
    }
    Ok(())
}
