//! The schedule table: instants (Berlin wall-clock time) → in quiet hours or not, and the exact
//! release instant, for the shipped configuration and Brandenburg's holidays 2026/27.

mod common;

use common::{berlin, school, utc};
use schulhof_quiet_hours::{PersonalWindow, QuietHours, Schedule, ScheduleSpec, WindowSpec};

/// `(what, at, release)`: `release` is `None` when `at` is not in quiet hours. Times are Berlin
/// wall-clock times; `+01:00`/`+02:00` picks one of the repeated hour on 25 October 2026.
const SCHOOL: &[(&str, &str, Option<&str>)] = &[
    // An ordinary week in November 2026.
    ("Tuesday morning", "2026-11-10 10:00", None),
    ("Tuesday just before the evening", "2026-11-10 17:59", None),
    (
        "Tuesday evening begins",
        "2026-11-10 18:00",
        Some("2026-11-11 07:00"),
    ),
    (
        "Tuesday night",
        "2026-11-10 23:30",
        Some("2026-11-11 07:00"),
    ),
    (
        "Wednesday just before seven",
        "2026-11-11 06:59",
        Some("2026-11-11 07:00"),
    ),
    ("Wednesday at seven", "2026-11-11 07:00", None),
    (
        "Friday evening",
        "2026-11-13 18:00",
        Some("2026-11-16 07:00"),
    ),
    ("Friday night", "2026-11-13 23:00", Some("2026-11-16 07:00")),
    (
        "Saturday noon",
        "2026-11-14 12:00",
        Some("2026-11-16 07:00"),
    ),
    (
        "Sunday before midnight",
        "2026-11-15 23:59",
        Some("2026-11-16 07:00"),
    ),
    ("Monday early", "2026-11-16 05:00", Some("2026-11-16 07:00")),
    ("Monday at seven", "2026-11-16 07:00", None),
    // Christi Himmelfahrt, Thursday 6 May 2027: the evening before runs into Friday morning.
    (
        "evening before Christi Himmelfahrt",
        "2027-05-05 20:00",
        Some("2027-05-07 07:00"),
    ),
    (
        "Christi Himmelfahrt noon",
        "2027-05-06 12:00",
        Some("2027-05-07 07:00"),
    ),
    ("Wednesday afternoon before it", "2027-05-05 15:00", None),
    // Pfingsten: weekend, Pfingstsonntag, Pfingstmontag, the free Tuesday: one hold.
    (
        "Friday before Pfingsten",
        "2027-05-14 18:00",
        Some("2027-05-19 07:00"),
    ),
    (
        "Pfingstmontag",
        "2027-05-17 10:00",
        Some("2027-05-19 07:00"),
    ),
    (
        "Tuesday after Pfingsten",
        "2027-05-18 10:00",
        Some("2027-05-19 07:00"),
    ),
    // Herbstferien 19–30 October 2026, then Reformationstag (Saturday) and Sunday; summer time
    // ends on 25 October in between.
    (
        "Friday before the autumn holidays",
        "2026-10-16 18:00",
        Some("2026-11-02 07:00"),
    ),
    (
        "first day of the autumn holidays",
        "2026-10-19 10:00",
        Some("2026-11-02 07:00"),
    ),
    (
        "summer time, first 02:30",
        "2026-10-25 02:30 +02:00",
        Some("2026-11-02 07:00"),
    ),
    (
        "winter time, second 02:30",
        "2026-10-25 02:30 +01:00",
        Some("2026-11-02 07:00"),
    ),
    (
        "last day of the autumn holidays",
        "2026-10-30 10:00",
        Some("2026-11-02 07:00"),
    ),
    ("first school day after them", "2026-11-02 09:00", None),
    (
        "Friday before the autumn holidays, afternoon",
        "2026-10-16 15:00",
        None,
    ),
    // Weihnachtsferien 23 December 2026 – 2 January 2027 (a Saturday).
    (
        "Tuesday before Christmas",
        "2026-12-22 18:00",
        Some("2027-01-04 07:00"),
    ),
    ("Neujahr", "2027-01-01 00:00", Some("2027-01-04 07:00")),
    ("first school day in January", "2027-01-04 07:00", None),
    // Winterferien 1–6 February 2027.
    (
        "Friday before the winter holidays",
        "2027-01-29 18:00",
        Some("2027-02-08 07:00"),
    ),
    // Osterferien 22 March – 3 April 2027; summer time begins on Easter Sunday, 28 March.
    (
        "Friday before the Easter holidays",
        "2027-03-19 18:00",
        Some("2027-04-05 07:00"),
    ),
    (
        "Easter Sunday, summer time",
        "2027-03-28 03:00",
        Some("2027-04-05 07:00"),
    ),
    (
        "Easter Sunday, winter time",
        "2027-03-28 01:30",
        Some("2027-04-05 07:00"),
    ),
    (
        "last day of the Easter holidays",
        "2027-04-03 10:00",
        Some("2027-04-05 07:00"),
    ),
    // Sommerferien 1 July – 14 August 2027: a hold of six and a half weeks.
    (
        "evening before the summer holidays",
        "2027-06-30 18:00",
        Some("2027-08-16 07:00"),
    ),
    (
        "middle of the summer holidays",
        "2027-07-20 12:00",
        Some("2027-08-16 07:00"),
    ),
    (
        "last day of the summer holidays",
        "2027-08-14 23:59",
        Some("2027-08-16 07:00"),
    ),
    (
        "first school day after the summer",
        "2027-08-16 08:00",
        None,
    ),
];

