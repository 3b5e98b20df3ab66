//! Record frames written by hand, without serde: the binary writer's hot path.
//!
//! [`transcode_record`] turns a record's captured bytes into a frame directly;
//! [`write_record`] writes one from values. Both write exactly what serde and bincode
//! write for the same frame (the tests below prove it), in the layout of
//! [`crate::format::binary`]; nested values still go through serde.

use super::nested_value;
use crate::capture::codec::tag;
use crate::capture::value_view::{Shape, ValueView};
use crate::format::binary::{frame, framed, variant};
use crate::record::ValueRef;
use crate::schema::Kind;
use crate::span::SpanRef;

/// Writes a record frame straight from a record's captured bytes: each value's tag and
/// bytes become the frame's, with no decoded value in between. This is what
/// `write_record` writes for the same values; `None`, with `out` as it was, for a payload
/// it leaves to that path: one with nested values, or a malformed one.
///
/// Returns the values' kinds as the schema summary packs them (see
/// `schema::Collector`), told on the way: the actor's in the lowest four bits (0 for no
/// actor), then each value's, for as many as fit.
pub(super) fn transcode_record(
    out: &mut Vec<u8>,
    [callsite, thread]: [u32; 2],
    [seq, ts]: [u64; 2],
    payload: &[u8],
    has_actor: bool,
) -> Option<u64> {
    let start = out.len();
    let mut whole = true;
    let mut kinds = 0u64;
    framed(out, |out| {
        // A value takes at most twice its captured bytes in the frame (a `bool`'s one
        // byte becomes two); the items before the values take at most 31.
        out.reserve(32 + 2 * payload.len());
        let body = out.len();
        // SAFETY: every write below stays within the room just reserved, as the bound
        // above says, and every byte up to the length set at the end is written.
        unsafe {
            let mut p = out.as_mut_ptr().add(body);
            p = put_varint(p, u64::from(frame::RECORD));
            p = put_varint(p, u64::from(callsite));
            p = put_varint(p, u64::from(thread));
            p = put_varint(p, seq);
            p = put_varint(p, ts);
            p.write(u8::from(has_actor));
            p = p.add(1);
            let mut pos = 0;
            if has_actor {
                match transcode_value(payload, &mut pos, p) {
                    Some((end, kind)) => {
                        p = end;
                        kinds = kind;
                    }
                    None => whole = false,
                }
            }
            // The count: one byte, patched below, or widened for 251 values or more.
            let count_at = p.offset_from(out.as_ptr()) as usize;
            p = p.add(1);
            let mut count = 0u64;
            while whole && pos < payload.len() {
                match transcode_value(payload, &mut pos, p) {
                    Some((end, kind)) => {
                        p = end;
                        // Past the sixteenth slot the kinds are not kept (the shift
                        // would wrap); the summary then reads them itself.
                        if count < 15 {
                            kinds |= kind << (4 * (count + 1));
                        }
                    }
                    None => whole = false,
                }
                count += 1;
            }
            if !whole {
                return;
            }
            out.set_len(p.offset_from(out.as_ptr()) as usize);
            match u8::try_from(count) {
                Ok(n) if n < 251 => out[count_at] = n,
                _ => {
                    let mut wide = Vec::with_capacity(9);
                    varint(&mut wide, count);
                    out.splice(count_at..=count_at, wide);
                }
            }
        }
    });
    if !whole {
        out.truncate(start);
        return None;
    }
    Some(kinds)
}

