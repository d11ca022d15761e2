//! The sync engine: what changed for one user in `(since, until]`, as a [`SyncUpdate`]. Room
//! history is read only through the one [`RoomReader`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ruma::api::client::filter::RoomEventFilter;
use ruma::{RoomId, UserId};
use schulhof_store::{EventRow, MembershipRow, StatePart};
use serde_json::{json, Map, Value};

use super::updates::{
    InvitedRoomUpdate, JoinedRoomUpdate, LeftRoomUpdate, Summary, SyncUpdate, Timeline,
};
use super::{SinceToken, SyncParams};
use crate::ruma_wrapper::Session;
use crate::service::e2ee::key_counts::KeyCountCache;
use crate::service::e2ee::keys;
use crate::service::read::exclusions::Exclusions;
use crate::service::read::filter::state_part;
use crate::service::read::history::senders;
use crate::service::read::prefetch::Prefetched;
use crate::service::read::{Direction, RoomReader};
use crate::service::rooms::typing::TypingUpdate;
use crate::service::rooms::user_rooms::UserRooms;
use crate::service::rooms::{RoomActivity, RoomSnapshot};
use crate::service::write::activity::UserStream;
use crate::state::AppState;
use crate::{Error, Result};

/// Timeline length when the filter does not set one.
const DEFAULT_TIMELINE_LIMIT: usize = 10;

/// Computes the update for `(params.since, until]`.
pub async fn compute(
    state: &AppState,
    session: &Session,
    params: &SyncParams,
    until: SinceToken,
) -> Result<SyncUpdate> {
    let user_id = &session.user_id;
    let device_id = session.device_id.as_str();
    let since = params.since.unwrap_or_default();
    let incremental = params.since.is_some();
    let room_filter = &params.filter.room;
    let (account_data, mut room_account_data) = account_data(state, user_id, since, until).await?;

    let mut update = SyncUpdate {
        next_batch: until,
        account_data,
        ..SyncUpdate::default()
    };
    let wanted = |room_id: &str| {
        room_filter
            .rooms
            .as_ref()
            .is_none_or(|r| r.iter().any(|x| x.as_str() == room_id))
            && !room_filter.not_rooms.iter().any(|x| x.as_str() == room_id)
    };
    let memberships = UserRooms::of(state, user_id).await?;
    let exclusions = state.exclusions.of(state, user_id).await?;
    for m in memberships.iter() {
        if !wanted(&m.room_id) {
            continue;
        }
        let room_id = RoomId::parse(&m.room_id).map_err(|e| Error::Internal(e.to_string()))?;
        let ctx = RoomSync {
            state,
            session,
            spec: RoomSpec {
                since,
                until,
                incremental,
                full_state: params.full_state,
                timeline: &room_filter.timeline,
                state: &room_filter.state,
            },
            membership: m,
            room_id: &room_id,
            exclusions: &exclusions,
            prefetched: None,
        };
        match m.membership.as_str() {
            "join" => {
                update.joined_room_ids.push(m.room_id.clone());
                let extra = room_account_data.remove(&m.room_id).unwrap_or_default();
                if let Some(room) = ctx.joined_room(extra).await? {
                    update.joined.push(room);
                }
            }
            "invite" if !incremental || m.stream_pos > since.pos => {
                let snapshot = state.rooms.existing(&state.db, &room_id).await?;
                update.invited.push(InvitedRoomUpdate {
                    room_id: m.room_id.clone(),
                    invite_state: stripped_state(&snapshot, user_id),
                });
            }
            "leave" | "ban"
                if (incremental && m.stream_pos > since.pos)
                    || (!incremental && room_filter.include_leave) =>
            {
                update.left.push(ctx.left_room().await?);
            }
            _ => {}
        }
    }

    update.to_device =
        keys::to_device_for_sync(state, user_id, device_id, since.pos, until.pos).await?;
    if incremental {
        (update.device_lists_changed, update.device_lists_left) =
            keys::device_lists_for_sync(state, user_id, since.pos, until.pos).await?;
    }
    let key_counts = KeyCountCache::of(state, user_id, device_id).await?;
    update.one_time_key_counts = key_counts.one_time.clone();
    update.unused_fallback_key_types = key_counts.unused_fallback.clone();
    Ok(update)
}

