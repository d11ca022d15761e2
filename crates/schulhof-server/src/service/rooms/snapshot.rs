//! The in-memory current state of one room.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ruma::events::room::member::MembershipState;
use ruma::events::room::power_levels::{
    RoomPowerLevels, RoomPowerLevelsEventContent, RoomPowerLevelsSource,
};
use ruma::events::{StateEventType, TimelineEventType};
use ruma::room_version_rules::RoomVersionRules;
use ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, RoomVersionId, UserId};
use schulhof_store::{Db, EventRow, StatePart};
use serde_json::Value;

use crate::service::rooms::pdu::Pdu;
use crate::service::school::managed;
use crate::service::school::policy::{localpart, RoomOrigin};
use crate::{Error, Result};

/// A room's current state and the tip of its event chain.
#[derive(Debug, Clone)]
pub struct RoomSnapshot {
    /// Room ID.
    pub room_id: OwnedRoomId,
    /// Room version.
    pub version: RoomVersionId,
    /// The rules of that version.
    pub rules: RoomVersionRules,
    /// Current state by `(type, state_key)`; shared between snapshots until a state event
    /// changes it (copy on write), so message events do not copy the state.
    state: Arc<HashMap<(StateEventType, String), StateEntry>>,
    /// The newest event.
    pub last_event: Option<OwnedEventId>,
    /// Depth of the newest event.
    pub depth: u64,
    /// Every user with a member event, by user ID in order, with their membership and display
    /// name (kept in step with `state`, so member lists need no JSON parsing).
    members: Arc<BTreeMap<OwnedUserId, Member>>,
    /// Members whose membership is `join`.
    joined_count: u64,
    /// Members whose membership is `invite`.
    invited_count: u64,
    /// How the room was created, for the policy; `None` for rooms from before it was recorded.
    pub origin: Option<RoomOrigin>,
    /// Whether the create event carries `de.schulhof.managed` (read once, when the create
    /// event is applied; see `school::managed`).
    marked_managed: bool,
}

/// One piece of a room's current state.
#[derive(Debug, Clone)]
struct StateEntry {
    /// The event.
    pdu: Arc<Pdu>,
    /// The event as the store holds it, at its stream position, once it is committed; `None`
    /// in a working snapshot until then, and for an event stored with a transaction ID (a
    /// logout clears those in the store).
    stored: Option<Arc<EventRow>>,
}

/// What the room's member list keeps of one member event.
#[derive(Debug, Clone)]
pub struct Member {
    /// The membership.
    pub membership: MembershipState,
    /// The display name in this room, if set.
    pub displayname: Option<String>,
}

/// The membership a member event sets.
pub fn membership_of(pdu: &Pdu) -> Option<MembershipState> {
    member_of(pdu).map(|m| m.membership)
}

/// What a member event says about its member (its content parsed once).
fn member_of(pdu: &Pdu) -> Option<Member> {
    if pdu.kind != TimelineEventType::RoomMember {
        return None;
    }
    let content: Value = pdu.content_value();
    let membership = MembershipState::from(content.get("membership")?.as_str()?);
    let displayname = content
        .get("displayname")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(Member {
        membership,
        displayname,
    })
}

/// Which members of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Members whose membership is `join`.
    Joined,
    /// Joined and invited members (they all see new events or invites in `/sync`).
    JoinedAndInvited,
}

impl Audience {
    fn includes(self, membership: &MembershipState) -> bool {
        match self {
            Audience::Joined => *membership == MembershipState::Join,
            Audience::JoinedAndInvited => {
                matches!(membership, MembershipState::Join | MembershipState::Invite)
            }
        }
    }
}

impl RoomSnapshot {
    /// A room with no events yet.
    pub fn empty(room_id: OwnedRoomId, version: RoomVersionId) -> Result<Self> {
        let rules = version.rules().ok_or(Error::UnsupportedRoomVersion)?;
        Ok(Self {
            room_id,
            version,
            rules,
            state: Arc::default(),
            last_event: None,
            depth: 0,
            members: Arc::default(),
            joined_count: 0,
            invited_count: 0,
            origin: None,
            marked_managed: false,
        })
    }

    /// Loads a room's current state from the database.
    pub async fn load(db: &Db, room_id: &RoomId) -> Result<Option<Self>> {
        let Some(version) = db.room_version(room_id.as_str()).await? else {
            return Ok(None);
        };
        let version = RoomVersionId::try_from(version.as_str())
            .map_err(|e| Error::Internal(e.to_string()))?;
        let mut snapshot = Self::empty(room_id.to_owned(), version)?;
        snapshot.origin = db
            .room_origin(room_id.as_str())
            .await?
            .map(RoomOrigin::from_row);
        for row in db.current_state(room_id.as_str()).await? {
            let pdu = super::Rooms::parse(&row.json)?;
            snapshot.insert_state(pdu);
            snapshot.record_stored(row);
        }
        if let Some(last) = db.last_room_event(room_id.as_str()).await? {
            let pdu = super::Rooms::parse(&last.json)?;
            snapshot.depth = pdu.depth.into();
            snapshot.last_event = Some(pdu.event_id);
        }
        Ok(Some(snapshot))
    }

