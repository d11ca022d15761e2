//! Errors of `config/appservice.toml`: the file, the line and the field, in German (shown by
//! default) and English.
//!
//! Same approach as `schulhof-quiet-hours` (a span-carrying parse of the file locates serde's
//! errors and the checks' errors), written as a flat map from field path to span. Both crates
//! would be served by one shared helper crate; see `docs/appservice.md`.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// An invalid `config/appservice.toml`: file, line, field, and what is wrong in German and
/// English. Its `Display` is German with the English text in parentheses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, as the caller named it.
    pub file: String,
    /// Line in the file (1-based).
    pub line: usize,
    /// The field with its tables, e.g. `rooms.class.name`; empty when the problem is not
    /// inside a field (a syntax error between entries).
    pub field: String,
    /// What is wrong, in German.
    pub message_de: String,
    /// What is wrong, in English.
    pub message_en: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, line, field) = (&self.file, self.line, &self.field);
        if field.is_empty() {
            write!(
                f,
                "{file}, Zeile {line}: {} ({file}, line {line}: {})",
                self.message_de, self.message_en
            )
        } else {
            write!(
                f,
                "{file}, Zeile {line}, Feld „{field}“: {} ({file}, line {line}, field `{field}`: {})",
                self.message_de, self.message_en
            )
        }
    }
}

/// A problem found by the checks after parsing: the field path and both messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The field, e.g. `power_levels.teacher`.
    pub field: String,
    /// German message.
    pub de: String,
    /// English message.
    pub en: String,
}

impl Invalid {
    /// A problem at `field`.
    pub(crate) fn new(field: &str, de: impl Into<String>, en: impl Into<String>) -> Invalid {
        Invalid {
            field: field.to_owned(),
            de: de.into(),
            en: en.into(),
        }
    }
}

/// Where every key and value of a TOML text is: `(span, field path)`, keys before their values.
pub(crate) struct SourceMap<'a> {
    /// The file's name, for errors.
    file: &'a str,
    /// The text.
    text: &'a str,
    /// Spans and paths of all keys and values.
    entries: Vec<(Range<usize>, String)>,
}

impl<'a> SourceMap<'a> {
    /// Parses `text` for its spans; a syntax error is returned located.
    pub(crate) fn new(file: &'a str, text: &'a str) -> Result<SourceMap<'a>, ConfigError> {
        let root = DeTable::parse(text).map_err(|error| ConfigError {
            file: file.to_owned(),
            line: line_of(text, error.span().map_or(0, |span| span.start)),
            field: String::new(),
            message_de: "Die Datei ist kein gültiges TOML (siehe englische Meldung).".to_owned(),
            message_en: error.message().trim().to_owned(),
        })?;
        let mut entries = Vec::new();
        collect_table(root.get_ref(), "", &mut entries);
        Ok(SourceMap {
            file,
            text,
            entries,
        })
    }

    /// A serde error of `toml::from_str` on this text, located.
    pub(crate) fn serde_error(&self, error: &toml::de::Error) -> ConfigError {
        let start = error.span().map_or(0, |span| span.start);
        let field = self
            .entries
            .iter()
            .filter(|(span, _)| span.contains(&start) || span.start == start)
            .min_by_key(|(span, _)| span.len())
            .map(|(_, path)| path.clone())
            .unwrap_or_default();
        let message = error.message().trim();
        ConfigError {
            file: self.file.to_owned(),
            line: line_of(self.text, start),
            field,
            message_de: german(message),
            message_en: message.to_owned(),
        }
    }

    /// A problem found by the checks, located at its field (or at the innermost written table
    /// around it when the field itself is left to its default).
    pub(crate) fn locate(&self, invalid: Invalid) -> ConfigError {
        let mut path = invalid.field.as_str();
        let start = loop {
            if let Some((span, _)) = self.entries.iter().find(|(_, p)| p == path) {
                break span.start;
            }
            match path.rsplit_once('.') {
                Some((parent, _)) => path = parent,
                None => break 0,
            }
        };
        ConfigError {
            file: self.file.to_owned(),
            line: line_of(self.text, start),
            field: invalid.field,
            message_de: invalid.de,
            message_en: invalid.en,
        }
    }
}

/// Adds the keys and values of `table` below `prefix`.
fn collect_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<(Range<usize>, String)>) {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        out.push((key.span(), path.clone()));
        collect_value(value, &path, out);
    }
}

/// Adds `value` at `path` and everything inside it.
fn collect_value(value: &Spanned<DeValue<'_>>, path: &str, out: &mut Vec<(Range<usize>, String)>) {
    out.push((value.span(), path.to_owned()));
    match value.get_ref() {
        DeValue::Table(table) => collect_table(table, path, out),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect_value(item, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
}

/// German wording of the serde messages this file can produce.
fn german(message: &str) -> String {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let first = quoted.first().copied().unwrap_or_default();
    let allowed = quoted
        .get(1..)
        .map(|rest| rest.join(", "))
        .unwrap_or_default();
    if message.starts_with("unknown field") {
        format!("Unbekannter Eintrag „{first}“. Erlaubt sind: {allowed}.")
    } else if message.starts_with("unknown variant") {
        format!("Unbekannter Wert „{first}“. Erlaubt sind: {allowed}.")
    } else if message.starts_with("invalid type") {
        let expected = message.rsplit("expected ").next().unwrap_or_default();
        let what = if expected.contains("string") {
            "ein Text in Anführungszeichen"
        } else if expected.contains("bool") {
            "true oder false"
        } else if expected.contains("integer") || expected.contains("i64") {
            "eine ganze Zahl"
        } else {
            "eine Tabelle"
        };
        format!("Falscher Wert: erwartet wird {what}.")
    } else if message.starts_with("missing field") {
        format!("Der Eintrag „{first}“ fehlt.")
    } else if message.starts_with("duplicate key") {
        "Der Eintrag kommt doppelt vor.".to_owned()
    } else {
        "Ungültiger Eintrag (siehe englische Meldung).".to_owned()
    }
}
