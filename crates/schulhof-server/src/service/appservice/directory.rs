//! The school directory for the school's own appservice
//! (`GET /_schulhof/appservice/v1/directory`): only the registration that
//! `[school_appservice] registration` names may read it, and it gets only what rooms and
//! memberships need ([`DirectoryExport`]). A reader that already has the current revision
//! waits (long poll) until the next change or its timeout, so the appservice learns of an
//! import within the directory watcher's delay (at most about 500 ms).

use std::time::Duration;

use schulhof_directory::{DirectoryExport, Person};

use crate::ruma_wrapper::Session;
use crate::service::school::directory::login_refusal;
use crate::state::AppState;
use crate::{Error, Result};

/// The longest wait a reader may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// What a read returns.
#[derive(Debug)]
pub enum DirectoryRead {
    /// The directory changed since the reader's revision (or it had none).
    Changed(DirectoryExport),
    /// Nothing changed within the wait: the revision the reader already has.
    Unchanged(i64),
}

/// The directory for `caller` (which must be the school's appservice): at once if its
/// revision differs from `since`, else after the next change or `wait` (at most
/// [`MAX_WAIT`]).
pub async fn read(
    state: &AppState,
    caller: &Session,
    since: Option<i64>,
    wait: Duration,
) -> Result<DirectoryRead> {
    let school = state.config.school_appservice.registration.as_deref();
    if caller.appservice.is_none() || caller.appservice.as_deref() != school {
        return Err(Error::forbidden(
            "Nur der Anwendungsdienst der Schule darf das Schulverzeichnis lesen.",
            "Only the school's application service may read the school directory.",
        ));
    }
    if let Some(since) = since.filter(|s| *s == state.directory.version()) {
        let wait = wait.min(MAX_WAIT);
        if tokio::time::timeout(wait, state.directory.changed_since(since))
            .await
            .is_err()
        {
            return Ok(DirectoryRead::Unchanged(since));
        }
    }
    // The version first: a snapshot newer than its version only causes one more read.
    let revision = state.directory.version();
    let snapshot = state.directory.snapshot();
    let rights = state.policy.rights();
    // Active: whoever may use Schulhof now (not locked, deactivated or restricted for want of
    // consent), as logins are decided.
    let usable = |person: &Person| login_refusal(&snapshot, &rights, &person.localpart).is_none();
    Ok(DirectoryRead::Changed(DirectoryExport::of(
        &snapshot, revision, usable,
    )))
}
