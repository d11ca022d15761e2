//! Personal quiet hours on SQLite and PostgreSQL: a teacher moves the window through the
//! account data (stored, in the cache, in the account data at once), a refused change stores
//! nothing, students have none, and an admin's change from another process (the CLI) reaches
//! the serving process through the directory version.

#[macro_use]
mod support;

use ruma::{OwnedUserId, UserId};
use schulhof_directory::parse_csv;
use schulhof_quiet_hours::{chrono::DateTime, ScheduleSpec};
use schulhof_server::config::Config;
use schulhof_server::service::quiet_hours::personal::{self, account_data, Edit};
use schulhof_server::service::school::directory::SchoolDirectory;
use schulhof_server::service::school::import;
use schulhof_server::service::user::account_data::{account_data as get, set_account_data};
use schulhof_server::state::AppState;
use serde_json::{json, Value};
use support::{Backend, TestState};

on_both!(
    a_teacher_moves_the_window_through_account_data,
    an_admin_change_reaches_the_serving_process,
);

const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
L-2;Jürgen;Groß;Lehrkraft;Lehrer, Klasse 8b;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
";

async fn import_school(state: &AppState) {
    let file = parse_csv(SCHOOL.as_bytes()).unwrap();
    import::apply(state, &file, "test")
        .await
        .expect("no database error")
        .expect("importable");
}

fn user(localpart: &str) -> OwnedUserId {
    UserId::parse(format!("@{localpart}:schule.test")).unwrap()
}

/// Monday 2026-03-02, 18:30 in Berlin: quiet by the school's times (from 18:00), not by a
/// window moved to 19:00.
const MONDAY_1830: i64 = 1_772_472_600_000;

/// Whether `localpart`'s schedule in force in this process is quiet at [`MONDAY_1830`].
fn quiet_at_1830(state: &AppState, localpart: &str) -> bool {
    let at = DateTime::from_timestamp_millis(MONDAY_1830).unwrap();
    match state
        .quiet_hours
        .personal_schedule(user(localpart).as_str())
    {
        Some(schedule) => schedule.is_quiet(at),
        None => state.quiet_hours.rules().school_schedule().is_quiet(at),
    }
}

const TYPE: &str = account_data::QUIET_HOURS_TYPE;

/// The account data as stored (what `/sync` delivers), not the computed `GET`.
async fn stored(state: &AppState, localpart: &str) -> Option<Value> {
    let json = state
        .db
        .account_data(user(localpart).as_str(), "", TYPE)
        .await
        .unwrap()?;
    Some(serde_json::from_str(&json).unwrap())
}

async fn a_teacher_moves_the_window_through_account_data(backend: Backend) {
    let test = TestState::new(backend, "qh_own").await;
    let state = &*test.state;
    import_school(state).await;
    let anna = user("anna.schmidt");
    assert!(quiet_at_1830(state, "anna.schmidt"), "the school's 18:00");

    let moved = json!({ "begin": "19:00", "end": "06:30" });
    set_account_data(state, &anna, None, TYPE, &moved)
        .await
        .unwrap();
    let row = state.db.personal_quiet_hours(anna.as_str()).await.unwrap();
    let row = row.expect("stored");
    assert_eq!(
        (row.window_begin.as_deref(), row.window_end.as_deref()),
        (Some("19:00"), Some("06:30"))
    );
    assert!(!quiet_at_1830(state, "anna.schmidt"), "in force at once");
    assert_eq!(
        get(state, &anna, None, TYPE).await.unwrap(),
        Some(moved.clone())
    );
    assert_eq!(stored(state, "anna.schmidt").await, Some(moved.clone()));

    // Out of bounds: 400 naming the field, and nothing changed.
    let early = json!({ "begin": "15:00", "end": "06:30" });
    let err = set_account_data(state, &anna, None, TYPE, &early)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.errcode()),
        (400, "M_INVALID_PARAM")
    );
    assert_eq!(
        err.text().de,
        "Feld „begin“: Beginn 15:00 liegt außerhalb der von der Schule erlaubten Zeit (16:00 bis 22:00)."
    );
    let after = state.db.personal_quiet_hours(anna.as_str()).await.unwrap();
    assert_eq!(after, Some(row));
    assert_eq!(stored(state, "anna.schmidt").await, Some(moved));
    assert!(!quiet_at_1830(state, "anna.schmidt"));

    // A student has no quiet hours: refused, nothing stored.
    let ben = user("ben.mueller");
    let err = set_account_data(
        state,
        &ben,
        None,
        TYPE,
        &json!({ "begin": "19:00", "end": "06:30" }),
    )
    .await
    .unwrap_err();
    assert_eq!(err.errcode(), "M_FORBIDDEN");
    assert_eq!(err.text().de, "Ruhezeiten gelten nur für Lehrkräfte.");
    assert_eq!(
        state.db.personal_quiet_hours(ben.as_str()).await.unwrap(),
        None
    );
    assert_eq!(stored(state, "ben.mueller").await, None);

    // Back to the school's times.
    let reset = json!({ "begin": null, "end": null });
    set_account_data(state, &anna, None, TYPE, &reset)
        .await
        .unwrap();
    assert_eq!(
        state.db.personal_quiet_hours(anna.as_str()).await.unwrap(),
        None
    );
    assert_eq!(
        get(state, &anna, None, TYPE).await.unwrap(),
        Some(json!({}))
    );
    assert_eq!(stored(state, "anna.schmidt").await, Some(json!({})));
    assert!(quiet_at_1830(state, "anna.schmidt"));
}

