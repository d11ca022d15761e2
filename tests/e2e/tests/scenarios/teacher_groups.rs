//! Teachers' own groups on the web page `/_schulhof/groups`: students and parents are told in
//! German that they cannot create groups; a teacher's invalid input (name, duplicates,
//! unknown or unreachable people) is refused with a German error and changes nothing; a
//! created group is in force at once (a student of it may write to another student of it who
//! is in no other group with them, without a restart), and adding, removing, re-importing the
//! school (the group stays, people who left drop out) and dissolving work as the teacher sees
//! them on the page and the admin in `schulhof group`.

use anyhow::{ensure, Context, Result};
use schulhof_e2e::{backend_tests, create_room, direct_chat, Browser, PageResponse, TestServer};

use crate::appservice::{login, PASSWORD};

backend_tests!(teachers_make_their_own_groups);

/// Ben (8a) and Nora (8b) share no group; Paul has no consent (he cannot use Schulhof).
const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8a;;ja
S-1;Ben;Müller;Schüler;Klasse 8a;;ja
S-2;Nora;Fischer;Schülerin;Klasse 8b;;ja
S-3;Tom;Berg;Schüler;Klasse 8b;;ja
S-4;Paul;Klein;Schüler;Klasse 8b;;nein
E-1;Eva;Müller;Sorgeberechtigte;;S-1;ja
";

const PAGE: &str = "/_schulhof/groups";

/// What Ben reads when he may not write to Nora.
const OUT_OF_REACH: &str = "Du kannst nur Personen aus deiner Klasse und deinen Gruppen und Lehrkräften schreiben. Eine Lehrkraft kann euch zusammen in einen Raum einladen.";

async fn teachers_make_their_own_groups(server: &TestServer) -> Result<()> {
    server.import("schule.csv", SCHOOL, &[]).await?;
    let ben = login(server, "ben.mueller").await?;
    login(server, "anna.schmidt").await?;
    login(server, "eva.mueller").await?;
    create_room(&ben, direct_chat("nora.fischer"))
        .await?
        .expect_forbidden(OUT_OF_REACH)?;

    // Students and parents cannot use the page.
    for (who, text) in [
        (
            "ben.mueller",
            "Du kannst keine Gruppen anlegen. Das können Lehrkräfte.",
        ),
        (
            "eva.mueller",
            "Sie können keine Gruppen anlegen. Bitte wenden Sie sich an eine Lehrkraft.",
        ),
    ] {
        let mut browser = Browser::new(server, PAGE)?;
        let refused = browser.log_in_with(who, PASSWORD).await?;
        ensure!(refused.status == 403, "{who}: {}", refused.status);
        ensure!(
            refused.error() == Some(text),
            "{who}: {:?}",
            refused.error()
        );
    }

    let mut anna = Browser::new(server, PAGE)?;
    let login = anna.log_in_with("anna.schmidt", PASSWORD).await?;
    ensure!(login.status == 303 && login.location.ends_with(PAGE));
    let page = anna.get().await?;
    ensure!(page.html.contains("Du hast noch keine eigenen Gruppen."));

    refused_input(&mut anna).await?;
    let forged = anna
        .post(&[
            ("csrf", "falsch"),
            ("step", "create"),
            ("name", "AG Schach"),
            ("members", "ben.mueller"),
        ])
        .await?;
    expect_error(
        &forged,
        403,
        "Das Formular ist abgelaufen. Bitte sende es noch einmal ab (Cookies müssen erlaubt sein).",
    )?;
    ensure!(
        !group_list(server).await?.contains("AG Schach"),
        "nothing was created"
    );

    let created = create(&mut anna, "AG Schach", "ben.mueller\nnora.fischer").await?;
    expect_ok(
        &created,
        "Die Gruppe „AG Schach“ ist angelegt. Ihr Raum erscheint gleich in Element.",
    )?;
    for shown in [
        "<h2>AG Schach</h2>",
        "Nora Fischer",
        "Ben Müller",
        "3 Personen",
    ] {
        ensure!(created.html.contains(shown), "page shows {shown}");
    }
    // In force at once: Ben may now write to Nora.
    create_room(&ben, direct_chat("nora.fischer"))
        .await?
        .ok()
        .context("Ben writes to Nora of his group")?;

    let added = anna
        .submit("add", &[("group", "AG Schach"), ("members", "tom.berg")])
        .await?;
    expect_ok(&added, "Aufgenommen in „AG Schach“.")?;
    let again = anna
        .submit("add", &[("group", "AG Schach"), ("members", "ben.mueller")])
        .await?;
    expect_error(
        &again,
        400,
        "„Ben Müller“ (ben.mueller) ist schon in der Gruppe.",
    )?;
    let removed = anna
        .submit(
            "remove",
            &[("group", "AG Schach"), ("member", "nora.fischer")],
        )
        .await?;
    expect_ok(&removed, "nora.fischer ist nicht mehr in „AG Schach“.")?;
    create_room(&ben, direct_chat("nora.fischer"))
        .await?
        .expect_forbidden(OUT_OF_REACH)?;
    ensure!(group_list(server)
        .await?
        .contains("AG Schach (Gruppe, 3 Mitglieder, angelegt von anna.schmidt)"));

    // A new import keeps the group and drops only who left the school (Tom).
    let without_tom: String = SCHOOL
        .lines()
        .filter(|l| !l.starts_with("S-3"))
        .map(|l| format!("{l}\n"))
        .collect();
    server.import("schule-neu.csv", &without_tom, &[]).await?;
    let shown = server.cli(&["group", "show", "AG Schach"], None).await?;
    ensure!(
        shown.contains("ben.mueller") && shown.contains("anna.schmidt"),
        "{shown}"
    );
    ensure!(!shown.contains("tom.berg"), "Tom left the school: {shown}");

    let unconfirmed = anna.submit("dissolve", &[("group", "AG Schach")]).await?;
    expect_error(
        &unconfirmed,
        400,
        "Bitte bestätige das Auflösen mit dem Häkchen.",
    )?;
    let dissolved = anna
        .submit("dissolve", &[("group", "AG Schach"), ("confirm", "ja")])
        .await?;
    expect_ok(
        &dissolved,
        "Die Gruppe „AG Schach“ ist aufgelöst. Ihr Raum bleibt als Archiv lesbar.",
    )?;
    ensure!(!group_list(server).await?.contains("AG Schach"));
    Ok(())
}

