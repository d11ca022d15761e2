//! `/sync` (v3): initial and incremental, long-polling on the notifier.
//!
//! A sync token `s{pos}_{typing}` names a position in the global stream plus the typing serial.
//! Everything up to `pos` has been delivered; the response covers `(since, now]`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ruma::api::client::filter::{FilterDefinition, RoomEventFilter};
use ruma::{RoomId, UserId};
use schulhof_store::{EventRow, MembershipRow};
use serde_json::{json, Map, Value};

use crate::ruma_wrapper::Session;
use crate::service::activity::UserStream;
use crate::service::filter::{event_matches, lazy_load_members};
use crate::service::keys;
use crate::service::pdu::client_event;
use crate::service::rooms::visibility::Visibility;
use crate::service::rooms::{RoomActivity, RoomSnapshot};
use crate::service::timeline::token;
use crate::state::AppState;
use crate::{Error, Result};

/// Timeline length when the filter does not set one.
const DEFAULT_TIMELINE_LIMIT: usize = 10;

/// Where a previous sync ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinceToken {
    /// Stream position.
    pub pos: i64,
    /// Typing serial.
    pub typing: u64,
}

impl SinceToken {
    /// Parses `s{pos}_{typing}`.
    pub fn parse(token: &str) -> Result<SinceToken> {
        let invalid = || Error::invalid_param("Ungültiges Sync-Token.", "Invalid sync token.");
        let rest = token.strip_prefix('s').ok_or_else(invalid)?;
        let (pos, typing) = rest.split_once('_').unwrap_or((rest, "0"));
        Ok(SinceToken {
            pos: pos.parse().map_err(|_| invalid())?,
            typing: typing.parse().map_err(|_| invalid())?,
        })
    }

    /// Formats the token.
    pub fn format(&self) -> String {
        format!("s{}_{}", self.pos, self.typing)
    }
}

/// The parameters of one `/sync` request.
pub struct SyncParams {
    /// Previous token, `None` for an initial sync.
    pub since: Option<SinceToken>,
    /// Send full state for every room.
    pub full_state: bool,
    /// Longest wait for news.
    pub timeout: Duration,
    /// The client's filter.
    pub filter: FilterDefinition,
}

/// Answers a `/sync` request, waiting up to `timeout` for something new.
pub async fn sync(state: &AppState, session: &Session, params: SyncParams) -> Result<Value> {
    let mut wake = state.notifier.subscribe(session.user_id.as_str());
    let deadline = Instant::now() + params.timeout;
    loop {
        let until = SinceToken {
            pos: state.stream.current(),
            typing: state.typing.serial(),
        };
        let (body, has_news, joined) = build(state, session, &params, until).await?;
        let now = Instant::now();
        if has_news || params.since.is_none() || params.full_state || now >= deadline {
            return Ok(body);
        }
        let typing_expiry = state.typing.next_expiry(joined.iter().map(String::as_str));
        let wait_until = typing_expiry.map_or(deadline, |t| t.min(deadline)).max(now);
        tokio::select! {
            _ = wake.changed() => {}
            _ = tokio::time::sleep_until(wait_until.into()) => {}
        }
    }
}