/// Writes the captured value at `payload[*pos..]` at `p` in the frame's layout and moves
/// `pos` past it; returns where the written bytes end and the value's kind, packed (see
/// [`transcode_record`]). `None` for a nested value or a malformed one.
///
/// # Safety
///
/// `p` must be valid for writes of twice the value's captured bytes.
#[inline(always)]
unsafe fn transcode_value(payload: &[u8], pos: &mut usize, p: *mut u8) -> Option<(*mut u8, u64)> {
    let t = *payload.get(*pos)?;
    let rest = &payload[*pos + 1..];
    // The kind as the summary tells it from the captured value; the arms below that
    // read the value pass it, the others their tag's one kind.
    let kind = |value: ValueRef<'_>| Kind::of_captured(value).packed();
    // Each arm: the frame's bytes, how many captured bytes followed the tag, and the
    // value's kind (text and addresses are strings).
    // SAFETY (for all arms): each writes at most twice `1 + used` bytes, as the caller
    // vouches room for.
    let (end, used, kind_code) = unsafe {
        match t {
            tag::NULL => {
                p.write(variant::NULL);
                (p.add(1), 0, kind(ValueRef::Null))
            }
            tag::FALSE | tag::TRUE => {
                p.write(variant::BOOL);
                p.add(1).write(t - tag::FALSE);
                (p.add(2), 0, kind(ValueRef::Bool(t == tag::TRUE)))
            }
            tag::I64 => {
                let n = i64::from_le_bytes(*rest.first_chunk()?);
                p.write(variant::I64);
                let end = put_varint(p.add(1), ((n << 1) ^ (n >> 63)) as u64);
                (end, 8, kind(ValueRef::I64(n)))
            }
            tag::U64 => {
                let n = u64::from_le_bytes(*rest.first_chunk()?);
                p.write(variant::U64);
                (put_varint(p.add(1), n), 8, kind(ValueRef::U64(n)))
            }
            // The binary format keeps a non-finite float a float.
            tag::F64 => (
                put_fixed::<8>(p, variant::F64, rest)?,
                8,
                Kind::Float.packed(),
            ),
            tag::F32 => (
                put_fixed::<4>(p, variant::F32, rest)?,
                4,
                Kind::Float.packed(),
            ),
            tag::CHAR => {
                let c = char::from_u32(u32::from_le_bytes(*rest.first_chunk()?))?;
                p.write(variant::CHAR);
                let end = put_varint(p.add(1), u64::from(u32::from(c)));
                (end, 4, kind(ValueRef::Char(c)))
            }
            tag::STR | tag::BYTES => {
                let len = u32::from_le_bytes(*rest.first_chunk()?) as usize;
                let bytes = rest.get(4..4 + len)?;
                if t == tag::STR {
                    crate::capture::codec::utf8(bytes)?;
                }
                p.write(if t == tag::STR {
                    variant::STR
                } else {
                    variant::BYTES
                });
                let at = put_varint(p.add(1), len as u64);
                let room = core::slice::from_raw_parts_mut(at.cast(), len);
                crate::payload::write_uninit(room, bytes);
                let told = if t == tag::STR {
                    Kind::String
                } else {
                    Kind::of_captured(ValueRef::Bytes(bytes))
                };
                (at.add(len), 4 + len, told.packed())
            }
            tag::I128 => {
                let n = i128::from_le_bytes(*rest.first_chunk()?);
                p.write(variant::I128);
                let end = put_varint128(p.add(1), ((n << 1) ^ (n >> 127)) as u128);
                (end, 16, kind(ValueRef::I128(n)))
            }
            tag::U128 => {
                let n = u128::from_le_bytes(*rest.first_chunk()?);
                p.write(variant::U128);
                (put_varint128(p.add(1), n), 16, kind(ValueRef::U128(n)))
            }
            tag::IPV4 => (
                put_fixed::<4>(p, variant::IPV4, rest)?,
                4,
                Kind::String.packed(),
            ),
            tag::IPV6 => (
                put_fixed::<16>(p, variant::IPV6, rest)?,
                16,
                Kind::String.packed(),
            ),
            _ => return None,
        }
    };
    *pos += 1 + used;
    Some((end, kind_code))
}

/// Writes `tag` and the first `N` bytes of `rest` as they are.
///
/// # Safety
///
/// `p` must be valid for writes of `1 + N` bytes.
#[inline(always)]
unsafe fn put_fixed<const N: usize>(p: *mut u8, tag: u8, rest: &[u8]) -> Option<*mut u8> {
    let bytes = *rest.first_chunk::<N>()?;
    // SAFETY: as the caller vouches.
    unsafe {
        p.write(tag);
        p.add(1).cast::<[u8; N]>().write_unaligned(bytes);
        Some(p.add(1 + N))
    }
}

/// Writes `n` as the format's variable-length 128-bit integer; returns where it ends.
///
/// # Safety
///
/// `p` must be valid for writes of 17 bytes.
#[inline(always)]
unsafe fn put_varint128(p: *mut u8, n: u128) -> *mut u8 {
    // SAFETY: at most 17 bytes are written, as the caller vouches room for.
    unsafe {
        match u64::try_from(n) {
            Ok(n) => put_varint(p, n),
            Err(_) => {
                p.write(254);
                p.add(1).cast::<[u8; 16]>().write_unaligned(n.to_le_bytes());
                p.add(17)
            }
        }
    }
}

