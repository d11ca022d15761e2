//! The school directory: who is at the school (first name, last name, role, groups), parsed
//! from the school's CSV export and compared with what the server knows.
//!
//! Pure: no I/O, no clock, no randomness. The flow of an import:
//! [`parse_csv`] validates the file, [`plan_import`] compares it with the stored
//! [`Directory`] and returns an [`ImportPlan`] (its `Display` is the German dry-run
//! report; its `result` is the directory to store). [`Directory::index`] builds the
//! [`DirectoryIndex`] the policy engine queries.

#![warn(missing_docs)]

mod csv;
mod export;
mod index;
mod localpart;
mod model;
mod plan;
#[cfg(feature = "synthetic")]
mod synthetic;

pub use crate::csv::{parse_csv, ImportFile, ImportRow};
pub use export::{DirectoryExport, ExportedGroup, ExportedPerson};
pub use index::DirectoryIndex;
pub use localpart::{assign_localpart, base_localpart};
pub use model::{parents_group_of, Directory, Group, GroupKind, Person, PersonStatus, Role};
pub use plan::{plan_import, plan_import_reserving, GroupChange, ImportPlan, PersonChange};
#[cfg(feature = "synthetic")]
pub use synthetic::{synthetic_school_csv, SplitMix64, SyntheticSchool};

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
