//! Public holidays (gesetzliche Feiertage) of the German states, computed: fixed dates and
//! those that move with Easter.
//!
//! The rules follow the state holiday laws in force from 2017 on, including the changes since
//! then (Reformationstag in the north from 2018, Frauentag in Berlin from 2019 and in
//! Mecklenburg-Vorpommern from 2023, Weltkindertag in Thüringen from 2019) and the one-off
//! holidays (Reformationstag 2017 everywhere, Tag der Befreiung in Berlin 2020 and 2025).
//! Years before 2017 are computed with the same rules and may differ from the law then.
//!
//! Holidays that only some municipalities keep are left out: Mariä Himmelfahrt in Bavaria
//! (only in communities with a mainly Catholic population), Fronleichnam in parts of Saxony and
//! Thuringia, the Augsburger Hohes Friedensfest. A school in such a place lists the day in its
//! holiday file as a one-day period.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::State;

/// A public holiday on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicHoliday {
    /// The day.
    pub date: NaiveDate,
    /// Its German name (`Pfingstmontag`).
    pub name: &'static str,
}

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian algorithm, also
/// known as Meeus/Jones/Butcher). Valid for every year chrono can represent after 1582.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let golden = year.rem_euclid(19);
    let century = year.div_euclid(100);
    let in_century = year.rem_euclid(100);
    let leap_centuries = century / 4;
    let century_rest = century % 4;
    let moon_correction = (century + 8) / 25;
    let solar_correction = (century - moon_correction + 1) / 3;
    let epact = (19 * golden + century - leap_centuries - solar_correction + 15).rem_euclid(30);
    let weekday_shift =
        (32 + 2 * century_rest + 2 * (in_century / 4) - epact - in_century % 4).rem_euclid(7);
    let late = (golden + 11 * epact + 22 * weekday_shift) / 451;
    let days_from_march = epact + weekday_shift - 7 * late + 114;
    let month = days_from_march / 31;
    let day = days_from_march % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .expect("Easter falls on a day of March or April")
}

/// The public holidays of `state` in `year`, sorted by date (a day that is a holiday twice over
/// is listed once).
pub fn public_holidays(state: State, year: i32) -> Vec<PublicHoliday> {
    let easter = easter_sunday(year);
    let mut days: Vec<PublicHoliday> = RULES
        .iter()
        .filter(|rule| rule.applies(state, year))
        .filter_map(|rule| {
            rule.day.date(year, || easter).map(|date| PublicHoliday {
                date,
                name: rule.name,
            })
        })
        .collect();
    days.sort_by_key(|holiday| holiday.date);
    days.dedup_by_key(|holiday| holiday.date);
    days
}

/// The name of the public holiday of `state` on `date`, if it is one.
pub fn public_holiday(state: State, date: NaiveDate) -> Option<&'static str> {
    let year = date.year();
    // Easter is computed once, and only when a rule that moves with it is asked.
    let mut easter = None;
    RULES
        .iter()
        .filter(|rule| rule.applies(state, year))
        .find(|rule| {
            rule.day
                .date(year, || *easter.get_or_insert_with(|| easter_sunday(year)))
                == Some(date)
        })
        .map(|rule| rule.name)
}

/// When a holiday falls.
#[derive(Clone, Copy)]
enum Day {
    /// Every year on this month and day.
    Fixed(u32, u32),
    /// This many days after Easter Sunday (negative: before).
    Easter(i64),
    /// Buß- und Bettag: the Wednesday before 23 November.
    Repentance,
}

impl Day {
    /// The day in `year`; `easter` gives that year's Easter Sunday when needed.
    fn date(self, year: i32, easter: impl FnOnce() -> NaiveDate) -> Option<NaiveDate> {
        match self {
            Day::Fixed(month, day) => NaiveDate::from_ymd_opt(year, month, day),
            Day::Easter(offset) => easter().checked_add_signed(chrono::Duration::days(offset)),
            Day::Repentance => {
                let limit = NaiveDate::from_ymd_opt(year, 11, 22)?;
                let back = (limit.weekday().num_days_from_monday() + 7
                    - Weekday::Wed.num_days_from_monday())
                    % 7;
                limit.checked_sub_days(Days::new(u64::from(back)))
            }
        }
    }
}

/// In which years a rule holds.
#[derive(Clone, Copy)]
enum Years {
    /// Every year.
    Every,
    /// From this year on.
    From(i32),
    /// In this year only.
    Only(i32),
}

