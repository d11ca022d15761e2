//! The plan as text for `schulhof appservice plan`: one line per change, grouped by what it
//! does, in German or English.

use std::fmt::Write as _;

use crate::plan::Change;

/// The language of a listing (`--lang de|en` on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Language {
    /// German (the default).
    #[default]
    #[value(name = "de")]
    German,
    /// English.
    #[value(name = "en")]
    English,
}

/// The group heading of a change: `(German, English)`; consecutive changes with the same
/// heading form one phase of a plan.
pub(crate) fn section(change: &Change) -> (&'static str, &'static str) {
    match change {
        Change::Create { .. } => ("Anlegen", "Create"),
        Change::Unarchive { .. } => ("Aus dem Archiv holen", "Unarchive"),
        Change::SetName { .. } => ("Namen", "Names"),
        Change::SetTopic { .. } => ("Themen", "Topics"),
        Change::EnableEncryption { .. } => ("Verschlüsselung", "Encryption"),
        Change::Join { .. } => ("Beitreten", "Join"),
        Change::SetPowerLevels { .. } => ("Rechte", "Power levels"),
        Change::AddChild { .. } => ("In Spaces aufnehmen", "Add to spaces"),
        Change::Remove { .. } => ("Entfernen", "Remove"),
        Change::RemoveChild { .. } => ("Aus Spaces nehmen", "Take out of spaces"),
        Change::Archive { .. } => ("Archivieren", "Archive"),
    }
}

/// One line for `change`.
fn line(change: &Change, language: Language) -> String {
    let de = language == Language::German;
    match change {
        Change::Create { room, desired } => {
            let what = match (desired.is_space, de) {
                (true, _) => "Space",
                (false, true) => "Raum",
                (false, false) => "Room",
            };
            format!("{what} „{}“ ({room})", desired.name)
        }
        Change::Unarchive { room } | Change::EnableEncryption { room } => room.to_string(),
        Change::SetName { room, name } => format!("{room}: „{name}“"),
        Change::SetTopic { room, topic } => format!("{room}: „{topic}“"),
        Change::Join { room, user } => format!("{room}: + {user}"),
        Change::SetPowerLevels {
            room,
            announcement,
            writer_level,
            changed,
            ..
        } => {
            let mut text = format!("{room}:");
            for (user, old, new) in changed {
                let _ = write!(text, " {user} {old} → {new};");
            }
            let writers = match (announcement, de) {
                (true, true) => format!(" schreiben ab Stufe {writer_level}"),
                (true, false) => format!(" writing from level {writer_level}"),
                (false, true) => " alle schreiben".to_owned(),
                (false, false) => " everyone writes".to_owned(),
            };
            text + &writers
        }
        Change::AddChild { space, child } | Change::RemoveChild { space, child } => {
            format!("{space} ⊃ {child}")
        }
        Change::Remove { room, user, reason } => {
            let why = if de {
                reason.german()
            } else {
                reason.english()
            };
            format!("{room}: − {user} ({why})")
        }
        Change::Archive { room, name } => format!("{room} → „{name}“"),
    }
}

/// One change as a line of text with its heading, e.g. `Beitreten: group:Klasse 8.1: + ben`
/// (for logs).
pub fn describe(change: &Change, language: Language) -> String {
    let (de, en) = section(change);
    let heading = if language == Language::German { de } else { en };
    format!("{heading}: {}", line(change, language))
}

/// The listing: a summary line, then each group of changes under its heading with its count,
/// one line per change (the changes in [`crate::plan()`]'s order keep each group together).
pub fn render(changes: &[Change], language: Language) -> String {
    let de = language == Language::German;
    if changes.is_empty() {
        return if de {
            "Keine Änderungen: Räume und Spaces entsprechen dem Schulverzeichnis.\n"
        } else {
            "No changes: rooms and spaces match the school directory.\n"
        }
        .to_owned();
    }
    let mut out = if de {
        format!("{} Änderungen geplant.\n", changes.len())
    } else {
        format!("{} changes planned.\n", changes.len())
    };
    let mut start = 0;
    while start < changes.len() {
        let heading = section(&changes[start]);
        let count = changes[start..]
            .iter()
            .take_while(|change| section(change) == heading)
            .count();
        let title = if de { heading.0 } else { heading.1 };
        let _ = writeln!(out, "\n{title} ({count}):");
        for change in &changes[start..start + count] {
            let _ = writeln!(out, "  {}", line(change, language));
        }
        start += count;
    }
    out
}
