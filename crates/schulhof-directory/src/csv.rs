//! Reading the school's CSV export (see `docs/import.md` for the format).

use std::collections::HashMap;
use std::iter::Peekable;
use std::str::Chars;

use crate::localpart::ascii_fold;
use crate::model::{GroupKind, Role};
use crate::ImportError;

/// At most this many lines with invalid UTF-8 are reported one by one.
const MAX_ENCODING_ERRORS: usize = 10;

/// A parsed and validated import file. Only [`parse_csv`] creates one, so every
/// `ImportFile` is consistent: unique import IDs, known roles, children that are students
/// in the same file, no derived groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFile {
    rows: Vec<ImportRow>,
    delimiter: char,
    ignored_columns: Vec<String>,
}

impl ImportFile {
    /// The people in the file, in file order.
    pub fn rows(&self) -> &[ImportRow] {
        &self.rows
    }

    /// The detected field delimiter (`;` or `,`).
    pub fn delimiter(&self) -> char {
        self.delimiter
    }

    /// Header names that were not recognised and whose columns were ignored (e.g.
    /// "E-Mail": Schulhof stores no contact data). Worth a warning in the CLI.
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored_columns
    }
}

/// One person from the import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Line in the file where the row starts (1-based; the header is line 1).
    pub line: usize,
    /// Stable key from the school's administration software (trimmed).
    pub import_id: String,
    /// First name (trimmed, otherwise as given).
    pub first_name: String,
    /// Last name (trimmed, otherwise as given).
    pub last_name: String,
    /// Role.
    pub role: Role,
    /// Group names (trimmed, inner whitespace collapsed, deduplicated, in file order).
    pub groups: Vec<String>,
    /// For parents: the import IDs of their children (deduplicated, in file order).
    pub children: Vec<String>,
    /// Consent given.
    pub consent: bool,
}

/// A column Schulhof understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    ImportId,
    FirstName,
    LastName,
    Role,
    Groups,
    Children,
    Consent,
}

impl Column {
    /// All columns, in index order.
    const ALL: [Column; 7] = [
        Column::ImportId,
        Column::FirstName,
        Column::LastName,
        Column::Role,
        Column::Groups,
        Column::Children,
        Column::Consent,
    ];

    /// The canonical German name used in error messages.
    fn german(self) -> &'static str {
        self.aliases()[0]
    }

    /// Accepted header names; compared by [`fold_key`] (case, spaces, `-` and `_` ignored).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::ImportId => &[
                "ID",
                "Import-ID",
                "Personen-ID",
                "Person-ID",
                "Externe ID",
                "external_id",
                "Kennung",
                "Schlüssel",
            ],
            Column::FirstName => &["Vorname", "Vornamen", "Rufname", "first_name", "given_name"],
            Column::LastName => &[
                "Nachname",
                "Familienname",
                "Zuname",
                "last_name",
                "surname",
                "family_name",
            ],
            Column::Role => &["Rolle", "role"],
            Column::Groups => &["Gruppen", "Gruppe", "groups", "group"],
            Column::Children => &["Kinder", "Kind", "children", "child"],
            Column::Consent => &["Einwilligung", "Einverständnis", "consent"],
        }
    }

    /// Whether the file must have this column.
    fn required(self) -> bool {
        matches!(
            self,
            Column::ImportId | Column::FirstName | Column::LastName | Column::Role
        )
    }

    /// The column a header cell names, if any.
    fn from_header(cell: &str) -> Option<Column> {
        let key = fold_key(cell);
        Column::ALL
            .into_iter()
            .find(|column| column.aliases().iter().any(|alias| fold_key(alias) == key))
    }
}

