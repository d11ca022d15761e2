//! Writes the benchmarks' synthetic school (3,081 people in 148 groups) for a run of the
//! appservice against another homeserver (`crates/schulhof-bench/scripts/synapse-school-reconcile.sh`):
//!
//! * `school.csv`: the school's CSV export, as `--directory-csv` reads it;
//! * `localparts.txt`: the localpart of every person, one a line (the accounts to create);
//! * `expected.json`: every room and space the appservice should make, by alias localpart, with
//!   its name, whether it is a space, and its members with their power levels (the bot
//!   included), to check the homeserver's rooms against after the reconcile; the export is
//!   read as `--directory-csv` reads it (students without consent and parents none of whose
//!   children has it are in no room).
//!
//! ```text
//! cargo run --release -p schulhof-appservice --example synthetic_school -- \
//!     OUT_DIR REGISTRATION.yaml [APPSERVICE.toml] [SEED]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use schulhof_appservice::{alias_localpart, desired, read_config, CsvExport, Registration};
use schulhof_directory::SyntheticSchool;
use serde_json::json;

/// The seed of the benchmarks' school.
const SEED: u64 = 42;

fn run(args: &[String]) -> Result<String, String> {
    let [out, registration, rest @ ..] = args else {
        return Err(
            "usage: synthetic_school OUT_DIR REGISTRATION.yaml [APPSERVICE.toml] [SEED]".into(),
        );
    };
    let out = PathBuf::from(out);
    let registration = Registration::load(registration.as_ref()).map_err(|e| e.to_string())?;
    let config_path = rest
        .first()
        .map_or("config/appservice.toml", String::as_str);
    let config = read_config(config_path.as_ref()).map_err(|e| e.to_string())?;
    let seed = match rest.get(1) {
        Some(seed) => seed.parse().map_err(|e| format!("seed {seed:?}: {e}"))?,
        None => SEED,
    };

    let csv = SyntheticSchool::large(seed).csv();
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let write = |name: &str, text: &[u8]| {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("school.csv", csv.as_bytes())?;
    let directory = CsvExport::open(out.join("school.csv"), &config.directory_csv)
        .and_then(|export| export.read())
        .map_err(|e| e.to_string())?
        .directory;
    let want = desired(&directory, &config);
    let rooms: Vec<_> = want
        .rooms
        .iter()
        .map(|(key, room)| {
            json!({
                "key": key.as_str(),
                "alias": alias_localpart(&registration.alias_prefix, key),
                "name": room.name,
                "space": room.is_space,
                "members": room.members,
                "power_users": room.power_users(),
            })
        })
        .collect();
    let memberships: usize = want.rooms.values().map(|room| room.members.len()).sum();
    let localparts: String = directory
        .people
        .values()
        .map(|person| format!("{}\n", person.localpart))
        .collect();
    let expected = json!({
        "people": directory.people.len(),
        "groups": directory.groups.len(),
        "memberships": memberships,
        "rooms": rooms,
    });

    write("localparts.txt", localparts.as_bytes())?;
    write("expected.json", expected.to_string().as_bytes())?;
    Ok(format!(
        "{} people in {} groups → {} rooms and spaces, {memberships} memberships",
        directory.people.len(),
        directory.groups.len(),
        want.rooms.len()
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("synthetic_school: {message}");
            ExitCode::FAILURE
        }
    }
}
