//! Rooms: the cached current state of each room and the creation of new events.
//!
//! Each room is one linear chain of events. All writes go through the stream's single writer,
//! so while it holds the lock the cached snapshot is the room's true current state: a new event
//! is built on it, authorised against it with the Matrix authorization rules, stored, and the
//! snapshot replaced.

mod build;
pub mod bumps;
pub mod create;
pub mod membership;
pub mod pdu;
pub mod preflight;
pub mod receipts;
pub mod recent;
pub mod report;
pub mod room_directory;
mod snapshot;
pub mod typing;
pub mod upgrade;
pub mod user_rooms;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, RoomAliasId, RoomId, RoomVersionId, UserId};
use schulhof_store::{Db, NewEvent, NewHold};

pub use build::EventTemplate;
use bumps::{is_bump_type, BumpEvent, BumpIndex};
use recent::RecentEvents;
pub use snapshot::{Audience, Member, RoomSnapshot};

use crate::service::rooms::pdu::Pdu;
use crate::service::school::policy::{self, RoomOrigin};
use crate::service::write::Locked;
use crate::state::AppState;
use crate::{Error, Result};

/// What happened last in a room: events or receipts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomActivity {
    /// A new event.
    Event,
    /// A new read receipt.
    Receipt,
}

/// What a new room starts with besides its events.
pub struct RoomCreation<'a> {
    /// Its room version.
    pub version: RoomVersionId,
    /// Who made it and whether it is a direct chat.
    pub origin: RoomOrigin,
    /// An alias stored with it, in the same commit.
    pub alias: Option<&'a RoomAliasId>,
}

/// Room state cache plus the index of where each room last changed.
pub struct Rooms {
    snapshots: RwLock<HashMap<OwnedRoomId, Arc<RoomSnapshot>>>,
    /// Room ID → newest stream position of an event in it.
    events: RwLock<HashMap<String, i64>>,
    /// Room ID → newest stream position of a receipt in it.
    receipts: RwLock<HashMap<String, i64>>,
    /// Room ID → its newest bump event.
    bumps: BumpIndex,
    /// The newest events of large rooms.
    recent: RecentEvents,
}

/// A stored event with its stream position, as returned by [`Rooms::send`].
#[derive(Debug, Clone)]
pub struct Sent {
    /// The event ID.
    pub event_id: OwnedEventId,
    /// Its stream position.
    pub stream_pos: i64,
}

impl Rooms {
    /// Loads the activity index of every room.
    pub async fn load(db: &Db) -> Result<Rooms> {
        Ok(Rooms {
            snapshots: RwLock::default(),
            events: RwLock::new(db.room_positions().await?.into_iter().collect()),
            receipts: RwLock::new(db.room_receipt_positions().await?.into_iter().collect()),
            bumps: BumpIndex::load(db).await?,
            recent: RecentEvents::default(),
        })
    }

    /// The newest bump event of each room.
    pub fn bumps(&self) -> &BumpIndex {
        &self.bumps
    }

    /// The newest events of large rooms.
    pub fn recent(&self) -> &RecentEvents {
        &self.recent
    }

    fn index(&self, kind: RoomActivity) -> &RwLock<HashMap<String, i64>> {
        match kind {
            RoomActivity::Event => &self.events,
            RoomActivity::Receipt => &self.receipts,
        }
    }

    /// The newest stream position of `kind` in `room_id` (0 if never).
    pub fn last_activity(&self, room_id: &str, kind: RoomActivity) -> i64 {
        self.index(kind)
            .read()
            .expect("activity lock")
            .get(room_id)
            .copied()
            .unwrap_or(0)
    }

    /// Records `kind` in a room at `pos`.
    pub fn mark_activity(&self, room_id: &str, kind: RoomActivity, pos: i64) {
        self.index(kind)
            .write()
            .expect("activity lock")
            .insert(room_id.to_owned(), pos);
    }

