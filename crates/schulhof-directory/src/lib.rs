//! The school directory: who is at the school (first name, last name, role, groups), parsed
//! from the school's CSV export and compared with what the server knows.
//!
//! Pure: no I/O. The store persists a [`Directory`]; the server keeps one in memory as an
//! immutable snapshot for the policy engine.

mod csv;
mod localpart;
mod model;
mod plan;

pub use crate::csv::{parse_csv, ImportFile, ImportRow};
pub use localpart::{assign_localpart, base_localpart};
pub use model::{Directory, Group, GroupKind, Person, PersonStatus, Role};
pub use plan::{plan_import, GroupChange, ImportPlan, PersonChange};

/// One problem in an import file, with the line (1-based, header = line 1) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Zeile {line}, Feld „{field}“: {message}")]
pub struct ImportError {
    /// Line in the file (1-based; the header is line 1).
    pub line: usize,
    /// The column (as named in the file's header) or a description like "Datei".
    pub field: String,
    /// What is wrong, in German.
    pub message: String,
}