/// Writes a record frame, as `write_frame` would write `FrameRef::Record`, without going
/// through serde: the writer's hot path. Nested values still take serde's path.
pub(crate) fn write_record<'a, V: ValueView<'a>>(
    out: &mut Vec<u8>,
    [callsite, thread]: [u32; 2],
    [seq, ts]: [u64; 2],
    actor: Option<V>,
    values: impl Iterator<Item = V>,
    span: Option<SpanRef<'_>>,
) {
    let variant = match span {
        Some(_) => frame::RECORD_IN_SPAN,
        None => frame::RECORD,
    };
    framed(out, |out| {
        out.reserve(1 + 5 + 5 + 9 + 9 + 1);
        // SAFETY: room for the largest encodings of these six items was just reserved.
        unsafe {
            put(out, |p| {
                let p = put_varint(p, u64::from(variant));
                let p = put_varint(p, u64::from(callsite));
                let p = put_varint(p, u64::from(thread));
                let p = put_varint(p, seq);
                let p = put_varint(p, ts);
                p.write(u8::from(actor.is_some()));
                p.add(1)
            })
        };
        if let Some(actor) = actor {
            any_value(out, actor);
        }
        // The count comes first: one byte, patched once the values are written, or
        // widened in place for 251 values or more.
        let count_at = out.len();
        out.push(0);
        let mut count = 0u64;
        for v in values {
            any_value(out, v);
            count += 1;
        }
        match u8::try_from(count) {
            Ok(n) if n < 251 => out[count_at] = n,
            _ => {
                let mut wide = Vec::with_capacity(9);
                varint(&mut wide, count);
                out.splice(count_at..=count_at, wide);
            }
        }
        if let Some(span) = span {
            // As bincode writes `([u8; 16], [u8; 8], [u8; 8], &str)`: the arrays raw.
            out.extend_from_slice(&span.trace_id);
            out.extend_from_slice(&span.span_id);
            out.extend_from_slice(&span.parent_id);
            varint(out, span.name.len() as u64);
            out.extend_from_slice(span.name.as_bytes());
        }
    });
}

/// An unsigned integer in the format's variable length.
#[inline(always)]
fn varint(out: &mut Vec<u8>, n: u64) {
    out.reserve(9);
    // SAFETY: nine bytes, the most a varint takes, were just reserved.
    unsafe { put(out, |p| put_varint(p, n)) };
}

/// Lets `write` put bytes right after `out`'s end, and makes them part of it: `write`
/// returns where its bytes end.
///
/// # Safety
///
/// `write` must write only initialised bytes, and no more than `out`'s spare capacity.
#[inline(always)]
unsafe fn put(out: &mut Vec<u8>, write: impl FnOnce(*mut u8) -> *mut u8) {
    let start = out.as_mut_ptr_range().end;
    let end = write(start);
    // SAFETY: as the caller vouches, the bytes up to `end` are written and inside the
    // capacity.
    unsafe { out.set_len(out.len() + end.offset_from(start) as usize) };
}

/// Writes `n` at `p` as bincode's variable-length integer; returns where it ends.
///
/// # Safety
///
/// `p` must be valid for writes of nine bytes.
#[inline(always)]
unsafe fn put_varint(p: *mut u8, n: u64) -> *mut u8 {
    // SAFETY: at most nine bytes are written, as the caller vouches room for.
    unsafe {
        if n < 251 {
            p.write(n as u8);
            p.add(1)
        } else if let Ok(n) = u16::try_from(n) {
            p.write(251);
            p.add(1).cast::<[u8; 2]>().write_unaligned(n.to_le_bytes());
            p.add(3)
        } else if let Ok(n) = u32::try_from(n) {
            p.write(252);
            p.add(1).cast::<[u8; 4]>().write_unaligned(n.to_le_bytes());
            p.add(5)
        } else {
            p.write(253);
            p.add(1).cast::<[u8; 8]>().write_unaligned(n.to_le_bytes());
            p.add(9)
        }
    }
}

/// Writes a tag and then `n` as a varint.
#[inline(always)]
fn tagged_varint(out: &mut Vec<u8>, tag: u8, n: u64) {
    out.reserve(10);
    // SAFETY: ten bytes, a tag and the longest varint, were just reserved.
    unsafe {
        put(out, |p| {
            p.write(tag);
            put_varint(p.add(1), n)
        })
    };
}

/// Writes a tag and then the fixed-size `bytes`.
#[inline(always)]
fn tagged<const N: usize>(out: &mut Vec<u8>, tag: u8, bytes: [u8; N]) {
    out.reserve(1 + N);
    // SAFETY: `1 + N` bytes were just reserved.
    unsafe {
        put(out, |p| {
            p.write(tag);
            p.add(1).cast::<[u8; N]>().write_unaligned(bytes);
            p.add(1 + N)
        })
    };
}