    /// The current state of a room, or `None` if it does not exist.
    pub async fn snapshot(&self, db: &Db, room_id: &RoomId) -> Result<Option<Arc<RoomSnapshot>>> {
        if let Some(s) = self.snapshots.read().expect("snapshot lock").get(room_id) {
            return Ok(Some(s.clone()));
        }
        let Some(snapshot) = RoomSnapshot::load(db, room_id).await? else {
            return Ok(None);
        };
        // A writer may have replaced the room's state since this load read the database: its
        // snapshot is the committed one, so a loaded one is only ever added, never swapped in.
        let snapshot = self
            .snapshots
            .write()
            .expect("snapshot lock")
            .entry(room_id.to_owned())
            .or_insert_with(|| Arc::new(snapshot))
            .clone();
        Ok(Some(snapshot))
    }

    /// The current state of a room (404 if it does not exist), for handlers.
    pub async fn current(state: &AppState, room_id: &RoomId) -> Result<Arc<RoomSnapshot>> {
        state.rooms.existing(&state.db, room_id).await
    }

    /// Like [`Rooms::snapshot`] but a missing room is a 404.
    pub async fn existing(&self, db: &Db, room_id: &RoomId) -> Result<Arc<RoomSnapshot>> {
        self.snapshot(db, room_id)
            .await?
            .ok_or_else(|| Error::not_found("Diesen Raum gibt es nicht.", "Unknown room."))
    }

    /// Replaces a room's cached state; only the commit path calls this, under the writer lock.
    pub(crate) fn replace_snapshot(&self, snapshot: Arc<RoomSnapshot>) {
        self.snapshots
            .write()
            .expect("snapshot lock")
            .insert(snapshot.room_id.clone(), snapshot);
    }

    /// Sends one event into a room on behalf of `sender`.
    pub async fn send(
        state: &AppState,
        room_id: &RoomId,
        sender: &UserId,
        template: EventTemplate,
        txn: Option<(&str, &str)>,
    ) -> Result<Sent> {
        let mut sent = Self::send_batch(state, room_id, None, sender, vec![template], txn).await?;
        Ok(sent.pop().expect("one event sent"))
    }

    /// Creates a new room: the `m.room.create` event from `create_content` followed by
    /// `templates`, all in one transaction: either the whole room exists afterwards or nothing.
    /// The caller has checked the creation with the policy (`policy::check_create_room`);
    /// `origin` is recorded with the room.
    pub async fn create(
        state: &AppState,
        sender: &UserId,
        room: RoomCreation<'_>,
        create_content: serde_json::Value,
        templates: Vec<EventTemplate>,
    ) -> Result<OwnedRoomId> {
        let room_id = RoomId::new_v1(&state.server_name);
        let mut all = vec![EventTemplate::state("m.room.create", "", create_content)];
        all.extend(templates);
        Self::send_batch(state, &room_id, Some(room), sender, all, None)
            .await
            .map_err(|err| match err {
                // The creator's own choices (power levels, initial state) keep them from
                // sending the room's first events: the room cannot be created like that.
                Error::AuthRules(reason) => Error::InvalidRoomState(crate::error::Text::new(
                    format!(
                        "Mit diesen Einstellungen lässt sich der Raum nicht anlegen: {}",
                        reason.de
                    ),
                    format!("The room cannot be created with this state: {}", reason.en),
                )),
                other => other,
            })?;
        Ok(room_id)
    }

