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

/// Turns records into bytes of one format.
pub(crate) trait Encoder: Send {
    /// Appends one whole record, with its sequence number.
    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>);
}
