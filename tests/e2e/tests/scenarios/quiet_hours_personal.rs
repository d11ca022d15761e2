//! Teachers move their quiet hours: with the account data `de.schulhof.quiet_hours` from their
//! client (checked by the server: 400 naming the field, 403 for students, nothing stored then),
//! on the web page `/_schulhof/quiet-hours` (login, CSRF, errors in German) and by an admin
//! with `schulhof quiet-hours`, which the running server picks up without a restart. The window
//! a teacher moved decides at once which messages wait for her.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use matrix_sdk::ruma::events::GlobalAccountDataEventType;
use matrix_sdk::ruma::serde::Raw;
use schulhof_e2e::{backend_tests, server_binary, user_id_of, Browser, TestServer, TestUser};

use crate::quiet_hours::{chat, school, send, sync, timeline_bodies, MONDAY_MORNING};
use serde_json::{json, Value};

backend_tests!(
    teachers_move_their_quiet_hours,
    a_moved_window_decides_what_is_held
);

/// The password every imported person gets here.
const PASSWORD: &str = "Gruen-Tanne-4711";

/// Two teachers and a student.
const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
L-2;Jürgen;Groß;Lehrkraft;Lehrer, Klasse 8b;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
";

/// The web page.
const PAGE: &str = "/_schulhof/quiet-hours";

/// The account data type.
const TYPE: &str = "de.schulhof.quiet_hours";

/// What a person without quiet hours reads.
const NOT_FOR_YOU: &str = "Ruhezeiten gelten nur für Lehrkräfte.";

/// How long the running server may take to notice a change by the CLI.
const PICKUP: Duration = Duration::from_secs(3);

async fn teachers_move_their_quiet_hours(server: &TestServer) -> Result<()> {
    server
        .import("schule.csv", SCHOOL, &["--letters", "briefe"])
        .await?;
    for localpart in ["anna.schmidt", "juergen.gross", "ben.mueller"] {
        server
            .cli(
                &["user", "set-password", localpart],
                Some(&format!("{PASSWORD}\n")),
            )
            .await?;
    }
    let anna = TestUser::login_with_password(server, "anna.schmidt", PASSWORD).await?;
    let ben = TestUser::login_with_password(server, "ben.mueller", PASSWORD).await?;
    account_data(server, &anna, &ben)
        .await
        .context("account data")?;
    web_page(server).await.context("web page")?;
    admin_cli(server, &anna).await.context("admin CLI")?;
    Ok(())
}

/// The path of the account data of `localpart`.
fn path(localpart: &str) -> String {
    format!(
        "/_matrix/client/v3/user/{}/account_data/{TYPE}",
        user_id_of(localpart)
    )
}

/// The window `schulhof quiet-hours show` prints.
async fn shown_window(server: &TestServer, localpart: &str) -> Result<String> {
    let shown = server
        .cli(&["quiet-hours", "show", localpart], None)
        .await?;
    let line = shown
        .lines()
        .find(|line| line.contains("Verschobenes Fenster:"))
        .with_context(|| format!("no window in {shown}"))?;
    Ok(line.trim().to_owned())
}

