//! JSON lines: one object per record, canonical keys in a fixed order.
//!
//! `{"ts":…,"level":…,"seq":…,"actor":…,"target":…,"msg":…,"fields":{…},"file":…,"line":…,"thread":…}`
//! followed by `\n`. Strings are escaped per RFC 8259 (control characters included);
//! numbers stay numbers. `docs/FORMAT.md` is the contract.

use std::fmt::Write as _;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::{append, EncodeContext, Encoder, RecordView};
use crate::capture::value_view::{key_text, Shape, ValueView};
use crate::format::json::{
    otel_attribute, write_str, JsonProfile, ECS_VERSION, OTEL_PARENT_ID, OTEL_SPAN_NAME,
};
use crate::format::time::TimestampCache;
use crate::record::ValueRef;
use crate::span::{put_hex, SpanRef};
use crate::{Metadata, Piece, Record};

// Nested values deeper than this are cut with a marker, so that a pathological value
// cannot exhaust the writer thread's stack.
use crate::limits::MAX_DEPTH;

#[derive(Default)]
pub(crate) struct JsonEncoder {
    context: EncodeContext,
    profile: JsonProfile,
    /// The canonical line's fixed parts, by call site.
    sites: Sites,
    /// The thread written last and the end of its lines: `"name"}` and the newline.
    last_thread: Option<(u64, Vec<u8>)>,
}

/// The parts of a canonical line that only the call site decides, escaped once.
struct Site {
    /// `","level":"info","seq":`, after the timestamp.
    level: &'static [u8],
    /// `,"target":"…","msg":`, and when the message is only text, that text and
    /// `,"fields":{` too.
    target: Box<[u8]>,
    /// Whether the message takes no value, so that `target` holds it.
    literal: bool,
    /// `"name":` for each field, with a comma before all but the first, one after another.
    keys: Box<[u8]>,
    /// Where each key ends in `keys`.
    key_ends: Box<[u32]>,
    /// `},"file":"…","line":N,"thread":`.
    tail: Box<[u8]>,
}

impl Site {
    fn new(meta: &'static Metadata) -> Site {
        let mut target = b",\"target\":".to_vec();
        write_str(meta.target(), &mut target);
        target.extend_from_slice(b",\"msg\":");
        let literal = match meta.pieces() {
            [] => Some(""),
            [Piece::Lit(text)] => Some(*text),
            _ => None,
        };
        if let Some(text) = literal {
            write_str(text, &mut target);
            target.extend_from_slice(b",\"fields\":{");
        }
        let mut keys = Vec::new();
        let mut key_ends = Vec::new();
        for (i, name) in meta.fields().iter().enumerate() {
            if i > 0 {
                keys.push(b',');
            }
            write_str(name, &mut keys);
            keys.push(b':');
            key_ends.push(keys.len() as u32);
        }
        let mut tail = b"},\"file\":".to_vec();
        write_str(meta.file(), &mut tail);
        tail.extend_from_slice(b",\"line\":");
        tail.extend_from_slice(itoa::Buffer::new().format(meta.line()).as_bytes());
        tail.extend_from_slice(b",\"thread\":");
        Site {
            level: LEVELS[meta.level() as usize - 1],
            target: target.into(),
            literal: literal.is_some(),
            keys: keys.into(),
            key_ends: key_ends.into(),
            tail: tail.into(),
        }
    }

    /// The key of field `i`, with its comma and colon.
    #[inline]
    fn key(&self, i: usize) -> &[u8] {
        let start = match i {
            0 => 0,
            _ => self.key_ends[i - 1] as usize,
        };
        &self.keys[start..self.key_ends[i] as usize]
    }
}

/// The text between the timestamp and the sequence number, by level (trace first).
const LEVELS: [&[u8]; 6] = [
    b"\",\"level\":\"trace\",\"seq\":",
    b"\",\"level\":\"debug\",\"seq\":",
    b"\",\"level\":\"info\",\"seq\":",
    b"\",\"level\":\"warn\",\"seq\":",
    b"\",\"level\":\"error\",\"seq\":",
    b"\",\"level\":\"fatal\",\"seq\":",
];

