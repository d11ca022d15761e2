//! `schulhof demo`: a ready-to-try server with a few demo accounts.

use std::path::Path;

use schulhof_server::config::Config;
use schulhof_server::state::AppState;

/// Demo accounts: (localpart, display name, password).
const DEMO_USERS: &[(&str, &str, &str)] = &[
    ("anna.schmidt", "Anna Schmidt", "Demo-Lehrkraft1!"),
    ("ben.mueller", "Ben Müller", "Demo-Schueler1!"),
    ("clara.wagner", "Clara Wagner", "Demo-Eltern1!"),
    ("admin", "Schulleitung", "Demo-Admin1!"),
];

const DEMO_CONFIG: &str = r#"# Demo configuration written by `schulhof demo`.
server_name = "schulhof.local"
listen = "127.0.0.1:8008"
database_url = "sqlite://data/schulhof.db"
media_path = "data/media"
public_baseurl = "http://127.0.0.1:8008/"
school_name = "Demo-Schule"

[rate_limits]
enabled = true
"#;

/// Writes `data/schulhof.toml` (if missing), creates the demo accounts and serves.
pub async fn run() -> Result<(), String> {
    let dir = Path::new("data");
    std::fs::create_dir_all(dir).map_err(|e| format!("data: {e}"))?;
    let config_path = dir.join("schulhof.toml");
    if !config_path.exists() {
        std::fs::write(&config_path, DEMO_CONFIG)
            .map_err(|e| format!("{}: {e}", config_path.display()))?;
    }
    let config = Config::load(&config_path).map_err(|e| e.to_string())?;
    let state = AppState::new(config.clone())
        .await
        .map_err(|e| e.to_string())?;
    println!("Schulhof-Demo: {}", config.public_baseurl);
    println!("Anmeldungen (Benutzername / Passwort):");
    for (localpart, name, password) in DEMO_USERS {
        let admin = *localpart == "admin";
        match schulhof_server::service::accounts::create_user(
            &state,
            localpart,
            password,
            Some(name),
            admin,
        )
        .await
        {
            Ok(_) | Err(schulhof_server::Error::InUse(..)) => {}
            Err(e) => return Err(e.to_string()),
        }
        println!("  {localpart:<14} {password:<18} ({name})");
    }
    println!();
    println!(
        "Element: https://app.element.io → \"Anmelden\" → Homeserver bearbeiten → {}",
        config.public_baseurl
    );
    println!("(oder eine lokale Element-Web-Instanz mit default_server_config auf diese Adresse)");
    state.db.close().await;
    crate::serve(config).await
}
