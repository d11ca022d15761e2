//! Push rules: each user's ruleset (server defaults until changed) and their evaluation for
//! notification counts when an event is stored.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use ruma::push::{Action, FlattenedJson, PushConditionRoomCtx, Ruleset};
use ruma::serde::Raw;
use ruma::{OwnedUserId, UInt, UserId};
use schulhof_store::{Db, NewNotifications};
use serde_json::Value;

use crate::service::push::outbox;
use crate::service::rooms::pdu::Pdu;
use crate::service::rooms::{Member, RoomSnapshot};
use crate::service::user::account_data::account_data;
use crate::service::user::user_cache::UserCache;
use crate::service::write::Commit;
use crate::state::AppState;
use crate::{Error, Result};

/// The account data type under which a user's push rules are stored.
pub const PUSH_RULES_TYPE: &str = "m.push_rules";

/// Cache of users' push rulesets, and who has stored push rules at all.
pub struct PushRules {
    cache: UserCache<UserRules>,
    /// Every user whose push rules are stored: read from the database at start and extended
    /// by each commit that stores a user's rules (applied under the writer lock before the
    /// next write, see [`PushRules::changed`]), so a user not in it is on the server's default
    /// rules. Erasing a person's data (outside the writer) leaves them in it; they are then
    /// evaluated one by one like anyone with stored rules, which reads the defaults.
    stored: RwLock<HashSet<OwnedUserId>>,
}

/// One user's push rules.
pub struct UserRules {
    /// The ruleset in force.
    pub ruleset: Ruleset,
    /// Whether it is the server's default ruleset (nothing stored), which lets evaluation skip
    /// events the defaults never notify about.
    pub server_default: bool,
}

impl UserRules {
    /// The server's default rules for `user_id`.
    fn server_default(user_id: &UserId) -> Self {
        UserRules {
            ruleset: Ruleset::server_default(user_id),
            server_default: true,
        }
    }
}

