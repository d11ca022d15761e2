//! `QuietHours::holds` with the shipped configuration and Brandenburg's holidays 2026/27: the
//! decision the server makes on every send to a teacher.
//!
//! Run: `cargo bench -p schulhof-quiet-hours`; medians are in
//! `target/criterion/holds/<name>/new/estimates.json` (`median.point_estimate`, ns).

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use criterion::{criterion_group, criterion_main, Criterion};
use schulhof_directory::Role;
use schulhof_quiet_hours::QuietHours;

/// A Berlin wall-clock time `YYYY-MM-DD HH:MM`.
fn berlin(text: &str) -> DateTime<Utc> {
    let wall = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a time");
    Berlin
        .from_local_datetime(&wall)
        .single()
        .expect("exists once")
        .to_utc()
}

/// The benchmarks.
fn bench(c: &mut Criterion) {
    let quiet = QuietHours::from_texts(
        "quiet-hours.toml",
        include_str!("../../../config/quiet-hours.toml"),
        &[(
            "bb-2026-27.toml",
            include_str!("../../../config/holidays/bb-2026-27.toml"),
        )],
    )
    .expect("the shipped files are valid");
    let schedule = quiet.school_schedule();
    let cases = [
        ("school_day_not_quiet", "2026-11-10 10:00"),
        ("weekday_evening", "2026-11-10 20:00"),
        ("friday_night_to_monday", "2026-11-13 23:00"),
        ("evening_before_public_holiday", "2027-05-05 20:00"),
        ("pfingsten_chain", "2027-05-14 20:00"),
        ("autumn_holidays_over_dst", "2026-10-16 20:00"),
        ("summer_holidays_seven_weeks", "2027-06-30 20:00"),
    ];
    let mut group = c.benchmark_group("holds");
    for (name, at) in cases {
        let at = berlin(at);
        group.bench_function(name, |b| {
            b.iter(|| {
                quiet.holds(
                    black_box(Some(Role::Parent)),
                    black_box(Some(Role::Teacher)),
                    schedule,
                    black_box(at),
                )
            })
        });
    }
    // A sender whose messages are never held: the role check alone.
    let at = berlin("2026-11-10 20:00");
    group.bench_function("teacher_sender_not_held", |b| {
        b.iter(|| {
            quiet.holds(
                black_box(Some(Role::Teacher)),
                black_box(Some(Role::Teacher)),
                schedule,
                black_box(at),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