/// Accepted role values; compared by [`fold_key`], so "Schüler" also matches "Schueler"
/// and "Sorgeberechtigte(r)" matches "Sorgeberechtigter".
const ROLE_NAMES: [(Role, &[&str]); 4] = [
    (
        Role::Teacher,
        &["Lehrkraft", "Lehrer", "Lehrerin", "teacher"],
    ),
    (
        Role::Student,
        &["Schüler", "Schülerin", "SuS", "student", "pupil"],
    ),
    (
        Role::Parent,
        &[
            "Sorgeberechtigte",
            "Sorgeberechtigter",
            "Erziehungsberechtigte",
            "Erziehungsberechtigter",
            "Eltern",
            "Elternteil",
            "parent",
            "guardian",
        ],
    ),
    (
        Role::Admin,
        &[
            "Admin",
            "Administrator",
            "Administratorin",
            "Schulleitung",
            "Schulleiter",
            "Schulleiterin",
        ],
    ),
];

/// Consent values meaning "yes" (lower case); "no" is the empty cell or [`CONSENT_NO`].
const CONSENT_YES: [&str; 8] = ["ja", "j", "yes", "y", "1", "true", "wahr", "x"];

/// Consent values meaning "no" (lower case), besides the empty cell.
const CONSENT_NO: [&str; 7] = ["nein", "n", "no", "0", "false", "falsch", "-"];

/// Lower-case ASCII letters and digits only: the key for comparing names leniently.
fn fold_key(s: &str) -> String {
    ascii_fold(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The role a cell names.
fn parse_role(value: &str) -> Option<Role> {
    let key = fold_key(value);
    ROLE_NAMES
        .iter()
        .find(|(_, names)| names.iter().any(|name| fold_key(name) == key))
        .map(|(role, _)| *role)
}

/// The consent a cell states.
fn parse_consent(value: &str) -> Option<bool> {
    let value = value.trim().to_lowercase();
    if value.is_empty() || CONSENT_NO.contains(&value.as_str()) {
        Some(false)
    } else {
        CONSENT_YES.contains(&value.as_str()).then_some(true)
    }
}

/// Splits a list cell (groups, children) at `|`, and also at `,` when the file delimiter
/// is `;`. Items are trimmed with inner whitespace collapsed; empty items and duplicates
/// are dropped.
fn split_list(cell: &str, delimiter: char) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let separators: &[char] = if delimiter == ';' {
        &['|', ',']
    } else {
        &['|']
    };
    for item in cell.split(separators) {
        let item = item.split_whitespace().collect::<Vec<_>>().join(" ");
        if !item.is_empty() && !items.contains(&item) {
            items.push(item);
        }
    }
    items
}

/// An error not tied to one column.
fn file_error(line: usize, message: impl Into<String>) -> ImportError {
    ImportError {
        line,
        field: "Datei".to_owned(),
        message: message.into(),
    }
}

/// The text of the file, or one error per line that is not valid UTF-8.
fn decode(bytes: &[u8]) -> Result<&str, Vec<ImportError>> {
    std::str::from_utf8(bytes).map_err(|_| encoding_errors(bytes))
}

/// Errors for the lines of `bytes` that are not valid UTF-8 (the first few, then a count).
fn encoding_errors(bytes: &[u8]) -> Vec<ImportError> {
    let bad_lines: Vec<usize> = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| std::str::from_utf8(line).is_err())
        .map(|(index, _)| index + 1)
        .collect();
    let mut errors: Vec<ImportError> = bad_lines
        .iter()
        .take(MAX_ENCODING_ERRORS)
        .map(|&line| {
            file_error(
                line,
                "Die Zeile ist nicht UTF-8-kodiert. Bitte die Datei als „CSV UTF-8“ speichern.",
            )
        })
        .collect();
    if let Some(&line) = bad_lines.get(MAX_ENCODING_ERRORS) {
        let more = bad_lines.len() - MAX_ENCODING_ERRORS;
        errors.push(file_error(
            line,
            format!("… und {more} weitere Zeilen, die nicht UTF-8-kodiert sind."),
        ));
    }
    errors
}

/// One record of the file and the line it starts on.
#[derive(Debug)]
struct Record {
    line: usize,
    fields: Vec<String>,
}

impl Record {
    /// A record without content (blank line or only delimiters).
    fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.trim().is_empty())
    }
}

