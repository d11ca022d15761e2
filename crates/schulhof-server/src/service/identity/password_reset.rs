//! Password resets by teachers and admins: the old password and all sessions end, a new start
//! code is issued (printed on a new access letter) and the reset is audited.
//!
//! Who may reset whose password:
//! - an admin (directory role admin, or a server admin account) anyone's;
//! - a teacher that of a student who shares a group with the teacher, and that of a parent
//!   who shares a group with the teacher or one of whose children does (so the teacher of
//!   "Klasse 8.1" may reset the parents in "Sorgeberechtigte 8.1");
//! - nobody else, and teachers no teacher's or admin's (not even their own: they use their
//!   client's password change).
//!
//! Locked, deactivated or deleted accounts count as not there for the rights check. The
//! school's rights (`config/rights.toml`, `teacher.may_reset_passwords`) can take the right
//! away from teachers; such a denial is audited like every policy denial.

use ruma::UserId;
use schulhof_directory::{DirectoryIndex, PersonStatus, Role};
use schulhof_policy::Action;
use schulhof_store::Db;

use crate::service::school::directory::{user_id_of, DirectoryChange};
use crate::service::school::letters::{self, AccessLetter};
use crate::service::school::policy;
use crate::state::AppState;
use crate::{Error, Result};

/// Resets the password of `target_localpart` on behalf of the logged-in `actor`, if the actor
/// may (see the module docs; 403 with a German message otherwise).
pub async fn reset_password(
    state: &AppState,
    actor: &UserId,
    target_localpart: &str,
) -> Result<AccessLetter> {
    let server_admin = state
        .db
        .user(actor.as_str())
        .await?
        .is_some_and(|u| u.is_admin && !u.deactivated);
    let target_localpart = target_localpart.trim().to_lowercase();
    let snapshot = state.directory.snapshot();
    if !may_reset(
        &snapshot,
        actor.localpart(),
        server_admin,
        &target_localpart,
    ) {
        return Err(Error::forbidden(
            format!(
                "Du darfst das Passwort von „{target_localpart}“ nicht zurücksetzen. Lehrkräfte \
                 können nur Passwörter von Schülerinnen, Schülern und Sorgeberechtigten aus ihren \
                 Gruppen zurücksetzen."
            ),
            format!(
                "You may not reset the password of “{target_localpart}”. Teachers can only reset \
                 the passwords of students and parents in their groups."
            ),
        ));
    }
    if !server_admin {
        // The school's rights (`teacher.may_reset_passwords`).
        let action = Action::ResetPassword {
            target: &target_localpart,
        };
        policy::check(state, actor, &action, &target_localpart).await?;
    }
    reset(state, actor.as_str(), &target_localpart).await
}

/// Resets the password of `target_localpart` for an admin tool without a Matrix identity
/// (the CLI); `actor` is what the audit log records.
pub async fn reset_password_as_admin(
    state: &AppState,
    actor: &str,
    target_localpart: &str,
) -> Result<AccessLetter> {
    reset(state, actor, &target_localpart.trim().to_lowercase()).await
}

/// Whether the person `actor` may reset the password of `target` (both localparts).
pub fn may_reset(index: &DirectoryIndex, actor: &str, server_admin: bool, target: &str) -> bool {
    let active = |localpart: &str| {
        index
            .person(localpart)
            .filter(|p| p.status == PersonStatus::Active)
    };
    let Some(actor_person) = active(actor) else {
        return server_admin;
    };
    if server_admin || actor_person.role == Role::Admin {
        return true;
    }
    let Some(target_person) = active(target) else {
        return false;
    };
    let shares_group = |localpart: &str| {
        let groups = index.groups_of(localpart);
        !groups.is_disjoint(&actor_person.groups)
    };
    match (actor_person.role, target_person.role) {
        (Role::Teacher, Role::Student) => shares_group(target),
        (Role::Teacher, Role::Parent) => {
            shares_group(target) || index.children_of(target).iter().any(|c| shares_group(c))
        }
        _ => false,
    }
}

