//! Encoders: records to bytes, one format each. Encoders know nothing of files.

use core::fmt;
use core::str::FromStr;

use crate::Record;

pub(crate) mod json;

/// The on-disk format of a stream's segments.
///
/// ```
/// let format: trail::Format = "json".parse().unwrap();
/// assert_eq!(format, trail::Format::Json);
/// assert_eq!(format.extension(), "jsonl");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// JSON lines: one object per line, with the canonical keys of `docs/FORMAT.md`.
    #[default]
    Json,
}

impl Format {
    /// The segment file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "jsonl",
        }
    }

    /// The name used on command lines and in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
        }
    }

    /// Reads back what a segment of this format holds.
    pub(crate) fn scan(self, bytes: &[u8]) -> Scan {
        match self {
            Format::Json => json::scan(bytes),
        }
    }

    /// The format whose segments have this extension.
    pub(crate) fn from_extension(extension: &str) -> Option<Format> {
        match extension {
            "jsonl" => Some(Format::Json),
            _ => None,
        }
    }

    pub(crate) fn encoder(self) -> Box<dyn Encoder> {
        match self {
            Format::Json => Box::new(json::JsonEncoder::new()),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a format name that is unknown or not supported by this build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFormatError(String);

impl fmt::Display for ParseFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseFormatError {}

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Parses `json`. `csv`, `bincode` and `text` are named in the design but not yet
    /// built, and are refused with a message that says so.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" | "jsonl" => Ok(Format::Json),
            "csv" | "bincode" | "text" => Err(ParseFormatError(format!(
                "format {s:?} is not supported yet: supported formats are json"
            ))),
            _ => Err(ParseFormatError(format!(
                "unknown format {s:?}: expected json"
            ))),
        }
    }
}

/// A segment's records, as found by reading it back.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub(crate) records: u64,
    pub(crate) first_seq: Option<u64>,
    pub(crate) last_seq: Option<u64>,
    /// An incomplete final record, left by a crash.
    pub(crate) torn: Option<crate::manifest::TornTail>,
}

/// Turns records into bytes of one format.
pub(crate) trait Encoder: Send {
    /// Writes what every segment of this format starts with (a header); nothing by default.
    fn begin_segment(&mut self, _out: &mut Vec<u8>) {}

    /// Appends one whole record, with its sequence number.
    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>);
}