/// An RFC-4180-style record reader: fields may be quoted with `"` (then they may contain
/// the delimiter, line breaks and doubled quotes `""`); lines end with LF, CRLF or CR.
struct Reader<'a> {
    chars: Peekable<Chars<'a>>,
    line: usize,
    delimiter: char,
}

impl<'a> Reader<'a> {
    /// Reads `text` with `delimiter`.
    fn new(text: &'a str, delimiter: char) -> Self {
        Reader {
            chars: text.chars().peekable(),
            line: 1,
            delimiter,
        }
    }

    /// The non-blank records.
    fn records(self) -> impl Iterator<Item = Result<Record, ImportError>> + 'a {
        self.filter(|record| !record.as_ref().is_ok_and(Record::is_blank))
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Record, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.chars.peek()?;
        let line = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut at_field_start = true;
        while let Some(c) = self.chars.next() {
            if quoted {
                match c {
                    '"' if self.chars.next_if_eq(&'"').is_some() => field.push('"'),
                    '"' => quoted = false,
                    _ => {
                        self.line += usize::from(c == '\n');
                        field.push(c);
                    }
                }
            } else if c == '"' && at_field_start {
                quoted = true;
                at_field_start = false;
            } else if c == self.delimiter {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            } else if c == '\n' || c == '\r' {
                if c == '\r' {
                    self.chars.next_if_eq(&'\n');
                }
                self.line += 1;
                fields.push(field);
                return Some(Ok(Record { line, fields }));
            } else {
                field.push(c);
                at_field_start = false;
            }
        }
        if quoted {
            return Some(Err(file_error(
                line,
                "Ein Anführungszeichen wird bis zum Dateiende nicht geschlossen.",
            )));
        }
        fields.push(field);
        Some(Ok(Record { line, fields }))
    }
}

/// The header: which field index holds which column.
struct Header {
    line: usize,
    names: Vec<String>,
    columns: [Option<usize>; 7],
    duplicates: Vec<ImportError>,
}

impl Header {
    /// Maps the header record's cells to columns.
    fn new(record: Record) -> Header {
        let names: Vec<String> = record.fields.iter().map(|f| f.trim().to_owned()).collect();
        let mut columns = [None; 7];
        let mut duplicates = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let Some(column) = Column::from_header(name) else {
                continue;
            };
            match columns[column as usize] {
                Some(first) => duplicates.push(ImportError {
                    line: record.line,
                    field: name.clone(),
                    message: format!(
                        "Die Spalte „{}“ kommt doppelt vor (Spalten {} und {}).",
                        column.german(),
                        first + 1,
                        index + 1
                    ),
                }),
                None => columns[column as usize] = Some(index),
            }
        }
        Header {
            line: record.line,
            names,
            columns,
            duplicates,
        }
    }

    /// Required columns the header lacks.
    fn missing(&self) -> impl Iterator<Item = Column> + '_ {
        Column::ALL
            .into_iter()
            .filter(|c| c.required() && self.columns[*c as usize].is_none())
    }

    /// How well the header fits: complete first, then by recognised columns.
    fn fitness(&self) -> (bool, usize) {
        (
            self.missing().next().is_none(),
            self.columns.iter().flatten().count(),
        )
    }

    /// Errors for duplicate and missing columns.
    fn errors(&self) -> Vec<ImportError> {
        let missing = self.missing().map(|column| ImportError {
            line: self.line,
            field: column.german().to_owned(),
            message: format!(
                "Die Pflichtspalte „{}“ fehlt in der Kopfzeile (erlaubte Namen: {}).",
                column.german(),
                column.aliases().join(", ")
            ),
        });
        self.duplicates.iter().cloned().chain(missing).collect()
    }

    /// Header cells that name no known column.
    fn ignored(&self) -> Vec<String> {
        (0..self.names.len())
            .filter(|i| !self.columns.contains(&Some(*i)))
            .map(|i| self.names[i].clone())
            .filter(|name| !name.is_empty())
            .collect()
    }
}

