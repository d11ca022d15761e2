//! Simplified sliding sync (MSC4186), the sync of Element X and other matrix-rust-sdk clients.
//!
//! A request names lists (ranges over the user's rooms sorted by recency, with filters),
//! room subscriptions and extensions. [`selection`] picks the covered rooms; each covered room
//! is computed by the same engine as `/sync` ([`RoomSync`], reading through the one
//! [`RoomReader`](crate::service::read::RoomReader), so history visibility and quiet-hours
//! holds apply exactly as there) from where this connection's client has it
//! ([`connections`]); [`render`] turns the updates into the MSC's response. A request with a
//! position waits up to `timeout` for news, woken by the same notifier as `/sync`.

pub mod connections;
mod render;
pub mod selection;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt, TryStreamExt};
use ruma::api::client::sync::sync_events::v5;
use ruma::{OwnedRoomId, RoomId};
use schulhof_store::MembershipRow;
use serde_json::json;

use super::engine::{account_data, stripped_state, timeline_limit, RoomSpec, RoomSync};
use super::format::EventFormatter;
use super::updates::JoinedRoomUpdate;
use super::SinceToken;
use crate::ruma_wrapper::Session;
use crate::service::e2ee::key_counts::KeyCountCache;
use crate::service::e2ee::keys;
use crate::service::read::exclusions::Exclusions;
use crate::service::read::first_chunk;
use crate::service::read::prefetch::Prefetched;
use crate::service::rooms::user_rooms::UserRooms;
use crate::service::user::account_data::account_data as stored_account_data;
use crate::service::write::activity::UserStream;
use crate::state::AppState;
use crate::{Error, Result};
use connections::{ConnKey, ConnState, SentRoom};
use selection::{direct_rooms, Selection, CONCURRENT_ROOMS};

/// Rooms sent whole from which on one response reads their events, receipts and unread
/// counts together ([`Prefetched`]) rather than room by room.
const READ_AT_ONCE: usize = 2;

/// Longest long-poll the server holds open.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Answers a sliding-sync request, waiting up to its `timeout` for news if it has a `pos`.
pub async fn sync(state: &AppState, session: &Session, req: &v5::Request) -> Result<v5::Response> {
    let key = ConnKey::new(session, req.conn_id.as_deref())?;
    let Some(pos) = req.pos.as_deref() else {
        // A new connection: as heavy as an initial /sync, so admitted the same way.
        state.sliding.reset(&key);
        let _permit = state
            .full_syncs
            .0
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let base = ConnState::default();
        let (mut response, next, _) = respond(state, session, req, &base).await?;
        response.pos = state.sliding.store(&key, next);
        return Ok(response);
    };
    let base = state.sliding.at(&key, pos)?;
    let mut wake = state.notifier.subscribe(session.user_id.as_str());
    let deadline = Instant::now() + req.timeout.unwrap_or_default().min(MAX_TIMEOUT);
    loop {
        let (mut response, next, news) = respond(state, session, req, &base).await?;
        let now = Instant::now();
        if news || now >= deadline {
            response.pos = state.sliding.store(&key, next);
            return Ok(response);
        }
        let typing_expiry = state
            .typing
            .next_expiry(next.rooms.keys().map(|r| r.as_str()));
        let wait_until = typing_expiry.map_or(deadline, |t| t.min(deadline)).max(now);
        tokio::select! {
            _ = wake.changed() => {}
            _ = tokio::time::sleep_until(wait_until.into()) => {}
        }
    }
}

