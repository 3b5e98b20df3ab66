//! Segment files: their names, opening them for appending, and telling whether a
//! segment's path still leads to the file being written.
//!
//! A stream is a directory and a name. Its records go to segment files named
//! `NAME.YYYYMMDDTHHMMSS.NNNNNNNNNZ.EXT`, after the UTC time the segment was opened, to
//! the nanosecond. Names sort in time order and are never reused: a segment is created
//! with `create_new`, and a name that exists already is moved one nanosecond on.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::Error;

pub(crate) use crate::format::segment_name::{
    file_name, hidden_name, list, parse_name, Found, HIDDEN_PREFIX,
};

/// Checks that a stream name is usable in file names and globs: ASCII letters, digits,
/// `-` and `_`, 1 to 100 of them.
pub(crate) fn validate_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "invalid stream name {name:?}: use 1 to 100 ASCII letters, digits, '-' or '_'"
        )))
    }
}

/// An open segment: its path and the file, opened for appending.
pub(crate) struct Segment {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    /// The identity of the file as created, to tell whether `path` still leads to it.
    id: Option<FileId>,
    /// Whether `path` is the hidden name (`_` and the final name).
    hidden: bool,
}

/// What a file's path leads to now, compared with the file the writer holds open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathState {
    /// The path still leads to the open file (ours), or it cannot be told.
    Ours,
    /// Nothing is at the path: the file, or its directory, was removed or renamed.
    Gone,
    /// A different file is at the path.
    Replaced,
}

/// A file's device and inode numbers, which no other file has while it exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of an open file (`fstat`); `None` where the platform cannot tell.
    pub(crate) fn of(file: &File) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            file.metadata().ok().map(|m| FileId {
                dev: m.dev(),
                ino: m.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = file;
            None
        }
    }

    /// Where `path` leads now, compared with this file: one `stat`.
    pub(crate) fn path_state(self, path: &Path) -> PathState {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            match std::fs::metadata(path) {
                Ok(m) if m.dev() == self.dev && m.ino() == self.ino => PathState::Ours,
                Ok(_) => PathState::Replaced,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    PathState::Gone
                }
                // Anything else (a path that cannot be searched, say) tells nothing.
                Err(_) => PathState::Ours,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            PathState::Ours
        }
    }
}

impl Segment {
    /// The segment's final file name: its name, without the `_` while it is hidden.
    pub(crate) fn final_name(&self) -> String {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.strip_prefix(HIDDEN_PREFIX) {
            Some(plain) if self.hidden => plain.to_owned(),
            _ => name,
        }
    }

    /// Gives a hidden segment its final name: one atomic rename in its directory, never
    /// over an existing file, then the directory synced so that the new name survives a
    /// crash. The file stays open and is the same file. On error the segment keeps its
    /// hidden name.
    pub(crate) fn unhide(&mut self) -> io::Result<()> {
        if !self.hidden {
            return Ok(());
        }
        let target = self.path.with_file_name(self.final_name());
        rename_new(&self.path, &target)?;
        self.path = target;
        self.hidden = false;
        sync_dir(&self.path);
        Ok(())
    }

    /// Whether the segment's path still leads to the file being written. A file removed
    /// (alone or with its directory) or replaced by another one takes whatever is written
    /// to it out of the stream.
    pub(crate) fn path_state(&self) -> PathState {
        self.id
            .map_or(PathState::Ours, |id| id.path_state(&self.path))
    }
}

/// Renames `from` to `to` unless `to` exists. The check and the rename are two steps; the
/// stream's lock keeps other writers of the stream out between them, and a name a writer
/// is about to take was free when its segment was created.
fn rename_new(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(to) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists already", to.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::rename(from, to),
        Err(e) => Err(e),
    }
}

