//! JSON lines: one object per record, canonical keys in a fixed order.
//!
//! `{"ts":…,"level":…,"seq":…,"actor":…,"target":…,"msg":…,"fields":{…},"file":…,"line":…,"thread":…}`
//! followed by `\n`. Strings are escaped per RFC 8259 (control characters included);
//! numbers stay numbers. `docs/FORMAT.md` is the contract.

use std::fmt::Write as _;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::{append, Encoder, Text};
use crate::record::{Nested, ValueRef};
pub(crate) use crate::timefmt::{rfc3339, TimestampCache};
use crate::{Metadata, Piece, Record};

// Nested values deeper than this are cut with a marker, so that a pathological value
// cannot exhaust the writer thread's stack.
use crate::limits::MAX_DEPTH;

/// Which field names a JSON line uses.
///
/// ```
/// let profile: trail::JsonProfile = "otel".parse().unwrap();
/// assert_eq!(profile, trail::JsonProfile::OpenTelemetry);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonProfile {
    /// trail's canonical keys: `ts`, `level`, `seq`, `actor`, `target`, `msg`, `fields`, ...
    #[default]
    Canonical,
    /// The OpenTelemetry log data model's names: `timeUnixNano`, `severityNumber`,
    /// `severityText`, `body`, `attributes` (with `user.id`, `code.file.path`, ...).
    OpenTelemetry,
    /// Elastic Common Schema names: `@timestamp`, `log.level`, `message`, `user.id`,
    /// `log.logger`, `log.origin.file.name`, `event.sequence`, ...
    Ecs,
}

impl std::str::FromStr for JsonProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "canonical" | "trail" => Ok(JsonProfile::Canonical),
            "otel" | "opentelemetry" => Ok(JsonProfile::OpenTelemetry),
            "ecs" => Ok(JsonProfile::Ecs),
            _ => Err(format!(
                "unknown JSON profile {s:?}: expected canonical, otel or ecs"
            )),
        }
    }
}

/// The ECS version the `Ecs` profile follows.
pub(crate) const ECS_VERSION: &str = "8.11.0";

#[derive(Default)]
pub(crate) struct JsonEncoder {
    text: Text,
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
            write_str(self.text.thread(thread), &mut end);
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
        self.text.clock.write(record.timestamp_nanos(), out);
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
            self.text.message.clear();
            let _ =
                crate::record::write_message(meta.pieces(), actor, &values, &mut self.text.message);
            write_str(&self.text.message, out);
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

    fn otel(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        let meta = record.metadata();
        let values = self.text.decode(record);
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
        write_str(self.text.message(&values), out);
        out.extend_from_slice(b",\"attributes\":{");
        if let Some(actor) = values.actor() {
            out.extend_from_slice(b"\"user.id\":");
            write_value(actor, out, 0);
            out.push(b',');
        }
        // A field named like one of the attributes written here is marked, so that no
        // key repeats and none is read back as the attribute.
        values.each_field(|_, name, value| {
            write_str(&crate::read::otel_attribute(name), out);
            out.push(b':');
            write_value(*value, out, 0);
            out.push(b',');
        });
        out.extend_from_slice(b"\"code.file.path\":");
        write_str(meta.file(), out);
        out.extend_from_slice(b",\"code.line.number\":");
        out.extend_from_slice(itoa::Buffer::new().format(meta.line()).as_bytes());
        out.extend_from_slice(b",\"thread.name\":");
        write_str(self.text.thread(record.thread_id()), out);
        out.extend_from_slice(b",\"trail.seq\":");
        out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
        out.extend_from_slice(b"},\"instrumentationScope\":{\"name\":");
        write_str(meta.target(), out);
        out.extend_from_slice(b"}}\n");
    }

    fn ecs(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        let meta = record.metadata();
        let values = self.text.decode(record);
        out.extend_from_slice(b"{\"@timestamp\":\"");
        self.text.clock.write(record.timestamp_nanos(), out);
        out.extend_from_slice(b"\",\"log.level\":\"");
        out.extend_from_slice(meta.level().as_str().as_bytes());
        out.extend_from_slice(b"\",\"message\":");
        write_str(self.text.message(&values), out);
        if let Some(actor) = values.actor() {
            out.extend_from_slice(b",\"user.id\":");
            write_value(actor, out, 0);
        }
        out.extend_from_slice(b",\"log.logger\":");
        write_str(meta.target(), out);
        out.extend_from_slice(b",\"fields\":{");
        Self::fields(&values, out);
        out.extend_from_slice(b"},\"log.origin.file.name\":");
        write_str(meta.file(), out);
        out.extend_from_slice(b",\"log.origin.file.line\":");
        out.extend_from_slice(itoa::Buffer::new().format(meta.line()).as_bytes());
        out.extend_from_slice(b",\"process.thread.name\":");
        write_str(self.text.thread(record.thread_id()), out);
        out.extend_from_slice(b",\"event.sequence\":");
        out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
        out.extend_from_slice(b",\"ecs.version\":\"");
        out.extend_from_slice(ECS_VERSION.as_bytes());
        out.extend_from_slice(b"\"}\n");
    }
}

