//! `docs/quiet-hours.md`: its TOML examples are valid, its error examples are what the crate
//! says, and the tests it names exist.

mod common;

use common::{school, BB_2026_27};
use schulhof_quiet_hours::{HolidayFile, QuietHours, ScheduleSpec};

/// The documentation.
const DOCS: &str = include_str!("../../../docs/quiet-hours.md");

/// The test sources a name like `schedule::foo` refers to, by file.
const SOURCES: [(&str, &str); 6] = [
    ("schedule", include_str!("schedule.rs")),
    ("holds", include_str!("holds.rs")),
    ("public_holidays", include_str!("public_holidays.rs")),
    ("errors", include_str!("errors.rs")),
    ("alloc", include_str!("alloc.rs")),
    ("docs", include_str!("docs.rs")),
];

/// The code blocks of the documentation in `language`.
fn blocks(language: &str) -> Vec<&'static str> {
    let fence = format!("```{language}\n");
    DOCS.split(fence.as_str())
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or(""))
        .collect()
}

#[test]
fn examples_parse() {
    let examples = blocks("toml");
    assert_eq!(examples.len(), 3);
    for example in examples {
        if example.contains("school_year") {
            HolidayFile::from_toml("example.toml", example).unwrap();
        } else if example.contains("state =") {
            let quiet =
                QuietHours::from_texts("example.toml", example, &[("bb-2026-27.toml", BB_2026_27)])
                    .unwrap();
            assert_eq!(quiet.config(), school().config(), "the defaults");
        } else {
            let spec: ScheduleSpec = toml::from_str(example).unwrap();
            school().person_schedule(Some(&spec), None).unwrap();
        }
    }
}

#[test]
fn error_examples_are_what_the_crate_says() {
    let examples = blocks("text");
    let lines: Vec<&str> = examples[0].lines().collect();
    let cron = QuietHours::from_texts(
        "quiet-hours.toml",
        "state = \"BB\"\n[school]\nwindows = [\n  { begin = \"0 0 18 * * Mon-Fry\", end = \"Mo-Fr 07:00\" },\n]\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(lines[0], cron.to_string());
    let next = "state = \"BB\"\nschool_year = \"2027/28\"\n\n[[holidays]]\nname = \"Herbstferien\"\nfirst = 2027-08-10\nlast = 2027-08-20\n";
    let overlap = QuietHours::from_texts(
        "quiet-hours.toml",
        "state = \"BB\"\n",
        &[("bb-2026-27.toml", BB_2026_27), ("bb-2027-28.toml", next)],
    )
    .unwrap_err();
    let german = overlap.to_string();
    let german = german.split(" (bb-2027-28.toml, line").next().unwrap();
    assert_eq!(lines[2], format!("{german} (…)"));
}

#[test]
fn tests_named_in_the_docs_exist() {
    let mut checked = 0;
    for quoted in DOCS.split('`').skip(1).step_by(2) {
        let Some((file, name)) = quoted.split_once("::") else {
            continue;
        };
        let Some((_, source)) = SOURCES.iter().find(|(f, _)| *f == file) else {
            continue;
        };
        assert!(
            source.contains(&format!("fn {name}(")),
            "docs/quiet-hours.md names {file}::{name}, which does not exist"
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}
