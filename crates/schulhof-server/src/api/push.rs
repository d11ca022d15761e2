//! Push rules: `/pushrules/` and `/pushrules/global/{kind}/{ruleId}` with `/enabled` and
//! `/actions`; pushers: `/pushers` and `/pushers/set`. A user's rules are stored as global account data `m.push_rules` (like Synapse),
//! so they also reach the client through `/sync`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::MethodFilter;
use ruma::api::client::push::{
    delete_pushrule, get_pushers, get_pushrule, get_pushrule_actions, get_pushrule_enabled,
    get_pushrules_all, get_pushrules_global_scope, set_pushrule, set_pushrule_actions,
    set_pushrule_enabled, PushRule,
};
use ruma::push::{AnyPushRuleRef, InsertPushRuleError, RemovePushRuleError, RuleKind, Ruleset};
use ruma::UserId;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::{read_body, Authenticated, Ruma};
use crate::service::push::pushers;
use crate::service::push::rules::{PushRules, PUSH_RULES_TYPE};
use crate::service::user::account_data::set_account_data;
use crate::state::AppState;
use crate::{Error, Result};

/// Serialises read-modify-write changes of rulesets, so concurrent edits cannot lose each other.
static EDITS: Mutex<()> = Mutex::const_new(());

/// The rule kinds of the spec, in the order clients show them.
const KINDS: [&str; 5] = ["override", "content", "room", "sender", "underride"];

pub(super) fn routes(routes: Routes) -> Routes {
    let mut routes = routes
        .endpoint::<get_pushers::v3::Request, _, _>(pushers)
        .endpoint::<get_pushrules_all::v3::Request, _, _>(get_all)
        .endpoint::<get_pushrules_global_scope::v3::Request, _, _>(get_global)
        .endpoint::<get_pushrule::v3::Request, _, _>(get_rule)
        .endpoint::<set_pushrule::v3::Request, _, _>(set_rule)
        .endpoint::<delete_pushrule::v3::Request, _, _>(delete_rule)
        .endpoint::<get_pushrule_enabled::v3::Request, _, _>(get_enabled)
        .endpoint::<set_pushrule_enabled::v3::Request, _, _>(set_enabled)
        .endpoint::<get_pushrule_actions::v3::Request, _, _>(get_actions)
        .endpoint::<set_pushrule_actions::v3::Request, _, _>(set_actions);
    for version in ["r0", "v3"] {
        routes = routes.raw_with(
            &format!("/_matrix/client/{version}/pushers/set"),
            MethodFilter::POST,
            set_pusher,
        );
        // ruma only knows the paths with a trailing slash; clients also ask without one.
        routes = routes
            .raw_with(
                &format!("/_matrix/client/{version}/pushrules"),
                MethodFilter::GET,
                get_all,
            )
            .raw_with(
                &format!("/_matrix/client/{version}/pushrules/global"),
                MethodFilter::GET,
                get_global,
            );
    }
    routes
}

/// A ruleset as clients expect it: every kind present, empty ones as `[]`.
pub(super) fn ruleset_json(ruleset: &Ruleset) -> Value {
    let mut value = serde_json::to_value(ruleset).unwrap_or_else(|_| json!({}));
    if let Some(object) = value.as_object_mut() {
        for kind in KINDS {
            object.entry(kind).or_insert_with(|| json!([]));
        }
    }
    value
}

/// Refuses kinds the spec does not define (`M_INVALID_PARAM`).
fn check_kind(kind: &RuleKind) -> Result<()> {
    if KINDS.contains(&kind.as_str()) {
        return Ok(());
    }
    Err(Error::InvalidParam(crate::text!(
        "Unbekannte Art von Push-Regel: {}",
        "Unknown push rule kind: {}",
        kind.as_str()
    )))
}

fn unknown_rule() -> Error {
    Error::not_found("Diese Push-Regel gibt es nicht.", "Unknown push rule.")
}

/// Looks up one rule of a ruleset (404 if it does not exist).
fn find<'a>(ruleset: &'a Ruleset, kind: &RuleKind, rule_id: &str) -> Result<AnyPushRuleRef<'a>> {
    check_kind(kind)?;
    ruleset.get(kind.clone(), rule_id).ok_or_else(unknown_rule)
}

/// Applies `change` to the user's ruleset and stores the result.
async fn edit(
    state: &AppState,
    user_id: &UserId,
    change: impl FnOnce(&mut Ruleset) -> Result<()>,
) -> JsonResult {
    let _edit = EDITS.lock().await;
    let mut ruleset = PushRules::of(state, user_id).await?.ruleset.clone();
    change(&mut ruleset)?;
    set_account_data(
        state,
        user_id,
        None,
        PUSH_RULES_TYPE,
        &json!({ "global": ruleset_json(&ruleset) }),
    )
    .await?;
    Ok(Json(json!({})))
}

fn insert_error(err: InsertPushRuleError) -> Error {
    let (de, en) = match err {
        InsertPushRuleError::ServerDefaultRuleId => (
            "Regel-IDs mit einem Punkt am Anfang sind für Server-Regeln reserviert.",
            "Rule IDs starting with a dot are reserved for server-default rules.",
        ),
        InsertPushRuleError::InvalidRuleId => ("Ungültige Regel-ID.", "Invalid rule ID."),
        InsertPushRuleError::RelativeToServerDefaultRule => (
            "Eine Regel kann nicht relativ zu einer Server-Regel eingeordnet werden.",
            "A rule cannot be placed relative to a server-default rule.",
        ),
        InsertPushRuleError::UnknownRuleId => (
            "Die Regel aus before/after gibt es nicht.",
            "The before/after rule was not found.",
        ),
        _ => (
            "before muss vor after liegen.",
            "before must have a lower priority than after.",
        ),
    };
    Error::BadRequest(crate::error::Text::new(de, en))
}

