//! The reader's error: what failed, in which file, at which byte offset.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What kind of damage or failure a [`ReadError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// Reading the file failed.
    Io,
    /// A record that does not decode.
    Corrupt,
    /// An incomplete record at the end of a segment, as a crash leaves.
    Torn,
    /// A record longer than the limit.
    TooLong,
    /// Not a segment, or a directory without exactly one stream.
    Unsupported,
}

/// A failure while reading, with the file and the byte offset where it happened.
#[derive(Debug)]
pub struct ReadError {
    path: PathBuf,
    offset: Option<u64>,
    kind: ReadErrorKind,
    detail: String,
    source: Option<io::Error>,
}

impl ReadError {
    pub(super) fn new(
        path: &Path,
        offset: Option<u64>,
        kind: ReadErrorKind,
        detail: String,
    ) -> ReadError {
        ReadError {
            path: path.to_owned(),
            offset,
            kind,
            detail,
            source: None,
        }
    }

    pub(super) fn io(path: &Path, offset: Option<u64>, error: io::Error) -> ReadError {
        ReadError {
            detail: error.to_string(),
            source: Some(error),
            ..ReadError::new(path, offset, ReadErrorKind::Io, String::new())
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ReadErrorKind {
        self.kind
    }

    /// The file it went wrong in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The byte offset (in uncompressed bytes) where the damaged record starts.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(offset) = self.offset {
            write!(f, ": at byte {offset}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}
