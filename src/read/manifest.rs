//! Reading a stream's manifest back, bounded by [`MAX_MANIFEST_BYTES`].

use std::io::{self, Read};
use std::path::Path;

use super::{ReadError, ReadErrorKind};
use crate::format::manifest::{self, Manifest};
use crate::limits::MAX_MANIFEST_BYTES;

/// Reads the manifest of stream `stream` in `dir`; `None` when the stream has none (yet).
///
/// A manifest larger than [`MAX_MANIFEST_BYTES`] is refused without being read whole, and
/// one that is not a valid manifest is an error; both name the file.
///
#[cfg_attr(feature = "writer", doc = "```")]
#[cfg_attr(not(feature = "writer"), doc = "```ignore")]
/// # let dir = tempfile::tempdir().unwrap();
/// # {
/// #     let guard = trail::builder().dir(dir.path()).name("shop").install().unwrap();
/// #     trail::info!("sealed below");
/// #     guard.rotate();
/// # }
/// let manifest = trail::read::read_manifest(dir.path(), "shop")?.expect("a sealed segment");
/// let first = &manifest.segments[0];
/// assert_eq!((first.first_seq, first.last_seq, first.records), (Some(1), Some(1), 1));
/// assert_eq!(manifest.next_seq(), 2);
/// # Ok::<(), trail::read::ReadError>(())
/// ```
pub fn read_manifest(dir: impl AsRef<Path>, stream: &str) -> Result<Option<Manifest>, ReadError> {
    let path = dir.as_ref().join(manifest::file_name(stream));
    load(&path).map_err(|(kind, detail, source)| match source {
        Some(e) => ReadError::io(&path, None, e),
        None => ReadError::new(&path, None, kind, detail),
    })
}

/// Why a manifest could not be read: the kind, a description, and the I/O error if any.
pub(crate) type LoadError = (ReadErrorKind, String, Option<io::Error>);

/// Reads and parses the manifest at `path`, reading no more than the limit: a huge
/// manifest would cost many times its size once parsed. `None` if there is no such file.
pub(crate) fn load(path: &Path) -> Result<Option<Manifest>, LoadError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err((ReadErrorKind::Io, e.to_string(), Some(e))),
    };
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut bytes) {
        return Err((ReadErrorKind::Io, e.to_string(), Some(e)));
    }
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err((
            ReadErrorKind::TooLong,
            format!("it is larger than the limit of {MAX_MANIFEST_BYTES} bytes"),
            None,
        ));
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        (
            ReadErrorKind::Corrupt,
            format!("not a valid manifest: {e}"),
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_manifest_is_none_and_a_damaged_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_manifest(dir.path(), "app").unwrap().is_none());
        let path = dir.path().join("app.manifest.json");
        std::fs::write(&path, r#"{"stream": "app", "segments": 3}"#).unwrap();
        let err = read_manifest(dir.path(), "app").unwrap_err();
        assert_eq!(err.kind(), ReadErrorKind::Corrupt);
        assert_eq!(err.path(), path);
        assert!(err.to_string().contains("not a valid manifest"), "{err}");
    }

    #[test]
    fn a_manifest_past_the_limit_is_refused_without_reading_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.manifest.json");
        // Sparse: the zeros past the limit are never read.
        std::fs::File::create(&path)
            .unwrap()
            .set_len(MAX_MANIFEST_BYTES * 16)
            .unwrap();
        let err = read_manifest(dir.path(), "app").unwrap_err();
        assert_eq!((err.kind(), err.path()), (ReadErrorKind::TooLong, &*path));
        assert!(err.to_string().contains("larger than the limit"), "{err}");
    }

    #[test]
    fn a_manifest_reads_back_typed() {
        let dir = tempfile::tempdir().unwrap();
        let text = r#"{"stream": "s", "manifest_version": 1, "next_seq": 40, "segments": [
            {"file": "s.a.jsonl.gz", "format": "json", "schema_version": 1, "first_seq": 1,
             "last_seq": 7, "records": 7, "bytes": 90, "crc32": 4000000000, "sealed_at": "t",
             "torn_tail": {"offset": 80, "bytes": 10}}]}"#;
        std::fs::write(dir.path().join("s.manifest.json"), text).unwrap();
        let m = read_manifest(dir.path(), "s").unwrap().unwrap();
        assert_eq!(
            (m.stream.as_str(), m.next_seq(), m.last_seq()),
            ("s", 40, Some(7))
        );
        let s = &m.segments[0];
        assert_eq!(
            (s.base(), s.crc32, s.bytes),
            ("s.a.jsonl", 4_000_000_000, 90)
        );
        assert_eq!(s.torn_tail.map(|t| (t.offset, t.bytes)), Some((80, 10)));
    }
}
