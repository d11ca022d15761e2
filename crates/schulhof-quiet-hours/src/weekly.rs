//! The weekly part of a schedule: times of day, period boundaries (weekly form `Mo-Fr 18:00`
//! or a cron expression) and the quiet windows they make, compiled into wall-clock intervals of
//! a week.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FieldError;

/// Seconds in a day.
pub(crate) const DAY: u32 = 24 * 60 * 60;
/// Seconds in a week.
pub(crate) const WEEK: u32 = 7 * DAY;

/// The start of the English message for a malformed time of day (the error module words it in
/// German).
pub(crate) const TIME_OF_DAY_EN: &str = "expected a time of day like 18:00";
/// The German message for a malformed time of day.
pub(crate) const TIME_OF_DAY_DE: &str = "Erwartet wird eine Uhrzeit wie 18:00.";

/// A time of day on the wall clock in Berlin, to the minute, written `HH:MM` (`07:00`, `18:30`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u32);

impl TimeOfDay {
    /// `hour:minute`, if both are in range (0–23, 0–59).
    pub fn new(hour: u32, minute: u32) -> Option<TimeOfDay> {
        (hour < 24 && minute < 60).then_some(TimeOfDay(hour * 3600 + minute * 60))
    }

    /// Seconds since midnight.
    pub(crate) fn seconds(self) -> u32 {
        self.0
    }

    /// Whether the time lies in `earliest..=latest`; a range whose `latest` is before its
    /// `earliest` runs over midnight (`22:00..=01:00`).
    pub(crate) fn within(self, earliest: TimeOfDay, latest: TimeOfDay) -> bool {
        if earliest <= latest {
            earliest <= self && self <= latest
        } else {
            self >= earliest || self <= latest
        }
    }
}

/// A malformed time of day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{TIME_OF_DAY_EN}, not „{0}“")]
pub struct TimeOfDayError(String);

impl FromStr for TimeOfDay {
    type Err = TimeOfDayError;

    fn from_str(text: &str) -> Result<TimeOfDay, TimeOfDayError> {
        let error = || TimeOfDayError(text.to_owned());
        let (hour, minute) = text.trim().split_once(':').ok_or_else(error)?;
        let number = |part: &str, digits: std::ops::RangeInclusive<usize>| {
            if digits.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse::<u32>().ok()
            } else {
                None
            }
        };
        let (hour, minute) = (number(hour, 1..=2), number(minute, 2..=2));
        hour.zip(minute)
            .and_then(|(hour, minute)| TimeOfDay::new(hour, minute))
            .ok_or_else(error)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 3600, self.0 / 60 % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TimeOfDay, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Where quiet periods begin or end in a week: days (bit 0 Monday … bit 6 Sunday) and times of
/// day (seconds since midnight, sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Boundary {
    /// Days of the week, bit 0 Monday.
    days: u8,
    /// Times of day in seconds, sorted and distinct.
    times: Vec<u32>,
}

/// At most this many boundary instants per week (one a minute).
const MAX_POINTS: usize = 7 * 24 * 60;

impl Boundary {
    /// Parses a boundary: the weekly form `DAYS HH:MM` (`Mo-Fr 18:00`, `Sa,So 09:30`; German or
    /// English day names) or a cron expression of the `cron` crate (six or seven fields,
    /// seconds first: `0 0 18 * * Mon-Fri`). Errors are German and English.
    pub(crate) fn parse(text: &str) -> Result<Boundary, (String, String)> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        match fields.len() {
            2 => weekly_form(fields[0], fields[1]),
            6 | 7 => cron_form(text, fields[5]),
            1 if text.trim_start().starts_with('@') => cron_form(text, "*"),
            _ => Err((
                format!(
                    "„{text}“ ist weder ein Wochentermin wie „Mo-Fr 18:00“ noch ein \
                     Cron-Ausdruck wie „0 0 18 * * Mon-Fri“ (sechs Felder, Sekunden zuerst)."
                ),
                format!(
                    "`{text}` is neither a weekly time like `Mo-Fr 18:00` nor a cron expression \
                     like `0 0 18 * * Mon-Fri` (six fields, seconds first)"
                ),
            )),
        }
    }

    /// The single time of day, if there is exactly one (a movable window needs that).
    pub(crate) fn single_time(&self) -> Option<TimeOfDay> {
        match self.times[..] {
            [seconds] => Some(TimeOfDay(seconds)),
            _ => None,
        }
    }

    /// The same days at `time` instead.
    pub(crate) fn at(&self, time: TimeOfDay) -> Boundary {
        Boundary {
            days: self.days,
            times: vec![time.seconds()],
        }
    }

    /// Every instant of the week, in seconds since Monday 00:00, sorted.
    fn points(&self) -> Vec<u32> {
        (0..7)
            .filter(|day| self.days & (1 << day) != 0)
            .flat_map(|day| self.times.iter().map(move |time| day * DAY + time))
            .collect()
    }
}

