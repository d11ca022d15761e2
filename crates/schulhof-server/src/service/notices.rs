//! Server notices: short messages from the server to one person, in a room of their own.
//!
//! A system account (`[notices] localpart`, default `@schulhof`; no password, so it cannot
//! log in) creates each person's notices room on first use: it invites the person and the
//! server joins them at once (as Synapse's `auto_join`), so the notice is simply there, also
//! for a child who would not accept an invitation from an unknown account. The room carries
//! the tag `m.server_notice` in the person's room account data, which Element shows as
//! "Systemwarnungen" / "System Alerts"; its power levels let only the system account write.
//! Messages are `m.room.message` with `msgtype: "m.server_notice"`, sent through
//! [`Rooms::send`] like every room event. If the person leaves the room, the next notice
//! creates a new one.
//!
//! When the school's rights refuse something a person did, [`tell_refusal`] sends what was
//! refused, why and what is possible instead, at most once per rule and person within
//! `[notices] period_minutes` (recorded in the database, so retries after a restart do not
//! flood the room either). Only people in the school directory get notices; service
//! accounts and bots outside it do not.
//!
//! When a message is held for a teacher's quiet hours, [`tell_held`] tells its sender once per
//! teacher and quiet period when it will be delivered; [`tell_dropped`] tells them when a
//! held message was not delivered because they may no longer write to the teacher.

use std::sync::Arc;

use ruma::{OwnedRoomId, OwnedUserId, RoomId, ServerName, UserId};
use schulhof_policy::{Address, Line, Rule, NOTICE_ROOM_NAME, NOTICE_ROOM_TOPIC};
use schulhof_quiet_hours::chrono;
use schulhof_quiet_hours::{describe_de, describe_en};
use schulhof_store::UserRow;
use serde_json::json;
use tokio::sync::Mutex;

use crate::config::{Config, Language};
use crate::service::rooms::create::{member_content, DEFAULT_VERSION};
use crate::service::rooms::{membership, EventTemplate, RoomCreation, Rooms};
use crate::service::school::policy::{Context, RoomOrigin};
use crate::service::user::account_data::set_account_data;
use crate::state::AppState;
use crate::{Error, Result};

/// The `server_notice_type` of a notice about a refusal.
const REFUSAL_TYPE: &str = "org.schulhof.refusal";

/// The `server_notice_type` of a notice about a message held by quiet hours.
const QUIET_HOURS_TYPE: &str = "org.schulhof.quiet_hours";

/// The room tag that marks a server-notices room (Matrix spec, "Server Notices").
const SERVER_NOTICE_TAG: &str = "m.server_notice";

/// The system account and the lock under which notice rooms are created.
pub struct Notices {
    system_user: Arc<OwnedUserId>,
    /// Held while the system account or a notices room is created, so two refusals at once
    /// do not give a person two rooms; `true` once the system account is known to exist.
    setup: Mutex<bool>,
}

impl Notices {
    /// The notices of a server with this configuration.
    pub fn new(config: &Config, server_name: &ServerName) -> Result<Notices> {
        let id = format!("@{}:{server_name}", config.notices.localpart);
        let system_user = UserId::parse(id.as_str())
            .map_err(|e| Error::Internal(format!("notices.localpart: {e}")))?;
        Ok(Notices {
            system_user: Arc::new(system_user),
            setup: Mutex::new(false),
        })
    }

    /// The system account that sends the notices.
    pub fn system_user(&self) -> &Arc<OwnedUserId> {
        &self.system_user
    }
}

/// Refuses to give the system account a password or a start code: it must never log in.
pub fn refuse_system_account(state: &AppState, user_id: &UserId) -> Result<()> {
    if user_id != state.notices.system_user().as_ref() {
        return Ok(());
    }
    Err(Error::forbidden(
        "Das Systemkonto für Hinweise kann sich nicht anmelden.",
        "The system account for notices cannot log in.",
    ))
}

/// After the school's rights refused `refused` (what the person did) by `rule`: tells `user`
/// in their notices room why and what they can do instead, unless they got a notice for this
/// rule within the configured period. Failures are logged: the refusal stands either way.
pub async fn tell_refusal(state: &AppState, user: &UserId, refused: Line, rule: Rule) {
    if !is_person(state, user, rule) {
        return;
    }
    let kind = format!("policy.{}", rule.id());
    let now = state.clock.now_ms();
    let period = i64::from(state.config.notices.period_minutes) * 60_000;
    match state
        .db
        .claim_notice(user.as_str(), &kind, now, now - period)
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(err) => {
            tracing::warn!(%err, rule = rule.id(), "server notice not claimed");
            return;
        }
    }
    let text = rule.text();
    let (headline, body) = match state.config.language {
        Language::De => (
            refused.de,
            text.de(Context::now(state).address(state, user)),
        ),
        Language::En => (refused.en, text.en),
    };
    if let Err(err) = send(state, user, REFUSAL_TYPE, &format!("{headline}\n{body}")).await {
        tracing::warn!(%err, rule = rule.id(), "server notice not sent");
    }
}

