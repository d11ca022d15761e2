//! The school directory inside the server: an in-memory snapshot that every server process
//! keeps current, the login rules it implies, and the one way to change it
//! ([`DirectoryChange`]).
//!
//! Every change (import, lock, password reset, deletion, from the CLI or a server) bumps the
//! stored directory version in its transaction. A background task in every server process
//! polls the version every 500 ms (on PostgreSQL it is also woken by `NOTIFY`) and, when it
//! changed, reloads the snapshot and clears the token cache: sessions revoked by a change
//! stop working everywhere within a second. Changes of personal quiet hours bump the version
//! as well; the watcher then reloads them (`quiet_hours::personal::reload`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ruma::{OwnedUserId, UserId};
use schulhof_directory::{Directory, DirectoryIndex};
use schulhof_policy::{unavailability, Rights, Rule, LOGIN_NO_CONSENT, LOGIN_START_CODE};
use schulhof_store::{AuditRow, Db, Tx};

use crate::service::runtime::jobs::Stop;
use crate::service::school::policy::Context;
use crate::service::{identity::start_codes, school::letters, school::retention, user::profile};
use crate::state::AppState;
use crate::{Error, Result};

/// How often every process checks the directory version.
const POLL: Duration = Duration::from_millis(500);

/// The directory snapshot of this process and the version it was loaded at.
pub struct SchoolDirectory {
    index: RwLock<Arc<DirectoryIndex>>,
    version: AtomicI64,
    /// The loaded version, for those who wait for the next change (the school appservice's
    /// directory read).
    changes: tokio::sync::watch::Sender<i64>,
}

impl SchoolDirectory {
    /// Loads the stored directory.
    pub async fn load(db: &Db) -> Result<SchoolDirectory> {
        let version = db.directory_version().await?;
        let index = DirectoryIndex::new(db.load_directory().await?);
        Ok(SchoolDirectory {
            index: RwLock::new(Arc::new(index)),
            version: AtomicI64::new(version),
            changes: tokio::sync::watch::Sender::new(version),
        })
    }

    /// The current snapshot (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<DirectoryIndex> {
        self.index.read().expect("directory lock").clone()
    }

    /// The version the snapshot was loaded at.
    pub fn version(&self) -> i64 {
        self.version.load(Ordering::Acquire)
    }

    /// Resolves once the loaded version differs from `since` (at once if it already does).
    pub async fn changed_since(&self, since: i64) {
        let mut changes = self.changes.subscribe();
        // `wait_for` only fails when the sender is gone, and `self` holds it.
        let _ = changes.wait_for(|version| *version != since).await;
    }

    /// Reloads the snapshot if the stored version differs from the loaded one, and then
    /// forgets every cached access token (a change may have revoked sessions). Returns whether
    /// it reloaded.
    pub async fn refresh(state: &AppState) -> Result<bool> {
        let version = state.db.directory_version().await?;
        if version == state.directory.version() {
            return Ok(false);
        }
        let index = Arc::new(DirectoryIndex::new(state.db.load_directory().await?));
        let before = std::mem::replace(
            &mut *state.directory.index.write().expect("directory lock"),
            index.clone(),
        );
        state.directory.version.store(version, Ordering::Release);
        state.directory.changes.send_replace(version);
        state.tokens.clear();
        announce_renames(state, &before, &index).await;
        Ok(true)
    }
}

/// Announces new display names from an import in the rooms of the renamed people.
async fn announce_renames(state: &AppState, before: &DirectoryIndex, after: &DirectoryIndex) {
    for person in after.people() {
        let renamed = before
            .person(&person.localpart)
            .is_some_and(|old| old.display_name() != person.display_name());
        if !renamed {
            continue;
        }
        let Ok(user_id) = user_id_of(state, &person.localpart) else {
            continue;
        };
        let name = person.display_name();
        if let Err(err) =
            profile::change_profile(state, &user_id, profile::Field::DisplayName, Some(&name)).await
        {
            tracing::warn!(%err, "new display name not announced");
        }
    }
}

