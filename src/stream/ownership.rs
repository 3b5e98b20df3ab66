//! Single-writer ownership: one process writes a stream at a time. The stream's lock
//! file is held (`flock`, or Windows' sharing rules) while it is written; a writer that
//! starts checks, besides, that no unsealed segment is held by a live writer whose lock
//! file was removed under it; and a running writer checks, before each new segment, that
//! the lock file it holds is still the stream's, giving the stream up if another process
//! took it meanwhile.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::{ActiveSegment, StreamConfig, StreamFiles};
use crate::manifest::ManifestStore;
use crate::segment::{self, FileId, Found, PathState};
use crate::Error;

impl StreamFiles {
    /// Gives `next` back if the stream is still this writer's, checked when it has just
    /// created (and locked) `next` and has written nothing to it yet. The lock file's path
    /// must still lead to the file this writer holds. If the lock file is gone, it is made
    /// again (`create_new`, so that no other process can make it at the same moment) and
    /// held. If another file is there, another process came to own the stream while the
    /// lock file was missing: this writer then gives the stream up (see
    /// [`StreamFiles::disown`]) and removes `next`.
    ///
    /// With the lock this writer holds on its active segment (which a process that starts
    /// checks, see [`no_live_writer`]), this leaves no moment where two processes write one
    /// stream: a newcomer that took the lock file before this check makes it fail before
    /// `next` gets a byte, and one that takes it after finds `next` held.
    pub(super) fn still_owner(&mut self, next: ActiveSegment) -> Option<ActiveSegment> {
        let dir = &self.config.dir;
        let path = lock_path(dir, &self.config.name);
        let path_state = self
            .lock_id
            .map_or(PathState::Ours, |id| id.path_state(&path));
        let owner = match path_state {
            PathState::Ours => true,
            PathState::Replaced => false,
            PathState::Gone => match lock_new(&path, self.config.file_mode) {
                Ok(Some(file)) => {
                    self.lock_id = identity(&file, &path);
                    self.lock = file;
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    // Its segments' locks still keep other processes out.
                    eprintln!(
                        "trail: cannot make the lock file {} again: {e}",
                        path.display()
                    );
                    true
                }
            },
        };
        if owner {
            return Some(next);
        }
        let ours = next.segment.path_state() == PathState::Ours;
        drop(next.segment.file);
        if ours {
            let _ = std::fs::remove_file(&next.segment.path);
        }
        self.disown();
        None
    }

    /// Gives the stream up to the process that owns it now: nothing more is written to it,
    /// the manifest included, and it is said on stderr, once.
    fn disown(&mut self) {
        self.owned = false;
        self.manifest.disown();
        eprintln!(
            "trail: stream {:?} in {} is written by another process now (its lock file {} was \
             removed and taken); this writer stops writing to it, and what is logged from now \
             on is counted as abandoned",
            self.config.name,
            self.config.dir.display(),
            lock_path(&self.config.dir, &self.config.name).display()
        );
    }
}

/// Takes the stream's advisory lock, so that two processes never write one stream.
pub(super) fn lock(dir: &Path, name: &str, mode: u32) -> Result<File, Error> {
    let path = lock_path(dir, name);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    let file = lock_options(&mut options, mode)
        .open(&path)
        .map_err(|e| Error::io("open the lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::config(format!(
            "stream {name:?} in {} is already being written by another process (lock {} is held)",
            dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

/// Makes the lock file again at `path`, where it was found missing, and takes its lock.
/// `None` if another process made one there first.
fn lock_new(path: &Path, mode: u32) -> io::Result<Option<File>> {
    let mut options = std::fs::OpenOptions::new();
    options.create_new(true).write(true);
    let file = match lock_options(&mut options, mode).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// How the lock file is opened: with the stream's mode and, on Windows, shared for reading
/// and writing but not for deletion, so that it cannot be removed or renamed while held.
fn lock_options(options: &mut std::fs::OpenOptions, mode: u32) -> &mut std::fs::OpenOptions {
    #[cfg(windows)]
    {
        // FILE_SHARE_READ | FILE_SHARE_WRITE, without FILE_SHARE_DELETE.
        std::os::windows::fs::OpenOptionsExt::share_mode(options, 0x1 | 0x2);
    }
    segment::with_mode(options, mode)
}

/// The identity of the file just opened at `path`, if the platform can tell it (see
/// `segment::create` for why both sides must agree).
pub(super) fn identity(file: &File, path: &Path) -> Option<FileId> {
    FileId::of(file).filter(|id| id.path_state(path) == PathState::Ours)
}

pub(super) fn lock_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.lock"))
}

/// Fails if another process is writing the stream although its lock file did not say so
/// (it was removed, or replaced, under that process): a writer holds a lock on its
/// active segment as well, and a segment the manifest does not list as sealed is one that
/// a writer may still hold. A lock that cannot be tested tells nothing.
pub(super) fn no_live_writer(
    config: &StreamConfig,
    manifest: &ManifestStore,
    found: &[Found],
) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let listed = manifest.snapshot();
        let unsealed = found
            .iter()
            .filter(|f| !f.compressed && !listed.segments.iter().any(|s| s.base() == f.base));
        for f in unsealed {
            // Opening anything but a plain file (a FIFO) could wait forever.
            if !std::fs::symlink_metadata(&f.path).is_ok_and(|m| m.is_file()) {
                continue;
            }
            let Ok(file) = File::open(&f.path) else {
                continue;
            };
            if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
                return Err(Error::config(format!(
                    "stream {:?} in {} is already being written by another process \
                     (it holds its segment {}; the lock file {} was removed or replaced)",
                    config.name,
                    config.dir.display(),
                    f.path.display(),
                    lock_path(&config.dir, &config.name).display()
                )));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (config, manifest, found);
    Ok(())
}
