//! The school directory on SQLite and PostgreSQL: importing the synthetic school, re-importing
//! a changed file, all-or-nothing on errors, and the admin actions (lock, reset, delete,
//! retention) with their effect on logins and sessions.

#[macro_use]
mod support;

use std::collections::BTreeSet;

use ruma::UserId;
use schulhof_directory::{parse_csv, synthetic_school_csv, Group, GroupKind, PersonStatus};
use schulhof_server::service::school::directory::{self as school, DirectoryChange};
use schulhof_server::service::school::import::{self, ImportOutcome};
use schulhof_server::service::{
    identity::password_reset, identity::start_codes, school::retention, school::user_admin,
};
use schulhof_server::state::AppState;
use schulhof_server::Error;
use support::{Backend, TestState};

on_both!(
    withdrawn_consent_ends_sessions,
    import_then_reimport_a_changed_file,
    a_broken_file_changes_nothing,
    admin_actions_end_sessions_and_logins,
);

/// Imports `csv` as the CLI does and fails the test on any problem.
async fn import(state: &AppState, csv: &str) -> ImportOutcome {
    let file = parse_csv(csv.as_bytes()).expect("valid file");
    import::apply(state, &file, "test")
        .await
        .expect("no database error")
        .expect("importable")
}

/// Replaces field `field` of the row with import ID `id`.
fn set_field(csv: &str, id: &str, field: usize, value: &str) -> String {
    let lines = csv.lines().map(|line| {
        let mut fields: Vec<&str> = line.split(';').collect();
        if fields[0] == id {
            fields[field] = value;
        }
        fields.join(";")
    });
    lines.collect::<Vec<_>>().join("\n") + "\n"
}

fn user(localpart: &str) -> ruma::OwnedUserId {
    UserId::parse(format!("@{localpart}:schule.test")).unwrap()
}

/// Logs in a device directly in the store and returns its token hash.
async fn session(state: &AppState, localpart: &str) -> String {
    let hash = format!("hash-{localpart}");
    let user_id = user(localpart);
    state
        .db
        .create_device_with_token(user_id.as_str(), "DEVICE", None, &hash, 0)
        .await
        .unwrap();
    hash
}

async fn import_then_reimport_a_changed_file(backend: Backend) {
    let test = TestState::new(backend, "reimport").await;
    let state = &*test.state;
    let csv = synthetic_school_csv(7);
    let first = import(state, &csv).await;
    let rows = csv.lines().count() - 1;
    assert_eq!(first.plan.added.len(), rows);
    assert_eq!(first.letters.len(), rows, "a letter for every new account");
    assert_eq!(state.db.load_directory().await.unwrap(), first.plan.result);
    assert_eq!(state.directory.snapshot().len(), rows, "snapshot reloaded");
    assert_eq!(state.db.active_users().await.unwrap().len(), rows);
    let max = user("max.mueller2");
    assert!(start_codes::pending(state, &max).await.unwrap());
    let stored = state.db.user(max.as_str()).await.unwrap().unwrap();
    assert_eq!(stored.displayname.as_deref(), Some("Max Müller"));
    assert!(stored.password_hash.is_none());

    let index = state.directory.snapshot();
    let leaving = index.localpart_of("L0039").unwrap().to_owned();
    let renamed = index.localpart_of("L0001").unwrap().to_owned();
    let moved = index.localpart_of("S00003").unwrap().to_owned();
    let token = session(state, &leaving).await;
    let class = if index.groups_of(&moved).contains("Klasse 10.3") {
        "Klasse 8.1"
    } else {
        "Klasse 10.3"
    };
    let changed = set_field(&csv, "L0001", 2, "Neumann-Schulz");
    let changed = set_field(&changed, "S00003", 4, class);
    let changed: String = changed
        .lines()
        .filter(|l| !l.starts_with("L0039;"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "S99999;Neu;Schülerin;Schülerin;Klasse 9.2;;ja\n";

    let second = import(state, &changed).await;
    let plan = &second.plan;
    let added: Vec<&str> = plan.added.iter().map(|p| p.localpart.as_str()).collect();
    assert_eq!(added, ["neu.schuelerin"]);
    let deactivated: Vec<&str> = plan
        .deactivated
        .iter()
        .map(|p| p.localpart.as_str())
        .collect();
    assert_eq!(deactivated, [leaving.as_str()]);
    assert!(plan.reactivated.is_empty());
    let changed_people: BTreeSet<&str> = plan
        .changed
        .iter()
        .map(|c| c.after.localpart.as_str())
        .collect();
    let mut expected: BTreeSet<&str> = [renamed.as_str(), moved.as_str()].into();
    expected.extend(index.parents_of(&moved).iter().map(String::as_str));
    assert_eq!(
        changed_people, expected,
        "the renamed, the moved and her parents"
    );
    assert_eq!(second.letters.len(), 1, "letters only for the new account");
    assert_eq!(second.letters[0].user_id, user("neu.schuelerin"));

    // What is stored is exactly the planned directory, and the accounts follow it.
    assert_eq!(state.db.load_directory().await.unwrap(), plan.result);
    let db = &state.db;
    let renamed_row = db.user(user(&renamed).as_str()).await.unwrap().unwrap();
    assert!(renamed_row
        .displayname
        .unwrap()
        .ends_with(" Neumann-Schulz"));
    let leaving_row = db.user(user(&leaving).as_str()).await.unwrap().unwrap();
    assert!(leaving_row.deactivated);
    assert!(
        db.token(&token).await.unwrap().is_none(),
        "sessions revoked"
    );
    let snapshot = state.directory.snapshot();
    assert!(matches!(
        snapshot.person(&leaving).unwrap().status,
        PersonStatus::Deactivated { .. }
    ));
    assert!(snapshot.groups_of(&moved).contains(class));
    assert!(start_codes::pending(state, &user("neu.schuelerin"))
        .await
        .unwrap());
    let log = db.audit_log("neu.schuelerin", "-").await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].actor.as_str(), log[0].action.as_str()),
        ("test", "import.add")
    );

    // The same file again changes nothing.
    let third = import(state, &changed).await;
    assert!(third.plan.is_empty());
    assert!(third.letters.is_empty());
}