async fn account_data(server: &TestServer, anna: &TestUser, ben: &TestUser) -> Result<()> {
    // The teacher's client moves the window.
    let moved = json!({ "begin": "19:00", "end": "06:30" });
    anna.client
        .account()
        .set_account_data_raw(
            GlobalAccountDataEventType::from(TYPE),
            Raw::new(&moved)?.cast_unchecked(),
        )
        .await
        .context("PUT with matrix-sdk")?;
    let api = anna.raw();
    ensure!(api.get(&path("anna.schmidt")).await?.ok()? == moved);
    ensure!(shown_window(server, "anna.schmidt").await? == "Verschobenes Fenster: 19:00 bis 06:30");
    anna.sync().await?;
    let synced = anna
        .client
        .account()
        .account_data_raw(GlobalAccountDataEventType::from(TYPE))
        .await?
        .context("the account data came with /sync")?;
    ensure!(synced.deserialize_as_unchecked::<Value>()? == moved);

    // Outside the school's bounds: 400 naming the field, nothing changed.
    let early = api
        .put(
            &path("anna.schmidt"),
            json!({ "begin": "15:00", "end": "06:30" }),
        )
        .await?;
    early.expect_error(&[400], &["M_INVALID_PARAM"])?;
    let error = early.body["error"].as_str().unwrap_or_default();
    ensure!(
        error
            == "Feld „begin“: Beginn 15:00 liegt außerhalb der von der Schule erlaubten Zeit \
                  (16:00 bis 22:00).",
        "{error}"
    );
    let unknown = api
        .put(
            &path("anna.schmidt"),
            json!({ "beginn": "19:00", "end": "06:30" }),
        )
        .await?;
    unknown.expect_error(&[400], &["M_INVALID_PARAM"])?;
    ensure!(api.get(&path("anna.schmidt")).await?.ok()? == moved);
    ensure!(shown_window(server, "anna.schmidt").await? == "Verschobenes Fenster: 19:00 bis 06:30");

    // Students have no quiet hours.
    let student = ben
        .raw()
        .put(
            &path("ben.mueller"),
            json!({ "begin": "19:00", "end": "06:30" }),
        )
        .await?;
    student.expect_forbidden(NOT_FOR_YOU)?;
    ensure!(shown_window(server, "ben.mueller").await? == "Verschobenes Fenster: keines");

    // Back to the school's times.
    api.put(&path("anna.schmidt"), json!({})).await?.ok()?;
    ensure!(api.get(&path("anna.schmidt")).await?.ok()? == json!({}));
    ensure!(shown_window(server, "anna.schmidt").await? == "Verschobenes Fenster: keines");
    Ok(())
}

async fn web_page(server: &TestServer) -> Result<()> {
    let mut browser = Browser::new(server, PAGE)?;
    let login = browser.log_in_with("juergen.gross", PASSWORD).await?;
    ensure!(
        login.status == 303,
        "login: {} {}",
        login.status,
        login.html
    );
    ensure!(login.location.ends_with("/_schulhof/quiet-hours"));
    let page = browser.get().await?;
    ensure!(page.status == 200);
    for shown in [
        "Angemeldet als <strong>Jürgen Groß</strong>",
        "Ruhezeit ab „Mo-Fr 18:00“ bis zum nächsten „Mo-Fr 07:00“ (verschiebbar)",
        "Erlaubt: Beginn zwischen 16:00 und 22:00, Ende zwischen 05:00 und 09:00.",
        "value=\"18:00\"",
    ] {
        ensure!(
            page.html.contains(shown),
            "{shown} missing in {}",
            page.html
        );
    }

    // A form without the CSRF token changes nothing.
    let forged = browser
        .post(&[("step", "save"), ("begin", "20:00"), ("end", "06:00")])
        .await?;
    ensure!(forged.status == 403, "{}", forged.html);
    ensure!(shown_window(server, "juergen.gross").await? == "Verschobenes Fenster: keines");
    // The refused form came with a new token, as after an expired form.
    let csrf = forged.csrf()?;

    // Out of bounds: the German error names the field, nothing is stored.
    let late = browser
        .post(&[
            ("csrf", &csrf),
            ("step", "save"),
            ("begin", "20:00"),
            ("end", "09:30"),
        ])
        .await?;
    ensure!(late.status == 400);
    ensure!(
        late.error()
            == Some(
                "Ende 09:30 liegt außerhalb der von der Schule erlaubten Zeit (05:00 bis 09:00)."
            ),
        "{:?}",
        late.error()
    );
    ensure!(late
        .html
        .contains("value=\"09:30\" aria-describedby=\"form-error\" aria-invalid=\"true\""));
    ensure!(shown_window(server, "juergen.gross").await? == "Verschobenes Fenster: keines");

    let saved = browser
        .post(&[
            ("csrf", &csrf),
            ("step", "save"),
            ("begin", "20:00"),
            ("end", "06:00"),
        ])
        .await?;
    ensure!(saved.status == 200, "{}", saved.html);
    ensure!(
        saved.ok()
            == Some("Gespeichert. Deine Ruhezeit beginnt jetzt um 20:00 und endet um 06:00.")
    );
    ensure!(saved
        .html
        .contains("„Mo-Fr 20:00“ bis zum nächsten „Mo-Fr 06:00“ (verschoben"));
    ensure!(
        shown_window(server, "juergen.gross").await? == "Verschobenes Fenster: 20:00 bis 06:00"
    );
    let juergen = TestUser::login_with_password(server, "juergen.gross", PASSWORD).await?;
    let in_force = juergen.raw().get(&path("juergen.gross")).await?.ok()?;
    ensure!(in_force == json!({ "begin": "20:00", "end": "06:00" }));

    let reset = browser.post(&[("csrf", &csrf), ("step", "reset")]).await?;
    ensure!(reset.ok() == Some("Zurückgesetzt. Es gelten wieder die Zeiten der Schule."));
    ensure!(juergen.raw().get(&path("juergen.gross")).await?.ok()? == json!({}));

    let out = browser.post(&[("csrf", &csrf), ("step", "logout")]).await?;
    ensure!(out.ok() == Some("Du bist abgemeldet."));

    // A student is told at the login that quiet hours are for teachers.
    let mut student = Browser::new(server, PAGE)?;
    let refused = student.log_in_with("ben.mueller", PASSWORD).await?;
    ensure!(refused.status == 403, "{}", refused.html);
    ensure!(
        refused.error() == Some(NOT_FOR_YOU),
        "{:?}",
        refused.error()
    );
    Ok(())
}

