//! Decoding the binary format: a frame's payload into a [`Frame`] that borrows its strings
//! from the payload, and records, with the segment's dictionary of call sites and threads,
//! into [`LogRecord`]s (a reused one keeps its buffers, so a record allocates nothing).
//!
//! The layout (header, framing, variant ids) is [`crate::format::binary`]'s;
//! `docs/FORMAT.md` specifies every byte.
//!
//! The file passes 800 lines because its last third is the tests of hostile frames (every
//! length, count, depth and definition id checked before it is trusted), which belong
//! beside the checks they prove.

use std::fmt;

use serde::Serialize;
use smallvec::SmallVec;

use super::record::{FieldValue, LogRecord};
use crate::capture::render::write_value;
use crate::capture::value_view::{Shape, ValueView};
use crate::format::binary::{frame, piece, variant, MAX_DEFINITIONS};
use crate::limits::MAX_DEPTH;
use crate::record::ValueRef;
use crate::Level;

/// One frame's payload as decoded, its strings borrowed from the payload. Its serde
/// encoding (variants in the order of their ids) is the reference that the tests pin the
/// format with.
#[derive(Debug, Serialize)]
pub(crate) enum Frame<'a> {
    /// Defines a call site for the rest of the segment.
    Callsite(Callsite),
    /// Names a thread for the rest of the segment.
    Thread { id: u32, name: &'a str },
    /// One record.
    Record(Record<'a>),
}

#[derive(Debug, Serialize)]
pub(crate) struct Callsite {
    pub(crate) id: u32,
    pub(crate) level: u8,
    pub(crate) target: String,
    pub(crate) module: String,
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) template: String,
    pub(crate) fields: Vec<String>,
    pub(crate) pieces: Vec<Piece>,
}

#[derive(Debug, Serialize)]
pub(crate) enum Piece {
    Lit(String),
    Arg(u32),
    Actor,
}

#[derive(Debug, Serialize)]
pub(crate) struct Record<'a> {
    pub(crate) callsite: u32,
    pub(crate) thread: u32,
    pub(crate) seq: u64,
    pub(crate) ts: u64,
    pub(crate) actor: Option<Value<'a>>,
    #[serde(serialize_with = "values_as_seq")]
    pub(crate) values: Values<'a>,
}

/// A record's own values: inline up to eight, so that a common record needs no heap.
pub(crate) type Values<'a> = SmallVec<[Value<'a>; 8]>;

fn values_as_seq<S: serde::Serializer>(values: &Values<'_>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter())
}

/// A value with its type, as captured; strings and bytes borrowed from the payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(u32),
    Str(&'a str),
    Bytes(&'a [u8]),
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
    Seq(Vec<Value<'a>>),
    Map(Vec<(&'a str, Value<'a>)>),
}

impl Value<'_> {
    /// Stores the value in `slot`, reusing the string `slot` already holds.
    fn store(&self, slot: &mut FieldValue) {
        // A number into a slot that holds one of the same kind is written in place: what
        // the slot held need not be dropped.
        match (self, &mut *slot) {
            (Value::Str(s), FieldValue::Str(held)) => {
                held.clear();
                held.push_str(s);
            }
            (Value::U64(v), FieldValue::U64(held)) => *held = *v,
            (Value::I64(v), FieldValue::I64(held)) if *v < 0 => *held = *v,
            (Value::F64(v), FieldValue::F64(held)) => *held = *v,
            (Value::Bool(v), FieldValue::Bool(held)) => *held = *v,
            _ => *slot = self.to_field(),
        }
    }

    fn to_field(&self) -> FieldValue {
        match self {
            Value::Null => FieldValue::Null,
            Value::Bool(b) => FieldValue::Bool(*b),
            Value::I64(v) => FieldValue::int((*v).into()),
            Value::U64(v) => FieldValue::int((*v).into()),
            Value::I128(v) => FieldValue::int(*v),
            Value::U128(v) => i128::try_from(*v).map_or(FieldValue::U128(*v), FieldValue::int),
            Value::F32(v) => FieldValue::from_f32(*v),
            Value::F64(v) => FieldValue::F64(*v),
            Value::Char(c) => FieldValue::Str(char::from_u32(*c).unwrap_or('\u{fffd}').to_string()),
            Value::Str(s) => FieldValue::Str((*s).to_owned()),
            Value::Bytes(b) => FieldValue::Bytes(b.to_vec()),
            Value::Ipv4(_) | Value::Ipv6(_) => FieldValue::Str(self.to_string()),
            Value::Seq(items) => FieldValue::Seq(items.iter().map(Value::to_field).collect()),
            Value::Map(entries) => FieldValue::Map(
                entries
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_field()))
                    .collect(),
            ),
        }
    }
}

