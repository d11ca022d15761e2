//! Bad input: every error names the field, and for files the file and line; a failed attempt
//! builds nothing, so whatever the caller had stays in place.

mod common;

use common::{school, BB_2026_27};
use schulhof_quiet_hours::{
    ConfigError, FieldError, HolidayFile, PersonalWindow, QuietHours, ScheduleSpec,
};

/// The error of a configuration `text` (with the shipped holidays).
fn config_error(text: &str) -> ConfigError {
    QuietHours::from_texts("quiet-hours.toml", text, &[("bb-2026-27.toml", BB_2026_27)])
        .unwrap_err()
}

/// The error of a holiday file `text`.
fn holiday_error(text: &str) -> ConfigError {
    HolidayFile::from_toml("bb-2026-27.toml", text).unwrap_err()
}

/// Asserts `error` is at `line` and `field` and its German message contains `german`.
fn assert_at(error: &ConfigError, file: &str, line: usize, field: &str, german: &str) {
    assert_eq!(
        (error.file.as_str(), error.line, error.field.as_str()),
        (file, line, field),
        "{error}"
    );
    assert!(error.message_de.contains(german), "{error}");
    assert!(!error.message_en.is_empty(), "{error}");
}

/// `(configuration, line, field, German text)`.
const CONFIGS: &[(&str, usize, &str, &str)] = &[
    (
        "state = \"BB\"\n[school]\nwindows = [\n  { begin = \"0 0 18 * * Mon-Fry\", end = \"Mo-Fr 07:00\" },\n]\n",
        4,
        "school.windows[0].begin",
        "„0 0 18 * * Mon-Fry“ ist kein gültiger Cron-Ausdruck",
    ),
    (
        "state = \"BB\"\n[school]\nwindows = [{ begin = \"0 0 18 * * 1-5\", end = \"Mo-Fr 07:00\" }]\n",
        3,
        "school.windows[0].begin",
        "mit Namen anzugeben",
    ),
    (
        "state = \"BB\"\n[school]\nwindows = [\n  { begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\" },\n  { begin = \"Sa 10:00\", end = \"Sa 25:00\" },\n]\n",
        5,
        "school.windows[1].end",
        "„25:00“ ist keine Uhrzeit",
    ),
    (
        "state = \"BB\"\n[school]\nwindows = [{ begin = \"Fr 18:00\", end = \"Fr 18:00\" }]\n",
        3,
        "school.windows[0].end",
        "Beginn und Ende fallen zusammen (Fr 18:00)",
    ),
    (
        "state = \"BB\"\n[school]\nwindows = [\n  { begin = \"Mo 00:00\", end = \"Do 00:00\" },\n  { begin = \"Mi 00:00\", end = \"Mo 00:00\" },\n]\n",
        3,
        "school.windows",
        "keine Zeit ohne Ruhezeit",
    ),
    (
        "state = \"BB\"\n[school]\nwindows = [\n  { begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\", movable = true },\n  { begin = \"Sa 10:00\", end = \"Sa 12:00\", movable = true },\n]\n",
        5,
        "school.windows[1].movable",
        "Nur ein Fenster kann verschiebbar sein",
    ),
    (
        "state = \"BB\"\n[school]\nwindows = [{ begin = \"0 0 18,20 * * Mon-Fri\", end = \"Mo-Fr 07:00\", movable = true }]\n",
        3,
        "school.windows[0].movable",
        "genau eine Uhrzeit",
    ),
    (
        "state = \"BB\"\n\n[school]\nwindow = []\n",
        4,
        "school.window",
        "Unbekannter Eintrag „window“. Erlaubt sind: windows, public_holidays, school_holidays.",
    ),
    (
        "state = \"BB\"\nheld_senders = [\"student\", \"lehrer\"]\n",
        2,
        "held_senders[1]",
        "Unbekannter Wert „lehrer“. Erlaubt sind: teacher, student, parent, admin.",
    ),
    (
        "state = \"BB\"\nheld_senders = [\"student\", \"admin\"]\n",
        2,
        "held_senders",
        "Nachrichten der Schulleitung (admin) werden nie zurückgehalten.",
    ),
    (
        "# Ruhezeiten\nheld_senders = [\"student\"]\n",
        1,
        "state",
        "Der Eintrag „state“ fehlt.",
    ),
    (
        "state = \"Brandenburg\"\n",
        1,
        "state",
        "Unbekannter Wert „Brandenburg“. Erlaubt sind: BW, BY, BE, BB,",
    ),
    (
        "state = \"BB\"\n[personal]\nbegin_earliest = \"25:00\"\n",
        3,
        "personal.begin_earliest",
        "Erwartet wird eine Uhrzeit wie 18:00.",
    ),
    (
        "state = \"BB\"\n[personal]\nbegin_earliest = \"19:00\"\nbegin_latest = \"22:00\"\nend_earliest = \"05:00\"\nend_latest = \"09:00\"\n",
        3,
        "personal.begin_earliest",
        "Beginn 18:00 liegt außerhalb der von der Schule erlaubten Zeit (19:00 bis 22:00).",
    ),
    (
        "state = \"BB\"\n[school]\nwindows = [{ begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\" }]\n\n[personal]\nbegin_earliest = \"16:00\"\nbegin_latest = \"22:00\"\nend_earliest = \"05:00\"\nend_latest = \"09:00\"\n",
        5,
        "personal",
        "brauchen ein verschiebbares Fenster",
    ),
    (
        "state = \"BB\"\n[school]\npublic_holidays = \"ja\" # Feiertage\n",
        3,
        "school.public_holidays",
        "Falscher Wert: erwartet wird true oder false.",
    ),
    (
        "state = \"BB\"\n[school\n",
        2,
        "",
        "Die Datei ist kein gültiges TOML",
    ),
    (
        "state = \"BB\"\nquiet_recipients = \n",
        2,
        "quiet_recipients",
        "Die Datei ist kein gültiges TOML",
    ),
];

