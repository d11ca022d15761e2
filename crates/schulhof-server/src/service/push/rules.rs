//! Push rules: each user's ruleset (server defaults until changed) and their evaluation for
//! notification counts when an event is stored.

use std::sync::Arc;

use ruma::push::{Action, PushConditionRoomCtx, Ruleset, Tweak};
use ruma::serde::Raw;
use ruma::{UInt, UserId};
use schulhof_store::{Db, Tx};
use serde_json::Value;

use crate::service::rooms::pdu::Pdu;
use crate::service::rooms::RoomSnapshot;
use crate::service::user::user_cache::UserCache;
use crate::state::AppState;
use crate::{Error, Result};

/// The account data type under which a user's push rules are stored.
pub const PUSH_RULES_TYPE: &str = "m.push_rules";

/// Cache of users' push rulesets.
#[derive(Default)]
pub struct PushRules {
    cache: UserCache<Ruleset>,
}

impl PushRules {
    /// A user's ruleset: stored rules, or the server defaults.
    pub async fn ruleset(&self, db: &Db, user_id: &UserId) -> Result<Arc<Ruleset>> {
        self.cache
            .get_or_load(user_id.as_str(), async {
                let stored = db
                    .account_data(user_id.as_str(), "", PUSH_RULES_TYPE)
                    .await?;
                Ok(stored
                    .and_then(|json| serde_json::from_str::<Value>(&json).ok())
                    .and_then(|v| serde_json::from_value::<Ruleset>(v.get("global")?.clone()).ok())
                    .unwrap_or_else(|| Ruleset::server_default(user_id)))
            })
            .await
    }

    /// Forgets a cached ruleset after it changed.
    pub fn invalidate(&self, user_id: &UserId) {
        self.cache.invalidate(user_id.as_str());
    }
}

/// Evaluates every joined member's push rules for a new event and records the notifying ones.
pub async fn record_notifications(
    state: &AppState,
    tx: &mut Tx,
    room: &RoomSnapshot,
    pdu: &Pdu,
    pos: i64,
) -> Result<()> {
    if pdu.state_key.is_some() && pdu.kind != ruma::events::TimelineEventType::RoomMember {
        return Ok(());
    }
    let joined: Vec<_> = room.joined().collect();
    let raw: Raw<Value> = Raw::from_json(
        serde_json::value::to_raw_value(pdu).map_err(|e| Error::Internal(e.to_string()))?,
    );
    let member_count = UInt::try_from(joined.len() as u64).unwrap_or_default();
    for user in joined.iter().filter(|u| **u != pdu.sender) {
        let ruleset = state.push_rules.ruleset(&state.db, user).await?;
        let display_name = room
            .content("m.room.member", user.as_str())
            .and_then(|c| {
                c.get("displayname")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| user.localpart().to_owned());
        let ctx = PushConditionRoomCtx::new(
            room.room_id.clone(),
            member_count,
            user.clone(),
            display_name,
        );
        let actions = ruleset.get_actions(&raw, &ctx).await;
        if actions.iter().any(|a| matches!(a, Action::Notify)) {
            let highlight = actions.iter().any(|a| {
                matches!(
                    a,
                    Action::SetTweak(Tweak::Highlight(ruma::push::HighlightTweakValue::Yes))
                )
            });
            Db::insert_push_action(tx, user.as_str(), room.room_id.as_str(), pos, highlight)
                .await?;
        }
    }
    Ok(())
}
