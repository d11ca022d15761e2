//! Applying a plan through the Client-Server API as the bot: each [`Change`] becomes the
//! requests that make it true on the server. Every change is idempotent on its own (setting
//! state to a value, joining someone who is joined, archiving with the flag written last), so
//! a run that stops anywhere is completed by the next plan.
//!
//! A plan runs phase by phase in its order; within a phase, the changes of different rooms
//! run side by side (a few at a time) and those of one room in order. Joins into one room go
//! to the homeserver together (Schulhof's admin join of many people, one commit per call),
//! or one by one where it does not have that call (Synapse). A change that fails is
//! reported and the rest goes on: the next reconcile plans it again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::alias::alias_localpart;
use crate::config::BOT_POWER_LEVEL;
use crate::desired::{DesiredRoom, RoomKey};
use crate::homeserver::{Homeserver, MAX_JOINS_AT_ONCE};
use crate::plan::Change;
use crate::read::{ARCHIVE_EVENT, MANAGED_FIELD};
use crate::render::{describe, section, Language};
use crate::service_error::ServiceError;

/// How many rooms are changed at once within a phase.
const PARALLEL_ROOMS: usize = 8;

/// The megolm algorithm of `m.room.encryption`.
const MEGOLM: &str = "m.megolm.v1.aes-sha2";

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Changes that succeeded.
    pub done: usize,
    /// Changes that failed, described, with the error.
    pub failed: Vec<(String, ServiceError)>,
}

/// Applies changes to one homeserver.
pub struct Applier<'a> {
    homeserver: &'a Homeserver,
    server_name: &'a str,
    alias_prefix: &'a str,
    /// The bot's localpart (the creator; not invited).
    bot: &'a str,
    /// The writing level an unarchived room returns to (the teachers' level; a following
    /// [`Change::SetPowerLevels`] corrects it for rooms where everyone writes).
    writer_level: i64,
    /// Room ID per key; created rooms are added.
    ids: Mutex<BTreeMap<RoomKey, String>>,
    /// Whether joins into one room go together (until the homeserver turns out not to have
    /// Schulhof's admin join of many people).
    joins_together: AtomicBool,
}