impl PushRules {
    /// The cache, empty, with the users who have stored push rules read from `db`.
    pub async fn load(db: &Db) -> Result<Self> {
        let stored = db
            .users_with_account_data(PUSH_RULES_TYPE)
            .await?
            .into_iter()
            .filter_map(|user| OwnedUserId::try_from(user).ok())
            .collect();
        Ok(Self {
            cache: UserCache::default(),
            stored: RwLock::new(stored),
        })
    }

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
                    None => UserRules::server_default(user_id),
                })
            })
            .await
    }

    /// The ruleset of `user_id` (for handlers).
    pub async fn of(state: &AppState, user_id: &UserId) -> Result<Arc<UserRules>> {
        state.push_rules.ruleset(state, user_id).await
    }

    /// Records that `user_id` stored push rules (after the commit, under the writer lock):
    /// they count as having stored rules from now on, and their cached ruleset is forgotten.
    pub fn changed(&self, user_id: &UserId) {
        self.stored
            .write()
            .expect("stored push rules")
            .insert(user_id.to_owned());
        self.cache.invalidate(user_id.as_str());
    }

    /// The joined members of `room` other than `sender` who have stored push rules, without a
    /// look-up per member of a large room: the smaller of the two sets is walked.
    fn stored_members<'r>(
        &self,
        room: &'r RoomSnapshot,
        sender: &UserId,
    ) -> Vec<(&'r UserId, &'r Member)> {
        let stored = self.stored.read().expect("stored push rules");
        let (joined, _) = room.member_counts();
        let mut members: Vec<(&UserId, &Member)> = if (stored.len() as u64) < joined {
            stored
                .iter()
                .filter_map(|u| room.joined_member(u))
                .collect()
        } else {
            room.joined_members()
                .filter(|(u, _)| stored.contains(*u))
                .collect()
        };
        members.retain(|(u, _)| *u != sender);
        members
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

/// How an event notifies one recipient: what their push rule's actions said.
#[derive(Debug, Clone, PartialEq)]
pub struct Notified {
    /// The rule set the highlight tweak.
    pub highlight: bool,
    /// The rule's tweaks as the Push Gateway API sends them (`{"sound": "default", ...}`),
    /// JSON object text.
    pub tweaks: String,
}

impl Notified {
    /// The notification `actions` describe, if they notify.
    fn from_actions(actions: &[Action]) -> Option<Self> {
        if !actions.iter().any(|a| matches!(a, Action::Notify)) {
            return None;
        }
        let mut tweaks = serde_json::Map::new();
        for action in actions {
            if let Action::SetTweak(tweak) = action {
                let Ok(value) = serde_json::to_value(tweak) else {
                    continue;
                };
                if let Some(name) = value.get("set_tweak").and_then(Value::as_str) {
                    // `highlight` without a value means true.
                    let setting = value.get("value").cloned().unwrap_or(Value::Bool(true));
                    tweaks.insert(name.to_owned(), setting);
                }
            }
        }
        let highlight = tweaks.get("highlight") == Some(&Value::Bool(true));
        Some(Notified {
            highlight,
            tweaks: Value::Object(tweaks).to_string(),
        })
    }
}

/// Evaluates every joined member's push rules for a new event and records how it notifies
/// them: the outcome most members get once for the room, the other members one by one (so a
/// message in a room of 1,500 writes a few rows, not 1,500), with a push notification queued
/// for each pusher of a notified member (the outbox, in the commit's transaction; one statement
/// for all of them). The event is flattened once; each member's rules are then matched against
/// it. Members in `held` (quiet hours) get no notification now: for each of them the result
/// says how the event notifies them, to be recorded and pushed when it is released.
///
/// The server's default rules never notify a joined member of a member event (the only
/// override before `.m.rule.member_event`, which has no actions, that notifies is
/// `.m.rule.invite_for_me`, whose target is not joined), so for a member event only the members
/// with stored rules are evaluated; the others are counted as not notified without a look-up
/// each.
pub async fn record_notifications(
    state: &AppState,
    c: &mut Commit<'_, '_>,
    room: &RoomSnapshot,
    pdu: &Pdu,
    pos: i64,
    held: &[&UserId],
) -> Result<Vec<Option<Notified>>> {
    let mut held_actions = vec![None; held.len()];
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
    let sender_joined = room.is_joined(&pdu.sender);
    let others = joined.saturating_sub(u64::from(sender_joined)) as usize;
    let stored = state.push_rules.stored_members(room, &pdu.sender);
    let with_stored_rules: HashSet<&UserId> = stored.iter().map(|(u, _)| *u).collect();
    let recipients: Vec<(&UserId, &Member)> = if member_event {
        stored
    } else {
        room.joined_members()
            .filter(|(u, _)| *u != pdu.sender)
            .collect()
    };
    // Members not evaluated: on the default rules, not notified of this member event.
    let unevaluated = others.saturating_sub(recipients.len());
    // Recipients notified now, by the tweaks of their matching rule.
    let mut pushes: Vec<(String, Vec<&str>)> = Vec::new();
    let personal = PersonalMatch::of(&event);
    // The outcome of the members on the default rules whom the event does not single out.
    let mut shared: Option<Option<Notified>> = None;
    // Every evaluated member's outcome now: `Some(highlight)` if notified.
    let mut outcomes: Vec<(&str, Option<bool>)> = Vec::with_capacity(recipients.len());
    for &(user, member) in &recipients {
        let display_name = member
            .displayname
            .as_deref()
            .unwrap_or_else(|| user.localpart());
        let singled_out = personal.may_single_out(user, display_name);
        let has_stored_rules = with_stored_rules.contains(user);
        // Members on the default rules whom the event does not single out all get the same
        // outcome: it is evaluated once, for the first of them, and their rules are neither
        // read nor built (a message into a 1,500-member room costs one evaluation).
        let known = (!has_stored_rules && !singled_out)
            .then(|| shared.clone())
            .flatten();
        let notified = match known {
            Some(outcome) => outcome,
            None => {
                let rules = if has_stored_rules {
                    state.push_rules.ruleset(state, user).await?
                } else {
                    Arc::new(UserRules::server_default(user))
                };
                // Stored rules that were erased since are the defaults again (see above).
                if member_event && rules.server_default {
                    outcomes.push((user.as_str(), None));
                    continue;
                }
                let ctx = PushConditionRoomCtx::new(
                    room.room_id.clone(),
                    member_count,
                    user.to_owned(),
                    display_name.to_owned(),
                );
                let notified =
                    Notified::from_actions(actions_for(&rules.ruleset, &event, &ctx).await);
                if rules.server_default && !singled_out {
                    shared = Some(notified.clone());
                }
                notified
            }
        };
        let Some(notified) = notified else {
            outcomes.push((user.as_str(), None));
            continue;
        };
        if let Some(i) = held.iter().position(|h| *h == user) {
            held_actions[i] = Some(notified);
            outcomes.push((user.as_str(), None));
            continue;
        }
        outcomes.push((user.as_str(), Some(notified.highlight)));
        match pushes
            .iter_mut()
            .find(|(tweaks, _)| *tweaks == notified.tweaks)
        {
            Some((_, users)) => users.push(user.as_str()),
            None => pushes.push((notified.tweaks, vec![user.as_str()])),
        }
    }
    // The most common outcome is stored once for the room, the others member by member.
    let room_outcome = most_common(&outcomes, unevaluated);
    let mut exceptions: Vec<(&str, Option<bool>)> = outcomes
        .into_iter()
        .filter(|(_, outcome)| *outcome != room_outcome)
        .collect();
    if room_outcome.is_some() {
        if unevaluated > 0 {
            // Most members with stored rules are notified of a member event: the others are
            // the exceptions.
            let evaluated: HashSet<&UserId> = recipients.iter().map(|(u, _)| *u).collect();
            exceptions.extend(
                room.joined()
                    .filter(|u| *u != pdu.sender && !evaluated.contains(u))
                    .map(|u| (u.as_str(), None)),
            );
        }
        // The sender is not notified of their own event.
        exceptions.push((pdu.sender.as_str(), None));
    }
    let notifications = NewNotifications {
        room_id: room.room_id.as_str(),
        pos,
        room_outcome,
        exceptions: &exceptions,
    };
    Db::insert_notifications(c.tx(), &notifications).await?;
    // One outbox statement per set of tweaks (usually one), whoever has pushers.
    for (tweaks, users) in &pushes {
        outbox::queue(state, c, users, room.room_id.as_str(), (pos, pos), tweaks).await?;
    }
    Ok(held_actions)
}

/// What in an event could make the server's default push rules treat one member apart from
/// the others: the user IDs it mentions and its lowercased body.
struct PersonalMatch<'e> {
    mentioned: Vec<&'e str>,
    body: Option<String>,
}

