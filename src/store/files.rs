//! The database's files on disk: created owner-only (or with the configured group access) whatever
//! the process umask, since every customer's mail is in them.
//!
//! The folder is created with `database.mode` plus the search bits (0600 → 0700) when it does not
//! exist (an existing one, such as systemd's `StateDirectory`, is the operator's). The database file
//! is created with the mode and set to it at every open, as are its `-wal` and `-shm` files (SQLite
//! gives those the database file's mode when it creates them).

use std::fs::{self, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Makes the folder and the database file exist with `mode`, and sets the mode of the files that
/// exist already.
pub fn prepare(path: &Path, mode: u32) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(folder_mode(mode))
            .create(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))?;
        // The umask may have taken bits away from the mode asked for; the folder gets exactly it.
        fs::set_permissions(dir, Permissions::from_mode(folder_mode(mode)))?;
    }
    // Only a database that does not exist yet is opened here. Closing any descriptor of a file
    // drops every POSIX lock this process holds on it, SQLite's included: reopening a database the
    // server already has open would let another process (the CLI) believe it was alone, checkpoint
    // and delete the log under the server's feet, and corrupt the database.
    if !path.exists() {
        OpenOptions::new().create(true).append(true).mode(mode).open(path)?;
    }
    for file in [path.to_path_buf(), sibling(path, "-wal"), sibling(path, "-shm")] {
        match fs::set_permissions(&file, Permissions::from_mode(mode)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot set the mode of {}: {e}", file.display()),
                ));
            }
        }
    }
    Ok(())
}

/// The folder's mode for files of `mode`: the search bit wherever the files can be read.
pub fn folder_mode(mode: u32) -> u32 {
    mode | ((mode & 0o444) >> 2)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_folder_get_the_mode_whatever_the_umask() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("state/inboxd.db");
        prepare(&path, 0o600).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        fs::write(sibling(&path, "-wal"), b"").unwrap();
        fs::set_permissions(sibling(&path, "-wal"), Permissions::from_mode(0o644)).unwrap();
        prepare(&path, 0o640).unwrap();
        assert_eq!(mode(&path), 0o640);
        assert_eq!(mode(&sibling(&path, "-wal")), 0o640);
        assert_eq!(folder_mode(0o640), 0o750);
    }
}