/// One holiday rule: a name, a day, the states that keep it (empty: all), and the years.
struct Rule {
    /// German name.
    name: &'static str,
    /// When it falls.
    day: Day,
    /// The states that keep it; empty for all sixteen.
    states: &'static [State],
    /// The years it holds.
    years: Years,
}

impl Rule {
    /// Whether `state` keeps this holiday in `year`.
    fn applies(&self, state: State, year: i32) -> bool {
        let in_year = match self.years {
            Years::Every => true,
            Years::From(first) => year >= first,
            Years::Only(only) => year == only,
        };
        in_year && (self.states.is_empty() || self.states.contains(&state))
    }
}

use State::*;

/// Every public holiday rule.
const RULES: &[Rule] = &[
    Rule {
        name: "Neujahr",
        day: Day::Fixed(1, 1),
        states: &[],
        years: Years::Every,
    },
    Rule {
        name: "Heilige Drei Könige",
        day: Day::Fixed(1, 6),
        states: &[BW, BY, ST],
        years: Years::Every,
    },
    Rule {
        name: "Internationaler Frauentag",
        day: Day::Fixed(3, 8),
        states: &[BE],
        years: Years::From(2019),
    },
    Rule {
        name: "Internationaler Frauentag",
        day: Day::Fixed(3, 8),
        states: &[MV],
        years: Years::From(2023),
    },
    Rule {
        name: "Karfreitag",
        day: Day::Easter(-2),
        states: &[],
        years: Years::Every,
    },
    Rule {
        name: "Ostersonntag",
        day: Day::Easter(0),
        states: &[BB],
        years: Years::Every,
    },
    Rule {
        name: "Ostermontag",
        day: Day::Easter(1),
        states: &[],
        years: Years::Every,
    },
    Rule {
        name: "Tag der Arbeit",
        day: Day::Fixed(5, 1),
        states: &[],
        years: Years::Every,
    },
    Rule {
        name: "Tag der Befreiung",
        day: Day::Fixed(5, 8),
        states: &[BE],
        years: Years::Only(2020),
    },
    Rule {
        name: "Tag der Befreiung",
        day: Day::Fixed(5, 8),
        states: &[BE],
        years: Years::Only(2025),
    },
    Rule {
        name: "Christi Himmelfahrt",
        day: Day::Easter(39),
        states: &[],
        years: Years::Every,
    },
    Rule {
        name: "Pfingstsonntag",
        day: Day::Easter(49),
        states: &[BB],
        years: Years::Every,
    },
    Rule {
        name: "Pfingstmontag",
        day: Day::Easter(50),
        states: &[],
        years: Years::Every,
    },
    Rule {
        name: "Fronleichnam",
        day: Day::Easter(60),
        states: &[BW, BY, HE, NW, RP, SL],
        years: Years::Every,
    },
    Rule {
        name: "Mariä Himmelfahrt",
        day: Day::Fixed(8, 15),
        states: &[SL],
        years: Years::Every,
    },
    Rule {
        name: "Weltkindertag",
        day: Day::Fixed(9, 20),
        states: &[TH],
        years: Years::From(2019),
    },
    Rule {
        name: "Tag der Deutschen Einheit",
        day: Day::Fixed(10, 3),
        states: &[],
        years: Years::Every,
    },
    Rule {
        name: "Reformationstag",
        day: Day::Fixed(10, 31),
        states: &[BB, MV, SN, ST, TH],
        years: Years::Every,
    },
    Rule {
        name: "Reformationstag",
        day: Day::Fixed(10, 31),
        states: &[HB, HH, NI, SH],
        years: Years::From(2018),
    },
    Rule {
        name: "Reformationstag",
        day: Day::Fixed(10, 31),
        states: &[BW, BY, BE, HB, HH, HE, NI, NW, RP, SL, SH],
        years: Years::Only(2017),
    },
    Rule {
        name: "Allerheiligen",
        day: Day::Fixed(11, 1),
        states: &[BW, BY, NW, RP, SL],
        years: Years::Every,
    },
    Rule {
        name: "Buß- und Bettag",
        day: Day::Repentance,
        states: &[SN],
        years: Years::Every,
    },
    Rule {
        name: "1. Weihnachtstag",
        day: Day::Fixed(12, 25),
        states: &[],
        years: Years::Every,
    },
    Rule {
        name: "2. Weihnachtstag",
        day: Day::Fixed(12, 26),
        states: &[],
        years: Years::Every,
    },
];