/// Call sites met so far, with the last one at hand: records come in runs from one site.
#[derive(Default)]
struct Sites {
    all: Vec<Site>,
    /// Index in `all` by metadata address.
    index: FxHashMap<usize, usize>,
    /// The metadata address and index of the last site asked for.
    last: Option<(usize, usize)>,
}

impl Sites {
    #[inline]
    fn get(&mut self, meta: &'static Metadata) -> &Site {
        let address = meta as *const Metadata as usize;
        let at = match self.last {
            Some((last, at)) if last == address => at,
            _ => self.find(meta, address),
        };
        &self.all[at]
    }

    #[cold]
    fn find(&mut self, meta: &'static Metadata, address: usize) -> usize {
        let all = &mut self.all;
        let at = *self.index.entry(address).or_insert_with(|| {
            all.push(Site::new(meta));
            all.len() - 1
        });
        self.last = Some((address, at));
        at
    }
}

impl JsonEncoder {
    pub(crate) fn new(profile: JsonProfile) -> Self {
        JsonEncoder {
            profile,
            ..JsonEncoder::default()
        }
    }

    /// The end of a line for the thread: its name as a JSON string, `}` and the newline.
    #[inline]
    fn thread_end(&mut self, thread: u64) -> &[u8] {
        if self.last_thread.as_ref().map(|(id, _)| *id) != Some(thread) {
            let mut end = Vec::new();
            write_str(self.context.thread(thread), &mut end);
            end.extend_from_slice(b"}\n");
            self.last_thread = Some((thread, end));
        }
        self.last_thread.as_ref().map_or(&[], |(_, end)| end)
    }