impl<'a> Applier<'a> {
    /// An applier for rooms whose IDs are `ids` (from [`crate::read::read_current`]).
    pub fn new(
        homeserver: &'a Homeserver,
        server_name: &'a str,
        alias_prefix: &'a str,
        bot: &'a str,
        writer_level: i64,
        ids: BTreeMap<RoomKey, String>,
    ) -> Applier<'a> {
        Applier {
            homeserver,
            server_name,
            alias_prefix,
            bot,
            writer_level,
            ids: Mutex::new(ids),
            joins_together: AtomicBool::new(true),
        }
    }

    /// Applies `changes` (a plan, in its order); see the module documentation.
    pub async fn apply(&self, changes: &[Change]) -> Applied {
        let mut applied = Applied::default();
        let mut start = 0;
        while start < changes.len() {
            let phase = section(&changes[start]);
            let len = changes[start..]
                .iter()
                .take_while(|c| section(c) == phase)
                .count();
            let mut by_room: BTreeMap<&RoomKey, Vec<&Change>> = BTreeMap::new();
            for change in &changes[start..start + len] {
                by_room.entry(change.room()).or_default().push(change);
            }
            let rooms: Vec<_> = by_room
                .into_values()
                .map(|room_changes| self.apply_in_order(room_changes))
                .collect();
            let results: Vec<Vec<(&Change, Result<(), ServiceError>)>> =
                futures_util::stream::iter(rooms)
                    .buffer_unordered(PARALLEL_ROOMS)
                    .collect()
                    .await;
            for (change, result) in results.into_iter().flatten() {
                match result {
                    Ok(()) => applied.done += 1,
                    Err(error) => {
                        let what = describe(change, Language::English);
                        tracing::warn!(change = %what, %error, "change failed; the next reconcile retries it");
                        applied.failed.push((what, error));
                    }
                }
            }
            start += len;
        }
        applied
    }

    /// Applies the changes of one room one after the other; joins that follow each other
    /// go together ([`Applier::join_together`]).
    async fn apply_in_order<'c>(
        &self,
        changes: Vec<&'c Change>,
    ) -> Vec<(&'c Change, Result<(), ServiceError>)> {
        let mut results = Vec::with_capacity(changes.len());
        let mut rest = changes.as_slice();
        while let Some(first) = rest.first() {
            let joins = rest
                .iter()
                .take(MAX_JOINS_AT_ONCE)
                .take_while(|c| matches!(c, Change::Join { .. }))
                .count();
            if joins > 1 {
                results.extend(self.join_together(&rest[..joins]).await);
                rest = &rest[joins..];
            } else {
                results.push((*first, self.apply_one(first).await));
                rest = &rest[1..];
            }
        }
        results
    }

    /// Applies joins into one room (at most [`MAX_JOINS_AT_ONCE`]) with one call of
    /// Schulhof's admin join of many people; if the homeserver does not have it (Synapse),
    /// with its admin join one by one, from then on for every room.
    async fn join_together<'c>(
        &self,
        joins: &[&'c Change],
    ) -> Vec<(&'c Change, Result<(), ServiceError>)> {
        if self.joins_together.load(Ordering::Relaxed) {
            let users: Vec<String> = joins
                .iter()
                .filter_map(|change| match change {
                    Change::Join { user, .. } => Some(self.user_id(user)),
                    _ => None,
                })
                .collect();
            let answer = match self.id(joins[0].room()) {
                Ok(room_id) => self.homeserver.admin_join_many(&room_id, &users).await,
                Err(error) => Err(error),
            };
            match answer {
                Ok(Some(outcomes)) => return joins.iter().copied().zip(outcomes).collect(),
                Ok(None) => {
                    tracing::info!(
                        "the homeserver has no admin join of many people; joining one by one"
                    );
                    self.joins_together.store(false, Ordering::Relaxed);
                }
                Err(error) => {
                    return joins
                        .iter()
                        .map(|change| (*change, Err(error.clone())))
                        .collect();
                }
            }
        }
        let mut results = Vec::with_capacity(joins.len());
        for change in joins {
            results.push((*change, self.apply_one(change).await));
        }
        results
    }

    /// The room IDs after applying (created rooms included).
    pub fn into_ids(self) -> BTreeMap<RoomKey, String> {
        self.ids.into_inner().expect("ids lock")
    }

    /// The room ID of `key`.
    fn id(&self, key: &RoomKey) -> Result<String, ServiceError> {
        self.ids
            .lock()
            .expect("ids lock")
            .get(key)
            .cloned()
            .ok_or_else(|| ServiceError::Setup(format!("no room for {key} (not created?)")))
    }

    /// The full user ID of a localpart.
    fn user_id(&self, localpart: &str) -> String {
        format!("@{localpart}:{}", self.server_name)
    }

    /// Makes one change true on the server.
    async fn apply_one(&self, change: &Change) -> Result<(), ServiceError> {
        let hs = self.homeserver;
        match change {
            Change::Create { room, desired } => {
                let room_id = self.create(room, desired).await?;
                self.ids
                    .lock()
                    .expect("ids lock")
                    .insert(room.clone(), room_id);
                Ok(())
            }
            Change::Unarchive { room } => {
                let id = self.id(room)?;
                self.set_power(&id, None, self.writer_level).await?;
                hs.put_state(&id, ARCHIVE_EVENT, "", &json!({ "archived": false }))
                    .await
            }
            Change::SetName { room, name } => {
                hs.put_state(&self.id(room)?, "m.room.name", "", &json!({ "name": name }))
                    .await
            }
            Change::SetTopic { room, topic } => {
                let id = self.id(room)?;
                hs.put_state(&id, "m.room.topic", "", &json!({ "topic": topic }))
                    .await
            }
            Change::EnableEncryption { room } => {
                let id = self.id(room)?;
                hs.put_state(
                    &id,
                    "m.room.encryption",
                    "",
                    &json!({ "algorithm": MEGOLM }),
                )
                .await
            }
            Change::Join { room, user } => {
                hs.admin_join(&self.id(room)?, &self.user_id(user)).await
            }
            Change::SetPowerLevels {
                room,
                users,
                announcement,
                writer_level,
                ..
            } => {
                let users = self.user_ids(users);
                let writing = if *announcement { *writer_level } else { 0 };
                self.set_power(&self.id(room)?, Some(users), writing).await
            }
            Change::AddChild { space, child } => {
                let (space_id, child_id) = (self.id(space)?, self.id(child)?);
                let via = json!({ "via": [self.server_name] });
                hs.put_state(&space_id, "m.space.child", &child_id, &via)
                    .await?;
                let parent = json!({ "via": [self.server_name], "canonical": true });
                hs.put_state(&child_id, "m.space.parent", &space_id, &parent)
                    .await
            }
            Change::Remove { room, user, reason } => {
                hs.kick(&self.id(room)?, &self.user_id(user), &reason.german())
                    .await
            }
            Change::RemoveChild { space, child } => {
                let (space_id, child_id) = (self.id(space)?, self.id(child)?);
                hs.put_state(&space_id, "m.space.child", &child_id, &json!({}))
                    .await?;
                hs.put_state(&child_id, "m.space.parent", &space_id, &json!({}))
                    .await
            }
            Change::Archive { room, name } => {
                let id = self.id(room)?;
                hs.put_state(&id, "m.room.name", "", &json!({ "name": name }))
                    .await?;
                self.set_power(&id, None, BOT_POWER_LEVEL).await?;
                // Last: until the flag is set, the next plan archives again (same name).
                hs.put_state(&id, ARCHIVE_EVENT, "", &json!({ "archived": true }))
                    .await
            }
        }
    }

    /// Creates the room for `key`, or finds the one its alias already names (a run that
    /// stopped right after creating it, before the bot's read could see it).
    async fn create(&self, key: &RoomKey, desired: &DesiredRoom) -> Result<String, ServiceError> {
        let alias = alias_localpart(self.alias_prefix, key);
        let mut creation = json!({ MANAGED_FIELD: key.as_str() });
        if desired.is_space {
            creation["type"] = json!("m.space");
        }
        let writing = if desired.announcement {
            desired.writer_level
        } else {
            0
        };
        let mut initial_state = Vec::new();
        if desired.encrypted {
            initial_state.push(json!({
                "type": "m.room.encryption", "state_key": "", "content": { "algorithm": MEGOLM }
            }));
        }
        let mut body = json!({
            "preset": "private_chat",
            "visibility": "private",
            "name": desired.name,
            "room_alias_name": alias,
            "creation_content": creation,
            "initial_state": initial_state,
            "power_level_content_override": {
                "users": self.user_ids(&desired.power_users()),
                "events_default": writing,
            },
        });
        if !desired.topic.is_empty() {
            body["topic"] = json!(desired.topic);
        }
        // The members are invited in the room's first commit, so each of the plan's joins is
        // one event, not an invitation and a join. If an invitation is refused (an account
        // missing on a homeserver without the directory), the room is created without them and
        // the joins invite one by one.
        let bot = format!("@{}:{}", self.bot, self.server_name);
        let invite: Vec<String> = desired
            .members
            .keys()
            .map(|user| self.user_id(user))
            .filter(|user| *user != bot)
            .collect();
        let mut first = body.clone();
        first["invite"] = json!(invite);
        match self.create_or_find(&alias, &first).await {
            Err(error) if !invite.is_empty() => {
                tracing::warn!(%key, %error, "room not created with its invitations; creating it without");
                self.create_or_find(&alias, &body).await
            }
            other => other,
        }
    }

    /// Creates a room with `body`, or finds the one `alias` already names.
    async fn create_or_find(&self, alias: &str, body: &Value) -> Result<String, ServiceError> {
        match self.homeserver.create_room(body).await {
            Err(error) if error.errcode() == Some("M_ROOM_IN_USE") => {
                let full = format!("#{alias}:{}", self.server_name);
                self.homeserver.resolve_alias(&full).await?.ok_or(error)
            }
            other => other,
        }
    }

    /// Sets the power levels' `users` (if given) and `events_default`, keeping the rest.
    async fn set_power(
        &self,
        room_id: &str,
        users: Option<Value>,
        events_default: i64,
    ) -> Result<(), ServiceError> {
        let mut content = self
            .homeserver
            .state(room_id, "m.room.power_levels", "")
            .await?;
        if let Some(users) = users {
            content["users"] = users;
        }
        content["events_default"] = json!(events_default);
        self.homeserver
            .put_state(room_id, "m.room.power_levels", "", &content)
            .await
    }

    /// A `users` map of localparts as one of full user IDs.
    fn user_ids(&self, users: &BTreeMap<String, i64>) -> Value {
        Value::Object(
            users
                .iter()
                .map(|(user, level)| (self.user_id(user), json!(level)))
                .collect(),
        )
    }
}
