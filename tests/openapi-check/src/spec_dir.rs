//! Where the Matrix spec data is: the one lookup every test that needs the spec goes through.
//!
//! In order: `$MATRIX_SPEC_DIR` if set (and nothing else then); the submodule
//! [`SUBMODULE`] inside the repository if it is checked out; `shared/matrix-spec` beside the
//! repository. A place counts only if it has a `data/` directory: the submodule's directory
//! exists but is empty in clones that did not fetch it.

use std::path::{Path, PathBuf};

use crate::bundle::LoadError;

/// Environment variable naming a matrix-spec checkout to use instead of the default places.
pub const SPEC_DIR_VAR: &str = "MATRIX_SPEC_DIR";
/// The matrix-spec submodule, relative to the repository root (pinned in `.gitmodules`).
pub const SUBMODULE: &str = "third_party/matrix-spec";
/// The fallback, relative to the repository root: a checkout beside the repository.
const BESIDE_REPO: &str = "../shared/matrix-spec";

/// The matrix-spec checkout to load (see the module documentation for the order).
///
/// Fails with [`LoadError::SpecMissing`], whose message says how to get the spec, when no
/// place has the data: the OpenAPI tests never skip.
pub fn spec_dir() -> Result<PathBuf, LoadError> {
    find(
        std::env::var_os(SPEC_DIR_VAR).map(PathBuf::from),
        &repo_root(),
    )
}

/// The repository root: the nearest directory with a `.gitmodules` file at or above the crate
/// under test, else that crate's directory.
///
/// `CARGO_MANIFEST_DIR` is read at run time, where `cargo test` sets it to the crate under
/// test (this one, or `tests/e2e`), not baked in at compile time: a build that is shared
/// between clones through one `CARGO_TARGET_DIR`, and not rebuilt, still looks in the clone
/// that runs it. Outside cargo the search starts at the working directory.
fn repo_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let root = start
        .ancestors()
        .find(|dir| dir.join(".gitmodules").is_file());
    root.map_or_else(|| start.clone(), Path::to_path_buf)
}

/// The first of the places to look at that has spec data: `explicit` alone if given, else
/// the submodule and the directory beside `repo`.
fn find(explicit: Option<PathBuf>, repo: &Path) -> Result<PathBuf, LoadError> {
    let places = match explicit {
        Some(dir) => vec![dir],
        None => vec![repo.join(SUBMODULE), repo.join(BESIDE_REPO)],
    };
    match places.iter().find(|dir| dir.join("data").is_dir()) {
        Some(dir) => Ok(dir.clone()),
        None => Err(LoadError::SpecMissing { looked_in: places }),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A fresh temporary directory standing for a repository, beside which `shared/` may be;
    /// removed with everything in it on drop.
    struct Layout {
        /// Parent of the repository (where `shared/` goes).
        root: PathBuf,
        /// The repository.
        repo: PathBuf,
    }

    impl Layout {
        /// A repository with an empty submodule directory and `data/` in each of the spec
        /// places given (relative to the repository).
        fn new(name: &str, with_data: &[&str]) -> Self {
            let root = std::env::temp_dir().join(format!("spec-dir-{}-{name}", std::process::id()));
            let repo = root.join("repo");
            fs::create_dir_all(repo.join(SUBMODULE)).unwrap();
            for place in with_data {
                fs::create_dir_all(repo.join(place).join("data")).unwrap();
            }
            Self { root, repo }
        }
    }

    impl Drop for Layout {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.root);
        }
    }

    #[test]
    fn the_repository_is_the_one_under_test() {
        let repo = repo_root();
        assert!(
            repo.join("tests/openapi-check/Cargo.toml").is_file(),
            "{repo:?}"
        );
    }

    #[test]
    fn prefers_the_checked_out_submodule() {
        let Layout { repo, .. } = &Layout::new("both", &[SUBMODULE, BESIDE_REPO]);
        assert_eq!(find(None, repo).unwrap(), repo.join(SUBMODULE));
    }

    #[test]
    fn falls_back_to_the_spec_beside_the_repository() {
        let Layout { repo, .. } = &Layout::new("shared", &[BESIDE_REPO]);
        assert_eq!(find(None, repo).unwrap(), repo.join(BESIDE_REPO));
    }

    #[test]
    fn the_variable_overrides_and_is_not_second_guessed() {
        let Layout { repo, .. } = &Layout::new("variable", &[SUBMODULE, "elsewhere"]);
        let elsewhere = repo.join("elsewhere");
        assert_eq!(find(Some(elsewhere.clone()), repo).unwrap(), elsewhere);
        let empty = repo.join("empty");
        let error = find(Some(empty.clone()), repo).unwrap_err();
        assert!(matches!(error, LoadError::SpecMissing { looked_in } if looked_in == [empty]));
    }

    #[test]
    fn without_spec_data_the_error_says_how_to_get_it() {
        let Layout { repo, .. } = &Layout::new("none", &[]);
        let message = find(None, repo).unwrap_err().to_string();
        assert!(message.contains("git submodule update --init"), "{message}");
        assert!(
            message.contains(&repo.join(SUBMODULE).display().to_string()),
            "{message}"
        );
        assert!(message.contains("shared/matrix-spec"), "{message}");
    }
}
