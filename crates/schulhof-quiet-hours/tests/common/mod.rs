//! Shared test helpers: the shipped configuration and Berlin wall-clock times.

#![allow(dead_code)] // each test file uses a part

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use schulhof_quiet_hours::QuietHours;

/// The shipped configuration.
pub const CONFIG: &str = include_str!("../../../../config/quiet-hours.toml");
/// The shipped Brandenburg holidays 2026/27.
pub const BB_2026_27: &str = include_str!("../../../../config/holidays/bb-2026-27.toml");

/// The shipped configuration with the shipped holiday file.
pub fn school() -> QuietHours {
    QuietHours::from_texts(
        "config/quiet-hours.toml",
        CONFIG,
        &[("config/holidays/bb-2026-27.toml", BB_2026_27)],
    )
    .expect("the shipped files are valid")
}

/// The shipped configuration with `text` as configuration instead.
pub fn with_config(text: &str) -> QuietHours {
    QuietHours::from_texts("quiet-hours.toml", text, &[("bb-2026-27.toml", BB_2026_27)])
        .expect("valid configuration")
}

/// The instant of a Berlin wall-clock time `YYYY-MM-DD HH:MM` (which must exist once), or with
/// an explicit offset `YYYY-MM-DD HH:MM +01:00` for the hour that repeats.
pub fn berlin(text: &str) -> DateTime<Utc> {
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M %:z") {
        return at.to_utc();
    }
    let wall = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    Berlin
        .from_local_datetime(&wall)
        .single()
        .unwrap_or_else(|| panic!("{text} is not a single Berlin time"))
        .to_utc()
}

/// An instant in UTC, `YYYY-MM-DD HH:MM[:SS]`.
pub fn utc(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .and_utc()
}
