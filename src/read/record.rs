//! The owned record every format is read back into.

use std::fmt;

use crate::capture::render::write_value;
use crate::capture::value_view::{key_text, Shape, ValueView};
use crate::record::ValueRef;
use crate::Level;

/// One record read back from a segment, whatever its format.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// When the event was captured, in nanoseconds since the Unix epoch (UTC).
    pub ts: u64,
    /// The event's level.
    pub level: Level,
    /// The record's sequence number in its stream.
    pub seq: u64,
    /// Who caused the event, if the event names anyone.
    pub actor: Option<FieldValue>,
    /// The target: the call's `target:` or its module path.
    pub target: String,
    /// The rendered message.
    pub msg: String,
    /// The key-value fields, in the order the call gave them.
    pub fields: Vec<(String, FieldValue)>,
    /// The source file of the call.
    pub file: String,
    /// The source line of the call.
    pub line: u32,
    /// The logging thread's name, or its number.
    pub thread: String,
    /// The innermost span the event was captured in, if any.
    pub span: Option<crate::SpanContext>,
}

impl LogRecord {
    /// The value of the field named `key`.
    pub fn field(&self, key: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The timings of a span record (the record a span writes when it closes, told apart
    /// by its fields `span.start_ns`, `span.end_ns`, `span.busy_ns` and `span.idle_ns`,
    /// all unsigned integers); `None` for any other record.
    pub fn span_timing(&self) -> Option<crate::SpanTiming> {
        let [start, end, busy, idle] =
            crate::span_timer::CLOSE_FIELDS.map(|name| match self.field(name) {
                Some(FieldValue::U64(n)) => Some(*n),
                _ => None,
            });
        Some(crate::SpanTiming {
            start_ns: start?,
            end_ns: end?,
            busy_ns: busy?,
            idle_ns: idle?,
        })
    }

    /// A record with nothing in it yet, for the decoders to fill.
    pub(crate) fn blank() -> LogRecord {
        LogRecord {
            ts: 0,
            level: Level::Info,
            seq: 0,
            actor: None,
            target: String::new(),
            msg: String::new(),
            fields: Vec::new(),
            file: String::new(),
            line: 0,
            thread: String::new(),
            span: None,
        }
    }

    /// The timestamp as the files write it: RFC 3339, UTC, nine fraction digits.
    pub fn ts_rfc3339(&self) -> String {
        crate::format::time::rfc3339(self.ts)
    }
}

/// A field or actor value read back.
///
/// Numbers are normalised the same way for every format, so records compare equal
/// whichever format they went through: a non-negative integer is always `U64` (or `U128`
/// when larger), a negative one `I64` (or `I128`), and every float `F64` (a 32-bit float
/// becomes the `f64` with the same shortest decimal form, `0.1_f32` becoming `0.1`; see
/// [`FieldValue::from_f32`]).
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// An absent value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A negative integer.
    I64(i64),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer below `i64::MIN`.
    I128(i128),
    /// A non-negative integer above `u64::MAX`.
    U128(u128),
    /// A float.
    F64(f64),
    /// A string (characters and IP addresses too).
    Str(String),
    /// Raw bytes (formats that cannot tell them apart read them as a sequence of numbers).
    Bytes(Vec<u8>),
    /// A sequence.
    Seq(Vec<FieldValue>),
    /// A map, in its order.
    Map(Vec<(String, FieldValue)>),
}

impl FieldValue {
    /// An integer in its normal form.
    pub fn int(v: i128) -> FieldValue {
        if v < 0 {
            i64::try_from(v).map_or(FieldValue::I128(v), FieldValue::I64)
        } else {
            u64::try_from(v).map_or(FieldValue::U128(v as u128), FieldValue::U64)
        }
    }

    /// The value a 32-bit float reads back as: the `f64` with the same shortest decimal
    /// form as the writers print it.
    pub fn from_f32(v: f32) -> FieldValue {
        FieldValue::F64(crate::capture::render::f32_as_f64(v))
    }