/// The weekly form: days and a time.
fn weekly_form(days: &str, time: &str) -> Result<Boundary, (String, String)> {
    let time: TimeOfDay = time.parse().map_err(|_| {
        (
            format!("„{time}“ ist keine Uhrzeit wie 18:00."),
            format!("`{time}` is not a time of day like 18:00"),
        )
    })?;
    let mut mask = 0u8;
    for part in days.split(',') {
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (weekday(first)?, weekday(last)?),
            None => (weekday(part)?, weekday(part)?),
        };
        // A range may run over the weekend (`Fr-Mo`).
        let mut day = first;
        loop {
            mask |= 1 << day;
            if day == last {
                break;
            }
            day = (day + 1) % 7;
        }
    }
    Ok(Boundary {
        days: mask,
        times: vec![time.seconds()],
    })
}

/// A day of the week by German or English name or abbreviation, 0 = Monday.
fn weekday(name: &str) -> Result<u32, (String, String)> {
    const NAMES: [&[&str]; 7] = [
        &["mo", "mon", "montag", "monday"],
        &["di", "tue", "dienstag", "tuesday"],
        &["mi", "wed", "mittwoch", "wednesday"],
        &["do", "thu", "donnerstag", "thursday"],
        &["fr", "fri", "freitag", "friday"],
        &["sa", "sat", "samstag", "saturday"],
        &["so", "sun", "sonntag", "sunday"],
    ];
    let lower = name.trim().to_lowercase();
    (0..7)
        .find(|&day| NAMES[day as usize].contains(&lower.as_str()))
        .ok_or_else(|| {
            (
                format!("„{name}“ ist kein Wochentag (Mo, Di, Mi, Do, Fr, Sa, So)."),
                format!("`{name}` is not a day of the week (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"),
            )
        })
}

/// A cron expression; `day_of_week` is its sixth field (days must be named: the `cron` crate
/// counts 1 as Sunday, where Unix cron counts 1 as Monday).
fn cron_form(text: &str, day_of_week: &str) -> Result<Boundary, (String, String)> {
    use cron::TimeUnitSpec;

    if day_of_week.bytes().any(|b| b.is_ascii_digit()) {
        return Err((
            format!(
                "Im Cron-Ausdruck „{text}“ sind die Wochentage mit Namen anzugeben \
                 (Mon-Fri), nicht mit Zahlen."
            ),
            format!("cron expression `{text}`: name the days of the week (Mon-Fri), not numbers"),
        ));
    }
    let schedule = cron::Schedule::from_str(text).map_err(|error| {
        // The parser's message may draw a caret under the expression; keep its last line.
        let error = error.to_string();
        let reason = error.lines().last().unwrap_or_default().trim();
        (
            format!("„{text}“ ist kein gültiger Cron-Ausdruck (siehe englische Meldung)."),
            format!("`{text}` is not a valid cron expression: {reason}"),
        )
    })?;
    if !(schedule.days_of_month().is_all()
        && schedule.months().is_all()
        && schedule.years().is_all())
    {
        return Err((
            format!(
                "Der Cron-Ausdruck „{text}“ muss sich jede Woche wiederholen: Tag im Monat, \
                 Monat und Jahr müssen * sein."
            ),
            format!(
                "cron expression `{text}` must repeat every week: day of month, month and \
                 year must be *"
            ),
        ));
    }
    // The cron crate numbers the days 1 (Sunday) to 7 (Saturday).
    let days = schedule
        .days_of_week()
        .iter()
        .fold(0u8, |mask, day| mask | 1 << ((day + 5) % 7));
    let mut times: Vec<u32> = Vec::new();
    for hour in schedule.hours().iter() {
        for minute in schedule.minutes().iter() {
            for second in schedule.seconds().iter() {
                times.push(hour * 3600 + minute * 60 + second);
                if times.len() * days.count_ones() as usize > MAX_POINTS {
                    return Err((
                        format!(
                            "Der Cron-Ausdruck „{text}“ trifft zu oft zu (höchstens einmal \
                             pro Minute)."
                        ),
                        format!("cron expression `{text}` fires too often (at most once a minute)"),
                    ));
                }
            }
        }
    }
    times.sort_unstable();
    Ok(Boundary { days, times })
}