async fn get_all(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_pushrules_all::v3::Request>,
) -> JsonResult {
    let rules = PushRules::of(&state, req.user_id()).await?;
    let ruleset = &rules.ruleset;
    Ok(Json(json!({ "global": ruleset_json(ruleset) })))
}

async fn get_global(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_pushrules_global_scope::v3::Request>,
) -> JsonResult {
    let rules = PushRules::of(&state, req.user_id()).await?;
    let ruleset = &rules.ruleset;
    Ok(Json(ruleset_json(ruleset)))
}

async fn get_rule(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_pushrule::v3::Request>,
) -> JsonResult {
    let rules = PushRules::of(&state, req.user_id()).await?;
    let ruleset = &rules.ruleset;
    let rule = PushRule::from(find(ruleset, &req.body.kind, &req.body.rule_id)?.to_owned());
    Ok(Json(
        serde_json::to_value(rule).map_err(|e| Error::Internal(e.to_string()))?,
    ))
}

async fn set_rule(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_pushrule::v3::Request>,
) -> JsonResult {
    let user_id = req.user_id().clone();
    let set_pushrule::v3::Request {
        rule,
        before,
        after,
        ..
    } = req.body;
    edit(&state, &user_id, |ruleset| {
        ruleset
            .insert(rule, after.as_deref(), before.as_deref())
            .map_err(insert_error)
    })
    .await
}

async fn delete_rule(
    State(state): State<Arc<AppState>>,
    req: Ruma<delete_pushrule::v3::Request>,
) -> JsonResult {
    check_kind(&req.body.kind)?;
    edit(&state, req.user_id(), |ruleset| {
        ruleset
            .remove(req.body.kind.clone(), &req.body.rule_id)
            .map_err(|err| match err {
                RemovePushRuleError::ServerDefault => Error::BadRequest(crate::text!(
                    "Server-Regeln können nicht gelöscht werden.",
                    "Server-default rules cannot be deleted."
                )),
                _ => unknown_rule(),
            })
    })
    .await
}

async fn get_enabled(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_pushrule_enabled::v3::Request>,
) -> JsonResult {
    let rules = PushRules::of(&state, req.user_id()).await?;
    let ruleset = &rules.ruleset;
    let rule = find(ruleset, &req.body.kind, &req.body.rule_id)?;
    Ok(Json(json!({ "enabled": rule.enabled() })))
}

async fn set_enabled(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_pushrule_enabled::v3::Request>,
) -> JsonResult {
    check_kind(&req.body.kind)?;
    edit(&state, req.user_id(), |ruleset| {
        ruleset
            .set_enabled(req.body.kind.clone(), &req.body.rule_id, req.body.enabled)
            .map_err(|_| unknown_rule())
    })
    .await
}

async fn get_actions(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_pushrule_actions::v3::Request>,
) -> JsonResult {
    let rules = PushRules::of(&state, req.user_id()).await?;
    let ruleset = &rules.ruleset;
    let rule = find(ruleset, &req.body.kind, &req.body.rule_id)?;
    Ok(Json(json!({ "actions": rule.actions() })))
}

async fn set_actions(
    State(state): State<Arc<AppState>>,
    req: Ruma<set_pushrule_actions::v3::Request>,
) -> JsonResult {
    check_kind(&req.body.kind)?;
    let actions = req.body.actions.clone();
    edit(&state, req.user_id(), |ruleset| {
        ruleset
            .set_actions(req.body.kind.clone(), &req.body.rule_id, actions)
            .map_err(|_| unknown_rule())
    })
    .await
}

/// The user's pushers.
async fn pushers(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_pushers::v3::Request>,
) -> JsonResult {
    Ok(Json(pushers::list(&state, req.user_id()).await?))
}

/// `POST /pushers/set`: creates, changes or deletes a pusher. Read as plain JSON, so that
/// a missing or wrong field gets the spec's `M_MISSING_PARAM`/`M_INVALID_PARAM` naming it.
async fn set_pusher(
    State(state): State<Arc<AppState>>,
    Authenticated(session): Authenticated,
    body: axum::body::Body,
) -> JsonResult {
    state.rate_limiter.check_request(session.user_id.as_str())?;
    let bytes = read_body(body, state.config.limits.max_request_bytes as usize).await?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| Error::NotJson)?;
    let request = pushers::parse_set(
        &state.config.push,
        &session.user_id,
        &session.device_id,
        &body,
    )?;
    pushers::set(&state, &session.user_id, request).await?;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed() {
        let value = ruleset_json(&Ruleset::new());
        for kind in KINDS {
            assert_eq!(value[kind], json!([]));
        }
        let defaults = ruleset_json(&Ruleset::server_default(ruma::user_id!("@a:schule.test")));
        assert!(defaults["override"]
            .as_array()
            .is_some_and(|r| !r.is_empty()));
        assert_eq!(defaults["sender"], json!([]));
    }

    #[test]
    fn unknown_kinds_are_invalid() {
        assert!(check_kind(&RuleKind::Override).is_ok());
        assert_eq!(
            check_kind(&RuleKind::from("nonsense"))
                .unwrap_err()
                .errcode(),
            "M_INVALID_PARAM"
        );
    }
}