async fn admin_cli(server: &TestServer, anna: &TestUser) -> Result<()> {
    let api = anna.raw();
    let moved = server
        .cli(
            &[
                "quiet-hours",
                "window",
                "anna.schmidt",
                "--begin",
                "21:00",
                "--end",
                "06:00",
            ],
            None,
        )
        .await?;
    ensure!(
        moved.contains("Verschobenes Fenster: 21:00 bis 06:00"),
        "{moved}"
    );
    // The running server reloads and tells the teacher's client in /sync.
    let window = json!({ "begin": "21:00", "end": "06:00" });
    until_synced(anna, &window).await?;
    ensure!(api.get(&path("anna.schmidt")).await?.ok()? == window);
    let export: Value = serde_json::from_str(
        &server
            .cli(&["user", "export", "anna.schmidt"], None)
            .await?,
    )?;
    ensure!(export["quiet_hours"]["window_begin"] == "21:00", "{export}");

    // A schedule file with an error: file, line and field.
    std::fs::write(
        server.path("teilzeit.toml"),
        "windows = [\n  { begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\", movable = true },\n  { begin = \"Mi 07:00\", end = \"Do 7 Uhr\" },\n]\n",
    )?;
    let (ok, _, stderr) = cli_outcome(
        server,
        &[
            "quiet-hours",
            "set",
            "anna.schmidt",
            "--schedule",
            "teilzeit.toml",
        ],
    )?;
    ensure!(!ok);
    ensure!(
        stderr.contains("teilzeit.toml, Zeile 3, Feld „windows[1].end“"),
        "{stderr}"
    );
    std::fs::write(
        server.path("teilzeit.toml"),
        "windows = [\n  { begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\", movable = true },\n  { begin = \"Mi 07:00\", end = \"Do 07:00\" },\n]\n",
    )?;
    let set = server
        .cli(
            &[
                "quiet-hours",
                "set",
                "anna.schmidt",
                "--schedule",
                "teilzeit.toml",
            ],
            None,
        )
        .await?;
    ensure!(set.contains("Zeitplan: eigener"), "{set}");
    ensure!(
        set.contains("„Mi 07:00“ bis zum nächsten „Do 07:00“"),
        "{set}"
    );

    let (ok, _, stderr) = cli_outcome(
        server,
        &[
            "quiet-hours",
            "window",
            "anna.schmidt",
            "--begin",
            "23:00",
            "--end",
            "06:00",
        ],
    )?;
    ensure!(!ok && stderr.contains("Feld „begin“"), "{stderr}");

    server
        .cli(&["quiet-hours", "reset", "anna.schmidt"], None)
        .await?;
    until_synced(anna, &json!({})).await?;
    ensure!(api.get(&path("anna.schmidt")).await?.ok()? == json!({}));
    let audit = server.cli(&["audit", "list"], None).await?;
    for action in [
        "quiet_hours.window",
        "quiet_hours.schedule",
        "quiet_hours.reset",
    ] {
        ensure!(audit.contains(action), "{action} not audited: {audit}");
    }

    // The configuration check names file, line and field.
    let checked = server.cli(&["quiet-hours", "check"], None).await?;
    ensure!(checked.contains("eingebauten Ruhezeiten"), "{checked}");
    std::fs::create_dir_all(server.path("config/holidays"))?;
    std::fs::write(
        server.path("config/quiet-hours.toml"),
        "state = \"BB\"\n[school]\nwindows = [{ begin = \"Mo-Fr 18:00\", end = \"Mo-Fry 07:00\" }]\n",
    )?;
    let (ok, _, stderr) = cli_outcome(server, &["quiet-hours", "check"])?;
    std::fs::remove_file(server.path("config/quiet-hours.toml"))?;
    ensure!(!ok);
    ensure!(
        stderr.contains("config/quiet-hours.toml, Zeile 3, Feld „school.windows[0].end“"),
        "{stderr}"
    );
    Ok(())
}