/// The delimiter whose header fits best (`;` on a tie) and that header. A delimiter under
/// which the header cannot be read (unclosed quote) is out of the running.
fn detect_header(text: &str) -> Result<(char, Header), Vec<ImportError>> {
    let mut best: Option<(char, Header)> = None;
    let mut first_error = None;
    for delimiter in [';', ','] {
        match Reader::new(text, delimiter).records().next() {
            None => return Err(vec![file_error(1, "Die Datei ist leer.")]),
            Some(Err(error)) => {
                first_error.get_or_insert(error);
            }
            Some(Ok(record)) => {
                let header = Header::new(record);
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| header.fitness() > b.fitness())
                {
                    best = Some((delimiter, header));
                }
            }
        }
    }
    best.ok_or_else(|| first_error.into_iter().collect())
}

/// A row as read, before the checks across rows; `role` is `None` if invalid.
struct Draft {
    line: usize,
    import_id: String,
    first_name: String,
    last_name: String,
    role: Option<Role>,
    groups: Vec<String>,
    children: Vec<String>,
    consent: bool,
}

impl Draft {
    /// The checked row (`None` if the role was invalid, which was reported).
    fn into_row(self) -> Option<ImportRow> {
        Some(ImportRow {
            line: self.line,
            import_id: self.import_id,
            first_name: self.first_name,
            last_name: self.last_name,
            role: self.role?,
            groups: self.groups,
            children: self.children,
            consent: self.consent,
        })
    }
}

/// Reads the rows of one file, collecting errors.
struct RowReader<'h> {
    header: &'h Header,
    delimiter: char,
    errors: Vec<ImportError>,
}

impl RowReader<'_> {
    /// Records an error in `column` of `line`.
    fn error(&mut self, line: usize, column: Column, message: String) {
        let field = self.header.columns[column as usize]
            .map_or(column.german(), |i| self.header.names[i].as_str());
        self.errors.push(ImportError {
            line,
            field: field.to_owned(),
            message,
        });
    }

    /// The trimmed cell of `column` (empty if the file has no such column).
    fn cell<'r>(&self, record: &'r Record, column: Column) -> &'r str {
        self.header.columns[column as usize].map_or("", |i| record.fields[i].trim())
    }

    /// A required cell; reports it if empty.
    fn required(&mut self, record: &Record, column: Column) -> String {
        let value = self.cell(record, column);
        if value.is_empty() {
            self.error(
                record.line,
                column,
                format!("Das Feld „{}“ ist leer.", column.german()),
            );
        }
        value.to_owned()
    }

    /// Reads one record whose width matches the header.
    fn draft(&mut self, record: &Record) -> Draft {
        let line = record.line;
        let import_id = self.required(record, Column::ImportId);
        let first_name = self.required(record, Column::FirstName);
        let last_name = self.required(record, Column::LastName);
        let role = self.role(record);
        let groups = self.groups(record);
        let children = split_list(self.cell(record, Column::Children), self.delimiter);
        if !children.is_empty() && role.is_some_and(|r| r != Role::Parent) {
            self.error(
                line,
                Column::Children,
                "Nur Sorgeberechtigte können Kinder haben.".to_owned(),
            );
        }
        let consent_cell = self.cell(record, Column::Consent);
        let consent = parse_consent(consent_cell).unwrap_or_else(|| {
            self.error(
                line,
                Column::Consent,
                format!("Unbekannter Wert „{consent_cell}“ (erlaubt: ja, nein, x oder leer)."),
            );
            false
        });
        Draft {
            line,
            import_id,
            first_name,
            last_name,
            role,
            groups,
            children,
            consent,
        }
    }

    /// The role cell.
    fn role(&mut self, record: &Record) -> Option<Role> {
        let value = self.required(record, Column::Role);
        let role = parse_role(&value);
        if role.is_none() && !value.is_empty() {
            self.error(
                record.line,
                Column::Role,
                format!(
                    "Unbekannte Rolle „{value}“ (erlaubt: Lehrkraft, Schüler, \
                     Sorgeberechtigte, Admin)."
                ),
            );
        }
        role
    }

    /// The group cell; derived parents' groups are rejected.
    fn groups(&mut self, record: &Record) -> Vec<String> {
        let groups = split_list(self.cell(record, Column::Groups), self.delimiter);
        for group in &groups {
            if GroupKind::of_name(group) == GroupKind::Parents {
                self.error(
                    record.line,
                    Column::Groups,
                    format!(
                        "Die Gruppe „{group}“ wird automatisch aus den Klassen der Kinder \
                         gebildet und darf nicht in der Datei stehen."
                    ),
                );
            }
        }
        groups
    }

    /// Reports duplicate import IDs; returns the first row of each ID.
    fn unique_ids<'d>(&mut self, drafts: &'d [Draft]) -> HashMap<&'d str, &'d Draft> {
        let mut by_id: HashMap<&str, &Draft> = HashMap::with_capacity(drafts.len());
        for draft in drafts.iter().filter(|d| !d.import_id.is_empty()) {
            if let Some(first) = by_id.get(draft.import_id.as_str()) {
                let message = format!(
                    "Die ID „{}“ kommt doppelt vor (Zeilen {} und {}).",
                    draft.import_id, first.line, draft.line
                );
                self.error(draft.line, Column::ImportId, message);
            } else {
                by_id.insert(&draft.import_id, draft);
            }
        }
        by_id
    }

    /// Reports children that are not students in this file.
    fn check_children(&mut self, drafts: &[Draft], by_id: &HashMap<&str, &Draft>) {
        for parent in drafts.iter().filter(|d| d.role == Some(Role::Parent)) {
            for child in &parent.children {
                let problem = match by_id.get(child.as_str()) {
                    None => format!("Das Kind mit der ID „{child}“ steht nicht in der Datei."),
                    Some(c) if c.role.is_some_and(|r| r != Role::Student) => format!(
                        "„{child}“ ({} {}, Zeile {}) ist keine Schülerin und kein Schüler.",
                        c.first_name, c.last_name, c.line
                    ),
                    Some(_) => continue,
                };
                self.error(parent.line, Column::Children, problem);
            }
        }
    }
}