    /// Builds, authorises and stores `templates` in one transaction. A membership event about
    /// someone else needs an existing account (404 otherwise, as for invitations). Every event
    /// into an existing room is first checked against the school's rights
    /// (`policy::check_event`): no path into a room bypasses the policy. A denial changes
    /// nothing.
    async fn send_batch(
        state: &AppState,
        room_id: &RoomId,
        new_room: Option<RoomCreation<'_>>,
        sender: &UserId,
        templates: Vec<EventTemplate>,
        txn: Option<(&str, &str)>,
    ) -> Result<Vec<Sent>> {
        for template in &templates {
            if let Some(target) = template.member_target().filter(|t| *t != sender.as_str()) {
                membership::require_account(state, target).await?;
            }
        }
        let lock = state.writer.lock().await;
        let mut working = match &new_room {
            Some(new) => {
                let mut room = RoomSnapshot::empty(room_id.to_owned(), new.version.clone())?;
                room.origin = Some(new.origin);
                room
            }
            None => state
                .rooms
                .existing(&state.db, room_id)
                .await?
                .as_ref()
                .clone(),
        };
        let policy = new_room.is_none().then(|| policy::Context::now(state));
        let now = state.clock.now_ms();
        let mut pdus = Vec::with_capacity(templates.len());
        for template in templates {
            if let Some(ctx) = &policy {
                if let Err(denied) = policy::check_event(ctx, &working, sender, &template) {
                    drop(lock);
                    return Err(denied.refuse(state, sender).await);
                }
            }
            let pdu = build::build_and_authorize(
                &working,
                sender,
                template,
                now,
                state.config.encryption.allow,
            )?;
            working.apply(&pdu);
            pdus.push(pdu);
        }

        let prepared = Prepared { working, pdus, now };
        let (sent, told) =
            commit_events(state, lock, room_id, new_room.as_ref(), prepared, txn).await?;
        // Boxed: a notice is itself sent through this function.
        Box::pin(crate::service::notices::tell_held(state, sender, told)).await;
        Ok(sent)
    }

    /// Builds, checks and stores `groups` of events into the existing room `room_id` in one
    /// transaction, each group on its own: a group's events are sent in order by their
    /// senders, each checked as in [`Rooms::send`] (the policy, then the room's authorization
    /// rules, on the room's state after the events before it); the first refusal ends its group
    /// (its earlier events stay, as separate sends would have left them) and the other groups
    /// go on. Returns each group's outcome in order; a policy denial is counted, audited and
    /// told like any other. A fault of the server (database) fails the whole call and stores
    /// nothing. The caller checks that the people membership events are about exist.
    pub async fn send_each(
        state: &AppState,
        room_id: &RoomId,
        groups: Vec<EventGroup>,
    ) -> Result<Vec<Result<()>>> {
        let lock = state.writer.lock().await;
        let mut prepared = Prepared {
            working: state
                .rooms
                .existing(&state.db, room_id)
                .await?
                .as_ref()
                .clone(),
            pdus: Vec::new(),
            now: state.clock.now_ms(),
        };
        let ctx = policy::Context::now(state);
        let mut outcomes = Vec::with_capacity(groups.len());
        for group in groups {
            outcomes.push(prepared.group(state, &ctx, group)?);
        }
        if prepared.pdus.is_empty() {
            drop(lock);
        } else {
            // Member events and state events are never held: there is nobody to tell.
            commit_events(state, lock, room_id, None, prepared, None).await?;
        }
        let mut results = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            results.push(match outcome {
                GroupOutcome::Sent => Ok(()),
                GroupOutcome::Refused(error) => Err(error),
                // Boxed: the notice of a refusal is itself sent through `send_batch`.
                GroupOutcome::Denied(sender, denied) => {
                    Err(Box::pin(denied.refuse(state, &sender)).await)
                }
            });
        }
        Ok(results)
    }

    /// Parses a stored event.
    pub fn parse(json: &str) -> Result<Pdu> {
        Pdu::from_json(json).map_err(|e| Error::Internal(format!("stored event unreadable: {e}")))
    }
}

/// One group of [`Rooms::send_each`]: events sent in order, each by its sender.
pub type EventGroup = Vec<(OwnedUserId, EventTemplate)>;

/// How one group of [`Rooms::send_each`] ended.
enum GroupOutcome {
    /// All its events are built and authorised.
    Sent,
    /// The policy refused an event of this sender (told after the writer lock is released).
    Denied(OwnedUserId, policy::Denied),
    /// The room's authorization rules or the event's checks refused an event.
    Refused(Error),
}

/// Events built and authorised in order under the writer lock, ready to be stored.
struct Prepared {
    /// The room's state after the events.
    working: RoomSnapshot,
    /// The events, in order.
    pdus: Vec<Pdu>,
    /// Their `origin_server_ts`.
    now: i64,
}

