//! Writing records that were read back, in any format: what converting a stream and
//! printing records in another format need.
//!
//! The writer's encoders work on captured events; this works on [`LogRecord`]s, and
//! produces the same bytes for the same record, so that a converted segment reads back as
//! the original did. Binary output gets a dictionary of its own: one call site per level,
//! target, location and set of field names, with the rendered message as the last value.

use std::collections::HashMap;

use crate::encode::json::{write_str, TimestampCache};
use crate::encode::{csv, text};
use crate::read::binary::{self, Callsite, Frame, Piece, Value};
use crate::read::{FieldValue, LogRecord};
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
///     file: "src/main.rs".into(), line: 4, thread: "main".into(),
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
            Format::Csv => {
                out.extend_from_slice(crate::read::CSV_HEADER.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Format::Bincode => out.extend_from_slice(&binary::header()),
            Format::Json | Format::Text => {}
        }
    }

    /// Appends one whole record.
    pub fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) {
        match self.format {
            Format::Json => self.json(record, out),
            Format::Csv => self.csv(record, out),
            Format::Text => self.text(record, out),
            Format::Bincode => self.binary(record, out),
        }
    }

    fn fields_json(record: &LogRecord, out: &mut Vec<u8>) {
        write_map(&record.fields, out);
    }

    fn json(&mut self, r: &LogRecord, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"ts\":\"");
        self.clock.write(r.ts, out);
        out.extend_from_slice(b"\",\"level\":\"");
        out.extend_from_slice(r.level.as_str().as_bytes());
        out.extend_from_slice(b"\",\"seq\":");
        out.extend_from_slice(itoa::Buffer::new().format(r.seq).as_bytes());
        if let Some(actor) = &r.actor {
            out.extend_from_slice(b",\"actor\":");
            write_field(actor, out);
        }
        out.extend_from_slice(b",\"target\":");
        write_str(&r.target, out);
        out.extend_from_slice(b",\"msg\":");
        write_str(&r.msg, out);
        out.extend_from_slice(b",\"fields\":");
        Self::fields_json(r, out);
        out.extend_from_slice(b",\"file\":");
        write_str(&r.file, out);
        out.extend_from_slice(b",\"line\":");
        out.extend_from_slice(itoa::Buffer::new().format(r.line).as_bytes());
        out.extend_from_slice(b",\"thread\":");
        write_str(&r.thread, out);
        out.extend_from_slice(b"}\n");
    }

    fn csv(&mut self, r: &LogRecord, out: &mut Vec<u8>) {
        self.clock.write(r.ts, out);
        out.push(b',');
        out.extend_from_slice(r.level.as_str().as_bytes());
        out.push(b',');
        out.extend_from_slice(itoa::Buffer::new().format(r.seq).as_bytes());
        out.push(b',');
        if let Some(actor) = &r.actor {
            self.scratch.clear();
            write_field(actor, &mut self.scratch);
            csv::cell(&self.scratch, false, out);
        }
        for text in [&r.target, &r.msg] {
            out.push(b',');
            csv::cell(text.as_bytes(), false, out);
        }
        out.push(b',');
        self.scratch.clear();
        Self::fields_json(r, &mut self.scratch);
        csv::cell(&self.scratch, false, out);
        out.push(b',');
        csv::cell(r.file.as_bytes(), false, out);
        out.push(b',');
        out.extend_from_slice(itoa::Buffer::new().format(r.line).as_bytes());
        out.push(b',');
        csv::cell(r.thread.as_bytes(), false, out);
        out.extend_from_slice(b"\r\n");
    }

    fn text(&mut self, r: &LogRecord, out: &mut Vec<u8>) {
        let start = out.len();
        self.clock.write(r.ts, out);
        out.push(b' ');
        out.extend_from_slice(format!("{:<5}", r.level.as_str().to_ascii_uppercase()).as_bytes());
        out.push(b' ');
        if let Some(actor) = &r.actor {
            out.push(b'[');
            write_text_field(actor, |s| text::bare_value(s) && !s.contains(']'), out);
            out.extend_from_slice(b"] ");
        }
        if text::bare_target(&r.target) {
            out.extend_from_slice(r.target.as_bytes());
        } else {
            write_str(&r.target, out);
        }
        out.extend_from_slice(b": ");
        if text::bare_message(&r.msg) {
            out.extend_from_slice(r.msg.as_bytes());
        } else {
            write_str(&r.msg, out);
        }
        for (key, value) in &r.fields {
            out.push(b' ');
            if text::bare_key(key) {
                out.extend_from_slice(key.as_bytes());
            } else {
                write_str(key, out);
            }
            out.push(b'=');
            write_text_field(value, text::bare_value, out);
        }
        out.extend_from_slice(b" @seq=");
        out.extend_from_slice(itoa::Buffer::new().format(r.seq).as_bytes());
        out.extend_from_slice(b" @src=");
        let src = FieldValue::Str(format!("{}:{}", r.file, r.line));
        write_text_field(&src, text::bare_value, out);
        out.extend_from_slice(b" @thread=");
        write_text_field(&FieldValue::Str(r.thread.clone()), text::bare_value, out);
        crate::terminal::escape_controls_after(out, start);
        out.push(b'\n');
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
                let frame = Frame::Callsite(Callsite {
                    id,
                    level: key.0,
                    target: key.1.clone(),
                    module: key.1.clone(),
                    file: key.2.clone(),
                    line: key.3,
                    template: String::new(),
                    fields: key.4.clone(),
                    pieces: vec![Piece::Arg(r.fields.len() as u32)],
                });
                binary::write_frame(&frame, out);
                self.callsites.insert(key, id);
                id
            }
        };
        let thread = match self.threads.get(&r.thread) {
            Some(&id) => id,
            None => {
                let id = self.threads.len() as u32;
                binary::write_frame(
                    &Frame::Thread {
                        id,
                        name: r.thread.clone(),
                    },
                    out,
                );
                self.threads.insert(r.thread.clone(), id);
                id
            }
        };
        let mut values: Vec<Value> = r.fields.iter().map(|(_, v)| to_binary(v)).collect();
        values.push(Value::Str(r.msg.clone()));
        let frame = Frame::Record(binary::Record {
            callsite,
            thread,
            seq: r.seq,
            ts: r.ts,
            actor: r.actor.as_ref().map(to_binary),
            values,
        });
        binary::write_frame(&frame, out);
    }
}