/// Builds the response for `(since, until]`; also says whether it holds anything new and
/// which rooms the user is joined to.
async fn build(
    state: &AppState,
    session: &Session,
    params: &SyncParams,
    until: SinceToken,
) -> Result<(Value, bool, Vec<String>)> {
    let user_id = &session.user_id;
    let since = params.since.unwrap_or_default();
    let incremental = params.since.is_some();
    let room_filter = &params.filter.room;
    let account_data =
        if state
            .activity
            .may_have_changed(UserStream::AccountData, user_id.as_str(), since.pos)
        {
            let rows = state
                .db
                .account_data_since(user_id.as_str(), since.pos, until.pos)
                .await?;
            // Later changes record themselves, so `until` bounds the last change from above.
            state
                .activity
                .record(UserStream::AccountData, user_id.as_str(), until.pos);
            rows
        } else {
            Vec::new()
        };
    let mut room_account_data: HashMap<String, Vec<Value>> = HashMap::new();
    let mut global_account_data = Vec::new();
    for row in account_data {
        let event = json!({ "type": row.data_type, "content": serde_json::from_str::<Value>(&row.content).unwrap_or_default() });
        if row.room_id.is_empty() {
            global_account_data.push(event);
        } else {
            room_account_data
                .entry(row.room_id)
                .or_default()
                .push(event);
        }
    }

    let memberships = state.db.memberships(user_id.as_str()).await?;
    let wanted = |room_id: &str| {
        room_filter
            .rooms
            .as_ref()
            .is_none_or(|r| r.iter().any(|x| x.as_str() == room_id))
            && !room_filter.not_rooms.iter().any(|x| x.as_str() == room_id)
    };
    let (mut join, mut invite, mut leave) = (Map::new(), Map::new(), Map::new());
    let mut joined = Vec::new();
    for m in memberships.iter().filter(|m| wanted(&m.room_id)) {
        let room_id = RoomId::parse(&m.room_id).map_err(|e| Error::Internal(e.to_string()))?;
        match m.membership.as_str() {
            "join" => {
                joined.push(m.room_id.clone());
                let ctx = RoomSync {
                    state,
                    session,
                    params,
                    since,
                    until,
                    membership: m,
                };
                let extra = room_account_data.remove(&m.room_id).unwrap_or_default();
                if let Some(room) = ctx.joined_room(&room_id, extra).await? {
                    join.insert(m.room_id.clone(), room);
                }
            }
            "invite" if !incremental || m.stream_pos > since.pos => {
                let snapshot = state.rooms.existing(&state.db, &room_id).await?;
                invite.insert(
                    m.room_id.clone(),
                    json!({ "invite_state": { "events": stripped_state(&snapshot, user_id) } }),
                );
            }
            "leave" | "ban"
                if (incremental && m.stream_pos > since.pos)
                    || (!incremental && room_filter.include_leave) =>
            {
                let ctx = RoomSync {
                    state,
                    session,
                    params,
                    since,
                    until,
                    membership: m,
                };
                leave.insert(m.room_id.clone(), ctx.left_room(&room_id).await?);
            }
            _ => {}
        }
    }

    let to_device = keys::to_device_for_sync(
        state,
        user_id,
        session.device_id.as_str(),
        since.pos,
        until.pos,
    )
    .await?;
    let (changed, left) = if incremental {
        keys::device_lists_for_sync(state, user_id, since.pos, until.pos).await?
    } else {
        (vec![], vec![])
    };
    let has_news = !(join.is_empty()
        && invite.is_empty()
        && leave.is_empty()
        && global_account_data.is_empty()
        && to_device.is_empty()
        && changed.is_empty()
        && left.is_empty());
    let body = json!({
        "next_batch": until.format(),
        "rooms": { "join": join, "invite": invite, "leave": leave, "knock": {} },
        "account_data": { "events": global_account_data },
        "presence": { "events": [] },
        "to_device": { "events": to_device },
        "device_lists": { "changed": changed, "left": left },
        "device_one_time_keys_count": keys::one_time_key_counts(state, user_id, session.device_id.as_str()).await?,
        "device_unused_fallback_key_types": keys::unused_fallback_key_types(state, user_id, session.device_id.as_str()).await?,
    });
    Ok((body, has_news, joined))
}

/// Stripped state shown with an invite.
fn stripped_state(room: &RoomSnapshot, user_id: &UserId) -> Vec<Value> {
    let kinds = [
        "m.room.create",
        "m.room.join_rules",
        "m.room.name",
        "m.room.avatar",
        "m.room.canonical_alias",
        "m.room.encryption",
        "m.room.topic",
    ];
    let mut events: Vec<Value> = kinds
        .iter()
        .filter_map(|k| room.get(k, ""))
        .map(|p| json!({ "type": p.kind.to_string(), "state_key": "", "content": p.content_value(), "sender": p.sender }))
        .collect();
    if let Some(invite) = room.get("m.room.member", user_id.as_str()) {
        if let Some(inviter) = room.get("m.room.member", invite.sender.as_str()) {
            events.push(json!({ "type": "m.room.member", "state_key": inviter.state_key, "content": inviter.content_value(), "sender": inviter.sender }));
        }
        events.push(json!({ "type": "m.room.member", "state_key": user_id, "content": invite.content_value(), "sender": invite.sender }));
    }
    events
}

