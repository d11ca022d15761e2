//! Directory import benchmark: a school of about 3,000 people in about 150 groups imported
//! into an empty server (accounts and start codes included), then a re-import with 50 changed
//! rows, on SQLite and PostgreSQL. Prints one JSON object per backend.
//!
//! `cargo bench -p schulhof-server --bench import` (PostgreSQL at `$SCHULHOF_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432`; `SCHULHOF_SKIP_PG=1` skips it). Goals: first import
//! ≤ 5 s, re-import ≤ 1 s.

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use common::ms;
use schulhof_directory::{parse_csv, ImportFile};
use schulhof_server::service::school::import;
use schulhof_server::state::AppState;
use serde_json::json;
use support::{Backend, TestState};

/// The file with 50 changed rows: 20 renamed teachers, 20 students in another class, 5
/// teachers gone, 5 new students.
fn changed(csv: &str) -> String {
    let mut out = String::new();
    for line in csv.lines() {
        let mut fields: Vec<String> = line.split(';').map(str::to_owned).collect();
        let id = fields[0].clone();
        let number = |prefix: &str| id.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok());
        match (number("L"), number("S")) {
            (Some(n), _) if n < 20 => fields[2] = format!("{}-Neu", fields[2]),
            (Some(n), _) if (140..145).contains(&n) => continue,
            (_, Some(n)) if (1..=20).contains(&n) => fields[4] = "Klasse 12.7".to_owned(),
            _ => {}
        }
        out.push_str(&fields.join(";"));
        out.push('\n');
    }
    for n in 0..5 {
        out.push_str(&format!(
            "N{n};Neue{n};Schülerin;Schülerin;Klasse 5.1;;ja\n"
        ));
    }
    out
}

/// Imports `file` and returns the time it took and the number of letters.
async fn timed_import(state: &AppState, file: &ImportFile) -> (Duration, usize) {
    let started = Instant::now();
    let outcome = import::apply(state, file, "bench")
        .await
        .expect("no database error")
        .expect("importable");
    (started.elapsed(), outcome.letters.len())
}

async fn run(backend: Backend, csv: &str) {
    let test = TestState::new(backend, "bench").await;
    let state = &*test.state;
    let started = Instant::now();
    let file = parse_csv(csv.as_bytes()).expect("valid");
    let parse = started.elapsed();
    let (first, letters) = timed_import(state, &file).await;
    let directory = state.db.load_directory().await.unwrap();

    let changed = parse_csv(changed(csv).as_bytes()).expect("valid");
    let started = Instant::now();
    let preview = import::preview(state, &changed).await.unwrap().unwrap();
    let dry_run = started.elapsed();
    let (second, new_letters) = timed_import(state, &changed).await;
    println!(
        "{}",
        json!({
            "backend": format!("{backend:?}"),
            "people": file.rows().len(),
            "groups": directory.groups.len(),
            "parse_ms": ms(parse),
            "first_import_ms": ms(first),
            "start_codes": letters,
            "reimport_dry_run_ms": ms(dry_run),
            "reimport_ms": ms(second),
            "reimport_changes": {
                "added": preview.added.len(),
                "changed": preview.changed.len(),
                "deactivated": preview.deactivated.len(),
                "start_codes": new_letters,
            },
        })
    );
}

#[tokio::main]
async fn main() {
    let csv = common::synthetic_school().csv();
    run(Backend::Sqlite, &csv).await;
    if std::env::var("SCHULHOF_SKIP_PG").is_ok_and(|v| v == "1") {
        eprintln!("PostgreSQL skipped (SCHULHOF_SKIP_PG=1)");
    } else {
        run(Backend::Postgres, &csv).await;
    }
}
