//! Admin actions on single accounts (`schulhof user …`): lock, unlock, set a password, delete
//! now, export a person's data. Each change is one [`DirectoryChange`] with an audit entry, so
//! running servers pick it up at once.

use ruma::OwnedUserId;
use schulhof_directory::{Directory, Person, PersonStatus};
use schulhof_store::{Db, UserRow};
use serde_json::{json, Value};

use crate::service::school::directory::{user_id_of, DirectoryChange};
use crate::service::{identity::password_rule, media};
use crate::state::AppState;
use crate::{Error, Result};

/// The person with this localpart in a directory, for changing.
fn person_mut<'a>(directory: &'a mut Directory, localpart: &str) -> Result<&'a mut Person> {
    directory
        .people
        .values_mut()
        .find(|p| p.localpart == localpart)
        .ok_or_else(|| {
            Error::not_found(
                format!("„{localpart}“ steht nicht im Schulverzeichnis."),
                format!("“{localpart}” is not in the school directory."),
            )
        })
}

/// The account of `user_id`, which must exist and not be deactivated.
async fn active_account(state: &AppState, user_id: &OwnedUserId) -> Result<UserRow> {
    state
        .db
        .user(user_id.as_str())
        .await?
        .filter(|u| !u.deactivated)
        .ok_or_else(|| {
            Error::not_found(
                format!("Ein aktives Konto {user_id} gibt es nicht."),
                format!("There is no active account {user_id}."),
            )
        })
}

/// Locks a person's account: login refused with a German message, all sessions end.
pub async fn lock(state: &AppState, actor: &str, localpart: &str) -> Result<()> {
    set_locked(state, actor, localpart, true).await
}

/// Unlocks a locked account.
pub async fn unlock(state: &AppState, actor: &str, localpart: &str) -> Result<()> {
    set_locked(state, actor, localpart, false).await
}

async fn set_locked(state: &AppState, actor: &str, localpart: &str, locked: bool) -> Result<()> {
    let user_id = user_id_of(state, localpart)?;
    let mut change = DirectoryChange::begin(state).await?;
    let person = person_mut(&mut change.after, user_id.localpart())?;
    let (from, to, action) = if locked {
        (PersonStatus::Active, PersonStatus::Locked, "user.lock")
    } else {
        (PersonStatus::Locked, PersonStatus::Active, "user.unlock")
    };
    if person.status != from {
        let state_de = match person.status {
            PersonStatus::Active => "nicht gesperrt",
            PersonStatus::Locked => "bereits gesperrt",
            PersonStatus::Deactivated { .. } => "deaktiviert",
        };
        return Err(Error::BadRequest(crate::text!(
            "Das Konto {} ist {}.",
            "The account {} is not in the right state ({}).",
            user_id,
            state_de
        )));
    }
    person.status = to;
    if locked {
        Db::revoke_sessions_tx(&mut change.tx, user_id.as_str()).await?;
    }
    change.audit(actor, action, user_id.localpart(), "");
    change.commit(state).await
}

/// Sets a password (for scripted set-ups and service accounts): the password rule applies,
/// a pending start code and all sessions end.
pub async fn set_password(
    state: &AppState,
    actor: &str,
    localpart: &str,
    password: &str,
) -> Result<()> {
    let user_id = user_id_of(state, localpart)?;
    crate::service::notices::refuse_system_account(state, &user_id)?;
    let account = active_account(state, &user_id).await?;
    let display_name = account.displayname.unwrap_or_default();
    password_rule::check(
        &state.config.passwords,
        password,
        &[user_id.localpart(), &display_name],
    )?;
    let hash = state.passwords.hash(password).await?;
    let mut change = DirectoryChange::begin(state).await?;
    Db::set_password_hash_tx(&mut change.tx, user_id.as_str(), &hash).await?;
    Db::delete_start_code(&mut change.tx, user_id.as_str()).await?;
    let sessions = Db::revoke_sessions_tx(&mut change.tx, user_id.as_str()).await?;
    let detail = format!("{sessions} Sitzungen beendet");
    change.audit(actor, "password.set", user_id.localpart(), detail);
    change.commit(state).await
}

/// Deletes an account now, as the retention job does after the retention period: the
/// directory entry, everything stored about the person and the files they uploaded. The
/// account row stays as an empty, deactivated tombstone and the localpart is never given out
/// again; the events they sent stay in their rooms (the history of the others). The running
/// server takes them out of their rooms. Returns the number of deleted files.
pub async fn delete(state: &AppState, actor: &str, localpart: &str) -> Result<usize> {
    let user_id = user_id_of(state, localpart)?;
    let localpart = user_id.localpart();
    let mut change = DirectoryChange::begin(state).await?;
    let in_directory = remove_person(&mut change.after, localpart);
    if !in_directory && state.db.user(user_id.as_str()).await?.is_none() {
        return Err(Error::not_found(
            format!("Das Konto {user_id} gibt es nicht."),
            format!("There is no account {user_id}."),
        ));
    }
    let files = Db::erase_user_tx(&mut change.tx, user_id.as_str()).await?;
    Db::queue_room_leave_tx(&mut change.tx, user_id.as_str(), change.now).await?;
    Db::add_used_localparts_tx(&mut change.tx, &[localpart], change.now).await?;
    change.audit(
        actor,
        "user.delete",
        localpart,
        format!("{} Dateien", files.len()),
    );
    change.commit(state).await?;
    for media_id in &files {
        if let Err(err) = media::delete_files(&state.config.media_path, media_id).await {
            tracing::warn!(%err, media_id, "could not delete an uploaded file");
        }
    }
    Ok(files.len())
}

