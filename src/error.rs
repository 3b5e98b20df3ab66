//! The writer's error type: what failed, and the path or setting it failed on.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An error from installing or running the writer.
///
/// Its message is one line that names what failed and where:
///
/// ```
/// let err = trail::builder().name("no/slashes").install().unwrap_err();
/// assert_eq!(err.kind(), trail::ErrorKind::Config);
/// assert!(err.to_string().starts_with("invalid stream name \"no/slashes\""));
/// ```
pub struct Error {
    inner: Box<Inner>,
}

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A sink is already installed in this process.
    AlreadyInstalled,
    /// A file or directory operation failed; the message names the path.
    Io,
    /// A builder setting is invalid; the message names the setting.
    Config,
}

enum Inner {
    AlreadyInstalled,
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    Config {
        message: String,
    },
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match *self.inner {
            Inner::AlreadyInstalled => ErrorKind::AlreadyInstalled,
            Inner::Io { .. } => ErrorKind::Io,
            Inner::Config { .. } => ErrorKind::Config,
        }
    }

    /// The path an I/O error is about.
    pub fn path(&self) -> Option<&Path> {
        match &*self.inner {
            Inner::Io { path, .. } => Some(path),
            _ => None,
        }
    }

    #[cold]
    pub(crate) fn already_installed() -> Error {
        Error {
            inner: Box::new(Inner::AlreadyInstalled),
        }
    }

    #[cold]
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Error {
        Error {
            inner: Box::new(Inner::Io {
                action,
                path: path.to_owned(),
                source,
            }),
        }
    }

    #[cold]
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner::Config {
                message: message.into(),
            }),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Inner::AlreadyInstalled => fmt::Display::fmt(&crate::AlreadyInstalled, f),
            Inner::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            Inner::Config { message } => f.write_str(message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?}: {self})", self.kind())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.inner {
            Inner::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