    /// The value a captured [`ValueRef`] reads back as.
    pub fn from_captured(value: ValueRef<'_>) -> FieldValue {
        match value {
            ValueRef::Null | ValueRef::Invalid => FieldValue::Null,
            ValueRef::Bool(b) => FieldValue::Bool(b),
            ValueRef::I64(v) => FieldValue::int(v.into()),
            ValueRef::U64(v) => FieldValue::int(v.into()),
            ValueRef::I128(v) => FieldValue::int(v),
            ValueRef::U128(v) => i128::try_from(v).map_or(FieldValue::U128(v), FieldValue::int),
            ValueRef::F32(v) => FieldValue::F64(crate::capture::render::f32_as_f64(v)),
            ValueRef::F64(v) => FieldValue::F64(v),
            ValueRef::Char(c) => FieldValue::Str(c.to_string()),
            ValueRef::Str(s) => FieldValue::Str(s.to_owned()),
            ValueRef::Bytes(b) => FieldValue::Bytes(b.to_vec()),
            ValueRef::Ip(ip) => FieldValue::Str(ip.to_string()),
            ValueRef::Seq(nested) => {
                FieldValue::Seq(nested.iter().map(FieldValue::from_captured).collect())
            }
            ValueRef::Map(nested) => FieldValue::Map(
                nested
                    .entries()
                    .map(|(k, v)| (key_text(k).into_owned(), FieldValue::from_captured(v)))
                    .collect(),
            ),
        }
    }

    /// Makes this value the one `value` reads back as, reusing the string it holds, and
    /// writing a number over one of the same kind in place.
    #[inline(always)]
    pub(crate) fn set_captured(&mut self, value: ValueRef<'_>) {
        match (value, &mut *self) {
            (ValueRef::Str(s), FieldValue::Str(held)) => {
                held.clear();
                held.push_str(s);
            }
            (ValueRef::U64(v), FieldValue::U64(held)) => *held = v,
            (ValueRef::I64(v), FieldValue::I64(held)) if v < 0 => *held = v,
            (ValueRef::F64(v), FieldValue::F64(held)) => *held = v,
            (ValueRef::Bool(v), FieldValue::Bool(held)) => *held = v,
            _ => self.replace_with(value),
        }
    }

    /// Out of line: a value of another kind than the one held, seldom met in a stream.
    #[inline(never)]
    fn replace_with(&mut self, value: ValueRef<'_>) {
        *self = FieldValue::from_captured(value);
    }
}

/// A value read back goes to the encoders and the rendering as the captured value of the
/// same type would.
impl<'a> ValueView<'a> for &'a FieldValue {
    type Items = std::slice::Iter<'a, FieldValue>;
    type Entries = std::iter::Map<
        std::slice::Iter<'a, (String, FieldValue)>,
        fn(&'a (String, FieldValue)) -> (ValueRef<'a>, &'a FieldValue),
    >;

    fn shape(self) -> Shape<'a, Self> {
        Shape::Scalar(match self {
            FieldValue::Null => ValueRef::Null,
            FieldValue::Bool(b) => ValueRef::Bool(*b),
            FieldValue::I64(n) => ValueRef::I64(*n),
            FieldValue::U64(n) => ValueRef::U64(*n),
            FieldValue::I128(n) => ValueRef::I128(*n),
            FieldValue::U128(n) => ValueRef::U128(*n),
            FieldValue::F64(f) => ValueRef::F64(*f),
            FieldValue::Str(s) => ValueRef::Str(s),
            FieldValue::Bytes(b) => ValueRef::Bytes(b),
            FieldValue::Seq(items) => return Shape::Seq(items.iter()),
            FieldValue::Map(entries) => {
                let entries: Self::Entries = entries.iter().map(|(k, v)| (ValueRef::Str(k), v));
                return Shape::Map(entries);
            }
        })
    }
}

/// The text every value type shares (see `capture::render`): strings as they are at the
/// top, quoted inside a sequence or map.
impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, self, false)
    }
}