/// Removes a person from a directory (and from their parents' lists of children); returns
/// whether they were in it.
fn remove_person(directory: &mut Directory, localpart: &str) -> bool {
    let Some(import_id) = directory
        .by_localpart(localpart)
        .map(|p| p.import_id.clone())
    else {
        return false;
    };
    directory.people.remove(&import_id);
    for person in directory.people.values_mut() {
        person.children.remove(&import_id);
    }
    true
}

/// Everything stored about a person, for a data access request (DSGVO Art. 15): directory
/// entry, account, devices, pushers, account data, personal quiet hours, rooms, the events
/// they sent, their uploads and the audit entries about them. No secrets (password hashes, tokens, start codes, keys).
pub async fn export(state: &AppState, localpart: &str) -> Result<Value> {
    let user_id = user_id_of(state, localpart)?;
    let account = state.db.user(user_id.as_str()).await?;
    let snapshot = state.directory.snapshot();
    let person = snapshot.person(user_id.localpart());
    if account.is_none() && person.is_none() {
        return Err(Error::not_found(
            format!("Das Konto {user_id} gibt es nicht."),
            format!("There is no account {user_id}."),
        ));
    }
    let db = &state.db;
    let uid = user_id.as_str();
    let start_code = db.start_code(uid).await?;
    Ok(json!({
        "user_id": user_id,
        "exported_ts": state.clock.now_ms(),
        "directory": person.map(|p| json!({
            "import_id": p.import_id,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "role": p.role,
            "groups": p.groups,
            "children": snapshot.children_of(&p.localpart),
            "parents": snapshot.parents_of(&p.localpart),
            "consent": p.consent,
            "status": p.status,
        })),
        "account": account.map(|a| json!({
            "display_name": a.displayname,
            "avatar_url": a.avatar_url,
            "server_admin": a.is_admin,
            "deactivated": a.deactivated,
            "password_set": a.password_hash.is_some(),
            "start_code_valid_until_ts": start_code.map(|(_, expires)| expires),
        })),
        "devices": db.devices(uid).await?.into_iter().map(|d| json!({
            "device_id": d.device_id,
            "display_name": d.display_name,
            "last_seen_ts": d.last_seen_ts,
            "last_seen_ip": d.last_seen_ip,
        })).collect::<Vec<_>>(),
        "account_data": db.account_data_since(uid, 0, i64::MAX).await?.into_iter().map(|a| json!({
            "room_id": (!a.room_id.is_empty()).then_some(a.room_id),
            "type": a.data_type,
            "content": parse(&a.content),
        })).collect::<Vec<_>>(),
        "quiet_hours": db.personal_quiet_hours(uid).await?.map(|q| json!({
            "schedule": q.schedule,
            "window_begin": q.window_begin,
            "window_end": q.window_end,
            "updated_ts": q.updated_ts,
        })),
        "rooms": db.memberships(uid).await?.into_iter().map(|m| json!({
            "room_id": m.room_id,
            "membership": m.membership,
        })).collect::<Vec<_>>(),
        "events": db.events_sent_by(uid).await?.into_iter().map(|e| {
            let event = parse(&e.json);
            json!({
                "event_id": e.event_id,
                "room_id": e.room_id,
                "type": e.event_type,
                "state_key": e.state_key,
                "origin_server_ts": event["origin_server_ts"],
                "content": event["content"],
            })
        }).collect::<Vec<_>>(),
        "delayed_events": crate::service::delayed::manage::export(db, uid).await?,
        // The pushkey, an app's address of the device at its push service, is left out.
        "pushers": db.pushers(uid).await?.into_iter().map(|p| json!({
            "app_id": p.app_id,
            "app_display_name": p.app_display_name,
            "device_id": p.device_id,
            "device_display_name": p.device_display_name,
            "lang": p.lang,
            "gateway_url": p.url,
            "set_ts": p.pushkey_ts,
        })).collect::<Vec<_>>(),
        "media": db.media_uploaded_by(uid).await?.into_iter().map(|m| json!({
            "content_uri": format!("mxc://{}/{}", state.server_name, m.media_id),
            "content_type": m.content_type,
            "filename": m.filename,
            "size": m.size,
        })).collect::<Vec<_>>(),
        "audit_log": db.audit_log(user_id.localpart(), uid).await?.into_iter().map(|r| json!({
            "ts": r.ts,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "detail": r.detail,
        })).collect::<Vec<_>>(),
    }))
}

/// Stored JSON text as a value (`null` if unreadable).
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
