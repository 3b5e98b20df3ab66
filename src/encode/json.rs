//! JSON lines: one object per record, canonical keys in a fixed order.
//!
//! `{"ts":…,"level":…,"seq":…,"actor":…,"target":…,"msg":…,"fields":{…},"file":…,"line":…,"thread":…}`
//! followed by `\n`. Strings are escaped per RFC 8259 (control characters included);
//! numbers stay numbers. `docs/FORMAT.md` is the contract.

use std::fmt::Write as _;

use super::{Encoder, Text};
use crate::record::{Nested, ValueRef};
pub(crate) use crate::timefmt::{rfc3339, TimestampCache};
use crate::Record;

/// How deep nested values are written before the rest is cut with a marker, so that a
/// pathological value cannot exhaust the writer thread's stack.
const MAX_DEPTH: usize = 64;

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
}

impl JsonEncoder {
    pub(crate) fn new(profile: JsonProfile) -> Self {
        JsonEncoder {
            text: Text::default(),
            profile,
        }
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
        Self::fields(&values, out);
        if values.fields().next().is_some() {
            out.push(b',');
        }
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
        let meta = record.metadata();
        let values = self.text.decode(record);

        out.extend_from_slice(b"{\"ts\":\"");
        self.text.clock.write(record.timestamp_nanos(), out);
        out.extend_from_slice(b"\",\"level\":\"");
        out.extend_from_slice(meta.level().as_str().as_bytes());
        out.extend_from_slice(b"\",\"seq\":");
        out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
        if let Some(actor) = values.actor() {
            out.extend_from_slice(b",\"actor\":");
            write_value(actor, out, 0);
        }
        out.extend_from_slice(b",\"target\":");
        write_str(meta.target(), out);
        out.extend_from_slice(b",\"msg\":");
        write_str(self.text.message(&values), out);
        out.extend_from_slice(b",\"fields\":{");
        Self::fields(&values, out);
        out.extend_from_slice(b"},\"file\":");
        write_str(meta.file(), out);
        out.extend_from_slice(b",\"line\":");
        out.extend_from_slice(itoa::Buffer::new().format(meta.line()).as_bytes());
        out.extend_from_slice(b",\"thread\":");
        write_str(self.text.thread(record.thread_id()), out);
        out.extend_from_slice(b"}\n");
    }
}

pub(crate) fn write_str(s: &str, out: &mut Vec<u8>) {
    // Most strings need no escape: copied between quotes, as serde_json would write them.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // serde_json escapes per RFC 8259; serializing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn write_int(v: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn write_float(v: impl ryu::Float, finite: bool, nan: bool, negative: bool, out: &mut Vec<u8>) {
    if finite {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
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