fn varint128(out: &mut Vec<u8>, n: u128) {
    match u64::try_from(n) {
        Ok(n) => varint(out, n),
        Err(_) => {
            out.push(254);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Writes a tag, the length of `b` as a varint, and `b`.
#[inline(always)]
fn tagged_bytes(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
    tagged_varint(out, tag, b.len() as u64);
    crate::encode::append(out, b);
}

/// One value, in the format's layout.
fn value(out: &mut Vec<u8>, v: ValueRef<'_>) {
    match v {
        ValueRef::Null | ValueRef::Invalid => out.push(variant::NULL),
        ValueRef::Bool(b) => tagged(out, variant::BOOL, [u8::from(b)]),
        ValueRef::I64(n) => tagged_varint(out, variant::I64, ((n << 1) ^ (n >> 63)) as u64),
        ValueRef::U64(n) => tagged_varint(out, variant::U64, n),
        ValueRef::I128(n) => {
            out.push(variant::I128);
            varint128(out, ((n << 1) ^ (n >> 127)) as u128);
        }
        ValueRef::U128(n) => {
            out.push(variant::U128);
            varint128(out, n);
        }
        ValueRef::F32(f) => tagged(out, variant::F32, f.to_le_bytes()),
        ValueRef::F64(f) => tagged(out, variant::F64, f.to_le_bytes()),
        ValueRef::Char(c) => tagged_varint(out, variant::CHAR, u64::from(u32::from(c))),
        ValueRef::Str(text) => tagged_bytes(out, variant::STR, text.as_bytes()),
        ValueRef::Bytes(b) => tagged_bytes(out, variant::BYTES, b),
        ValueRef::Ip(std::net::IpAddr::V4(ip)) => tagged(out, variant::IPV4, ip.octets()),
        ValueRef::Ip(std::net::IpAddr::V6(ip)) => tagged(out, variant::IPV6, ip.octets()),
        ValueRef::Seq(_) | ValueRef::Map(_) => nested_value(out, v),
    }
}

/// Any value the encoders take, in the format's layout: scalars as [`value`] writes them.
#[inline]
fn any_value<'a, V: ValueView<'a>>(out: &mut Vec<u8>, v: V) {
    match v.shape() {
        Shape::Scalar(scalar) => value(out, scalar),
        Shape::Seq(_) | Shape::Map(_) => nested_value(out, v),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{write_frame, FrameRef, RecordRef, Val, Vals};
    use super::*;
    use crate::{Metadata, Record};
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = ValueRef<'static>> {
        prop_oneof![
            Just(ValueRef::Null),
            any::<bool>().prop_map(ValueRef::Bool),
            any::<i64>().prop_map(ValueRef::I64),
            any::<u64>().prop_map(ValueRef::U64),
            any::<i128>().prop_map(ValueRef::I128),
            any::<u128>().prop_map(ValueRef::U128),
            any::<f32>().prop_map(ValueRef::F32),
            any::<f64>().prop_map(ValueRef::F64),
            any::<char>().prop_map(ValueRef::Char),
            "[a-z\\u{e9}\\u{1f600}]{0,300}"
                .prop_map(|s| ValueRef::Str(Box::leak(s.into_boxed_str()))),
            proptest::collection::vec(any::<u8>(), 0..300)
                .prop_map(|b| ValueRef::Bytes(Box::leak(b.into_boxed_slice()))),
            any::<[u8; 4]>().prop_map(|o| ValueRef::Ip(std::net::Ipv4Addr::from(o).into())),
            any::<[u8; 16]>().prop_map(|o| ValueRef::Ip(std::net::Ipv6Addr::from(o).into())),
        ]
    }

    proptest! {
        /// The hand-written record frame is byte for byte what serde and bincode write.
        #[test]
        fn record_frames_match_the_serde_encoding(
            ids in any::<[u32; 2]>(),
            stamps in any::<[u64; 2]>(),
            actor in proptest::option::of(scalar()),
            values in proptest::collection::vec(scalar(), 0..300),
        ) {
            let mut fast = Vec::new();
            write_record(&mut fast, ids, stamps, actor, values.iter().copied(), None);
            let mut slow = Vec::new();
            write_frame(
                &FrameRef::Record(RecordRef {
                    callsite: ids[0],
                    thread: ids[1],
                    seq: stamps[0],
                    ts: stamps[1],
                    actor: actor.map(|a| Val::new(a, 0)),
                    values: Vals(&values),
                }),
                &mut slow,
            );
            prop_assert_eq!(fast, slow);
        }

        /// Values captured into a payload and transcoded make the frame that the
        /// reference path writes for the same payload read back value by value.
        #[test]
        fn transcoded_frames_match_frames_of_the_read_values(
            ids in any::<[u32; 2]>(),
            stamps in any::<[u64; 2]>(),
            actor in proptest::option::of(scalar()),
            values in proptest::collection::vec(scalar(), 0..300),
        ) {
            let mut record = Record::new(&META, 0, 0);
            if actor.is_some() {
                record.set_actor_flag();
            }
            for v in actor.iter().chain(&values) {
                capture(&mut record, *v);
            }
            let payload = record.plain_payload().expect("no scope fields");
            let mut fast = b"earlier frames".to_vec();
            prop_assert!(transcode_record(&mut fast, ids, stamps, payload, actor.is_some()).is_some());
            prop_assert_eq!(fast, reference(ids, stamps, payload, actor.is_some()).unwrap());
        }

        /// Any bytes at all: the transcoder writes a frame exactly when the payload reads
        /// whole without nested values, the reference frame then, and leaves the buffer
        /// untouched otherwise.
        #[test]
        fn arbitrary_payloads_are_transcoded_only_when_they_read_whole(
            payload in proptest::collection::vec(piece(), 0..8).prop_map(|p| p.concat()),
            has_actor in any::<bool>(),
        ) {
            let mut out = b"earlier frames".to_vec();
            let written = transcode_record(&mut out, [1, 2], [3, 4], &payload, has_actor).is_some();
            match reference([1, 2], [3, 4], &payload, has_actor) {
                Some(frame) => {
                    prop_assert!(written);
                    prop_assert_eq!(out, frame);
                }
                None => {
                    prop_assert!(!written);
                    prop_assert_eq!(out, b"earlier frames".to_vec());
                }
            }
        }
    }

    /// Bytes that often read as a value: a tag, perhaps a short length, and a few bytes
    /// (strings among them that are not UTF-8), or any byte at all.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        let tagged = (0u8..18, proptest::collection::vec(any::<u8>(), 0..20));
        let prefixed = (
            prop_oneof![Just(tag::STR), Just(tag::BYTES)],
            0u32..8,
            proptest::collection::vec(any::<u8>(), 0..10),
        );
        prop_oneof![
            tagged.prop_map(|(t, rest)| [&[t][..], &rest].concat()),
            prefixed.prop_map(|(t, n, rest)| [&[t][..], &n.to_le_bytes(), &rest].concat()),
            any::<u8>().prop_map(|b| vec![b]),
        ]
    }

    static META: Metadata = Metadata::for_test(crate::Level::Info, "bincode", "", &[], &[]);

    /// Captures `v` into the record's payload as the macros would.
    fn capture(record: &mut Record, v: ValueRef<'_>) {
        let mut payload = record.payload_mut();
        let c = crate::Capture::new(&mut payload);
        let _ = match v {
            ValueRef::Null | ValueRef::Invalid => c.null(),
            ValueRef::Bool(b) => c.bool(b),
            ValueRef::I64(n) => c.i64(n),
            ValueRef::U64(n) => c.u64(n),
            ValueRef::I128(n) => c.i128(n),
            ValueRef::U128(n) => c.u128(n),
            ValueRef::F32(f) => c.f32(f),
            ValueRef::F64(f) => c.f64(f),
            ValueRef::Char(ch) => c.char(ch),
            ValueRef::Str(text) => c.str(text),
            ValueRef::Bytes(b) => c.bytes(b),
            ValueRef::Ip(ip) => c.ip(ip),
            ValueRef::Seq(_) | ValueRef::Map(_) => unreachable!("scalars only"),
        };
    }

    /// The frame `write_record` makes of the payload's values read one by one, after
    /// "earlier frames"; `None` if the payload does not read whole or nests values.
    fn reference(
        ids: [u32; 2],
        stamps: [u64; 2],
        payload: &[u8],
        has_actor: bool,
    ) -> Option<Vec<u8>> {
        let mut reader = crate::record::NestedReader::new(payload);
        let values: Vec<ValueRef<'_>> = reader.by_ref().collect();
        if reader.damaged()
            || values
                .iter()
                .any(|v| matches!(v, ValueRef::Seq(_) | ValueRef::Map(_)))
        {
            return None;
        }
        let (actor, rest) = match (has_actor, values.split_first()) {
            (false, _) => (None, &values[..]),
            (true, Some((first, rest))) => (Some(*first), rest),
            (true, None) => return None,
        };
        let mut out = b"earlier frames".to_vec();
        write_record(&mut out, ids, stamps, actor, rest.iter().copied(), None);
        Some(out)
    }
}