    /// The canonical line of a record with no secrets to hide and no scope fields, written
    /// from the payload as it is read. Returns false, having written nothing, for a
    /// damaged payload, which the path through `Decoded` writes instead.
    #[inline]
    fn canonical_plain(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) -> bool {
        let Some(mut reader) = record.plain_values() else {
            return false;
        };
        let meta = record.metadata();
        let start = out.len();
        out.reserve(192 + 2 * record.payload_len());
        append(out, b"{\"ts\":\"");
        self.context.clock.write(record.timestamp_nanos(), out);
        let site = self.sites.get(meta);
        append(out, site.level);
        write_int(seq, out);
        let actor = if record.has_actor() {
            let actor = reader.next().unwrap_or(ValueRef::Invalid);
            append(out, b",\"actor\":");
            write_value(actor, out, 0);
            Some(actor)
        } else {
            None
        };
        append(out, &site.target);
        if site.literal {
            for i in 0..site.key_ends.len() {
                append(out, site.key(i));
                write_value(reader.next().unwrap_or(ValueRef::Invalid), out, 0);
            }
            // Values the line does not show; read only to find damage.
            for _ in reader.by_ref() {}
        } else {
            let values: SmallVec<[ValueRef<'_>; 8]> = reader.by_ref().collect();
            if reader.damaged() {
                out.truncate(start);
                return false;
            }
            self.context.message.clear();
            let _ = crate::record::write_message(
                meta.pieces(),
                actor,
                &values,
                &mut self.context.message,
            );
            write_str(&self.context.message, out);
            append(out, b",\"fields\":{");
            for i in 0..site.key_ends.len() {
                append(out, site.key(i));
                write_value(values.get(i).copied().unwrap_or(ValueRef::Invalid), out, 0);
            }
        }
        if reader.damaged() {
            out.truncate(start);
            return false;
        }
        append(out, &site.tail);
        let end = self.thread_end(record.thread_id());
        append(out, end);
        true
    }

    /// `{"k":v,...}` for the event's fields, without the braces.
    fn fields(values: &crate::record::Decoded<'_>, out: &mut Vec<u8>) {
        values.each_field(|i, name, value| {
            if i > 0 {
                out.push(b',');
            }
            write_str(name, out);
            out.push(b':');
            write_value(*value, out, 0);
        });
    }

    /// Writes the record's file, line, thread name and seq, each after its key in `keys`
    /// (with the separator before it): the profiles name them differently.
    fn place(&mut self, keys: [&[u8]; 4], record: &Record, seq: u64, out: &mut Vec<u8>) {
        let meta = record.metadata();
        out.extend_from_slice(keys[0]);
        write_str(meta.file(), out);
        out.extend_from_slice(keys[1]);
        write_int(meta.line(), out);
        out.extend_from_slice(keys[2]);
        write_str(self.context.thread(record.thread_id()), out);
        out.extend_from_slice(keys[3]);
        write_int(seq, out);
    }

    fn otel(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        let meta = record.metadata();
        let values = self.context.decode(record);
        out.extend_from_slice(b"{\"timeUnixNano\":\"");
        out.extend_from_slice(
            itoa::Buffer::new()
                .format(record.timestamp_nanos())
                .as_bytes(),
        );
        out.extend_from_slice(b"\",\"severityNumber\":");
        out.extend_from_slice(
            itoa::Buffer::new()
                .format(meta.level().severity_number())
                .as_bytes(),
        );
        out.extend_from_slice(b",\"severityText\":\"");
        out.extend_from_slice(meta.level().as_str().to_ascii_uppercase().as_bytes());
        out.extend_from_slice(b"\",\"body\":");
        write_str(self.context.message(&values), out);
        let span = record.span_ref();
        if let Some(span) = span {
            // Where the OpenTelemetry log data model puts them: hex, at the top level.
            out.extend_from_slice(b",\"traceId\":\"");
            put_hex(&span.trace_id, out);
            out.extend_from_slice(b"\",\"spanId\":\"");
            put_hex(&span.span_id, out);
            out.push(b'"');
        }
        out.extend_from_slice(b",\"attributes\":{");
        if let Some(actor) = values.actor() {
            out.extend_from_slice(b"\"user.id\":");
            write_value(actor, out, 0);
            out.push(b',');
        }
        // A field named like one of the attributes written here is marked, so that no
        // key repeats and none is read back as the attribute.
        values.each_field(|_, name, value| {
            write_str(&otel_attribute(name), out);
            out.push(b':');
            write_value(*value, out, 0);
            out.push(b',');
        });
        self.place(
            [
                b"\"code.file.path\":",
                b",\"code.line.number\":",
                b",\"thread.name\":",
                b",\"trail.seq\":",
            ],
            record,
            seq,
            out,
        );
        if let Some(span) = span {
            out.push(b',');
            write_str(OTEL_SPAN_NAME, out);
            out.push(b':');
            write_str(span.name, out);
            if span.has_parent() {
                out.push(b',');
                write_str(OTEL_PARENT_ID, out);
                out.extend_from_slice(b":\"");
                put_hex(&span.parent_id, out);
                out.push(b'"');
            }
        }
        out.extend_from_slice(b"},\"instrumentationScope\":{\"name\":");
        write_str(meta.target(), out);
        out.extend_from_slice(b"}}\n");
    }

    fn ecs(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        let meta = record.metadata();
        let values = self.context.decode(record);
        out.extend_from_slice(b"{\"@timestamp\":\"");
        self.context.clock.write(record.timestamp_nanos(), out);
        out.extend_from_slice(b"\",\"log.level\":\"");
        out.extend_from_slice(meta.level().as_str().as_bytes());
        out.extend_from_slice(b"\",\"message\":");
        write_str(self.context.message(&values), out);
        if let Some(actor) = values.actor() {
            out.extend_from_slice(b",\"user.id\":");
            write_value(actor, out, 0);
        }
        out.extend_from_slice(b",\"log.logger\":");
        write_str(meta.target(), out);
        out.extend_from_slice(b",\"fields\":{");
        Self::fields(&values, out);
        self.place(
            [
                b"},\"log.origin.file.name\":",
                b",\"log.origin.file.line\":",
                b",\"process.thread.name\":",
                b",\"event.sequence\":",
            ],
            record,
            seq,
            out,
        );
        if let Some(span) = record.span_ref() {
            write_span(span, &ECS_SPAN_KEYS, out);
        }
        out.extend_from_slice(b",\"ecs.version\":\"");
        out.extend_from_slice(ECS_VERSION.as_bytes());
        out.extend_from_slice(b"\"}\n");
    }
}

impl Encoder for JsonEncoder {
    fn set_secrets(&mut self, secrets: std::sync::Arc<[String]>) {
        self.context.secrets = secrets;
    }

    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        match self.profile {
            JsonProfile::Canonical => {}
            JsonProfile::OpenTelemetry => return self.otel(record, seq, out),
            JsonProfile::Ecs => return self.ecs(record, seq, out),
        }
        if self.context.secrets.is_empty() && self.canonical_plain(record, seq, out) {
            return;
        }
        // Scope fields, secrets or a damaged payload: the values are decoded first; the
        // call site's fixed parts are the same.
        let values = self.context.decode(record);
        append(out, b"{\"ts\":\"");
        self.context.clock.write(record.timestamp_nanos(), out);
        let site = self.sites.get(record.metadata());
        append(out, site.level);
        write_int(seq, out);
        if let Some(actor) = values.actor() {
            append(out, b",\"actor\":");
            write_value(actor, out, 0);
        }
        append(out, &site.target);
        if !site.literal {
            write_str(self.context.message(&values), out);
            append(out, b",\"fields\":{");
        }
        Self::fields(&values, out);
        append(out, &site.tail);
        let end = self.thread_end(record.thread_id());
        match record.span_ref() {
            None => append(out, end),
            Some(span) => {
                // The span context after the thread, before the line's end.
                append(out, &end[..end.len() - 2]);
                write_span(span, &SPAN_KEYS, out);
                append(out, b"}\n");
            }
        }
    }
}

