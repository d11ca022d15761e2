//! The user directory: `POST /user_directory/search`.
//!
//! A school has a few thousand accounts at most, so the search runs in memory over all active
//! accounts: case-insensitive on the user ID's localpart and the display name, every word of the
//! search term must match. The system account of the server notices is never found.
//!
//! A search that finds nobody while the school's rights hide people from the searcher is
//! explained in a server notice (`directory_not_visible`, at most once per period): an empty
//! list alone reads as "this person does not exist".

use std::sync::Arc;

use axum::extract::State;
use ruma::api::client::user_directory::search_users;
use ruma::UserId;
use schulhof_policy::{Action, Rule};
use schulhof_store::UserRow;
use serde_json::{json, Map, Value};

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::notices;
use crate::service::school::policy::Context;
use crate::state::AppState;
use crate::Result;

/// Most results one search returns, whatever the client asks for.
const MAX_LIMIT: usize = 100;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.endpoint::<search_users::v3::Request, _, _>(search)
}

/// The accounts `searcher` may find: the school's policy (`SearchDirectory`) shows exactly
/// the people one may write to (students and parents: their own groups and teachers).
/// Filtering is not a denial and is not audited. Also whether the rights hid anyone from
/// `searcher` because they may not write to them.
async fn searchable_users(state: &AppState, searcher: &UserId) -> Result<(Vec<UserRow>, bool)> {
    let ctx = Context::now(state);
    let system = state.notices.system_user();
    let mut users = crate::service::identity::accounts::active_users(state).await?;
    let mut hidden_by_reach = false;
    users.retain(|user| {
        let target = localpart(&user.user_id);
        if user.user_id == system.as_str() {
            return false;
        }
        let decision = ctx.decide(searcher, &Action::SearchDirectory { target });
        hidden_by_reach |= decision.rule() == Some(Rule::DirectoryNotVisible);
        decision.is_allowed()
    });
    Ok((users, hidden_by_reach))
}

/// The lowercase words of a search term; a full user ID (`@name:server`) counts as its localpart.
fn search_words(term: &str) -> Vec<String> {
    let term = term.trim().to_lowercase();
    let term = term
        .strip_prefix('@')
        .map_or(term.as_str(), |id| id.split(':').next().unwrap_or_default());
    term.split_whitespace().map(str::to_owned).collect()
}

fn localpart(user_id: &str) -> &str {
    user_id
        .trim_start_matches('@')
        .split(':')
        .next()
        .unwrap_or_default()
}

/// How well a user matches: `Some(0)` if every word starts a word of the localpart or display
/// name, `Some(1)` if every word occurs somewhere, `None` if one does not.
fn rank(words: &[String], user: &UserRow) -> Option<u8> {
    if words.is_empty() {
        return None;
    }
    let haystack = format!(
        "{} {}",
        localpart(&user.user_id),
        user.displayname.as_deref().unwrap_or_default()
    )
    .to_lowercase();
    if !words.iter().all(|w| haystack.contains(w.as_str())) {
        return None;
    }
    let tokens: Vec<&str> = haystack
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let all_prefixes = words
        .iter()
        .all(|w| tokens.iter().any(|t| t.starts_with(w.as_str())));
    Some(if all_prefixes { 0 } else { 1 })
}

/// The matching users, best first: better rank, then with a display name, then alphabetically.
fn matching<'a>(words: &[String], users: &'a [UserRow]) -> Vec<&'a UserRow> {
    let mut found: Vec<(u8, &UserRow)> = users
        .iter()
        .filter_map(|u| Some((rank(words, u)?, u)))
        .collect();
    found.sort_by_cached_key(|(rank, u)| {
        let name = u
            .displayname
            .clone()
            .unwrap_or_else(|| localpart(&u.user_id).to_owned())
            .to_lowercase();
        (*rank, u.displayname.is_none(), name, u.user_id.clone())
    });
    found.into_iter().map(|(_, u)| u).collect()
}

fn result_json(user: &UserRow) -> Value {
    let mut entry = Map::new();
    entry.insert("user_id".into(), json!(user.user_id));
    if let Some(name) = &user.displayname {
        entry.insert("display_name".into(), json!(name));
    }
    if let Some(url) = &user.avatar_url {
        entry.insert("avatar_url".into(), json!(url));
    }
    Value::Object(entry)
}

async fn search(
    State(state): State<Arc<AppState>>,
    req: Ruma<search_users::v3::Request>,
) -> JsonResult {
    let limit = usize::try_from(u64::from(req.body.limit))
        .unwrap_or(MAX_LIMIT)
        .min(MAX_LIMIT);
    let (users, hidden_by_reach) = searchable_users(&state, req.user_id()).await?;
    let words = search_words(&req.body.search_term);
    let found = matching(&words, &users);
    if found.is_empty() && hidden_by_reach && !words.is_empty() {
        let refused = Action::SearchDirectory { target: "" }.refused();
        notices::tell_refusal(&state, req.user_id(), refused, Rule::DirectoryNotVisible).await;
    }
    let results: Vec<Value> = found.iter().take(limit).map(|u| result_json(u)).collect();
    Ok(Json(
        json!({ "results": results, "limited": found.len() > limit }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: Option<&str>) -> UserRow {
        UserRow {
            user_id: id.into(),
            password_hash: None,
            displayname: name.map(str::to_owned),
            avatar_url: None,
            is_admin: false,
            deactivated: false,
        }
    }

    fn ids(term: &str, users: &[UserRow]) -> Vec<String> {
        matching(&search_words(term), users)
            .into_iter()
            .map(|u| u.user_id.clone())
            .collect()
    }

    #[test]
    fn matches_localpart_and_display_name_case_insensitively() {
        let users = [
            user("@anna.schmidt:s", Some("Anna Schmidt")),
            user("@ben.mueller:s", Some("Ben Müller")),
        ];
        assert_eq!(ids("ANNA", &users), ["@anna.schmidt:s"]);
        assert_eq!(ids("müll", &users), ["@ben.mueller:s"]);
        assert_eq!(ids("mueller", &users), ["@ben.mueller:s"]);
        assert!(ids("carla", &users).is_empty());
    }

    #[test]
    fn every_word_must_match() {
        let users = [
            user("@anna.schmidt:s", Some("Anna Schmidt")),
            user("@anna.berg:s", Some("Anna Berg")),
        ];
        assert_eq!(ids("anna sch", &users), ["@anna.schmidt:s"]);
        assert_eq!(ids("anna", &users).len(), 2);
    }

    #[test]
    fn user_ids_search_by_localpart_not_server() {
        let users = [
            user("@anna.schmidt:schule.de", None),
            user("@ben:schule.de", None),
        ];
        assert_eq!(
            ids("@anna.schmidt:schule.de", &users),
            ["@anna.schmidt:schule.de"]
        );
        assert!(ids("schule", &users).is_empty());
    }

    #[test]
    fn word_starts_rank_before_inner_matches() {
        let users = [
            user("@xmax:s", Some("Xmax")),
            user("@max:s", Some("Max Meier")),
        ];
        assert_eq!(ids("max", &users), ["@max:s", "@xmax:s"]);
    }

    #[test]
    fn blank_terms_find_nobody() {
        assert!(ids("  ", &[user("@a:s", None)]).is_empty());
    }
}
