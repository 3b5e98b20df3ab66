//! Decoding the binary format: definition frames into the segment's dictionary of call
//! sites and threads, and records, with that dictionary, into [`LogRecord`]s (a reused one
//! keeps its buffers, so a record allocates nothing).
//!
//! A record's values are read as the captured values they were written from
//! ([`ValueRef`]), strings and bytes borrowed from the payload. A sequence or map is
//! rewritten, once its every length and depth is checked, into the capture layout, whose
//! lazy [`Nested`](crate::Nested) the rendering and [`FieldValue`] read like any
//! captured one.
//!
//! The layout (header, framing, variant ids) is [`crate::format::binary`]'s;
//! `docs/FORMAT.md` specifies every byte.
//!
//! The file passes 800 lines because its last third is the tests of hostile frames (every
//! length, count, depth and definition id checked before it is trusted), which belong
//! beside the checks they prove.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;
use smallvec::SmallVec;

use super::record::{FieldValue, LogRecord};
use crate::capture::codec::{self, tag, NestedReader};
use crate::format::binary::{frame, piece, variant, MAX_DEFINITIONS};
use crate::limits::MAX_DEPTH;
use crate::record::ValueRef;
use crate::Level;

/// A definition frame's payload as decoded. Its serde encoding (variants in the order of
/// their ids) is the reference that the tests pin the format with.
#[derive(Debug, Serialize)]
pub(crate) enum Frame<'a> {
    /// Defines a call site for the rest of the segment.
    Callsite(Callsite),
    /// Names a thread for the rest of the segment.
    Thread { id: u32, name: &'a str },
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

/// A record frame's content, its values as captured.
struct Record<'a> {
    callsite: u32,
    thread: u32,
    seq: u64,
    ts: u64,
    actor: Option<ValueRef<'a>>,
    /// Inline up to eight, so that a common record needs no heap.
    values: SmallVec<[ValueRef<'a>; 8]>,
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
    /// The last record's sequences and maps, rewritten in the capture layout; reused.
    nested: Vec<u8>,
}

impl Dictionary {
    /// Says that the next record is decoded into another record than the last one was.
    pub(crate) fn forget_filled(&mut self) {
        self.filled = None;
    }
}

/// The room for rewritten containers that a dictionary keeps from one record to the next.
const KEEP_NESTED: usize = 64 * 1024;

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
    if narrow != frame::RECORD && narrow != frame::RECORD_IN_SPAN {
        let definition = cursor.definition(id, narrow).map_err(undecodable)?;
        cursor.finished(payload)?;
        dictionary.filled = None;
        match definition {
            Frame::Callsite(callsite) => define(&mut dictionary.callsites, callsite.id, callsite)?,
            Frame::Thread { id, name } => define(&mut dictionary.threads, id, name.to_owned())?,
        }
        return Ok(false);
    }
    // Filled in place: a record returned by value cost more to move than to decode.
    let mut record = Record {
        callsite: 0,
        thread: 0,
        seq: 0,
        ts: 0,
        actor: None,
        values: SmallVec::new(),
    };
    let nested = &mut dictionary.nested;
    nested.clear();
    if nested.capacity() > KEEP_NESTED {
        // Not held on to after a record of large containers.
        *nested = Vec::new();
    }
    cursor.record(&mut record, nested).map_err(undecodable)?;
    let mut span = None;
    if narrow == frame::RECORD_IN_SPAN {
        let (context, used) = super::span::from_binary(&cursor.bytes[cursor.at..])
            .map_err(|e| undecodable(format!("{e} at payload byte {}", cursor.at)))?;
        cursor.at += used;
        span = Some(context);
    }
    cursor.finished(payload)?;
    if !nested.is_empty() {
        // Each container was read as a placeholder and rewritten into `nested`, in order.
        let mut rewritten = NestedReader::new(nested);
        for value in record.actor.iter_mut().chain(&mut record.values) {
            if matches!(value, ValueRef::Invalid) {
                *value = rewritten.next().unwrap_or(ValueRef::Invalid);
            }
        }
    }
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
                Some(ValueRef::Str(text)) => msg.write_str(text),
                Some(ValueRef::U64(v)) => msg.write_str(itoa::Buffer::new().format(*v)),
                Some(ValueRef::I64(v)) => msg.write_str(itoa::Buffer::new().format(*v)),
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
    match (record.actor, &mut out.actor) {
        (Some(actor), Some(slot)) => slot.set_captured(actor),
        (actor, slot) => *slot = actor.map(FieldValue::from_captured),
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
                slot.set_captured(*value);
            }
            None => out
                .fields
                .push((name.clone(), FieldValue::from_captured(*value))),
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

    #[inline]
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    #[inline(always)]
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

    #[inline(always)]
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    #[inline(always)]
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
    #[inline(always)]
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

    #[inline(always)]
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        // A marker of at most 252 holds at most a u32.
        self.narrow_varint(252, what).map(|v| v as u32)
    }

    /// A variant id (a `u32`), and the same narrowed to the format's `u8` ids: one too
    /// large for a `u8` becomes `u8::MAX`, which no variant has.
    #[inline(always)]
    fn id(&mut self, what: &str) -> Result<(u32, u8), String> {
        let id = self.u32(what)?;
        Ok((id, u8::try_from(id).unwrap_or(u8::MAX)))
    }

    #[inline(always)]
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        self.narrow_varint(253, what)
    }

    #[inline(always)]
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
    #[inline(always)]
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

    #[inline(always)]
    fn string(&mut self, what: &str) -> Result<&'a str, String> {
        let n = self.count(1, what)?;
        let at = self.at;
        let bytes = self.take(n, what)?;
        // Nearly every string is ASCII, which the codec checks a word at a time.
        match codec::utf8(bytes) {
            Some(s) => Ok(s),
            None => Err(utf8_error(what, at, bytes)),
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

    /// The rest of a definition frame whose variant id was read.
    fn definition(&mut self, id: u32, narrow: u8) -> Result<Frame<'a>, String> {
        // The variant id is the payload's first byte.
        let at = 0;
        Ok(match narrow {
            frame::CALLSITE => Frame::Callsite(self.callsite()?),
            frame::THREAD => Frame::Thread {
                id: self.u32("thread id")?,
                name: self.string("thread name")?,
            },
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

    /// A record frame's content, after its variant id, into `record`; its sequences and
    /// maps are rewritten into `nested` and stand in `record` as [`ValueRef::Invalid`].
    #[inline(always)]
    fn record(&mut self, record: &mut Record<'a>, nested: &mut Vec<u8>) -> Result<(), String> {
        record.callsite = self.u32("record call site")?;
        record.thread = self.u32("record thread")?;
        record.seq = self.u64("record seq")?;
        record.ts = self.u64("record ts")?;
        if self.flag("record actor")? {
            record.actor = Some(self.value(nested)?);
        }
        let n = self.count(1, "values")?;
        for _ in 0..n {
            let value = self.value(nested)?;
            record.values.push(value);
        }
        Ok(())
    }

    /// A record's value. Inlined where a record's values are read: returned through
    /// memory, each value cost more than its decoding.
    #[inline(always)]
    fn value(&mut self, nested: &mut Vec<u8>) -> Result<ValueRef<'a>, String> {
        let at = self.at;
        let (id, narrow) = self.id("value variant")?;
        if let variant::SEQ | variant::MAP = narrow {
            self.rewrite_container(narrow, at, 0, nested)?;
            return Ok(ValueRef::Invalid);
        }
        self.scalar(id, narrow, at)
    }

    /// A value that is no sequence or map, after its variant id (read at payload byte
    /// `at`).
    #[inline(always)]
    fn scalar(&mut self, id: u32, narrow: u8, at: usize) -> Result<ValueRef<'a>, String> {
        Ok(match narrow {
            variant::NULL => ValueRef::Null,
            variant::BOOL => ValueRef::Bool(self.flag("bool")?),
            variant::I64 => ValueRef::I64(unzigzag(self.narrow_varint(253, "i64")?)),
            variant::U64 => ValueRef::U64(self.u64("u64")?),
            variant::F32 => ValueRef::F32(f32::from_le_bytes(self.array("f32")?)),
            variant::F64 => ValueRef::F64(f64::from_le_bytes(self.array("f64")?)),
            variant::STR => ValueRef::Str(self.string("string")?),
            _ => self.rare_scalar(id, narrow, at)?,
        })
    }

    /// The scalar kinds that records seldom hold.
    #[inline(never)]
    fn rare_scalar(&mut self, id: u32, narrow: u8, at: usize) -> Result<ValueRef<'a>, String> {
        Ok(match narrow {
            variant::I128 => ValueRef::I128(unzigzag128(self.varint(254, "i128")?)),
            variant::U128 => ValueRef::U128(self.varint(254, "u128")?),
            // A number that is no Unicode scalar value reads as the replacement character.
            variant::CHAR => {
                ValueRef::Char(char::from_u32(self.u32("char")?).unwrap_or('\u{fffd}'))
            }
            variant::BYTES => {
                let n = self.count(1, "bytes")?;
                ValueRef::Bytes(self.take(n, "bytes")?)
            }
            variant::IPV4 => ValueRef::Ip(Ipv4Addr::from(self.array::<4>("IPv4 address")?).into()),
            variant::IPV6 => ValueRef::Ip(Ipv6Addr::from(self.array::<16>("IPv6 address")?).into()),
            _ => return Err(format!("unknown value variant {id} at payload byte {at}")),
        })
    }

    /// Rewrites a sequence or map (variant `narrow`, read at payload byte `at`) nested
    /// `depth` containers deep into `out` in the capture layout, checking it whole.
    #[inline(never)]
    fn rewrite_container(
        &mut self,
        narrow: u8,
        at: usize,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(format!(
                "value at payload byte {at} nests deeper than {MAX_DEPTH} levels"
            ));
        }
        if narrow == variant::SEQ {
            let n = self.count(1, "values")?;
            out.push(tag::SEQ);
            for _ in 0..n {
                self.rewrite_value(depth + 1, out)?;
            }
        } else {
            // A key takes at least its length byte, a value at least its variant byte.
            let n = self.count(2, "map")?;
            out.push(tag::MAP);
            for _ in 0..n {
                let key = self.string("map key")?;
                append_len_prefixed(out, tag::STR, key.as_bytes(), at)?;
                self.rewrite_value(depth + 1, out)?;
            }
        }
        out.push(tag::END);
        Ok(())
    }

    /// Rewrites any value nested `depth` containers deep into `out` in the capture layout.
    fn rewrite_value(&mut self, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
        let at = self.at;
        let (id, narrow) = self.id("value variant")?;
        if let variant::SEQ | variant::MAP = narrow {
            return self.rewrite_container(narrow, at, depth, out);
        }
        match self.scalar(id, narrow, at)? {
            ValueRef::Null => out.push(tag::NULL),
            ValueRef::Bool(b) => codec::append(out, codec::encode_bool(b)),
            ValueRef::I64(n) => codec::append(out, codec::encode_i64(n)),
            ValueRef::U64(n) => codec::append(out, codec::encode_u64(n)),
            ValueRef::I128(n) => codec::append(out, codec::encode_i128(n)),
            ValueRef::U128(n) => codec::append(out, codec::encode_u128(n)),
            ValueRef::F32(f) => codec::append(out, codec::encode_f32(f)),
            ValueRef::F64(f) => codec::append(out, codec::encode_f64(f)),
            ValueRef::Char(c) => codec::append(out, codec::encode_char(c)),
            ValueRef::Str(s) => append_len_prefixed(out, tag::STR, s.as_bytes(), at)?,
            ValueRef::Bytes(b) => append_len_prefixed(out, tag::BYTES, b, at)?,
            ValueRef::Ip(std::net::IpAddr::V4(ip)) => codec::append(out, codec::encode_ipv4(ip)),
            ValueRef::Ip(std::net::IpAddr::V6(ip)) => codec::append(out, codec::encode_ipv6(ip)),
            // Neither is read here.
            ValueRef::Seq(_) | ValueRef::Map(_) | ValueRef::Invalid => out.push(tag::NULL),
        }
        Ok(())
    }
}

