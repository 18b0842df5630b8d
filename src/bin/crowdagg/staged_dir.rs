//! Several files written into a directory all or not at all: the files go to a staging
//! directory next to the target (`<dir>.partial-<pid>`), which replaces a missing target by one
//! rename, or whose files are renamed into an existing target once all are written. An error
//! while writing removes the staging directory and leaves the target as it was.

use std::fs;
use std::path::{Path, PathBuf};

/// Writes the files `write` puts into the staging directory it is given (returning their
/// names, relative to it) into `dir`.
///
/// # Errors
/// The first error of `write`, of creating the staging directory, or of a name in `dir` taken
/// by a directory (checked before any file moves); the target is then unchanged.
pub(crate) fn write_staged(
    dir: &Path,
    write: impl FnOnce(&Path) -> Result<Vec<String>, String>,
) -> Result<(), String> {
    let staging = staging_path(dir);
    let shown = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    if let Some(parent) = staging.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| shown(parent, e))?;
    }
    // `create_dir` fails on an existing path: nothing that was there is touched.
    fs::create_dir(&staging).map_err(|e| shown(&staging, e))?;
    let staged = write(&staging).and_then(|names| {
        match names.iter().map(|n| dir.join(n)).find(|p| p.is_dir()) {
            Some(taken) => Err(format!("{}: is a directory", taken.display())),
            None => Ok(names),
        }
    });
    let names = match staged {
        Ok(names) => names,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if !dir.exists() {
        return fs::rename(&staging, dir).map_err(|e| shown(dir, e));
    }
    for name in &names {
        let target = dir.join(name);
        fs::rename(staging.join(name), &target).map_err(|e| shown(&target, e))?;
    }
    fs::remove_dir(&staging).map_err(|e| shown(&staging, e))
}

/// `<dir>.partial-<process id>`, next to `dir` (a run killed by a signal leaves it behind).
fn staging_path(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(format!(".partial-{}", std::process::id()));
    PathBuf::from(name)
}
