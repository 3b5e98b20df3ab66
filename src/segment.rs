//! Segment files: their names, and opening them for appending.
//!
//! A stream is a directory and a name. Its records go to segment files named
//! `NAME.YYYYMMDDTHHMMSS.NNNNNNNNNZ.EXT`, after the UTC time the segment was opened, to
//! the nanosecond. Names sort in time order and are never reused: a segment is created
//! with `create_new`, and a name that exists already is moved one nanosecond on.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::Error;

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

/// The file name of a segment opened at `nanos` (since the Unix epoch, UTC).
pub(crate) fn file_name(stream: &str, nanos: u64, extension: &str) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{stream}.{:04}{:02}{:02}T{:02}{:02}{:02}.{:09}Z.{extension}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// An open segment: its path and the file, opened for appending.
pub(crate) struct Segment {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
}

/// Creates the directory if needed and opens a new segment in it.
pub(crate) fn create(
    dir: &Path,
    stream: &str,
    extension: &str,
    mode: u32,
    mut nanos: u64,
) -> Result<Segment, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create log directory", dir, e))?;
    loop {
        let path = dir.join(file_name(stream, nanos, extension));
        match open_append_new(&path, mode) {
            Ok(file) => return Ok(Segment { path, file }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => nanos += 1,
            Err(e) => return Err(Error::io("create segment", &path, e)),
        }
    }
}

fn open_append_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
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
        let a = create(dir.path(), "s", "jsonl", 0o640, 5).unwrap();
        let b = create(dir.path(), "s", "jsonl", 0o640, 5).unwrap();
        assert_ne!(a.path, b.path);
        assert!(a.path < b.path);
    }

    #[cfg(unix)]
    #[test]
    fn segments_get_the_configured_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let seg = create(dir.path(), "s", "jsonl", 0o640, 1).unwrap();
        let mode = std::fs::metadata(&seg.path).unwrap().permissions().mode();
        // The umask may only remove bits.
        assert_eq!(mode & 0o777 & !0o640, 0);
    }

    #[test]
    fn a_bad_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let err = create(&file.join("sub"), "s", "jsonl", 0o640, 1)
            .err()
            .unwrap();
        assert!(err.to_string().contains("plain-file/sub"), "{err}");
    }
}