/// The keys of a span's name and ids, in the order written: name, span id, parent id,
/// trace id.
type SpanKeys = [&'static str; 4];

/// The canonical profile's span keys.
const SPAN_KEYS: SpanKeys = ["span", "span_id", "parent_id", "trace_id"];

/// Elastic Common Schema's span keys.
const ECS_SPAN_KEYS: SpanKeys = ["span.name", "span.id", "span.parent_id", "trace.id"];

/// `,"NAME":…,"SPAN ID":…,"PARENT ID":…,"TRACE ID":…` under `keys`, the ids in hex, the
/// parent id only for a span that has a parent.
fn write_span(
    span: SpanRef<'_>,
    [name, span_id, parent_id, trace_id]: &SpanKeys,
    out: &mut Vec<u8>,
) {
    let hex = |key: &str, id: &[u8], out: &mut Vec<u8>| {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":\"");
        put_hex(id, out);
        out.push(b'"');
    };
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    write_str(span.name, out);
    hex(span_id, &span.span_id, out);
    if span.has_parent() {
        hex(parent_id, &span.parent_id, out);
    }
    hex(trace_id, &span.trace_id, out);
}

/// Writes `key` (with the separator before it and the colon after it), then `value` as a
/// JSON string.
fn write_key_str(key: &[u8], value: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(key);
    write_str(value, out);
}

/// Writes a record's canonical line from its parts. The writer writes the same line
/// from a call site's parts escaped once (`Site`); this serves records read back.
pub(crate) fn write_canonical<'a, V: ValueView<'a>>(
    clock: &mut TimestampCache,
    r: RecordView<'_, V, impl Iterator<Item = (&'a str, V)>>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"{\"ts\":\"");
    clock.write(r.ts, out);
    out.extend_from_slice(LEVELS[r.level as usize - 1]);
    write_int(r.seq, out);
    if let Some(actor) = r.actor {
        out.extend_from_slice(b",\"actor\":");
        write_any(actor, out, 0);
    }
    write_key_str(b",\"target\":", r.target, out);
    write_key_str(b",\"msg\":", r.msg, out);
    out.extend_from_slice(b",\"fields\":");
    write_fields(r.fields, out);
    write_key_str(b",\"file\":", r.file, out);
    out.extend_from_slice(b",\"line\":");
    write_int(r.line, out);
    write_key_str(b",\"thread\":", r.thread, out);
    if let Some(span) = r.span {
        write_span(span, &SPAN_KEYS, out);
    }
    out.extend_from_slice(b"}\n");
}