#[test]
fn configuration_errors_name_line_and_field() {
    for &(text, line, field, german) in CONFIGS {
        assert_at(&config_error(text), "quiet-hours.toml", line, field, german);
    }
}

/// A holiday file with `periods` after the header lines (which end on line 3).
fn holidays(periods: &str) -> String {
    format!("state = \"BB\"\nschool_year = \"2026/27\"\n\n{periods}")
}

/// Herbstferien as a first period (lines 4–7).
const AUTUMN: &str =
    "[[holidays]]\nname = \"Herbstferien\"\nfirst = 2026-10-19\nlast = 2026-10-30\n\n";

#[test]
fn holiday_file_errors_name_line_and_field() {
    let table = [
        (
            holidays(&format!("{AUTUMN}[[holidays]]\nname = \"Weihnachtsferien\"\nfirst = 2027-01-02\nlast = 2026-12-23\n")),
            12,
            "holidays[1].last",
            "Der letzte Tag 2026-12-23 liegt vor dem ersten Tag 2027-01-02.",
        ),
        (
            holidays(&format!("{AUTUMN}[[holidays]]\nname = \"Brückentag\"\nfirst = 2026-10-30\nlast = 2026-10-30\n")),
            11,
            "holidays[1].first",
            "überschneidet sich mit „Herbstferien“ (2026-10-19 bis 2026-10-30, bb-2026-27.toml Zeile 6)",
        ),
        (
            // The overlap is named at the period further down the file, even if it is earlier.
            holidays(&format!("{AUTUMN}[[holidays]]\nname = \"Früher\"\nfirst = 2026-10-12\nlast = 2026-10-19\n")),
            11,
            "holidays[1].first",
            "überschneidet sich mit „Herbstferien“",
        ),
        (
            holidays("[[holidays]]\nname = \"Herbstferien\"\nfirst = \"2026-10-19\"\nlast = 2026-10-30\n"),
            6,
            "holidays[0].first",
            "erwartet wird ein Datum wie 2026-10-19 (ohne Anführungszeichen)",
        ),
        (
            holidays("[[holidays]]\nname = \"Herbstferien\"\nfirst = 2026-10-19T08:00:00\nlast = 2026-10-30\n"),
            6,
            "holidays[0].first",
            "ist kein Datum wie 2026-10-19 (ohne Uhrzeit)",
        ),
        (
            holidays("[[holidays]]\nname = \"Herbstferien\"\nfirst = 2025-10-19\nlast = 2025-10-30\n"),
            6,
            "holidays[0].first",
            "2025-10-19 liegt nicht im Schuljahr 2026/27 (erlaubt: 2026-07-01 bis 2027-09-30).",
        ),
        (
            holidays("[[holidays]]\nname = \"Herbstferien\"\nfirst = 2026-10-19\nlast = 2027-10-30\n"),
            7,
            "holidays[0].last",
            "länger als 100 Tage (Tippfehler im Jahr?)",
        ),
        (
            holidays("[[holidays]]\nname = \" \"\nfirst = 2026-10-19\nlast = 2026-10-30\n"),
            5,
            "holidays[0].name",
            "Der Name fehlt.",
        ),
        (
            holidays("[[holidays]]\nname = \"Herbstferien\"\nfirst = 2026-10-19\nlast = 2026-10-30\nextra = 1\n"),
            8,
            "holidays[0].extra",
            "Unbekannter Eintrag „extra“. Erlaubt sind: name, first, last.",
        ),
        (
            holidays("[[holidays]]\nname = \"Herbstferien\"\nfirst = 2026-10-19\n"),
            4,
            "holidays[0].last",
            "Der Eintrag „last“ fehlt.",
        ),
        (
            "state = \"BB\"\nschool_year = \"2026/28\"\n".to_owned(),
            2,
            "school_year",
            "„2026/28“ ist kein Schuljahr wie 2026/27.",
        ),
    ];
    for (text, line, field, german) in table {
        assert_at(
            &holiday_error(&text),
            "bb-2026-27.toml",
            line,
            field,
            german,
        );
    }
}

