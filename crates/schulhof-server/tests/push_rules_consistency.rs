//! Who is notified of member events and messages equals each member's own push rules, while
//! many members change their push rules and member events and messages are sent at the same
//! time (single joins and display name changes beside joins together, `Rooms::send_each`):
//! the commit path evaluates member events only for the members it knows to have stored
//! rules, and takes everyone else in a message to be on the server's default rules without
//! reading them, so that knowledge must never lag behind the database. Afterwards every
//! member's notification count equals the count worked out from the stored events and the
//! position at which the member's rules were stored; the same after a restart (the knowledge
//! read back from the database). Runs on SQLite and PostgreSQL.

#[macro_use]
mod support;

use std::sync::Arc;

use ruma::api::client::room::create_room;
use ruma::api::client::room::Visibility;
use ruma::push::Ruleset;
use ruma::{OwnedRoomId, OwnedUserId, UserId};
use schulhof_server::service::push::rules::PUSH_RULES_TYPE;
use schulhof_server::service::rooms::{EventTemplate, Rooms};
use schulhof_server::service::user::account_data::set_account_data;
use schulhof_server::service::{identity::accounts, rooms::create, rooms::membership};
use schulhof_server::state::AppState;
use serde_json::{json, Value};
use support::{Backend, TestState};

/// Members joined before the rules change.
const MEMBERS: usize = 36;
/// People who join while the rules change (in groups, through `Rooms::send_each`).
const LATECOMERS: usize = 6;
/// Messages the teacher sends while the rules change.
const MESSAGES: usize = 24;

on_both!(notifications_follow_the_rules_stored_at_the_time);

/// What a member does with their push rules during the test.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Stores rules that notify of every member event and mute messages, three times.
    Notify,
    /// Stores the server's default rules (stored, but never notified of a member event).
    Defaults,
    /// Stores nothing.
    Nothing,
}

fn plan(i: usize) -> Plan {
    match i % 3 {
        _ if i >= 33 => Plan::Nothing,
        0 => Plan::Defaults,
        _ => Plan::Notify,
    }
}

/// The push rules account data of `user`: the defaults, with a rule that notifies of member
/// events and one that mutes messages first if `notify`.
fn rules(user: &UserId, notify: bool) -> Value {
    let mut global = serde_json::to_value(Ruleset::server_default(user)).unwrap();
    if notify {
        let rule = json!({
            "rule_id": "mitglieder",
            "default": false,
            "enabled": true,
            "conditions": [{ "kind": "event_match", "key": "type", "pattern": "m.room.member" }],
            "actions": ["notify"],
        });
        global["override"].as_array_mut().unwrap().insert(0, rule);
        let mute = json!({
            "rule_id": "nachrichten_stumm",
            "default": false,
            "enabled": true,
            "conditions": [{ "kind": "event_match", "key": "type", "pattern": "m.room.message" }],
            "actions": [],
        });
        global["override"].as_array_mut().unwrap().insert(0, mute);
    }
    json!({ "global": global })
}

async fn users(state: &AppState, prefix: &str, n: usize) -> Vec<OwnedUserId> {
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let localpart = format!("{prefix}{i}");
        let user = accounts::create_user(state, &localpart, "Sonne-Mond-42!", None, false)
            .await
            .unwrap();
        users.push(user);
    }
    users
}

/// Stores the member's planned rules; returns the position of their first notifying rules.
async fn change_rules(state: Arc<AppState>, user: OwnedUserId, plan: Plan) -> Option<i64> {
    let mut first = None;
    let times = match plan {
        Plan::Notify => 3,
        Plan::Defaults => 1,
        Plan::Nothing => 0,
    };
    for _ in 0..times {
        tokio::task::yield_now().await;
        let content = rules(&user, plan == Plan::Notify);
        let pos = set_account_data(&state, &user, None, PUSH_RULES_TYPE, &content)
            .await
            .expect("rules stored");
        if plan == Plan::Notify {
            first.get_or_insert(pos);
        }
    }
    first
}

/// A new display name of `user`, a member event of their own.
async fn rename(state: &AppState, room: &OwnedRoomId, user: &OwnedUserId, name: &str) {
    let content = json!({ "membership": "join", "displayname": name });
    let template = EventTemplate::state("m.room.member", user.as_str(), content);
    Rooms::send(state, room, user, template, None)
        .await
        .expect("rename");
}