/// Parses and validates a school's CSV export.
///
/// Accepts UTF-8 with or without BOM, `;` or `,` as delimiter (detected from the header),
/// quoted fields, LF or CRLF line endings. Blank lines are skipped; unknown columns are
/// ignored (see [`ImportFile::ignored_columns`]). Required columns: ID, Vorname, Nachname,
/// Rolle; optional: Gruppen, Kinder, Einwilligung (accepted names and values in
/// `docs/import.md`). On failure, returns every problem found, in German, each with its
/// line and column.
pub fn parse_csv(bytes: &[u8]) -> Result<ImportFile, Vec<ImportError>> {
    let text = decode(bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (delimiter, header) = detect_header(text)?;
    let header_errors = header.errors();
    if !header_errors.is_empty() {
        return Err(header_errors);
    }
    let mut reader = RowReader {
        header: &header,
        delimiter,
        errors: Vec::new(),
    };
    let mut drafts = Vec::new();
    for record in Reader::new(text, delimiter).records().skip(1) {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                reader.errors.push(error);
                continue;
            }
        };
        if record.fields.len() == header.names.len() {
            drafts.push(reader.draft(&record));
        } else {
            reader.errors.push(ImportError {
                line: record.line,
                field: "Zeile".to_owned(),
                message: format!(
                    "Die Zeile hat {} Felder, die Kopfzeile {} (Trennzeichen „{delimiter}“; \
                     Felder mit „{delimiter}“ müssen in Anführungszeichen stehen).",
                    record.fields.len(),
                    header.names.len()
                ),
            });
        }
    }
    let by_id = reader.unique_ids(&drafts);
    reader.check_children(&drafts, &by_id);
    let mut errors = reader.errors;
    if drafts.is_empty() && errors.is_empty() {
        errors.push(file_error(
            header.line,
            "Die Datei enthält keine Personen (nur die Kopfzeile).",
        ));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(errors);
    }
    Ok(ImportFile {
        rows: drafts.into_iter().filter_map(Draft::into_row).collect(),
        delimiter,
        ignored_columns: header.ignored(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of a valid file.
    fn rows(csv: &[u8]) -> Vec<ImportRow> {
        match parse_csv(csv) {
            Ok(file) => file.rows,
            Err(errors) => panic!("{}: {errors:#?}", String::from_utf8_lossy(csv)),
        }
    }

    /// (line, field) of each error of an invalid file; asserts each message contains
    /// the expected snippet.
    fn errors(csv: &[u8], expected: &[(usize, &str, &str)]) {
        let errors = parse_csv(csv).expect_err("invalid file");
        let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        let want: Vec<(usize, &str)> = expected.iter().map(|&(l, f, _)| (l, f)).collect();
        assert_eq!(got, want, "{errors:#?}");
        for (error, (_, _, snippet)) in errors.iter().zip(expected) {
            assert!(error.message.contains(snippet), "{error} lacks {snippet:?}");
        }
    }

    /// Anna Schmidt (teacher) and Ben Schmidt (student) with her as parent... as rows.
    fn expected() -> Vec<ImportRow> {
        vec![
            ImportRow {
                line: 2,
                import_id: "L1".into(),
                first_name: "Anna".into(),
                last_name: "Schmidt".into(),
                role: Role::Teacher,
                groups: vec!["Lehrer".into(), "Fachkonferenz Englisch".into()],
                children: vec![],
                consent: true,
            },
            ImportRow {
                line: 3,
                import_id: "S1".into(),
                first_name: "Ben".into(),
                last_name: "Müller; Sohn".into(),
                role: Role::Student,
                groups: vec!["Klasse 8.1".into()],
                children: vec![],
                consent: false,
            },
            ImportRow {
                line: 4,
                import_id: "E1".into(),
                first_name: "Clara".into(),
                last_name: "Müller".into(),
                role: Role::Parent,
                groups: vec![],
                children: vec!["S1".into()],
                consent: true,
            },
        ]
    }

    #[test]
    fn parses_every_dialect() {
        let semicolon = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung\n\
            L1;Anna;Schmidt;Lehrkraft;Lehrer, Fachkonferenz Englisch;;ja\n\
            S1;Ben;\"Müller; Sohn\";Schüler;Klasse 8.1;;\n\
            E1;Clara;Müller;Sorgeberechtigte;;S1;x\n";
        let comma = "import_id,first_name,last_name,role,groups,children,consent\n\
            L1,Anna,Schmidt,teacher,Lehrer|Fachkonferenz Englisch,,yes\n\
            S1,Ben,Müller; Sohn,student,Klasse 8.1,,no\n\
            E1,Clara,Müller,parent,,S1,1\n";
        let quoted = "\"ID\",\"Vorname\",\"Nachname\",\"Rolle\",\"Gruppen\",\"Kinder\",\"Einwilligung\"\r\n\
            \"L1\",\"Anna\",\"Schmidt\",\"Lehrkraft\",\"Lehrer|Fachkonferenz Englisch|Lehrer\",\"\",\"ja\"\r\n\
            \"S1\",\"Ben\",\"Müller; Sohn\",\"Schüler\",\"  Klasse   8.1 \",\"\",\"nein\"\r\n\
            \"E1\",\"Clara\",\"Müller\",\"Sorgeberechtigte(r)\",\"\",\"S1\",\"true\"\r\n";
        let headers = " import-ID ;VORNAME; Nach_Name ;Rolle;Gruppe;Kind;Einverständnis;E-Mail\n\
            L1;Anna;Schmidt;Lehrerin;Lehrer|Fachkonferenz Englisch;;Ja;a@b.de\n\n\
            S1;Ben;Müller\\; Sohn;SuS;Klasse 8.1;;0;\n\
            E1;Clara;Müller;Elternteil;;S1;wahr;\n";
        let with_bom = format!("\u{feff}{semicolon}").into_bytes();
        let crlf = semicolon.replace('\n', "\r\n").into_bytes();
        for csv in [
            semicolon.as_bytes(),
            comma.as_bytes(),
            quoted.as_bytes(),
            &with_bom,
            &crlf,
        ] {
            assert_eq!(rows(csv), expected(), "{}", String::from_utf8_lossy(csv));
        }
        // Unquoted "Müller\; Sohn" is split, so this file only checks the headers.
        assert!(parse_csv(headers.as_bytes()).is_err());
        let headers = headers.replace("Müller\\; Sohn", "\"Müller; Sohn\"");
        let file = parse_csv(headers.as_bytes()).unwrap();
        let mut want = expected();
        want[1].line = 4;
        want[2].line = 5;
        assert_eq!(file.rows(), want);
        assert_eq!(file.ignored_columns(), ["E-Mail"]);
        assert_eq!(file.delimiter(), ';');
        assert_eq!(parse_csv(comma.as_bytes()).unwrap().delimiter(), ',');
    }

    #[test]
    fn reads_quotes_and_line_breaks() {
        let csv = "ID;Vorname;Nachname;Rolle\n\
            1;\"Karl \"\"Kalle\"\"\";\"Groß\nKlein\";Lehrer\n\
            ;;;\n\
            2;Eva;\"Ende\"r;Lehrer\r\
            3;Jo;Ab\"c;Lehrer";
        let rows = rows(csv.as_bytes());
        let names: Vec<(usize, &str, &str)> = rows
            .iter()
            .map(|r| (r.line, r.first_name.as_str(), r.last_name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (2, "Karl \"Kalle\"", "Groß\nKlein"),
                (5, "Eva", "Ender"),
                (6, "Jo", "Ab\"c")
            ]
        );
    }

    #[test]
    fn ignores_a_delimiter_that_breaks_the_header() {
        let file = parse_csv(b"ID;Vorname;Nachname;Rolle;Notiz,\"a\n1;A;B;Lehrer;x\n").unwrap();
        assert_eq!((file.delimiter(), file.rows().len()), (';', 1));
        assert_eq!(file.ignored_columns(), ["Notiz,\"a"]);
        errors(b"\"ID;Vorname\n", &[(1, "Datei", "Anführungszeichen")]);
    }

    #[test]
    fn recognises_every_role_spelling() {
        let cases = [
            (
                Role::Teacher,
                &["Lehrkraft", "Lehrer", "Lehrerin", "teacher", "LEHRKRAFT"][..],
            ),
            (
                Role::Student,
                &[
                    "Schüler",
                    "Schülerin",
                    "Schueler",
                    "SuS",
                    "student",
                    "schülerin",
                ],
            ),
            (
                Role::Parent,
                &[
                    "Sorgeberechtigte",
                    "Sorgeberechtigter",
                    "Sorgeberechtigte(r)",
                    "Sorgeberechtigte/r",
                    "Eltern",
                    "Elternteil",
                    "parent",
                ],
            ),
            (
                Role::Admin,
                &["Admin", "Schulleitung", "Administrator", "admin", " Admin "],
            ),
        ];
        for (role, spellings) in cases {
            for spelling in spellings {
                assert_eq!(parse_role(spelling), Some(role), "{spelling}");
            }
        }
        for unknown in ["", "Hausmeister", "Lehrer:in?x"] {
            assert_eq!(parse_role(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn reads_consent_values() {
        for (value, consent) in [
            ("ja", Some(true)),
            ("JA", Some(true)),
            ("yes", Some(true)),
            ("1", Some(true)),
            ("true", Some(true)),
            ("x", Some(true)),
            (" X ", Some(true)),
            ("nein", Some(false)),
            ("no", Some(false)),
            ("0", Some(false)),
            ("false", Some(false)),
            ("", Some(false)),
            ("vielleicht", None),
        ] {
            assert_eq!(parse_consent(value), consent, "{value:?}");
        }
    }

    #[test]
    fn splits_lists_by_the_files_delimiter() {
        assert_eq!(split_list("A, B|A ,, C", ';'), ["A", "B", "C"]);
        assert_eq!(
            split_list("Klasse 8.1, Chor|AG", ','),
            ["Klasse 8.1, Chor", "AG"]
        );
        assert!(split_list(" | ", ';').is_empty());
    }

    #[test]
    fn reports_header_errors() {
        errors(
            b"ID;Vorname;Rolle;Gruppen\n1;A;Lehrer;\n",
            &[(1, "Nachname", "Pflichtspalte „Nachname“")],
        );
        errors(
            b"Name,Klasse\nA,B\n",
            &[
                (1, "ID", "Import-ID"),
                (1, "Vorname", "first_name"),
                (1, "Nachname", "last_name"),
                (1, "Rolle", "role"),
            ],
        );
        errors(
            b"ID;Vorname;Nachname;Rolle;first_name\n",
            &[(1, "first_name", "Spalten 2 und 5")],
        );
    }

    #[test]
    fn reports_empty_files() {
        for csv in [&b""[..], b"\n\r\n", "\u{feff}".as_bytes(), b";;;\n"] {
            errors(csv, &[(1, "Datei", "leer")]);
        }
        errors(
            b"ID;Vorname;Nachname;Rolle\n\n",
            &[(1, "Datei", "keine Personen")],
        );
    }

    #[test]
    fn reports_row_errors_all_at_once() {
        let csv = "Import-ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung\n\
            S1;Ben;Müller;Schüler;Klasse 8.1;;ja\n\
            S2;;Müller;Schüler;Klasse 8.1;;ja\n\
            S3;Eva;Schulz;Hausmeister;;;ja\n\
            S1;Max;Mayer;Schüler;Klasse 8.2;;ja\n\
            E1;Clara;Müller;Eltern;;S1,S9,L1;ja\n\
            L1;Anna;Schmidt;Lehrer;Lehrer;S1;ja\n\
            L2;Jo;Kurz;Lehrer;Sorgeberechtigte 8.1;;ja\n\
            L3;Jo;Lang;Lehrer;;;vielleicht\n\
            L4;Jo;Kurz;Lehrer\n\
            ;Ohne;ID;Lehrer;;;\n\
            L5;\"Offen;Lehrer;;;\n";
        errors(
            csv.as_bytes(),
            &[
                (3, "Vorname", "Das Feld „Vorname“ ist leer."),
                (4, "Rolle", "Unbekannte Rolle „Hausmeister“"),
                (
                    5,
                    "Import-ID",
                    "Die ID „S1“ kommt doppelt vor (Zeilen 2 und 5).",
                ),
                (6, "Kinder", "„S9“ steht nicht in der Datei"),
                (
                    6,
                    "Kinder",
                    "„L1“ (Anna Schmidt, Zeile 7) ist keine Schülerin",
                ),
                (7, "Kinder", "Nur Sorgeberechtigte"),
                (8, "Gruppen", "„Sorgeberechtigte 8.1“ wird automatisch"),
                (9, "Einwilligung", "„vielleicht“"),
                (10, "Zeile", "4 Felder, die Kopfzeile 7"),
                (11, "Import-ID", "Das Feld „ID“ ist leer."),
                (12, "Datei", "Anführungszeichen"),
            ],
        );
    }

    #[test]
    fn reports_invalid_utf8_by_line() {
        let mut csv = b"ID;Vorname;Nachname;Rolle\n1;J".to_vec();
        csv.extend([0xfc]); // "ü" in Latin-1
        csv.extend(b"rgen;Gro\xdf;Lehrer\n2;Anna;Schmidt;Lehrer\n3;\xc4nne;X;Lehrer\n");
        errors(&csv, &[(2, "Datei", "UTF-8"), (4, "Datei", "UTF-8")]);
        let many: Vec<u8> = (0..15).flat_map(|_| b"\xfc\n".to_vec()).collect();
        let errors = parse_csv(&many).unwrap_err();
        assert_eq!(errors.len(), MAX_ENCODING_ERRORS + 1);
        assert!(errors[MAX_ENCODING_ERRORS].message.contains("5 weitere"));
    }
}