/// Writes key-values as a JSON object, in their order.
pub(crate) fn write_fields<'a, V: ValueView<'a>>(
    fields: impl Iterator<Item = (&'a str, V)>,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    for (i, (name, value)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(name, out);
        out.push(b':');
        write_any(value, out, 0);
    }
    out.push(b'}');
}

#[inline]
fn write_int(v: impl itoa::Integer, out: &mut Vec<u8>) {
    append(out, itoa::Buffer::new().format(v).as_bytes());
}

fn write_float(v: impl ryu::Float, finite: bool, nan: bool, negative: bool, out: &mut Vec<u8>) {
    if finite {
        append(out, ryu::Buffer::new().format_finite(v).as_bytes());
    } else if nan {
        out.extend_from_slice(b"\"NaN\"");
    } else if negative {
        out.extend_from_slice(b"\"-Infinity\"");
    } else {
        out.extend_from_slice(b"\"Infinity\"");
    }
}

/// A finite `f32` in the decimal form Rust's `Display` gives it, the form messages render
/// it in (ryu may choose the other of two equally short forms: `3725241.2` for
/// `3725241.3`), with `.0` added to a whole number so that it reads back as a float.
fn write_f32(v: f32, out: &mut Vec<u8>) {
    use std::io::Write as _;
    let start = out.len();
    let _ = write!(out, "{v}");
    if !out[start..].contains(&b'.') {
        out.extend_from_slice(b".0");
    }
}

/// Writes one value as JSON. Types are kept: integers and finite floats are numbers,
/// non-finite floats are the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, bytes are
/// an array of numbers, IP addresses are strings.
pub(crate) fn write_value(value: ValueRef<'_>, out: &mut Vec<u8>, depth: usize) {
    match value {
        ValueRef::Null | ValueRef::Invalid => out.extend_from_slice(b"null"),
        ValueRef::Bool(true) => out.extend_from_slice(b"true"),
        ValueRef::Bool(false) => out.extend_from_slice(b"false"),
        ValueRef::I64(v) => write_int(v, out),
        ValueRef::U64(v) => write_int(v, out),
        ValueRef::I128(v) => write_int(v, out),
        ValueRef::U128(v) => write_int(v, out),
        ValueRef::F64(v) => write_float(v, v.is_finite(), v.is_nan(), v.is_sign_negative(), out),
        ValueRef::F32(v) if v.is_finite() => write_f32(v, out),
        ValueRef::F32(v) => write_float(v, false, v.is_nan(), v.is_sign_negative(), out),
        ValueRef::Char(c) => write_str(c.encode_utf8(&mut [0; 4]), out),
        ValueRef::Str(s) => write_str(s, out),
        ValueRef::Bytes(bytes) => {
            out.push(b'[');
            for (i, b) in bytes.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_int(*b, out);
            }
            out.push(b']');
        }
        ValueRef::Ip(ip) => {
            let mut text = String::with_capacity(40);
            let _ = write!(text, "{ip}");
            write_str(&text, out);
        }
        ValueRef::Seq(_) | ValueRef::Map(_) => write_any(value, out, depth),
    }
}

/// Writes any value the encoders take as JSON: scalars as [`write_value`] does, and
/// sequences and maps item by item, cut with a marker past [`MAX_DEPTH`].
pub(crate) fn write_any<'a, V: ValueView<'a>>(value: V, out: &mut Vec<u8>, depth: usize) {
    match value.shape() {
        Shape::Scalar(scalar) => write_value(scalar, out, depth),
        _ if depth >= MAX_DEPTH => write_str("[nested deeper than 64 levels]", out),
        Shape::Seq(items) => write_items(b"[]", items.map(|item| (None, item)), out, depth),
        Shape::Map(entries) => {
            let entries = entries.map(|(key, value)| (Some(key), value));
            write_items(b"{}", entries, out, depth);
        }
    }
}

