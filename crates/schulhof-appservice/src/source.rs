//! Where the appservice gets the school directory, and how it learns of changes:
//! from Schulhof (`GET /_schulhof/appservice/v1/directory`, a long poll on the revision), or
//! from the school's CSV export (for homeservers without Schulhof's directory, e.g. Synapse;
//! the file is read again when it changes). Either way, people Schulhof would not let in
//! (locked, deactivated, restricted for want of consent) are inactive.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use schulhof_directory::{parse_csv, plan_import, Directory, DirectoryExport, DirectoryIndex};
use schulhof_policy::{unavailability, Rights};
use tokio::sync::watch;

use crate::config::DirectoryCsv;
use crate::homeserver::Homeserver;
use crate::service_error::ServiceError;

/// How long one directory read waits for a change.
const LONG_POLL: Duration = Duration::from_secs(30);

/// How often the CSV file's modification time is looked at.
const FILE_POLL: Duration = Duration::from_secs(2);

/// The longest pause after a failed read.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where the directory comes from.
#[derive(Debug, Clone)]
pub enum DirectorySource {
    /// Schulhof's directory read (the registration must be the school's appservice).
    Schulhof,
    /// The school's CSV export (as `schulhof import` reads it).
    Csv(CsvExport),
}

/// The school's CSV export and the rights it is read with.
#[derive(Debug, Clone)]
pub struct CsvExport {
    /// The file.
    path: PathBuf,
    /// The rights deciding who is restricted for want of consent.
    rights: Arc<Rights>,
}

/// One version of the directory.
#[derive(Debug, Clone)]
pub struct DirectoryVersion {
    /// Schulhof's revision, or the file's modification time in ms.
    pub revision: i64,
    /// The directory.
    pub directory: Arc<Directory>,
}

impl DirectorySource {
    /// Reads the directory now.
    pub async fn read(&self, homeserver: &Homeserver) -> Result<DirectoryVersion, ServiceError> {
        match self {
            DirectorySource::Schulhof => {
                let answer = homeserver.directory(None, Duration::ZERO).await?;
                export(answer)?.ok_or_else(|| {
                    ServiceError::Setup("the directory read answered without people".into())
                })
            }
            DirectorySource::Csv(csv) => csv.read(),
        }
    }

    /// Keeps `sender` at the newest directory from `start` on, until the receivers are gone.
    /// Failed reads are logged and retried with backoff.
    pub async fn follow(
        self,
        homeserver: Homeserver,
        start: DirectoryVersion,
        sender: watch::Sender<DirectoryVersion>,
    ) {
        let mut revision = start.revision;
        let mut backoff = Duration::from_secs(1);
        while !sender.is_closed() {
            let next = match &self {
                DirectorySource::Schulhof => homeserver
                    .directory(Some(revision), LONG_POLL)
                    .await
                    .and_then(export),
                DirectorySource::Csv(csv) => {
                    tokio::time::sleep(FILE_POLL).await;
                    match modified_ms(&csv.path) {
                        Ok(ms) if ms == revision => Ok(None),
                        _ => csv.read().map(Some),
                    }
                }
            };
            match next {
                Ok(Some(version)) => {
                    backoff = Duration::from_secs(1);
                    revision = version.revision;
                    tracing::info!(revision, "directory changed");
                    sender.send_replace(version);
                }
                Ok(None) => backoff = Duration::from_secs(1),
                Err(error) => {
                    tracing::warn!(%error, "directory read failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// The directory in an answer of the directory read (`None`: unchanged).
fn export(answer: serde_json::Value) -> Result<Option<DirectoryVersion>, ServiceError> {
    if answer.get("people").is_none() {
        return Ok(None);
    }
    let export: DirectoryExport =
        serde_json::from_value(answer).map_err(|e| ServiceError::Http {
            request: "GET /_schulhof/appservice/v1/directory".into(),
            message: format!("unexpected answer: {e}"),
        })?;
    Ok(Some(DirectoryVersion {
        revision: export.revision,
        directory: Arc::new(export.into_directory()),
    }))
}

impl CsvExport {
    /// The export at `path`, read with the rights `settings` name (the default rights if it
    /// names no file). A named rights file that cannot be read or is invalid is an error
    /// (naming line and field).
    pub fn open(path: PathBuf, settings: &DirectoryCsv) -> Result<CsvExport, ServiceError> {
        let mut rights = match &settings.rights_file {
            None => Rights::default(),
            Some(file) => {
                let name = file.display();
                let text = std::fs::read_to_string(file)
                    .map_err(|e| ServiceError::Setup(format!("rights file {name}: {e}")))?;
                Rights::from_toml(&text)
                    .map_err(|e| ServiceError::Setup(format!("rights file {name}: {e}")))?
            }
        };
        rights.parents_need_a_consenting_child =
            settings.restrict_parents_of_students_without_consent;
        Ok(CsvExport {
            path,
            rights: Arc::new(rights),
        })
    }

    /// The directory in the file now, as a first import would make it and as Schulhof's
    /// directory read would answer it: everyone [`unavailability`] refuses under the rights
    /// is inactive (so in no room).
    pub fn read(&self) -> Result<DirectoryVersion, ServiceError> {
        let file = self.path.display().to_string();
        let error = |message: String| ServiceError::Csv {
            file: file.clone(),
            message,
        };
        let revision = modified_ms(&self.path).map_err(|e| error(e.to_string()))?;
        let bytes = std::fs::read(&self.path).map_err(|e| error(e.to_string()))?;
        let join = |errors: Vec<schulhof_directory::ImportError>| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let parsed = parse_csv(&bytes).map_err(|errors| error(join(errors)))?;
        let plan =
            plan_import(&Directory::default(), &parsed, 0).map_err(|errors| error(join(errors)))?;
        let index = DirectoryIndex::new(plan.result);
        let usable = |person: &_| unavailability(person, &index, &self.rights).is_none();
        let export = DirectoryExport::of(&index, revision, usable);
        Ok(DirectoryVersion {
            revision,
            directory: Arc::new(export.into_directory()),
        })
    }
}

/// The file's modification time in ms since the epoch.
fn modified_ms(path: &Path) -> std::io::Result<i64> {
    let modified = std::fs::metadata(path)?.modified()?;
    let ms = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}