async fn a_broken_file_changes_nothing(backend: Backend) {
    let test = TestState::new(backend, "broken").await;
    let state = &*test.state;
    let csv = synthetic_school_csv(3);
    import(state, &csv).await;
    // A group a teacher created by hand.
    let mut change = DirectoryChange::begin(state).await.unwrap();
    let group = Group {
        name: "Projekt Schulgarten".into(),
        kind: GroupKind::Custom,
        created_by: Some("L0002".into()),
    };
    change.after.groups.insert(group.name.clone(), group);
    change.commit(state).await.unwrap();

    let version = state.db.directory_version().await.unwrap();
    let directory = state.db.load_directory().await.unwrap();
    let users = state.db.active_users().await.unwrap().len();

    // Errors the parser finds: every one is reported with line and field.
    let broken = set_field(&csv, "S00004", 3, "Hausmeister");
    let broken = set_field(&broken, "E00002-0", 5, "S77777") + "S00001;Doppelt;Da;Schüler;;;ja\n";
    let errors = parse_csv(broken.as_bytes()).unwrap_err();
    let fields: BTreeSet<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["ID", "Kinder", "Rolle"].into(), "{errors:?}");
    assert!(errors.iter().all(|e| e.line > 1));

    // An error only the database knows: the file names a teacher's group. The new person in
    // the file gets no account, nothing is changed.
    let colliding = set_field(&csv, "S00005", 4, "Klasse 8.1,Projekt Schulgarten")
        + "S99999;Neu;Schülerin;Schülerin;Klasse 9.2;;ja\n";
    let file = parse_csv(colliding.as_bytes()).unwrap();
    let errors = import::apply(state, &file, "test")
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "Gruppen");
    assert_eq!(state.db.directory_version().await.unwrap(), version);
    assert_eq!(state.db.load_directory().await.unwrap(), directory);
    assert_eq!(state.db.active_users().await.unwrap().len(), users);
    assert!(state
        .db
        .user(user("neu.schuelerin").as_str())
        .await
        .unwrap()
        .is_none());
}

