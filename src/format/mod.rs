//! The on-disk contract: what the files are, byte for byte, apart from any code that
//! writes or reads them.
//!
//! The encoders, the file layer, the reader and the CLI all take the format from here,
//! so that the two sides cannot drift apart: format identity and extensions (this
//! module), segment names ([`segment_name`]), timestamps ([`time`]), the binary schema
//! and framing ([`binary`]), the CSV header and cells ([`csv`]), the JSON string rules
//! and profiles ([`json`]) and the manifest's document ([`manifest`]). Nothing here does
//! I/O. `docs/FORMAT.md` is the same contract in prose.

use core::fmt;
use core::str::FromStr;

pub(crate) mod binary;
pub(crate) mod csv;
pub(crate) mod json;
pub(crate) mod manifest;
pub(crate) mod segment_name;
pub(crate) mod time;

pub use json::{JsonProfile, ParseJsonProfileError};

/// The on-disk format of a stream's segments, or of any input given to the reader.
///
/// ```
/// let format: trail::Format = "json".parse().unwrap();
/// assert_eq!(format, trail::Format::Json);
/// assert_eq!(format.extension(), "jsonl");
/// assert_eq!("bincode".parse::<trail::Format>(), Ok(trail::Format::Binary));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// JSON lines (`.jsonl`): one object per line, with the canonical keys of
    /// `docs/FORMAT.md` or a [`JsonProfile`]'s.
    #[default]
    Json,
    /// CSV (`.csv`, RFC 4180) with a header row in every segment; `actor` and `fields` as
    /// JSON.
    Csv,
    /// Plain text for people (`.log`), one line per record, fields as `key=value`.
    Text,
    /// Binary (`.bin`): checksummed frames with a per-segment dictionary of call sites.
    Binary,
}

/// Each format with its segment file extension: the one table of extensions.
const EXTENSIONS: [(Format, &str); 4] = [
    (Format::Json, "jsonl"),
    (Format::Csv, "csv"),
    (Format::Text, "log"),
    (Format::Binary, "bin"),
];

/// What a compressed segment's name ends with, after its format's extension.
pub(crate) const GZ_SUFFIX: &str = ".gz";

impl Format {
    /// The name the binary format had before it was named after what it is rather than
    /// after the crate that first encoded it.
    #[doc(hidden)]
    #[allow(non_upper_case_globals)]
    pub const Bincode: Format = Format::Binary;

    /// The segment file extension, without the dot.
    pub fn extension(self) -> &'static str {
        // The table lists the formats in the enum's order.
        EXTENSIONS[self as usize].1
    }

    /// The name written in manifests and accepted on command lines: `json`, `csv`,
    /// `text`, and `bincode` for the binary format (the name manifests have always held).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Text => "text",
            Format::Binary => "bincode",
        }
    }

    /// The format whose files end in `extension` (`jsonl`, `csv`, `log` or `bin`).
    ///
    /// ```
    /// assert_eq!(trail::Format::from_extension("bin"), Some(trail::Format::Binary));
    /// assert_eq!(trail::Format::from_extension("gz"), None);
    /// ```
    pub fn from_extension(extension: &str) -> Option<Format> {
        EXTENSIONS
            .iter()
            .find(|(_, e)| *e == extension)
            .map(|(format, _)| *format)
    }

    /// The extension of every format, in the table's order.
    pub(crate) fn extensions() -> impl Iterator<Item = &'static str> {
        EXTENSIONS.iter().map(|(_, extension)| *extension)
    }

    /// The format of a segment file named `name`, and whether it is compressed: its
    /// format's extension, then perhaps `.gz`.
    pub(crate) fn of_file_name(name: &str) -> Option<(Format, bool)> {
        let (name, compressed) = match name.strip_suffix(GZ_SUFFIX) {
            Some(name) => (name, true),
            None => (name, false),
        };
        let (_, extension) = name.rsplit_once('.')?;
        Format::from_extension(extension).map(|format| (format, compressed))
    }

    /// The names a segment file may end with, for messages: `.jsonl, .csv, .log or .bin,
    /// optionally followed by .gz`.
    pub(crate) fn expected_names() -> String {
        let mut text = String::new();
        let last = EXTENSIONS.len() - 1;
        for (i, extension) in Format::extensions().enumerate() {
            if i > 0 {
                text.push_str(if i == last { " or " } else { ", " });
            }
            text.push('.');
            text.push_str(extension);
        }
        text.push_str(", optionally followed by ");
        text.push_str(GZ_SUFFIX);
        text
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

unknown_name_error!(
    /// The error for a format name that is unknown.
    ///
    /// ```
    /// let error = "yaml".parse::<trail::Format>().unwrap_err();
    /// assert!(error.to_string().contains("unknown format \"yaml\""));
    /// ```
    ParseFormatError,
    "format",
    "json, csv, text or binary (bincode)"
);

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Parses `json`, `csv`, `text` and `binary` (or `bincode`), or a format's
    /// extension, ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "json" => Ok(Format::Json),
            "text" => Ok(Format::Text),
            "bincode" | "binary" => Ok(Format::Binary),
            other => Format::from_extension(other).ok_or_else(|| ParseFormatError::new(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_extension_parses_to_its_format() {
        for (text, format) in [
            ("json", Format::Json),
            ("JSONL", Format::Json),
            ("csv", Format::Csv),
            ("text", Format::Text),
            ("log", Format::Text),
            ("bincode", Format::Binary),
            ("binary", Format::Binary),
            ("bin", Format::Binary),
        ] {
            assert_eq!(text.parse(), Ok(format), "{text}");
        }
        for format in EXTENSIONS.map(|(format, _)| format) {
            assert_eq!(format.as_str().parse(), Ok(format));
            assert_eq!(Format::from_extension(format.extension()), Some(format));
        }
        assert!("parquet".parse::<Format>().is_err());
    }

    #[test]
    fn file_names_give_their_format_and_compression() {
        assert_eq!(
            Format::of_file_name("a.b.jsonl"),
            Some((Format::Json, false))
        );
        assert_eq!(
            Format::of_file_name("a.bin.gz"),
            Some((Format::Binary, true))
        );
        assert_eq!(Format::of_file_name("a.gz"), None);
        assert_eq!(Format::of_file_name("jsonl"), None);
        assert_eq!(
            Format::expected_names(),
            ".jsonl, .csv, .log or .bin, optionally followed by .gz"
        );
    }
}
