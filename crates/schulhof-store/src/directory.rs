//! The school directory (people, groups, memberships, families), its version counter, the
//! localparts ever used and the audit log.
//!
//! Every change of the directory runs in one transaction that starts with
//! [`Db::bump_directory_version`]: the bump locks the version row, so concurrent changes (also
//! from other processes) wait for each other, and every server process sees from the new
//! version that it must reload its snapshot.

use std::collections::BTreeSet;
use std::time::Duration;

use schulhof_directory::{Directory, Group, GroupKind, Person, PersonStatus, Role};

use crate::{with_db, with_tx, Db, Result, StoreError, Tx, UserRow};

/// Name of the `meta` row holding the directory version.
const VERSION_KEY: &str = "directory_version";

/// PostgreSQL channel notified (at commit) whenever the directory version changes.
pub const DIRECTORY_CHANNEL: &str = "schulhof_directory";

/// Rows per multi-row `INSERT` (keeps the bind count far below both engines' limits).
const ROWS_PER_INSERT: usize = 400;

/// One entry of the audit log (never message content or passwords).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When, ms since the epoch.
    pub ts: i64,
    /// Who: `cli`, `import`, `retention` or a user ID.
    pub actor: String,
    /// What, e.g. `import.add`, `user.lock`, `password.reset`.
    pub action: String,
    /// Whom: usually a localpart.
    pub target: String,
    /// Short description (German).
    pub detail: String,
}

/// The audit log's columns in the order every query selects them.
pub(crate) type AuditColumns = (i64, String, String, String, String);

impl From<AuditColumns> for AuditRow {
    fn from((ts, actor, action, target, detail): AuditColumns) -> Self {
        AuditRow {
            ts,
            actor,
            action,
            target,
            detail,
        }
    }
}

/// Waits for directory changes that other processes announce: PostgreSQL `LISTEN` on
/// [`DIRECTORY_CHANNEL`]. On SQLite (or if listening fails) it only waits for the timeout;
/// callers poll [`Db::directory_version`] after every wait anyway.
pub struct DirectoryListener(Option<sqlx::postgres::PgListener>);

impl DirectoryListener {
    /// Returns after a change notification or after `timeout`, whichever comes first.
    pub async fn wait(&mut self, timeout: Duration) {
        let Some(listener) = &mut self.0 else {
            return tokio::time::sleep(timeout).await;
        };
        if let Ok(Err(err)) = tokio::time::timeout(timeout, listener.recv()).await {
            tracing::warn!(%err, "directory change listener");
            tokio::time::sleep(timeout).await;
        }
    }
}

/// A value bound into a multi-row insert.
enum Value<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

type PersonTuple = (
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<i64>,
);

/// The directory's rows as read from the database.
struct Rows {
    people: Vec<PersonTuple>,
    groups: Vec<(String, String, Option<String>)>,
    members: Vec<(String, String)>,
    children: Vec<(String, String)>,
}

/// Reads all directory rows over the connection `$c` (a `&mut` connection).
macro_rules! read_rows {
    ($c:expr) => {
        async {
            let people = sqlx::query_as(
                "SELECT import_id, localpart, first_name, last_name, role, consent, status, deactivated_ts FROM people",
            )
            .fetch_all(&mut *$c)
            .await?;
            let groups = sqlx::query_as("SELECT name, kind, created_by FROM directory_groups")
                .fetch_all(&mut *$c)
                .await?;
            let members = sqlx::query_as("SELECT group_name, import_id FROM group_members")
                .fetch_all(&mut *$c)
                .await?;
            let children = sqlx::query_as("SELECT parent, child FROM parent_children")
                .fetch_all(&mut *$c)
                .await?;
            Ok::<_, sqlx::Error>(Rows {
                people,
                groups,
                members,
                children,
            })
        }
    };
}

/// Reads every user ID and every used localpart over the connection `$c`.
macro_rules! read_taken {
    ($c:expr) => {
        async {
            let users = sqlx::query_scalar("SELECT user_id FROM users")
                .fetch_all(&mut *$c)
                .await?;
            let used = sqlx::query_scalar("SELECT localpart FROM used_localparts")
                .fetch_all(&mut *$c)
                .await?;
            Ok::<(Vec<String>, Vec<String>), sqlx::Error>((users, used))
        }
    };
}

