//! Which rooms a sliding-sync request covers: the user's rooms, each with its bump stamp,
//! filtered and sorted by recency per list, cut to the lists' ranges, plus the room
//! subscriptions; and what each covered room is to be sent with (timeline limit, required
//! state).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures_util::{stream, StreamExt, TryStreamExt};
use ruma::api::client::filter::RoomEventFilter;
use ruma::api::client::sync::sync_events::v5;
use ruma::events::StateEventType;
use ruma::{OwnedRoomId, RoomId, UInt};
use schulhof_store::{EventRow, MembershipRow, StatePart};

use super::connections::ConnState;
use crate::ruma_wrapper::Session;
use crate::service::read::exclusions::Exclusions;
use crate::service::read::RoomReader;
use crate::service::rooms::{RoomActivity, RoomSnapshot};
use crate::service::sync::engine::StateSelection;
use crate::service::sync::SinceToken;
use crate::state::AppState;
use crate::{Error, Result};

/// Rooms read from the database at the same time (their queries wait on I/O: PostgreSQL
/// round trips, SQLite pages), within the connection pool's size.
pub const CONCURRENT_ROOMS: usize = 4;

/// Longest timeline one room is sent with.
const MAX_TIMELINE_LIMIT: u32 = 100;

/// One of the user's rooms (joined or invited).
pub struct Candidate<'a> {
    /// The user's membership.
    pub membership: &'a MembershipRow,
    /// The room's current state.
    pub snapshot: Arc<RoomSnapshot>,
    /// Position of the newest bump event the user sees (an invitation: the invite).
    pub bump: i64,
    /// A direct chat (`m.direct`, or an invitation marked `is_direct`).
    pub is_dm: bool,
}

impl Candidate<'_> {
    fn is_invite(&self) -> bool {
        self.membership.membership == "invite"
    }

    fn matches(&self, filters: Option<&v5::request::ListFilters>) -> bool {
        let Some(f) = filters else { return true };
        let room_type = self.snapshot.state_str("m.room.create", "type");
        let type_listed = |types: &[ruma::directory::RoomTypeFilter]| {
            types.iter().any(|t| t.as_str() == room_type.as_deref())
        };
        f.is_dm.is_none_or(|want| want == self.is_dm)
            && f.is_invite.is_none_or(|want| want == self.is_invite())
            && f.is_encrypted
                .is_none_or(|want| want == self.snapshot.get("m.room.encryption", "").is_some())
            && (f.room_types.is_empty() || type_listed(&f.room_types))
            && !type_listed(&f.not_room_types)
    }
}

/// What one covered room is sent with: the largest timeline limit and the union of the
/// required state of every list and subscription that covers it. Built once per list and
/// shared by the rooms in its range (a response over 200 rooms builds one, not 200).
#[derive(Clone, Default)]
pub struct RoomDetails {
    /// Timeline filter carrying the limit.
    pub timeline: RoomEventFilter,
    /// The state to send.
    pub required: RequiredState,
    /// A hash of the two: a room sent with other details is sent anew.
    fingerprint: u64,
}

impl RoomDetails {
    /// The details of one list or subscription.
    fn new(timeline_limit: UInt, required_state: &[(StateEventType, String)]) -> Self {
        RoomDetails::default().with(timeline_limit, required_state)
    }

    /// These details widened by another list's or subscription's.
    fn with(mut self, timeline_limit: UInt, required_state: &[(StateEventType, String)]) -> Self {
        let limit = u32::try_from(timeline_limit)
            .unwrap_or(MAX_TIMELINE_LIMIT)
            .min(MAX_TIMELINE_LIMIT);
        if self.timeline.limit.is_none_or(|l| l < UInt::from(limit)) {
            self.timeline.limit = Some(UInt::from(limit));
        }
        for (kind, key) in required_state {
            self.required.add(kind.to_string(), key.clone());
        }
        let mut h = DefaultHasher::new();
        self.timeline.limit.map(u64::from).hash(&mut h);
        self.required.entries.hash(&mut h);
        self.fingerprint = h.finish();
        self
    }

    /// A fingerprint: a room sent with other details is sent anew.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// `required_state`: `(type, state_key)` pairs, where `*` stands for any type or key, the
/// key `$ME` for the user and `$LAZY` (members) for the senders of the timeline sent.
#[derive(Clone, Default)]
pub struct RequiredState {
    entries: BTreeSet<(String, String)>,
}

impl RequiredState {
    fn add(&mut self, kind: String, key: String) {
        self.entries.insert((kind, key));
    }

