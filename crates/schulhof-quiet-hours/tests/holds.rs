//! Whom quiet hours apply to: sender role × recipient role, in and out of quiet hours.

mod common;

use common::{berlin, school, with_config};
use schulhof_directory::Role;
use schulhof_quiet_hours::QuietHours;

/// Tuesday evening in November 2026, in quiet hours until Wednesday 07:00.
const EVENING: &str = "2026-11-10 20:00";
/// Tuesday morning, no quiet hours.
const MORNING: &str = "2026-11-10 10:00";

/// Whether a message from `sender` to `recipient` at `at` is held, with the school's schedule.
fn held(quiet: &QuietHours, sender: Option<Role>, recipient: Option<Role>, at: &str) -> bool {
    let release = quiet.holds(sender, recipient, quiet.school_schedule(), berlin(at));
    if let Some(release) = release {
        assert_eq!(release, berlin("2026-11-11 07:00"));
    }
    release.is_some()
}

#[test]
fn default_roles() {
    use Role::*;
    let quiet = school();
    // (sender, recipient, held in the evening)
    let table = [
        (Some(Student), Some(Teacher), true),
        (Some(Parent), Some(Teacher), true),
        (Some(Teacher), Some(Teacher), false),
        (Some(Admin), Some(Teacher), false),
        (None, Some(Teacher), false), // account outside the directory
        (Some(Student), Some(Student), false),
        (Some(Parent), Some(Student), false),
        (Some(Student), Some(Parent), false),
        (Some(Student), Some(Admin), false), // admins have no quiet hours by default
        (Some(Student), None, false),
    ];
    for (sender, recipient, expected) in table {
        assert_eq!(
            held(&quiet, sender, recipient, EVENING),
            expected,
            "{sender:?} → {recipient:?}"
        );
        assert!(
            !held(&quiet, sender, recipient, MORNING),
            "{sender:?} → {recipient:?} in the morning"
        );
    }
}

#[test]
fn configured_roles() {
    use Role::*;
    let quiet = with_config(
        "state = \"BB\"\nheld_senders = [\"student\", \"teacher\"]\nquiet_recipients = [\"teacher\", \"admin\"]\n",
    );
    let table = [
        (Some(Student), Some(Teacher), true),
        (Some(Teacher), Some(Admin), true),
        (Some(Parent), Some(Teacher), false),
        // An admin's message is never held.
        (Some(Admin), Some(Teacher), false),
        (Some(Admin), Some(Admin), false),
    ];
    for (sender, recipient, expected) in table {
        assert_eq!(
            held(&quiet, sender, recipient, EVENING),
            expected,
            "{sender:?} → {recipient:?}"
        );
    }
}

#[test]
fn a_hold_may_last_the_whole_summer() {
    let quiet = school();
    let release = quiet.holds(
        Some(Role::Parent),
        Some(Role::Teacher),
        quiet.school_schedule(),
        berlin("2027-06-30 18:30"),
    );
    let release = release.expect("held");
    assert_eq!(release, berlin("2027-08-16 07:00"));
    let days = (release - berlin("2027-06-30 18:30")).num_days();
    assert_eq!(days, 46, "about seven weeks");
}
