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

/// Extensions of every segment format, so that a stream is found whatever format wrote it.
pub(crate) const EXTENSIONS: [&str; 1] = ["jsonl"];

/// A segment file found in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) path: PathBuf,
    /// The file name without a `.gz` suffix.
    pub(crate) base: String,
    pub(crate) opened_at: u64,
    pub(crate) extension: &'static str,
    pub(crate) compressed: bool,
}

/// Parses `file_name` as a segment of `stream`: exactly
/// `STREAM.YYYYMMDDTHHMMSS.NNNNNNNNNZ.EXT`, optionally followed by `.gz`.
pub(crate) fn parse_name(stream: &str, file_name: &str) -> Option<(u64, &'static str, bool)> {
    let rest = file_name.strip_prefix(stream)?.strip_prefix('.')?;
    let (rest, compressed) = match rest.strip_suffix(".gz") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (stamp, extension) = rest.split_at_checked(26)?;
    let extension = EXTENSIONS
        .into_iter()
        .find(|e| extension.strip_prefix('.') == Some(*e))?;
    let b = stamp.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = stamp.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b[8] != b'T' || b[15] != b'.' || b[25] != b'Z' {
        return None;
    }
    let date = time::Date::from_calendar_date(
        digits(0..4)? as i32,
        time::Month::try_from(digits(4..6)? as u8).ok()?,
        digits(6..8)? as u8,
    )
    .ok()?;
    let clock = time::Time::from_hms_nano(
        digits(9..11)? as u8,
        digits(11..13)? as u8,
        digits(13..15)? as u8,
        digits(16..25)?,
    )
    .ok()?;
    let nanos = time::PrimitiveDateTime::new(date, clock)
        .assume_utc()
        .unix_timestamp_nanos();
    Some((u64::try_from(nanos).ok()?, extension, compressed))
}

/// The stream's segments in `dir`, oldest first. Files that do not match the naming
/// exactly are not the stream's and are left out.
pub(crate) fn list(dir: &Path, stream: &str) -> std::io::Result<Vec<Found>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((opened_at, extension, compressed)) = parse_name(stream, name) {
            if !entry.file_type()?.is_file() {
                continue;
            }
            found.push(Found {
                path: entry.path(),
                base: name.strip_suffix(".gz").unwrap_or(name).to_owned(),
                opened_at,
                extension,
                compressed,
            });
        }
    }
    found.sort_by(|a, b| a.base.cmp(&b.base).then(a.compressed.cmp(&b.compressed)));
    Ok(found)
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