/// A decoded value renders as the captured value it was written from.
impl<'v, 'a: 'v> ValueView<'v> for &'v Value<'a> {
    type Items = std::slice::Iter<'v, Value<'a>>;
    type Entries = std::iter::Map<
        std::slice::Iter<'v, (&'a str, Value<'a>)>,
        fn(&'v (&'a str, Value<'a>)) -> (ValueRef<'v>, &'v Value<'a>),
    >;

    fn shape(self) -> Shape<'v, Self> {
        Shape::Scalar(match self {
            Value::Null => ValueRef::Null,
            Value::Bool(v) => ValueRef::Bool(*v),
            Value::I64(v) => ValueRef::I64(*v),
            Value::U64(v) => ValueRef::U64(*v),
            Value::I128(v) => ValueRef::I128(*v),
            Value::U128(v) => ValueRef::U128(*v),
            Value::F32(v) => ValueRef::F32(*v),
            Value::F64(v) => ValueRef::F64(*v),
            Value::Char(c) => ValueRef::Char(char::from_u32(*c).unwrap_or('\u{fffd}')),
            Value::Str(s) => ValueRef::Str(s),
            Value::Bytes(b) => ValueRef::Bytes(b),
            Value::Ipv4(o) => ValueRef::Ip(std::net::Ipv4Addr::from(*o).into()),
            Value::Ipv6(o) => ValueRef::Ip(std::net::Ipv6Addr::from(*o).into()),
            Value::Seq(items) => return Shape::Seq(items.iter()),
            Value::Map(entries) => {
                let entries: Self::Entries = entries.iter().map(|(k, v)| (ValueRef::Str(k), v));
                return Shape::Map(entries);
            }
        })
    }
}

/// Renders a value in a message exactly as the writer's `{}` does: the text every value
/// type shares (see `capture::render`).
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, self, false)
    }
}

/// What a binary segment has defined so far: its call sites and threads.
#[derive(Default)]
pub(crate) struct Dictionary {
    callsites: Vec<Option<Callsite>>,
    threads: Vec<Option<String>>,
    /// The call site and thread whose text the record last decoded into still holds
    /// (target, file, thread, field names): a record from the same ones, decoded into the
    /// same record, leaves that text as it is. Cleared by every definition, as a
    /// definition may replace an id.
    filled: Option<(u32, u32)>,
}

impl Dictionary {
    /// Says that the next record is decoded into another record than the last one was.
    pub(crate) fn forget_filled(&mut self) {
        self.filled = None;
    }
}

/// Ids count from 0 in each segment, so a definition either redefines an id or adds the
/// next one: an id further ahead would make the reader hold room for every id before it.
fn define<T>(table: &mut Vec<Option<T>>, id: u32, item: T) -> Result<(), String> {
    let i = id as usize;
    let next = table.len();
    if i < next {
        table[i] = Some(item);
    } else if i > next {
        return Err(format!(
            "definition id {id} skips ids: the next id in this segment is {next}"
        ));
    } else if next >= MAX_DEFINITIONS {
        return Err(format!(
            "definition id {id} is past the limit of {MAX_DEFINITIONS} definitions per segment"
        ));
    } else {
        table.push(Some(item));
    }
    Ok(())
}