/// One response from `base` to now: the response (without its `pos`), the connection's new
/// state and whether the response holds anything new for the client.
async fn respond(
    state: &AppState,
    session: &Session,
    req: &v5::Request,
    base: &ConnState,
) -> Result<(v5::Response, ConnState, bool)> {
    let until = SinceToken::now(state);
    let user_id = &session.user_id;
    let memberships = UserRooms::of(state, user_id).await?;
    let exclusions = state.exclusions.of(state, user_id).await?;
    let direct = direct(state, session, base).await?;
    let selection = Selection::build(
        state,
        session,
        req,
        base,
        until,
        &memberships,
        &exclusions,
        &direct,
    )
    .await?;

    let mut response = v5::Response::new(String::new());
    response.txn_id = req.txn_id.clone();
    let mut news = base.since.is_none() || selection.list_counts != base.list_counts;
    for (name, count) in &selection.list_counts {
        let mut list = v5::response::List::default();
        list.count = (*count).try_into().unwrap_or_default();
        response.lists.insert(name.clone(), list);
    }
    let mut next = ConnState {
        since: Some(until),
        rooms: base.rooms.clone(),
        bumps: selection.bumps(),
        exclusions: Some(exclusions.clone()),
        list_counts: selection.list_counts.clone(),
        direct: direct.clone(),
    };
    let rooms = RoomsPass {
        state,
        session,
        req,
        base,
        until,
        selection: &selection,
        exclusions: &exclusions,
        f: EventFormatter::new(state, session),
    };
    news |= rooms.covered(&mut response, &mut next).await?;
    news |= rooms.left(&memberships, &mut response, &mut next).await?;
    news |= rooms.extensions(&mut response).await?;
    Ok((response, next, news))
}

/// The user's direct chats: those of the previous response unless `m.direct` may have changed.
async fn direct(
    state: &AppState,
    session: &Session,
    base: &ConnState,
) -> Result<Arc<HashSet<OwnedRoomId>>> {
    let user = session.user_id.as_str();
    if let Some(since) = base.since {
        if !state
            .activity
            .may_have_changed(UserStream::AccountData, user, since.pos)
        {
            return Ok(base.direct.clone());
        }
    }
    let content = stored_account_data(state, &session.user_id, None, "m.direct").await?;
    Ok(Arc::new(
        content.map(|c| direct_rooms(&c)).unwrap_or_default(),
    ))
}

/// Builds the room parts of one response.
struct RoomsPass<'a> {
    state: &'a AppState,
    session: &'a Session,
    req: &'a v5::Request,
    base: &'a ConnState,
    until: SinceToken,
    selection: &'a Selection<'a>,
    exclusions: &'a Exclusions,
    f: EventFormatter<'a>,
}