impl Encoder for JsonEncoder {
    fn set_secrets(&mut self, secrets: std::sync::Arc<[String]>) {
        self.text.secrets = secrets;
    }

    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        match self.profile {
            JsonProfile::Canonical => {}
            JsonProfile::OpenTelemetry => return self.otel(record, seq, out),
            JsonProfile::Ecs => return self.ecs(record, seq, out),
        }
        if self.text.secrets.is_empty() && self.canonical_plain(record, seq, out) {
            return;
        }
        // Scope fields, secrets or a damaged payload: the values are decoded first; the
        // call site's fixed parts are the same.
        let values = self.text.decode(record);
        append(out, b"{\"ts\":\"");
        self.text.clock.write(record.timestamp_nanos(), out);
        let site = self.sites.get(record.metadata());
        append(out, site.level);
        write_int(seq, out);
        if let Some(actor) = values.actor() {
            append(out, b",\"actor\":");
            write_value(actor, out, 0);
        }
        append(out, &site.target);
        if !site.literal {
            write_str(self.text.message(&values), out);
            append(out, b",\"fields\":{");
        }
        Self::fields(&values, out);
        append(out, &site.tail);
        let end = self.thread_end(record.thread_id());
        append(out, end);
    }
}

/// Writes a JSON string, escaped as serde_json escapes it.
#[inline]
pub(crate) fn write_str(s: &str, out: &mut Vec<u8>) {
    // Most strings need no escape: copied between quotes, as serde_json would write them.
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        let n = bytes.len();
        if n > 32 {
            out.reserve(n + 2);
            out.push(b'"');
            out.extend_from_slice(bytes);
            out.push(b'"');
        } else {
            out.reserve(n + 2);
            let len = out.len();
            let dst = &mut out.spare_capacity_mut()[..n + 2];
            dst[0].write(b'"');
            crate::payload::write_uninit(&mut dst[1..=n], bytes);
            dst[n + 1].write(b'"');
            // SAFETY: the capacity holds `len + n + 2` bytes, all of them now written.
            unsafe { out.set_len(len + n + 2) };
        }
        return;
    }
    // serde_json escapes per RFC 8259; serializing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Whether any byte is a control character, `"` or `\\`: eight bytes at a time.
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    /// Whether a byte of `w` is below 0x20, or is `"` or `\\`. Each test is exact for the
    /// word as a whole (the usual "has a zero byte" bit trick, for bytes below 128; a byte
    /// of 128 or more has its high bit set in `w` and is masked out by `!w`).
    #[inline(always)]
    fn special(w: u64) -> bool {
        let control = w.wrapping_sub(ONES * 0x20) & !w;
        let quote =
            (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'"')));
        let backslash =
            (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'\\')));
        (control | quote | backslash) & HIGH != 0
    }
    let word = |chunk: &[u8]| u64::from_ne_bytes(chunk.try_into().unwrap_or([b' '; 8]));
    if bytes.len() < 8 {
        let mut padded = [b' '; 8];
        padded[..bytes.len()].copy_from_slice(bytes);
        return special(u64::from_ne_bytes(padded));
    }
    let mut chunks = bytes.chunks_exact(8);
    if chunks.by_ref().any(|chunk| special(word(chunk))) {
        return true;
    }
    // The last eight bytes, overlapping bytes already checked.
    !chunks.remainder().is_empty() && special(word(&bytes[bytes.len() - 8..]))
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
        ValueRef::F32(v) => write_float(v, v.is_finite(), v.is_nan(), v.is_sign_negative(), out),
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
        ValueRef::Seq(nested) => write_nested(nested, false, out, depth),
        ValueRef::Map(nested) => write_nested(nested, true, out, depth),
    }
}

fn write_nested(nested: Nested<'_>, map: bool, out: &mut Vec<u8>, depth: usize) {
    if depth >= MAX_DEPTH {
        write_str("[nested deeper than 64 levels]", out);
        return;
    }
    out.push(if map { b'{' } else { b'[' });
    let mut items = nested.iter();
    let mut first = true;
    while let Some(item) = items.next() {
        if !first {
            out.push(b',');
        }
        first = false;
        if map {
            write_key(item, out);
            out.push(b':');
            write_value(items.next().unwrap_or(ValueRef::Null), out, depth + 1);
        } else {
            write_value(item, out, depth + 1);
        }
    }
    out.push(if map { b'}' } else { b']' });
}

/// Object keys must be strings; the serializer already made them so.
fn write_key(key: ValueRef<'_>, out: &mut Vec<u8>) {
    match key {
        ValueRef::Str(s) => write_str(s, out),
        other => write_str(&other.to_string(), out),
    }
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

    static LITERAL: crate::Metadata = crate::Metadata::new(
        crate::Level::Info,
        "shop",
        "trail::encode::json",
        file!(),
        line!(),
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
        let mut record = Record::new(&ARGS, 1_795_471_572_123_456_789, 1);
        record.set_actor_flag();
        let mut payload = record.payload_mut();
        let _ = crate::Capture::new(&mut payload).str("ana \"b\"");
        let _ = crate::Capture::new(&mut payload).f64(9.5);
        let _ = crate::Capture::new(&mut payload).str("é\n\u{1f600}");
        let _ = crate::Capture::new(&mut payload).bool(true);
        let _ = crate::Capture::new(&mut payload).u64(3);
        drop(payload);
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

#[cfg(test)]
mod escape_tests {
    use proptest::prelude::*;

    proptest! {
        /// The copy-through path writes exactly what serde_json writes, escapes or not.
        #[test]
        fn strings_are_written_as_serde_json_writes_them(s in "(\\PC|[\"\\\\\\x00-\\x1f\\x7f\\u{2028}])*") {
            let mut ours = Vec::new();
            super::write_str(&s, &mut ours);
            prop_assert_eq!(ours, serde_json::to_vec(&s).unwrap());
        }
    }
}
