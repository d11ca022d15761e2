//! A logged-in user: a matrix-sdk [`Client`] plus a log of everything its `/sync` responses
//! contained, so scenarios can wait for what a user would see.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, RoomId};
use matrix_sdk::sync::{RoomUpdates, State};
use matrix_sdk::{Client, Room};
use serde_json::Value;

use crate::raw::RawApi;
use crate::server::{password_of, TestServer};
use crate::sliding::SlidingSession;

/// How long [`TestUser::wait_for`] syncs before giving up.
const WAIT_TIMEOUT: Duration = Duration::from_secs(15);

/// Long-poll timeout of one sync round.
const SYNC_TIMEOUT: Duration = Duration::from_millis(500);

/// Where in a sync response an event appeared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `rooms.invite.*.invite_state` (stripped state).
    Invite,
    /// `rooms.join.*.timeline` (decrypted where the client could).
    Timeline,
    /// `rooms.join.*.state` / `state_after`.
    State,
    /// `rooms.join.*.ephemeral` (typing, receipts).
    Ephemeral,
    /// `rooms.leave.*`: its timeline and state events, or one `null` event when it had none.
    Leave,
}

/// One event of a sync response, with the room and section it came in.
#[derive(Debug, Clone)]
pub struct SyncItem {
    /// The room the event belongs to.
    pub room_id: OwnedRoomId,
    /// Where in the response it was.
    pub section: Section,
    /// The event as JSON.
    pub event: Value,
}

impl SyncItem {
    /// The event's `type`.
    pub fn event_type(&self) -> &str {
        self.event["type"].as_str().unwrap_or("")
    }

    /// The event's `sender`.
    pub fn sender(&self) -> &str {
        self.event["sender"].as_str().unwrap_or("")
    }

    /// The event's `event_id` (`""` for stripped and ephemeral events).
    pub fn event_id(&self) -> &str {
        self.event["event_id"].as_str().unwrap_or("")
    }

    /// The event's `content`.
    pub fn content(&self) -> &Value {
        &self.event["content"]
    }

    fn is(&self, room_id: &RoomId, section: Section, event_type: &str) -> bool {
        self.room_id == room_id && self.section == section && self.event_type() == event_type
    }
}

/// A text message with this body from this sender in the room's timeline.
pub fn message<'a>(
    room_id: &'a RoomId,
    sender: &'a str,
    body: &'a str,
) -> impl Fn(&SyncItem) -> bool + 'a {
    move |item| {
        item.is(room_id, Section::Timeline, "m.room.message")
            && item.sender() == sender
            && item.content()["body"] == body
    }
}

/// A state event of this type in the timeline or state of a joined room.
pub fn state_event<'a>(
    room_id: &'a RoomId,
    event_type: &'a str,
) -> impl Fn(&SyncItem) -> bool + 'a {
    move |item| {
        item.is(room_id, Section::Timeline, event_type)
            || item.is(room_id, Section::State, event_type)
    }
}

/// A membership event of `user` with `membership` in the timeline (or state) of a joined room.
pub fn membership<'a>(
    room_id: &'a RoomId,
    user: &'a str,
    membership: &'a str,
) -> impl Fn(&SyncItem) -> bool + 'a {
    let member_event = state_event(room_id, "m.room.member");
    move |item| {
        member_event(item)
            && item.event["state_key"] == user
            && item.content()["membership"] == membership
    }
}

/// An invite to the room.
pub fn invite(room_id: &RoomId) -> impl Fn(&SyncItem) -> bool + '_ {
    move |item| item.room_id == room_id && item.section == Section::Invite
}

/// The invitee's own member event in an invite's stripped state, marked `is_direct`.
pub fn direct_invite<'a>(room_id: &'a RoomId, invitee: &'a str) -> impl Fn(&SyncItem) -> bool + 'a {
    move |item| {
        item.is(room_id, Section::Invite, "m.room.member")
            && item.event["state_key"] == invitee
            && item.content()["membership"] == "invite"
            && item.content()["is_direct"] == true
    }
}

/// A typing notification that lists `user` as typing.
pub fn typing<'a>(room_id: &'a RoomId, user: &'a str) -> impl Fn(&SyncItem) -> bool + 'a {
    move |item| {
        item.is(room_id, Section::Ephemeral, "m.typing")
            && item.content()["user_ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|id| id == user))
    }
}

/// A read receipt of `user` for `event_id`.
pub fn read_receipt<'a>(
    room_id: &'a RoomId,
    event_id: &'a str,
    user: &'a str,
) -> impl Fn(&SyncItem) -> bool + 'a {
    move |item| {
        item.is(room_id, Section::Ephemeral, "m.receipt")
            && item.content()[event_id]["m.read"][user].is_object()
    }
}

/// The room showing up under `rooms.leave`.
pub fn left(room_id: &RoomId) -> impl Fn(&SyncItem) -> bool + '_ {
    move |item| item.room_id == room_id && item.section == Section::Leave
}