    fn wants(&self, row: &EventRow, me: &str, senders: &BTreeSet<&str>) -> bool {
        let key = row.state_key.as_deref().unwrap_or_default();
        self.entries.iter().any(|(kind, wanted)| {
            (kind == "*" || *kind == row.event_type)
                && match wanted.as_str() {
                    "*" => true,
                    "$ME" => key == me,
                    "$LAZY" => row.event_type == "m.room.member" && senders.contains(key),
                    other => other == key,
                }
        })
    }
}

impl StateSelection for RequiredState {
    fn select(
        &self,
        reader: &RoomReader<'_>,
        rows: Vec<EventRow>,
        senders: &BTreeSet<&str>,
    ) -> Vec<EventRow> {
        let me = reader.user_id().as_str();
        rows.into_iter()
            .filter(|row| self.wants(row, me, senders))
            .collect()
    }

    fn part(&self, me: &str, senders: &BTreeSet<&str>) -> StatePart {
        let mut part = StatePart::nothing();
        for (kind, key) in &self.entries {
            let names_members = match kind.as_str() {
                "*" => {
                    part.add_every_other_type();
                    true
                }
                StatePart::MEMBER_TYPE => true,
                // `$LAZY` names member events only.
                other => {
                    if key != "$LAZY" {
                        part.add_type(other);
                    }
                    false
                }
            };
            if names_members {
                match key.as_str() {
                    "*" => part.add_type(StatePart::MEMBER_TYPE),
                    "$ME" => part.add_member(me),
                    "$LAZY" => senders.iter().for_each(|sender| part.add_member(sender)),
                    user => part.add_member(user),
                }
            }
        }
        part
    }
}

/// The rooms a request covers.
pub struct Selection<'a> {
    /// Every joined or invited room of the user, by ID.
    pub candidates: HashMap<OwnedRoomId, Candidate<'a>>,
    /// The room count of each list.
    pub list_counts: BTreeMap<String, u64>,
    /// The rooms in each list's ranges.
    pub windows: BTreeMap<String, HashSet<OwnedRoomId>>,
    /// Subscribed rooms the user is in.
    pub subscribed: HashSet<OwnedRoomId>,
    /// Every covered room with what it is sent with.
    pub covered: BTreeMap<OwnedRoomId, Arc<RoomDetails>>,
}