/// Account data changed in `(since, until]`: global events, and room events by room.
pub(super) async fn account_data(
    state: &AppState,
    user_id: &UserId,
    since: SinceToken,
    until: SinceToken,
) -> Result<(Vec<Value>, HashMap<String, Vec<Value>>)> {
    let mut global = Vec::new();
    let mut by_room: HashMap<String, Vec<Value>> = HashMap::new();
    if !state
        .activity
        .may_have_changed(UserStream::AccountData, user_id.as_str(), since.pos)
    {
        return Ok((global, by_room));
    }
    let rows = state
        .db
        .account_data_since(user_id.as_str(), since.pos, until.pos)
        .await?;
    // Later changes record themselves, so `until` bounds the last change from above.
    state
        .activity
        .record(UserStream::AccountData, user_id.as_str(), until.pos);
    for row in rows {
        let content = serde_json::from_str::<Value>(&row.content).unwrap_or_default();
        let event = json!({ "type": row.data_type, "content": content });
        if row.room_id.is_empty() {
            global.push(event);
        } else {
            by_room.entry(row.room_id).or_default().push(event);
        }
    }
    Ok((global, by_room))
}

/// Stripped state shown with an invite.
pub(super) fn stripped_state(room: &RoomSnapshot, user_id: &UserId) -> Vec<Value> {
    let kinds = [
        "m.room.create",
        "m.room.join_rules",
        "m.room.name",
        "m.room.avatar",
        "m.room.canonical_alias",
        "m.room.encryption",
        "m.room.topic",
    ];
    let stripped = |p: &crate::service::rooms::pdu::Pdu| json!({ "type": p.kind.to_string(), "state_key": p.state_key, "content": p.content_value(), "sender": p.sender });
    let mut events: Vec<Value> = kinds
        .iter()
        .filter_map(|k| room.get(k, ""))
        .map(|p| stripped(p))
        .collect();
    if let Some(invite) = room.get("m.room.member", user_id.as_str()) {
        if let Some(inviter) = room.get("m.room.member", invite.sender.as_str()) {
            events.push(stripped(inviter));
        }
        events.push(stripped(invite));
    }
    events
}

/// Which state events of a room a client asked for: v3's state filter, or sliding sync's
/// `required_state`.
pub trait StateSelection: Sync {
    /// Keeps the requested events of `rows`; `senders` are the senders of the timeline sent
    /// with them (for lazy-loaded members).
    fn select(
        &self,
        reader: &RoomReader<'_>,
        rows: Vec<EventRow>,
        senders: &BTreeSet<&str>,
    ) -> Vec<EventRow>;

    /// The part of a room's state [`select`](Self::select) can keep, for the user `me`:
    /// reading only this part loses nothing.
    fn part(&self, me: &str, senders: &BTreeSet<&str>) -> StatePart;
}

impl StateSelection for RoomEventFilter {
    fn select(
        &self,
        reader: &RoomReader<'_>,
        rows: Vec<EventRow>,
        senders: &BTreeSet<&str>,
    ) -> Vec<EventRow> {
        reader.filter_state(rows, self, senders)
    }

    fn part(&self, me: &str, senders: &BTreeSet<&str>) -> StatePart {
        state_part(self, me, senders)
    }
}

/// The timeline length a filter asks for.
pub fn timeline_limit(filter: &RoomEventFilter) -> usize {
    filter
        .limit
        .map_or(DEFAULT_TIMELINE_LIMIT, |l| u64::from(l) as usize)
        .clamp(1, 500)
}

