//! Where things are. Paths are derived from this crate's manifest directory,
//! never from the current directory.

use std::path::PathBuf;

/// The repository root (two levels above `shared/testkit`).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// A file under `testdata/` (e.g. `GOOG.csv`).
pub fn testdata(name: &str) -> PathBuf {
    repo_root().join("testdata").join(name)
}
