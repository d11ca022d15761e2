//! The school's free days: public holidays of its state (computed) and school holidays from
//! one file per state and school year (`config/holidays/bb-2026-27.toml`).

use chrono::{Datelike, Days, NaiveDate};
use serde::Deserialize;

use crate::error::Document;
use crate::{public_holiday, public_holidays, ConfigError, FieldError, State};

/// The years whose public holidays a calendar keeps as a table (other years are computed when
/// asked).
const TABLE_YEARS: std::ops::RangeInclusive<i32> = 1970..=2100;

/// The longest period a holiday file may hold, in days (summer holidays last about 45; a
/// longer period is almost always a typing error in a year).
const MAX_PERIOD_DAYS: u64 = 100;

/// One school-holiday period (Herbstferien, Sommerferien, a single free day), first and last
/// day included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayPeriod {
    /// Its name (`Herbstferien`).
    pub name: String,
    /// The first free day.
    pub first: NaiveDate,
    /// The last free day.
    pub last: NaiveDate,
    /// Its position in the file's `holidays` list and the line of its first day, for errors
    /// about it.
    at: (usize, usize),
}

/// A school-holiday file: the periods of one state in one school year.
///
/// ```toml
/// state = "BB"
/// school_year = "2026/27"
///
/// [[holidays]]
/// name = "Herbstferien"
/// first = 2026-10-19
/// last = 2026-10-30
/// ```
///
/// Dates are TOML dates (no quotes). Every day of a period lies between 1 July of the school
/// year's first year and 30 September of its second (summer holidays cross 1 August);
/// periods are at most 100 days long and do not overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayFile {
    /// The file's name as given (for errors).
    pub file: String,
    /// The state.
    pub state: State,
    /// The first calendar year of the school year (2026 for 2026/27).
    pub school_year: i32,
    /// The periods, sorted by their first day.
    pub periods: Vec<HolidayPeriod>,
    /// The lines of `state` and `school_year`, for errors about them.
    lines: (usize, usize),
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    state: State,
    school_year: String,
    #[serde(default)]
    holidays: Vec<RawPeriod>,
}

/// A period as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    name: String,
    first: toml::value::Datetime,
    last: toml::value::Datetime,
}

impl HolidayFile {
    /// Parses the holiday file `file` with contents `text`. Errors name the file, line and
    /// field: unknown keys, dates with times, reversed or overlong periods, periods outside the
    /// school year, overlapping periods.
    pub fn from_toml(file: &str, text: &str) -> Result<HolidayFile, ConfigError> {
        let document = Document::parse(file, text)?;
        let raw: RawFile = document.read()?;
        HolidayFile::check(file, raw, &document).map_err(|error| document.locate(error))
    }

    /// Validates the file as read.
    fn check(file: &str, raw: RawFile, document: &Document<'_>) -> Result<HolidayFile, FieldError> {
        let school_year = school_year(&raw.school_year)?;
        let earliest = ymd(school_year, 7, 1);
        let latest = ymd(school_year + 1, 9, 30);
        let mut periods = Vec::with_capacity(raw.holidays.len());
        for (index, period) in raw.holidays.into_iter().enumerate() {
            let field = |name: &str| format!("holidays[{index}].{name}");
            if period.name.trim().is_empty() {
                return Err(FieldError::new(
                    field("name"),
                    "Der Name fehlt.",
                    "the name is empty",
                ));
            }
            let first = date(&period.first, &field("first"))?;
            let last = date(&period.last, &field("last"))?;
            if last < first {
                return Err(FieldError::new(
                    field("last"),
                    format!("Der letzte Tag {last} liegt vor dem ersten Tag {first}."),
                    format!("the last day {last} is before the first day {first}"),
                ));
            }
            if (last - first).num_days() as u64 >= MAX_PERIOD_DAYS {
                return Err(FieldError::new(
                    field("last"),
                    format!(
                        "Der Zeitraum {first} bis {last} ist länger als {MAX_PERIOD_DAYS} Tage \
                         (Tippfehler im Jahr?)."
                    ),
                    format!("the period {first} to {last} is longer than {MAX_PERIOD_DAYS} days (a typo in the year?)"),
                ));
            }
            for (name, day) in [("first", first), ("last", last)] {
                if day < earliest || day > latest {
                    return Err(FieldError::new(
                        field(name),
                        format!(
                            "{day} liegt nicht im Schuljahr {} (erlaubt: {earliest} bis {latest}).",
                            raw.school_year
                        ),
                        format!(
                            "{day} is not in the school year {} (allowed: {earliest} to {latest})",
                            raw.school_year
                        ),
                    ));
                }
            }
            let line = document
                .locate(FieldError::new(field("first"), "", ""))
                .line;
            periods.push((
                index,
                HolidayPeriod {
                    name: period.name,
                    first,
                    last,
                    at: (index, line),
                },
            ));
        }
        periods.sort_by_key(|(_, period)| period.first);
        for pair in periods.windows(2) {
            let [(first_index, earlier), (second_index, later)] = pair else {
                continue;
            };
            if later.first <= earlier.last {
                // Name the one written further down the file.
                let (index, other) = if second_index > first_index {
                    (second_index, earlier)
                } else {
                    (first_index, later)
                };
                return Err(overlap(format!("holidays[{index}].first"), other, file));
            }
        }
        let line = |field: &str| document.locate(FieldError::new(field, "", "")).line;
        Ok(HolidayFile {
            file: file.to_owned(),
            state: raw.state,
            school_year,
            periods: periods.into_iter().map(|(_, period)| period).collect(),
            lines: (line("state"), line("school_year")),
        })
    }