    fn insert_state(&mut self, pdu: Pdu) {
        if let Some(key) = pdu.state_key.clone() {
            self.set_state(pdu.kind.to_string().as_str(), key, pdu);
        }
    }

    /// Replaces one piece of state.
    pub fn set_state(&mut self, kind: &str, state_key: String, pdu: Pdu) {
        if kind == "m.room.create" {
            self.marked_managed = managed::carries_marker(&pdu.content_value());
        }
        if let (Some(member), Ok(user_id)) = (member_of(&pdu), UserId::parse(state_key.as_str())) {
            self.count(&member.membership, 1);
            if let Some(old) = Arc::make_mut(&mut self.members).insert(user_id, member) {
                self.count(&old.membership, -1);
            }
        }
        let entry = StateEntry {
            pdu: Arc::new(pdu),
            stored: None,
        };
        Arc::make_mut(&mut self.state).insert((kind.into(), state_key), entry);
    }

    /// Keeps `row`, the stored form of a state event, with the piece of state it is (nothing
    /// if that piece is now another event, or if the row has a transaction ID).
    pub fn record_stored(&mut self, row: EventRow) {
        let Some(state_key) = row.state_key.clone() else {
            return;
        };
        let key = (row.event_type.as_str().into(), state_key);
        let current = self
            .state
            .get(&key)
            .is_some_and(|entry| entry.pdu.event_id.as_str() == row.event_id);
        if !current || row.txn_id.is_some() {
            return;
        }
        if let Some(entry) = Arc::make_mut(&mut self.state).get_mut(&key) {
            entry.stored = Some(Arc::new(row));
        }
    }

    /// The stored rows of the current state's `part`, if they are the state right after
    /// `pos`: every one of them is kept here and none is newer than `pos` (then no state
    /// event of the part lies after `pos`, as the newest of each would be among them).
    pub fn stored_state_at(&self, pos: i64, part: &StatePart) -> Option<Vec<EventRow>> {
        let mut rows = Vec::new();
        for ((kind, key), entry) in self.state.iter() {
            // Member events, most of a large room's state, without a type string each.
            let in_part = if *kind == StateEventType::RoomMember {
                part.contains(StatePart::MEMBER_TYPE, key)
            } else {
                part.contains(&kind.to_string(), key)
            };
            if !in_part {
                continue;
            }
            let row = entry
                .stored
                .as_deref()
                .filter(|row| row.stream_pos <= pos)?;
            rows.push(row.clone());
        }
        rows.sort_by_key(|row| row.stream_pos);
        Some(rows)
    }

