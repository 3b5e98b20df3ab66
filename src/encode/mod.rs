//! Encoders: records to bytes, one format each. Encoders know nothing of files.

use core::fmt;
use core::str::FromStr;
use std::sync::Arc;

use crate::record::Decoded;
use crate::{Piece, Record};

pub(crate) mod bincode;
pub(crate) mod csv;
pub(crate) mod json;
pub(crate) mod text;

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
    /// CSV (RFC 4180) with a header row in every segment; `actor` and `fields` as JSON.
    Csv,
    /// Plain text for people, one line per record, fields as `key=value`.
    Text,
    /// Binary: checksummed bincode frames with a per-segment dictionary of call sites.
    Bincode,
}

impl Format {
    /// The segment file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "jsonl",
            Format::Csv => "csv",
            Format::Text => "log",
            Format::Bincode => "bin",
        }
    }

    /// The name used on command lines and in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Text => "text",
            Format::Bincode => "bincode",
        }
    }

    /// How the reader frames and decodes this format.
    pub(crate) fn segment_format(self) -> crate::read::FileFormat {
        match self {
            Format::Json => crate::read::FileFormat::Json,
            Format::Csv => crate::read::FileFormat::Csv,
            Format::Text => crate::read::FileFormat::Text,
            Format::Bincode => crate::read::FileFormat::Binary,
        }
    }

    /// The format whose segments have this extension.
    pub(crate) fn from_extension(extension: &str) -> Option<Format> {
        match extension {
            "jsonl" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "log" => Some(Format::Text),
            "bin" => Some(Format::Bincode),
            _ => None,
        }
    }

    pub(crate) fn encoder(self, options: &EncoderOptions) -> Box<dyn Encoder> {
        let mut encoder: Box<dyn Encoder> = match self {
            Format::Json => Box::new(json::JsonEncoder::new(options.json_profile)),
            Format::Csv => Box::new(csv::CsvEncoder::new(options.csv_escape_formulas)),
            Format::Text => Box::<text::TextEncoder>::default(),
            Format::Bincode => Box::<bincode::BincodeEncoder>::default(),
        };
        encoder.set_secrets(Arc::clone(&options.secrets));
        encoder
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

    /// Parses `json`, `csv`, `text` and `bincode`, ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" | "jsonl" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "text" | "log" => Ok(Format::Text),
            "bincode" | "binary" | "bin" => Ok(Format::Bincode),
            _ => Err(ParseFormatError(format!(
                "unknown format {s:?}: expected json, csv, text or bincode"
            ))),
        }
    }
}

/// Settings that shape an encoder's output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EncoderOptions {
    pub(crate) csv_escape_formulas: bool,
    pub(crate) json_profile: json::JsonProfile,
    /// Names of fields written as `"[REDACTED]"`.
    pub(crate) secrets: Arc<[String]>,
}

/// Appends `bytes` to `out`, copying short slices inline rather than through `memcpy`.
///
/// Encoders append many short pieces of varying length (names, numbers, strings); a
/// call to `memcpy` for each costs more than the copy itself.
#[inline(always)]
pub(crate) fn append(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if n > 32 {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(n);
    let len = out.len();
    crate::payload::write_uninit(&mut out.spare_capacity_mut()[..n], bytes);
    // SAFETY: the capacity holds `len + n` bytes, and the `n` after `len` were just written.
    unsafe { out.set_len(len + n) };
}

/// What every text encoder renders the same way: timestamps, thread names, messages.
#[derive(Default)]
pub(crate) struct Text {
    pub(crate) clock: json::TimestampCache,
    threads: rustc_hash::FxHashMap<u64, Arc<str>>,
    /// The thread named last: records come in runs from one thread.
    last_thread: Option<(u64, Arc<str>)>,
    message: String,
    /// Names of fields written as `"[REDACTED]"`.
    pub(crate) secrets: Arc<[String]>,
}

impl Text {
    /// The record's values, secrets redacted.
    pub(crate) fn decode<'r>(&self, record: &'r Record) -> Decoded<'r> {
        let mut values = record.decode();
        values.redact(&self.secrets);
        values
    }

    /// The thread's name, or its number when it has none.
    pub(crate) fn thread(&mut self, id: u64) -> &str {
        if self.last_thread.as_ref().map(|(last, _)| *last) != Some(id) {
            let name = self.threads.entry(id).or_insert_with(|| {
                crate::thread_name(id).unwrap_or_else(|| Arc::from(id.to_string()))
            });
            self.last_thread = Some((id, Arc::clone(name)));
        }
        self.last_thread.as_ref().map_or("", |(_, name)| name)
    }

    /// The rendered message.
    pub(crate) fn message<'a>(&'a mut self, values: &'a Decoded<'_>) -> &'a str {
        match values.pieces() {
            [Piece::Lit(text)] => text,
            [] => "",
            _ => {
                self.message.clear();
                let _ = values.write_message(&mut self.message);
                &self.message
            }
        }
    }
}

/// Turns records into bytes of one format.
pub(crate) trait Encoder: Send {
    /// Writes what every segment of this format starts with (a header); nothing by default.
    fn begin_segment(&mut self, _out: &mut Vec<u8>) {}

    /// Names the fields to write as `"[REDACTED]"`.
    fn set_secrets(&mut self, secrets: Arc<[String]>);

    /// Appends one whole record, with its sequence number.
    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>);

    /// Where in `out` the last [`encode`](Encoder::encode) call's record began, for a
    /// format that may write other items first (a binary segment's call site and thread
    /// frames); `None` when all that the call wrote is the record.
    fn last_record_at(&self) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static META: crate::Metadata = crate::Metadata::new(
        crate::Level::Info,
        "t",
        "trail::encode",
        file!(),
        line!(),
        "{actor} {0} {1} {2} {3} {4}",
        &[],
        &[
            Piece::Actor,
            Piece::Lit(" paid "),
            Piece::Display(0),
            Piece::Lit(" / "),
            Piece::Display(1),
            Piece::Lit(" / "),
            Piece::Display(2),
            Piece::Lit(" / "),
            Piece::Display(3),
            Piece::Lit(" / "),
            Piece::Display(4),
            Piece::Display(9),
        ],
    );

    #[test]
    fn the_fast_message_is_the_formatted_one() {
        let mut record = Record::new(&META, 0, 1);
        record.set_actor_flag();
        let mut payload = record.payload_mut();
        let _ = crate::Capture::new(&mut payload).str("ana \"b\"");
        let _ = crate::Capture::new(&mut payload).u64(u64::MAX);
        let _ = crate::Capture::new(&mut payload).i64(i64::MIN);
        let _ = crate::Capture::new(&mut payload).f64(0.1);
        let _ = crate::Capture::new(&mut payload).str("é\n");
        let _ = crate::Capture::new(&mut payload).bool(true);
        drop(payload);
        let decoded = record.decode();
        let mut text = Text::default();
        assert_eq!(text.message(&decoded), decoded.message());
        assert_eq!(
            decoded.message(),
            "ana \"b\" paid 18446744073709551615 / -9223372036854775808 / 0.1 / é\n / true<invalid>"
        );
    }
}
