//! `schulhof import` as an admin runs it: errors name file, line and field and change nothing
//! (no database, no letter files); a good file writes private letter files; a dry run changes
//! nothing; the admin commands work on the imported people; letters go to the data directory
//! by default.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory with a configuration, removed on drop.
struct Site(PathBuf);

impl Site {
    fn new(name: &str) -> Site {
        let dir = std::env::temp_dir().join(format!("schulhof-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("schulhof.toml"),
            "server_name = \"schule.test\"\nlisten = \"127.0.0.1:0\"\n\
             database_url = \"sqlite://data/schulhof.db\"\nmedia_path = \"data/media\"\n\
             public_baseurl = \"https://chat.schule.test/\"\nschool_name = \"Testschule\"\n\
             [accounts]\nsecret_key_file = \"data/schulhof.key\"\n",
        )
        .unwrap();
        Site(dir)
    }

    /// Runs `schulhof --config schulhof.toml ARGS` in the site directory.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_schulhof"));
        command
            .current_dir(&self.0)
            .env("RUST_LOG", "warn")
            .args(["--config", "schulhof.toml"])
            .args(args);
        match stdin {
            None => command.output().unwrap(),
            Some(input) => {
                use std::io::Write;
                let mut child = command
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(input.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            }
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/beispiel-import.csv")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn broken_file_is_reported_by_line_and_field_and_changes_nothing() {
    let site = Site::new("broken");
    std::fs::write(
        site.path("personen.csv"),
        "ID;Vorname;Nachname;Rolle;Gruppen;Kinder\n\
         L1;Anna;Schmidt;Lehrkraft;Lehrer;\n\
         L2;Hans;Meier;Hausmeister;;\n\
         E1;Eva;Kind;Eltern;;S9\n",
    )
    .unwrap();
    let out = site.run(&["import", "personen.csv", "--letters", "briefe"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("personen.csv:3: Feld „Rolle“: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("personen.csv:4: Feld „Kinder“: "),
        "{stderr}"
    );
    assert!(stderr.contains("nichts wurde geändert"), "{stderr}");
    assert!(!site.path("briefe").exists(), "no letters");
    assert!(!site.path("data").exists(), "no database touched");
}

#[test]
fn import_writes_private_letters_and_admin_commands_work() {
    let site = Site::new("good");
    let example = example();
    let example = example.to_str().unwrap();

    let out = site.run(&["import", example, "--dry-run"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Probelauf: nichts geändert."));
    let out = site.run(&["user", "list"], None);
    assert!(
        text(&out.stdout).contains("0 Personen"),
        "dry run stored nothing"
    );

    let out = site.run(&["import", example, "--letters", "briefe"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Zugangsbriefe für 10 Konten"));
    assert_eq!(mode(&site.path("briefe")), 0o700);
    for file in ["zugangsbriefe.csv", "zugangsbriefe.html"] {
        assert_eq!(mode(&site.path("briefe").join(file)), 0o600, "{file}");
    }
    let csv = std::fs::read_to_string(site.path("briefe/zugangsbriefe.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11);
    assert!(csv.contains("anna.schmidt;Anna Schmidt;"));
    let html = std::fs::read_to_string(site.path("briefe/zugangsbriefe.html")).unwrap();
    assert_eq!(html.matches("class=\"brief\"").count(), 10);
    assert!(html.contains("https://chat.schule.test/erstanmeldung"));

    // Letters are never overwritten.
    let out = site.run(
        &[
            "user",
            "reset-password",
            "ben.mueller",
            "--letters",
            "briefe",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let out = site.run(
        &[
            "user",
            "reset-password",
            "ben.mueller",
            "--letters",
            "reset",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reset = std::fs::read_to_string(site.path("reset/zugangsbriefe.csv")).unwrap();
    assert!(reset.contains("ben.mueller;Ben Müller;"));
    // Without --letters they go to the data directory (the one holding media_path), never the
    // working directory, and the output names them with their full path.
    let out = site.run(&["user", "reset-password", "ben.mueller"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let letter_dirs = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("zugangsbriefe-")
            })
            .count()
    };
    assert_eq!(letter_dirs(&site.path("data")), 1);
    assert_eq!(letter_dirs(&site.0), 0);
    let data = std::fs::canonicalize(site.path("data")).unwrap();
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!("{}/zugangsbriefe-", data.display())),
        "{shown}"
    );

    let out = site.run(&["user", "set-password", "anna.schmidt"], Some("kurz\n"));
    assert_eq!(out.status.code(), Some(1));
    let out = site.run(
        &["user", "set-password", "anna.schmidt"],
        Some("Gruen-Tanne-4711\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = site.run(&["user", "lock", "anna.schmidt"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = site.run(&["user", "show", "anna.schmidt"], None);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("gesperrt") && shown.contains("user.lock"),
        "{shown}"
    );
    let out = site.run(&["user", "lock", "niemand"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("niemand"));

    let out = site.run(&["user", "list", "--group", "Klasse 8.1"], None);
    assert!(text(&out.stdout).contains("3 Personen"));
    let out = site.run(&["group", "show", "Sorgeberechtigte 8.2"], None);
    assert!(text(&out.stdout).contains("clara.mueller"));

    let out = site.run(&["user", "export", "ben.mueller"], None);
    let export: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(export["directory"]["import_id"], "S-2001");
    assert_eq!(export["account"]["password_set"], false);

    let out = site.run(&["user", "delete", "ben.mueller"], None);
    assert_eq!(out.status.code(), Some(1), "needs --yes");
    let out = site.run(&["user", "delete", "ben.mueller", "--yes"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = site.run(&["user", "list", "--role", "schueler"], None);
    assert!(!text(&out.stdout).contains("ben.mueller"));
}