/// Whether `user` is a person who gets notices about `rule`: someone in the school
/// directory, and not refused because their account cannot be used (they could not read it).
fn is_person(state: &AppState, user: &UserId, rule: Rule) -> bool {
    let account_unusable = matches!(
        rule,
        Rule::AccountRestricted
            | Rule::AccountLocked
            | Rule::AccountDeactivated
            | Rule::AccountNotInDirectory
    );
    !account_unusable && in_directory(state, user)
}

/// Whether `user` is a person of the school directory.
fn in_directory(state: &AppState, user: &UserId) -> bool {
    state
        .directory
        .snapshot()
        .person(user.localpart())
        .is_some()
}

/// Tells `sender` about the messages just held for `held` (recipient, release time): once
/// per recipient and quiet period, when the message will be delivered. Failures are logged.
pub async fn tell_held(state: &AppState, sender: &UserId, held: Vec<(OwnedUserId, i64)>) {
    if held.is_empty() || !in_directory(state, sender) {
        return;
    }
    for (recipient, release_ts) in held {
        let kind = format!("quiet.{recipient}.{release_ts}");
        let now = state.clock.now_ms();
        match state
            .db
            .claim_notice(sender.as_str(), &kind, now, i64::MIN)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(err) => {
                tracing::warn!(%err, "quiet-hours notice not claimed");
                continue;
            }
        }
        let Some(at) = chrono::DateTime::from_timestamp_millis(release_ts) else {
            continue;
        };
        let name = person_name(state, &recipient);
        let body = match (state.config.language, address(state, sender)) {
            (Language::De, Address::Du) => format!(
                "Deine Nachricht an {name} wird später zugestellt: {name} hat gerade Ruhezeit. \
                 Zugestellt wird sie am {}.",
                describe_de(at)
            ),
            (Language::De, Address::Sie) => format!(
                "Ihre Nachricht an {name} wird später zugestellt: {name} hat gerade Ruhezeit. \
                 Zugestellt wird sie am {}.",
                describe_de(at)
            ),
            (Language::En, _) => format!(
                "Your message to {name} will be delivered later: it is their quiet time. \
                 It will be delivered on {}.",
                describe_en(at)
            ),
        };
        if let Err(err) = send(state, sender, QUIET_HOURS_TYPE, &body).await {
            tracing::warn!(%err, "quiet-hours notice not sent");
        }
    }
}

/// Tells `sender` that their messages held for `recipient` were not delivered because they
/// may no longer write to them. Failures are logged.
pub async fn tell_dropped(state: &AppState, sender: &UserId, recipient: &UserId) {
    if !in_directory(state, sender) {
        return;
    }
    let name = person_name(state, recipient);
    let body = match (state.config.language, address(state, sender)) {
        (Language::De, Address::Du) => format!(
            "Deine Nachricht an {name} aus der Ruhezeit wurde nicht zugestellt: \
             Du kannst {name} inzwischen nicht mehr schreiben, weil sich Klassen, Gruppen \
             oder der Chat geändert haben."
        ),
        (Language::De, Address::Sie) => format!(
            "Ihre Nachricht an {name} aus der Ruhezeit wurde nicht zugestellt: \
             Sie können {name} inzwischen nicht mehr schreiben, weil sich Klassen, Gruppen \
             oder der Chat geändert haben."
        ),
        (Language::En, _) => format!(
            "Your message to {name}, held during their quiet time, was not delivered: \
             you can no longer write to them because classes, groups or the chat changed."
        ),
    };
    if let Err(err) = send(state, sender, QUIET_HOURS_TYPE, &body).await {
        tracing::warn!(%err, "quiet-hours notice not sent");
    }
}

/// How German texts address `user`.
fn address(state: &AppState, user: &UserId) -> Address {
    Context::now(state).address(state, user)
}

/// A person's name as the directory has it ("Anna Müller"), else their user ID's localpart.
fn person_name(state: &AppState, user: &UserId) -> String {
    state
        .directory
        .snapshot()
        .person(user.localpart())
        .map(|p| format!("{} {}", p.first_name, p.last_name))
        .unwrap_or_else(|| user.localpart().to_owned())
}