/// Clears the password, ends all sessions, issues a new start code and audits the reset.
async fn reset(state: &AppState, actor: &str, localpart: &str) -> Result<AccessLetter> {
    let user_id = user_id_of(state, localpart)?;
    crate::service::notices::refuse_system_account(state, &user_id)?;
    let unknown = || {
        Error::not_found(
            format!("Ein aktives Konto „{localpart}“ gibt es nicht."),
            format!("There is no active account “{localpart}”."),
        )
    };
    let account = state
        .db
        .user(user_id.as_str())
        .await?
        .filter(|u| !u.deactivated)
        .ok_or_else(unknown)?;
    let mut change = DirectoryChange::begin(state).await?;
    let person = change.before.by_localpart(localpart);
    if person.is_some_and(|p| matches!(p.status, PersonStatus::Deactivated { .. })) {
        return Err(unknown());
    }
    let display_name = person
        .map(|p| p.display_name())
        .or(account.displayname)
        .unwrap_or_else(|| localpart.to_owned());
    Db::clear_password_tx(&mut change.tx, user_id.as_str()).await?;
    let sessions = Db::revoke_sessions_tx(&mut change.tx, user_id.as_str()).await?;
    let now = change.now;
    let letter = letters::issue(state, &mut change.tx, user_id, display_name, now).await?;
    change.audit(
        actor,
        "password.reset",
        localpart,
        format!("{sessions} Sitzungen beendet"),
    );
    change.commit(state).await?;
    Ok(letter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use schulhof_directory::{parse_csv, plan_import, Directory};

    fn index() -> DirectoryIndex {
        let csv = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder\n\
            L1;Anna;Lehr;Lehrkraft;Lehrer,Klasse 8.1,AG Theater;\n\
            L2;Bert;Lehr;Lehrkraft;Lehrer,Klasse 9.1;\n\
            S1;Ben;Kind;Schüler;Klasse 8.1;\n\
            S2;Mia;Kind;Schüler;Klasse 9.1,AG Theater;\n\
            S3;Tom;Kind;Schüler;Klasse 9.1;\n\
            E1;Eva;Kind;Eltern;;S1\n\
            E2;Udo;Kind;Eltern;;S3\n\
            A1;Olaf;Chef;Schulleitung;Lehrer;\n";
        let file = parse_csv(csv.as_bytes()).unwrap();
        let mut directory = plan_import(&Directory::default(), &file, 0).unwrap().result;
        directory.people.get_mut("S3").unwrap().status = PersonStatus::Locked;
        directory.index()
    }

    #[test]
    fn teachers_reset_their_students_and_parents_admins_everyone() {
        let index = index();
        let may = |actor: &str, target: &str| may_reset(&index, actor, false, target);
        assert!(may("anna.lehr", "ben.kind"), "own class");
        assert!(may("anna.lehr", "mia.kind"), "shared AG");
        assert!(
            may("anna.lehr", "eva.kind"),
            "parent of a student in the class"
        );
        assert!(!may("anna.lehr", "tom.kind"), "other class");
        assert!(!may("anna.lehr", "udo.kind"), "parent of another class");
        assert!(!may("bert.lehr", "tom.kind"), "locked target");
        assert!(
            !may("anna.lehr", "bert.lehr"),
            "teachers are not reset by teachers"
        );
        assert!(!may("anna.lehr", "anna.lehr"));
        assert!(!may("ben.kind", "mia.kind"), "students reset nobody");
        assert!(!may("eva.kind", "ben.kind"), "parents reset nobody");
        assert!(may("olaf.chef", "anna.lehr"), "admins reset anyone");
        assert!(may("olaf.chef", "service.bot"));
        assert!(!may("nobody", "ben.kind"));
        assert!(
            may_reset(&index, "admin", true, "anna.lehr"),
            "server admin"
        );
    }
}
