//! Public holidays: Easter against known dates, every state's holidays, and the single-day
//! lookup agreeing with the yearly list.

use chrono::{Datelike, NaiveDate};
use schulhof_quiet_hours::{easter_sunday, public_holiday, public_holidays, State};

/// `YYYY-MM-DD`.
fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn easter_sunday_table() {
    let table = [
        ("1818", "1818-03-22"), // earliest possible
        ("1943", "1943-04-25"), // latest possible
        ("2000", "2000-04-23"),
        ("2008", "2008-03-23"),
        ("2011", "2011-04-24"),
        ("2019", "2019-04-21"),
        ("2024", "2024-03-31"),
        ("2025", "2025-04-20"),
        ("2026", "2026-04-05"),
        ("2027", "2027-03-28"),
        ("2028", "2028-04-16"),
        ("2038", "2038-04-25"),
        ("2285", "2285-03-22"),
    ];
    for (year, expected) in table {
        let year: i32 = year.parse().unwrap();
        assert_eq!(easter_sunday(year), day(expected), "{year}");
    }
    for year in 1583..2500 {
        assert_eq!(
            easter_sunday(year).weekday(),
            chrono::Weekday::Sun,
            "{year}"
        );
    }
}

#[test]
fn brandenburg_2026_has_twelve() {
    let days: Vec<(String, &str)> = public_holidays(State::BB, 2026)
        .into_iter()
        .map(|holiday| (holiday.date.to_string(), holiday.name))
        .collect();
    let expected = [
        ("2026-01-01", "Neujahr"),
        ("2026-04-03", "Karfreitag"),
        ("2026-04-05", "Ostersonntag"),
        ("2026-04-06", "Ostermontag"),
        ("2026-05-01", "Tag der Arbeit"),
        ("2026-05-14", "Christi Himmelfahrt"),
        ("2026-05-24", "Pfingstsonntag"),
        ("2026-05-25", "Pfingstmontag"),
        ("2026-10-03", "Tag der Deutschen Einheit"),
        ("2026-10-31", "Reformationstag"),
        ("2026-12-25", "1. Weihnachtstag"),
        ("2026-12-26", "2. Weihnachtstag"),
    ];
    let expected: Vec<(String, &str)> = expected
        .into_iter()
        .map(|(date, name)| (date.to_owned(), name))
        .collect();
    assert_eq!(days, expected);
}

#[test]
fn state_specific_holidays() {
    use State::*;
    let table: &[(State, &str, Option<&str>)] = &[
        (BY, "2027-01-06", Some("Heilige Drei Könige")),
        (BW, "2027-01-06", Some("Heilige Drei Könige")),
        (ST, "2027-01-06", Some("Heilige Drei Könige")),
        (BB, "2027-01-06", None),
        (BE, "2027-03-08", Some("Internationaler Frauentag")),
        (BE, "2018-03-08", None),
        (MV, "2023-03-08", Some("Internationaler Frauentag")),
        (MV, "2022-03-08", None),
        (BB, "2027-03-28", Some("Ostersonntag")),
        (BE, "2027-03-28", None),
        (BE, "2025-05-08", Some("Tag der Befreiung")),
        (BE, "2026-05-08", None),
        (NW, "2027-05-27", Some("Fronleichnam")),
        (HE, "2026-06-04", Some("Fronleichnam")),
        (SN, "2027-05-27", None),
        (BB, "2027-05-16", Some("Pfingstsonntag")),
        (SL, "2027-08-15", Some("Mariä Himmelfahrt")),
        (BY, "2027-08-15", None), // only in some communities: not counted
        (TH, "2027-09-20", Some("Weltkindertag")),
        (TH, "2018-09-20", None),
        (BB, "2027-10-31", Some("Reformationstag")),
        (NI, "2027-10-31", Some("Reformationstag")),
        (NI, "2016-10-31", None),
        (BW, "2017-10-31", Some("Reformationstag")),
        (BW, "2018-10-31", None),
        (RP, "2027-11-01", Some("Allerheiligen")),
        (BE, "2027-11-01", None),
        (SN, "2025-11-19", Some("Buß- und Bettag")),
        (SN, "2026-11-18", Some("Buß- und Bettag")),
        (SN, "2027-11-17", Some("Buß- und Bettag")),
        (SN, "2029-11-21", Some("Buß- und Bettag")),
        (BY, "2026-11-18", None),
        (HH, "2027-05-06", Some("Christi Himmelfahrt")),
        (SH, "2027-03-26", Some("Karfreitag")),
        (HB, "2027-05-17", Some("Pfingstmontag")),
        (TH, "2027-12-26", Some("2. Weihnachtstag")),
        (TH, "2027-12-24", None),
    ];
    for &(state, date, expected) in table {
        assert_eq!(
            public_holiday(state, day(date)),
            expected,
            "{state:?} {date}"
        );
    }
}

#[test]
fn holidays_per_state_in_2027() {
    use State::*;
    let expected = [
        (BW, 12),
        (BY, 12),
        (BE, 10),
        (BB, 12),
        (HB, 10),
        (HH, 10),
        (HE, 10),
        (MV, 11),
        (NI, 10),
        (NW, 11),
        (RP, 11),
        (SL, 12),
        (SN, 11),
        (ST, 11),
        (SH, 10),
        (TH, 11),
    ];
    for (state, count) in expected {
        assert_eq!(public_holidays(state, 2027).len(), count, "{state:?}");
    }
}

#[test]
fn the_day_lookup_agrees_with_the_yearly_list() {
    for state in State::ALL {
        for year in 2017..=2030 {
            let list = public_holidays(state, year);
            let mut date = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            while date.year() == year {
                let listed = list.iter().find(|holiday| holiday.date == date);
                assert_eq!(
                    public_holiday(state, date),
                    listed.map(|holiday| holiday.name),
                    "{state:?} {date}"
                );
                date = date.succ_opt().unwrap();
            }
        }
    }
}