/// Runs `table` against `schedule`.
fn check(schedule: &Schedule, table: &[(&str, &str, Option<&str>)]) {
    for &(what, at, release) in table {
        let at = berlin(at);
        let expected = release.map(berlin);
        assert_eq!(schedule.quiet_until(at), expected, "{what}");
        assert_eq!(schedule.is_quiet(at), expected.is_some(), "{what}");
        assert_eq!(schedule.release_after(at), expected.unwrap_or(at), "{what}");
        if let Some(release) = expected {
            assert!(!schedule.is_quiet(release), "{what}: quiet at its release");
        }
    }
}

#[test]
fn school_schedule_table() {
    check(school().school_schedule(), SCHOOL);
}

#[test]
fn releases_are_exact_utc_instants() {
    let quiet = school();
    let schedule = quiet.school_schedule();
    let table = [
        // Winter time: 07:00 CET is 06:00 UTC; summer time: 07:00 CEST is 05:00 UTC.
        ("2026-11-10 17:00", "2026-11-11 06:00"),
        ("2027-05-05 18:00", "2027-05-07 05:00"),
        // Over the autumn change: Friday 18:00 CEST to Monday 07:00 CET.
        ("2026-10-16 16:00", "2026-11-02 06:00"),
        // Over the spring change: Friday 18:00 CET to Monday 07:00 CEST.
        ("2027-03-19 17:00", "2027-04-05 05:00"),
        // Seconds count: a message at 05:59:59 UTC waits one second.
        ("2026-11-11 05:59:59", "2026-11-11 06:00"),
    ];
    for (at, release) in table {
        assert_eq!(schedule.quiet_until(utc(at)), Some(utc(release)), "{at}");
    }
    assert_eq!(schedule.quiet_until(utc("2026-11-11 06:00")), None);
}

/// The school's windows without holidays.
fn weekly_only(windows: &[(&str, &str)]) -> Schedule {
    let spec = ScheduleSpec {
        windows: windows
            .iter()
            .map(|(begin, end)| WindowSpec {
                begin: (*begin).to_owned(),
                end: (*end).to_owned(),
                movable: false,
            })
            .collect(),
        public_holidays: false,
        school_holidays: false,
    };
    school().person_schedule(Some(&spec), None).unwrap()
}

#[test]
fn weekends_across_both_daylight_saving_changes() {
    let schedule = weekly_only(&[("Mo-Fr 18:00", "Mo-Fr 07:00")]);
    check(
        &schedule,
        &[
            // 28 March 2027: 23 hours from Sunday to Monday.
            (
                "spring weekend",
                "2027-03-27 12:00",
                Some("2027-03-29 07:00"),
            ),
            // 25 October 2026: 25 hours.
            (
                "autumn weekend",
                "2026-10-24 12:00",
                Some("2026-10-26 07:00"),
            ),
        ],
    );
    assert_eq!(
        schedule.quiet_until(utc("2027-03-26 17:00")),
        Some(utc("2027-03-29 05:00"))
    );
    assert_eq!(
        schedule.quiet_until(utc("2026-10-23 16:00")),
        Some(utc("2026-10-26 06:00"))
    );
}