/// Invalid input: each refused with its German message, nothing stored (all or nothing).
async fn refused_input(anna: &mut Browser) -> Result<()> {
    let cases = [
        ("AG", "ben.mueller", 400, "Der Gruppenname muss 3 bis 60 Zeichen lang sein."),
        (
            "Klasse 9z",
            "ben.mueller",
            400,
            "Namen wie „Klasse …“, „Sorgeberechtigte …“, „Fachkonferenz …“ oder „Kollegium“ sind den Gruppen der Schulverwaltung vorbehalten. Bitte wähle einen anderen Namen.",
        ),
        (
            "AG Schach",
            "ben.mueller, nora.fischer ben.mueller",
            400,
            "„ben.mueller“ steht mehrfach in der Liste.",
        ),
        (
            "AG Schach",
            "ben.mueller niemand.da",
            400,
            "„niemand.da“ gibt es im Schulverzeichnis nicht.",
        ),
        (
            "AG Schach",
            "ben.mueller, nora.fischer, paul.klein",
            403,
            "„Paul Klein“ (paul.klein): Diese Person kann Schulhof zurzeit nicht nutzen. Bitte erreichen Sie sie auf anderem Weg.",
        ),
        (
            "AG Schach",
            "anna.schmidt",
            400,
            "Du selbst gehörst immer zu deinen Gruppen; bitte nenne nur die anderen.",
        ),
    ];
    for (name, members, status, text) in cases {
        let page = create(anna, name, members).await?;
        expect_error(&page, status, text).with_context(|| format!("{name}: {members}"))?;
        // The refused input is shown again.
        ensure!(
            page.html.contains(&format!("value=\"{name}\"")),
            "name kept"
        );
    }
    Ok(())
}

async fn create(browser: &mut Browser, name: &str, members: &str) -> Result<PageResponse> {
    browser
        .submit("create", &[("name", name), ("members", members)])
        .await
}

fn expect_ok(page: &PageResponse, text: &str) -> Result<()> {
    ensure!(
        page.status == 200 && page.ok() == Some(text),
        "expected {text:?}, got {} {:?} {:?}",
        page.status,
        page.ok(),
        page.error()
    );
    Ok(())
}

fn expect_error(page: &PageResponse, status: u16, text: &str) -> Result<()> {
    ensure!(
        page.status == status && page.error() == Some(text),
        "expected {status} {text:?}, got {} {:?}",
        page.status,
        page.error()
    );
    Ok(())
}

async fn group_list(server: &TestServer) -> Result<String> {
    server.cli(&["group", "list"], None).await
}
