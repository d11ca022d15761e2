//! A schedule for one person in a file of its own: what an admin gives a single person (the
//! keys of `[school]` at the top level), read with the same error locations as the
//! configuration.

use crate::error::Document;
use crate::{ConfigError, QuietHours, ScheduleSpec};

impl QuietHours {
    /// Reads a person's schedule from the text of `file` (the keys of `[school]` at the top
    /// level: `windows`, `public_holidays`, `school_holidays`) and checks that it compiles
    /// against this school's calendar. Errors name the file, the line and the field
    /// (`windows[1].begin`); nothing is kept from a failed attempt.
    pub fn person_schedule_from_text(
        &self,
        file: &str,
        text: &str,
    ) -> Result<ScheduleSpec, ConfigError> {
        let document = Document::parse(file, text)?;
        let spec: ScheduleSpec = document.read()?;
        self.person_schedule(Some(&spec), None)
            .map_err(|error| document.locate(error))?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use crate::{QuietHours, DEFAULT_QUIET_HOURS_TOML};

    fn school() -> QuietHours {
        QuietHours::from_texts("quiet-hours.toml", DEFAULT_QUIET_HOURS_TOML, &[]).unwrap()
    }

    #[test]
    fn a_person_schedule_file_is_read() {
        let text = "windows = [\n  { begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\", movable = true },\n  { begin = \"Mi 07:00\", end = \"Do 07:00\" },\n]\nschool_holidays = false\n";
        let spec = school()
            .person_schedule_from_text("teilzeit.toml", text)
            .unwrap();
        assert_eq!(spec.windows.len(), 2);
        assert!(!spec.school_holidays);
        assert!(spec.public_holidays, "left out: the default");
    }

    #[test]
    fn person_schedule_file_errors_name_file_line_and_field() {
        let cases = [
            (
                "windows = [\n  { begin = \"Mo-Fr 18:00\", end = \"Mo-Fr 07:00\" },\n  { begin = \"0 0 7 * * Wed\", end = \"Do 25:00\" },\n]\n",
                3,
                "windows[1].end",
            ),
            ("public_holidays = true\nweekend = true\n", 2, "weekend"),
            ("public_holidays = \"ja\"\n", 1, "public_holidays"),
            ("windows = [\n", 1, "windows"),
        ];
        for (text, line, field) in cases {
            let err = school()
                .person_schedule_from_text("person.toml", text)
                .unwrap_err();
            assert_eq!(
                (err.file.as_str(), err.line, err.field.as_str()),
                ("person.toml", line, field),
                "{text}: {err}"
            );
            assert!(err.to_string().starts_with("person.toml, Zeile"), "{err}");
        }
    }
}
