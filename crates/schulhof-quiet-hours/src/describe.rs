//! Instants in words, as a sender is told when a held message will be delivered.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use chrono_tz::Europe::Berlin;

const WEEKDAYS_DE: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];
const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

/// `at` as wall-clock time in Europe/Berlin (the time zone of every schedule).
pub fn berlin_wall_time(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&Berlin).naive_local()
}

/// `at` as wall-clock time in Europe/Berlin, in German: "Montag, 7. Dezember 2026, 07:00 Uhr".
pub fn describe_de(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Berlin);
    format!(
        "{}, {}. {} {}, {:02}:{:02} Uhr",
        WEEKDAYS_DE[local.weekday().num_days_from_monday() as usize],
        local.day(),
        MONTHS_DE[local.month0() as usize],
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// `at` as wall-clock time in Europe/Berlin, in English: "Monday, 7 December 2026, 07:00".
pub fn describe_en(at: DateTime<Utc>) -> String {
    at.with_timezone(&Berlin)
        .format("%A, %-d %B %Y, %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_told_in_berlin_time() {
        // 06:00 UTC on 7 December 2026 is 07:00 in Berlin (winter time).
        let monday = DateTime::parse_from_rfc3339("2026-12-07T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(describe_de(monday), "Montag, 7. Dezember 2026, 07:00 Uhr");
        assert_eq!(describe_en(monday), "Monday, 7 December 2026, 07:00");
        // Summer time: 05:00 UTC on 1 June 2027 is 07:00 in Berlin.
        let june = DateTime::parse_from_rfc3339("2027-06-01T05:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(describe_de(june), "Dienstag, 1. Juni 2027, 07:00 Uhr");
    }
}