/// Sends a notice of `notice_type` with `body` to `user`, creating their notices room first
/// if they have none they are in.
async fn send(state: &AppState, user: &UserId, notice_type: &str, body: &str) -> Result<()> {
    let room_id = notices_room(state, user).await?;
    let content = json!({
        "msgtype": "m.server_notice",
        "server_notice_type": notice_type,
        "body": body,
    });
    let template = EventTemplate::message("m.room.message", content);
    Rooms::send(state, &room_id, state.notices.system_user(), template, None).await?;
    Ok(())
}

/// The notices room of `user`: the recorded one while both the person and the system
/// account are in it, else a new one.
async fn notices_room(state: &AppState, user: &UserId) -> Result<OwnedRoomId> {
    let mut account_ready = state.notices.setup.lock().await;
    if !*account_ready {
        ensure_system_account(state).await?;
        *account_ready = true;
    }
    let system = state.notices.system_user();
    if let Some(room_id) = state.db.notice_room(user.as_str()).await? {
        let room_id = RoomId::parse(room_id).map_err(|e| Error::Internal(e.to_string()))?;
        let room = state.rooms.snapshot(&state.db, &room_id).await?;
        if room.is_some_and(|room| room.is_joined(user) && room.is_joined(system)) {
            return Ok(room_id);
        }
    }
    let room_id = create_room(state, user).await?;
    state
        .db
        .set_notice_room(user.as_str(), room_id.as_str())
        .await?;
    Ok(room_id)
}

/// Creates the system account if it does not exist yet. An existing account of that name
/// must be one that cannot log in and is not a person of the school.
async fn ensure_system_account(state: &AppState) -> Result<()> {
    let system = state.notices.system_user();
    let in_directory = state
        .directory
        .snapshot()
        .person(system.localpart())
        .is_some();
    match state.db.user(system.as_str()).await? {
        Some(row) if row.password_hash.is_none() && !row.deactivated && !in_directory => Ok(()),
        Some(_) => Err(Error::Internal(format!(
            "the notices account {system} is a person's account; choose another [notices] localpart"
        ))),
        None => {
            let row = UserRow {
                user_id: system.to_string(),
                password_hash: None,
                displayname: Some(state.config.notices.display_name.clone()),
                avatar_url: None,
                is_admin: false,
                deactivated: false,
            };
            state.db.create_user(&row, state.clock.now_ms()).await?;
            Ok(())
        }
    }
}

/// Creates a notices room for `user`: the system account alone may write, `user` is invited
/// and joined, and the room is tagged `m.server_notice` for them.
async fn create_room(state: &AppState, user: &UserId) -> Result<OwnedRoomId> {
    let system: &UserId = state.notices.system_user();
    let (name, topic) = match state.config.language {
        Language::De => (
            NOTICE_ROOM_NAME.de,
            NOTICE_ROOM_TOPIC.de(Context::now(state).address(state, user)),
        ),
        Language::En => (NOTICE_ROOM_NAME.en, NOTICE_ROOM_TOPIC.en),
    };
    let power_levels = json!({
        "users": { system.as_str(): 100 },
        "users_default": 0,
        "events": {},
        "events_default": 100,
        "state_default": 100,
        "invite": 100,
        "kick": 100,
        "ban": 100,
        "redact": 100,
    });
    let templates = vec![
        EventTemplate::state(
            "m.room.member",
            system.as_str(),
            member_content(state, system, "join").await?,
        ),
        EventTemplate::state("m.room.power_levels", "", power_levels),
        EventTemplate::state("m.room.join_rules", "", json!({ "join_rule": "invite" })),
        EventTemplate::state(
            "m.room.history_visibility",
            "",
            json!({ "history_visibility": "shared" }),
        ),
        EventTemplate::state("m.room.name", "", json!({ "name": name })),
        EventTemplate::state("m.room.topic", "", json!({ "topic": topic })),
        EventTemplate::state(
            "m.room.member",
            user.as_str(),
            member_content(state, user, "invite").await?,
        ),
    ];
    let create_content = json!({ "creator": system, "room_version": DEFAULT_VERSION.as_str() });
    let origin = RoomOrigin {
        creator_role: None,
        is_direct: false,
    };
    let room = RoomCreation {
        version: DEFAULT_VERSION,
        origin,
        alias: None,
    };
    let room_id = Rooms::create(state, system, room, create_content, templates).await?;
    membership::join(state, user, &room_id, None).await?;
    let tag = json!({ "tags": { SERVER_NOTICE_TAG: {} } });
    set_account_data(state, user, Some(&room_id), "m.tag", &tag).await?;
    Ok(room_id)
}