/// Quiet intervals of a week on the wall clock: seconds since Monday 00:00, sorted, disjoint
/// and not touching; each starts within the week, and the last may run past its end (into the
/// next Monday).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Weekly {
    /// `(start, end)`, half-open.
    intervals: Vec<(u32, u32)>,
}

/// One window: quiet from each instant of `begin` until the next instant of `end` after it.
pub(crate) struct Window {
    /// Where quiet periods begin.
    pub(crate) begin: Boundary,
    /// Where they end.
    pub(crate) end: Boundary,
}

impl Weekly {
    /// The union of `windows`, each paired with the field its errors name. Errors: a begin that
    /// coincides with an end, and windows that leave no time of the week free.
    pub(crate) fn compile(windows: &[(Window, String)]) -> Result<Weekly, FieldError> {
        let mut pieces: Vec<(u32, u32)> = Vec::new();
        for (window, field) in windows {
            let begins = window.begin.points();
            let ends = window.end.points();
            if let Some(&clash) = begins
                .iter()
                .find(|point| ends.binary_search(point).is_ok())
            {
                let (day, time) = describe(clash);
                return Err(FieldError::new(
                    format!("{field}.end"),
                    format!("Beginn und Ende fallen zusammen ({day} {time})."),
                    format!("begin and end coincide ({day} {time})"),
                ));
            }
            for &begin in &begins {
                // The first end after the begin, in this week or the next.
                let end = match ends.iter().find(|&&end| end > begin) {
                    Some(&end) => end,
                    None => ends[0] + WEEK,
                };
                if end > WEEK {
                    pieces.push((begin, WEEK));
                    pieces.push((0, end - WEEK));
                } else {
                    pieces.push((begin, end));
                }
            }
        }
        pieces.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::new();
        for (start, end) in pieces {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        if let [(0, WEEK)] = merged[..] {
            return Err(FieldError::new(
                "windows",
                "Die Fenster lassen in der Woche keine Zeit ohne Ruhezeit.",
                "the windows leave no time of the week outside quiet hours",
            ));
        }
        // An interval ending at the end of the week continues into the one starting Monday 00:00.
        if merged.len() > 1 && merged[0].0 == 0 && merged[merged.len() - 1].1 == WEEK {
            let (_, first_end) = merged.remove(0);
            if let Some(last) = merged.last_mut() {
                last.1 = WEEK + first_end;
            }
        }
        Ok(Weekly { intervals: merged })
    }

    /// The intervals, for lookups.
    pub(crate) fn intervals(&self) -> &[(u32, u32)] {
        &self.intervals
    }
}

/// A point of the week as German day abbreviation and time (`Fr 18:00`).
fn describe(point: u32) -> (&'static str, TimeOfDay) {
    const DAYS: [&str; 7] = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"];
    (
        DAYS[(point / DAY) as usize],
        TimeOfDay(point % DAY / 60 * 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles windows given as (begin, end) texts.
    fn compile(windows: &[(&str, &str)]) -> Result<Vec<(u32, u32)>, FieldError> {
        let windows: Vec<(Window, String)> = windows
            .iter()
            .enumerate()
            .map(|(i, (begin, end))| {
                let window = Window {
                    begin: Boundary::parse(begin).unwrap(),
                    end: Boundary::parse(end).unwrap(),
                };
                (window, format!("windows[{i}]"))
            })
            .collect();
        Weekly::compile(&windows).map(|weekly| weekly.intervals)
    }

    /// Seconds since Monday 00:00 of `day` (0 = Monday) at `hour:minute`.
    fn at(day: u32, hour: u32, minute: u32) -> u32 {
        day * DAY + hour * 3600 + minute * 60
    }

    #[test]
    fn times_of_day_parse_and_print() {
        let table = [
            ("07:00", Some("07:00")),
            ("7:05", Some("07:05")),
            (" 23:59 ", Some("23:59")),
            ("24:00", None),
            ("18:60", None),
            ("18", None),
            ("18:5", None),
            ("+1:00", None),
            ("ab:cd", None),
        ];
        for (text, expected) in table {
            let parsed = text.parse::<TimeOfDay>().ok().map(|t| t.to_string());
            assert_eq!(parsed.as_deref(), expected, "{text}");
        }
        let error = "7 Uhr".parse::<TimeOfDay>().unwrap_err().to_string();
        assert!(error.starts_with(TIME_OF_DAY_EN), "{error}");
    }

    #[test]
    fn midnight_ranges_wrap() {
        let t = |text: &str| text.parse::<TimeOfDay>().unwrap();
        assert!(t("23:00").within(t("22:00"), t("01:00")));
        assert!(t("00:30").within(t("22:00"), t("01:00")));
        assert!(!t("12:00").within(t("22:00"), t("01:00")));
        assert!(t("17:00").within(t("16:00"), t("21:00")));
        assert!(!t("21:01").within(t("16:00"), t("21:00")));
    }

    #[test]
    fn weekly_form_and_cron_give_the_same_boundaries() {
        let table = [
            ("Mo-Fr 18:00", "0 0 18 * * Mon-Fri"),
            ("mo,mi,FR 07:30", "0 30 7 * * Mon,Wed,Fri *"),
            ("Fr-Mo 12:00", "0 0 12 * * Fri,Sat,Sun,Mon"),
            ("Montag-Sonntag 00:00", "@daily"),
            ("So 00:00", "@weekly"),
            ("Sat 09:00", "0 0 9 ? * SAT"),
        ];
        for (weekly, cron) in table {
            assert_eq!(
                Boundary::parse(weekly),
                Boundary::parse(cron),
                "{weekly} / {cron}"
            );
        }
    }

    #[test]
    fn bad_boundaries_are_refused() {
        let table = [
            ("Mo-Fr", "weder ein Wochentermin"),
            ("Mo-Fr 18 Uhr", "weder ein Wochentermin"),
            ("Xy 18:00", "„Xy“ ist kein Wochentag"),
            ("Mo-Fr 25:00", "„25:00“ ist keine Uhrzeit"),
            ("0 0 18 * * 1-5", "mit Namen anzugeben"),
            ("0 0 18 * * Mon-Fry", "kein gültiger Cron-Ausdruck"),
            ("0 0 25 * * Mon", "kein gültiger Cron-Ausdruck"),
            ("0 0 18 1 * *", "muss sich jede Woche wiederholen"),
            ("0 0 18 * Jan *", "muss sich jede Woche wiederholen"),
            ("@monthly", "muss sich jede Woche wiederholen"),
            ("* * * * * *", "zu oft"),
        ];
        for (text, german) in table {
            let (de, en) = Boundary::parse(text).unwrap_err();
            assert!(de.contains(german), "{text}: {de}");
            assert!(!en.is_empty());
        }
    }

    #[test]
    fn weekday_evenings_and_the_weekend_are_one_window() {
        let intervals = compile(&[("Mo-Fr 18:00", "Mo-Fr 07:00")]).unwrap();
        assert_eq!(
            intervals,
            [
                (at(0, 18, 0), at(1, 7, 0)),
                (at(1, 18, 0), at(2, 7, 0)),
                (at(2, 18, 0), at(3, 7, 0)),
                (at(3, 18, 0), at(4, 7, 0)),
                // Friday evening to Monday morning, past the end of the week.
                (at(4, 18, 0), WEEK + at(0, 7, 0)),
            ]
        );
    }

    #[test]
    fn overlapping_windows_merge() {
        let intervals = compile(&[
            ("Mo-Fr 18:00", "Mo-Fr 07:00"),
            ("Mi 13:00", "Mi 19:00"),
            ("Sa 10:00", "Sa 12:00"),
        ])
        .unwrap();
        assert_eq!(intervals[2], (at(2, 13, 0), at(3, 7, 0)));
        assert_eq!(intervals.len(), 5);
    }

    #[test]
    fn a_window_inside_the_week_does_not_wrap() {
        assert_eq!(
            compile(&[("Sa 00:00", "Mo 00:00")]).unwrap(),
            [(at(5, 0, 0), WEEK)]
        );
        assert_eq!(compile(&[]).unwrap(), []);
    }

    #[test]
    fn windows_must_leave_time_free_and_not_clash() {
        let e = compile(&[("Mo 00:00", "Mo 00:00")]).unwrap_err();
        assert_eq!(e.field, "windows[0].end");
        assert_eq!(e.message_de, "Beginn und Ende fallen zusammen (Mo 00:00).");
        let e = compile(&[
            ("Mo-Fr 18:00", "Mo-Fr 07:00"),
            ("Mo-Fr 06:00", "Mo-Fr 19:00"),
        ])
        .unwrap_err();
        assert_eq!(e.field, "windows");
        let e = compile(&[("Mo-Fr 18:00", "Mo-Fr 07:00"), ("Fr 17:00", "Fr 18:00")]);
        assert!(e.is_ok());
    }
}
