//! Europe/Berlin wall-clock time as plain seconds, from the tz database: the instants at which
//! Berlin's UTC offset changed (or will change) between 1970 and 2100, read once from
//! `chrono-tz`, so a conversion is a binary search instead of a time-zone lookup per call.

use std::sync::OnceLock;

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Europe::Berlin;

/// Seconds in a day.
pub(crate) const DAY: i64 = 24 * 60 * 60;

/// Half the bracket around a wall-clock time in which its instant lies (UTC offsets are at most
/// 14 hours).
const BRACKET: i64 = 14 * 60 * 60;

/// Offset changes of Berlin: `(first UTC second of the offset, offset in seconds)`, sorted; the
/// first entry applies to everything before it too, the last to everything after.
pub(crate) struct Zone {
    /// The changes.
    changes: Vec<(i64, i64)>,
}

/// The Berlin table, built on first use.
pub(crate) fn berlin() -> &'static Zone {
    static ZONE: OnceLock<Zone> = OnceLock::new();
    ZONE.get_or_init(Zone::read)
}

impl Zone {
    /// Reads Berlin's offset changes from 1970 to 2100 from the tz database, week by week
    /// (changes are months apart), each pinned to the second by bisection.
    fn read() -> Zone {
        let offset = |utc: i64| -> i64 {
            let at = DateTime::from_timestamp(utc, 0).expect("in range");
            i64::from(
                Berlin
                    .offset_from_utc_datetime(&at.naive_utc())
                    .fix()
                    .local_minus_utc(),
            )
        };
        let (start, end) = (0, 4_102_444_800); // 1970-01-01 and 2100-01-01, UTC
        let mut changes = vec![(start, offset(start))];
        let mut at = start;
        while at < end {
            let next = at + 7 * DAY;
            let current = changes.last().expect("one entry at least").1;
            if offset(next) != current {
                // The first second in (at, next] with the new offset.
                let (mut old, mut new) = (at, next);
                while new - old > 1 {
                    let middle = old + (new - old) / 2;
                    if offset(middle) == current {
                        old = middle;
                    } else {
                        new = middle;
                    }
                }
                changes.push((new, offset(new)));
            }
            at = next;
        }
        Zone { changes }
    }

    /// The offset in force at UTC second `utc`.
    fn offset(&self, utc: i64) -> i64 {
        let after = self.changes.partition_point(|&(from, _)| from <= utc);
        self.changes[after.saturating_sub(1)].1
    }

    /// The wall-clock time (seconds since 1970-01-01 00:00 on Berlin's clock) at `utc`.
    pub(crate) fn wall(&self, utc: i64) -> i64 {
        utc + self.offset(utc)
    }

    /// The instant (UTC second) a wall-clock time stands for: its first occurrence if it
    /// occurs twice, the instant the clock jumps past it if it is skipped.
    pub(crate) fn instant(&self, wall: i64) -> i64 {
        let before = self.offset(wall - BRACKET);
        let after = self.offset(wall + BRACKET);
        if before == after {
            return wall - before;
        }
        // One change lies in the bracket; the wall time may fall on either side of it.
        let (early, late) = (wall - before, wall - after);
        match (self.offset(early) == before, self.offset(late) == after) {
            (true, true) => early.min(late),
            (true, false) => early,
            (false, true) => late,
            (false, false) => {
                let after_change = self
                    .changes
                    .partition_point(|&(from, _)| from <= wall + BRACKET);
                self.changes[after_change - 1].0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::offset::LocalResult;
    use chrono::NaiveDateTime;
    use chrono_tz::GapInfo;

    /// The instant of a wall-clock time as chrono-tz computes it.
    fn reference(wall: i64) -> i64 {
        let naive = DateTime::from_timestamp(wall, 0)
            .expect("in range")
            .naive_utc();
        match Berlin.from_local_datetime(&naive) {
            LocalResult::Single(at) => at.timestamp(),
            LocalResult::Ambiguous(first, _) => first.timestamp(),
            LocalResult::None => GapInfo::new(&naive, &Berlin)
                .and_then(|gap| gap.end)
                .expect("a gap ends")
                .timestamp(),
        }
    }

    /// Seconds of a wall-clock time `YYYY-MM-DD HH:MM`.
    fn wall(text: &str) -> i64 {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp()
    }

    #[test]
    fn the_table_agrees_with_chrono_tz() {
        let zone = berlin();
        // Two changes a year since 1980 (summer time came back to Germany that year).
        assert!(zone.changes.len() > 2 * 119, "{}", zone.changes.len());
        // Every quarter hour around the changes of 2026 and 2027, and about daily from 1970 to
        // 2100 (at a time of day that moves).
        let around = [
            "2026-03-29 00:00",
            "2026-10-25 00:00",
            "2027-03-28 00:00",
            "2027-10-31 00:00",
        ];
        for start in around {
            let start = wall(start);
            for step in 0..(4 * 6) {
                let wall = start + step * 900;
                assert_eq!(zone.instant(wall), reference(wall), "{wall}");
            }
        }
        let mut at = wall("1970-01-02 00:00");
        while at < wall("2099-12-31 00:00") {
            assert_eq!(zone.instant(at), reference(at), "{at}");
            let utc = reference(at);
            let shown = DateTime::from_timestamp(utc, 0)
                .unwrap()
                .with_timezone(&Berlin)
                .naive_local()
                .and_utc()
                .timestamp();
            assert_eq!(zone.wall(utc), shown, "{utc}");
            at += DAY + 7 * 60;
        }
    }
}