/// A stored value that the directory model does not know.
fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Sqlx(sqlx::Error::Decode(
        format!("unknown stored {what} {value:?}").into(),
    ))
}

/// The stored `(status, deactivated_ts)` of a person status.
fn status_columns(status: PersonStatus) -> (&'static str, Option<i64>) {
    match status {
        PersonStatus::Active => ("active", None),
        PersonStatus::Locked => ("locked", None),
        PersonStatus::Deactivated { since_ms } => ("deactivated", Some(since_ms)),
    }
}

/// The person status from its stored columns.
fn status_from(status: &str, since: Option<i64>) -> Result<PersonStatus> {
    match (status, since) {
        ("active", _) => Ok(PersonStatus::Active),
        ("locked", _) => Ok(PersonStatus::Locked),
        ("deactivated", Some(since_ms)) => Ok(PersonStatus::Deactivated { since_ms }),
        _ => Err(corrupt("person status", status)),
    }
}

/// Builds the directory from its rows.
fn assemble(rows: Rows) -> Result<Directory> {
    let mut directory = Directory::default();
    for (import_id, localpart, first_name, last_name, role, consent, status, since) in rows.people {
        let person = Person {
            role: Role::from_stored(&role).ok_or_else(|| corrupt("role", &role))?,
            status: status_from(&status, since)?,
            import_id: import_id.clone(),
            localpart,
            first_name,
            last_name,
            groups: BTreeSet::new(),
            children: BTreeSet::new(),
            consent: consent != 0,
        };
        directory.people.insert(import_id, person);
    }
    for (group, import_id) in rows.members {
        if let Some(person) = directory.people.get_mut(&import_id) {
            person.groups.insert(group);
        }
    }
    for (parent, child) in rows.children {
        if let Some(person) = directory.people.get_mut(&parent) {
            person.children.insert(child);
        }
    }
    for (name, kind, created_by) in rows.groups {
        let kind = GroupKind::from_stored(&kind).ok_or_else(|| corrupt("group kind", &kind))?;
        let group = Group {
            name: name.clone(),
            kind,
            created_by,
        };
        directory.groups.insert(name, group);
    }
    Ok(directory)
}