    /// The days this file speaks for: 1 August of its first year to 31 July of its second, or
    /// to the end of its last period if that is later.
    fn covers(&self) -> (NaiveDate, NaiveDate) {
        let end = ymd(self.school_year + 1, 7, 31);
        let last = self.periods.iter().map(|period| period.last).max();
        (
            ymd(self.school_year, 8, 1),
            last.map_or(end, |last| last.max(end)),
        )
    }
}

/// An error: a period overlaps `other` (from `file`).
fn overlap(field: String, other: &HolidayPeriod, file: &str) -> FieldError {
    FieldError::new(
        field,
        format!(
            "Der Zeitraum überschneidet sich mit „{}“ ({} bis {}, {file} Zeile {}).",
            other.name, other.first, other.last, other.at.1
        ),
        format!(
            "the period overlaps `{}` ({} to {}, {file} line {})",
            other.name, other.first, other.last, other.at.1
        ),
    )
}

/// `year-month-day`, for dates known to exist.
fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
}

/// A school year written `2026/27` or `2026/2027`: its first calendar year.
fn school_year(text: &str) -> Result<i32, FieldError> {
    let parsed = text.split_once('/').and_then(|(first, second)| {
        let first: i32 = first.trim().parse().ok()?;
        let second = second.trim();
        let next = first + 1;
        let matches = (second.len() == 2 && second.parse::<i32>().ok()? == next % 100)
            || (second.len() == 4 && second.parse::<i32>().ok()? == next);
        (matches && (1900..=9998).contains(&first)).then_some(first)
    });
    parsed.ok_or_else(|| {
        FieldError::new(
            "school_year",
            format!("„{text}“ ist kein Schuljahr wie 2026/27."),
            format!("`{text}` is not a school year like 2026/27"),
        )
    })
}

/// A TOML date without time or offset.
fn date(value: &toml::value::Datetime, field: &str) -> Result<NaiveDate, FieldError> {
    let day = match (value.date, value.time, value.offset) {
        (Some(date), None, None) => NaiveDate::from_ymd_opt(
            i32::from(date.year),
            u32::from(date.month),
            u32::from(date.day),
        ),
        _ => None,
    };
    day.ok_or_else(|| {
        FieldError::new(
            field,
            format!("„{value}“ ist kein Datum wie 2026-10-19 (ohne Uhrzeit)."),
            format!("`{value}` is not a date like 2026-10-19 (without a time)"),
        )
    })
}

/// The free days of one school: the public holidays of its state and the school holidays of
/// its holiday files. Shared (behind an `Arc`) by every schedule of the school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// The state.
    state: State,
    /// The state's public holidays in [`TABLE_YEARS`], sorted.
    public: Vec<NaiveDate>,
    /// School-holiday periods of all files, sorted, not overlapping.
    periods: Vec<HolidayPeriod>,
    /// The spans the files speak for, sorted.
    covered: Vec<(NaiveDate, NaiveDate)>,
}

