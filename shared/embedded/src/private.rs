//! The data directory holds every account's password hash, the key that signs URLs and
//! cursors, and every video: it is the owner's alone (0700, files 0600), whatever the
//! process's umask. Applied at every start, so an older data directory is tightened
//! too (the directory's mode alone closes what is inside it).

use anyhow::Context;
use std::path::Path;

/// Creates `dir` (and its parents) if needed, and makes it the owner's alone.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    restrict(dir, 0o700)
}

/// Creates `file` empty if it does not exist, and makes it the owner's alone.
pub fn private_file(file: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(file)
        .with_context(|| format!("creating {}", file.display()))?;
    restrict(file, 0o600)
}

/// `file`'s mode made `mode` if it exists (SQLite's journal files, made by SQLite).
pub fn restrict_if_present(file: &Path, mode: u32) -> anyhow::Result<()> {
    match std::fs::metadata(file) {
        Ok(_) => restrict(file, mode),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("reading {}", file.display())),
    }
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("making {} private", path.display()))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> anyhow::Result<()> {
    Ok(())
}
