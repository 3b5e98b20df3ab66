//! Encoders: records to bytes, one format each, by the rules of [`crate::format`].
//! Encoders know nothing of files, and nothing of the reader.

use std::sync::Arc;

use crate::format::time::TimestampCache;
use crate::format::{Format, JsonProfile};
use crate::record::{Decoded, ValueRef};
use crate::{Piece, Record};

pub(crate) mod bincode;
pub(crate) mod csv;
pub(crate) mod json;
pub(crate) mod text;

impl Format {
    /// A new encoder for this format.
    pub(crate) fn encoder(self, options: &EncoderOptions) -> Box<dyn Encoder> {
        let mut encoder: Box<dyn Encoder> = match self {
            Format::Json => Box::new(json::JsonEncoder::new(options.json_profile)),
            Format::Csv => Box::new(csv::CsvEncoder::new(options.csv_escape_formulas)),
            Format::Text => Box::<text::TextEncoder>::default(),
            Format::Binary => Box::<bincode::BincodeEncoder>::default(),
        };
        encoder.set_secrets(Arc::clone(&options.secrets));
        encoder
    }
}

/// Settings that shape an encoder's output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EncoderOptions {
    pub(crate) csv_escape_formulas: bool,
    pub(crate) json_profile: JsonProfile,
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
pub(crate) struct EncodeContext {
    pub(crate) clock: TimestampCache,
    threads: ThreadNames,
    message: String,
    /// Names of fields written as `"[REDACTED]"`.
    pub(crate) secrets: Arc<[String]>,
}

/// Thread names by thread number, with the last one at hand: records come in runs from
/// one thread.
#[derive(Default)]
struct ThreadNames {
    all: rustc_hash::FxHashMap<u64, Arc<str>>,
    /// The thread named last.
    last: Option<(u64, Arc<str>)>,
}

impl ThreadNames {
    /// The thread's name, or its number when it has none.
    fn get(&mut self, id: u64) -> &str {
        if self.last.as_ref().map(|(last, _)| *last) != Some(id) {
            let name = self.all.entry(id).or_insert_with(|| {
                crate::thread_name(id).unwrap_or_else(|| Arc::from(id.to_string()))
            });
            self.last = Some((id, Arc::clone(name)));
        }
        self.last.as_ref().map_or("", |(_, name)| name)
    }
}

/// The rendered message, in `buffer` when it is more than one literal piece.
fn render_message<'a>(buffer: &'a mut String, values: &'a Decoded<'_>) -> &'a str {
    match values.pieces() {
        [Piece::Lit(text)] => text,
        [] => "",
        _ => {
            buffer.clear();
            let _ = values.write_message(buffer);
            buffer
        }
    }
}

impl EncodeContext {
    /// The record's values, secrets redacted.
    pub(crate) fn decode<'r>(&self, record: &'r Record) -> Decoded<'r> {
        let mut values = record.decode();
        values.redact(&self.secrets);
        values
    }

    /// The thread's name, or its number when it has none.
    pub(crate) fn thread(&mut self, id: u64) -> &str {
        self.threads.get(id)
    }

    /// The rendered message.
    pub(crate) fn message<'a>(&'a mut self, values: &'a Decoded<'_>) -> &'a str {
        render_message(&mut self.message, values)
    }

    /// The record as the line writers take it, with the clock they write its time with.
    pub(crate) fn view<'s, 'r>(
        &'s mut self,
        record: &'s Record,
        values: &'s Decoded<'r>,
        seq: u64,
    ) -> (
        &'s mut TimestampCache,
        RecordView<
            's,
            ValueRef<'r>,
            impl Iterator<Item = (&'r str, ValueRef<'r>)> + 's + use<'r, 's>,
        >,
    ) {
        let meta = record.metadata();
        let view = RecordView {
            ts: record.timestamp_nanos(),
            level: meta.level(),
            seq,
            actor: values.actor(),
            target: meta.target(),
            msg: render_message(&mut self.message, values),
            fields: values.fields(),
            file: meta.file(),
            line: meta.line(),
            thread: self.threads.get(record.thread_id()),
            span: record.span_ref(),
        };
        (&mut self.clock, view)
    }
}

/// One record as the line writers take it: a captured record with its values decoded, or
/// a record read back ([`crate::convert`]), so that both are written by the same code.
pub(crate) struct RecordView<'a, V, F> {
    /// Nanoseconds since the Unix epoch.
    pub(crate) ts: u64,
    pub(crate) level: crate::Level,
    pub(crate) seq: u64,
    pub(crate) actor: Option<V>,
    pub(crate) target: &'a str,
    /// The message, rendered.
    pub(crate) msg: &'a str,
    /// The key-value fields, in order: `(name, value)`.
    pub(crate) fields: F,
    pub(crate) file: &'a str,
    pub(crate) line: u32,
    pub(crate) thread: &'a str,
    /// The span the record was captured in.
    pub(crate) span: Option<crate::span::SpanRef<'a>>,
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

    /// The kinds of the last encoded record's actor and values, packed as the writer's
    /// schema summary keeps them, when the encoder told them on its way through the
    /// values; `None` when it did not, and the summary tells them itself.
    fn last_kinds(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static META: crate::Metadata = crate::Metadata::for_test(
        crate::Level::Info,
        "t",
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
        let record = Record::with_actor_and_values(
            &META,
            0,
            1,
            &"ana \"b\"",
            &[&u64::MAX, &i64::MIN, &0.1_f64, &"é\n", &true],
        );
        let decoded = record.decode();
        let mut text = EncodeContext::default();
        assert_eq!(text.message(&decoded), decoded.message());
        assert_eq!(
            decoded.message(),
            "ana \"b\" paid 18446744073709551615 / -9223372036854775808 / 0.1 / é\n / true<invalid>"
        );
    }
}