/// Syncs until the account data in the teacher's client is `expected`: the running server
/// noticed the CLI's change, reloaded the personal schedules and stored the account data.
async fn until_synced(user: &TestUser, expected: &Value) -> Result<()> {
    let started = Instant::now();
    loop {
        user.sync().await?;
        let synced = user
            .client
            .account()
            .account_data_raw(GlobalAccountDataEventType::from(TYPE))
            .await?
            .context("account data in /sync")?
            .deserialize_as_unchecked::<Value>()?;
        if &synced == expected {
            return Ok(());
        }
        ensure!(
            started.elapsed() < PICKUP,
            "still {synced} instead of {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs an admin command that may fail: whether it succeeded, its output and its errors.
fn cli_outcome(server: &TestServer, args: &[&str]) -> Result<(bool, String, String)> {
    let output = std::process::Command::new(server_binary()?)
        .arg("--config")
        .arg(server.path("schulhof.toml"))
        .args(args)
        .current_dir(server.path(""))
        .output()?;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// Monday, 7 December 2026, 18:30 in Berlin: quiet by the school's times (from 18:00).
const MONDAY_1830: i64 = MONDAY_MORNING + 11 * 3_600_000 + 30 * 60_000;

/// With quiet hours on and the test clock at Monday 18:30: a student's message reaches a teacher
/// who moved her window to 19:00 at once; after she takes the school's times again (18:00) the
/// next one waits.
async fn a_moved_window_decides_what_is_held(server: &TestServer) -> Result<()> {
    let apis = school(server, &["anna.schmidt", "ben.mueller"]).await?;
    let (anna, ben) = (&apis[0], &apis[1]);
    anna.put(
        &path("anna.schmidt"),
        json!({ "begin": "19:00", "end": "06:30" }),
    )
    .await?
    .ok()?;
    server.set_clock(MONDAY_1830).await?;
    let room = chat(ben, anna).await?;
    let first = sync(anna, None, 0).await?;
    let since = first["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned();

    send(ben, &room, "vor-sieben").await?;
    let delivered = sync(anna, Some(&since), 2_000).await?;
    ensure!(
        timeline_bodies(&delivered, &room) == ["vor-sieben"],
        "not delivered at once: {delivered}"
    );
    let since = delivered["next_batch"]
        .as_str()
        .context("next_batch")?
        .to_owned();

    anna.put(&path("anna.schmidt"), json!({})).await?.ok()?;
    send(ben, &room, "nach-sechs").await?;
    let held = sync(anna, Some(&since), 1_000).await?;
    ensure!(
        timeline_bodies(&held, &room).is_empty(),
        "the school's 18:00 holds it: {held}"
    );
    Ok(())
}