#[test]
fn holiday_files_must_fit_the_school_and_each_other() {
    let config = "state = \"BB\"\n";
    let berlin = BB_2026_27.replace("state = \"BB\"", "state = \"BE\"");
    let state_line = 1 + BB_2026_27
        .lines()
        .position(|line| line.starts_with("state"))
        .unwrap();
    let e = QuietHours::from_texts("q.toml", config, &[("bb-2026-27.toml", &berlin)]).unwrap_err();
    assert_at(
        &e,
        "bb-2026-27.toml",
        state_line,
        "state",
        "Die Datei gilt für Berlin, die Schule liegt in Brandenburg.",
    );

    // Next year's file starting before this year's summer holidays end.
    let next = "state = \"BB\"\nschool_year = \"2027/28\"\n\n[[holidays]]\nname = \"Herbstferien\"\nfirst = 2027-08-10\nlast = 2027-08-20\n";
    let e = QuietHours::from_texts(
        "q.toml",
        config,
        &[("bb-2026-27.toml", BB_2026_27), ("bb-2027-28.toml", next)],
    )
    .unwrap_err();
    assert_at(
        &e,
        "bb-2027-28.toml",
        6,
        "holidays[0].first",
        "überschneidet sich mit „Sommerferien“ (2027-07-01 bis 2027-08-14, bb-2026-27.toml Zeile",
    );

    let e = QuietHours::from_texts(
        "q.toml",
        config,
        &[
            ("bb-2026-27.toml", BB_2026_27),
            (
                "copy.toml",
                "# Kopie\nstate = \"BB\"\nschool_year = \"2026/2027\"\n",
            ),
        ],
    )
    .unwrap_err();
    assert_at(
        &e,
        "copy.toml",
        3,
        "school_year",
        "Für dieses Schuljahr gibt es schon bb-2026-27.toml.",
    );

    // Without any file the school has no school holidays, which is allowed.
    let quiet = QuietHours::from_texts("q.toml", config, &[]).unwrap();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    assert!(!quiet.calendar().school_holidays_known(date));
    assert!(school().calendar().school_holidays_known(date));
    assert_eq!(
        school().calendar().school_holiday(date),
        Some("Herbstferien")
    );
}

