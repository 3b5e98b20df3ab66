//! Segment file names: `STREAM.YYYYMMDDTHHMMSS.NNNNNNNNNZ.EXT[.gz]`, made and parsed.
//!
//! Shared by the writer, which names new segments, and the reader, which finds them.
//!
//! A writer may keep its active segment hidden: named `_` followed by its final name, and
//! renamed to the final name when it is sealed. File sources (Spark, Flink, Hadoop,
//! Databricks Auto Loader) skip names that start with `_`, so they only ever list sealed,
//! complete segments. The segment's identity is its final name: the reader lists a hidden
//! segment under it, and a checkpoint taken on `_X` resumes on `X`. A name `_S.STAMP.EXT`
//! could also be a segment of a stream called `_S`; it is that stream's when the directory
//! holds the manifest `_S.manifest.json`.

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

/// What starts the name of an active segment kept hidden from file sources.
pub(crate) const HIDDEN_PREFIX: char = '_';

/// The name a segment has while it is active and hidden: `_` and its final name.
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
pub(crate) fn hidden_name(final_name: &str) -> String {
    format!("{HIDDEN_PREFIX}{final_name}")
}

/// A segment file found in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) path: PathBuf,
    /// The segment's final file name, without a `.gz` suffix and without the `_` of a
    /// hidden active segment: its identity, whichever name it has now.
    pub(crate) base: String,
    pub(crate) opened_at: u64,
    pub(crate) extension: &'static str,
    pub(crate) compressed: bool,
    /// Whether the file is a hidden active segment (`_` and its final name).
    pub(crate) hidden: bool,
}

/// Parses `file_name` as a hidden active segment of `stream`: `_` and a segment name,
/// never compressed.
pub(crate) fn parse_hidden<'a>(
    stream: &str,
    file_name: &'a str,
) -> Option<(u64, &'static str, &'a str)> {
    let rest = file_name.strip_prefix(HIDDEN_PREFIX)?;
    match parse_name(stream, rest)? {
        (opened_at, extension, false) => Some((opened_at, extension, rest)),
        _ => None,
    }
}

/// Whether `dir` holds a stream named `_` + `stream`, whose segments' names are those a
/// hidden active segment of `stream` would have: then they are its, not `stream`'s.
pub(crate) fn prefixed_stream_exists(dir: &Path, stream: &str) -> bool {
    dir.join(format!("{HIDDEN_PREFIX}{stream}.manifest.json"))
        .exists()
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

/// The stream's segments in `dir`, oldest first, hidden active ones among them under
/// their final names. Files that do not match the naming exactly are not the stream's and
/// are left out. A segment caught while it is renamed or compressed may be listed twice
/// (hidden first, then plain, then compressed), under one `base`.
pub(crate) fn list(dir: &Path, stream: &str) -> std::io::Result<Vec<Found>> {
    let mut found = Vec::new();
    let mut hidden_seen = false;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let parsed = match parse_name(stream, name) {
            Some((opened_at, extension, compressed)) => Some((
                opened_at,
                extension,
                compressed,
                false,
                name.strip_suffix(GZ_SUFFIX).unwrap_or(name),
            )),
            None => parse_hidden(stream, name)
                .map(|(opened_at, extension, base)| (opened_at, extension, false, true, base)),
        };
        if let Some((opened_at, extension, compressed, hidden, base)) = parsed {
            if !entry.file_type()?.is_file() {
                continue;
            }
            hidden_seen |= hidden;
            found.push(Found {
                path: entry.path(),
                base: base.to_owned(),
                opened_at,
                extension,
                compressed,
                hidden,
            });
        }
    }
    if hidden_seen && prefixed_stream_exists(dir, stream) {
        found.retain(|f| !f.hidden);
    }
    found.sort_by(|a, b| {
        a.base
            .cmp(&b.base)
            .then(b.hidden.cmp(&a.hidden))
            .then(a.compressed.cmp(&b.compressed))
    });
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
        if parse_name(stream, name).is_none() {
            continue;
        }
        // A hidden active segment is its stream's, unless a stream `_S` has a manifest here.
        let stream = match stream.strip_prefix(HIDDEN_PREFIX) {
            Some(plain)
                if !plain.is_empty()
                    && parse_hidden(plain, name).is_some()
                    && !dir.join(format!("{stream}.manifest.json")).exists() =>
            {
                plain
            }
            _ => stream,
        };
        if !names.iter().any(|n| n == stream) {
            names.push(stream.to_owned());
        }
    }
    names.sort();
    Ok(names)
}