/// The job that keeps this process's snapshot current (see the module docs) and takes users
/// queued for removal out of their rooms after each change; runs in every process.
pub async fn watch_directory(state: Arc<AppState>, mut stop: Stop) {
    let mut listener = state.db.directory_listener().await;
    reload_personal_quiet_hours(&state).await;
    loop {
        if stop.unless_stopped(listener.wait(POLL)).await.is_none() {
            return;
        }
        {
            match SchoolDirectory::refresh(&state).await {
                Ok(true) => {
                    tracing::info!(version = state.directory.version(), "directory reloaded");
                    retention::leave_queued_rooms(&state).await;
                    reload_personal_quiet_hours(&state).await;
                }
                Ok(false) => {}
                Err(err) => tracing::warn!(%err, "directory reload failed"),
            }
        }
    }
}

/// Reloads the personal quiet hours: changes by the CLI bump the directory version too.
async fn reload_personal_quiet_hours(state: &AppState) {
    if let Err(err) = crate::service::quiet_hours::personal::reload(state).await {
        tracing::warn!(%err, "personal quiet hours not reloaded");
    }
}

/// The local user ID for a localpart.
pub fn user_id_of(state: &AppState, localpart: &str) -> Result<OwnedUserId> {
    UserId::parse_with_server_name(localpart.trim().to_lowercase(), &state.server_name).map_err(
        |_| {
            Error::not_found(
                format!("Den Benutzer „{localpart}“ gibt es nicht."),
                format!("Unknown user “{localpart}”."),
            )
        },
    )
}

/// Why the directory refuses a login or an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Locked by an admin.
    Locked,
    /// Missing from the last import.
    Deactivated,
    /// Restricted for want of consent: a person whose role needs consent without it, or a
    /// parent none of whose children has consent (see `schulhof_policy::unavailability`).
    NoConsent,
}

/// Whether the directory refuses `localpart` (login and access tokens); the one definition
/// of "restricted" the policy decides by as well. People outside the directory (service
/// accounts) are never refused here.
pub fn login_refusal(index: &DirectoryIndex, rights: &Rights, localpart: &str) -> Option<Refusal> {
    let person = index.person(localpart)?;
    Some(match unavailability(person, index, rights)? {
        Rule::AccountLocked => Refusal::Locked,
        Rule::AccountDeactivated => Refusal::Deactivated,
        _ => Refusal::NoConsent,
    })
}

/// Refuses a password login while the account waits for its first password (or a new one
/// after a reset) to be chosen with a start code, pointing to the page for that.
pub async fn refuse_pending_start_code(state: &AppState, user_id: &UserId) -> Result<()> {
    if !start_codes::pending(state, user_id).await? {
        return Ok(());
    }
    let url = letters::first_login_url(&state.config);
    let address = Context::now(state).address(state, user_id);
    Err(Error::forbidden(
        LOGIN_START_CODE.de(address).replace("{url}", &url),
        LOGIN_START_CODE.en.replace("{url}", &url),
    ))
}

/// The directory's refusal of `user_id` now (see [`login_refusal`]).
pub fn refusal(state: &AppState, user_id: &UserId) -> Option<Refusal> {
    let snapshot = state.directory.snapshot();
    login_refusal(&snapshot, &state.policy.rights(), user_id.localpart())
}

/// Refuses an access token of someone the directory refuses: a restricted, locked or
/// deactivated person's sessions end (a locked account gets `M_USER_LOCKED`, the others
/// `M_UNKNOWN_TOKEN`; logging in again says why).
pub fn refuse_session(state: &AppState, user_id: &UserId) -> Result<()> {
    match refusal(state, user_id) {
        None => Ok(()),
        Some(Refusal::Locked) => Err(Error::UserLocked),
        Some(Refusal::Deactivated | Refusal::NoConsent) => Err(Error::UnknownToken),
    }
}

/// Refuses a login the directory does not allow (locked, deactivated, no consent).
pub fn refuse_by_directory(state: &AppState, user_id: &UserId) -> Result<()> {
    match refusal(state, user_id) {
        None => Ok(()),
        Some(Refusal::Locked) => Err(Error::UserLocked),
        Some(Refusal::Deactivated) => Err(Error::UserDeactivated),
        Some(Refusal::NoConsent) => {
            let address = Context::now(state).address(state, user_id);
            Err(Error::forbidden(
                LOGIN_NO_CONSENT.de(address),
                LOGIN_NO_CONSENT.en,
            ))
        }
    }
}