async fn admin_actions_end_sessions_and_logins(backend: Backend) {
    let test = TestState::new(backend, "admin").await;
    let state = &*test.state;
    import(state, include_str!("../../../config/beispiel-import.csv")).await;
    let anna = user("anna.schmidt");

    // Lock: login refused with M_USER_LOCKED, sessions gone; unlock again.
    let token = session(state, "anna.schmidt").await;
    user_admin::lock(state, "test", "anna.schmidt")
        .await
        .unwrap();
    assert!(state.db.token(&token).await.unwrap().is_none());
    let refused = school::refuse_by_directory(state, &anna).unwrap_err();
    assert_eq!(refused.errcode(), "M_USER_LOCKED");
    assert!(user_admin::lock(state, "test", "anna.schmidt")
        .await
        .is_err());
    user_admin::unlock(state, "test", "anna.schmidt")
        .await
        .unwrap();
    assert!(school::refuse_by_directory(state, &anna).is_ok());

    // No consent: Max and his mother (whose only child he is) may not log in.
    for localpart in ["max.mustermann", "erika.mustermann"] {
        let refused = school::refuse_by_directory(state, &user(localpart)).unwrap_err();
        assert!(matches!(refused, Error::Forbidden(_)), "{localpart}");
    }
    // A pending start code points to the first-login page.
    let pending = school::refuse_pending_start_code(state, &user("ben.mueller"))
        .await
        .unwrap_err();
    assert!(pending
        .text()
        .de
        .contains("https://chat.schule.test/erstanmeldung"));

    // Passwords: the rule applies; a set password ends the start code.
    let weak = user_admin::set_password(state, "test", "anna.schmidt", "anna1234").await;
    assert_eq!(weak.unwrap_err().errcode(), "M_WEAK_PASSWORD");
    user_admin::set_password(state, "test", "anna.schmidt", "Gruen-Tanne-4711")
        .await
        .unwrap();
    assert!(!start_codes::pending(state, &anna).await.unwrap());

    // Resets: the class teacher may reset her student and his parent, not another class.
    let token = session(state, "ben.mueller").await;
    let letter = password_reset::reset_password(state, &anna, "ben.mueller")
        .await
        .unwrap();
    assert_eq!(letter.user_id, user("ben.mueller"));
    assert_eq!(letter.start_code.len(), 6);
    assert!(state.db.token(&token).await.unwrap().is_none());
    password_reset::reset_password(state, &anna, "clara.mueller")
        .await
        .unwrap();
    let refused = password_reset::reset_password(state, &anna, "mia.mueller").await;
    assert_eq!(refused.unwrap_err().errcode(), "M_FORBIDDEN");
    let admin = user("birgit.schaefer");
    password_reset::reset_password(state, &admin, "anna.schmidt")
        .await
        .unwrap();
    let log = state.db.audit_log("ben.mueller", "-").await.unwrap();
    assert!(log
        .iter()
        .any(|r| r.action == "password.reset" && r.actor == anna.as_str()));

    // Delete now: the account stays as an empty tombstone, the name is never reused.
    user_admin::delete(state, "test", "zoe.yilmaz")
        .await
        .unwrap();
    let zoe = state
        .db
        .user(user("zoe.yilmaz").as_str())
        .await
        .unwrap()
        .unwrap();
    assert!(zoe.deactivated && zoe.displayname.is_none() && zoe.password_hash.is_none());
    assert!(state.directory.snapshot().person("zoe.yilmaz").is_none());
    assert!(state
        .directory
        .snapshot()
        .children_of("mehmet.yilmaz")
        .is_empty());

    // Retention: people deactivated longer than the retention period are deleted.
    let mut change = DirectoryChange::begin(state).await.unwrap();
    let mia = change.after.people.get_mut("S-2002").unwrap();
    mia.status = PersonStatus::Deactivated { since_ms: 0 };
    change.commit(state).await.unwrap();
    assert_eq!(retention::run(state).await.unwrap(), 1);
    assert!(state.directory.snapshot().person("mia.mueller").is_none());
    assert_eq!(retention::run(state).await.unwrap(), 0);
}

/// A re-import that withdraws a student's consent ends his open sessions and refuses logins.
async fn withdrawn_consent_ends_sessions(backend: Backend) {
    let test = TestState::new(backend, "consent").await;
    let state = &*test.state;
    let csv = include_str!("../../../config/beispiel-import.csv");
    import(state, csv).await;
    let token = session(state, "ben.mueller").await;
    import(state, &set_field(csv, "S-2001", 6, "nein")).await;
    assert!(
        state.db.token(&token).await.unwrap().is_none(),
        "session must end"
    );
    school::SchoolDirectory::refresh(state).await.unwrap();
    let refused = school::refuse_by_directory(state, &user("ben.mueller")).unwrap_err();
    assert!(matches!(refused, Error::Forbidden(_)));
}
