//! `schulhof demo`: a ready-to-try server with the example school imported
//! (`config/beispiel-import.csv`), known passwords for one person of each role, and the school
//! appservice running in-process, so the school's rooms and spaces are there.

use std::path::Path;

use schulhof_directory::parse_csv;
use schulhof_server::config::Config;
use schulhof_server::service::{school::import, school::user_admin};
use schulhof_server::state::AppState;

/// The demo school: the example import file shipped in `config/`.
const DEMO_SCHOOL: &str = include_str!("../../../config/beispiel-import.csv");

/// Demo logins: (localpart, role shown, password). The other people of the school get
/// access letters with start codes in `data/zugangsbriefe-demo/`.
const DEMO_LOGINS: &[(&str, &str, &str)] = &[
    ("anna.schmidt", "Lehrkraft, Klasse 8.1", "Demo-Lehrkraft1!"),
    ("ben.mueller", "Schüler, Klasse 8.1", "Demo-Schueler1!"),
    (
        "clara.mueller",
        "Sorgeberechtigte von Ben und Mia",
        "Demo-Eltern1!",
    ),
    ("birgit.schaefer", "Schulleitung", "Demo-Schulleitung1!"),
];

const DEMO_CONFIG: &str = r#"# Demo configuration written by `schulhof demo`.
server_name = "schulhof.local"
listen = "127.0.0.1:8008"
database_url = "sqlite://data/schulhof.db"
media_path = "data/media"
public_baseurl = "http://127.0.0.1:8008/"
school_name = "Demo-Schule"
appservices = ["data/schule-appservice.yaml"]

[accounts]
secret_key_file = "data/schulhof.key"

[rate_limits]
enabled = true

# The school appservice runs inside the server: it makes the demo school's groups rooms
# inside the school space (config/appservice.toml; defaults if missing).
[school_appservice]
registration = "schulhof-schule"
in_process = true
"#;

/// The demo's appservice registration (tokens filled in at the first run).
fn demo_registration() -> String {
    let token = || {
        rand::random::<[u8; 32]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    format!(
        r##"# Demo registration of the school appservice, written by `schulhof demo`.
id: schulhof-schule
url: "http://127.0.0.1:8009"
as_token: "{}"
hs_token: "{}"
sender_localpart: schulhof-schule
rate_limited: false
de.schulhof.admin_join: any
namespaces:
  users: []
  aliases:
    - exclusive: true
      regex: "#schule_.*:schulhof\\.local"
  rooms: []
"##,
        token(),
        token()
    )
}

/// Imports the demo school (first run), sets the demo passwords, prints the logins and serves.
async fn prepare(state: &AppState, config: &Config) -> Result<(), String> {
    let file =
        parse_csv(DEMO_SCHOOL.as_bytes()).map_err(|errors| format!("demo school: {errors:?}"))?;
    let outcome = import::apply(state, &file, "demo")
        .await
        .map_err(|e| e.to_string())?
        .map_err(|errors| format!("demo school: {errors:?}"))?;
    if !outcome.letters.is_empty() {
        let dir = config.data_dir().join("zugangsbriefe-demo");
        let letters = crate::import::LetterFiles::create(Some(dir), config)?;
        letters.write(config, &outcome.letters)?;
    }
    for (localpart, _, password) in DEMO_LOGINS {
        user_admin::set_password(state, "demo", localpart, password)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Writes `data/schulhof.toml` (if missing), imports the demo school and serves.
pub async fn run() -> Result<(), String> {
    let dir = Path::new("data");
    std::fs::create_dir_all(dir).map_err(|e| format!("data: {e}"))?;
    let config_path = dir.join("schulhof.toml");
    let registration_path = dir.join("schule-appservice.yaml");
    if !registration_path.exists() {
        std::fs::write(&registration_path, demo_registration())
            .map_err(|e| format!("{}: {e}", registration_path.display()))?;
    }
    if !config_path.exists() {
        std::fs::write(&config_path, DEMO_CONFIG)
            .map_err(|e| format!("{}: {e}", config_path.display()))?;
    }
    let config = Config::load(&config_path).map_err(|e| e.to_string())?;
    let state = AppState::new(config.clone())
        .await
        .map_err(|e| e.to_string())?;
    let fresh = state
        .db
        .load_directory()
        .await
        .map_err(|e| e.to_string())?
        .people
        .is_empty();
    if fresh {
        prepare(&state, &config).await?;
    }
    println!();
    println!(
        "Schulhof-Demo ({}): {}",
        config.school_name, config.public_baseurl
    );
    println!("Anmeldungen (Benutzername / Passwort):");
    for (localpart, role, password) in DEMO_LOGINS {
        println!("  {localpart:<16} {password:<20} ({role})");
    }
    println!("Alle anderen Personen der Demo-Schule: Startcodes in data/zugangsbriefe-demo/,");
    println!(
        "erste Anmeldung unter {}erstanmeldung",
        config.public_baseurl
    );
    println!();
    println!(
        "Element: Homeserver {} eintragen und mit Benutzername/Passwort anmelden.",
        config.public_baseurl
    );
    state.db.close().await;
    crate::serve(config).await
}