/// Everything needed to build one room's part of the response.
struct RoomSync<'a> {
    state: &'a AppState,
    session: &'a Session,
    params: &'a SyncParams,
    since: SinceToken,
    until: SinceToken,
    membership: &'a MembershipRow,
}

/// A room's timeline for a sync response.
struct Timeline {
    events: Vec<EventRow>,
    limited: bool,
    /// Position just before the first timeline event (the `prev_batch` and state point).
    start: i64,
}

impl RoomSync<'_> {
    fn timeline_filter(&self) -> &RoomEventFilter {
        &self.params.filter.room.timeline
    }

    fn format(&self, rows: &[EventRow]) -> Vec<Value> {
        let now = AppState::now_ms();
        rows.iter()
            .map(|r| {
                client_event(
                    &r.json,
                    false,
                    Some((&self.session.user_id, self.session.device_id.as_str())),
                    (r.txn_device.as_deref(), r.txn_id.as_deref()),
                    now,
                )
            })
            .collect()
    }

    /// The `timeline` object of a room in the response.
    fn timeline_json(&self, timeline: &Timeline) -> Value {
        json!({
            "events": self.format(&timeline.events),
            "limited": timeline.limited,
            "prev_batch": token(timeline.start),
        })
    }

    /// The newest events in `(after, until]`, oldest first, visible and filtered.
    async fn timeline(&self, room_id: &RoomId, after: i64, until: i64) -> Result<Timeline> {
        let filter = self.timeline_filter();
        let limit = filter
            .limit
            .map_or(DEFAULT_TIMELINE_LIMIT, |l| u64::from(l) as usize)
            .clamp(1, 500);
        let mut rows = self
            .state
            .db
            .room_events_backward(room_id.as_str(), after, until, limit as i64 + 1)
            .await?;
        let limited = rows.len() > limit;
        rows.truncate(limit);
        rows.reverse();
        let start = rows.first().map_or(until, |r| r.stream_pos - 1);
        // Joined before every event here and still joined: everything is visible.
        let always_visible = self.membership.membership == "join"
            && self.membership.stream_pos <= rows.first().map_or(until, |r| r.stream_pos);
        if !always_visible {
            let visibility = Visibility::load(
                &self.state.db,
                room_id.as_str(),
                self.session.user_id.as_str(),
                until,
            )
            .await?;
            rows.retain(|r| {
                visibility.can_see(r.stream_pos, &r.event_type, r.state_key.as_deref())
            });
        }
        rows.retain(|r| event_matches(filter, r));
        Ok(Timeline {
            events: rows,
            limited,
            start,
        })
    }

    /// State to send with a timeline: full state at its start, or what changed since `since`.
    async fn state_for(
        &self,
        room_id: &RoomId,
        timeline: &Timeline,
        full: bool,
    ) -> Result<Vec<EventRow>> {
        let rows = if full {
            self.state
                .db
                .state_at(room_id.as_str(), timeline.start)
                .await?
        } else if timeline.limited {
            let mut latest: BTreeMap<(String, String), EventRow> = BTreeMap::new();
            for row in self
                .state
                .db
                .state_changes(room_id.as_str(), self.since.pos, timeline.start)
                .await?
            {
                latest.insert(
                    (
                        row.event_type.clone(),
                        row.state_key.clone().unwrap_or_default(),
                    ),
                    row,
                );
            }
            latest.into_values().collect()
        } else {
            vec![]
        };
        if !lazy_load_members(&self.params.filter.room.state) {
            return Ok(rows);
        }
        let mut needed: BTreeSet<&str> =
            timeline.events.iter().map(|e| e.sender.as_str()).collect();
        needed.insert(self.session.user_id.as_str());
        Ok(rows
            .into_iter()
            .filter(|e| {
                e.event_type != "m.room.member"
                    || e.state_key.as_deref().is_some_and(|k| needed.contains(k))
            })
            .collect())
    }

    async fn joined_room(
        &self,
        room_id: &RoomId,
        account_data: Vec<Value>,
    ) -> Result<Option<Value>> {
        let state = self.state;
        let incremental = self.params.since.is_some();
        let newly_joined = self.membership.stream_pos > self.since.pos;
        let full = !incremental || self.params.full_state || newly_joined;
        let activity = state
            .rooms
            .last_activity(room_id.as_str(), RoomActivity::Event)
            > self.since.pos;
        let typing = state
            .typing
            .changed_since(room_id.as_str(), self.since.typing);
        let receipts_changed = state
            .rooms
            .last_activity(room_id.as_str(), RoomActivity::Receipt)
            > self.since.pos;
        if !full && !activity && !receipts_changed && typing.is_none() && account_data.is_empty() {
            return Ok(None);
        }
        let timeline = if full || activity {
            self.timeline(room_id, self.since.pos, self.until.pos)
                .await?
        } else {
            Timeline {
                events: vec![],
                limited: false,
                start: self.until.pos,
            }
        };
        let room_state = self.state_for(room_id, &timeline, full).await?;

        let mut ephemeral = Vec::new();
        if let Some(users) = typing.filter(|u| incremental || !u.is_empty()) {
            ephemeral.push(json!({ "type": "m.typing", "content": { "user_ids": users } }));
        }
        if let Some(receipts) = self.receipts(room_id).await? {
            ephemeral.push(receipts);
        }
        let (notifications, highlights) = state
            .db
            .notification_counts(self.session.user_id.as_str(), room_id.as_str())
            .await?;
        let snapshot = state.rooms.existing(&state.db, room_id).await?;
        Ok(Some(json!({
            "timeline": self.timeline_json(&timeline),
            "state": { "events": self.format(&room_state) },
            "ephemeral": { "events": ephemeral },
            "account_data": { "events": account_data },
            "unread_notifications": { "notification_count": notifications, "highlight_count": highlights },
            "summary": summary(&snapshot, &self.session.user_id),
        })))
    }

    /// Receipts that changed in `(since, until]`, as one `m.receipt` event.
    async fn receipts(&self, room_id: &RoomId) -> Result<Option<Value>> {
        if self
            .state
            .rooms
            .last_activity(room_id.as_str(), RoomActivity::Receipt)
            <= self.since.pos
            && self.params.since.is_some()
        {
            return Ok(None);
        }
        let rows = self
            .state
            .db
            .receipts_since(room_id.as_str(), self.since.pos, self.until.pos)
            .await?;
        let mut content: Map<String, Value> = Map::new();
        for r in rows {
            if r.receipt_type == "m.read.private" && r.user_id != self.session.user_id.as_str() {
                continue;
            }
            let mut receipt = json!({ "ts": r.ts });
            if !r.thread_id.is_empty() {
                receipt["thread_id"] = json!(r.thread_id);
            }
            let by_event = content.entry(r.event_id).or_insert_with(|| json!({}));
            by_event
                .as_object_mut()
                .expect("object")
                .entry(r.receipt_type)
                .or_insert_with(|| json!({}))[r.user_id] = receipt;
        }
        Ok((!content.is_empty()).then(|| json!({ "type": "m.receipt", "content": content })))
    }

    async fn left_room(&self, room_id: &RoomId) -> Result<Value> {
        let timeline = self
            .timeline(room_id, self.since.pos, self.membership.stream_pos)
            .await?;
        let room_state = self.state_for(room_id, &timeline, false).await?;
        Ok(json!({
            "timeline": self.timeline_json(&timeline),
            "state": { "events": self.format(&room_state) },
            "account_data": { "events": [] },
        }))
    }
}

/// The room summary clients use to name rooms without a name.
fn summary(room: &RoomSnapshot, user_id: &UserId) -> Value {
    let joined: Vec<String> = room.joined().map(|u| u.to_string()).collect();
    let invited = room.joined_and_invited().count() - joined.len();
    let mut heroes: Vec<String> = room
        .joined_and_invited()
        .filter(|u| u != user_id)
        .map(|u| u.to_string())
        .collect();
    heroes.sort();
    heroes.truncate(5);
    json!({
        "m.heroes": heroes,
        "m.joined_member_count": joined.len(),
        "m.invited_member_count": invited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_tokens_round_trip() {
        let t = SinceToken { pos: 12, typing: 3 };
        assert_eq!(SinceToken::parse(&t.format()).unwrap(), t);
        assert_eq!(
            SinceToken::parse("s5").unwrap(),
            SinceToken { pos: 5, typing: 0 }
        );
        assert!(SinceToken::parse("t5").is_err());
        assert!(SinceToken::parse("sx_1").is_err());
    }
}