async fn an_admin_change_reaches_the_serving_process(backend: Backend) {
    let test = TestState::new(backend, "qh_admin").await;
    let server = &*test.state;
    import_school(server).await;
    personal::reload(server).await.unwrap();
    // The CLI is another process with a state of its own on the same database.
    let config = Config::parse(&test_config(server)).unwrap();
    let cli = AppState::new(config).await.unwrap();
    let juergen = user("juergen.gross");

    let part_time: ScheduleSpec = toml_spec(
        "windows = [\n { begin = \"Mo-Fr 18:45\", end = \"Mo-Fr 07:00\", movable = true },\n]\n",
    );
    personal::change_as_admin(
        &cli,
        "cli",
        "juergen.gross",
        Edit::Schedule(Some(part_time)),
    )
    .await
    .unwrap();
    assert!(quiet_at_1830(server, "juergen.gross"), "not yet noticed");
    assert!(
        SchoolDirectory::refresh(server).await.unwrap(),
        "version bumped"
    );
    personal::reload(server).await.unwrap();
    assert!(!quiet_at_1830(server, "juergen.gross"), "the admin's 18:45");
    assert_eq!(stored(server, "juergen.gross").await, Some(json!({})));

    let window = |begin: &str, end: &str| {
        Edit::Window(Some(schulhof_quiet_hours::PersonalWindow {
            begin: begin.parse().unwrap(),
            end: end.parse().unwrap(),
        }))
    };
    let err = personal::change_as_admin(&cli, "cli", "juergen.gross", window("19:00", "09:30"))
        .await
        .unwrap_err();
    assert_eq!(err.text().de, "Feld „end“: Ende 09:30 liegt außerhalb der von der Schule erlaubten Zeit (05:00 bis 09:00).");
    personal::change_as_admin(&cli, "cli", "juergen.gross", window("20:00", "06:00"))
        .await
        .unwrap();
    assert!(SchoolDirectory::refresh(server).await.unwrap());
    personal::reload(server).await.unwrap();
    let moved = json!({ "begin": "20:00", "end": "06:00" });
    assert_eq!(
        stored(server, "juergen.gross").await,
        Some(moved),
        "account data in line"
    );

    let audit = server.db.audit_log("juergen.gross", "").await.unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .filter(|row| row.action.starts_with("quiet_hours."))
        .map(|row| row.action.as_str())
        .collect();
    assert_eq!(actions, ["quiet_hours.schedule", "quiet_hours.window"]);

    personal::change_as_admin(&cli, "cli", "juergen.gross", Edit::Reset)
        .await
        .unwrap();
    assert!(SchoolDirectory::refresh(server).await.unwrap());
    personal::reload(server).await.unwrap();
    assert!(quiet_at_1830(server, "juergen.gross"), "the school's again");
    assert_eq!(stored(server, "juergen.gross").await, Some(json!({})));
    assert!(server
        .quiet_hours
        .personal_schedule(juergen.as_str())
        .is_none());
}

fn toml_spec(text: &str) -> ScheduleSpec {
    schulhof_quiet_hours::QuietHours::from_texts(
        "quiet-hours.toml",
        schulhof_quiet_hours::DEFAULT_QUIET_HOURS_TOML,
        &[],
    )
    .unwrap()
    .person_schedule_from_text("person.toml", text)
    .unwrap()
}

/// The configuration of `state` again (for a second process on the same database).
fn test_config(state: &AppState) -> String {
    let c = &state.config;
    format!(
        "server_name = \"schule.test\"\nlisten = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\n\
         media_path = \"{}\"\npublic_baseurl = \"https://chat.schule.test/\"\n\
         school_name = \"Testschule\"\n\n[accounts]\nsecret_key_file = \"{}\"\n",
        c.database_url,
        c.media_path.display(),
        c.accounts.secret_key_file.display(),
    )
}
