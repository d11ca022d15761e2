//! Push rules: each user's ruleset (server defaults until changed) and their evaluation for
//! notification counts when an event is stored.

use std::sync::Arc;

use ruma::push::{Action, FlattenedJson, PushConditionRoomCtx, Ruleset, Tweak};
use ruma::serde::Raw;
use ruma::{UInt, UserId};
use schulhof_store::{Db, Tx};
use serde_json::Value;

use crate::service::rooms::pdu::Pdu;
use crate::service::rooms::RoomSnapshot;
use crate::service::user::account_data::account_data;
use crate::service::user::user_cache::UserCache;
use crate::state::AppState;
use crate::{Error, Result};

/// The account data type under which a user's push rules are stored.
pub const PUSH_RULES_TYPE: &str = "m.push_rules";

/// Cache of users' push rulesets.
#[derive(Default)]
pub struct PushRules {
    cache: UserCache<UserRules>,
}

/// One user's push rules.
pub struct UserRules {
    /// The ruleset in force.
    pub ruleset: Ruleset,
    /// Whether it is the server's default ruleset (nothing stored), which lets evaluation skip
    /// events the defaults never notify about.
    pub server_default: bool,
}

impl PushRules {
    /// A user's ruleset: stored rules, or the server defaults.
    pub async fn ruleset(&self, state: &AppState, user_id: &UserId) -> Result<Arc<UserRules>> {
        self.cache
            .get_or_load(user_id.as_str(), async {
                let stored = account_data(state, user_id, None, PUSH_RULES_TYPE)
                    .await?
                    .and_then(|v| serde_json::from_value::<Ruleset>(v.get("global")?.clone()).ok());
                Ok(match stored {
                    Some(ruleset) => UserRules {
                        ruleset,
                        server_default: false,
                    },
                    None => UserRules {
                        ruleset: Ruleset::server_default(user_id),
                        server_default: true,
                    },
                })
            })
            .await
    }

    /// The ruleset of `user_id` (for handlers).
    pub async fn of(state: &AppState, user_id: &UserId) -> Result<Arc<UserRules>> {
        state.push_rules.ruleset(state, user_id).await
    }

    /// Forgets a cached ruleset after it changed.
    pub fn invalidate(&self, user_id: &UserId) {
        self.cache.invalidate(user_id.as_str());
    }
}

/// The actions of the first rule of `ruleset` that applies to the already flattened `event`
/// (what `Ruleset::get_actions` answers, without flattening the event again per user).
async fn actions_for<'r>(
    ruleset: &'r Ruleset,
    event: &FlattenedJson,
    ctx: &PushConditionRoomCtx,
) -> &'r [Action] {
    for rule in ruleset.iter() {
        if rule.applies(event, ctx).await {
            return rule.actions();
        }
    }
    &[]
}

