//! The payload codec: how each kind of captured value is laid out in an event's payload,
//! with its tag, how it is written and how it is read back kept side by side.
//!
//! A payload is a run of values. Each value is a tag byte, then a fixed number of
//! little-endian bytes (numbers, characters, IP addresses), or a `u32` length and that
//! many bytes (strings, raw bytes), or nothing (null, booleans). A sequence or map is its
//! opening tag, its elements (a map's keys and values alternate, keys are strings) and an
//! end tag. Fields added by scopes follow a marker, as name and value pairs.
//!
//! Every writer of payload bytes (the captures in `value`, the serde serializer, scopes,
//! the record's cut) and every reader ([`NestedReader`], the binary encoder's transcoder)
//! goes through the tags defined here, once. The layout is private to this process: the
//! on-disk formats are specified in `docs/FORMAT.md`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::payload::Payload;

/// The byte that starts each value, and what follows it.
pub(crate) mod tag {
    /// An absent value; nothing follows.
    pub const NULL: u8 = 0;
    /// `false`; nothing follows.
    pub const FALSE: u8 = 1;
    /// `true`; nothing follows.
    pub const TRUE: u8 = 2;
    /// A signed integer: 8 bytes.
    pub const I64: u8 = 3;
    /// An unsigned integer: 8 bytes.
    pub const U64: u8 = 4;
    /// A 64-bit float: 8 bytes.
    pub const F64: u8 = 5;
    /// A 32-bit float: 4 bytes.
    pub const F32: u8 = 6;
    /// A character, as its Unicode scalar value: 4 bytes.
    pub const CHAR: u8 = 7;
    /// A UTF-8 string: a `u32` length and the bytes.
    pub const STR: u8 = 8;
    /// Raw bytes: a `u32` length and the bytes.
    pub const BYTES: u8 = 9;
    /// A 128-bit signed integer: 16 bytes.
    pub const I128: u8 = 10;
    /// A 128-bit unsigned integer: 16 bytes.
    pub const U128: u8 = 11;
    /// An IPv4 address: its 4 octets.
    pub const IPV4: u8 = 12;
    /// An IPv6 address: its 16 octets.
    pub const IPV6: u8 = 13;
    /// Opens a sequence: values up to the matching [`END`].
    pub const SEQ: u8 = 14;
    /// Opens a map: key and value pairs up to the matching [`END`].
    pub const MAP: u8 = 15;
    /// Closes the innermost open sequence or map.
    pub const END: u8 = 16;
    /// Starts the fields a scope added: name and value pairs to the end.
    pub const SCOPED: u8 = 17;
}

/// A value written as its tag and `N` bytes.
#[derive(Clone, Copy)]
pub(crate) struct Fixed<const N: usize> {
    pub(crate) tag: u8,
    pub(crate) bytes: [u8; N],
}

/// Appends a value of fixed size.
#[inline(always)]
pub(crate) fn put<const N: usize>(buf: &mut Payload, value: Fixed<N>) {
    buf.put(value.tag, value.bytes);
}

/// Appends a value of fixed size to a plain buffer: the binary reader rewrites the
/// sequences and maps it reads into this layout.
#[cfg(feature = "read")]
#[inline]
pub(crate) fn append<const N: usize>(out: &mut Vec<u8>, value: Fixed<N>) {
    out.push(value.tag);
    out.extend_from_slice(&value.bytes);
}

/// Appends a string or raw bytes (`tag`), `len` long, to a plain buffer.
#[cfg(feature = "read")]
#[inline]
pub(crate) fn append_len_prefixed(out: &mut Vec<u8>, tag: u8, len: u32, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

// Each kind: how it is encoded, then how it is decoded.

#[inline(always)]
pub(crate) const fn encode_null() -> Fixed<0> {
    Fixed {
        tag: tag::NULL,
        bytes: [],
    }
}

#[inline(always)]
pub(crate) const fn encode_bool(v: bool) -> Fixed<0> {
    Fixed {
        tag: if v { tag::TRUE } else { tag::FALSE },
        bytes: [],
    }
}

#[inline(always)]
pub(crate) const fn encode_i64(v: i64) -> Fixed<8> {
    Fixed {
        tag: tag::I64,
        bytes: v.to_le_bytes(),
    }
}

#[inline]
fn decode_i64(bytes: [u8; 8]) -> ValueRef<'static> {
    ValueRef::I64(i64::from_le_bytes(bytes))
}

