//! A compiled schedule: is an instant in quiet hours, and when do they end.
//!
//! Windows and holidays are wall-clock times in Europe/Berlin. Each occurrence becomes an
//! interval of instants: a wall-clock time that does not exist (the hour skipped when daylight
//! saving time begins) stands for the instant the clock jumps past it, one that exists twice
//! (the hour repeated when it ends) for its first occurrence. An instant is quiet if an
//! occurrence of a window, or a free day, covers it.

use std::sync::Arc;

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, Days, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use chrono_tz::GapInfo;

use crate::weekly::{Weekly, WEEK};
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
        Schedule {
            weekly,
            public_holidays,
            school_holidays,
            calendar,
        }
    }

    /// Whether `at` is in quiet hours.
    pub fn is_quiet(&self, at: DateTime<Utc>) -> bool {
        self.covering_end(at).is_some()
    }

    /// The first instant at or after `at` that is not in quiet hours: `at` itself if it is not
    /// quiet. Quiet periods that meet are one: Friday evening, the weekend and a public holiday
    /// on Monday end on Tuesday morning.
    pub fn release_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut release = at;
        // Each step moves to the end of a period covering `release`, which lies after it.
        // Free days end where the holiday data ends, and the windows leave time free in every
        // week, so the steps end.
        while let Some(end) = self.covering_end(release) {
            release = end;
        }
        release
    }

    /// When quiet hours that cover `at` end, or `None` when `at` is not in quiet hours.
    pub fn quiet_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.covering_end(at).map(|end| self.release_after(end))
    }

    /// The latest end of the periods (a run of free days, a window occurrence) covering `at`.
    fn covering_end(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wall = at.with_timezone(&Berlin).naive_local();
        let date = wall.date();
        let mut end = None;
        if self.public_holidays || self.school_holidays {
            let working =
                self.calendar
                    .next_working_day(date, self.public_holidays, self.school_holidays);
            if working > date {
                end = Some(instant(working.and_hms_opt(0, 0, 0).expect("midnight")));
            }
        }
        let intervals = self.weekly.intervals();
        if intervals.is_empty() {
            return end;
        }
        let monday = date - Days::new(u64::from(date.weekday().num_days_from_monday()));
        let week_start = monday.and_hms_opt(0, 0, 0).expect("midnight");
        let offset = (wall - week_start).num_seconds();
        for week in [-1i64, 0, 1] {
            let base = week * i64::from(WEEK);
            // Intervals starting no later than the slack after `at`, newest first; stop at the
            // first that ended more than the slack before it.
            let upto =
                intervals.partition_point(|&(start, _)| i64::from(start) + base <= offset + SLACK);
            for &(start, stop) in intervals[..upto].iter().rev() {
                if i64::from(stop) + base <= offset - SLACK {
                    break;
                }
                let wall_at = |seconds: u32| {
                    instant(week_start + chrono::Duration::seconds(i64::from(seconds) + base))
                };
                let until = wall_at(stop);
                if at < until && wall_at(start) <= at {
                    end = end.max(Some(until));
                }
            }
        }
        end
    }
}

/// The instant a Berlin wall-clock time stands for: its first occurrence if it occurs twice,
/// the end of the gap (the first instant after it) if the clock skips it.
fn instant(wall: NaiveDateTime) -> DateTime<Utc> {
    match Berlin.from_local_datetime(&wall) {
        LocalResult::Single(at) => at.to_utc(),
        LocalResult::Ambiguous(first, _) => first.to_utc(),
        LocalResult::None => GapInfo::new(&wall, &Berlin)
            .and_then(|gap| gap.end)
            .expect("a gap in Berlin's time ends")
            .to_utc(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Berlin wall-clock time `YYYY-MM-DD HH:MM`.
    fn wall(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    /// An instant in UTC, `YYYY-MM-DD HH:MM`.
    fn utc(text: &str) -> DateTime<Utc> {
        wall(text).and_utc()
    }

    #[test]
    fn wall_clock_times_map_to_instants_across_both_changes() {
        let table = [
            // Winter and summer time.
            ("2027-01-15 18:00", "2027-01-15 17:00"),
            ("2027-07-15 18:00", "2027-07-15 16:00"),
            // 28 March 2027: 02:00 CET jumps to 03:00 CEST; the skipped half hour stands for
            // the instant of the jump.
            ("2027-03-28 01:59", "2027-03-28 00:59"),
            ("2027-03-28 02:00", "2027-03-28 01:00"),
            ("2027-03-28 02:30", "2027-03-28 01:00"),
            ("2027-03-28 03:00", "2027-03-28 01:00"),
            ("2027-03-28 03:01", "2027-03-28 01:01"),
            // 25 October 2026: 03:00 CEST falls back to 02:00 CET; the repeated half hour
            // stands for its first occurrence (summer time).
            ("2026-10-25 02:30", "2026-10-25 00:30"),
            ("2026-10-25 03:00", "2026-10-25 02:00"),
        ];
        for (local, expected) in table {
            assert_eq!(instant(wall(local)), utc(expected), "{local}");
        }
    }
}