impl<'a> Selection<'a> {
    /// Selects the rooms of `req` among the user's `memberships`.
    #[allow(clippy::too_many_arguments)]
    pub async fn build(
        state: &AppState,
        session: &Session,
        req: &v5::Request,
        base: &ConnState,
        until: SinceToken,
        memberships: &'a [MembershipRow],
        exclusions: &Arc<Exclusions>,
        direct: &HashSet<OwnedRoomId>,
    ) -> Result<Selection<'a>> {
        let rooms = memberships
            .iter()
            .filter(|m| m.membership == "join" || m.membership == "invite")
            .map(|m| async move {
                let room_id =
                    RoomId::parse(&m.room_id).map_err(|e| Error::Internal(e.to_string()))?;
                let snapshot = state.rooms.existing(&state.db, &room_id).await?;
                let bump = bump_stamp(state, session, m, &room_id, base, until, exclusions).await?;
                let is_dm = if m.membership == "invite" {
                    snapshot
                        .content("m.room.member", session.user_id.as_str())
                        .is_some_and(|c| c["is_direct"] == true)
                } else {
                    direct.contains(&room_id)
                };
                let candidate = Candidate {
                    membership: m,
                    snapshot,
                    bump,
                    is_dm,
                };
                Ok::<_, Error>((room_id, candidate))
            })
            // Collected first: a lazy iterator's closures held across the awaits below would
            // make the request's future not `Send`.
            .collect::<Vec<_>>();
        let candidates: HashMap<OwnedRoomId, Candidate> = stream::iter(rooms)
            .buffer_unordered(CONCURRENT_ROOMS)
            .try_collect()
            .await?;
        let mut selection = Selection {
            candidates,
            list_counts: BTreeMap::new(),
            windows: BTreeMap::new(),
            subscribed: HashSet::new(),
            covered: BTreeMap::new(),
        };
        for (name, list) in &req.lists {
            let mut rooms: Vec<(&OwnedRoomId, &Candidate)> = selection
                .candidates
                .iter()
                .filter(|(_, c)| c.matches(list.filters.as_ref()))
                .collect();
            rooms.sort_by(|a, b| b.1.bump.cmp(&a.1.bump).then_with(|| a.0.cmp(b.0)));
            selection
                .list_counts
                .insert(name.clone(), rooms.len() as u64);
            let details = &list.room_details;
            let shared = Arc::new(RoomDetails::new(
                details.timeline_limit,
                &details.required_state,
            ));
            let mut window = HashSet::new();
            for (start, end) in &list.ranges {
                let start = usize::try_from(u64::from(*start)).unwrap_or(usize::MAX);
                let end = usize::try_from(u64::from(*end)).unwrap_or(usize::MAX);
                for (room_id, _) in rooms.iter().take(end.saturating_add(1)).skip(start) {
                    window.insert((*room_id).clone());
                    Self::cover(&mut selection.covered, room_id, &shared, || {
                        (details.timeline_limit, &details.required_state)
                    });
                }
            }
            selection.windows.insert(name.clone(), window);
        }
        for (room_id, sub) in &req.room_subscriptions {
            // Only rooms the user is in: a subscription shows nothing of any other room.
            if !selection.candidates.contains_key(room_id) {
                continue;
            }
            selection.subscribed.insert(room_id.clone());
            let own = Arc::new(RoomDetails::new(sub.timeline_limit, &sub.required_state));
            let spec = || (sub.timeline_limit, sub.required_state.as_slice());
            Self::cover(&mut selection.covered, room_id, &own, spec);
        }
        Ok(selection)
    }

    /// Covers `room_id` with `details`, or, if another list or subscription covers it
    /// already, with the union of both (`spec`: the timeline limit and required state of
    /// `details`).
    fn cover<'s>(
        covered: &mut BTreeMap<OwnedRoomId, Arc<RoomDetails>>,
        room_id: &OwnedRoomId,
        details: &Arc<RoomDetails>,
        spec: impl FnOnce() -> (UInt, &'s [(StateEventType, String)]),
    ) {
        match covered.get_mut(room_id) {
            None => {
                covered.insert(room_id.clone(), details.clone());
            }
            Some(existing) if !Arc::ptr_eq(existing, details) => {
                let (limit, required) = spec();
                *existing = Arc::new((**existing).clone().with(limit, required));
            }
            Some(_) => {}
        }
    }

    /// The bump stamps of every candidate, to keep for the next request.
    pub fn bumps(&self) -> HashMap<OwnedRoomId, i64> {
        self.candidates
            .iter()
            .map(|(id, c)| (id.clone(), c.bump))
            .collect()
    }

    /// Whether an extension configured with `lists` and `rooms` applies to `room_id`: the
    /// room is in the range of one of those lists (all, if not given) or is one of those
    /// rooms (all subscriptions, if not given).
    pub fn in_scope(
        &self,
        room_id: &RoomId,
        lists: Option<&[String]>,
        rooms: Option<&[v5::request::ExtensionRoomConfig]>,
    ) -> bool {
        let in_list = |name: &String, window: &HashSet<OwnedRoomId>| {
            lists.is_none_or(|l| l.iter().any(|x| x == "*" || x == name))
                && window.contains(room_id)
        };
        let in_rooms = match rooms {
            None => self.subscribed.contains(room_id),
            Some(rooms) => rooms.iter().any(|r| match r {
                v5::request::ExtensionRoomConfig::AllSubscribed => {
                    self.subscribed.contains(room_id)
                }
                v5::request::ExtensionRoomConfig::Room(id) => {
                    id == room_id && self.covered.contains_key(room_id)
                }
                _ => false,
            }),
        };
        in_rooms || self.windows.iter().any(|(name, w)| in_list(name, w))
    }
}