#[inline(always)]
pub(crate) const fn encode_u64(v: u64) -> Fixed<8> {
    Fixed {
        tag: tag::U64,
        bytes: v.to_le_bytes(),
    }
}

#[inline]
fn decode_u64(bytes: [u8; 8]) -> ValueRef<'static> {
    ValueRef::U64(u64::from_le_bytes(bytes))
}

#[inline(always)]
pub(crate) const fn encode_i128(v: i128) -> Fixed<16> {
    Fixed {
        tag: tag::I128,
        bytes: v.to_le_bytes(),
    }
}

#[inline]
fn decode_i128(bytes: [u8; 16]) -> ValueRef<'static> {
    ValueRef::I128(i128::from_le_bytes(bytes))
}

#[inline(always)]
pub(crate) const fn encode_u128(v: u128) -> Fixed<16> {
    Fixed {
        tag: tag::U128,
        bytes: v.to_le_bytes(),
    }
}

#[inline]
fn decode_u128(bytes: [u8; 16]) -> ValueRef<'static> {
    ValueRef::U128(u128::from_le_bytes(bytes))
}

#[inline(always)]
pub(crate) const fn encode_f32(v: f32) -> Fixed<4> {
    Fixed {
        tag: tag::F32,
        bytes: v.to_le_bytes(),
    }
}

#[inline]
fn decode_f32(bytes: [u8; 4]) -> ValueRef<'static> {
    ValueRef::F32(f32::from_le_bytes(bytes))
}

#[inline(always)]
pub(crate) const fn encode_f64(v: f64) -> Fixed<8> {
    Fixed {
        tag: tag::F64,
        bytes: v.to_le_bytes(),
    }
}

#[inline]
fn decode_f64(bytes: [u8; 8]) -> ValueRef<'static> {
    ValueRef::F64(f64::from_le_bytes(bytes))
}

#[inline(always)]
pub(crate) const fn encode_char(v: char) -> Fixed<4> {
    Fixed {
        tag: tag::CHAR,
        bytes: (v as u32).to_le_bytes(),
    }
}

/// `None` for a number that is no Unicode scalar value.
#[inline]
fn decode_char(bytes: [u8; 4]) -> Option<ValueRef<'static>> {
    char::from_u32(u32::from_le_bytes(bytes)).map(ValueRef::Char)
}

#[inline(always)]
pub(crate) const fn encode_ipv4(v: Ipv4Addr) -> Fixed<4> {
    Fixed {
        tag: tag::IPV4,
        bytes: v.octets(),
    }
}

#[inline]
fn decode_ipv4(bytes: [u8; 4]) -> ValueRef<'static> {
    ValueRef::Ip(IpAddr::V4(Ipv4Addr::from(bytes)))
}

#[inline(always)]
pub(crate) const fn encode_ipv6(v: Ipv6Addr) -> Fixed<16> {
    Fixed {
        tag: tag::IPV6,
        bytes: v.octets(),
    }
}

#[inline]
fn decode_ipv6(bytes: [u8; 16]) -> ValueRef<'static> {
    ValueRef::Ip(IpAddr::V6(Ipv6Addr::from(bytes)))
}

/// Appends a string as it is; [`put_str_cut`] and the captures bound its length.
#[inline(always)]
pub(crate) fn put_str(buf: &mut Payload, text: &[u8]) {
    buf.put_len_prefixed(tag::STR, text);
}

/// Starts a string whose bytes are appended next, as they are rendered; returns where
/// its length goes, which [`end_str`] writes.
#[inline]
pub(crate) fn begin_str(buf: &mut Payload) -> usize {
    buf.put(tag::STR, [0; 4]);
    buf.len() - 4
}

