//! Importing the school's CSV export: the plan (dry run) and its application to the directory
//! and the accounts, all in one transaction.

use std::collections::HashSet;

use schulhof_directory::{
    plan_import_reserving, Directory, ImportError, ImportFile, ImportPlan, Person, PersonChange,
    Role,
};
use schulhof_store::{Db, UserRow};

use crate::service::school::directory::{login_refusal, user_id_of, DirectoryChange};
use crate::service::school::letters::{self, AccessLetter};
use crate::state::AppState;
use crate::Result;

/// An import plan, or the problems that keep the file from being imported.
pub type Planned<T = ImportPlan> = std::result::Result<T, Vec<ImportError>>;

/// What an applied import did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// The applied plan.
    pub plan: ImportPlan,
    /// Access letters for every new and reactivated account, sorted by user ID.
    pub letters: Vec<AccessLetter>,
}

/// What importing `file` would change; reads only.
pub async fn preview(state: &AppState, file: &ImportFile) -> Result<Planned> {
    let current = state.db.load_directory().await?;
    let (users, used) = state.db.taken_names().await?;
    Ok(plan(
        state,
        &current,
        file,
        users,
        used,
        state.clock.now_ms(),
    ))
}

/// Imports `file`: plans it against the directory as stored inside the transaction, then
/// changes the directory and the accounts and records the audit entries, all-or-nothing.
/// `actor` is recorded in the audit log.
pub async fn apply(
    state: &AppState,
    file: &ImportFile,
    actor: &str,
) -> Result<Planned<ImportOutcome>> {
    let mut change = DirectoryChange::begin(state).await?;
    let (users, used) = Db::taken_names_tx(&mut change.tx).await?;
    let plan = match plan(state, &change.before, file, users, used, change.now) {
        Ok(plan) => plan,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut letters = add_accounts(state, &mut change, &plan.added).await?;
    for reactivated in &plan.reactivated {
        letters.push(reactivate(state, &mut change, reactivated).await?);
    }
    for changed in &plan.changed {
        rename(state, &mut change, changed).await?;
    }
    for person in &plan.deactivated {
        deactivate(state, &mut change, person).await?;
    }
    // Whoever the import restricts (their own consent withdrawn, or a parent's last child
    // with consent) can do nothing from now on: their open sessions end at once.
    for localpart in newly_refused(state, &change.before, &plan.result) {
        let user_id = user_id_of(state, &localpart)?;
        Db::revoke_sessions_tx(&mut change.tx, user_id.as_str()).await?;
    }
    audit(&mut change, actor, &plan);
    change.after = plan.result.clone();
    change.commit(state).await?;
    letters.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(Ok(ImportOutcome { plan, letters }))
}

/// Localparts of the people the directory refuses after a change (`after`) but did not
/// before it, by the one definition of "restricted" (`directory::login_refusal`).
fn newly_refused(state: &AppState, before: &Directory, after: &Directory) -> Vec<String> {
    let rights = state.policy.rights();
    let (before, after) = (before.index(), after.index());
    after
        .people()
        .filter(|p| {
            login_refusal(&after, &rights, &p.localpart).is_some()
                && login_refusal(&before, &rights, &p.localpart).is_none()
        })
        .map(|p| p.localpart.clone())
        .collect()
}

/// Plans the import; `users` are the existing user IDs and `used` the localparts ever used,
/// which new people never get, nor names an appservice reserves.
fn plan(
    state: &AppState,
    current: &Directory,
    file: &ImportFile,
    users: Vec<String>,
    used: Vec<String>,
    now: i64,
) -> Planned {
    let suffix = format!(":{}", state.server_name);
    let mut reserved: HashSet<String> = used.into_iter().collect();
    reserved.extend(users.iter().filter_map(|u| {
        let localpart = u.strip_prefix('@')?.strip_suffix(&suffix)?;
        Some(localpart.to_owned())
    }));
    // Names an appservice reserves (exclusive user namespaces) are never given to people.
    let claimed = |l: &str| {
        let user_id = format!("@{l}{suffix}");
        state
            .appservices
            .all()
            .iter()
            .any(|r| r.claims_user(&user_id))
    };
    plan_import_reserving(current, file, now, |l| reserved.contains(l) || claimed(l))
}

/// Creates the accounts of new people (no password yet) with their start codes.
async fn add_accounts(
    state: &AppState,
    change: &mut DirectoryChange,
    added: &[Person],
) -> Result<Vec<AccessLetter>> {
    let mut rows = Vec::with_capacity(added.len());
    for person in added {
        rows.push(UserRow {
            user_id: user_id_of(state, &person.localpart)?.to_string(),
            password_hash: None,
            displayname: Some(person.display_name()),
            avatar_url: None,
            is_admin: person.role == Role::Admin,
            deactivated: false,
        });
    }
    Db::create_users_tx(&mut change.tx, &rows, change.now).await?;
    let localparts: Vec<&str> = added.iter().map(|p| p.localpart.as_str()).collect();
    Db::add_used_localparts_tx(&mut change.tx, &localparts, change.now).await?;
    let mut letters = Vec::with_capacity(added.len());
    for person in added {
        letters.push(issue_letter(state, change, person).await?);
    }
    Ok(letters)
}

/// Issues a start code for `person` inside the change and returns their letter.
async fn issue_letter(
    state: &AppState,
    change: &mut DirectoryChange,
    person: &Person,
) -> Result<AccessLetter> {
    let user_id = user_id_of(state, &person.localpart)?;
    letters::issue(
        state,
        &mut change.tx,
        user_id,
        person.display_name(),
        change.now,
    )
    .await
}

/// Makes a deactivated account usable again: new start code, old password gone.
async fn reactivate(
    state: &AppState,
    change: &mut DirectoryChange,
    person: &PersonChange,
) -> Result<AccessLetter> {
    let user_id = user_id_of(state, &person.after.localpart)?;
    Db::set_deactivated_tx(&mut change.tx, user_id.as_str(), false).await?;
    Db::clear_password_tx(&mut change.tx, user_id.as_str()).await?;
    rename(state, change, person).await?;
    issue_letter(state, change, &person.after).await
}

/// Updates the display name if the name changed.
async fn rename(
    state: &AppState,
    change: &mut DirectoryChange,
    person: &PersonChange,
) -> Result<()> {
    let name = person.after.display_name();
    if name == person.before.display_name() {
        return Ok(());
    }
    let user_id = user_id_of(state, &person.after.localpart)?;
    Db::set_displayname_tx(&mut change.tx, user_id.as_str(), &name)
        .await
        .map_err(Into::into)
}

/// Deactivates an account: no login, sessions and any pending start code gone.
async fn deactivate(state: &AppState, change: &mut DirectoryChange, person: &Person) -> Result<()> {
    let user_id = user_id_of(state, &person.localpart)?;
    Db::set_deactivated_tx(&mut change.tx, user_id.as_str(), true).await?;
    Db::revoke_sessions_tx(&mut change.tx, user_id.as_str()).await?;
    Db::delete_start_code(&mut change.tx, user_id.as_str()).await?;
    Ok(())
}

/// The audit entries of an import: one per affected person and a summary.
fn audit(change: &mut DirectoryChange, actor: &str, plan: &ImportPlan) {
    for person in &plan.added {
        change.audit(actor, "import.add", &person.localpart, person.role.german());
    }
    for person in &plan.changed {
        change.audit(
            actor,
            "import.change",
            &person.after.localpart,
            changed_fields(person),
        );
    }
    for person in &plan.reactivated {
        change.audit(actor, "import.reactivate", &person.after.localpart, "");
    }
    for person in &plan.deactivated {
        change.audit(actor, "import.deactivate", &person.localpart, "");
    }
    let summary = format!(
        "{} neu, {} geändert, {} wieder aktiviert, {} deaktiviert, {} unverändert, {} Gruppenänderungen",
        plan.added.len(),
        plan.changed.len(),
        plan.reactivated.len(),
        plan.deactivated.len(),
        plan.unchanged,
        plan.group_changes.len()
    );
    change.audit(actor, "import", "", summary);
}

/// "Name, Gruppen": which fields of a person changed (without the values).
fn changed_fields(change: &PersonChange) -> String {
    let (a, b) = (&change.before, &change.after);
    let fields = [
        (
            a.first_name != b.first_name || a.last_name != b.last_name,
            "Name",
        ),
        (a.role != b.role, "Rolle"),
        (a.groups != b.groups, "Gruppen"),
        (a.children != b.children, "Kinder"),
        (a.consent != b.consent, "Einwilligung"),
    ];
    let names: Vec<&str> = fields.iter().filter(|(c, _)| *c).map(|(_, n)| *n).collect();
    names.join(", ")
}