/// Decodes one frame payload (its CRC already checked): a definition updates the
/// dictionary and gives `false`; a record is written into `out`, whose strings and field
/// list are reused, and gives `true`. Unless [`Dictionary::forget_filled`] was called,
/// `out` is taken to be the record the last record was decoded into.
pub(crate) fn decode(
    dictionary: &mut Dictionary,
    payload: &[u8],
    out: &mut LogRecord,
) -> Result<bool, String> {
    let mut cursor = Payload {
        bytes: payload,
        at: 0,
    };
    let undecodable = |e: String| format!("frame does not decode: {e}");
    let (id, narrow) = cursor.id("frame variant").map_err(undecodable)?;
    // A record is read straight from the payload, not through a `Frame`, whose moves
    // (with its values held inline) cost more than decoding it.
    let mut span = None;
    let record = match narrow {
        frame::RECORD => cursor.record().map_err(undecodable)?,
        frame::RECORD_IN_SPAN => {
            let record = cursor.record().map_err(undecodable)?;
            let (context, used) = super::span::from_binary(&cursor.bytes[cursor.at..])
                .map_err(|e| undecodable(format!("{e} at payload byte {}", cursor.at)))?;
            cursor.at += used;
            span = Some(context);
            record
        }
        _ => match cursor.frame_body(id, narrow).map_err(undecodable)? {
            Frame::Record(record) => record,
            Frame::Callsite(callsite) => {
                cursor.finished(payload)?;
                dictionary.filled = None;
                define(&mut dictionary.callsites, callsite.id, callsite)?;
                return Ok(false);
            }
            Frame::Thread { id, name } => {
                cursor.finished(payload)?;
                dictionary.filled = None;
                define(&mut dictionary.threads, id, name.to_owned())?;
                return Ok(false);
            }
        },
    };
    cursor.finished(payload)?;
    let callsite = dictionary
        .callsites
        .get(record.callsite as usize)
        .and_then(Option::as_ref)
        .ok_or_else(|| format!("record refers to undefined call site {}", record.callsite))?;
    let thread = dictionary
        .threads
        .get(record.thread as usize)
        .and_then(Option::as_ref)
        .ok_or_else(|| format!("record refers to undefined thread {}", record.thread))?;
    let level =
        Level::from_u8(callsite.level).ok_or_else(|| format!("bad level {}", callsite.level))?;
    if record.values.len() < callsite.fields.len() {
        return Err(format!(
            "record has {} values for {} fields",
            record.values.len(),
            callsite.fields.len()
        ));
    }
    let msg = &mut out.msg;
    msg.clear();
    for piece in &callsite.pieces {
        use fmt::Write as _;
        let _ = match piece {
            Piece::Lit(text) => msg.write_str(text),
            Piece::Arg(i) => match record.values.get(*i as usize) {
                // Strings and integers as `Display` writes them, without its machinery.
                Some(Value::Str(text)) => msg.write_str(text),
                Some(Value::U64(v)) => msg.write_str(itoa::Buffer::new().format(*v)),
                Some(Value::I64(v)) => msg.write_str(itoa::Buffer::new().format(*v)),
                Some(value) => write!(msg, "{value}"),
                None => return Err(format!("message refers to missing argument {i}")),
            },
            Piece::Actor => match &record.actor {
                Some(actor) => write!(msg, "{actor}"),
                None => msg.write_str("<invalid>"),
            },
        };
    }
    out.ts = record.ts;
    out.level = level;
    out.seq = record.seq;
    match (&record.actor, &mut out.actor) {
        (Some(actor), Some(slot)) => actor.store(slot),
        (actor, slot) => *slot = actor.as_ref().map(Value::to_field),
    }
    let n = callsite.fields.len();
    let same = dictionary.filled == Some((record.callsite, record.thread));
    if !same {
        set(&mut out.target, &callsite.target);
        set(&mut out.file, &callsite.file);
        out.line = callsite.line;
        set(&mut out.thread, thread);
        out.fields.truncate(n);
    }
    for (i, (name, value)) in callsite.fields.iter().zip(&record.values).enumerate() {
        match out.fields.get_mut(i) {
            Some((held, slot)) => {
                if !same {
                    set(held, name);
                }
                value.store(slot);
            }
            None => out.fields.push((name.clone(), value.to_field())),
        }
    }
    out.span = span;
    dictionary.filled = Some((record.callsite, record.thread));
    Ok(true)
}

