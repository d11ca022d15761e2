//! Store-level tests of the server-side key backup tables on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use common::{fresh_db, Engine};
use schulhof_store::{BackupCounts, BackupKeyRow, BackupUpload, Db};

on_both_engines!(
    versions_count_up_and_the_newest_is_current,
    keys_go_only_to_the_current_version_and_follow_the_rule,
    keys_are_deleted_by_session_room_all_and_with_their_version,
);

const ALGORITHM: &str = "m.megolm_backup.v1.curve25519-aes-sha2";
const USER: &str = "@a:x";

fn key(room: &str, session: &str, index: i64, data: &str) -> BackupKeyRow {
    BackupKeyRow {
        room_id: room.into(),
        session_id: session.into(),
        first_message_index: index,
        forwarded_count: 0,
        is_verified: false,
        session_data: format!("{{\"ciphertext\":\"{data}\"}}"),
    }
}

/// The rule the tests store with: a lower first message index wins.
fn lower_index(existing: &BackupKeyRow, new: &BackupKeyRow) -> bool {
    new.first_message_index < existing.first_message_index
}

/// Uploads keys to a version of `USER` with [`lower_index`].
async fn put(db: &Db, version: i64, keys: &[BackupKeyRow]) -> BackupUpload {
    db.put_backup_keys(USER, version, keys, lower_index)
        .await
        .unwrap()
}

async fn versions_count_up_and_the_newest_is_current(engine: Engine) {
    let db = fresh_db(engine).await;
    assert_eq!(db.backup_version(USER, None).await.unwrap(), None);
    assert_eq!(
        db.create_backup_version(USER, ALGORITHM, "{\"public_key\":\"A\"}")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.create_backup_version(USER, ALGORITHM, "{\"public_key\":\"B\"}")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        db.create_backup_version("@b:x", ALGORITHM, "{}")
            .await
            .unwrap(),
        1
    );

    let current = db.backup_version(USER, None).await.unwrap().unwrap();
    assert_eq!(
        (current.version, current.auth_data.as_str()),
        (2, "{\"public_key\":\"B\"}")
    );
    assert_eq!((current.etag, current.count), (0, 0));

    assert!(db
        .update_backup_auth_data(USER, 1, "{\"public_key\":\"C\"}")
        .await
        .unwrap());
    assert_eq!(
        db.backup_version(USER, Some(1))
            .await
            .unwrap()
            .unwrap()
            .auth_data,
        "{\"public_key\":\"C\"}"
    );

    // Deleting the current version makes the one before current again; numbers are not reused.
    assert!(db.delete_backup_version(USER, 2).await.unwrap());
    assert!(
        db.delete_backup_version(USER, 2).await.unwrap(),
        "a repeated delete succeeds"
    );
    assert!(!db.delete_backup_version(USER, 7).await.unwrap());
    assert_eq!(db.backup_version(USER, Some(2)).await.unwrap(), None);
    assert!(!db.update_backup_auth_data(USER, 2, "{}").await.unwrap());
    assert_eq!(
        db.backup_version(USER, None)
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        db.create_backup_version(USER, ALGORITHM, "{}")
            .await
            .unwrap(),
        3
    );
}

async fn keys_go_only_to_the_current_version_and_follow_the_rule(engine: Engine) {
    let db = fresh_db(engine).await;
    let s1 = key("!r:x", "s1", 5, "a");
    assert_eq!(
        put(&db, 1, std::slice::from_ref(&s1)).await,
        BackupUpload::NoBackup
    );
    for _ in 0..2 {
        db.create_backup_version(USER, ALGORITHM, "{}")
            .await
            .unwrap();
    }
    assert_eq!(
        put(&db, 1, std::slice::from_ref(&s1)).await,
        BackupUpload::WrongVersion(2)
    );

    let first = [s1, key("!r:x", "s2", 0, "b"), key("!q:x", "s3", 0, "c")];
    let stored = |etag| BackupUpload::Stored(BackupCounts { etag, count: 3 });
    assert_eq!(put(&db, 2, &first).await, stored(1));
    // A worse key is kept out and leaves the etag alone; a better one replaces the stored one.
    assert_eq!(
        put(&db, 2, &[key("!r:x", "s1", 9, "worse")]).await,
        stored(1)
    );
    assert_eq!(
        put(&db, 2, &[key("!r:x", "s1", 2, "better")]).await,
        stored(2)
    );

    let room = db.backup_keys(USER, 2, Some("!r:x"), None).await.unwrap();
    let expected = vec![key("!r:x", "s1", 2, "better"), key("!r:x", "s2", 0, "b")];
    assert_eq!(room, expected);
    let session = db.backup_keys(USER, 2, Some("!q:x"), Some("s3")).await;
    assert_eq!(session.unwrap(), vec![key("!q:x", "s3", 0, "c")]);
    assert_eq!(db.backup_keys(USER, 2, None, None).await.unwrap().len(), 3);
    let other_user = db.backup_keys("@b:x", 2, None, None).await.unwrap();
    assert!(other_user.is_empty());
    let info = db.backup_version(USER, None).await.unwrap().unwrap();
    assert_eq!((info.etag, info.count), (2, 3));
}

async fn keys_are_deleted_by_session_room_all_and_with_their_version(engine: Engine) {
    let db = fresh_db(engine).await;
    db.create_backup_version(USER, ALGORITHM, "{}")
        .await
        .unwrap();
    let keys = [
        key("!r:x", "s1", 0, "a"),
        key("!r:x", "s2", 0, "b"),
        key("!q:x", "s3", 0, "c"),
        key("!p:x", "s4", 0, "d"),
    ];
    db.put_backup_keys(USER, 1, &keys, lower_index)
        .await
        .unwrap();

    let gone = db
        .delete_backup_keys(USER, 1, Some("!r:x"), Some("s1"))
        .await
        .unwrap();
    assert_eq!(gone, Some(BackupCounts { etag: 2, count: 3 }));
    let nothing = db
        .delete_backup_keys(USER, 1, Some("!r:x"), Some("s1"))
        .await
        .unwrap();
    assert_eq!(
        nothing,
        Some(BackupCounts { etag: 2, count: 3 }),
        "no change, same etag"
    );
    let room = db
        .delete_backup_keys(USER, 1, Some("!q:x"), None)
        .await
        .unwrap();
    assert_eq!(room, Some(BackupCounts { etag: 3, count: 2 }));
    assert_eq!(
        db.delete_backup_keys(USER, 9, None, None).await.unwrap(),
        None
    );

    assert!(db.delete_backup_version(USER, 1).await.unwrap());
    assert_eq!(
        db.delete_backup_keys(USER, 1, None, None).await.unwrap(),
        None
    );
    assert!(db
        .backup_keys(USER, 1, None, None)
        .await
        .unwrap()
        .is_empty());
}