impl Calendar {
    /// The calendar of a school in `state` with the holiday `files` (in any order). Errors: a
    /// file of another state, two files for the same school year, periods of different files
    /// that overlap; each names the file and line.
    pub fn new(state: State, files: &[HolidayFile]) -> Result<Calendar, ConfigError> {
        let locate =
            |file: &HolidayFile, field: String, line: usize, de: String, en: String| ConfigError {
                file: file.file.clone(),
                line,
                field,
                message_de: de,
                message_en: en,
            };
        let mut years: Vec<&HolidayFile> = Vec::with_capacity(files.len());
        for file in files {
            if file.state != state {
                return Err(locate(
                    file,
                    "state".to_owned(),
                    file.lines.0,
                    format!(
                        "Die Datei gilt für {}, die Schule liegt in {}.",
                        file.state.name(),
                        state.name()
                    ),
                    format!(
                        "the file is for {}, the school is in {}",
                        file.state.code(),
                        state.code()
                    ),
                ));
            }
            if let Some(other) = years
                .iter()
                .find(|other| other.school_year == file.school_year)
            {
                return Err(locate(
                    file,
                    "school_year".to_owned(),
                    file.lines.1,
                    format!("Für dieses Schuljahr gibt es schon {}.", other.file),
                    format!("{} already covers this school year", other.file),
                ));
            }
            years.push(file);
        }
        let mut periods: Vec<(&HolidayFile, &HolidayPeriod)> = files
            .iter()
            .flat_map(|file| file.periods.iter().map(move |period| (file, period)))
            .collect();
        periods.sort_by_key(|(_, period)| period.first);
        for pair in periods.windows(2) {
            let [(earlier_file, earlier), (later_file, later)] = pair else {
                continue;
            };
            if later.first <= earlier.last {
                let error = overlap(String::new(), earlier, &earlier_file.file);
                let (index, line) = later.at;
                return Err(locate(
                    later_file,
                    format!("holidays[{index}].first"),
                    line,
                    error.message_de,
                    error.message_en,
                ));
            }
        }
        let mut covered: Vec<(NaiveDate, NaiveDate)> =
            files.iter().map(HolidayFile::covers).collect();
        covered.sort_unstable();
        Ok(Calendar {
            state,
            public: TABLE_YEARS
                .flat_map(|year| public_holidays(state, year))
                .map(|holiday| holiday.date)
                .collect(),
            periods: periods
                .into_iter()
                .map(|(_, period)| period.clone())
                .collect(),
            covered,
        })
    }

    /// The school's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The name of the school-holiday period containing `date`, if any.
    pub fn school_holiday(&self, date: NaiveDate) -> Option<&str> {
        self.period(date).map(|period| period.name.as_str())
    }

    /// Whether the holiday files speak for `date` (from 1 August of a file's school year to the
    /// end of its summer holidays). Outside, school holidays are unknown and count as school
    /// days; the server should warn the admin before the last file runs out.
    pub fn school_holidays_known(&self, date: NaiveDate) -> bool {
        self.covered
            .iter()
            .any(|&(first, last)| first <= date && date <= last)
    }

    /// The period containing `date`.
    fn period(&self, date: NaiveDate) -> Option<&HolidayPeriod> {
        let after = self.periods.partition_point(|period| period.first <= date);
        after
            .checked_sub(1)
            .map(|index| &self.periods[index])
            .filter(|period| date <= period.last)
    }

    /// Whether `date` is a public holiday of the state.
    fn is_public_holiday(&self, date: NaiveDate) -> bool {
        if TABLE_YEARS.contains(&date.year()) {
            self.public.binary_search(&date).is_ok()
        } else {
            public_holiday(self.state, date).is_some()
        }
    }

    /// The first day from `date` on that is not free (`date` itself if it is not), counting
    /// public holidays if `public` and school holidays if `school`.
    pub(crate) fn next_working_day(
        &self,
        mut date: NaiveDate,
        public: bool,
        school: bool,
    ) -> NaiveDate {
        loop {
            if school {
                if let Some(period) = self.period(date) {
                    date = period.last + Days::new(1);
                    continue;
                }
            }
            if public && self.is_public_holiday(date) {
                date = date + Days::new(1);
                continue;
            }
            return date;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn school_years_parse() {
        assert_eq!(school_year("2026/27"), Ok(2026));
        assert_eq!(school_year("2026/2027"), Ok(2026));
        assert_eq!(school_year("2099/00"), Ok(2099));
        for bad in ["2026/28", "2026", "26/27", "2026/2028", "x/27"] {
            let e = school_year(bad).unwrap_err();
            assert_eq!(e.field, "school_year", "{bad}");
        }
    }

    #[test]
    fn public_holidays_in_and_outside_the_table() {
        let calendar = Calendar::new(State::BB, &[]).unwrap();
        for year in [1969, 1970, 2026, 2100, 2101] {
            let easter = crate::easter_sunday(year);
            assert!(calendar.is_public_holiday(easter), "{year}");
            assert!(!calendar.is_public_holiday(easter + Days::new(2)), "{year}");
        }
    }

    #[test]
    fn covered_span_runs_to_the_end_of_the_summer_holidays() {
        let text = "state = \"BB\"\nschool_year = \"2026/27\"\n\
            [[holidays]]\nname = \"Sommerferien\"\nfirst = 2027-07-01\nlast = 2027-08-14\n";
        let file = HolidayFile::from_toml("bb.toml", text).unwrap();
        assert_eq!(file.covers(), (ymd(2026, 8, 1), ymd(2027, 8, 14)));
        assert_eq!(file.periods[0].at, (0, 5));
        assert_eq!(file.lines, (1, 2));
        let calendar = Calendar::new(State::BB, &[file]).unwrap();
        assert!(!calendar.school_holidays_known(ymd(2026, 7, 31)));
        assert!(calendar.school_holidays_known(ymd(2026, 8, 1)));
        assert!(calendar.school_holidays_known(ymd(2027, 8, 14)));
        assert!(!calendar.school_holidays_known(ymd(2027, 8, 15)));
    }
}
