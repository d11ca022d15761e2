//! `schulhof serve` with an invalid appservice registration file refuses to start, naming the
//! file and the field, before it touches the database.

use std::process::Command;

#[test]
fn an_invalid_registration_stops_the_start_naming_file_and_field() {
    let dir = std::env::temp_dir().join(format!("schulhof-cli-appservice-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bruecke.yaml"),
        "id: bruecke\nurl: \"ftp://bruecke.example\"\nas_token: a1\nhs_token: h1\n\
         sender_localpart: bruecke\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("schulhof.toml"),
        "appservices = [\"bruecke.yaml\"]\nserver_name = \"schule.test\"\n\
         listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://data/schulhof.db\"\n\
         media_path = \"data/media\"\npublic_baseurl = \"https://chat.schule.test/\"\n\
         school_name = \"Testschule\"\n[accounts]\nsecret_key_file = \"data/schulhof.key\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_schulhof"))
        .current_dir(&dir)
        .env("RUST_LOG", "warn")
        .args(["--config", "schulhof.toml", "serve"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started: {stderr}");
    assert!(
        stderr.contains("appservice registration bruecke.yaml: field `url`"),
        "{stderr}"
    );
    assert!(
        !dir.join("data/schulhof.db").exists(),
        "no database was created"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
