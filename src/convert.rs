//! Writing records that were read back, in any format: what converting a stream and
//! printing records in another format need.
//!
//! The records go through the writer's own encoders, fed from a [`LogRecord`] instead of
//! a captured event, so that the same record makes the same bytes either way and a
//! converted segment reads back as the original did. Binary output gets a dictionary of
//! its own: one call site per level, target, location and set of field names, with the
//! rendered message as the last value.

use std::collections::HashMap;

use crate::encode::bincode::{self, CallsiteRef, FrameRef, PieceRef};
use crate::encode::{csv, json, text, RecordView};
use crate::format::binary::header;
use crate::format::time::TimestampCache;
use crate::read::{FieldValue, LogRecord};
use crate::span::SpanRef;
use crate::Format;

/// Writes [`LogRecord`]s in one format.
///
/// ```
/// use trail::convert::RecordEncoder;
/// use trail::read::{FieldValue, LogRecord};
///
/// let record = LogRecord {
///     ts: 0, level: trail::Level::Info, seq: 1, actor: Some(FieldValue::U64(7)),
///     target: "shop".into(), msg: "hello".into(),
///     fields: vec![("n".into(), FieldValue::U64(3))],
///     file: "src/main.rs".into(), line: 4, thread: "main".into(), span: None,
/// };
/// let mut out = Vec::new();
/// let mut encoder = RecordEncoder::new(trail::Format::Json);
/// encoder.begin_segment(&mut out);
/// encoder.encode(&record, &mut out);
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "{\"ts\":\"1970-01-01T00:00:00.000000000Z\",\"level\":\"info\",\"seq\":1,\"actor\":7,\
///      \"target\":\"shop\",\"msg\":\"hello\",\"fields\":{\"n\":3},\"file\":\"src/main.rs\",\
///      \"line\":4,\"thread\":\"main\"}\n"
/// );
/// ```
pub struct RecordEncoder {
    format: Format,
    clock: TimestampCache,
    scratch: Vec<u8>,
    callsites: HashMap<(u8, String, String, u32, Vec<String>), u32>,
    threads: HashMap<String, u32>,
}

impl RecordEncoder {
    /// An encoder for `format`, canonical keys for JSON.
    pub fn new(format: Format) -> RecordEncoder {
        RecordEncoder {
            format,
            clock: TimestampCache::default(),
            scratch: Vec::new(),
            callsites: HashMap::new(),
            threads: HashMap::new(),
        }
    }

    /// Writes what a segment of this format starts with (a CSV header, a binary header),
    /// and forgets the binary dictionary: call at the start of every output segment.
    pub fn begin_segment(&mut self, out: &mut Vec<u8>) {
        self.callsites.clear();
        self.threads.clear();
        match self.format {
            Format::Csv => csv::write_header(out),
            Format::Binary => out.extend_from_slice(&header()),
            Format::Json | Format::Text => {}
        }
    }

    /// Appends one whole record.
    pub fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) {
        let view = view(record);
        match self.format {
            Format::Json => json::write_canonical(&mut self.clock, view, out),
            Format::Csv => csv::write_row(&mut self.clock, view, false, &mut self.scratch, out),
            Format::Text => text::write_line(&mut self.clock, view, false, out),
            Format::Binary => self.binary(record, out),
        }
    }

    fn binary(&mut self, r: &LogRecord, out: &mut Vec<u8>) {
        let names: Vec<String> = r.fields.iter().map(|(k, _)| k.clone()).collect();
        let key = (
            r.level as u8,
            r.target.clone(),
            r.file.clone(),
            r.line,
            names,
        );
        let callsite = match self.callsites.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.callsites.len() as u32;
                let frame = FrameRef::Callsite(CallsiteRef {
                    id,
                    level: key.0,
                    target: &key.1,
                    module: &key.1,
                    file: &key.2,
                    line: key.3,
                    template: "",
                    fields: key.4.iter().map(String::as_str).collect(),
                    pieces: vec![PieceRef::Arg(r.fields.len() as u32)],
                });
                bincode::write_definition(out, &frame);
                self.callsites.insert(key, id);
                id
            }
        };
        let thread = match self.threads.get(&r.thread) {
            Some(&id) => id,
            None => {
                let id = self.threads.len() as u32;
                let frame = FrameRef::Thread {
                    id,
                    name: &r.thread,
                };
                bincode::write_definition(out, &frame);
                self.threads.insert(r.thread.clone(), id);
                id
            }
        };
        let msg = FieldValue::Str(r.msg.clone());
        let values = r.fields.iter().map(|(_, v)| v);
        bincode::write_record(
            out,
            [callsite, thread],
            [r.seq, r.ts],
            r.actor.as_ref(),
            values.chain(std::iter::once(&msg)),
            r.span.as_ref().map(SpanRef::of),
        );
    }
}

/// A record read back, as the encoders take one.
fn view(
    r: &LogRecord,
) -> RecordView<'_, &FieldValue, impl Iterator<Item = (&str, &FieldValue)> + '_> {
    RecordView {
        ts: r.ts,
        level: r.level,
        seq: r.seq,
        actor: r.actor.as_ref(),
        target: &r.target,
        msg: &r.msg,
        fields: r.fields.iter().map(|(k, v)| (k.as_str(), v)),
        file: &r.file,
        line: r.line,
        thread: &r.thread,
        span: r.span.as_ref().map(SpanRef::of),
    }
}
