//! Segment file names: `STREAM.YYYYMMDDTHHMMSS.NNNNNNNNNZ.EXT[.gz]`, made and parsed.
//!
//! Shared by the writer, which names new segments, and the reader, which finds them.

use std::path::{Path, PathBuf};

use super::{Format, GZ_SUFFIX};

/// The file name of a segment opened at `nanos` (since the Unix epoch, UTC).
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
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
    let (rest, compressed) = match rest.strip_suffix(GZ_SUFFIX) {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (stamp, extension) = rest.split_at_checked(26)?;
    // Every format's extension, so that a stream is found whatever format wrote it.
    let extension = Format::extensions().find(|e| extension.strip_prefix('.') == Some(*e))?;
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
                base: name.strip_suffix(GZ_SUFFIX).unwrap_or(name).to_owned(),
                opened_at,
                extension,
                compressed,
            });
        }
    }
    found.sort_by(|a, b| a.base.cmp(&b.base).then(a.compressed.cmp(&b.compressed)));
    Ok(found)
}

/// The names of the streams with segments in `dir`, sorted.
pub(crate) fn streams(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((stream, _)) = name.split_once('.') else {
            continue;
        };
        if parse_name(stream, name).is_some() && !names.iter().any(|n| n == stream) {
            names.push(stream.to_owned());
        }
    }
    names.sort();
    Ok(names)
}