/// Appends a string or bytes in the capture layout; the layout's `u32` length holds any
/// but one past 4 GiB, which only a reader given a larger record limit could meet.
fn append_len_prefixed(out: &mut Vec<u8>, tag: u8, bytes: &[u8], at: usize) -> Result<(), String> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| format!("value at payload byte {at} holds more than 4 GiB"))?;
    codec::append_len_prefixed(out, tag, len, bytes);
    Ok(())
}

/// A zigzag-mapped integer's value.
fn unzigzag(n: u64) -> i64 {
    (n >> 1) as i64 ^ -((n & 1) as i64)
}

fn unzigzag128(n: u128) -> i128 {
    (n >> 1) as i128 ^ -((n & 1) as i128)
}

#[cold]
fn utf8_error(what: &str, at: usize, bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(_) => format!("{what} at payload byte {at} is not UTF-8"),
        Err(e) => format!("{what} at payload byte {at} is not UTF-8: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(value: &impl Serialize) -> Vec<u8> {
        bincode::serde::encode_to_vec(value, bincode::config::standard()).unwrap()
    }

    /// One value decoded from `bytes`, which it must fill; a sequence or map is read back
    /// from its rewriting into `nested`.
    fn decode_value<'a>(bytes: &'a [u8], nested: &'a mut Vec<u8>) -> Result<ValueRef<'a>, String> {
        let mut payload = Payload { bytes, at: 0 };
        let value = payload.value(&mut *nested)?;
        assert_eq!(payload.at, bytes.len(), "the whole value is read");
        let nested: &'a Vec<u8> = nested;
        Ok(match value {
            ValueRef::Invalid => NestedReader::new(nested).next().expect("a container"),
            scalar => scalar,
        })
    }

    /// The bytes docs/FORMAT.md specifies for each value kind, at its edges, read back as
    /// the captured value they were written from.
    #[test]
    fn values_decode_as_the_format_document_says() {
        let ones = |marker: u8, n: usize| {
            let mut v = vec![marker];
            v.extend(std::iter::repeat_n(0xff, n));
            v
        };
        let with = |variant: u8, rest: Vec<u8>| [vec![variant], rest].concat();
        let mut deepest = vec![];
        for _ in 0..MAX_DEPTH {
            deepest.extend_from_slice(&[13, 1]);
        }
        deepest.extend_from_slice(&[3, 1]);
        let cases: Vec<(Vec<u8>, ValueRef<'_>)> = vec![
            (vec![0], ValueRef::Null),
            (vec![1, 1], ValueRef::Bool(true)),
            (vec![1, 0], ValueRef::Bool(false)),
            (vec![2, 1], ValueRef::I64(-1)),
            (vec![2, 2], ValueRef::I64(1)),
            (vec![2, 251, 0x8f, 0x01], ValueRef::I64(-200)),
            (with(2, ones(253, 8)), ValueRef::I64(i64::MIN)),
            (vec![3, 250], ValueRef::U64(250)),
            (vec![3, 251, 251, 0], ValueRef::U64(251)),
            (vec![3, 252, 0x70, 0x11, 0x01, 0x00], ValueRef::U64(70_000)),
            (vec![3, 253, 0, 0, 0, 0, 0, 1, 0, 0], ValueRef::U64(1 << 40)),
            (with(3, ones(253, 8)), ValueRef::U64(u64::MAX)),
            (with(4, ones(254, 16)), ValueRef::I128(i128::MIN)),
            (vec![4, 5], ValueRef::I128(-3)),
            (with(5, ones(254, 16)), ValueRef::U128(u128::MAX)),
            (vec![6, 0, 0, 0x80, 0x3f], ValueRef::F32(1.0)),
            (vec![6, 0, 0, 0xc0, 0xbf], ValueRef::F32(-1.5)),
            (vec![7, 0, 0, 0, 0, 0, 0, 0, 0xc0], ValueRef::F64(-2.0)),
            (
                with(7, f64::MAX.to_le_bytes().to_vec()),
                ValueRef::F64(f64::MAX),
            ),
            (vec![8, 0xe9], ValueRef::Char('é')),
            // A surrogate is no character: it reads as the replacement character.
            (vec![8, 251, 0x00, 0xd8], ValueRef::Char('\u{fffd}')),
            (vec![9, 3, b'h', 0xc3, 0xa9], ValueRef::Str("hé")),
            (vec![10, 2, 0, 255], ValueRef::Bytes(&[0, 255])),
            (vec![11, 10, 0, 0, 1], ValueRef::Ip([10, 0, 0, 1].into())),
            (with(12, vec![7; 16]), ValueRef::Ip([7u8; 16].into())),
        ];
        for (encoded, expected) in &cases {
            let mut nested = Vec::new();
            assert_eq!(
                decode_value(encoded, &mut nested),
                Ok(*expected),
                "{encoded:?}"
            );
            assert!(nested.is_empty(), "{encoded:?}");
        }
        let containers: [(&[u8], &str, &str); 4] = [
            (&[13, 1, 0], "Seq([Null])", "[null]"),
            (
                &[14, 1, 1, b'k', 1, 0],
                "Map([Str(\"k\"), Bool(false)])",
                "{\"k\": false}",
            ),
            (
                &[
                    14, 2, 1, b'k', 13, 2, 9, 1, b'x', 8, 0xe9, 1, b'j', 11, 1, 2, 3, 4,
                ],
                "Map([Str(\"k\"), Seq([Str(\"x\"), Char('é')]), Str(\"j\"), Ip(1.2.3.4)])",
                "{\"k\": [\"x\", \"é\"], \"j\": \"1.2.3.4\"}",
            ),
            (
                &deepest,
                "",
                &format!("{}1{}", "[".repeat(64), "]".repeat(64)),
            ),
        ];
        for (encoded, debug, text) in containers {
            let mut nested = Vec::new();
            let value = decode_value(encoded, &mut nested).unwrap();
            if !debug.is_empty() {
                assert_eq!(format!("{value:?}"), debug);
            }
            assert_eq!(value.to_string(), text);
        }
    }

    #[test]
    fn frames_encode_as_the_format_document_says() {
        let thread = Frame::Thread {
            id: 0,
            name: "main",
        };
        assert_eq!(bytes(&thread), [1, 0, 4, b'm', b'a', b'i', b'n']);
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
        // The document's record: call site 3, thread 0, seq 7, ts 1, actor U64(42), one
        // value Bool(true).
        let mut dictionary = Dictionary::default();
        let mut out = LogRecord::blank();
        assert_eq!(
            decode(&mut dictionary, &bytes(&thread), &mut out),
            Ok(false)
        );
        for id in 0..=3 {
            let define = Frame::Callsite(Callsite {
                id,
                level: 3,
                target: "t".into(),
                module: "m".into(),
                file: "f".into(),
                line: 9,
                template: "{}".into(),
                fields: vec!["k".into()],
                pieces: vec![Piece::Actor, Piece::Lit(" ".into()), Piece::Arg(0)],
            });
            assert_eq!(
                decode(&mut dictionary, &bytes(&define), &mut out),
                Ok(false)
            );
        }
        let record = [2, 3, 0, 7, 1, 1, 3, 42, 1, 1, 1];
        assert_eq!(decode(&mut dictionary, &record, &mut out), Ok(true));
        assert_eq!((out.seq, out.ts, out.msg.as_str()), (7, 1, "42 true"));
        assert_eq!(out.actor, Some(FieldValue::U64(42)));
        assert_eq!(out.fields, [("k".to_owned(), FieldValue::Bool(true))]);
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

    /// A dictionary that defines thread 0 and call site 0, with `fields` and `pieces`.
    fn defining(fields: &[&str], pieces: Vec<Piece>) -> Dictionary {
        let mut dictionary = Dictionary::default();
        let mut out = LogRecord::blank();
        let thread = bytes(&Frame::Thread {
            id: 0,
            name: "main",
        });
        let callsite = bytes(&Frame::Callsite(Callsite {
            id: 0,
            level: 3,
            target: "t".into(),
            module: "t".into(),
            file: "f".into(),
            line: 1,
            template: String::new(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            pieces,
        }));
        assert_eq!(decode(&mut dictionary, &thread, &mut out), Ok(false));
        assert_eq!(decode(&mut dictionary, &callsite, &mut out), Ok(false));
        dictionary
    }

    /// Sequences and maps in the actor and among the values, between scalars, each come
    /// back in its place, into a fresh record and into one that held them before.
    #[test]
    fn containers_among_values_each_read_back_in_their_place() {
        let mut dictionary = defining(
            &["m", "n", "s"],
            vec![Piece::Arg(3), Piece::Lit(" ".into()), Piece::Actor],
        );
        let mut out = LogRecord::blank();
        let mut record = vec![2, 0, 0, 1, 1, 1, 13, 1, 3, 1, 4];
        record.extend_from_slice(&[14, 1, 1, b'k', 9, 1, b'v']);
        record.extend_from_slice(&[3, 2]);
        record.extend_from_slice(&[13, 2, 2, 1, 0]);
        record.extend_from_slice(&[13, 1, 13, 0]);
        let seq = |items| FieldValue::Seq(items);
        for _ in 0..2 {
            assert_eq!(decode(&mut dictionary, &record, &mut out), Ok(true));
            assert_eq!(out.actor, Some(seq(vec![FieldValue::U64(1)])));
            assert_eq!(
                out.fields,
                [
                    (
                        "m".to_owned(),
                        FieldValue::Map(vec![("k".into(), FieldValue::Str("v".into()))])
                    ),
                    ("n".to_owned(), FieldValue::U64(2)),
                    (
                        "s".to_owned(),
                        seq(vec![FieldValue::I64(-1), FieldValue::Null])
                    ),
                ]
            );
            assert_eq!(out.msg, "[[]] [1]");
        }
    }

    /// The room a record of large containers took is let go by the next record.
    #[test]
    fn large_containers_leave_no_large_buffer_behind() {
        let mut dictionary = defining(&[], vec![]);
        let mut out = LogRecord::blank();
        let mut large = record_frame(&[1, 13, 253]);
        large.extend_from_slice(&200_000u64.to_le_bytes());
        large.resize(large.len() + 200_000, 0);
        assert_eq!(decode(&mut dictionary, &large, &mut out), Ok(true));
        assert!(dictionary.nested.capacity() > KEEP_NESTED);
        assert_eq!(
            decode(&mut dictionary, &record_frame(&[0]), &mut out),
            Ok(true)
        );
        assert!(dictionary.nested.capacity() <= KEEP_NESTED);
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

        let mut values = vec![1];
        for _ in 0..=MAX_DEPTH {
            values.extend_from_slice(&[14, 1, 1, b'k']);
        }
        values.push(0);
        let error = decode_alone(&record_frame(&values)).unwrap_err();
        assert!(error.contains("nests deeper than 64 levels"), "{error}");
        // One level less is within the limit.
        let mut values = vec![1];
        for _ in 0..MAX_DEPTH {
            values.extend_from_slice(&[14, 1, 1, b'k']);
        }
        values.push(0);
        assert!(decode_alone(&record_frame(&values))
            .unwrap_err()
            .contains("undefined call site"));
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
        let record = record_frame(&[1, 3, 5]);
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