/// `($1, $2), ($3, $4)` for `rows` rows of `width` values.
fn placeholders(rows: usize, width: usize) -> String {
    let row = |r: usize| {
        let values: Vec<String> = (1..=width).map(|i| format!("${}", r * width + i)).collect();
        format!("({})", values.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// Runs `{head} VALUES (...), (...) {tail}` for `values` (rows of `width` values, flattened),
/// in statements of at most [`ROWS_PER_INSERT`] rows.
async fn insert_many(
    tx: &mut Tx,
    head: &str,
    tail: &str,
    width: usize,
    values: &[Value<'_>],
) -> Result<()> {
    for chunk in values.chunks(width * ROWS_PER_INSERT) {
        let sql = format!(
            "{head} VALUES {} {tail}",
            placeholders(chunk.len() / width, width)
        );
        with_tx!(tx, |c| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for value in chunk {
                query = match value {
                    Value::Text(text) => query.bind(*text),
                    Value::Int(int) => query.bind(*int),
                };
            }
            query.execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Runs one statement with text parameters inside the transaction.
async fn execute(tx: &mut Tx, sql: &'static str, params: &[&str]) -> Result<u64> {
    let done = with_tx!(tx, |c| {
        let mut query = sqlx::query(sql);
        for param in params {
            query = query.bind(*param);
        }
        query.execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(done)
}

/// The `(a, b)` pairs of a directory: group memberships or parent–child links.
fn pairs(
    directory: &Directory,
    of: fn(&Person) -> &BTreeSet<String>,
    flip: bool,
) -> BTreeSet<(&str, &str)> {
    let people = directory.people.values();
    people
        .flat_map(|p| {
            of(p).iter().map(move |other| {
                if flip {
                    (other.as_str(), p.import_id.as_str())
                } else {
                    (p.import_id.as_str(), other.as_str())
                }
            })
        })
        .collect()
}

/// Brings a pair table from `before` to `after`.
async fn sync_pairs(
    tx: &mut Tx,
    (insert, delete): (&str, &'static str),
    before: &BTreeSet<(&str, &str)>,
    after: &BTreeSet<(&str, &str)>,
) -> Result<()> {
    for (a, b) in before.difference(after) {
        execute(tx, delete, &[a, b]).await?;
    }
    let added: Vec<Value> = after
        .difference(before)
        .flat_map(|(a, b)| [Value::Text(Some(a)), Value::Text(Some(b))])
        .collect();
    insert_many(tx, insert, "", 2, &added).await
}

/// The values of a `people` row.
fn person_values(p: &Person) -> [Value<'_>; 8] {
    let (status, since) = status_columns(p.status);
    [
        Value::Text(Some(&p.import_id)),
        Value::Text(Some(&p.localpart)),
        Value::Text(Some(&p.first_name)),
        Value::Text(Some(&p.last_name)),
        Value::Text(Some(p.role.as_str())),
        Value::Int(Some(i64::from(p.consent))),
        Value::Text(Some(status)),
        Value::Int(since),
    ]
}

/// Whether two versions of a person differ in a `people` column.
fn row_differs(a: &Person, b: &Person) -> bool {
    (
        &a.localpart,
        &a.first_name,
        &a.last_name,
        a.role,
        a.consent,
        a.status,
    ) != (
        &b.localpart,
        &b.first_name,
        &b.last_name,
        b.role,
        b.consent,
        b.status,
    )
}

impl Db {
    /// The whole stored directory.
    pub async fn load_directory(&self) -> Result<Directory> {
        let rows = with_db!(self, |pool| {
            let mut c = pool.acquire().await?;
            read_rows!(c).await
        })?;
        assemble(rows)
    }

    /// The whole stored directory, read inside the caller's transaction.
    pub async fn load_directory_tx(tx: &mut Tx) -> Result<Directory> {
        let rows = with_tx!(tx, |c| read_rows!(c).await)?;
        assemble(rows)
    }

    /// A listener for directory changes (see [`DirectoryListener`]).
    pub async fn directory_listener(&self) -> DirectoryListener {
        let Db::Postgres(pool) = self else {
            return DirectoryListener(None);
        };
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(DIRECTORY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(listener) => DirectoryListener(Some(listener)),
            Err(err) => {
                tracing::warn!(%err, "cannot listen for directory changes; polling only");
                DirectoryListener(None)
            }
        }
    }

    /// The directory version (0 before the first change): a cheap single-row read.
    pub async fn directory_version(&self) -> Result<i64> {
        let sql = "SELECT value FROM meta WHERE key = $1";
        let version: Option<i64> = with_db!(self, |c| sqlx::query_scalar(sql)
            .bind(VERSION_KEY)
            .fetch_optional(c)
            .await)?;
        Ok(version.unwrap_or(0))
    }

    /// Increments the directory version inside the caller's transaction and returns the new
    /// value. Call it first in a directory change: it locks the version row until commit, so
    /// changes never interleave. On PostgreSQL it also notifies [`DIRECTORY_CHANNEL`].
    pub async fn bump_directory_version(tx: &mut Tx) -> Result<i64> {
        let sql = "INSERT INTO meta (key, value) VALUES ($1, 1)
                   ON CONFLICT (key) DO UPDATE SET value = meta.value + 1 RETURNING value";
        let version: i64 = with_tx!(tx, |c| sqlx::query_scalar(sql)
            .bind(VERSION_KEY)
            .fetch_one(c)
            .await)?;
        if let Tx::Postgres(t) = tx {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(DIRECTORY_CHANNEL)
                .bind(version.to_string())
                .execute(&mut **t)
                .await?;
        }
        Ok(version)
    }

    /// Writes the difference between `before` (as stored) and `after` inside the caller's
    /// transaction: only changed rows are touched.
    pub async fn write_directory(tx: &mut Tx, before: &Directory, after: &Directory) -> Result<()> {
        let mut new_people = Vec::new();
        for person in after.people.values() {
            match before.people.get(&person.import_id) {
                None => new_people.extend(person_values(person)),
                Some(old) if row_differs(old, person) => {
                    let sql = "UPDATE people SET localpart = $2, first_name = $3, last_name = $4,
                               role = $5, consent = $6, status = $7, deactivated_ts = $8
                               WHERE import_id = $1";
                    with_tx!(tx, |c| {
                        let mut query = sqlx::query(sql);
                        for value in person_values(person) {
                            query = match value {
                                Value::Text(text) => query.bind(text),
                                Value::Int(int) => query.bind(int),
                            };
                        }
                        query.execute(c).await.map(|r| r.rows_affected())
                    })?;
                }
                Some(_) => {}
            }
        }
        let gone = before
            .people
            .keys()
            .filter(|id| !after.people.contains_key(*id));
        for import_id in gone {
            execute(tx, "DELETE FROM people WHERE import_id = $1", &[import_id]).await?;
        }
        let head = "INSERT INTO people (import_id, localpart, first_name, last_name, role, consent, status, deactivated_ts)";
        insert_many(tx, head, "", 8, &new_people).await?;
        sync_pairs(
            tx,
            (
                "INSERT INTO group_members (group_name, import_id)",
                "DELETE FROM group_members WHERE group_name = $1 AND import_id = $2",
            ),
            &pairs(before, |p| &p.groups, true),
            &pairs(after, |p| &p.groups, true),
        )
        .await?;
        sync_pairs(
            tx,
            (
                "INSERT INTO parent_children (parent, child)",
                "DELETE FROM parent_children WHERE parent = $1 AND child = $2",
            ),
            &pairs(before, |p| &p.children, false),
            &pairs(after, |p| &p.children, false),
        )
        .await?;
        Self::write_groups(tx, before, after).await
    }

    /// The group part of [`Db::write_directory`].
    async fn write_groups(tx: &mut Tx, before: &Directory, after: &Directory) -> Result<()> {
        for name in before.groups.keys() {
            if after.groups.get(name) != before.groups.get(name) {
                execute(tx, "DELETE FROM directory_groups WHERE name = $1", &[name]).await?;
            }
        }
        let added: Vec<Value> = after
            .groups
            .values()
            .filter(|g| before.groups.get(&g.name) != Some(g))
            .flat_map(|g| {
                [
                    Value::Text(Some(&g.name)),
                    Value::Text(Some(g.kind.as_str())),
                    Value::Text(g.created_by.as_deref()),
                ]
            })
            .collect();
        let head = "INSERT INTO directory_groups (name, kind, created_by)";
        insert_many(tx, head, "", 3, &added).await
    }

    /// Creates accounts inside the caller's transaction (fails with [`StoreError::Conflict`]
    /// if one exists).
    pub async fn create_users_tx(tx: &mut Tx, users: &[UserRow], now: i64) -> Result<()> {
        let values: Vec<Value> = users
            .iter()
            .flat_map(|u| {
                [
                    Value::Text(Some(&u.user_id)),
                    Value::Text(u.password_hash.as_deref()),
                    Value::Text(u.displayname.as_deref()),
                    Value::Text(u.avatar_url.as_deref()),
                    Value::Int(Some(i64::from(u.is_admin))),
                    Value::Int(Some(i64::from(u.deactivated))),
                    Value::Int(Some(now)),
                ]
            })
            .collect();
        let head = "INSERT INTO users (user_id, password_hash, displayname, avatar_url, is_admin, deactivated, created_ts)";
        insert_many(tx, head, "", 7, &values)
            .await
            .map_err(|e| match e {
                StoreError::Sqlx(e) => StoreError::from_write(e),
                other => other,
            })
    }

    /// Sets a user's display name inside the caller's transaction.
    pub async fn set_displayname_tx(tx: &mut Tx, user_id: &str, name: &str) -> Result<()> {
        let sql = "UPDATE users SET displayname = $2 WHERE user_id = $1";
        execute(tx, sql, &[user_id, name]).await.map(drop)
    }

    /// Marks an account deactivated (or active again) inside the caller's transaction.
    pub async fn set_deactivated_tx(tx: &mut Tx, user_id: &str, deactivated: bool) -> Result<()> {
        let sql = if deactivated {
            "UPDATE users SET deactivated = 1 WHERE user_id = $1"
        } else {
            "UPDATE users SET deactivated = 0 WHERE user_id = $1"
        };
        execute(tx, sql, &[user_id]).await.map(drop)
    }

    /// Removes a user's password inside the caller's transaction (login only with a new
    /// start code).
    pub async fn clear_password_tx(tx: &mut Tx, user_id: &str) -> Result<()> {
        let sql = "UPDATE users SET password_hash = NULL WHERE user_id = $1";
        execute(tx, sql, &[user_id]).await.map(drop)
    }

    /// Deletes every access token of a user inside the caller's transaction (all sessions
    /// end; devices and their keys stay), and the pushers those sessions registered with their
    /// waiting notifications (a locked phone gets no more pushes). Returns the number of
    /// tokens deleted.
    pub async fn revoke_sessions_tx(tx: &mut Tx, user_id: &str) -> Result<u64> {
        for sql in [
            "DELETE FROM push_outbox WHERE user_id = $1",
            "DELETE FROM pushers WHERE user_id = $1",
        ] {
            execute(tx, sql, &[user_id]).await?;
        }
        execute(
            tx,
            "DELETE FROM access_tokens WHERE user_id = $1",
            &[user_id],
        )
        .await
    }

    /// Every user ID with an account and every localpart ever used by the directory, read
    /// inside the caller's transaction: names a new account must not get.
    pub async fn taken_names_tx(tx: &mut Tx) -> Result<(Vec<String>, Vec<String>)> {
        Ok(with_tx!(tx, |c| read_taken!(c).await)?)
    }

    /// Like [`Db::taken_names_tx`], outside a transaction (for previews).
    pub async fn taken_names(&self) -> Result<(Vec<String>, Vec<String>)> {
        Ok(with_db!(self, |pool| {
            let mut c = pool.acquire().await?;
            read_taken!(c).await
        })?)
    }

    /// Records localparts as used for good (they are never given to anyone else).
    pub async fn add_used_localparts_tx(tx: &mut Tx, localparts: &[&str], now: i64) -> Result<()> {
        let values: Vec<Value> = localparts
            .iter()
            .flat_map(|l| [Value::Text(Some(l)), Value::Int(Some(now))])
            .collect();
        let head = "INSERT INTO used_localparts (localpart, created_ts)";
        insert_many(tx, head, "ON CONFLICT (localpart) DO NOTHING", 2, &values).await
    }

    /// Appends audit log entries inside the caller's transaction.
    pub async fn audit_tx(tx: &mut Tx, rows: &[AuditRow]) -> Result<()> {
        let values: Vec<Value> = rows
            .iter()
            .flat_map(|r| {
                [
                    Value::Int(Some(r.ts)),
                    Value::Text(Some(&r.actor)),
                    Value::Text(Some(&r.action)),
                    Value::Text(Some(&r.target)),
                    Value::Text(Some(&r.detail)),
                ]
            })
            .collect();
        let head = "INSERT INTO audit_log (ts, actor, action, target, detail)";
        insert_many(tx, head, "", 5, &values).await
    }

    /// The audit log entries about `target` or by `actor`, oldest first.
    pub async fn audit_log(&self, target: &str, actor: &str) -> Result<Vec<AuditRow>> {
        let sql = "SELECT ts, actor, action, target, detail FROM audit_log
                   WHERE target = $1 OR actor = $2 ORDER BY ts";
        let rows: Vec<AuditColumns> = with_db!(self, |c| sqlx::query_as(sql)
            .bind(target)
            .bind(actor)
            .fetch_all(c)
            .await)?;
        Ok(rows.into_iter().map(AuditRow::from).collect())
    }
}