/// Ends a string that [`begin_str`] started, writing its length at `len_at`.
#[inline]
pub(crate) fn end_str(buf: &mut Payload, len_at: usize) {
    // Nothing near 4 GiB fits a log record; the value limits keep strings far below.
    let len = u32::try_from(buf.len() - len_at - 4).unwrap_or(u32::MAX);
    buf.patch_u32(len_at, len);
}

/// `None` when the bytes are not UTF-8.
#[inline]
fn decode_str(bytes: &[u8]) -> Option<ValueRef<'_>> {
    utf8(bytes).map(ValueRef::Str)
}

/// Appends raw bytes as they are.
#[inline(always)]
pub(crate) fn put_bytes(buf: &mut Payload, bytes: &[u8]) {
    buf.put_len_prefixed(tag::BYTES, bytes);
}

/// Opens a sequence; [`close`] ends it.
#[cfg(any(feature = "serde", test))]
#[inline]
pub(crate) fn open_seq(buf: &mut Payload) {
    buf.push(tag::SEQ);
}

/// Opens a map; [`close`] ends it.
#[cfg(any(feature = "serde", test))]
#[inline]
pub(crate) fn open_map(buf: &mut Payload) {
    buf.push(tag::MAP);
}

/// Ends the innermost open sequence or map.
#[cfg(any(feature = "serde", test))]
#[inline]
pub(crate) fn close(buf: &mut Payload) {
    buf.push(tag::END);
}

/// Starts the fields a scope adds after the call's own values.
#[inline]
pub(crate) fn start_scoped(buf: &mut Payload) {
    buf.push(tag::SCOPED);
}

/// The text that ends a value cut short: `…[cut N bytes]`.
pub(crate) fn cut_marker(left_out: usize) -> String {
    format!("…[cut {left_out} bytes]")
}

/// Appends a string, cut at a character boundary and ended with [`cut_marker`] if it is
/// longer than `room`.
#[cold]
pub(crate) fn put_str_cut(buf: &mut Payload, text: &str, room: usize) {
    if text.len() <= room {
        put_str(buf, text.as_bytes());
        return;
    }
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = format!("{}{}", &text[..end], cut_marker(text.len() - end));
    put_str(buf, cut.as_bytes());
}

/// A captured value, borrowed from its record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// An absent value, such as `None`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A 128-bit signed integer.
    I128(i128),
    /// A 128-bit unsigned integer.
    U128(u128),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// A character.
    Char(char),
    /// A string.
    Str(&'a str),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// An IP address.
    Ip(IpAddr),
    /// A sequence of values (from a `serde` field).
    Seq(Nested<'a>),
    /// A map of string keys to values (from a `serde` field).
    Map(Nested<'a>),
    /// Bytes that could not be decoded; see
    /// [`Decoded::is_damaged`](crate::Decoded::is_damaged).
    Invalid,
}

/// The content of a nested sequence or map.
#[derive(Clone, Copy, PartialEq)]
pub struct Nested<'a> {
    bytes: &'a [u8],
}

impl<'a> Nested<'a> {
    /// The elements in order; for a map, keys and values alternate.
    pub fn iter(&self) -> NestedReader<'a> {
        NestedReader::new(self.bytes)
    }

    /// The key-value pairs of a map.
    pub fn entries(&self) -> impl Iterator<Item = (ValueRef<'a>, ValueRef<'a>)> + use<'a> {
        super::value_view::Entries(self.iter())
    }
}

impl core::fmt::Debug for Nested<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Reads values one after another from a payload; stops at the first malformed byte. It
/// is what [`Nested::iter`] gives: the items of a captured sequence or map. (Not to be
/// confused with `trail::read::Reader`, which reads records back from files.)
///
/// ```
/// /// The items of a captured sequence, as text.
/// fn items(nested: trail::Nested<'_>) -> Vec<String> {
///     let reader: trail::NestedReader<'_> = nested.iter();
///     reader.map(|item| item.to_string()).collect()
/// }
/// ```
#[doc(alias = "Reader")]
#[derive(Clone)]
pub struct NestedReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    damaged: bool,
}

