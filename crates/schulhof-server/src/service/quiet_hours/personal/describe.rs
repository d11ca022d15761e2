//! A person's quiet hours in words, German or English: for the teacher's web page and for
//! `schulhof quiet-hours show`.

use schulhof_directory::Role;
use schulhof_quiet_hours::{
    describe_de, describe_en, PersonalWindow, QuietHours, Schedule, ScheduleSpec, TimeOfDay,
};

use crate::config::Language;

/// One line per window and free-day rule of the schedule that applies: the person's own
/// (`spec`, set by an admin) or the school's, with their moved `window` in place of the
/// movable window's times.
pub fn schedule_lines(
    rules: &QuietHours,
    spec: Option<&ScheduleSpec>,
    window: Option<&PersonalWindow>,
    lang: Language,
) -> Vec<String> {
    let de = lang == Language::De;
    let spec = spec.unwrap_or(&rules.config().school);
    let mut lines = Vec::new();
    for written in &spec.windows {
        let moved = window.filter(|_| written.movable);
        let (begin, end) = match moved {
            Some(window) => (
                with_time(&written.begin, window.begin),
                with_time(&written.end, window.end),
            ),
            None => (written.begin.clone(), written.end.clone()),
        };
        let mut line = if de {
            format!("Ruhezeit ab „{begin}“ bis zum nächsten „{end}“")
        } else {
            format!("Quiet from “{begin}” until the next “{end}”")
        };
        match (moved, spec.movable_window()) {
            (Some(_), Some(own)) => line.push_str(&if de {
                format!(" (verschoben; sonst {} bis {})", own.begin, own.end)
            } else {
                format!(" (moved; otherwise {} to {})", own.begin, own.end)
            }),
            (None, _) if written.movable => {
                line.push_str(if de { " (verschiebbar)" } else { " (movable)" })
            }
            _ => {}
        }
        lines.push(line);
    }
    let state = rules.config().state.name();
    lines.push(free_days(
        de,
        spec.public_holidays,
        (
            &format!("Gesetzliche Feiertage in {state}"),
            &format!("Public holidays in {state}"),
        ),
    ));
    lines.push(free_days(
        de,
        spec.school_holidays,
        ("Schulferien", "School holidays"),
    ));
    lines
}

/// "Schulferien: ganztägig Ruhezeit" and the like.
fn free_days(de: bool, quiet: bool, (name_de, name_en): (&str, &str)) -> String {
    match (de, quiet) {
        (true, true) => format!("{name_de}: ganztägig Ruhezeit"),
        (true, false) => format!("{name_de}: keine Ruhezeit"),
        (false, true) => format!("{name_en}: quiet all day"),
        (false, false) => format!("{name_en}: not quiet"),
    }
}

/// A boundary as written with its time of day replaced: `Mo-Fr 18:00` → `Mo-Fr 19:00`; for a
/// cron expression the expression with the new time after it.
fn with_time(written: &str, time: TimeOfDay) -> String {
    match written.split_whitespace().collect::<Vec<_>>()[..] {
        [days, old] if old.parse::<TimeOfDay>().is_ok() => format!("{days} {time}"),
        _ => format!("{written} → {time}"),
    }
}

/// The admin's bounds for moved windows, or that moving is not allowed.
pub fn bounds_line(rules: &QuietHours, lang: Language) -> String {
    match (&rules.config().personal, lang) {
        (Some(b), Language::De) => format!(
            "Beginn zwischen {} und {}, Ende zwischen {} und {}",
            b.begin_earliest, b.begin_latest, b.end_earliest, b.end_latest
        ),
        (Some(b), Language::En) => format!(
            "begin between {} and {}, end between {} and {}",
            b.begin_earliest, b.begin_latest, b.end_earliest, b.end_latest
        ),
        (None, Language::De) => "Die Schule erlaubt keine persönlichen Ruhezeiten.".to_owned(),
        (None, Language::En) => "The school does not allow personal quiet hours.".to_owned(),
    }
}

/// Whether it is quiet at `now_ms` and until when (told as the senders' notices tell it).
pub fn now_line(schedule: &Schedule, now_ms: i64, lang: Language) -> String {
    let now =
        schulhof_quiet_hours::chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    match (schedule.quiet_until(now), lang) {
        (Some(until), Language::De) => format!("Gerade ist Ruhezeit, bis {}.", describe_de(until)),
        (Some(until), Language::En) => format!("Quiet hours now, until {}.", describe_en(until)),
        (None, Language::De) => "Gerade ist keine Ruhezeit.".to_owned(),
        (None, Language::En) => "Not in quiet hours now.".to_owned(),
    }
}