/// Position of the newest bump event the user sees in a joined room (through the one reader,
/// [`RoomReader::newest_bump`], so an event held for their quiet hours does not count before
/// its release); the stamp of the previous response while nothing happened in the room.
async fn bump_stamp(
    state: &AppState,
    session: &Session,
    m: &MembershipRow,
    room_id: &RoomId,
    base: &ConnState,
    until: SinceToken,
    exclusions: &Arc<Exclusions>,
) -> Result<i64> {
    if m.membership == "invite" {
        return Ok(m.stream_pos);
    }
    let since = base.since.map_or(0, |s| s.pos);
    let unchanged = base
        .exclusions
        .as_ref()
        .is_some_and(|e| Arc::ptr_eq(e, exclusions))
        && state
            .rooms
            .last_activity(room_id.as_str(), RoomActivity::Event)
            <= since
        && !exclusions.released_between(room_id.as_str(), since, until.pos);
    if let Some(bump) = base.bumps.get(room_id).filter(|_| unchanged) {
        return Ok(*bump);
    }
    let reader = RoomReader::new(
        state,
        &session.user_id,
        room_id,
        until.pos,
        Some(m.stream_pos),
    )
    .await?;
    Ok(reader.newest_bump().await?.unwrap_or(m.stream_pos))
}

/// The rooms of the user's `m.direct` account data.
pub fn direct_rooms(content: &serde_json::Value) -> HashSet<OwnedRoomId> {
    content
        .as_object()
        .into_iter()
        .flat_map(|users| users.values())
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(|id| id.as_str().and_then(|id| RoomId::parse(id).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(key: &str) -> EventRow {
        EventRow {
            stream_pos: 1,
            event_id: "$e".into(),
            room_id: "!r:x".into(),
            sender: key.into(),
            event_type: "m.room.member".into(),
            state_key: Some(key.into()),
            json: String::new(),
            txn_device: None,
            txn_id: None,
        }
    }

    #[test]
    fn required_state_resolves_wildcards_me_and_lazy_members() {
        let mut required = RequiredState::default();
        required.add("m.room.member".into(), "$LAZY".into());
        required.add("m.room.member".into(), "$ME".into());
        required.add("m.room.name".into(), "".into());
        let senders = BTreeSet::from(["@ben:x"]);
        assert!(required.wants(&member("@anna:x"), "@anna:x", &senders));
        assert!(required.wants(&member("@ben:x"), "@anna:x", &senders));
        assert!(!required.wants(&member("@carl:x"), "@anna:x", &senders));
        let mut all = RequiredState::default();
        all.add("*".into(), "*".into());
        assert!(all.wants(&member("@carl:x"), "@anna:x", &senders));
    }

    fn state(kind: &str, key: &str) -> EventRow {
        EventRow {
            event_type: kind.into(),
            ..member(key)
        }
    }

    #[test]
    fn the_state_part_holds_every_event_required() {
        let rows = [
            state("m.room.name", ""),
            state("m.room.topic", ""),
            state("org.schule.custom", "@anna:x"),
            member("@anna:x"),
            member("@ben:x"),
            member("@carl:x"),
        ];
        let senders = BTreeSet::from(["@ben:x"]);
        // (required state, how many of the rows the part holds)
        let cases: [(&[(&str, &str)], usize); 9] = [
            (&[], 0),
            (&[("m.room.name", "")], 1),
            (&[("m.room.member", "$ME")], 1),
            (&[("m.room.member", "$LAZY")], 1),
            (&[("m.room.member", "@carl:x")], 1),
            (&[("m.room.member", "*")], 3),
            (&[("m.room.topic", "$LAZY")], 0),
            (&[("*", "$ME")], 4),
            (&[("*", "*")], 6),
        ];
        for (entries, held) in cases {
            let mut required = RequiredState::default();
            for (kind, key) in entries {
                required.add((*kind).into(), (*key).into());
            }
            let part = required.part("@anna:x", &senders);
            let contains =
                |e: &&EventRow| part.contains(&e.event_type, e.state_key.as_deref().unwrap());
            assert_eq!(rows.iter().filter(contains).count(), held, "{entries:?}");
            for row in &rows {
                if required.wants(row, "@anna:x", &senders) {
                    assert!(contains(&row), "{entries:?} wants {row:?}");
                }
            }
        }
    }

    #[test]
    fn direct_rooms_come_from_m_direct() {
        let content = serde_json::json!({ "@ben:x": ["!a:x", "not a room"], "@carl:x": ["!b:x"] });
        let rooms = direct_rooms(&content);
        assert_eq!(rooms.len(), 2);
    }
}