/// Syncs the directory that holds `path`, so that a rename in it is on the disk. Best
/// effort, and Unix only: elsewhere a directory cannot be opened to be synced.
pub(crate) fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent()
        && let Err(e) = File::open(dir).and_then(|d| d.sync_all())
    {
        eprintln!("trail: cannot sync the directory {}: {e}", dir.display());
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Gives a hidden active segment that a previous run left its final name, unless a file
/// has that name already (then it is reported and left as it is). Returns the path it
/// has now.
pub(crate) fn unhide_left(found: &Found) -> PathBuf {
    let target = found.path.with_file_name(&found.base);
    match rename_new(&found.path, &target) {
        Ok(()) => {
            sync_dir(&target);
            target
        }
        Err(e) => {
            eprintln!(
                "trail: cannot give {} its final name {}: {e}; it is left as it is",
                found.path.display(),
                target.display()
            );
            found.path.clone()
        }
    }
}

/// Creates the directory if needed and opens a new segment in it; with `hidden`, under
/// its hidden name (`_` and the final name), the final name being free too.
pub(crate) fn create(
    dir: &Path,
    stream: &str,
    extension: &str,
    mode: u32,
    mut nanos: u64,
    hidden: bool,
) -> Result<Segment, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create log directory", dir, e))?;
    loop {
        let name = file_name(stream, nanos, extension);
        // Neither name may be taken: the final one is where the segment goes when sealed,
        // and a hidden one is a segment a previous run left.
        let (path, other) = if hidden {
            (dir.join(hidden_name(&name)), dir.join(&name))
        } else {
            (dir.join(&name), dir.join(hidden_name(&name)))
        };
        if std::fs::symlink_metadata(&other).is_ok() {
            nanos += 1;
            continue;
        }
        match open_append_new(&path, mode) {
            Ok(file) => {
                // A file system whose `stat` of the path and `fstat` of the file disagree
                // from the start gives no usable identity: the segment is then not checked.
                let id = FileId::of(&file).filter(|id| id.path_state(&path) == PathState::Ours);
                hold(&file);
                return Ok(Segment {
                    path,
                    file,
                    id,
                    hidden,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => nanos += 1,
            Err(e) => return Err(Error::io("create segment", &path, e)),
        }
    }
}

/// Takes an advisory lock (`flock`) on a segment being written, held until the file is
/// closed: a process that starts on the stream after its lock file was removed finds the
/// segment held, and does not take the stream (see `stream::ownership::no_live_writer`). Unix only:
/// on Windows a lock would stop readers of the segment, and the lock file cannot be
/// removed while it is held there. Best effort: a file system without locks leaves the
/// lock file alone to keep other processes out, and a lock held by a process testing it
/// at this very moment means that process holds the lock file, which the writer checks
/// before writing to the segment.
fn hold(file: &File) {
    #[cfg(unix)]
    let _ = file.try_lock();
    #[cfg(not(unix))]
    let _ = file;
}

fn open_append_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create_new(true);
    with_mode(&mut options, mode).open(path)
}

/// Sets the permission bits new files get (before the umask), where the platform has them.
pub(crate) fn with_mode(options: &mut OpenOptions, mode: u32) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options
}

/// Creates (or empties) a file for writing from scratch: temporary files only.
pub(crate) fn create_temp(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    with_mode(&mut options, mode).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_utc_open_time_to_the_nanosecond() {
        let nanos = 1_795_471_572_123_456_789; // 2026-11-23T22:06:12.123456789Z
        assert_eq!(
            file_name("app", nanos, "jsonl"),
            "app.20261123T220612.123456789Z.jsonl"
        );
    }

    #[test]
    fn names_sort_in_time_order() {
        let a = file_name("app", 1_000_000_000_000_000_000, "jsonl");
        let b = file_name("app", 1_000_000_000_000_000_001, "jsonl");
        let c = file_name("app", 2_000_000_000_000_000_000, "jsonl");
        assert!(a < b && b < c);
    }

    #[test]
    fn names_parse_back_exactly() {
        let name = file_name("app", 1_795_471_572_123_456_789, "jsonl");
        assert_eq!(
            parse_name("app", &name),
            Some((1_795_471_572_123_456_789, "jsonl", false))
        );
        assert_eq!(
            parse_name("app", &format!("{name}.gz")),
            Some((1_795_471_572_123_456_789, "jsonl", true))
        );
        for other in [
            "app.20261123T220612.123456789Z.jsonl.tmp",
            "app.20261123T220612.123456789Z.jsonl.gz.tmp",
            "app-eu.20261123T220612.123456789Z.jsonl",
            "apps.20261123T220612.123456789Z.jsonl",
            "app.20261123T220612.12345678Z.jsonl",
            "app.20261323T220612.123456789Z.jsonl",
            "app.20261123X220612.123456789Z.jsonl",
            "app.20261123T220612.123456789Z.csv2",
            "app.manifest.json",
            "app.lock",
            "app.2026112éT220612.123456789Z.jsonl",
        ] {
            assert_eq!(parse_name("app", other), None, "{other}");
        }
    }

    #[test]
    fn stream_names_are_checked() {
        assert!(validate_name("shop-api_2").is_ok());
        for bad in ["", "a/b", "a.b", "a b", "ü"] {
            let err = validate_name(bad).unwrap_err();
            assert!(err.to_string().contains("invalid stream name"), "{err}");
        }
    }

    #[test]
    fn an_existing_name_is_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = create(dir.path(), "s", "jsonl", 0o640, 5, false).unwrap();
        let b = create(dir.path(), "s", "jsonl", 0o640, 5, false).unwrap();
        assert_ne!(a.path, b.path);
        assert!(a.path < b.path);
    }

    #[cfg(unix)]
    #[test]
    fn segments_get_the_configured_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let seg = create(dir.path(), "s", "jsonl", 0o640, 1, false).unwrap();
        let mode = std::fs::metadata(&seg.path).unwrap().permissions().mode();
        // The umask may only remove bits.
        assert_eq!(mode & 0o777 & !0o640, 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_removed_or_replaced_segment_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let seg = create(dir.path(), "s", "jsonl", 0o640, 1, false).unwrap();
        assert_eq!(seg.path_state(), PathState::Ours);
        let aside = dir.path().join("aside");
        std::fs::rename(&seg.path, &aside).unwrap();
        assert_eq!(seg.path_state(), PathState::Gone);
        std::fs::write(&seg.path, b"someone else's\n").unwrap();
        assert_eq!(seg.path_state(), PathState::Replaced);
        std::fs::remove_file(&seg.path).unwrap();
        std::fs::rename(&aside, &seg.path).unwrap();
        assert_eq!(seg.path_state(), PathState::Ours, "its own file, back");
    }

    #[cfg(unix)]
    #[test]
    fn a_segment_is_locked_while_it_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let seg = create(dir.path(), "s", "jsonl", 0o640, 1, false).unwrap();
        let other = File::open(&seg.path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(seg);
        other.try_lock().unwrap();
    }

    #[test]
    fn a_bad_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let err = create(&file.join("sub"), "s", "jsonl", 0o640, 1, false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("plain-file/sub"), "{err}");
    }
}
