//! User and alias queries: when a client asks about a user ID or room alias that does not
//! exist but lies in an appservice's namespace, the server asks that appservice
//! (`GET /_matrix/app/v1/users/{userId}`, `GET /_matrix/app/v1/rooms/{roomAlias}`), which may
//! create it before answering 200. The caller then looks again.
//!
//! A failed query (appservice down, error status) counts as "does not exist": the client gets
//! the same 404 as without the appservice, and the failure is logged.

use schulhof_store::UserRow;

use super::client::CallError;
use super::Registration;
use crate::state::AppState;
use crate::Result;

/// The room a local alias points to; if there is none, the appservices whose namespaces
/// contain the alias are asked first.
pub async fn find_alias(state: &AppState, alias: &str) -> Result<Option<String>> {
    if let Some((room_id, _)) = state.db.alias(alias).await? {
        return Ok(Some(room_id));
    }
    if !alias_exists(state, alias).await {
        return Ok(None);
    }
    Ok(state.db.alias(alias).await?.map(|(room_id, _)| room_id))
}

/// The account `user_id`; if there is none, the appservices whose namespaces contain it are
/// asked first.
pub async fn find_user(state: &AppState, user_id: &str) -> Result<Option<UserRow>> {
    if let Some(user) = state.db.user(user_id).await? {
        return Ok(Some(user));
    }
    if !user_exists(state, user_id).await {
        return Ok(None);
    }
    Ok(state.db.user(user_id).await?)
}

/// Asks the appservices whose user namespaces contain `user_id` whether it exists; `true` if
/// one says it does (has just created it).
async fn user_exists(state: &AppState, user_id: &str) -> bool {
    ask(
        state,
        |r| r.owns_user(user_id),
        |r| async move { state.appservices.client.query_user(r, user_id).await },
    )
    .await
}

/// Asks the appservices whose alias namespaces contain `alias` whether it exists; `true` if
/// one says it does (has just created the room and alias).
async fn alias_exists(state: &AppState, alias: &str) -> bool {
    ask(
        state,
        |r| r.owns_alias(alias, false),
        |r| async move { state.appservices.client.query_alias(r, alias).await },
    )
    .await
}

/// Asks each appservice with a URL that `concerned` selects, in registration order, until one
/// answers yes.
async fn ask<'s, F, Fut>(
    state: &'s AppState,
    concerned: impl Fn(&Registration) -> bool,
    query: F,
) -> bool
where
    F: Fn(&'s Registration) -> Fut,
    Fut: std::future::Future<Output = Result<bool, CallError>>,
{
    for registration in state.appservices.all() {
        if registration.url.is_none() || !concerned(registration) {
            continue;
        }
        match query(registration).await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(appservice = %registration.id, %err, "appservice query failed")
            }
        }
    }
    false
}