impl Prepared {
    /// Builds and authorises one group's events on the working state and adds them; stops at
    /// the first refusal (see [`Rooms::send_each`]). Only a server fault is an error.
    fn group(
        &mut self,
        state: &AppState,
        ctx: &policy::Context,
        group: EventGroup,
    ) -> Result<GroupOutcome> {
        for (sender, template) in group {
            if let Err(denied) = policy::check_event(ctx, &self.working, &sender, &template) {
                return Ok(GroupOutcome::Denied(sender, denied));
            }
            let built = build::build_and_authorize(
                &self.working,
                &sender,
                template,
                self.now,
                state.config.encryption.allow,
            );
            match built {
                Ok(pdu) => {
                    self.working.apply(&pdu);
                    self.pdus.push(pdu);
                }
                Err(error) if error.status().is_server_error() => return Err(error),
                Err(error) => return Ok(GroupOutcome::Refused(error)),
            }
        }
        Ok(GroupOutcome::Sent)
    }
}

/// What the store keeps of one event besides the event itself, worked out once.
struct StoredParts {
    /// Its stream position.
    pos: i64,
    /// Its JSON.
    json: String,
    /// Its type.
    kind: String,
    /// For member events: the membership.
    membership: Option<String>,
    /// `(event ID, rel_type)` of its relation, if any.
    relation: Option<(String, String)>,
}

impl StoredParts {
    /// The parts of `pdu`, stored at `pos`.
    fn of(pdu: &Pdu, pos: i64) -> Result<Self> {
        Ok(Self {
            pos,
            json: serde_json::to_string(pdu).map_err(|e| Error::Internal(e.to_string()))?,
            kind: pdu.kind.to_string(),
            membership: snapshot::membership_of(pdu).map(|m| m.to_string()),
            relation: pdu.relation(),
        })
    }
}

