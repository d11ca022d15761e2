//! The synthetic school (feature `synthetic`) parses and plans into unique localparts.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use schulhof_directory::{
    parse_csv, plan_import, synthetic_school_csv, Directory, Role, SyntheticSchool,
};

#[test]
fn synthetic_school_parses_and_plans() {
    let csv = synthetic_school_csv(7);
    let file = parse_csv(csv.as_bytes()).expect("the synthetic file is valid");
    let plan = plan_import(&Directory::default(), &file, 0).expect("plannable");
    let people = &plan.added;
    assert_eq!(people.len(), file.rows().len());
    let count = |role| people.iter().filter(|p| p.role == role).count();
    assert_eq!(count(Role::Student), 225);
    assert_eq!(count(Role::Teacher), 40);
    assert_eq!(count(Role::Admin), 2);
    assert!((225..=450).contains(&count(Role::Parent)));
    let localparts: HashSet<&str> = people.iter().map(|p| p.localpart.as_str()).collect();
    assert_eq!(localparts.len(), people.len(), "localparts are unique");
    for clash in ["max.mueller", "max.mueller2", "max.mueller3"] {
        assert!(localparts.contains(clash), "{clash}");
    }
}

#[test]
fn synthetic_school_is_deterministic() {
    assert_eq!(synthetic_school_csv(1), synthetic_school_csv(1));
    assert_ne!(synthetic_school_csv(1), synthetic_school_csv(2));
}

/// About 3,000 people in about 130 groups. Planning must stay far below 100 ms in release
/// builds; the bound here is generous for unoptimised builds on a busy machine and only
/// catches quadratic behaviour.
#[test]
fn large_school_plans_quickly_and_reimports_as_empty() {
    let school = SyntheticSchool {
        first_grade: 5,
        grades: 9,
        classes_per_grade: 6,
        teachers: 150,
        ..SyntheticSchool::new(42)
    };
    let file = parse_csv(school.csv().as_bytes()).expect("valid");
    let started = Instant::now();
    let plan = plan_import(&Directory::default(), &file, 0).expect("plannable");
    let first = started.elapsed();
    assert!(plan.added.len() > 2_800, "{} people", plan.added.len());
    assert!(
        plan.result.groups.len() > 120,
        "{} groups",
        plan.result.groups.len()
    );

    let started = Instant::now();
    let again = plan_import(&plan.result, &file, 1).expect("plannable");
    let second = started.elapsed();
    assert!(again.is_empty());
    assert_eq!(again.unchanged, plan.added.len());
    eprintln!(
        "{} people, {} groups: first import {first:?}, re-import {second:?}",
        plan.added.len(),
        plan.result.groups.len()
    );
    assert!(first + second < Duration::from_secs(5));
}
