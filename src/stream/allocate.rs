//! Disk space allocated ahead of the active segment's writes, and given back when the
//! segment is sealed or lost, or at the next start after a crash.

use std::fs::File;
use std::io;
use std::path::Path;

use super::StreamFiles;
use crate::segment::Found;

impl StreamFiles {
    /// Makes sure the disk space for the next `len` bytes of the active segment is
    /// allocated, allocating [`RESERVE_AHEAD`] bytes at a time (never past the size
    /// limit) without changing the file's length. Appending into allocated space costs the
    /// kernel less than appending past it, which allocates block by block. The space not
    /// used is given back when the segment is sealed. Best effort: where the file system
    /// cannot allocate ahead, or the disk is full, the writes go on as they would without,
    /// and report their own errors.
    pub(crate) fn reserve(&mut self, len: usize) {
        let a = &mut self.active;
        let end = a.bytes + len as u64;
        if !a.reserving || end <= a.reserved {
            return;
        }
        let mut upto = end.max(a.bytes + RESERVE_AHEAD);
        if let Some(max) = self.config.rotation.max_bytes {
            upto = upto.min(max.max(end));
        }
        let from = a.reserved.max(a.bytes);
        match allocate(&a.segment.file, from, upto - from) {
            Ok(()) => a.reserved = upto,
            Err(e) => {
                a.reserving = false;
                // A full disk may have granted part of it: that part goes back at once, for
                // the other programs on the disk.
                if e.kind() == io::ErrorKind::StorageFull {
                    give_back(&a.segment.file, &a.segment.path);
                }
            }
        }
    }
}

/// How far ahead of the bytes written the active segment's disk space is allocated.
const RESERVE_AHEAD: u64 = 8 << 20;

/// Allocates `len` bytes of disk space for `file` from `offset`, keeping its length.
#[cfg(target_os = "linux")]
fn allocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Err(io::ErrorKind::InvalidInput.into());
    };
    // SAFETY: a plain system call on a descriptor that `file` keeps open.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere the space is allocated as the bytes come.
#[cfg(not(target_os = "linux"))]
fn allocate(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Gives back the disk space allocated past the end of `file`, at `path`: truncating a
/// file to its own length frees the blocks beyond it.
pub(super) fn give_back(file: &File, path: &Path) {
    let result = file.metadata().and_then(|m| file.set_len(m.len()));
    if let Err(e) = result {
        eprintln!(
            "trail: cannot give back the disk space allocated ahead for {}: {e}",
            path.display()
        );
    }
}

/// Gives back the space that a writer which stopped without sealing (a crash) left
/// allocated past the end of the segment it was writing. Segments without such space
/// are left as they are.
#[cfg(unix)]
pub(super) fn give_back_after_crash(f: &Found) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(&f.path) else {
        return;
    };
    // File systems allocate whole blocks, and a few more for their own bookkeeping: only
    // space well past the end is a reservation.
    if meta.blocks() * 512 <= meta.len() + (1 << 20) {
        return;
    }
    match std::fs::OpenOptions::new().append(true).open(&f.path) {
        Ok(file) => give_back(&file, &f.path),
        Err(e) => eprintln!(
            "trail: cannot give back the disk space allocated ahead for {}: {e}",
            f.path.display()
        ),
    }
}

#[cfg(not(unix))]
pub(super) fn give_back_after_crash(_f: &Found) {}
