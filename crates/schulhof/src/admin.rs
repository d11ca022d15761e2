//! Admin commands on the school directory: `schulhof user list|show|set-password|lock|unlock|
//! reset-password|delete|export` and `schulhof group list|show`. Every change is audited
//! (actor `cli`) and reaches running servers within a second.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use schulhof_directory::{DirectoryIndex, Person, PersonStatus, Role};
use schulhof_server::service::identity::password_reset;
use schulhof_server::service::school::letters::german_time;
use schulhof_server::service::school::{directory as school, user_admin};
use schulhof_server::state::AppState;

use crate::import::LetterFiles;

/// What the audit log records as the actor of CLI commands.
const ACTOR: &str = "cli";

/// Admin subcommands of `schulhof user`.
#[derive(Subcommand)]
pub enum UserAdmin {
    /// List the people in the school directory (and accounts outside it).
    List {
        /// Only this role: lehrkraft, schueler, eltern, admin (or teacher, student, parent).
        #[arg(long)]
        role: Option<String>,
        /// Only members of this group, e.g. "Klasse 8.1".
        #[arg(long)]
        group: Option<String>,
    },
    /// Show everything stored about one person (no secrets).
    Show {
        /// Username, e.g. `anna.schmidt`.
        localpart: String,
    },
    /// Set a password, read as one line from standard input (password rule applies).
    SetPassword {
        /// Username.
        localpart: String,
    },
    /// Lock an account: login refused, sessions end.
    Lock {
        /// Username.
        localpart: String,
    },
    /// Unlock a locked account.
    Unlock {
        /// Username.
        localpart: String,
    },
    /// Reset a password: sessions end, a new start code and access letter are written.
    ResetPassword {
        /// Username.
        localpart: String,
        /// Directory for the access letter (default: zugangsbriefe-YYYYMMDD-HHMMSS in the data
        /// directory).
        #[arg(long, value_name = "DIR")]
        letters: Option<PathBuf>,
    },
    /// Delete an account and all its data now (as after the retention period).
    Delete {
        /// Username.
        localpart: String,
        /// Confirm: deleting cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Export everything stored about a person as JSON (data access request, Art. 15 DSGVO).
    Export {
        /// Username.
        localpart: String,
    },
}

/// Subcommands of `schulhof group`.
#[derive(Subcommand)]
pub enum GroupCommand {
    /// List all groups with their kind and number of members.
    List,
    /// Show one group and its members.
    Show {
        /// Group name, e.g. "Klasse 8.1".
        name: String,
    },
}

/// Runs a `schulhof user …` admin command.
pub async fn run_user(config: &Path, command: UserAdmin) -> Result<(), String> {
    let state = crate::open_state(config).await?;
    let state = &*state;
    let text = |e: schulhof_server::Error| e.text().de.into_owned();
    match command {
        UserAdmin::List { role, group } => list(state, role.as_deref(), group.as_deref()).await,
        UserAdmin::Show { localpart } => show(state, &localpart).await,
        UserAdmin::SetPassword { localpart } => {
            let password = read_password()?;
            user_admin::set_password(state, ACTOR, &localpart, &password)
                .await
                .map_err(text)?;
            println!("Passwort von {localpart} gesetzt; alle Sitzungen beendet.");
            Ok(())
        }
        UserAdmin::Lock { localpart } => {
            user_admin::lock(state, ACTOR, &localpart)
                .await
                .map_err(text)?;
            println!("{localpart} ist gesperrt; alle Sitzungen beendet.");
            Ok(())
        }
        UserAdmin::Unlock { localpart } => {
            user_admin::unlock(state, ACTOR, &localpart)
                .await
                .map_err(text)?;
            println!("{localpart} ist entsperrt.");
            Ok(())
        }
        UserAdmin::ResetPassword { localpart, letters } => {
            let files = LetterFiles::create(letters, &state.config)?;
            match password_reset::reset_password_as_admin(state, ACTOR, &localpart).await {
                Ok(letter) => {
                    println!("Passwort von {localpart} zurückgesetzt; alle Sitzungen beendet.");
                    files.write(&state.config, &[letter])
                }
                Err(err) => {
                    files.discard();
                    Err(text(err))
                }
            }
        }
        UserAdmin::Delete { localpart, yes } => {
            if !yes {
                return Err(format!(
                    "Löschen kann nicht rückgängig gemacht werden: bitte mit \
                     `schulhof user delete {localpart} --yes` bestätigen."
                ));
            }
            let files = user_admin::delete(state, ACTOR, &localpart)
                .await
                .map_err(text)?;
            println!(
                "{localpart} ist gelöscht ({files} hochgeladene Dateien). Der laufende Server \
                 entfernt das Konto aus seinen Räumen."
            );
            Ok(())
        }
        UserAdmin::Export { localpart } => {
            let data = user_admin::export(state, &localpart).await.map_err(text)?;
            let json = serde_json::to_string_pretty(&data).map_err(|e| e.to_string())?;
            println!("{json}");
            Ok(())
        }
    }
}

/// Runs a `schulhof group …` command.
pub async fn run_group(config: &Path, command: GroupCommand) -> Result<(), String> {
    let state = crate::open_state(config).await?;
    let index = state.directory.snapshot();
    match command {
        GroupCommand::List => {
            let directory = state.db.load_directory().await.map_err(|e| e.to_string())?;
            for group in directory.groups.values() {
                let creator = group
                    .created_by
                    .as_deref()
                    .and_then(|id| index.localpart_of(id))
                    .map(|l| format!(", angelegt von {l}"))
                    .unwrap_or_default();
                println!(
                    "{} ({}, {} Mitglieder{creator})",
                    group.name,
                    group.kind.german(),
                    index.members(&group.name).len()
                );
            }
            Ok(())
        }
        GroupCommand::Show { name } => {
            let group = index
                .group(&name)
                .ok_or_else(|| format!("Die Gruppe „{name}“ gibt es nicht."))?;
            println!("{} ({})", group.name, group.kind.german());
            for localpart in index.members(&name) {
                if let Some(person) = index.person(localpart) {
                    println!("  {}", row(person));
                }
            }
            Ok(())
        }
    }
}

/// "anna.schmidt  Anna Schmidt  Lehrkraft  aktiv  Klasse 8.1, Lehrer".
fn row(person: &Person) -> String {
    let groups: Vec<&str> = person.groups.iter().map(String::as_str).collect();
    format!(
        "{:<28} {:<30} {:<19} {:<12} {}",
        person.localpart,
        person.display_name(),
        person.role.german(),
        status(person.status),
        groups.join(", ")
    )
}

/// "aktiv", "gesperrt", "deaktiviert seit …".
fn status(status: PersonStatus) -> String {
    match status {
        PersonStatus::Active => "aktiv".to_owned(),
        PersonStatus::Locked => "gesperrt".to_owned(),
        PersonStatus::Deactivated { since_ms } => {
            format!("deaktiviert seit {}", german_time(since_ms))
        }
    }
}

/// A role as typed on the command line (German or English).
fn parse_role(text: &str) -> Result<Role, String> {
    let role = match text.trim().to_lowercase().as_str() {
        "lehrkraft" | "lehrer" | "lehrerin" | "teacher" => Role::Teacher,
        "schueler" | "schüler" | "schülerin" | "schuelerin" | "student" => Role::Student,
        "eltern" | "sorgeberechtigte" | "parent" => Role::Parent,
        "admin" | "schulleitung" => Role::Admin,
        _ => {
            return Err(format!(
                "Unbekannte Rolle „{text}“ (möglich: lehrkraft, schueler, eltern, admin)."
            ))
        }
    };
    Ok(role)
}

/// `user list`.
async fn list(state: &AppState, role: Option<&str>, group: Option<&str>) -> Result<(), String> {
    let role = role.map(parse_role).transpose()?;
    let index = state.directory.snapshot();
    if let Some(group) = group.filter(|g| index.group(g).is_none()) {
        return Err(format!("Die Gruppe „{group}“ gibt es nicht."));
    }
    let mut people: Vec<&Person> = index
        .people()
        .filter(|p| role.is_none_or(|r| p.role == r))
        .filter(|p| group.is_none_or(|g| p.groups.contains(g)))
        .collect();
    people.sort_by(|a, b| a.localpart.cmp(&b.localpart));
    for person in &people {
        println!("{}", row(person));
    }
    println!("{} Personen", people.len());
    if role.is_none() && group.is_none() {
        print_other_accounts(state, &index).await?;
    }
    Ok(())
}

/// Accounts that are not in the directory (created with `user add`).
async fn print_other_accounts(state: &AppState, index: &DirectoryIndex) -> Result<(), String> {
    let users = state.db.active_users().await.map_err(|e| e.to_string())?;
    let others: Vec<_> = users
        .iter()
        .filter(|u| {
            let localpart = u.user_id[1..].split(':').next().unwrap_or_default();
            index.person(localpart).is_none()
        })
        .collect();
    if !others.is_empty() {
        println!("Konten ohne Eintrag im Schulverzeichnis:");
        for user in others {
            let admin = if user.is_admin { " (Server-Admin)" } else { "" };
            let name = user.displayname.as_deref().unwrap_or("");
            println!("  {} {name}{admin}", user.user_id);
        }
    }
    Ok(())
}

/// `user show`.
async fn show(state: &AppState, localpart: &str) -> Result<(), String> {
    let user_id = school::user_id_of(state, localpart).map_err(|e| e.text().de.into_owned())?;
    let db = &state.db;
    let err = |e: schulhof_store::StoreError| e.to_string();
    let account = db.user(user_id.as_str()).await.map_err(err)?;
    let index = state.directory.snapshot();
    let person = index.person(user_id.localpart());
    if account.is_none() && person.is_none() {
        return Err(format!("Das Konto {user_id} gibt es nicht."));
    }
    println!("Benutzer:      {user_id}");
    if let Some(p) = person {
        let names = |set: &std::collections::BTreeSet<String>| {
            set.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        println!("Name:          {}", p.display_name());
        println!("Rolle:         {}", p.role.german());
        println!("Import-ID:     {}", p.import_id);
        println!("Status:        {}", status(p.status));
        println!("Einwilligung:  {}", if p.consent { "ja" } else { "nein" });
        println!("Gruppen:       {}", names(&p.groups));
        println!("Kinder:        {}", names(index.children_of(&p.localpart)));
        println!("Sorgeberecht.: {}", names(index.parents_of(&p.localpart)));
    } else {
        println!("Verzeichnis:   kein Eintrag");
    }
    if let Some(a) = &account {
        let start_code = db.start_code(user_id.as_str()).await.map_err(err)?;
        let login = match (a.deactivated, start_code, a.password_hash.is_some()) {
            (true, _, _) => "deaktiviert".to_owned(),
            (false, Some((_, expires)), _) => {
                format!("Startcode offen, gültig bis {}", german_time(expires))
            }
            (false, None, true) => "Passwort gesetzt".to_owned(),
            (false, None, false) => "kein Passwort, kein Startcode".to_owned(),
        };
        println!("Anzeigename:   {}", a.displayname.as_deref().unwrap_or(""));
        println!("Anmeldung:     {login}");
        println!("Server-Admin:  {}", if a.is_admin { "ja" } else { "nein" });
    }
    for device in db.devices(user_id.as_str()).await.map_err(err)? {
        let seen = device
            .last_seen_ts
            .map(|ts| german_time(ts).to_string())
            .unwrap_or_default();
        println!(
            "Gerät:         {} „{}“ zuletzt {seen} {}",
            device.device_id,
            device.display_name.unwrap_or_default(),
            device.last_seen_ip.unwrap_or_default()
        );
    }
    let log = db
        .audit_log(user_id.localpart(), user_id.as_str())
        .await
        .map_err(err)?;
    if !log.is_empty() {
        println!("Protokoll:");
        for entry in log {
            println!(
                "  {}  {}  {} {}  {}",
                german_time(entry.ts),
                entry.actor,
                entry.action,
                entry.target,
                entry.detail
            );
        }
    }
    Ok(())
}

/// Reads the new password: one line from standard input.
fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("Passwort lesen: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err("Kein Passwort auf der Standardeingabe.".to_owned());
    }
    Ok(password)
}
