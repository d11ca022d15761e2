//! Errors: an invalid setting names its field; an invalid file also names the file and the line.
//! Every error carries a German message (shown by default) and an English one.

use std::fmt;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// An invalid quiet-hours setting (a schedule, a personal window): the field, with a German and
/// an English message. Its `Display` is German with the English text in parentheses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Feld „{field}“: {message_de} (field `{field}`: {message_en})")]
pub struct FieldError {
    /// The field, with its path, e.g. `windows[0].begin`.
    pub field: String,
    /// What is wrong, in German.
    pub message_de: String,
    /// What is wrong, in English.
    pub message_en: String,
}

impl FieldError {
    /// An error at `field`.
    pub fn new(
        field: impl Into<String>,
        message_de: impl Into<String>,
        message_en: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            message_de: message_de.into(),
            message_en: message_en.into(),
        }
    }

    /// The same error with its field inside the table `prefix` (`school.windows[0].begin`).
    pub fn within(mut self, prefix: &str) -> FieldError {
        if !prefix.is_empty() {
            self.field = if self.field.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}.{}", self.field)
            };
        }
        self
    }
}

/// An invalid configuration or holiday file: the file, the line and the field, with a German
/// and an English message. Its `Display` is German with the English text in parentheses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, as the caller named it (e.g. `config/holidays/bb-2026-27.toml`).
    pub file: String,
    /// Line in the file (1-based); 0 when the file as a whole is the problem (unreadable).
    pub line: usize,
    /// The field with its table, e.g. `school.windows[0].begin` or `holidays[2].last`; empty
    /// if the problem is not inside a field.
    pub field: String,
    /// What is wrong, in German.
    pub message_de: String,
    /// What is wrong, in English.
    pub message_en: String,
}

impl ConfigError {
    /// An error about the file as a whole (it cannot be read, it is missing).
    pub(crate) fn file(
        file: &str,
        message_de: impl Into<String>,
        message_en: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: file.to_owned(),
            line: 0,
            field: String::new(),
            message_de: message_de.into(),
            message_en: message_en.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, line, field) = (&self.file, self.line, &self.field);
        let (where_de, where_en) = match (line, field.is_empty()) {
            (0, _) => (file.clone(), file.clone()),
            (_, true) => (
                format!("{file}, Zeile {line}"),
                format!("{file}, line {line}"),
            ),
            (_, false) => (
                format!("{file}, Zeile {line}, Feld „{field}“"),
                format!("{file}, line {line}, field `{field}`"),
            ),
        };
        write!(
            f,
            "{where_de}: {} ({where_en}: {})",
            self.message_de, self.message_en
        )
    }
}

/// A parsed TOML file, kept to say where a field is.
pub(crate) struct Document<'a> {
    /// The file's name, for errors.
    file: &'a str,
    /// The text.
    text: &'a str,
    /// The parsed tree with the span of every key and value.
    root: Spanned<DeTable<'a>>,
}