/// Stores `prepared` in one transaction under `lock`, with everything the events cause
/// (appservice outbox, quiet-hours holds, push notifications, redactions); `new_room` if they
/// create the room (its creator is the sender of the first event). After the commit the
/// effects replace the room's snapshot and wake its members. Returns the stored events and the
/// quiet-hours holds to tell the sender about.
async fn commit_events(
    state: &AppState,
    lock: Locked<'_>,
    room_id: &RoomId,
    new_room: Option<&RoomCreation<'_>>,
    prepared: Prepared,
    txn: Option<(&str, &str)>,
) -> Result<(Vec<Sent>, Vec<(OwnedUserId, i64)>)> {
    let Prepared {
        mut working,
        pdus,
        now,
    } = prepared;
    let creator = pdus
        .first()
        .map(|p| p.sender.clone())
        .ok_or_else(|| Error::Internal("commit without events".into()))?;
    let directory = state.directory.snapshot();
    lock.commit(state, async |c| {
        let mut told = Vec::new();
        if let Some(new) = new_room {
            Db::insert_room(
                c.tx(),
                room_id.as_str(),
                new.version.as_str(),
                creator.as_str(),
                now,
            )
            .await?;
            Db::insert_room_origin(c.tx(), room_id.as_str(), &new.origin.to_row()).await?;
            if let Some(alias) = new.alias {
                // In the room's own commit: of two creations with one alias, exactly
                // one stores its room, the other nothing.
                Db::insert_alias(c.tx(), alias.as_str(), room_id.as_str(), creator.as_str())
                    .await
                    .map_err(|e| match e {
                        schulhof_store::StoreError::Conflict => create::alias_taken(),
                        other => other.into(),
                    })?;
            }
        }
        // The events' rows, one statement per table for all of them.
        let stored: Vec<StoredParts> = pdus
            .iter()
            .map(|pdu| StoredParts::of(pdu, c.next_pos()))
            .collect::<Result<_>>()?;
        let events: Vec<NewEvent> = pdus
            .iter()
            .zip(&stored)
            .enumerate()
            .map(|(i, (pdu, parts))| NewEvent {
                stream_pos: parts.pos,
                event_id: pdu.event_id.as_str(),
                room_id: room_id.as_str(),
                sender: pdu.sender.as_str(),
                event_type: &parts.kind,
                state_key: pdu.state_key.as_deref(),
                membership: parts.membership.as_deref(),
                origin_server_ts: now,
                json: &parts.json,
                txn: if i == 0 { txn } else { None },
                relation: parts
                    .relation
                    .as_ref()
                    .map(|(id, kind)| (id.as_str(), kind.as_str())),
            })
            .collect();
        Db::insert_events(c.tx(), &events)
            .await
            .map_err(|e| match e {
                schulhof_store::StoreError::Conflict => Error::bad_json(
                    "Diese Transaktions-ID wurde schon verwendet.",
                    "This transaction ID was already used.",
                ),
                other => other.into(),
            })?;
        // The snapshot keeps its state as stored, for readers to take without a read, and a
        // large room its newest events (a small room's rows are not copied at all).
        for event in events.iter().filter(|e| e.state_key.is_some()) {
            working.record_stored(event.to_row());
        }
        let large = working.member_counts().0 >= recent::MIN_MEMBERS;
        let kept = if large {
            events.iter().map(NewEvent::to_row).collect()
        } else {
            Vec::new()
        };
        c.effects().recent_events(room_id.as_str(), kept, large);
        crate::service::delayed::supersede(state, c.tx(), room_id, &pdus, now).await?;
        // Outbox seam: the events' rows for interested appservices.
        let positioned: Vec<(&Pdu, i64)> = pdus.iter().zip(stored.iter().map(|p| p.pos)).collect();
        crate::service::appservice::outbox::record_events(state, c, &working, &positioned, now)
            .await?;
        let mut sent = Vec::with_capacity(pdus.len());
        for (pdu, parts) in pdus.iter().zip(&stored) {
            let sender: &UserId = &pdu.sender;
            let pos = parts.pos;
            let holds = state
                .quiet_hours
                .holds(&directory, &working, sender, pdu, now);
            let held: Vec<&UserId> = holds.iter().map(|h| h.recipient).collect();
            let notified = crate::service::push::rules::record_notifications(
                state, c, &working, pdu, pos, &held,
            )
            .await?;
            for (hold, notified) in holds.iter().zip(notified) {
                let row = NewHold {
                    recipient: hold.recipient.as_str(),
                    event_pos: pos,
                    room_id: room_id.as_str(),
                    sender: sender.as_str(),
                    release_ts: hold.release_ts,
                    notify: notified.is_some(),
                    highlight: notified.as_ref().is_some_and(|n| n.highlight),
                    shared_group: hold.shared_group,
                    push_tweaks: notified.as_ref().map(|n| n.tweaks.as_str()),
                };
                Db::insert_hold(c.tx(), &row).await?;
                c.effects()
                    .held(hold.recipient.as_str(), room_id.as_str(), hold.release_ts);
                told.push((hold.recipient.to_owned(), hold.release_ts));
            }
            if let Some(target) = pdu.redacted_event() {
                let redacted =
                    build::apply_redaction(&state.db, c.tx(), &mut working, &target, pdu).await?;
                if let Some(redacted) = redacted {
                    for recipient in Db::withdraw_holds(c.tx(), redacted.stream_pos, pos).await? {
                        c.effects().holds_changed(&recipient);
                    }
                    c.effects().redacted(redacted);
                }
            }
            if is_bump_type(&parts.kind) {
                let bump = BumpEvent {
                    pos,
                    sender: sender.to_string(),
                    state: pdu.state_key.is_some(),
                };
                c.effects().bump(room_id.as_str(), bump);
            }
            if pdu.kind == ruma::events::TimelineEventType::RoomMember {
                // A user who just left or was kicked, banned or invited must hear of it too.
                if let Some(target) = pdu.state_key.as_deref() {
                    c.effects().wake([target]).membership_changed(target);
                }
            }
            sent.push(Sent {
                event_id: pdu.event_id.clone(),
                stream_pos: pos,
            });
        }
        let working = Arc::new(working);
        c.effects()
            .wake_members(working.clone(), Audience::JoinedAndInvited)
            .room_activity(room_id.as_str(), RoomActivity::Event)
            .replace_snapshot(working);
        Ok((sent, told))
    })
    .await
}