/// A logged-in matrix-sdk client and everything its syncs have returned so far.
pub struct TestUser {
    /// The client.
    pub client: Client,
    /// The full user ID.
    pub user_id: OwnedUserId,
    server_url: String,
    log: Mutex<Vec<SyncItem>>,
    /// Set once the user switched to sliding sync (as Element X syncs).
    sliding: Mutex<Option<Arc<SlidingSession>>>,
}

impl TestUser {
    /// Logs in with a fresh client (in-memory stores, new device).
    pub async fn login(server: &TestServer, localpart: &str) -> Result<Self> {
        Self::login_with_password(server, localpart, &password_of(localpart)).await
    }

    /// Logs in with `password` (e.g. one set with `schulhof user set-password`).
    pub async fn login_with_password(
        server: &TestServer,
        localpart: &str,
        password: &str,
    ) -> Result<Self> {
        let client = Client::builder()
            .homeserver_url(server.url())
            .build()
            .await?;
        let response = client
            .matrix_auth()
            .login_username(localpart, password)
            .initial_device_display_name("e2e-Test")
            .send()
            .await
            .with_context(|| format!("login of {localpart}"))?;
        let homeserver = client.homeserver();
        ensure!(
            homeserver.as_str().trim_end_matches('/') == server.url(),
            "after login matrix-sdk uses {homeserver} (the login's well_known), not the validating proxy"
        );
        Ok(Self {
            client,
            user_id: response.user_id,
            server_url: server.url(),
            log: Mutex::new(Vec::new()),
            sliding: Mutex::new(None),
        })
    }

    /// The full user ID as a string.
    pub fn id(&self) -> &str {
        self.user_id.as_str()
    }

    /// A raw HTTP client with this user's access token.
    pub fn raw(&self) -> RawApi {
        RawApi::new(&self.server_url, self.client.access_token())
    }

    /// The client's view of a room it knows from sync or from creating/joining it.
    pub fn room(&self, room_id: &RoomId) -> Result<Room> {
        self.client
            .get_room(room_id)
            .with_context(|| format!("{} does not know room {room_id}", self.user_id))
    }

    /// Sends a plain text message.
    pub async fn send_text(&self, room_id: &RoomId, body: &str) -> Result<OwnedEventId> {
        let response = self
            .room(room_id)?
            .send(RoomMessageEventContent::text_plain(body))
            .await?;
        Ok(response.response.event_id)
    }

    /// Creates a room inviting `invitees`: a private chat, or a direct chat
    /// (`is_direct`, preset `trusted_private_chat`).
    pub async fn create_room(&self, invitees: &[&TestUser], direct: bool) -> Result<OwnedRoomId> {
        let mut request = CreateRoom::new();
        request.invite = invitees.iter().map(|user| user.user_id.clone()).collect();
        request.is_direct = direct;
        request.preset = Some(if direct {
            RoomPreset::TrustedPrivateChat
        } else {
            RoomPreset::PrivateChat
        });
        if !direct {
            request.name = Some("Klasse 7b".to_owned());
        }
        let room = self
            .client
            .create_room(request)
            .await
            .context("createRoom")?;
        Ok(room.room_id().to_owned())
    }

    /// Waits until the invite to `room_id` arrives in sync, then joins.
    pub async fn accept_invite(&self, room_id: &RoomId) -> Result<()> {
        self.wait_for("the invite", invite(room_id)).await?;
        self.client.join_room_by_id(room_id).await.context("join")?;
        Ok(())
    }

    /// From now on syncs with simplified sliding sync as Element X does (a room list of the
    /// `list_size` most recently active rooms); returns the session.
    pub async fn use_sliding_sync(&self, list_size: u32) -> Result<Arc<SlidingSession>> {
        let session = Arc::new(SlidingSession::start(&self.client, list_size).await?);
        *lock(&self.sliding) = Some(session.clone());
        Ok(session)
    }

    /// One sync round (short long-poll; with sliding sync one request per connection);
    /// records every event of the response.
    pub async fn sync(&self) -> Result<()> {
        let sliding = lock(&self.sliding).clone();
        let rooms = match sliding {
            Some(session) => session.round().await?,
            None => vec![
                self.client
                    .sync_once(SyncSettings::default().timeout(SYNC_TIMEOUT))
                    .await?
                    .rooms,
            ],
        };
        let mut log = lock(&self.log);
        for updates in &rooms {
            log.extend(items(updates));
        }
        Ok(())
    }

