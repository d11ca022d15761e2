//! Conformance of the school directory on SQLite and PostgreSQL for teachers' own groups: a
//! group a teacher created is stored with its owner and members, and changes (a member added
//! or removed, the group dissolved) are written as differences, in the caller's transaction,
//! with the directory version bumped; a rolled-back change leaves nothing.

#[macro_use]
mod common;

use common::{fresh_db, Engine};
use schulhof_directory::{parse_csv, plan_import, Directory, Group, GroupKind};
use schulhof_store::Db;

on_both_engines!(
    teacher_groups_round_trip_with_owner_and_members,
    a_rolled_back_change_leaves_the_directory_as_it_was,
);

const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
S-2;Nora;Fischer;Schülerin;Klasse 8b;;ja
";

/// The school, imported and stored.
async fn stored_school(db: &Db) -> Directory {
    let file = parse_csv(SCHOOL.as_bytes()).unwrap();
    let school = plan_import(&Directory::default(), &file, 0).unwrap().result;
    write(db, &Directory::default(), &school).await;
    school
}

/// Writes `before` → `after` in one committed transaction that bumps the version.
async fn write(db: &Db, before: &Directory, after: &Directory) {
    let mut tx = db.begin().await.unwrap();
    Db::bump_directory_version(&mut tx).await.unwrap();
    Db::write_directory(&mut tx, before, after).await.unwrap();
    tx.commit().await.unwrap();
}

/// `school` with Anna's group "AG Schach" of `members` (import IDs; Anna always).
fn with_group(school: &Directory, members: &[&str]) -> Directory {
    let mut after = school.clone();
    after.groups.insert(
        "AG Schach".into(),
        Group {
            name: "AG Schach".into(),
            kind: GroupKind::Custom,
            created_by: Some("L-1".into()),
        },
    );
    for id in members.iter().chain(&["L-1"]) {
        after
            .people
            .get_mut(*id)
            .unwrap()
            .groups
            .insert("AG Schach".into());
    }
    after
}

fn members_of(directory: &Directory, group: &str) -> Vec<String> {
    directory
        .members(group)
        .map(|p| p.import_id.clone())
        .collect()
}

async fn teacher_groups_round_trip_with_owner_and_members(engine: Engine) {
    let db = fresh_db(engine).await;
    let school = stored_school(&db).await;
    let version = db.directory_version().await.unwrap();

    let created = with_group(&school, &["S-1", "S-2"]);
    write(&db, &school, &created).await;
    let loaded = db.load_directory().await.unwrap();
    assert_eq!(loaded, created);
    assert_eq!(
        loaded.groups["AG Schach"].created_by.as_deref(),
        Some("L-1")
    );
    assert_eq!(members_of(&loaded, "AG Schach"), ["L-1", "S-1", "S-2"]);
    assert!(db.directory_version().await.unwrap() > version);

    // Nora removed: only her membership changes.
    let mut smaller = loaded.clone();
    smaller
        .people
        .get_mut("S-2")
        .unwrap()
        .groups
        .remove("AG Schach");
    write(&db, &loaded, &smaller).await;
    let loaded = db.load_directory().await.unwrap();
    assert_eq!(loaded, smaller);
    assert_eq!(members_of(&loaded, "AG Schach"), ["L-1", "S-1"]);
    assert!(loaded.people["S-2"].groups.contains("Klasse 8b"));

    // Dissolved: the group and every membership in it are gone, nothing else.
    let mut dissolved = loaded.clone();
    dissolved.groups.remove("AG Schach");
    for person in dissolved.people.values_mut() {
        person.groups.remove("AG Schach");
    }
    write(&db, &loaded, &dissolved).await;
    let loaded = db.load_directory().await.unwrap();
    assert_eq!(loaded, school);
}

async fn a_rolled_back_change_leaves_the_directory_as_it_was(engine: Engine) {
    let db = fresh_db(engine).await;
    let school = stored_school(&db).await;
    let version = db.directory_version().await.unwrap();
    let created = with_group(&school, &["S-1"]);
    let mut tx = db.begin().await.unwrap();
    Db::bump_directory_version(&mut tx).await.unwrap();
    Db::write_directory(&mut tx, &school, &created)
        .await
        .unwrap();
    drop(tx);
    assert_eq!(db.load_directory().await.unwrap(), school);
    assert_eq!(db.directory_version().await.unwrap(), version);
}