    /// Every piece of current state: its type and event.
    pub fn state_events(&self) -> impl Iterator<Item = (&StateEventType, &Arc<Pdu>)> + '_ {
        self.state
            .iter()
            .map(|((kind, _), entry)| (kind, &entry.pdu))
    }

    fn count(&mut self, membership: &MembershipState, delta: i64) {
        let counter = match membership {
            MembershipState::Join => &mut self.joined_count,
            MembershipState::Invite => &mut self.invited_count,
            _ => return,
        };
        *counter = counter.saturating_add_signed(delta);
    }

    /// `(joined, invited)` member counts.
    pub fn member_counts(&self) -> (u64, u64) {
        (self.joined_count, self.invited_count)
    }

    /// Up to `n` joined or invited members other than `user_id`, in user ID order (the room
    /// summary's heroes).
    pub fn heroes(&self, user_id: &UserId, n: usize) -> Vec<OwnedUserId> {
        self.members(Audience::JoinedAndInvited)
            .filter(|u| *u != user_id)
            .take(n)
            .map(ToOwned::to_owned)
            .collect()
    }

    /// Moves the snapshot past a newly accepted event.
    pub fn apply(&mut self, pdu: &Pdu) {
        self.depth = pdu.depth.into();
        self.last_event = Some(pdu.event_id.clone());
        self.insert_state(pdu.clone());
    }

    /// One piece of state.
    pub fn get(&self, kind: &str, state_key: &str) -> Option<&Arc<Pdu>> {
        self.get_typed(&kind.into(), state_key)
    }

    /// One piece of state, by its typed event type.
    pub fn get_typed(&self, kind: &StateEventType, state_key: &str) -> Option<&Arc<Pdu>> {
        self.state
            .get(&(kind.clone(), state_key.to_owned()))
            .map(|entry| &entry.pdu)
    }

    /// Content of one piece of state.
    pub fn content(&self, kind: &str, state_key: &str) -> Option<Value> {
        self.get(kind, state_key).map(|p| p.content_value())
    }

    /// A user's current membership.
    pub fn membership(&self, user_id: &UserId) -> Option<MembershipState> {
        self.get("m.room.member", user_id.as_str())
            .and_then(|p| membership_of(p))
    }

    /// Whether the user is joined.
    pub fn is_joined(&self, user_id: &UserId) -> bool {
        self.membership(user_id) == Some(MembershipState::Join)
    }

    /// 403 unless the user is joined.
    pub fn require_joined(&self, user_id: &UserId) -> Result<()> {
        if self.is_joined(user_id) {
            Ok(())
        } else {
            Err(Error::forbidden(
                "Dieses Konto ist nicht Mitglied dieses Raums.",
                "You are not a member of this room.",
            ))
        }
    }

    /// Users whose membership is `join`.
    pub fn joined(&self) -> impl Iterator<Item = &UserId> + '_ {
        self.members(Audience::Joined)
    }

    /// Users who are joined or invited (they all see new events or invites in `/sync`).
    pub fn joined_and_invited(&self) -> impl Iterator<Item = &UserId> + '_ {
        self.members(Audience::JoinedAndInvited)
    }

    /// The members of `audience`, in user ID order, borrowed (no allocation per member).
    pub fn members(&self, audience: Audience) -> impl Iterator<Item = &UserId> + '_ {
        self.members
            .iter()
            .filter(move |(_, m)| audience.includes(&m.membership))
            .map(|(user, _)| user.as_ref())
    }

    /// The joined members with their display names (for push rule evaluation).
    pub fn joined_members(&self) -> impl Iterator<Item = (&UserId, &Member)> + '_ {
        self.members
            .iter()
            .filter(|(_, m)| m.membership == MembershipState::Join)
            .map(|(user, m)| (user.as_ref(), m))
    }

    /// One joined member with their display name, if `user_id` is joined (the key borrowed
    /// from the member list).
    pub fn joined_member(&self, user_id: &UserId) -> Option<(&UserId, &Member)> {
        self.members
            .get_key_value(user_id)
            .filter(|(_, m)| m.membership == MembershipState::Join)
            .map(|(user, m)| (user.as_ref(), m))
    }

    /// Localparts of the joined and invited members (the policy's view of a room; all users
    /// are local). One allocation, none per member.
    pub fn member_localparts(&self) -> Vec<&str> {
        self.members(Audience::JoinedAndInvited)
            .map(|user| localpart(user.as_str()))
            .collect()
    }

    /// Whether the create event carries the marker of rooms the school manages (whether the
    /// room is managed also depends on its creator: `school::managed::managed`).
    pub fn marked_managed(&self) -> bool {
        self.marked_managed
    }

    /// The room's creator (the sender of `m.room.create`).
    pub fn creator(&self) -> Option<&UserId> {
        self.get("m.room.create", "").map(|p| p.sender.as_ref())
    }

    /// The room's power levels, with the spec's defaults where unset.
    pub fn power_levels(&self) -> RoomPowerLevels {
        let content: Option<RoomPowerLevelsEventContent> = self
            .get("m.room.power_levels", "")
            .and_then(|p| serde_json::from_str(p.content.get()).ok());
        let creators: Vec<OwnedUserId> = self
            .get("m.room.create", "")
            .map(|p| p.sender.clone())
            .into_iter()
            .collect();
        RoomPowerLevels::new(
            RoomPowerLevelsSource::from(content),
            &self.rules.authorization,
            creators,
        )
    }

    /// A string field of a state event's content, e.g. `join_rule` of `m.room.join_rules`.
    pub fn state_str(&self, kind: &str, field: &str) -> Option<String> {
        self.content(kind, "")
            .and_then(|c| c.get(field).and_then(Value::as_str).map(str::to_owned))
    }
}

#[cfg(test)]
impl RoomSnapshot {
    /// A version 10 room `!r:s` for tests, with the given state events
    /// `(sender, type, state_key, content)` applied in order.
    pub fn for_test(events: &[(&str, &str, &str, Value)]) -> RoomSnapshot {
        let room_id = RoomId::parse("!r:s").expect("room ID");
        let mut room = RoomSnapshot::empty(room_id, RoomVersionId::V10).expect("version 10");
        for (i, (sender, kind, key, content)) in events.iter().enumerate() {
            let json = serde_json::json!({
                "event_id": format!("$e{i}"),
                "room_id": "!r:s",
                "sender": sender,
                "origin_server_ts": 1,
                "type": kind,
                "state_key": key,
                "content": content,
                "prev_events": [],
                "auth_events": [],
                "depth": i + 1,
            });
            room.apply(&Pdu::from_json(&json.to_string()).expect("test event"));
        }
        room
    }
}