#[test]
fn boundaries_in_the_skipped_and_the_repeated_hour() {
    // 28 March 2027, 02:00–03:00 does not exist: quiet from 03:00 CEST (01:00 UTC).
    let skipped = weekly_only(&[("So 02:30", "So 04:00")]);
    assert!(!skipped.is_quiet(utc("2027-03-28 00:59:59")));
    assert_eq!(
        skipped.quiet_until(utc("2027-03-28 01:00")),
        Some(utc("2027-03-28 02:00"))
    );
    // A week later the same window is 02:30–04:00 CEST.
    assert_eq!(
        skipped.quiet_until(utc("2027-04-04 00:30")),
        Some(utc("2027-04-04 02:00"))
    );
    assert!(!skipped.is_quiet(utc("2027-04-04 00:29")));

    // 25 October 2026, 02:00–03:00 happens twice: the window takes the first (summer time).
    let repeated = weekly_only(&[("So 02:30", "So 02:45")]);
    assert_eq!(
        repeated.quiet_until(utc("2026-10-25 00:30")),
        Some(utc("2026-10-25 00:45"))
    );
    assert!(!repeated.is_quiet(utc("2026-10-25 01:35")), "second 02:35");

    // An end in the repeated hour ends at its first occurrence.
    let night = weekly_only(&[("Sa 22:00", "So 02:30")]);
    assert_eq!(
        night.quiet_until(berlin("2026-10-24 22:00")),
        Some(utc("2026-10-25 00:30"))
    );
    assert!(
        !night.is_quiet(utc("2026-10-25 01:10")),
        "02:10 winter time"
    );
}

#[test]
fn cron_windows_decide_like_weekly_ones() {
    let weekly = weekly_only(&[("Mo-Fr 18:00", "Mo-Fr 07:00")]);
    let cron = weekly_only(&[("0 0 18 * * Mon-Fri", "0 0 7 * * Mon-Fri")]);
    let mut at = berlin("2026-10-19 00:00");
    while at < berlin("2026-11-02 00:00") {
        assert_eq!(weekly.quiet_until(at), cron.quiet_until(at), "{at}");
        at += chrono::Duration::minutes(17);
    }
}

#[test]
fn a_teacher_moves_the_window() {
    let quiet = school();
    let window = PersonalWindow {
        begin: "20:00".parse().unwrap(),
        end: "06:30".parse().unwrap(),
    };
    let schedule = quiet.person_schedule(None, Some(&window)).unwrap();
    check(
        &schedule,
        &[
            ("Tuesday 19:00", "2026-11-10 19:00", None),
            (
                "Tuesday 20:00",
                "2026-11-10 20:00",
                Some("2026-11-11 06:30"),
            ),
            ("Wednesday 06:30", "2026-11-11 06:30", None),
            ("Friday 19:59", "2026-11-13 19:59", None),
            ("Friday 20:00", "2026-11-13 20:00", Some("2026-11-16 06:30")),
            // Holidays stay quiet.
            (
                "autumn holidays",
                "2026-10-20 12:00",
                Some("2026-11-02 06:30"),
            ),
        ],
    );
}

#[test]
fn an_admin_sets_a_schedule_for_one_person() {
    // A part-time teacher with Wednesdays off.
    let spec: ScheduleSpec = toml::from_str(
        r#"
        windows = [
          { begin = "Mo-Fr 18:00", end = "Mo-Fr 07:00" },
          { begin = "Mi 07:00", end = "Do 07:00" },
        ]
        "#,
    )
    .unwrap();
    assert!(spec.public_holidays && spec.school_holidays);
    let schedule = school().person_schedule(Some(&spec), None).unwrap();
    check(
        &schedule,
        &[
            (
                "Tuesday evening",
                "2026-11-10 18:00",
                Some("2026-11-12 07:00"),
            ),
            (
                "Wednesday morning",
                "2026-11-11 10:00",
                Some("2026-11-12 07:00"),
            ),
            ("Thursday morning", "2026-11-12 10:00", None),
        ],
    );
    // An empty list: never quiet on school days, holidays still are.
    let holidays_only = ScheduleSpec {
        windows: Vec::new(),
        ..ScheduleSpec::default()
    };
    let schedule = school()
        .person_schedule(Some(&holidays_only), None)
        .unwrap();
    check(
        &schedule,
        &[
            ("Tuesday evening", "2026-11-10 22:00", None),
            (
                "Christi Himmelfahrt",
                "2027-05-06 22:00",
                Some("2027-05-07 00:00"),
            ),
        ],
    );
}

#[test]
fn quiet_hours_is_shared_and_cloned_cheaply() {
    let quiet: QuietHours = school();
    let copy = quiet.school_schedule().clone();
    assert_eq!(&copy, quiet.school_schedule());
}
