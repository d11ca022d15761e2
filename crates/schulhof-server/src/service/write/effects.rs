//! What a committed write changes outside the database: cached room state, the activity
//! index `/sync` uses to skip reads, the index of each room's newest bump event, the newest
//! events of large rooms, cached push rules, and whom to wake (users, and the sender jobs of
//! outboxes the write added to).

use std::collections::BTreeSet;
use std::sync::Arc;

use ruma::OwnedUserId;
use schulhof_store::EventRow;
use tokio::sync::Notify;

use crate::service::rooms::bumps::BumpEvent;
use crate::service::rooms::{Audience, RoomActivity, RoomSnapshot};
use crate::service::write::activity::UserStream;
use crate::state::AppState;

/// Effects a write declares while it runs; applied only if its transaction commits.
#[derive(Default)]
pub struct Effects {
    wake: BTreeSet<String>,
    user_streams: Vec<(UserStream, String)>,
    device_lists: bool,
    memberships: Vec<String>,
    rooms: Vec<(String, RoomActivity)>,
    /// Bump events committed, by room.
    bumps: Vec<(String, BumpEvent)>,
    snapshot: Option<Arc<RoomSnapshot>>,
    /// Rooms whose members (of an audience) are woken, read from the snapshot without
    /// copying a member list.
    room_members: Vec<(Arc<RoomSnapshot>, Audience)>,
    push_rules_changed: Vec<OwnedUserId>,
    exclusions_changed: Vec<String>,
    /// `(recipient, room, release_ts)` of events held for recipients in quiet hours; those
    /// recipients are not woken for the room.
    holds: Vec<(String, String, i64)>,
    /// A release of holds due at this time (ms) committed.
    released_until: Option<i64>,
    /// Outbox senders to wake: the write queued rows for them.
    senders: Vec<Arc<Notify>>,
    /// Committed events by room, in order, and whether the room is large (see
    /// `rooms::recent`).
    recent: Vec<(String, Vec<EventRow>, bool)>,
    /// Events redacted, as now stored.
    redacted: Vec<EventRow>,
}