    /// Returns the first event seen in sync so far that `matches`, syncing until one
    /// arrives (at most [`WAIT_TIMEOUT`]).
    pub async fn wait_for(
        &self,
        what: &str,
        matches: impl Fn(&SyncItem) -> bool,
    ) -> Result<SyncItem> {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            if let Some(item) = lock(&self.log).iter().find(|item| matches(item)) {
                return Ok(item.clone());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not see {what} in sync within {WAIT_TIMEOUT:?}",
                    self.user_id
                );
            }
            self.sync()
                .await
                .with_context(|| format!("{} syncing while waiting for {what}", self.user_id))?;
        }
    }

    /// Syncs once and tells whether any event seen in sync so far `matches` (for what must
    /// not have arrived).
    pub async fn has_seen(&self, matches: impl Fn(&SyncItem) -> bool) -> Result<bool> {
        self.sync().await?;
        Ok(lock(&self.log).iter().any(matches))
    }

    /// The rooms the server says this user is in (`GET /joined_rooms`).
    pub async fn joined_rooms(&self) -> Result<Vec<Value>> {
        let body = self
            .raw()
            .get("/_matrix/client/v3/joined_rooms")
            .await?
            .ok()?;
        Ok(body["joined_rooms"].as_array().cloned().unwrap_or_default())
    }
}

/// Creates the accounts `anna.schmidt` and `ben.mueller` and logs both in.
pub async fn two_users(server: &TestServer) -> Result<(TestUser, TestUser)> {
    tokio::try_join!(
        server.user("anna.schmidt", "Anna Schmidt"),
        server.user("ben.mueller", "Ben Müller")
    )
}

/// `from` sends a text message and `to` waits until it arrives in sync with the right
/// sender and body; returns the event ID.
pub async fn say(
    from: &TestUser,
    to: &TestUser,
    room_id: &RoomId,
    body: &str,
) -> Result<OwnedEventId> {
    let event_id = from.send_text(room_id, body).await?;
    let what = format!("{}'s message {body:?}", from.user_id);
    let item = to
        .wait_for(&what, message(room_id, from.id(), body))
        .await?;
    ensure!(
        item.event_id() == event_id.as_str(),
        "{what} arrived with event ID {}, sent as {event_id}",
        item.event_id()
    );
    Ok(event_id)
}

/// The bodies of the `m.room.message` events among `events`, in order.
pub fn text_bodies(events: &[TimelineEvent]) -> Vec<String> {
    events
        .iter()
        .map(timeline_json)
        .filter(|event| event["type"] == "m.room.message")
        .map(|event| {
            event["content"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Creates a private room of `owner`'s, which `guest` joins; returns once the owner has
/// seen the join.
pub async fn shared_room(owner: &TestUser, guest: &TestUser) -> Result<OwnedRoomId> {
    let room_id = owner.create_room(&[guest], false).await?;
    guest.accept_invite(&room_id).await?;
    owner
        .wait_for("the guest's join", membership(&room_id, guest.id(), "join"))
        .await?;
    Ok(room_id)
}

/// `owner` switches encryption on in `room_id`; returns once both `owner` and `guest` have
/// seen the `m.room.encryption` event in sync.
pub async fn encrypt(room_id: &RoomId, owner: &TestUser, guest: &TestUser) -> Result<()> {
    let room = owner.room(room_id)?;
    let (enabled, seen) = tokio::join!(
        room.enable_encryption(),
        owner.wait_for(
            "m.room.encryption",
            state_event(room_id, "m.room.encryption")
        )
    );
    enabled?;
    seen?;
    guest
        .wait_for(
            "m.room.encryption",
            state_event(room_id, "m.room.encryption"),
        )
        .await?;
    Ok(())
}

/// Every event of a sync response's room updates as [`SyncItem`]s.
fn items(rooms: &RoomUpdates) -> Vec<SyncItem> {
    let mut items = Vec::new();
    let mut push = |room_id: &RoomId, section, event: Value| {
        items.push(SyncItem {
            room_id: room_id.to_owned(),
            section,
            event,
        });
    };
    for (room_id, room) in &rooms.invited {
        for event in &room.invite_state.events {
            push(room_id, Section::Invite, json(event));
        }
    }
    for (room_id, room) in &rooms.joined {
        for event in &room.timeline.events {
            push(room_id, Section::Timeline, timeline_json(event));
        }
        for event in state_events(&room.state) {
            push(room_id, Section::State, json(event));
        }
        for event in &room.ephemeral {
            push(room_id, Section::Ephemeral, json(event));
        }
    }
    for (room_id, room) in &rooms.left {
        let timeline = room.timeline.events.iter().map(timeline_json);
        let events: Vec<Value> = timeline
            .chain(state_events(&room.state).iter().map(json))
            .collect();
        if events.is_empty() {
            push(room_id, Section::Leave, Value::Null);
        }
        for event in events {
            push(room_id, Section::Leave, event);
        }
    }
    items
}

fn state_events(state: &State) -> &[Raw<matrix_sdk::ruma::events::AnySyncStateEvent>] {
    match state {
        State::Before(events) | State::After(events) => events,
    }
}

/// A timeline event as JSON: the decrypted event where the client could decrypt it.
pub fn timeline_json(event: &TimelineEvent) -> Value {
    json(event.raw())
}

fn json<T>(raw: &Raw<T>) -> Value {
    serde_json::from_str(raw.json().get()).unwrap_or(Value::Null)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