/// How one room is synced: the range, what the client has, how much timeline and which state.
pub struct RoomSpec<'a> {
    /// Where the client's copy of the room ends.
    pub since: SinceToken,
    /// Where this response ends.
    pub until: SinceToken,
    /// The client has the room up to `since`; otherwise it gets the room whole.
    pub incremental: bool,
    /// Send the full state even if the client has the room.
    pub full_state: bool,
    /// The timeline filter (its `limit` is the timeline length).
    pub timeline: &'a RoomEventFilter,
    /// The state the client wants.
    pub state: &'a dyn StateSelection,
}

/// Everything needed to build one room's part of the update.
pub struct RoomSync<'a> {
    /// The server.
    pub state: &'a AppState,
    /// Who is asking.
    pub session: &'a Session,
    /// What to send of the room.
    pub spec: RoomSpec<'a>,
    /// The user's membership in the room.
    pub membership: &'a MembershipRow,
    /// The room.
    pub room_id: &'a RoomId,
    /// The user's exclusions (events released to them from quiet hours count as activity).
    pub exclusions: &'a Exclusions,
    /// What was read of this room together with others (events, state, receipts, unread
    /// counts), if it was; the rest is read room by room.
    pub prefetched: Option<&'a Prefetched>,
}

impl RoomSync<'_> {
    fn timeline_filter(&self) -> &RoomEventFilter {
        self.spec.timeline
    }

    /// The reader for this room, reading up to `until`.
    async fn reader(&self, until: i64) -> Result<RoomReader<'_>> {
        let joined_since =
            (self.membership.membership == "join").then_some(self.membership.stream_pos);
        let reader = RoomReader::new(
            self.state,
            &self.session.user_id,
            self.room_id,
            until,
            joined_since,
        )
        .await?;
        Ok(reader.with_prefetched(self.prefetched))
    }

    /// The newest visible, filtered events in `(since, until]`, oldest first.
    async fn timeline(&self, reader: &RoomReader<'_>) -> Result<Timeline> {
        let filter = self.timeline_filter();
        let limit = timeline_limit(filter);
        let page = reader
            .page(
                Direction::Backward,
                reader.until(),
                Some(self.spec.since.pos),
                limit,
                filter,
            )
            .await?;
        let mut events = page.events;
        events.reverse();
        let prev_batch = match (&page.next, events.first()) {
            (Some(next), _) => *next,
            (None, Some(first)) => first.stream_pos - 1,
            (None, None) => reader.until(),
        };
        Ok(Timeline {
            events,
            limited: page.next.is_some(),
            prev_batch,
        })
    }

    /// State to send with a timeline: full state at its start, or what changed since `since`;
    /// through the client's state filter.
    async fn state_for(
        &self,
        reader: &RoomReader<'_>,
        timeline: &Timeline,
        full: bool,
    ) -> Result<Vec<EventRow>> {
        let senders = senders(&timeline.events);
        if full {
            let part = self
                .spec
                .state
                .part(self.session.user_id.as_str(), &senders);
            let rows = reader.state_rows_at(timeline.prev_batch, &part).await?;
            return Ok(self.spec.state.select(reader, rows, &senders));
        }
        if !timeline.limited {
            return Ok(vec![]);
        }
        let mut latest: BTreeMap<(String, String), EventRow> = BTreeMap::new();
        for row in self
            .state
            .db
            .state_changes(
                self.room_id.as_str(),
                self.spec.since.pos,
                timeline.prev_batch,
            )
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
        Ok(self
            .spec
            .state
            .select(reader, latest.into_values().collect(), &senders))
    }

    /// The typing users this user is shown, if there is news for them: not those whose
    /// messages their quiet hours hold now (a student typing at night would otherwise reach a
    /// teacher after all), and no update when only such users changed.
    fn typing_shown(&self, update: TypingUpdate) -> Option<Vec<String>> {
        let quiet = &self.state.quiet_hours;
        if !quiet.enabled() {
            return Some(update.users);
        }
        let directory = self.state.directory.snapshot();
        let now = self.state.clock.now_ms();
        let me = &self.session.user_id;
        let shown = |user: &String| {
            UserId::parse(user.as_str())
                .map_or(true, |user| !quiet.silences(&directory, &user, me, now))
        };
        if update
            .changed
            .is_some_and(|changed| !changed.iter().any(shown))
        {
            return None;
        }
        Some(update.users.into_iter().filter(shown).collect())
    }

    /// The room's news for a joined member, `None` if there is none.
    pub async fn joined_room(&self, account_data: Vec<Value>) -> Result<Option<JoinedRoomUpdate>> {
        let state = self.state;
        let room = self.room_id.as_str();
        let incremental = self.spec.incremental;
        let newly_joined = self.membership.stream_pos > self.spec.since.pos;
        let full = !incremental || self.spec.full_state || newly_joined;
        let released =
            self.exclusions
                .released_between(room, self.spec.since.pos, self.spec.until.pos);
        let activity =
            released || state.rooms.last_activity(room, RoomActivity::Event) > self.spec.since.pos;
        let typing = state
            .typing
            .changed_since(room, self.spec.since.typing)
            .and_then(|update| self.typing_shown(update));
        let receipts_changed =
            state.rooms.last_activity(room, RoomActivity::Receipt) > self.spec.since.pos;
        if !full && !activity && !receipts_changed && typing.is_none() && account_data.is_empty() {
            return Ok(None);
        }
        let reader = self.reader(self.spec.until.pos).await?;
        let timeline = if full || activity {
            self.timeline(&reader).await?
        } else {
            Timeline {
                prev_batch: self.spec.until.pos,
                ..Timeline::default()
            }
        };
        let room_state = self.state_for(&reader, &timeline, full).await?;

        let typing = typing.filter(|u| incremental || !u.is_empty());
        let receipts = self.receipts().await?;
        if incremental
            && !full
            && timeline.events.is_empty()
            && room_state.is_empty()
            && typing.is_none()
            && receipts.is_none()
            && account_data.is_empty()
        {
            // Only events this user does not see (held for their quiet hours) happened.
            return Ok(None);
        }
        let snapshot = state.rooms.existing(&state.db, self.room_id).await?;
        Ok(Some(JoinedRoomUpdate {
            room_id: room.to_owned(),
            timeline,
            full,
            state: room_state,
            typing,
            receipts,
            account_data,
            unread: match self.prefetched {
                Some(prefetched) => prefetched.unread().of(room),
                None => reader.notification_counts().await?,
            },
            summary: summary(&snapshot, &self.session.user_id),
        }))
    }

    /// Receipts that changed in `(since, until]`, as the content of one `m.receipt` event.
    async fn receipts(&self) -> Result<Option<Value>> {
        let room = self.room_id.as_str();
        if self.state.rooms.last_activity(room, RoomActivity::Receipt) <= self.spec.since.pos
            && self.spec.incremental
        {
            return Ok(None);
        }
        let (since, until) = (self.spec.since.pos, self.spec.until.pos);
        let prefetched = self.prefetched.and_then(|p| p.receipts(room, since, until));
        let rows = match prefetched {
            Some(rows) => rows.to_vec(),
            None => self.state.db.receipts_since(room, since, until).await?,
        };
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
        Ok((!content.is_empty()).then_some(Value::Object(content)))
    }

    /// The last part of a room the user left.
    pub async fn left_room(&self) -> Result<LeftRoomUpdate> {
        let reader = self.reader(self.membership.stream_pos).await?;
        let timeline = self.timeline(&reader).await?;
        let state = self.state_for(&reader, &timeline, false).await?;
        Ok(LeftRoomUpdate {
            room_id: self.room_id.to_string(),
            timeline,
            state,
        })
    }
}

/// The room summary: member counts and up to five heroes.
fn summary(room: &RoomSnapshot, user_id: &UserId) -> Summary {
    let (joined, invited) = room.member_counts();
    Summary {
        heroes: room.heroes(user_id, 5),
        joined,
        invited,
    }
}