impl<'a> Document<'a> {
    /// Parses `text`; a syntax error names its line and the key on that line.
    pub(crate) fn parse(file: &'a str, text: &'a str) -> Result<Document<'a>, ConfigError> {
        let root = DeTable::parse(text).map_err(|error| {
            let line = error.span().map_or(1, |span| line_of(text, span.start));
            let field = text
                .lines()
                .nth(line - 1)
                .and_then(|content| content.split_once('='))
                .map(|(key, _)| key.trim().trim_matches('"').to_owned())
                .unwrap_or_default();
            ConfigError {
                file: file.to_owned(),
                line,
                field,
                message_de: german(error.message()),
                message_en: error.message().trim().to_owned(),
            }
        })?;
        Ok(Document { file, text, root })
    }

    /// Reads the document into `T`; unknown keys, unknown values, wrong types and missing keys
    /// are errors naming the line and the field.
    pub(crate) fn read<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(self.text).map_err(|error| {
            let message = error.message().trim();
            let span = error.span().unwrap_or(0..0);
            let offset = span.start;
            let missing = message.starts_with("missing field");
            let mut field = path_at(&self.root, span, missing);
            // A missing key is reported at its table; name the key itself.
            if let Some(key) = backticked(message).first().filter(|_| missing) {
                field = join(&field, key);
            }
            ConfigError {
                file: self.file.to_owned(),
                line: line_of(self.text, offset),
                field,
                message_de: german(message),
                message_en: message.to_owned(),
            }
        })
    }

    /// `error` located in this file: the line of its field (or of the nearest enclosing table
    /// that is written out, when the field itself is not).
    pub(crate) fn locate(&self, error: FieldError) -> ConfigError {
        let offset = span_of(&self.root, &error.field).map_or(0, |span| span.start);
        ConfigError {
            file: self.file.to_owned(),
            line: line_of(self.text, offset),
            field: error.field,
            message_de: error.message_de,
            message_en: error.message_en,
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `parent.key`, or `key` at the top.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Every key and value of the tree: its span, its path (`school.windows[0].begin`; a key has
/// the path of its value) and whether it is a table.
fn nodes(root: &Spanned<DeTable<'_>>) -> Vec<(Range<usize>, String, bool)> {
    /// Adds `value` at `path` and everything below it.
    fn add(
        value: &Spanned<DeValue<'_>>,
        path: String,
        out: &mut Vec<(Range<usize>, String, bool)>,
    ) {
        match value.get_ref() {
            DeValue::Table(table) => {
                out.push((value.span(), path.clone(), true));
                for (key, inner) in table.iter() {
                    let inner_path = join(&path, key.get_ref());
                    out.push((key.span(), inner_path.clone(), false));
                    add(inner, inner_path, out);
                }
            }
            DeValue::Array(items) => {
                out.push((value.span(), path.clone(), false));
                for (index, item) in items.iter().enumerate() {
                    add(item, format!("{path}[{index}]"), out);
                }
            }
            _ => out.push((value.span(), path, false)),
        }
    }
    let mut out = Vec::new();
    for (key, value) in root.get_ref().iter() {
        out.push((key.span(), key.get_ref().to_string(), false));
        add(value, key.get_ref().to_string(), &mut out);
    }
    out
}

/// The path an error's `span` points at: for a missing key the table it is missing from (its
/// header or braces; the top level otherwise), else the innermost key or value at the span.
/// (A table opened by a `[header]` spans only its header, so the search covers the whole tree.)
fn path_at(root: &Spanned<DeTable<'_>>, span: Range<usize>, missing: bool) -> String {
    let nodes = nodes(root);
    let found = if missing {
        nodes
            .into_iter()
            .find(|(node, _, is_table)| *is_table && *node == span)
    } else {
        nodes
            .into_iter()
            .filter(|(node, _, _)| node.contains(&span.start) || node.start == span.start)
            .min_by_key(|(node, _, _)| node.len())
    };
    found.map(|(_, path, _)| path).unwrap_or_default()
}

/// The span of the value at `path` (`school.windows[0].begin`), or of the innermost enclosing
/// value that exists.
fn span_of(root: &Spanned<DeTable<'_>>, path: &str) -> Option<Range<usize>> {
    let mut found: Option<&Spanned<DeValue<'_>>> = None;
    let mut table = Some(root.get_ref());
    for part in path.split('.').filter(|part| !part.is_empty()) {
        let (key, indexes) = match part.split_once('[') {
            Some((key, rest)) => (key, Some(rest)),
            None => (part, None),
        };
        let Some(value) = table.and_then(|table| table.get(key)) else {
            break;
        };
        found = Some(value);
        let mut value = value;
        for index in indexes
            .into_iter()
            .flat_map(|rest| rest.split('['))
            .filter_map(|index| index.trim_end_matches(']').parse::<usize>().ok())
        {
            match value
                .get_ref()
                .as_array()
                .and_then(|items| items.get(index))
            {
                Some(item) => {
                    value = item;
                    found = Some(item);
                }
                None => return found.map(|value| value.span()),
            }
        }
        table = value.get_ref().as_table();
    }
    found.map(|value| value.span())
}

/// A German wording of a TOML or serde message (including this crate's own English
/// messages for times of day).
fn german(message: &str) -> String {
    let message = message.trim();
    let quoted = backticked(message);
    let first = quoted.first().copied().unwrap_or("");
    let expected = message
        .split_once("expected ")
        .map_or("", |(_, rest)| rest.trim());
    let allowed = || {
        let names = backticked(expected);
        if names.is_empty() {
            "keine".to_owned()
        } else {
            names.join(", ")
        }
    };
    if message.starts_with("unknown field") {
        format!(
            "Unbekannter Eintrag „{first}“. Erlaubt sind: {}.",
            allowed()
        )
    } else if message.starts_with("unknown variant") {
        format!("Unbekannter Wert „{first}“. Erlaubt sind: {}.", allowed())
    } else if message.starts_with("missing field") {
        format!("Der Eintrag „{first}“ fehlt.")
    } else if message.starts_with("invalid type") {
        format!("Falscher Wert: erwartet wird {}.", german_type(expected))
    } else if message.starts_with("duplicate key") {
        "Der Eintrag kommt doppelt vor.".to_owned()
    } else if message.starts_with(crate::weekly::TIME_OF_DAY_EN) {
        crate::weekly::TIME_OF_DAY_DE.to_owned()
    } else {
        "Die Datei ist kein gültiges TOML (siehe englische Meldung).".to_owned()
    }
}

/// The German name of a serde type expectation.
fn german_type(expected: &str) -> &'static str {
    if expected.contains("datetime") {
        "ein Datum wie 2026-10-19 (ohne Anführungszeichen)"
    } else if expected == "a boolean" {
        "true oder false"
    } else if expected == "a sequence" {
        "eine Liste in eckigen Klammern"
    } else if expected.contains("string") {
        "ein Text in Anführungszeichen"
    } else if expected.starts_with("struct") || expected.contains("map") {
        "eine Tabelle"
    } else {
        "ein Wert anderer Art"
    }
}

/// The parts of `text` enclosed in backticks.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}