fn to_binary(v: &FieldValue) -> Value {
    match v {
        FieldValue::Null => Value::Null,
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::I64(n) => Value::I64(*n),
        FieldValue::U64(n) => Value::U64(*n),
        FieldValue::I128(n) => Value::I128(*n),
        FieldValue::U128(n) => Value::U128(*n),
        FieldValue::F64(f) => Value::F64(*f),
        FieldValue::Str(s) => Value::Str(s.clone()),
        FieldValue::Bytes(b) => Value::Bytes(b.clone()),
        FieldValue::Seq(items) => Value::Seq(items.iter().map(to_binary).collect()),
        FieldValue::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_binary(v)))
                .collect(),
        ),
    }
}

/// A value as JSON, with the writer's rules (non-finite floats as strings).
fn write_field(v: &FieldValue, out: &mut Vec<u8>) {
    match v {
        FieldValue::Null => out.extend_from_slice(b"null"),
        FieldValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        FieldValue::I64(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        FieldValue::U64(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        FieldValue::I128(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        FieldValue::U128(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        FieldValue::F64(f) if f.is_finite() => {
            out.extend_from_slice(ryu::Buffer::new().format_finite(*f).as_bytes())
        }
        FieldValue::F64(f) if f.is_nan() => out.extend_from_slice(b"\"NaN\""),
        FieldValue::F64(f) if *f < 0.0 => out.extend_from_slice(b"\"-Infinity\""),
        FieldValue::F64(_) => out.extend_from_slice(b"\"Infinity\""),
        FieldValue::Str(s) => write_str(s, out),
        FieldValue::Bytes(b) => write_field(
            &FieldValue::Seq(b.iter().map(|x| FieldValue::U64((*x).into())).collect()),
            out,
        ),
        FieldValue::Seq(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_field(item, out);
            }
            out.push(b']');
        }
        FieldValue::Map(entries) => write_map(entries, out),
    }
}

/// A JSON object of key-values, in their order.
fn write_map(entries: &[(String, FieldValue)], out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(key, out);
        out.push(b':');
        write_field(value, out);
    }
    out.push(b'}');
}

fn write_text_field(v: &FieldValue, bare: impl Fn(&str) -> bool, out: &mut Vec<u8>) {
    match v {
        FieldValue::Str(s) if bare(s) => out.extend_from_slice(s.as_bytes()),
        other => write_field(other, out),
    }
}