/// Evaluates every joined member's push rules for a new event and records the notifying ones.
/// The event is flattened once; each member's rules are then matched against it. Members in
/// `held` (quiet hours) get no notification now: for each of them the result says whether the
/// event notifies and highlights, to be recorded when it is released.
pub async fn record_notifications(
    state: &AppState,
    tx: &mut Tx,
    room: &RoomSnapshot,
    pdu: &Pdu,
    pos: i64,
    held: &[&UserId],
) -> Result<Vec<(bool, bool)>> {
    let mut held_actions = vec![(false, false); held.len()];
    if pdu.state_key.is_some() && pdu.kind != ruma::events::TimelineEventType::RoomMember {
        return Ok(held_actions);
    }
    let raw: Raw<Value> = Raw::from_json(
        serde_json::value::to_raw_value(pdu).map_err(|e| Error::Internal(e.to_string()))?,
    );
    let event = FlattenedJson::from_raw(&raw);
    let (joined, _) = room.member_counts();
    let member_count = UInt::try_from(joined).unwrap_or_default();
    let member_event = pdu.kind == ruma::events::TimelineEventType::RoomMember;
    for (user, member) in room.joined_members().filter(|(u, _)| *u != pdu.sender) {
        let rules = state.push_rules.ruleset(state, user).await?;
        // The default rules never notify a joined member of a member event: the only override
        // before `.m.rule.member_event` that notifies is `.m.rule.invite_for_me`, whose target
        // is not joined.
        if member_event && rules.server_default {
            continue;
        }
        let display_name = member
            .displayname
            .clone()
            .unwrap_or_else(|| user.localpart().to_owned());
        let ctx = PushConditionRoomCtx::new(
            room.room_id.clone(),
            member_count,
            user.to_owned(),
            display_name,
        );
        let actions = actions_for(&rules.ruleset, &event, &ctx).await;
        if actions.iter().any(|a| matches!(a, Action::Notify)) {
            let highlight = actions.iter().any(|a| {
                matches!(
                    a,
                    Action::SetTweak(Tweak::Highlight(ruma::push::HighlightTweakValue::Yes))
                )
            });
            if let Some(i) = held.iter().position(|h| *h == user) {
                held_actions[i] = (true, highlight);
                continue;
            }
            Db::insert_push_action(tx, user.as_str(), room.room_id.as_str(), pos, highlight)
                .await?;
        }
    }
    Ok(held_actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruma::{owned_room_id, owned_user_id};
    use serde_json::json;

    #[tokio::test]
    async fn matching_a_flattened_event_equals_rumas_evaluation() {
        let user = owned_user_id!("@ben:schule.test");
        let ruleset = Ruleset::server_default(&user);
        let events = [
            json!({ "type": "m.room.message", "sender": "@anna:schule.test", "content": { "msgtype": "m.text", "body": "Hallo zusammen" } }),
            json!({ "type": "m.room.message", "sender": "@anna:schule.test", "content": { "msgtype": "m.text", "body": "Ben, bitte", "m.mentions": { "user_ids": ["@ben:schule.test"] } } }),
            json!({ "type": "m.room.message", "sender": "@anna:schule.test", "content": { "msgtype": "m.notice", "body": "Hinweis" } }),
            json!({ "type": "m.room.member", "sender": "@anna:schule.test", "state_key": "@anna:schule.test", "content": { "membership": "join" } }),
            json!({ "type": "m.room.encrypted", "sender": "@anna:schule.test", "content": { "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x" } }),
            json!({ "type": "m.room.message", "sender": "@anna:schule.test", "content": { "msgtype": "m.text", "body": "Ben Müller ist da" } }),
        ];
        for members in [2u32, 30] {
            let ctx = PushConditionRoomCtx::new(
                owned_room_id!("!r:schule.test"),
                members.into(),
                user.clone(),
                "Ben Müller".into(),
            );
            for event in &events {
                let raw: Raw<Value> = Raw::new(event).unwrap().cast();
                let flat = FlattenedJson::from_raw(&raw);
                let ours = serde_json::to_value(actions_for(&ruleset, &flat, &ctx).await).unwrap();
                let rumas = serde_json::to_value(ruleset.get_actions(&raw, &ctx).await).unwrap();
                assert_eq!(ours, rumas, "{event} in a room of {members}");
            }
        }
    }

    #[tokio::test]
    async fn default_rules_notify_of_member_events_only_the_invitee() {
        let user = owned_user_id!("@ben:schule.test");
        let ruleset = Ruleset::server_default(&user);
        let ctx = PushConditionRoomCtx::new(
            owned_room_id!("!r:schule.test"),
            30u32.into(),
            user.clone(),
            "Ben".into(),
        );
        let member = |target: &str, content: Value| json!({ "type": "m.room.member", "sender": "@anna:schule.test", "state_key": target, "content": content });
        let silent = [
            member("@anna:schule.test", json!({ "membership": "join" })),
            member("@carla:schule.test", json!({ "membership": "invite" })),
            member(
                "@anna:schule.test",
                json!({ "membership": "join", "displayname": "Ben" }),
            ),
            member(
                "@anna:schule.test",
                json!({ "membership": "leave", "msgtype": "m.notice" }),
            ),
            member(
                "@carla:schule.test",
                json!({ "membership": "ban", "reason": "@ben:schule.test" }),
            ),
        ];
        for event in silent {
            let raw: Raw<Value> = Raw::new(&event).unwrap().cast();
            let actions = actions_for(&ruleset, &FlattenedJson::from_raw(&raw), &ctx).await;
            assert!(
                !actions.iter().any(|a| matches!(a, Action::Notify)),
                "{event}"
            );
        }
        let invite = member("@ben:schule.test", json!({ "membership": "invite" }));
        let raw: Raw<Value> = Raw::new(&invite).unwrap().cast();
        let actions = actions_for(&ruleset, &FlattenedJson::from_raw(&raw), &ctx).await;
        assert!(actions.iter().any(|a| matches!(a, Action::Notify)));
    }
}