/// Checks every member's notification count against the stored events: a member is notified
/// of another's member event stored after the member's rules, and of another's message stored
/// after the member joined and before those rules.
async fn assert_counts(
    state: &AppState,
    room: &OwnedRoomId,
    members: &[(OwnedUserId, Option<i64>)],
) {
    let events = state
        .db
        .room_events_forward(room.as_str(), 0, i64::MAX, 10_000)
        .await
        .unwrap();
    let member_events: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "m.room.member")
        .collect();
    for (user, notifying_since) in members {
        let of_member_events = notifying_since.map_or(0, |since| {
            member_events
                .iter()
                .filter(|e| e.stream_pos > since && e.sender != user.as_str())
                .count()
        });
        let joined = member_events
            .iter()
            .find(|e| e.state_key.as_deref() == Some(user.as_str()))
            .expect("joined")
            .stream_pos;
        let of_messages = events
            .iter()
            .filter(|e| e.event_type == "m.room.message" && e.sender != user.as_str())
            .filter(|e| e.stream_pos > joined && notifying_since.is_none_or(|s| e.stream_pos < s))
            .count();
        let expected = (of_member_events + of_messages) as i64;
        let (count, highlights) = state
            .db
            .notification_counts(user.as_str(), room.as_str())
            .await
            .unwrap();
        assert_eq!(
            count, expected,
            "{user}: notifications of member events and messages"
        );
        assert_eq!(highlights, 0, "{user}");
    }
}

async fn notifications_follow_the_rules_stored_at_the_time(backend: Backend) {
    let t = TestState::new(backend, "push_rules_members").await;
    let state = t.state.clone();
    let teacher = users(&state, "lehrkraft", 1).await.remove(0);
    let members = users(&state, "kind", MEMBERS).await;
    let latecomers = users(&state, "neu", LATECOMERS).await;
    let mut request = create_room::v3::Request::new();
    request.preset = Some(create_room::v3::RoomPreset::PublicChat);
    request.visibility = Visibility::Private;
    let room = create::create_room(&state, &teacher, None, &request, &json!({}))
        .await
        .unwrap();
    for user in &members {
        membership::join(&state, user, &room, None).await.unwrap();
    }

    let mut changes = tokio::task::JoinSet::new();
    for (i, user) in members.iter().enumerate() {
        let task = change_rules(state.clone(), user.clone(), plan(i));
        let user = user.clone();
        changes.spawn(async move { (user, task.await) });
    }
    let mut senders = tokio::task::JoinSet::new();
    for writer in 0..3 {
        let (state, room, members) = (state.clone(), room.clone(), members.clone());
        senders.spawn(async move {
            for (i, user) in members.iter().enumerate().skip(writer).step_by(3) {
                rename(&state, &room, user, &format!("Kind {i}")).await;
                tokio::task::yield_now().await;
            }
        });
    }
    {
        let (state, room, teacher) = (state.clone(), room.clone(), teacher.clone());
        senders.spawn(async move {
            for i in 0..MESSAGES {
                let body = json!({ "msgtype": "m.text", "body": format!("Nachricht {i}") });
                let message = EventTemplate::message("m.room.message", body);
                Rooms::send(&state, &room, &teacher, message, None)
                    .await
                    .expect("message");
                tokio::task::yield_now().await;
            }
        });
    }
    {
        let (state, room, latecomers) = (state.clone(), room.clone(), latecomers.clone());
        senders.spawn(async move {
            for people in latecomers.chunks(3) {
                let groups = people
                    .iter()
                    .map(|user| {
                        let content = json!({ "membership": "join" });
                        let join = EventTemplate::state("m.room.member", user.as_str(), content);
                        vec![(user.clone(), join)]
                    })
                    .collect();
                let results = Rooms::send_each(&state, &room, groups).await.unwrap();
                assert!(results.iter().all(Result::is_ok));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut everyone: Vec<(OwnedUserId, Option<i64>)> = Vec::new();
    while let Some(changed) = changes.join_next().await {
        everyone.push(changed.expect("task"));
    }
    while let Some(sent) = senders.join_next().await {
        sent.expect("task");
    }
    everyone.push((teacher.clone(), None));
    everyone.extend(latecomers.iter().map(|u| (u.clone(), None)));
    let notifying = everyone.iter().filter(|(_, since)| since.is_some()).count();
    assert_eq!(notifying, 22, "the plan");
    assert_counts(&state, &room, &everyone).await;

    // After a restart the server reads back who has stored rules: two more member events (the
    // teacher's, then one of someone with stored default rules) notify exactly as before.
    let config = state.config.clone();
    state.db.close().await;
    drop(state);
    let state = AppState::new(config).await.unwrap();
    rename(&state, &room, &teacher, "Frau Lehrkraft").await;
    let defaults = &members[0];
    rename(&state, &room, defaults, "Kind 0 neu").await;
    assert_counts(&state, &room, &everyone).await;
    state.db.close().await;
}