impl Effects {
    /// Wakes these users' waiting `/sync` requests after the commit.
    pub fn wake<'a>(&mut self, users: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.wake.extend(users.into_iter().map(str::to_owned));
        self
    }

    /// Wakes the members of `room` in `audience` after the commit.
    pub fn wake_members(&mut self, room: Arc<RoomSnapshot>, audience: Audience) -> &mut Self {
        self.room_members.push((room, audience));
        self
    }

    /// Records that one of `user_id`'s own streams changed (and wakes them).
    pub fn user_stream(&mut self, stream: UserStream, user_id: &str) -> &mut Self {
        self.user_streams.push((stream, user_id.to_owned()));
        self.wake([user_id])
    }

    /// Records a device list change.
    pub fn device_list_changed(&mut self) -> &mut Self {
        self.device_lists = true;
        self
    }

    /// Records that `user_id`'s membership in a room changed (their room list and, in sync,
    /// everyone's device lists depend on memberships).
    pub fn membership_changed(&mut self, user_id: &str) -> &mut Self {
        self.memberships.push(user_id.to_owned());
        self
    }

    /// Records activity of `kind` in a room.
    pub fn room_activity(&mut self, room_id: &str, kind: RoomActivity) -> &mut Self {
        self.rooms.push((room_id.to_owned(), kind));
        self
    }

    /// Records a room's new bump event (its newest, once committed).
    pub fn bump(&mut self, room_id: &str, event: BumpEvent) -> &mut Self {
        self.bumps.push((room_id.to_owned(), event));
        self
    }

    /// Records a room's committed events (in order) for the newest events of large rooms.
    pub fn recent_events(&mut self, room_id: &str, rows: Vec<EventRow>, large: bool) -> &mut Self {
        self.recent.push((room_id.to_owned(), rows, large));
        self
    }

    /// Records that an event was redacted (`row` as now stored).
    pub fn redacted(&mut self, row: EventRow) -> &mut Self {
        self.redacted.push(row);
        self
    }

    /// Replaces the room's cached current state with `snapshot`.
    pub fn replace_snapshot(&mut self, snapshot: Arc<RoomSnapshot>) -> &mut Self {
        self.snapshot = Some(snapshot);
        self
    }

    /// Records that `user_id` stored push rules (see `PushRules::changed`).
    pub fn push_rules_changed(&mut self, user_id: OwnedUserId) -> &mut Self {
        self.push_rules_changed.push(user_id);
        self
    }

    /// Drops the cached exclusions (ignored users) of `user_id`.
    pub fn exclusions_changed(&mut self, user_id: &str) -> &mut Self {
        self.exclusions_changed.push(user_id.to_owned());
        self
    }

    /// Records that an event of `room_id` is held for `recipient` until `release_ts`: their
    /// reader must hide it, and they are not woken for it.
    pub fn held(&mut self, recipient: &str, room_id: &str, release_ts: i64) -> &mut Self {
        self.holds
            .push((recipient.to_owned(), room_id.to_owned(), release_ts));
        self.exclusions_changed(recipient)
    }

    /// Records that holds of `recipient` changed (withdrawn, released or dropped).
    pub fn holds_changed(&mut self, recipient: &str) -> &mut Self {
        self.exclusions_changed(recipient)
    }

    /// Records that every hold due at `now` was released or dropped.
    pub fn holds_released(&mut self, now: i64) -> &mut Self {
        self.released_until = Some(now);
        self
    }

    /// Wakes an outbox's sender job after the commit (the write queued rows for it).
    pub fn wake_sender(&mut self, sender: Arc<Notify>) -> &mut Self {
        if !self.senders.iter().any(|s| Arc::ptr_eq(s, &sender)) {
            self.senders.push(sender);
        }
        self
    }

    /// Applies the in-memory changes for a commit whose newest position is `pos`, before that
    /// position becomes visible to readers.
    pub(super) fn apply_state(&mut self, state: &AppState, pos: i64) {
        if let Some(snapshot) = self.snapshot.take() {
            state.rooms.replace_snapshot(snapshot);
        }
        for (room_id, kind) in &self.rooms {
            state.rooms.mark_activity(room_id, *kind, pos);
        }
        for (room_id, event) in self.bumps.drain(..) {
            state.rooms.bumps().record(&room_id, event);
        }
        for (room_id, rows, large) in self.recent.drain(..) {
            state.rooms.recent().record(&room_id, rows, large);
        }
        for row in self.redacted.drain(..) {
            state
                .rooms
                .recent()
                .redacted(&row.room_id, &row.event_id, &row.json);
        }
        for (stream, user_id) in &self.user_streams {
            state.activity.record(*stream, user_id, pos);
        }
        if self.device_lists {
            state.activity.record_device_list(pos);
        }
        for user_id in &self.memberships {
            state.user_rooms.invalidate(user_id);
        }
        if !self.memberships.is_empty() {
            state.activity.record_membership(pos);
        }
        for user_id in &self.push_rules_changed {
            state.push_rules.changed(user_id);
        }
        for user_id in &self.exclusions_changed {
            state.exclusions.invalidate(user_id);
        }
        if let Some(now) = self.released_until {
            state.quiet_hours.forget_released(now);
        }
        state.quiet_hours.record_waiting(&self.holds);
    }

    /// Wakes the users this write concerns, once `pos` is visible.
    pub(super) fn notify_users(self, state: &AppState, pos: i64) {
        let held = |user: &str| self.holds.iter().any(|(recipient, ..)| recipient == user);
        let members = self
            .room_members
            .iter()
            .flat_map(|(room, audience)| room.members(*audience).map(|u| u.as_str()))
            .filter(|user| !held(user));
        state
            .notifier
            .notify(self.wake.iter().map(String::as_str).chain(members), pos);
        for sender in &self.senders {
            sender.notify_one();
        }
    }
}