#[test]
fn messages_read_german_first_then_english() {
    let e = config_error("state = \"BB\"\nheld_senders = [\"student\", \"admin\"]\n");
    assert_eq!(
        e.to_string(),
        "quiet-hours.toml, Zeile 2, Feld „held_senders“: Nachrichten der Schulleitung (admin) \
         werden nie zurückgehalten. (quiet-hours.toml, line 2, field `held_senders`: messages \
         from admins are never held)"
    );
    let e = config_error("state = \"BB\"\n[school\n");
    assert!(
        e.to_string()
            .starts_with("quiet-hours.toml, Zeile 2: Die Datei ist kein gültiges TOML"),
        "{e}"
    );
    let e = QuietHours::load(
        std::path::Path::new("/nonexistent/quiet-hours.toml"),
        std::path::Path::new("/nonexistent"),
    )
    .unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.line),
        ("/nonexistent/quiet-hours.toml", 0)
    );
    assert!(
        e.to_string()
            .starts_with("/nonexistent/quiet-hours.toml: Die Datei kann nicht gelesen werden"),
        "{e}"
    );
}

#[test]
fn a_failed_reload_keeps_what_was_there() {
    let mut current = school();
    let reload = QuietHours::from_texts(
        "quiet-hours.toml",
        "state = \"BB\"\nheld_senders = [\"admin\"]\n",
        &[],
    );
    if let Ok(new) = reload {
        current = new;
    }
    assert_eq!(current.config(), school().config());
    assert_eq!(current.calendar(), school().calendar());
}

/// A window `begin`–`end`.
fn window(begin: &str, end: &str) -> PersonalWindow {
    PersonalWindow {
        begin: begin.parse().unwrap(),
        end: end.parse().unwrap(),
    }
}

/// Asserts `error` names `field` and its German message contains `german`.
fn assert_field(error: FieldError, field: &str, german: &str) {
    assert_eq!(error.field, field, "{error}");
    assert!(error.message_de.contains(german), "{error}");
}

#[test]
fn personal_windows_outside_the_bounds_name_the_field() {
    let quiet = school();
    assert_eq!(quiet.check_window(None, &window("20:00", "06:30")), Ok(()));
    assert_eq!(quiet.check_window(None, &window("16:00", "09:00")), Ok(()));
    let e = quiet
        .check_window(None, &window("15:59", "06:30"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Feld „begin“: Beginn 15:59 liegt außerhalb der von der Schule erlaubten Zeit (16:00 bis \
         22:00). (field `begin`: begin 15:59 is outside the times the school allows (16:00 to \
         22:00))"
    );
    assert_field(
        quiet
            .check_window(None, &window("20:00", "09:30"))
            .unwrap_err(),
        "end",
        "Ende 09:30 liegt außerhalb der von der Schule erlaubten Zeit (05:00 bis 09:00).",
    );
    // The same check guards building the schedule.
    assert!(quiet
        .person_schedule(None, Some(&window("23:00", "06:30")))
        .is_err());

    let open = common::with_config(
        "state = \"BB\"\n[personal]\nbegin_earliest = \"05:00\"\nbegin_latest = \"22:00\"\nend_earliest = \"05:00\"\nend_latest = \"09:00\"\n",
    );
    assert_field(
        open.check_window(None, &window("07:00", "07:00"))
            .unwrap_err(),
        "end",
        "Beginn und Ende dürfen nicht gleich sein.",
    );

    let closed = common::with_config("state = \"BB\"\n");
    assert_field(
        closed
            .check_window(None, &window("20:00", "06:30"))
            .unwrap_err(),
        "window",
        "Die Schule erlaubt keine persönlichen Ruhezeiten.",
    );
}

#[test]
fn person_schedules_name_the_field() {
    let quiet = school();
    let spec = |windows: &str| -> ScheduleSpec { toml::from_str(windows).unwrap() };
    let fixed = spec("windows = [{ begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\" }]");
    assert_field(
        quiet
            .check_window(Some(&fixed), &window("20:00", "06:30"))
            .unwrap_err(),
        "windows",
        "Dieser Zeitplan hat kein verschiebbares Fenster.",
    );
    let bad = spec("windows = [{ begin = \"0 0 18 * * Mon-Fri\", end = \"0 0 7 * * Mo-Fr\" }]");
    assert_field(
        quiet.person_schedule(Some(&bad), None).unwrap_err(),
        "windows[0].end",
        "kein gültiger Cron-Ausdruck",
    );
}