/// The grammatical case of a list of roles in German.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// "gelten nur für Lehrkräfte".
    Nominative,
    /// "Nachrichten von Schülerinnen und Schülern".
    Dative,
}

/// `roles` in the plural as a list in running text: "Lehrkräfte", "Schülerinnen und Schülern
/// sowie Eltern", "students and parents".
pub fn roles(roles: &[Role], lang: Language, case: Case) -> String {
    let names: Vec<&str> = roles
        .iter()
        .map(|role| match (role, lang, case) {
            (Role::Teacher, Language::De, Case::Nominative) => "Lehrkräfte",
            (Role::Teacher, Language::De, Case::Dative) => "Lehrkräften",
            (Role::Student, Language::De, Case::Nominative) => "Schülerinnen und Schüler",
            (Role::Student, Language::De, Case::Dative) => "Schülerinnen und Schülern",
            (Role::Parent, Language::De, _) => "Eltern",
            (Role::Admin, Language::De, _) => "der Schulleitung",
            (Role::Teacher, Language::En, _) => "teachers",
            (Role::Student, Language::En, _) => "students",
            (Role::Parent, Language::En, _) => "parents",
            (Role::Admin, Language::En, _) => "the school's administration",
        })
        .collect();
    let and = match lang {
        Language::De => "sowie",
        Language::En => "and",
    };
    match &names[..] {
        [] => "—".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
    }
}

/// Whose messages wait for the end of quiet hours (`held_senders`).
pub fn held_line(rules: &QuietHours, lang: Language) -> String {
    let senders = roles(&rules.config().held_senders, lang, Case::Dative);
    match lang {
        Language::De => format!(
            "Nachrichten von {senders} erreichen dich in deiner Ruhezeit erst, wenn sie endet. \
             Alle anderen erreichen dich immer."
        ),
        Language::En => format!(
            "Messages from {senders} reach you when your quiet hours end. Everyone else always \
             reaches you."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schulhof_quiet_hours::DEFAULT_QUIET_HOURS_TOML;

    fn rules() -> QuietHours {
        QuietHours::from_texts("quiet-hours.toml", DEFAULT_QUIET_HOURS_TOML, &[]).unwrap()
    }

    #[test]
    fn the_school_schedule_in_words() {
        let lines = schedule_lines(&rules(), None, None, Language::De);
        assert_eq!(
            lines,
            [
                "Ruhezeit ab „Mo-Fr 18:00“ bis zum nächsten „Mo-Fr 07:00“ (verschiebbar)",
                "Gesetzliche Feiertage in Brandenburg: ganztägig Ruhezeit",
                "Schulferien: ganztägig Ruhezeit",
            ]
        );
        assert_eq!(
            bounds_line(&rules(), Language::De),
            "Beginn zwischen 16:00 und 22:00, Ende zwischen 05:00 und 09:00"
        );
    }

    #[test]
    fn a_moved_window_in_words() {
        let window = PersonalWindow {
            begin: "19:30".parse().unwrap(),
            end: "06:00".parse().unwrap(),
        };
        let lines = schedule_lines(&rules(), None, Some(&window), Language::En);
        assert_eq!(
            lines[0],
            "Quiet from “Mo-Fr 19:30” until the next “Mo-Fr 06:00” (moved; otherwise 18:00 to 07:00)"
        );
        assert_eq!(
            with_time("0 0 18 * * Mon-Fri", window.begin),
            "0 0 18 * * Mon-Fri → 19:30"
        );
    }

    #[test]
    fn roles_in_running_text() {
        let rules = rules();
        assert_eq!(
            held_line(&rules, Language::De),
            "Nachrichten von Schülerinnen und Schülern sowie Eltern erreichen dich in deiner \
             Ruhezeit erst, wenn sie endet. Alle anderen erreichen dich immer."
        );
        let all = [Role::Teacher, Role::Student, Role::Admin];
        assert_eq!(
            roles(&all, Language::En, Case::Nominative),
            "teachers, students and the school's administration"
        );
        assert_eq!(roles(&[], Language::De, Case::Dative), "—");
    }

    #[test]
    fn now_in_words() {
        let rules = rules();
        // Monday 2026-03-02, 20:00 in Berlin (19:00 UTC): quiet until Tuesday 07:00.
        let monday_evening = 1_772_478_000_000;
        assert_eq!(
            now_line(rules.school_schedule(), monday_evening, Language::De),
            "Gerade ist Ruhezeit, bis Dienstag, 3. März 2026, 07:00 Uhr."
        );
        let monday_noon = monday_evening - 8 * 3_600_000;
        assert_eq!(
            now_line(rules.school_schedule(), monday_noon, Language::De),
            "Gerade ist keine Ruhezeit."
        );
    }
}