impl RoomsPass<'_> {
    /// Every covered room: sent whole if the client does not have it (with these details),
    /// else with what is new. Typing and receipts go to their extensions.
    async fn covered(&self, response: &mut v5::Response, next: &mut ConnState) -> Result<bool> {
        let ext = &self.req.extensions;
        let user_id = &self.session.user_id;
        let mut updates = self.joined_updates().await?;
        let mut news = false;
        for (room_id, details) in &self.selection.covered {
            let candidate = &self.selection.candidates[room_id];
            let config = details.fingerprint();
            let prev = self.base.rooms.get(room_id);
            if candidate.membership.membership == "invite" {
                if prev.is_none_or(|p| !p.invite) {
                    let snapshot = &candidate.snapshot;
                    let invite_state = stripped_state(snapshot, user_id);
                    let room = render::invited(candidate, &invite_state, user_id)?;
                    response.rooms.insert(room_id.clone(), room);
                    news = true;
                }
                next.rooms
                    .insert(room_id.clone(), self.sent(config, true, (0, 0)));
                continue;
            }
            let has = self.has(room_id, config);
            let mut unread = has.map_or((0, 0), |p| p.unread);
            if let Some(update) = updates.remove(room_id).flatten() {
                let initial = has.is_none() || update.full;
                if initial
                    || !update.timeline.events.is_empty()
                    || !update.state.is_empty()
                    || update.unread != unread
                {
                    let live_after = self.base.since.map(|s| s.pos);
                    let room =
                        render::joined(&self.f, &update, candidate, user_id, initial, live_after)?;
                    response.rooms.insert(room_id.clone(), room);
                    news = true;
                }
                unread = update.unread;
                let scoped = |lists: &Option<Vec<String>>, rooms: &Option<Vec<_>>| {
                    self.selection
                        .in_scope(room_id, lists.as_deref(), rooms.as_deref())
                };
                if let Some(users) = update.typing.as_ref().filter(|_| {
                    ext.typing.enabled == Some(true) && scoped(&ext.typing.lists, &ext.typing.rooms)
                }) {
                    let event = json!({ "type": "m.typing", "content": { "user_ids": users } });
                    let typing = &mut response.extensions.typing.rooms;
                    typing.insert(room_id.clone(), render::raw(&event)?);
                    news = true;
                }
                if let Some(content) = update.receipts.as_ref().filter(|_| {
                    ext.receipts.enabled == Some(true)
                        && scoped(&ext.receipts.lists, &ext.receipts.rooms)
                }) {
                    let event = json!({ "type": "m.receipt", "content": content });
                    let receipts = &mut response.extensions.receipts.rooms;
                    receipts.insert(room_id.clone(), render::raw(&event)?);
                    news = true;
                }
            }
            next.rooms
                .insert(room_id.clone(), self.sent(config, false, unread));
        }
        Ok(news)
    }

    /// How the client has a room, if it has it with these details (`config`) as a joined room.
    fn has(&self, room_id: &RoomId, config: u64) -> Option<&SentRoom> {
        let sent = self.base.rooms.get(room_id)?;
        (!sent.invite && sent.config == config).then_some(sent)
    }

    /// The engine's update of every covered joined room, a few rooms at a time. When several
    /// rooms are sent whole, what the reader reads of them is read together first.
    async fn joined_updates(&self) -> Result<HashMap<OwnedRoomId, Option<JoinedRoomUpdate>>> {
        let joined: Vec<_> = self
            .selection
            .covered
            .iter()
            .filter(|(id, _)| self.selection.candidates[*id].membership.membership == "join")
            .collect();
        let whole: Vec<_> = joined
            .iter()
            .filter(|(id, details)| self.has(id, details.fingerprint()).is_none())
            .collect();
        let prefetched = if whole.len() >= READ_AT_ONCE {
            let size = whole
                .iter()
                .map(|(_, details)| first_chunk(timeline_limit(&details.timeline)))
                .max()
                .unwrap_or(1);
            let rooms: Vec<&str> = whole.iter().map(|(id, _)| id.as_str()).collect();
            let range = (SinceToken::default().pos, self.until.pos);
            let user_id = &self.session.user_id;
            let read = Prefetched::load(self.state, user_id, self.exclusions, &rooms, range, size);
            Some(read.await?)
        } else {
            None
        };
        let prefetched = prefetched.as_ref();
        let rooms = joined
            .into_iter()
            .map(|(room_id, details)| async move {
                let has = self.has(room_id, details.fingerprint());
                let sync = RoomSync {
                    state: self.state,
                    session: self.session,
                    spec: RoomSpec {
                        since: has.map_or_else(SinceToken::default, |p| p.since),
                        until: self.until,
                        incremental: has.is_some(),
                        full_state: false,
                        timeline: &details.timeline,
                        state: &details.required,
                    },
                    membership: self.selection.candidates[room_id].membership,
                    room_id,
                    exclusions: self.exclusions,
                    prefetched,
                };
                Ok::<_, Error>((room_id.clone(), sync.joined_room(Vec::new()).await?))
            })
            // Collected first, so the request's future stays `Send` (see `Selection::build`).
            .collect::<Vec<_>>();
        stream::iter(rooms)
            .buffer_unordered(CONCURRENT_ROOMS)
            .try_collect()
            .await
    }

    /// A room as this response leaves the client with it.
    fn sent(&self, config: u64, invite: bool, unread: (u64, u64)) -> SentRoom {
        SentRoom {
            since: self.until,
            config,
            invite,
            unread,
        }
    }

    /// Rooms the client has that the user left (or was removed from, or whose invitation
    /// they declined): the timeline up to the leave, once; then the room is forgotten.
    async fn left(
        &self,
        memberships: &[MembershipRow],
        response: &mut v5::Response,
        next: &mut ConnState,
    ) -> Result<bool> {
        let mut news = false;
        for m in memberships {
            if m.membership == "join" || m.membership == "invite" {
                continue;
            }
            let room_id = RoomId::parse(&m.room_id).map_err(|e| Error::Internal(e.to_string()))?;
            let Some(sent) = self.base.rooms.get(&room_id) else {
                continue;
            };
            next.rooms.remove(&room_id);
            if m.stream_pos <= sent.since.pos {
                continue;
            }
            let timeline = ruma::api::client::filter::RoomEventFilter::default();
            let required = selection::RequiredState::default();
            let sync = RoomSync {
                state: self.state,
                session: self.session,
                spec: RoomSpec {
                    since: sent.since,
                    until: self.until,
                    incremental: true,
                    full_state: false,
                    timeline: &timeline,
                    state: &required,
                },
                membership: m,
                room_id: &room_id,
                exclusions: self.exclusions,
                prefetched: None,
            };
            let update = sync.left_room().await?;
            response
                .rooms
                .insert(room_id.clone(), render::left(&self.f, &update)?);
            news = true;
        }
        Ok(news)
    }

    /// The to-device, e2ee and account-data extensions (typing and receipts come with their
    /// rooms).
    async fn extensions(&self, response: &mut v5::Response) -> Result<bool> {
        let ext = &self.req.extensions;
        let (state, user_id) = (self.state, &self.session.user_id);
        let device_id = self.session.device_id.as_str();
        let since = self.base.since.unwrap_or_default();
        let mut news = false;
        if ext.to_device.enabled == Some(true) {
            let from = ext
                .to_device
                .since
                .as_deref()
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0);
            let events =
                keys::to_device_for_sync(state, user_id, device_id, from, self.until.pos).await?;
            news |= !events.is_empty();
            let mut to_device = v5::response::ToDevice::default();
            to_device.next_batch = self.until.pos.to_string();
            to_device.events = events.iter().map(render::raw).collect::<Result<_>>()?;
            response.extensions.to_device = Some(to_device);
        }
        if ext.e2ee.enabled == Some(true) {
            let (changed, left) = if self.base.since.is_some() {
                keys::device_lists_for_sync(state, user_id, since.pos, self.until.pos).await?
            } else {
                Default::default()
            };
            news |= !changed.is_empty() || !left.is_empty();
            let counts = KeyCountCache::of(state, user_id, device_id).await?;
            response.extensions.e2ee =
                render::e2ee(&changed, &left, &counts.one_time, &counts.unused_fallback);
        }
        if ext.account_data.enabled == Some(true) {
            news |= self.account_data(response, since).await?;
        }
        Ok(news)
    }

    /// Global account data changed since the last response, and room account data of the
    /// rooms in the extension's scope (all of it for rooms the client gets whole).
    async fn account_data(&self, response: &mut v5::Response, since: SinceToken) -> Result<bool> {
        let ext = &self.req.extensions.account_data;
        let user_id = &self.session.user_id;
        let (global, mut by_room) = account_data(self.state, user_id, since, self.until).await?;
        let initial_rooms: Vec<&OwnedRoomId> = response
            .rooms
            .iter()
            .filter(|(_, r)| r.initial == Some(true))
            .map(|(id, _)| id)
            .collect();
        if since.pos > 0 && !initial_rooms.is_empty() {
            let (_, all) =
                account_data(self.state, user_id, SinceToken::default(), self.until).await?;
            for room_id in initial_rooms {
                if let Some(events) = all.get(room_id.as_str()) {
                    by_room.insert(room_id.to_string(), events.clone());
                }
            }
        }
        let mut news = !global.is_empty();
        let data = &mut response.extensions.account_data;
        data.global = global.iter().map(render::raw).collect::<Result<_>>()?;
        for (room, events) in by_room {
            let Ok(room_id) = RoomId::parse(&room) else {
                continue;
            };
            if !self
                .selection
                .in_scope(&room_id, ext.lists.as_deref(), ext.rooms.as_deref())
            {
                continue;
            }
            news = true;
            let events: Vec<_> = events.iter().map(render::raw).collect::<Result<_>>()?;
            data.rooms.insert(room_id, events);
        }
        Ok(news)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_events_are_typed_events() {
        let typing: ruma::serde::Raw<ruma::events::typing::SyncTypingEvent> =
            render::raw(&json!({ "type": "m.typing", "content": { "user_ids": ["@a:x"] } }))
                .unwrap();
        assert_eq!(typing.deserialize().unwrap().content.user_ids.len(), 1);
    }
}