/// The items of a sequence, or the entries of a map with their keys, between `open` and
/// `close`.
fn write_items<'a, V: ValueView<'a>>(
    [open, close]: &[u8; 2],
    items: impl Iterator<Item = (Option<ValueRef<'a>>, V)>,
    out: &mut Vec<u8>,
    depth: usize,
) {
    out.push(*open);
    for (i, (key, value)) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if let Some(key) = key {
            write_str(&key_text(key), out);
            out.push(b':');
        }
        write_any(value, out, depth + 1);
    }
    out.push(*close);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: ValueRef<'_>) -> String {
        let mut out = Vec::new();
        write_value(value, &mut out, 0);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_keep_their_types() {
        assert_eq!(json(ValueRef::U64(u64::MAX)), "18446744073709551615");
        assert_eq!(json(ValueRef::I64(-3)), "-3");
        assert_eq!(json(ValueRef::F64(0.1)), "0.1");
        assert_eq!(json(ValueRef::F32(0.1)), "0.1");
        assert_eq!(json(ValueRef::F64(f64::NAN)), "\"NaN\"");
        assert_eq!(json(ValueRef::F64(f64::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(json(ValueRef::Bool(true)), "true");
        assert_eq!(json(ValueRef::Null), "null");
        assert_eq!(json(ValueRef::Char('"')), "\"\\\"\"");
        assert_eq!(json(ValueRef::Bytes(&[0, 255])), "[0,255]");
        assert_eq!(json(ValueRef::Ip("::1".parse().unwrap())), "\"::1\"");
    }

    static ARGS: crate::Metadata = crate::Metadata::new(
        crate::Level::Warn,
        "t\"arget",
        "trail::encode::json",
        file!(),
        line!(),
        "{actor} paid {0} for {q\\}",
        &["price", "n\u{1}ame", "ok"],
        &[
            Piece::Actor,
            Piece::Lit(" paid "),
            Piece::Display(0),
            Piece::Lit(" for "),
            Piece::Display(3),
        ],
    );

    static LITERAL: crate::Metadata = crate::Metadata::for_test(
        crate::Level::Info,
        "shop",
        "added \"it\"",
        &["price", "name"],
        &[Piece::Lit("added \"it\"")],
    );

    /// A line written from the payload, and the same line written through `Decoded` (a
    /// secret that names no field forces that path).
    fn both_ways(record: &Record) -> (String, String) {
        let mut fast = JsonEncoder::new(JsonProfile::Canonical);
        let mut slow = JsonEncoder::new(JsonProfile::Canonical);
        slow.set_secrets(std::sync::Arc::from(vec!["absent".to_owned()]));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for seq in [1, 300, u64::MAX] {
            fast.encode(record, seq, &mut a);
            slow.encode(record, seq, &mut b);
        }
        (String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap())
    }

    #[test]
    fn lines_from_the_payload_match_lines_from_decoded_values() {
        let record = Record::with_actor_and_values(
            &ARGS,
            1_795_471_572_123_456_789,
            1,
            &"ana \"b\"",
            &[&9.5_f64, &"é\n\u{1f600}", &true, &3_u64],
        );
        let (fast, slow) = both_ways(&record);
        assert_eq!(fast, slow);
        assert!(
            fast.contains(r#""msg":"ana \"b\" paid 9.5 for 3""#),
            "{fast}"
        );

        // Fewer values than fields: the missing ones are null either way.
        let mut record = Record::new(&LITERAL, 7, 2);
        let _ = crate::Capture::new(&mut record.payload_mut()).i64(-4);
        let (fast, slow) = both_ways(&record);
        assert_eq!(fast, slow);
        assert!(
            fast.contains(r#""msg":"added \"it\"","fields":{"price":-4,"name":null}"#),
            "{fast}"
        );
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(
            json(ValueRef::Str("a\"b\\c\nd\u{1}\u{7f}é")),
            "\"a\\\"b\\\\c\\nd\\u0001\u{7f}é\""
        );
    }
}
