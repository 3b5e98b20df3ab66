//! The small JSON files beside a stream (its identity, shipping checkpoints), read back.

use std::io;
use std::path::Path;

use serde::de::DeserializeOwned;

/// Reads and parses `path`; `Ok(None)` when there is no such file. A file that does not
/// parse is an `InvalidData` error that names the file and says it is not `what`.
pub(crate) fn load<T: DeserializeOwned>(path: &Path, what: &str) -> io::Result<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not {what}: {e}", path.display()),
        )
    })
}