impl<'a> NestedReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        NestedReader {
            bytes,
            pos: 0,
            damaged: false,
        }
    }

    /// Whether the reader stopped at a malformed byte.
    pub(crate) fn damaged(&self) -> bool {
        self.damaged
    }

    /// Where the next value starts.
    #[cfg(feature = "writer")]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Whether the bytes are all read.
    #[cfg(feature = "writer")]
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Steps over the marker that starts the scopes' fields, if it comes next.
    pub(crate) fn skip_scoped_start(&mut self) -> bool {
        let at = self.bytes.get(self.pos) == Some(&tag::SCOPED);
        if at {
            self.pos += 1;
        }
        at
    }

    /// Whether the marker that starts the scopes' fields comes next.
    pub(crate) fn at_scoped_start(&self) -> bool {
        self.bytes.get(self.pos) == Some(&tag::SCOPED)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let out = *self.bytes.get(self.pos..)?.first_chunk::<N>()?;
        self.pos += N;
        Some(out)
    }

    fn len_prefixed(&mut self) -> Option<&'a [u8]> {
        let n = u32::from_le_bytes(self.array()?);
        self.take(n as usize)
    }

    /// Skips one value's bytes, nested ones included, without recursion.
    fn skip_nested(&mut self) -> Option<()> {
        let mut depth = 1usize;
        while depth > 0 {
            match *self.take(1)?.first()? {
                tag::SEQ | tag::MAP => depth += 1,
                tag::END => depth -= 1,
                t => self.skip_scalar(t)?,
            }
        }
        Some(())
    }

    fn skip_scalar(&mut self, t: u8) -> Option<()> {
        match t {
            tag::NULL | tag::FALSE | tag::TRUE => {}
            tag::I64 | tag::U64 | tag::F64 => {
                self.take(8)?;
            }
            tag::F32 | tag::CHAR | tag::IPV4 => {
                self.take(4)?;
            }
            tag::I128 | tag::U128 | tag::IPV6 => {
                self.take(16)?;
            }
            tag::STR | tag::BYTES => {
                self.len_prefixed()?;
            }
            _ => return None,
        }
        Some(())
    }

    /// Reads the next value; `None` if it is malformed.
    #[inline]
    pub(crate) fn read(&mut self) -> Option<ValueRef<'a>> {
        let t = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(match t {
            tag::NULL => ValueRef::Null,
            tag::FALSE => ValueRef::Bool(false),
            tag::TRUE => ValueRef::Bool(true),
            tag::I64 => decode_i64(self.array()?),
            tag::U64 => decode_u64(self.array()?),
            tag::F64 => decode_f64(self.array()?),
            tag::F32 => decode_f32(self.array()?),
            tag::CHAR => decode_char(self.array()?)?,
            tag::I128 => decode_i128(self.array()?),
            tag::U128 => decode_u128(self.array()?),
            tag::STR => decode_str(self.len_prefixed()?)?,
            tag::BYTES => ValueRef::Bytes(self.len_prefixed()?),
            tag::IPV4 => decode_ipv4(self.array()?),
            tag::IPV6 => decode_ipv6(self.array()?),
            tag::SEQ | tag::MAP => {
                let start = self.pos;
                self.skip_nested()?;
                let nested = Nested {
                    bytes: &self.bytes[start..self.pos - 1],
                };
                if t == tag::SEQ {
                    ValueRef::Seq(nested)
                } else {
                    ValueRef::Map(nested)
                }
            }
            _ => return None,
        })
    }
}

#[cfg(feature = "writer")]
use crate::schema::Kind;