/// Replaces the text of `held`, keeping its buffer.
fn set(held: &mut String, text: &str) {
    held.clear();
    held.push_str(text);
}

/// A frame's payload being decoded by the rules of docs/FORMAT.md. Every length and count
/// is checked against the bytes that remain before anything is allocated for it, and
/// values nest at most [`MAX_DEPTH`] deep, so no payload can exhaust memory or the stack.
struct Payload<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Payload<'a> {
    fn string_owned(&mut self, what: &str) -> Result<String, String> {
        self.string(what).map(str::to_owned)
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if n > self.left() {
            return Err(format!(
                "{what} needs {n} bytes at payload byte {}, and only {} remain",
                self.at,
                self.left()
            ));
        }
        let taken = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn byte(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    /// A varint whose marker is at most `widest` (252 for `u32`, 253 for `u64`, 254 for
    /// `u128`).
    fn varint(&mut self, widest: u8, what: &str) -> Result<u128, String> {
        let at = self.at;
        let marker = self.byte(what)?;
        Ok(match marker {
            0..=250 => marker.into(),
            251 if widest >= 251 => u16::from_le_bytes(self.array(what)?).into(),
            252 if widest >= 252 => u32::from_le_bytes(self.array(what)?).into(),
            253 if widest >= 253 => u64::from_le_bytes(self.array(what)?).into(),
            254 if widest >= 254 => u128::from_le_bytes(self.array(what)?),
            _ => {
                return Err(format!(
                    "{what}: bad varint marker {marker} at payload byte {at}"
                ))
            }
        })
    }

    /// A varint of at most 64 bits (`widest` 252 or 253), without the 128-bit arithmetic
    /// of [`varint`](Payload::varint): most numbers in a record are small.
    #[inline]
    fn narrow_varint(&mut self, widest: u8, what: &str) -> Result<u64, String> {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        let (value, len) = match *rest {
            [marker, ..] if marker <= 250 => (marker.into(), 1),
            [251, a, b, ..] => (u16::from_le_bytes([a, b]).into(), 3),
            [252, a, b, c, d, ..] if widest >= 252 => (u32::from_le_bytes([a, b, c, d]).into(), 5),
            [253, a, b, c, d, e, f, g, h, ..] if widest >= 253 => {
                (u64::from_le_bytes([a, b, c, d, e, f, g, h]), 9)
            }
            // Errors, with what they name.
            _ => return self.varint(widest, what).map(|v| v as u64),
        };
        self.at += len;
        Ok(value)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        // A marker of at most 252 holds at most a u32.
        self.narrow_varint(252, what).map(|v| v as u32)
    }

    /// A variant id (a `u32`), and the same narrowed to the format's `u8` ids: one too
    /// large for a `u8` becomes `u8::MAX`, which no variant has.
    fn id(&mut self, what: &str) -> Result<(u32, u8), String> {
        let id = self.u32(what)?;
        Ok((id, u8::try_from(id).unwrap_or(u8::MAX)))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        self.narrow_varint(253, what)
    }

    fn flag(&mut self, what: &str) -> Result<bool, String> {
        let at = self.at;
        match self.byte(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!(
                "{what}: {other} at payload byte {at} is neither 0 nor 1"
            )),
        }
    }

    /// A count of items that take at least `each` bytes apiece: a count that the rest of
    /// the payload cannot hold is refused before anything is allocated for it.
    fn count(&mut self, each: usize, what: &str) -> Result<usize, String> {
        let at = self.at;
        let n = self.u64(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= self.left() / each => Ok(n),
            _ => Err(format!(
                "{what}: count {n} at payload byte {at} is more than the {} bytes left can hold",
                self.left()
            )),
        }
    }

    fn string(&mut self, what: &str) -> Result<&'a str, String> {
        let n = self.count(1, what)?;
        let at = self.at;
        let bytes = self.take(n, what)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(e) => Err(format!("{what} at payload byte {at} is not UTF-8: {e}")),
        }
    }

    fn strings(&mut self, what: &str) -> Result<Vec<String>, String> {
        let n = self.count(1, what)?;
        (0..n).map(|_| self.string_owned(what)).collect()
    }

    /// Fails if the frame has bytes after its content.
    fn finished(&self, payload: &[u8]) -> Result<(), String> {
        if self.at != payload.len() {
            return Err(format!(
                "frame has {} bytes after its content",
                payload.len() - self.at
            ));
        }
        Ok(())
    }

    /// The rest of a frame whose variant id was read.
    fn frame_body(&mut self, id: u32, narrow: u8) -> Result<Frame<'a>, String> {
        // The variant id is the payload's first byte.
        let at = 0;
        Ok(match narrow {
            frame::CALLSITE => Frame::Callsite(self.callsite()?),
            frame::THREAD => Frame::Thread {
                id: self.u32("thread id")?,
                name: self.string("thread name")?,
            },
            frame::RECORD => Frame::Record(self.record()?),
            _ => return Err(format!("unknown frame variant {id} at payload byte {at}")),
        })
    }

    fn callsite(&mut self) -> Result<Callsite, String> {
        Ok(Callsite {
            id: self.u32("call site id")?,
            level: self.byte("call site level")?,
            target: self.string_owned("call site target")?,
            module: self.string_owned("call site module")?,
            file: self.string_owned("call site file")?,
            line: self.u32("call site line")?,
            template: self.string_owned("call site template")?,
            fields: self.strings("call site fields")?,
            pieces: {
                let n = self.count(1, "message pieces")?;
                let mut pieces = Vec::with_capacity(n);
                for _ in 0..n {
                    let at = self.at;
                    let (id, narrow) = self.id("message piece")?;
                    pieces.push(match narrow {
                        piece::LIT => Piece::Lit(self.string_owned("message text")?),
                        piece::ARG => Piece::Arg(self.u32("message argument")?),
                        piece::ACTOR => Piece::Actor,
                        _ => {
                            return Err(format!("unknown message piece {id} at payload byte {at}"))
                        }
                    });
                }
                pieces
            },
        })
    }

    // Inlined into `decode`, so that the record is built where it is used, not moved.
    #[inline(always)]
    fn record(&mut self) -> Result<Record<'a>, String> {
        Ok(Record {
            callsite: self.u32("record call site")?,
            thread: self.u32("record thread")?,
            seq: self.u64("record seq")?,
            ts: self.u64("record ts")?,
            actor: match self.flag("record actor")? {
                true => Some(self.value(0)?),
                false => None,
            },
            values: {
                let n = self.count(1, "values")?;
                let mut values = Values::new();
                for _ in 0..n {
                    values.push(self.value(0)?);
                }
                values
            },
        })
    }

    /// A value nested `depth` lists or maps deep. Inlined where a record's values are
    /// read: returned through memory, each value cost more than its decoding.
    #[inline(always)]
    fn value(&mut self, depth: usize) -> Result<Value<'a>, String> {
        let at = self.at;
        let (id, narrow) = self.id("value variant")?;
        Ok(match narrow {
            variant::NULL => Value::Null,
            variant::BOOL => Value::Bool(self.flag("bool")?),
            variant::I64 => {
                let n = self.narrow_varint(253, "i64")?;
                Value::I64((n >> 1) as i64 ^ -((n & 1) as i64))
            }
            variant::U64 => Value::U64(self.u64("u64")?),
            variant::F32 => Value::F32(f32::from_le_bytes(self.array("f32")?)),
            variant::F64 => Value::F64(f64::from_le_bytes(self.array("f64")?)),
            variant::STR => Value::Str(self.string("string")?),
            _ => return self.rare_value(id, narrow, at, depth),
        })
    }

    /// The value kinds that records seldom hold, and containers, which recurse.
    #[inline(never)]
    fn rare_value(
        &mut self,
        id: u32,
        narrow: u8,
        at: usize,
        depth: usize,
    ) -> Result<Value<'a>, String> {
        let unzigzag = |n: u128| (n >> 1) as i128 ^ -((n & 1) as i128);
        Ok(match narrow {
            variant::I128 => Value::I128(unzigzag(self.varint(254, "i128")?)),
            variant::U128 => Value::U128(self.varint(254, "u128")?),
            variant::CHAR => Value::Char(self.u32("char")?),
            variant::BYTES => {
                let n = self.count(1, "bytes")?;
                Value::Bytes(self.take(n, "bytes")?)
            }
            variant::IPV4 => Value::Ipv4(self.array("IPv4 address")?),
            variant::IPV6 => Value::Ipv6(self.array("IPv6 address")?),
            variant::SEQ | variant::MAP if depth >= MAX_DEPTH => {
                return Err(format!(
                    "value at payload byte {at} nests deeper than {MAX_DEPTH} levels"
                ))
            }
            variant::SEQ => {
                let n = self.count(1, "values")?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::Seq(items)
            }
            variant::MAP => {
                // A key takes at least its length byte, a value at least its variant byte.
                let n = self.count(2, "map")?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.string("map key")?;
                    entries.push((key, self.value(depth + 1)?));
                }
                Value::Map(entries)
            }
            _ => return Err(format!("unknown value variant {id} at payload byte {at}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(value: &impl Serialize) -> Vec<u8> {
        bincode::serde::encode_to_vec(value, bincode::config::standard()).unwrap()
    }

    /// Pins the encoding that docs/FORMAT.md specifies, so that replacing or upgrading
    /// bincode cannot change the format unnoticed.
    #[test]
    fn values_encode_as_the_format_document_says() {
        assert_eq!(bytes(&Value::Null), [0]);
        assert_eq!(bytes(&Value::Bool(true)), [1, 1]);
        assert_eq!(bytes(&Value::I64(-1)), [2, 1]);
        assert_eq!(bytes(&Value::I64(1)), [2, 2]);
        assert_eq!(bytes(&Value::I64(-200)), [2, 251, 0x8f, 0x01]);
        assert_eq!(bytes(&Value::U64(250)), [3, 250]);
        assert_eq!(bytes(&Value::U64(251)), [3, 251, 251, 0]);
        assert_eq!(bytes(&Value::U64(70_000)), [3, 252, 0x70, 0x11, 0x01, 0x00]);
        assert_eq!(
            bytes(&Value::U64(1 << 40)),
            [3, 253, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        assert_eq!(bytes(&Value::U128(u128::from(u64::MAX) + 1))[..2], [5, 254]);
        assert_eq!(bytes(&Value::F32(1.0)), [6, 0, 0, 0x80, 0x3f]);
        assert_eq!(bytes(&Value::F64(-2.0)), [7, 0, 0, 0, 0, 0, 0, 0, 0xc0]);
        assert_eq!(bytes(&Value::Char('é' as u32)), [8, 0xe9]);
        assert_eq!(bytes(&Value::Str("hé")), [9, 3, b'h', 0xc3, 0xa9]);
        assert_eq!(bytes(&Value::Bytes(&[7, 8])), [10, 2, 7, 8]);
        assert_eq!(bytes(&Value::Ipv4([10, 0, 0, 1])), [11, 10, 0, 0, 1]);
        assert_eq!(bytes(&Value::Seq(vec![Value::Null])), [13, 1, 0]);
        assert_eq!(
            bytes(&Value::Map(vec![("k", Value::Bool(false))])),
            [14, 1, 1, b'k', 1, 0]
        );
    }

    #[test]
    fn frames_encode_as_the_format_document_says() {
        let thread = Frame::Thread {
            id: 0,
            name: "main",
        };
        assert_eq!(bytes(&thread), [1, 0, 4, b'm', b'a', b'i', b'n']);
        let record = Frame::Record(Record {
            callsite: 3,
            thread: 0,
            seq: 7,
            ts: 1,
            actor: Some(Value::U64(42)),
            values: vec![Value::Bool(true)].into(),
        });
        assert_eq!(bytes(&record), [2, 3, 0, 7, 1, 1, 3, 42, 1, 1, 1]);
        let callsite = Frame::Callsite(Callsite {
            id: 0,
            level: 3,
            target: "t".into(),
            module: "m".into(),
            file: "f".into(),
            line: 9,
            template: "x {}".into(),
            fields: vec!["k".into()],
            pieces: vec![Piece::Lit("x ".into()), Piece::Arg(1), Piece::Actor],
        });
        assert_eq!(
            bytes(&callsite),
            [
                0, 0, 3, 1, b't', 1, b'm', 1, b'f', 9, 4, b'x', b' ', b'{', b'}', 1, 1, b'k', 3, 0,
                2, b'x', b' ', 1, 1, 2
            ]
        );
        #[cfg(feature = "writer")]
        assert_eq!(
            crate::format::binary::header(),
            *b"TRAILBIN\x01\x00\x00\x00\x00\x00\x00\x00"
        );
    }

    fn decode_value(bytes: &[u8]) -> Result<Value<'_>, String> {
        let mut payload = Payload { bytes, at: 0 };
        let value = payload.value(0)?;
        assert_eq!(payload.at, bytes.len(), "the whole value is read");
        Ok(value)
    }

    #[test]
    fn every_value_decodes_to_what_was_encoded() {
        let mut deepest = Value::U64(1);
        for _ in 0..MAX_DEPTH {
            deepest = Value::Seq(vec![deepest]);
        }
        let values = [
            Value::Null,
            Value::Bool(false),
            Value::I64(i64::MIN),
            Value::I64(-200),
            Value::U64(u64::MAX),
            Value::U64(70_000),
            Value::I128(i128::MIN),
            Value::I128(-3),
            Value::U128(u128::MAX),
            Value::F32(-1.5),
            Value::F64(f64::MAX),
            Value::Char('é' as u32),
            Value::Str("hé"),
            Value::Bytes(&[0, 255]),
            Value::Ipv4([10, 0, 0, 1]),
            Value::Ipv6([7; 16]),
            Value::Map(vec![("k", Value::Seq(vec![Value::Null]))]),
            deepest,
        ];
        for value in values {
            assert_eq!(decode_value(&bytes(&value)), Ok(value.clone()));
        }
    }

    /// A record frame (call site 0, thread 0, seq 1, ts 1, no actor) whose values are
    /// `values`, already encoded.
    fn record_frame(values: &[u8]) -> Vec<u8> {
        let mut frame = vec![2, 0, 0, 1, 1, 0];
        frame.extend_from_slice(values);
        frame
    }

    fn decode_alone(payload: &[u8]) -> Result<Option<LogRecord>, String> {
        let mut out = LogRecord::blank();
        decode(&mut Dictionary::default(), payload, &mut out).map(|record| record.then_some(out))
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_not_a_stack_overflow() {
        let mut values = vec![1];
        for _ in 0..1_000_000 {
            values.extend_from_slice(&[13, 1]);
        }
        values.push(0);
        let error = decode_alone(&record_frame(&values)).unwrap_err();
        assert!(error.contains("nests deeper than 64 levels"), "{error}");

        let mut one_too_deep = Value::Null;
        for _ in 0..=MAX_DEPTH {
            one_too_deep = Value::Map(vec![("k", one_too_deep)]);
        }
        let mut values = vec![1];
        values.extend_from_slice(&bytes(&one_too_deep));
        let error = decode_alone(&record_frame(&values)).unwrap_err();
        assert!(error.contains("nests deeper than 64 levels"), "{error}");
    }

    #[test]
    fn lengths_past_the_frame_are_errors_before_any_allocation() {
        let huge = |len: u64| {
            let mut v = vec![253];
            v.extend_from_slice(&len.to_le_bytes());
            v
        };
        for len in [u64::MAX, u64::MAX - 1, 1 << 33, 1 << 40, 3] {
            // A string, a byte string, a list and a map of `len` items, and a record of
            // `len` values.
            for variant in [9, 10, 13, 14] {
                let mut values = vec![1, variant];
                values.extend(huge(len));
                let error = decode_alone(&record_frame(&values)).unwrap_err();
                assert!(
                    error.contains("remain") || error.contains("left can hold"),
                    "{error}"
                );
            }
            let error = decode_alone(&record_frame(&huge(len))).unwrap_err();
            assert!(error.contains("left can hold"), "{error}");
            let mut thread = vec![1, 0];
            thread.extend(huge(len));
            let error = decode_alone(&thread).unwrap_err();
            assert!(error.contains("left can hold"), "{error}");
        }
    }

    /// A call site defined again under the same id gives the records after it its own
    /// target and field names, in the record that held one of the first definition's.
    #[test]
    fn a_call_site_defined_again_is_the_one_records_take() {
        let callsite = |target: &str, field: &str| {
            bytes(&Frame::Callsite(Callsite {
                id: 0,
                level: 3,
                target: target.into(),
                module: target.into(),
                file: "f".into(),
                line: 1,
                template: String::new(),
                fields: vec![field.into()],
                pieces: vec![Piece::Arg(0)],
            }))
        };
        let record = bytes(&Frame::Record(Record {
            callsite: 0,
            thread: 0,
            seq: 1,
            ts: 1,
            actor: None,
            values: vec![Value::U64(5)].into(),
        }));
        let mut dictionary = Dictionary::default();
        let mut out = LogRecord::blank();
        let thread = bytes(&Frame::Thread {
            id: 0,
            name: "main",
        });
        assert_eq!(decode(&mut dictionary, &thread, &mut out), Ok(false));
        assert_eq!(
            decode(&mut dictionary, &callsite("a", "x"), &mut out),
            Ok(false)
        );
        assert_eq!(decode(&mut dictionary, &record, &mut out), Ok(true));
        assert_eq!((out.target.as_str(), out.fields[0].0.as_str()), ("a", "x"));
        assert_eq!(
            decode(&mut dictionary, &callsite("b", "y"), &mut out),
            Ok(false)
        );
        assert_eq!(decode(&mut dictionary, &record, &mut out), Ok(true));
        assert_eq!((out.target.as_str(), out.fields[0].0.as_str()), ("b", "y"));
        assert_eq!(out.msg, "5");
    }

    #[test]
    fn definitions_cannot_skip_ids() {
        let mut dictionary = Dictionary::default();
        let thread = |id: u32| bytes(&Frame::Thread { id, name: "main" });
        let mut out = LogRecord::blank();
        assert_eq!(decode(&mut dictionary, &thread(0), &mut out), Ok(false));
        assert_eq!(decode(&mut dictionary, &thread(1), &mut out), Ok(false));
        assert_eq!(decode(&mut dictionary, &thread(0), &mut out), Ok(false));
        let error = decode(&mut dictionary, &thread(1_000_000), &mut out).unwrap_err();
        assert!(error.contains("skips ids"), "{error}");
        assert_eq!(dictionary.threads.len(), 2);
    }

    #[test]
    fn bad_markers_and_flags_are_errors() {
        // A u32 cannot take the u64 marker; 255 is no marker; an option is 0 or 1.
        assert!(decode_alone(&[1, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(decode_alone(&[255]).is_err());
        assert!(decode_alone(&[2, 0, 0, 1, 1, 2, 0]).is_err());
        assert!(decode_alone(&[2, 0, 0, 1, 1, 0, 1, 15]).is_err());
        assert!(decode_alone(&[3]).is_err());
    }
}