/// Reads any self-describing serde format (JSON here) into a `FieldValue`, keeping the
/// order of map entries and normalising numbers.
impl<'de> serde::Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if EXACT.with(|e| e.get()) {
            // Only trail's own JSON decoding sets this, and only with serde_json underneath.
            let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
            return from_text(raw.get());
        }
        deserializer.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl<'de> serde::de::Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_unit<E>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }
    fn visit_none<E>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<FieldValue, D::Error> {
        serde::Deserialize::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<FieldValue, E> {
        Ok(FieldValue::U64(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<FieldValue, E> {
        Ok(FieldValue::int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<FieldValue, E> {
        Ok(i128::try_from(v).map_or(FieldValue::U128(v), FieldValue::int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<FieldValue, E> {
        if may_have_lost_digits(v) {
            LOSSY.with(|l| l.set(true));
        }
        Ok(FieldValue::F64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<FieldValue, E> {
        Ok(FieldValue::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<FieldValue, E> {
        Ok(FieldValue::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<FieldValue, E> {
        Ok(FieldValue::Bytes(v.to_vec()))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(FieldValue::Seq(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FieldValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, FieldValue>()? {
            entries.push(entry);
        }
        Ok(FieldValue::Map(entries))
    }
}

// Integers beyond 64 bits. serde_json hands the visitor a number that does not fit `u64`
// or `i64` as an `f64`, which loses digits. Its `arbitrary_precision` feature would hand
// over the digits instead, but it changes serde_json for every crate in the program (it
// breaks untagged and internally tagged enums that hold numbers), so a library cannot turn
// it on. Instead the visitor notes when it is given an integral float too large for 64
// bits, and [`exact_numbers`] then decodes the record a second time, reading each value
// from its JSON text. Records without such numbers, nearly all of them, are decoded once.
std::thread_local! {
    /// Set while a record is decoded the second, exact way.
    static EXACT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set when a value may have lost digits.
    static LOSSY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `decode`, and runs it again reading numbers from their text if the first run
/// succeeded but was given an integral float beyond 64 bits (an integer serde_json could
/// not hold). Only a record that decoded is decoded again, so the second run meets only
/// input that the first one found well formed and within serde_json's nesting limit.
pub(crate) fn exact_numbers<T, E>(mut decode: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    LOSSY.with(|l| l.set(false));
    let first = decode();
    if !LOSSY.with(|l| l.replace(false)) || first.is_err() {
        return first;
    }
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            EXACT.with(|e| e.set(false));
            LOSSY.with(|l| l.set(false));
        }
    }
    let _reset = Reset;
    EXACT.with(|e| e.set(true));
    decode()
}

/// Whether `v` may be an integer that lost digits on its way here.
fn may_have_lost_digits(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() >= 9_223_372_036_854_775_808.0
}

/// A value read from its JSON text: numbers exactly, containers item by item.
fn from_text<E: serde::de::Error>(text: &str) -> Result<FieldValue, E> {
    let text = text.trim();
    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return number(text).ok_or_else(|| E::custom(format_args!("invalid number {text}")));
    }
    // Containers go through the visitor, whose items come back here one by one.
    let mut de = serde_json::Deserializer::from_str(text);
    let value =
        serde::Deserializer::deserialize_any(&mut de, FieldValueVisitor).map_err(E::custom)?;
    de.end().map_err(E::custom)?;
    Ok(value)
}

/// A JSON number's text as a value: an integer exactly when it is one that fits 128 bits,
/// a float otherwise.
fn number(digits: &str) -> Option<FieldValue> {
    if !digits.contains(['.', 'e', 'E']) {
        let exact = match digits.strip_prefix('-') {
            Some(_) => digits.parse::<i128>().ok().map(FieldValue::int),
            None => digits
                .parse::<u128>()
                .ok()
                .map(|v| i128::try_from(v).map_or(FieldValue::U128(v), FieldValue::int)),
        };
        if exact.is_some() {
            return exact;
        }
    }
    digits
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(FieldValue::F64)
}