/// One change of the directory and the accounts behind it, in one transaction.
///
/// [`DirectoryChange::begin`] bumps the directory version first (which serialises all
/// changes, also across processes) and reads the directory inside the transaction into
/// `before`; the caller edits `after`, makes account changes on `tx` and records audit
/// entries; [`DirectoryChange::commit`] writes the difference and the audit entries and
/// commits, then reloads this process's snapshot. Dropping it without commit changes nothing.
pub struct DirectoryChange {
    /// The open transaction.
    pub tx: Tx,
    /// The directory as stored when the change began.
    pub before: Directory,
    /// The directory as it shall be stored (starts as a copy of `before`).
    pub after: Directory,
    /// When the change happens, ms since the epoch.
    pub now: i64,
    audit: Vec<AuditRow>,
}

impl DirectoryChange {
    /// Opens the transaction, bumps the version and reads the directory.
    pub async fn begin(state: &AppState) -> Result<DirectoryChange> {
        let mut tx = state.db.begin().await?;
        Db::bump_directory_version(&mut tx).await?;
        let before = Db::load_directory_tx(&mut tx).await?;
        Ok(DirectoryChange {
            tx,
            after: before.clone(),
            before,
            now: state.clock.now_ms(),
            audit: Vec::new(),
        })
    }

    /// Records an audit entry (written at commit). Never pass message content or passwords.
    pub fn audit(&mut self, actor: &str, action: &str, target: &str, detail: impl Into<String>) {
        self.audit.push(AuditRow {
            ts: self.now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.into(),
        });
    }

    /// Writes the directory difference and the audit entries, commits and reloads this
    /// process's snapshot.
    pub async fn commit(mut self, state: &AppState) -> Result<()> {
        Db::write_directory(&mut self.tx, &self.before, &self.after).await?;
        Db::audit_tx(&mut self.tx, &self.audit).await?;
        self.tx.commit().await?;
        SchoolDirectory::refresh(state).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schulhof_directory::{parse_csv, plan_import, PersonStatus};

    fn index(rows: &str) -> DirectoryIndex {
        let csv = format!("ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung\n{rows}");
        let file = parse_csv(csv.as_bytes()).unwrap();
        let mut directory = plan_import(&Directory::default(), &file, 0).unwrap().result;
        for person in directory.people.values_mut() {
            if person.first_name == "Gesperrt" {
                person.status = PersonStatus::Locked;
            }
        }
        directory.index()
    }

    #[test]
    fn consent_locks_and_parents() {
        let index = index(
            "S1;Ben;A;Schüler;Klasse 8.1;;ja\n\
             S2;Mia;A;Schüler;Klasse 8.1;;nein\n\
             S3;Tom;B;Schüler;Klasse 8.1;;nein\n\
             E1;Eva;A;Eltern;;S1,S2;ja\n\
             E2;Udo;B;Eltern;;S3;ja\n\
             E3;Ida;C;Eltern;;S1;nein\n\
             L1;Gesperrt;C;Lehrkraft;Lehrer;;nein\n\
             L2;Lea;C;Lehrkraft;Lehrer;;nein\n",
        );
        let rights = Rights::default();
        let refusal = |l: &str, rights: &Rights| login_refusal(&index, rights, l);
        assert_eq!(refusal("ben.a", &rights), None);
        assert_eq!(refusal("mia.a", &rights), Some(Refusal::NoConsent));
        // One child with consent is enough for a parent.
        assert_eq!(refusal("eva.a", &rights), None);
        assert_eq!(refusal("udo.b", &rights), Some(Refusal::NoConsent));
        // A parent's own consent counts too.
        assert_eq!(refusal("ida.c", &rights), Some(Refusal::NoConsent));
        let lenient = Rights {
            parents_need_a_consenting_child: false,
            ..Rights::default()
        };
        assert_eq!(refusal("udo.b", &lenient), None);
        assert_eq!(refusal("gesperrt.c", &rights), Some(Refusal::Locked));
        // Teachers need no consent; unknown accounts are not the directory's business.
        assert_eq!(refusal("lea.c", &rights), None);
        assert_eq!(refusal("service.bot", &rights), None);
    }
}