#[cfg(feature = "writer")]
impl NestedReader<'_> {
    /// Steps over the next value and tells its kind, as the reader of any format will see
    /// it; `None` if it is malformed. The kinds most values have are told from their tag
    /// and fixed bytes alone; strings are only stepped over (they were valid text when
    /// captured, and checking them again would cost more than the rest).
    #[inline]
    pub(crate) fn next_kind(&mut self) -> Option<Kind> {
        let t = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(match t {
            tag::NULL => Kind::Null,
            tag::FALSE | tag::TRUE => Kind::Bool,
            tag::I64 => Kind::of_captured(decode_i64(self.array()?)),
            tag::U64 => Kind::of_captured(decode_u64(self.array()?)),
            tag::F64 => Kind::of_captured(decode_f64(self.array()?)),
            tag::STR => {
                self.len_prefixed()?;
                Kind::String
            }
            _ => {
                self.pos -= 1;
                return self.read_kind();
            }
        })
    }

    /// [`next_kind`](NestedReader::next_kind) for the rarer kinds: through the value.
    #[cold]
    fn read_kind(&mut self) -> Option<Kind> {
        self.read().map(Kind::of_captured)
    }
}

impl<'a> Iterator for NestedReader<'a> {
    type Item = ValueRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<ValueRef<'a>> {
        if self.damaged || self.pos >= self.bytes.len() {
            return None;
        }
        let value = self.read();
        if value.is_none() {
            self.damaged = true;
        }
        value
    }
}

/// A captured string's bytes as text, or `None` if they are not UTF-8.
///
/// Captured strings are nearly always ASCII, which `is_ascii` confirms a word at a time;
/// the full validation, much slower on short strings, runs only for the others.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        Some(unsafe { core::str::from_utf8_unchecked(bytes) })
    } else {
        core::str::from_utf8(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::super::payload::RecordPayload;
    use super::*;

    /// Every kind, written by its encoder and read back by the reader, is itself again,
    /// and the bytes are the tag and the layout the module describes.
    #[test]
    fn every_kind_reads_back_as_written() {
        let mut stored = RecordPayload::new();
        let mut p = stored.edit();
        put(&mut p, encode_null());
        put(&mut p, encode_bool(true));
        put(&mut p, encode_bool(false));
        put(&mut p, encode_i64(-3));
        put(&mut p, encode_u64(u64::MAX));
        put(&mut p, encode_i128(i128::MIN));
        put(&mut p, encode_u128(u128::MAX));
        put(&mut p, encode_f32(0.1));
        put(&mut p, encode_f64(-2.5));
        put(&mut p, encode_char('é'));
        put(&mut p, encode_ipv4(Ipv4Addr::new(10, 0, 0, 7)));
        put(&mut p, encode_ipv6(Ipv6Addr::LOCALHOST));
        put_str(&mut p, "ana".as_bytes());
        put_bytes(&mut p, &[0, 255]);
        open_seq(&mut p);
        put(&mut p, encode_u64(1));
        open_map(&mut p);
        put_str(&mut p, b"k");
        put(&mut p, encode_null());
        close(&mut p);
        close(&mut p);
        drop(p);
        let bytes = stored.as_slice();
        assert_eq!(&bytes[..4], &[tag::NULL, tag::TRUE, tag::FALSE, tag::I64]);
        let values: Vec<String> = NestedReader::new(bytes).map(|v| format!("{v:?}")).collect();
        assert_eq!(
            values,
            [
                "Null",
                "Bool(true)",
                "Bool(false)",
                "I64(-3)",
                "U64(18446744073709551615)",
                "I128(-170141183460469231731687303715884105728)",
                "U128(340282366920938463463374607431768211455)",
                "F32(0.1)",
                "F64(-2.5)",
                "Char('é')",
                "Ip(10.0.0.7)",
                "Ip(::1)",
                "Str(\"ana\")",
                "Bytes([0, 255])",
                "Seq([U64(1), Map([Str(\"k\"), Null])])",
            ]
        );
    }

    #[test]
    fn a_malformed_value_stops_the_reader_and_marks_it_damaged() {
        for bytes in [
            &[tag::I64, 1, 2][..],
            &[tag::CHAR, 0, 0xD8, 0, 0][..],
            &[tag::STR, 1, 0, 0, 0, 0xFF][..],
            &[tag::SEQ, tag::U64][..],
            &[tag::SCOPED][..],
            &[99][..],
        ] {
            let mut reader = NestedReader::new(bytes);
            assert_eq!(reader.next(), None, "{bytes:?}");
            assert!(reader.damaged(), "{bytes:?}");
        }
    }
}
