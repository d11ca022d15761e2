//! `schulhof import FILE [--dry-run] [--letters DIR]` and the access letter files it (and
//! `user reset-password`) writes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use clap::Args;
use schulhof_directory::{parse_csv, ImportError};
use schulhof_server::config::Config;
use schulhof_server::service::school::import;
use schulhof_server::service::school::letters::{self, AccessLetter};

/// Arguments of `schulhof import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The CSV export of the school administration software (UTF-8, `;` or `,`).
    file: PathBuf,
    /// Only show what would change; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Directory for the access letters of new accounts
    /// (default: zugangsbriefe-YYYYMMDD-HHMMSS in the data directory).
    #[arg(long, value_name = "DIR")]
    letters: Option<PathBuf>,
}

/// Runs the import; every problem in the file is printed as `FILE:LINE: Feld „X“: …` and
/// nothing changes.
pub async fn run(config: &Path, args: ImportArgs) -> Result<(), String> {
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let file = parse_csv(&bytes).map_err(|errors| report(&args.file, &errors))?;
    if !file.ignored_columns().is_empty() {
        println!(
            "Ignorierte Spalten (werden nicht gespeichert): {}",
            file.ignored_columns().join(", ")
        );
    }
    let state = crate::open_state(config).await?;
    let preview = import::preview(&state, &file)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|errors| report(&args.file, &errors))?;
    if args.dry_run {
        print!("{preview}");
        println!("Probelauf: nichts geändert.");
        return Ok(());
    }
    let needs_letters = !preview.added.is_empty() || !preview.reactivated.is_empty();
    let files = if needs_letters {
        Some(LetterFiles::create(args.letters.clone(), &state.config)?)
    } else {
        None
    };
    let applied = import::apply(&state, &file, "cli")
        .await
        .map_err(|err| format!("Import abgebrochen, nichts geändert: {err}"))
        .and_then(|planned| planned.map_err(|errors| report(&args.file, &errors)));
    let outcome = match applied {
        Ok(outcome) => outcome,
        Err(message) => {
            files.into_iter().for_each(LetterFiles::discard);
            return Err(message);
        }
    };
    print!("{}", outcome.plan);
    if outcome.letters.is_empty() {
        files.into_iter().for_each(LetterFiles::discard);
        return Ok(());
    }
    let files = match files {
        Some(files) => files,
        None => LetterFiles::create(args.letters, &state.config)?,
    };
    files.write(&state.config, &outcome.letters)
}

/// Prints every import error as `FILE:LINE: Feld „X“: message` and returns the summary.
fn report(path: &Path, errors: &[ImportError]) -> String {
    for error in errors {
        eprintln!(
            "{}:{}: Feld „{}“: {}",
            path.display(),
            error.line,
            error.field,
            error.message
        );
    }
    format!(
        "{} Fehler in {}; nichts wurde geändert.",
        errors.len(),
        path.display()
    )
}

/// The letter files `zugangsbriefe.csv` and `zugangsbriefe.html` (mode 0600), created empty
/// before a change is committed, so that no start code is ever issued without its letter.
pub struct LetterFiles {
    dir: PathBuf,
    csv: (PathBuf, File),
    html: (PathBuf, File),
}

impl LetterFiles {
    /// Creates the files in `dir` (default: `zugangsbriefe-YYYYMMDD-HHMMSS`, German time, in
    /// the configuration's data directory); existing letter files are never overwritten.
    pub fn create(dir: Option<PathBuf>, config: &Config) -> Result<LetterFiles, String> {
        let dir = dir.unwrap_or_else(|| config.data_dir().join(default_dir_name()));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let open = |name: &str| {
            let path = dir.join(name);
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map(|file| (path.clone(), file))
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        let csv = open("zugangsbriefe.csv")?;
        let html = open("zugangsbriefe.html").inspect_err(|_| {
            let _ = std::fs::remove_file(&csv.0);
        })?;
        Ok(LetterFiles { dir, csv, html })
    }

    /// Writes the letters and says where they are.
    pub fn write(self, config: &Config, letters: &[AccessLetter]) -> Result<(), String> {
        let (mut csv, mut html) = (self.csv, self.html);
        let write = |(path, file): &mut (PathBuf, File), text: String| {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        write(&mut csv, letters::render_csv(config, letters))?;
        write(&mut html, letters::render_html(config, letters))?;
        let accounts = match letters.len() {
            1 => "1 Konto".to_owned(),
            n => format!("{n} Konten"),
        };
        println!(
            "Zugangsbriefe für {accounts}:\n  {}  (zum Drucken im Browser öffnen)\n  {}  (für Serienbriefe)",
            absolute(&html.0).display(),
            absolute(&csv.0).display()
        );
        println!(
            "Die Dateien enthalten die Startcodes: nach dem Drucken und Verteilen sicher löschen \
             (Verzeichnis {}).",
            absolute(&self.dir).display()
        );
        Ok(())
    }

    /// Removes the (still empty) files again.
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.csv.0);
        let _ = std::fs::remove_file(&self.html.0);
        // Only removes the directory if it is empty, i.e. it was created just now.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `zugangsbriefe-YYYYMMDD-HHMMSS` in German time.
fn default_dir_name() -> String {
    let t = letters::german_time(schulhof_server::service::runtime::clock::system_now_ms());
    format!(
        "zugangsbriefe-{}{:02}{:02}-{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `path` as an absolute path, so the admin knows where the letters are whatever directory
/// the command ran in.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}
