//! A compiled schedule: is an instant in quiet hours, and when do they end.
//!
//! Windows and holidays are wall-clock times in Europe/Berlin. Each occurrence becomes an
//! interval of instants: a wall-clock time that does not exist (the hour skipped when daylight
//! saving time begins) stands for the instant the clock jumps past it, one that exists twice
//! (the hour repeated when it ends) for its first occurrence. An instant is quiet if an
//! occurrence of a window, or a free day, covers it.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::weekly::{Weekly, WEEK};
use crate::zone::{self, DAY};
use crate::Calendar;

/// A compiled schedule: weekly windows, whether public and school holidays are quiet, and the
/// school's calendar. Cheap to clone (the calendar is shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The weekly windows.
    weekly: Weekly,
    /// Public holidays are quiet all day.
    public_holidays: bool,
    /// School holidays are quiet all day.
    school_holidays: bool,
    /// The free days.
    calendar: Arc<Calendar>,
}

/// Wall-clock slack around an instant when looking for window occurrences: more than the
/// largest daylight-saving shift, so an occurrence moved by a transition is still considered.
const SLACK: i64 = 2 * 3600;

impl Schedule {
    /// A schedule from its parts.
    pub(crate) fn new(
        weekly: Weekly,
        public_holidays: bool,
        school_holidays: bool,
        calendar: Arc<Calendar>,
    ) -> Schedule {
        // The time-zone table is built here, once per process, not in a decision.
        zone::berlin();
        Schedule {
            weekly,
            public_holidays,
            school_holidays,
            calendar,
        }
    }

    /// Whether `at` is in quiet hours.
    pub fn is_quiet(&self, at: DateTime<Utc>) -> bool {
        self.covering_end(at.timestamp()).is_some()
    }

    /// The first instant at or after `at` that is not in quiet hours: `at` itself if it is not
    /// quiet. Quiet periods that meet are one: Friday evening, the weekend and a public holiday
    /// on Monday end on Tuesday morning.
    pub fn release_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.quiet_until(at).unwrap_or(at)
    }

    /// When quiet hours that cover `at` end, or `None` when `at` is not in quiet hours.
    pub fn quiet_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Periods begin and end on whole seconds, so the second `at` falls in decides.
        let mut release = self.covering_end(at.timestamp())?;
        // Each step moves to the end of a period covering `release`, which lies after it.
        // Free days end where the holiday data ends, and the windows leave time free in every
        // week, so the steps end.
        while let Some(end) = self.covering_end(release) {
            release = end;
        }
        Some(DateTime::from_timestamp(release, 0).expect("within chrono's range"))
    }

    /// The latest end (UTC second) of the periods covering UTC second `at`: a run of free days,
    /// a window occurrence.
    fn covering_end(&self, at: i64) -> Option<i64> {
        let zone = zone::berlin();
        let wall = zone.wall(at);
        let day = wall.div_euclid(DAY);
        let mut end = None;
        if self.public_holidays || self.school_holidays {
            let date = date_of(day);
            let working =
                self.calendar
                    .next_working_day(date, self.public_holidays, self.school_holidays);
            if working > date {
                end = Some(zone.instant(day_of(working) * DAY));
            }
        }
        let intervals = self.weekly.intervals();
        if intervals.is_empty() {
            return end;
        }
        // 1970-01-01 was a Thursday: day 0 is weekday 3 counting from Monday.
        let week_start = (day - (day + 3).rem_euclid(7)) * DAY;
        for week in [-1, 0, 1] {
            let base = week_start + week * i64::from(WEEK);
            // Intervals starting no later than the slack after `at`, newest first; stop at the
            // first that ended more than the slack before it.
            let upto =
                intervals.partition_point(|&(start, _)| base + i64::from(start) <= wall + SLACK);
            for &(start, stop) in intervals[..upto].iter().rev() {
                if base + i64::from(stop) <= wall - SLACK {
                    break;
                }
                let until = zone.instant(base + i64::from(stop));
                if at < until && zone.instant(base + i64::from(start)) <= at {
                    end = end.max(Some(until));
                }
            }
        }
        end
    }
}

/// Days since 1970-01-01 from the start of the Common Era (as chrono counts them).
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The date `day` days after 1970-01-01.
fn date_of(day: i64) -> NaiveDate {
    i32::try_from(day + EPOCH_DAYS_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .expect("within chrono's range")
}

/// Days from 1970-01-01 to `date`.
fn day_of(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_convert() {
        let table = [
            (0, "1970-01-01"),
            (-1, "1969-12-31"),
            (20_767, "2026-11-10"),
        ];
        for (day, date) in table {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
            assert_eq!(date_of(day), date);
            assert_eq!(day_of(date), day);
        }
        // 2026-11-10 is a Tuesday: one day after its week's Monday.
        assert_eq!((20_767 + 3_i64).rem_euclid(7), 1);
    }
}