impl<'e> PersonalMatch<'e> {
    /// Reads the already flattened event (its content is not parsed again).
    fn of(event: &'e FlattenedJson) -> Self {
        let mentioned = event
            .get(r"content.m\.mentions.user_ids")
            .and_then(|ids| ids.as_array())
            .map(|ids| ids.iter().filter_map(|id| id.as_str()).collect())
            .unwrap_or_default();
        let body = event.get_str("content.body").map(str::to_lowercase);
        Self { mentioned, body }
    }

    /// Whether the default rules could single out `user` with `display_name`: the only
    /// conditions in them that depend on the member are a mention of their user ID, their
    /// display name as a word of the body and their localpart as a word of the body; a word
    /// of the body is also a part of it. A display name that is empty or has wildcards is a
    /// pattern of its own and always counts.
    fn may_single_out(&self, user: &UserId, display_name: &str) -> bool {
        if self.mentioned.contains(&user.as_str()) {
            return true;
        }
        let Some(body) = &self.body else {
            return false;
        };
        display_name.is_empty()
            || display_name.contains(['*', '?'])
            || body.contains(&display_name.to_lowercase())
            || body.contains(&user.localpart().to_lowercase())
    }
}

/// The outcome most members got (not notifying where outcomes tie), with `unevaluated` more
/// members not notified.
fn most_common(outcomes: &[(&str, Option<bool>)], unevaluated: usize) -> Option<bool> {
    let count = |wanted: Option<bool>| {
        let listed = outcomes.iter().filter(|(_, o)| *o == wanted).count();
        listed + if wanted.is_none() { unevaluated } else { 0 }
    };
    [None, Some(false), Some(true)]
        .into_iter()
        .rev()
        .max_by_key(|&outcome| count(outcome))
        .unwrap_or(None)
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
    async fn members_the_event_does_not_single_out_share_one_outcome() {
        let members = [
            ("@ben:schule.test", "Ben Müller"),
            ("@carla:schule.test", "Carla Wolf"),
            ("@dora:schule.test", "Dora"),
            ("@emil:schule.test", "E*"),
            ("@finn:schule.test", ""),
            ("@gesa:schule.test", "Gesa"),
        ];
        let message = |content: Value| json!({ "type": "m.room.message", "sender": "@anna:schule.test", "content": content });
        let events = [
            message(json!({ "msgtype": "m.text", "body": "Hallo zusammen" })),
            message(json!({ "msgtype": "m.text", "body": "Ben Müller, bitte" })),
            message(json!({ "msgtype": "m.text", "body": "frag dora" })),
            message(json!({ "msgtype": "m.text", "body": "carla?" })),
            message(json!({ "msgtype": "m.text", "body": "Eimer" })),
            message(
                json!({ "msgtype": "m.text", "body": "x", "m.mentions": { "user_ids": ["@gesa:schule.test"] } }),
            ),
            message(json!({ "msgtype": "m.notice", "body": "Hinweis" })),
            message(json!({ "msgtype": "m.text", "body": "@room Achtung" })),
            json!({ "type": "m.room.encrypted", "sender": "@anna:schule.test", "content": { "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x" } }),
        ];
        for event in &events {
            let raw: Raw<Value> = Raw::new(event).unwrap().cast();
            let flat = FlattenedJson::from_raw(&raw);
            let personal = PersonalMatch::of(&flat);
            let mut shared: Vec<Option<Notified>> = Vec::new();
            for (user, name) in members {
                let user = UserId::parse(user).unwrap();
                let ctx = PushConditionRoomCtx::new(
                    owned_room_id!("!r:schule.test"),
                    30u32.into(),
                    user.clone(),
                    name.into(),
                );
                let ruleset = Ruleset::server_default(&user);
                let outcome = Notified::from_actions(actions_for(&ruleset, &flat, &ctx).await);
                if !personal.may_single_out(&user, name) {
                    shared.push(outcome);
                }
            }
            assert!(
                shared.windows(2).all(|w| w[0] == w[1]),
                "{event}: {shared:?}"
            );
        }
    }

    #[tokio::test]
    async fn tweaks_are_sent_as_the_push_gateway_api_names_them() {
        let user = owned_user_id!("@ben:schule.test");
        let ruleset = Ruleset::server_default(&user);
        let ctx = PushConditionRoomCtx::new(
            owned_room_id!("!r:schule.test"),
            2u32.into(),
            user.clone(),
            "Ben".into(),
        );
        let notified = |event: Value| {
            let ruleset = &ruleset;
            let ctx = &ctx;
            async move {
                let raw: Raw<Value> = Raw::new(&event).unwrap().cast();
                let actions = actions_for(ruleset, &FlattenedJson::from_raw(&raw), ctx).await;
                Notified::from_actions(actions).map(|n| {
                    (
                        n.highlight,
                        serde_json::from_str::<Value>(&n.tweaks).unwrap(),
                    )
                })
            }
        };
        // A direct message: a sound, no highlight.
        let dm = json!({ "type": "m.room.message", "sender": "@anna:schule.test", "content": { "msgtype": "m.text", "body": "Hallo" } });
        assert_eq!(
            notified(dm).await,
            Some((false, json!({ "sound": "default" })))
        );
        // A mention highlights.
        let mention = json!({ "type": "m.room.message", "sender": "@anna:schule.test", "content": { "msgtype": "m.text", "body": "Ben?", "m.mentions": { "user_ids": ["@ben:schule.test"] } } });
        let (highlight, tweaks) = notified(mention).await.unwrap();
        assert!(highlight);
        assert_eq!(tweaks["highlight"], json!(true));
        // A notice does not notify.
        let notice = json!({ "type": "m.room.message", "sender": "@anna:schule.test", "content": { "msgtype": "m.notice", "body": "Hinweis" } });
        assert_eq!(notified(notice).await, None);
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
