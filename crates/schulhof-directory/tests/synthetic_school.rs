//! The synthetic school (feature `synthetic`) parses and plans into unique localparts.

use std::collections::HashSet;

use schulhof_directory::{parse_csv, plan_import, synthetic_school_csv, Directory, Role};

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
