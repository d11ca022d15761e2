//! `desired` + `plan` for a school of about 3,000 people in about 150 groups: the first plan
//! (nothing exists), a no-change plan, and a plan after one student moved class. Prints
//! figures (median and maximum of repeated runs); `docs/performance.md` records them.

use std::hint::black_box;
use std::time::{Duration, Instant};

use schulhof_appservice::{desired, plan, Config, CurrentSchool};
use schulhof_directory::{parse_csv, plan_import, Directory, Role, SyntheticSchool};

/// Runs of each measurement.
const RUNS: usize = 30;

/// Median and maximum of `RUNS` runs of `f`.
fn measure<T>(mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[RUNS - 1])
}

/// Prints one figure.
fn report(what: &str, (median, max): (Duration, Duration)) {
    println!(
        "{what:<46} median {:>8.2} ms   max {:>8.2} ms",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}

fn main() {
    // Grades 5–12 with eight classes of 20, 100 teachers, parents: about 3,000 people.
    let school = SyntheticSchool {
        seed: 11,
        first_grade: 5,
        grades: 8,
        classes_per_grade: 8,
        students_per_class: 20,
        teachers: 100,
    };
    let file = parse_csv(school.csv().as_bytes()).expect("valid synthetic school");
    let directory = plan_import(&Directory::default(), &file, 0)
        .expect("importable")
        .result;
    let config = Config::default();
    let want = desired(&directory, &config);
    let memberships: usize = want.rooms.values().map(|room| room.members.len()).sum();
    println!(
        "school: {} people in {} groups → {} rooms and spaces, {} memberships",
        directory.people.len(),
        directory.groups.len(),
        want.rooms.len(),
        memberships
    );

    let empty = CurrentSchool::default();
    let first = plan(&want, &empty);
    println!("first plan: {} changes", first.len());
    let mut built = CurrentSchool::default();
    built.apply_all(&config.bot, &first);
    assert!(plan(&want, &built).is_empty(), "idempotent");

    let mut moved = directory.clone();
    let student = moved
        .people
        .values_mut()
        .find(|p| p.role == Role::Student && p.groups.contains("Klasse 5.1"))
        .expect("a student of 5.1");
    student.groups.remove("Klasse 5.1");
    student.groups.insert("Klasse 12.8".to_owned());
    let moved_want = desired(&moved, &config);
    println!(
        "one student moved: {} changes",
        plan(&moved_want, &built).len()
    );

    report(
        "desired (directory → rooms)",
        measure(|| desired(&directory, &config)),
    );
    report(
        "plan, first (nothing exists)",
        measure(|| plan(&want, &empty)),
    );
    report("plan, no change", measure(|| plan(&want, &built)));
    report(
        "plan, one student moved",
        measure(|| plan(&moved_want, &built)),
    );
    report(
        "desired + plan, first",
        measure(|| plan(&desired(&directory, &config), &empty)),
    );
    report(
        "desired + plan, no change",
        measure(|| plan(&desired(&directory, &config), &built)),
    );
}
