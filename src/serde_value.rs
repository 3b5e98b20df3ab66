//! Captures any `serde::Serialize` value as a typed, nested value (feature `serde`).
//!
//! The serializer writes the same tagged payload as the scalar captures, with sequence
//! and map markers around nested content. Enums follow serde_json's external tagging, so
//! the JSON a sink writes looks like what `serde_json` would have produced.
//!
//! A value takes at most the value limit ([`set_max_value_bytes`]), and no more than its
//! event has room left for. Past that, what comes next is left out, and so is everything
//! after it, so that what is kept is the value's beginning, well formed: the sequences and
//! maps still open are closed, and the outermost one ends with a marker element (in a
//! map, the key `…`) saying how many bytes were left out, `…[cut N bytes]`.
//!
//! [`set_max_value_bytes`]: crate::set_max_value_bytes

use core::fmt;

use serde::ser::{self, Serialize};

use crate::capture::codec::{self, cut_marker, Fixed};
use crate::capture::payload::Payload;

/// Serializes `value` into `buf`, cut as the module says if it is longer than
/// `max_value_bytes` or than the event has room left for. A `Serialize` impl that fails
/// leaves a string that says why, never half a value.
pub(crate) fn capture<T: Serialize + ?Sized>(buf: &mut Payload, value: &T, max_value_bytes: usize) {
    let limit = max_value_bytes.min(buf.room_left());
    capture_within(buf, value, limit);
}

/// [`capture`], with `limit` bytes for the value.
fn capture_within<T: Serialize + ?Sized>(buf: &mut Payload, value: &T, limit: usize) {
    let start = buf.len();
    let mut budget = ValueBudget {
        end: start + limit,
        full: false,
        left_out: 0,
        depth: 0,
    };
    let serializer = ValueSerializer {
        buf: &mut *buf,
        budget: &mut budget,
    };
    if let Err(err) = value.serialize(serializer) {
        buf.truncate(start);
        let text = format!("[unserializable: {}]", err.0);
        codec::put_str(buf, text.as_bytes());
    } else if buf.len() == start {
        // Not even the value's first bytes fitted: the marker stands in for it.
        codec::put_str(buf, cut_marker(budget.left_out).as_bytes());
    }
}

/// How much of a value may still be written, and what was left out.
struct ValueBudget {
    /// The payload's length that the value's bytes stay under, with three bytes per open
    /// sequence or map to spare; only the cut's markers (a few dozen bytes) may pass it.
    end: usize,
    /// Set once something was left out: everything after it is left out too.
    full: bool,
    /// Bytes left out, counted as they would have been captured.
    left_out: usize,
    /// Sequences and maps open.
    depth: usize,
}

impl ValueBudget {
    /// Bytes that may still be written into `buf` before the closing ones.
    fn left(&self, buf: &Payload) -> usize {
        if self.full {
            return 0;
        }
        // Each open sequence or map may still need its end, a variant's end, and a
        // null for a key whose value was left out.
        self.end.saturating_sub(buf.len() + 3 * self.depth)
    }

    /// Whether `n` more bytes may be written; if not, they are left out, and so is
    /// everything after them.
    fn admit(&mut self, buf: &Payload, n: usize) -> bool {
        if n <= self.left(buf) {
            return true;
        }
        self.left_out += n;
        self.full = true;
        false
    }
}

#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

struct ValueSerializer<'b> {
    buf: &'b mut Payload,
    budget: &'b mut ValueBudget,
}

impl<'b> ValueSerializer<'b> {
    fn fixed<const N: usize>(self, value: Fixed<N>) -> Result<(), Error> {
        if self.budget.admit(self.buf, 1 + N) {
            codec::put(self.buf, value);
        }
        Ok(())
    }

    /// Opens a map, or a sequence if not `map`, inside a one-entry map keyed by `variant`
    /// if there is one.
    fn open(self, map: bool, variant: Option<&str>) -> Compound<'b> {
        let n = 1 + variant.map_or(0, |name| 6 + name.len());
        let opened = self.budget.admit(self.buf, n);
        if opened {
            if let Some(name) = variant {
                codec::open_map(self.buf);
                codec::put_str(self.buf, name.as_bytes());
            }
            if map {
                codec::open_map(self.buf);
            } else {
                codec::open_seq(self.buf);
            }
            self.budget.depth += 1;
        }
        Compound {
            opened,
            outermost: self.budget.depth == 1,
            map,
            key_pending: false,
            buf: self.buf,
            budget: self.budget,
            variant: variant.is_some(),
        }
    }
}

/// The serializer's methods for scalars: each writes its value as the scalar captures do,
/// narrower integers widened to 64 bits.
macro_rules! scalars {
    ($($method:ident($ty:ty) => $encode:ident,)*) => {
        $(
            fn $method(self, v: $ty) -> Result<(), Error> {
                self.fixed(codec::$encode(v.into()))
            }
        )*
    };
}

impl<'b> ser::Serializer for ValueSerializer<'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'b>;
    type SerializeTuple = Compound<'b>;
    type SerializeTupleStruct = Compound<'b>;
    type SerializeTupleVariant = Compound<'b>;
    type SerializeMap = Compound<'b>;
    type SerializeStruct = Compound<'b>;
    type SerializeStructVariant = Compound<'b>;

    scalars! {
        serialize_bool(bool) => encode_bool,
        serialize_i8(i8) => encode_i64,
        serialize_i16(i16) => encode_i64,
        serialize_i32(i32) => encode_i64,
        serialize_i64(i64) => encode_i64,
        serialize_i128(i128) => encode_i128,
        serialize_u8(u8) => encode_u64,
        serialize_u16(u16) => encode_u64,
        serialize_u32(u32) => encode_u64,
        serialize_u64(u64) => encode_u64,
        serialize_u128(u128) => encode_u128,
        serialize_f32(f32) => encode_f32,
        serialize_f64(f64) => encode_f64,
        serialize_char(char) => encode_char,
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        let left = self.budget.left(self.buf);
        if self.budget.full {
            self.budget.left_out += 5 + v.len();
        } else if v.len() + 5 <= left {
            codec::put_str(self.buf, v.as_bytes());
        } else {
            // The string shows its own cut; what comes after it is left out.
            codec::put_str_cut(self.buf, v, left.saturating_sub(5));
            self.budget.full = true;
        }
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let left = self.budget.left(self.buf);
        if self.budget.full {
            self.budget.left_out += 5 + v.len();
        } else if v.len() + 5 <= left {
            codec::put_bytes(self.buf, v);
        } else {
            let kept = left.saturating_sub(5);
            codec::put_bytes(self.buf, &v[..kept]);
            self.budget.left_out += v.len() - kept;
            self.budget.full = true;
        }
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.fixed(codec::encode_null())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.fixed(codec::encode_null())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // A one-entry map whose key is written with it.
        let mut map = self.open(true, None);
        if map.opened {
            map.key(variant);
        }
        map.value(value)?;
        map.close()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'b>, Error> {
        Ok(self.open(false, None))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'b>, Error> {
        Ok(self.open(false, None))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'b>, Error> {
        Ok(self.open(false, None))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'b>, Error> {
        Ok(self.open(false, Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'b>, Error> {
        Ok(self.open(true, None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'b>, Error> {
        Ok(self.open(true, None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'b>, Error> {
        Ok(self.open(true, Some(variant)))
    }
}

/// An open sequence or map; `variant` adds the closing marker of the enclosing
/// `{"Variant": ...}` map.
struct Compound<'b> {
    buf: &'b mut Payload,
    budget: &'b mut ValueBudget,
    /// Whether its opening was written (not left out).
    opened: bool,
    /// Whether it is the value's outermost sequence or map, which gets the cut's marker.
    outermost: bool,
    map: bool,
    /// A key was written and its value not yet.
    key_pending: bool,
    variant: bool,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(ValueSerializer {
            buf: &mut *self.buf,
            budget: &mut *self.budget,
        })
    }

    /// A map's value, after its key.
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let before = self.buf.len();
        self.element(value)?;
        if self.buf.len() != before {
            self.key_pending = false;
        }
        Ok(())
    }

    fn key(&mut self, key: &str) {
        if self.budget.admit(self.buf, 5 + key.len()) {
            codec::put_str(self.buf, key.as_bytes());
            self.key_pending = true;
        }
    }

    fn close(self) -> Result<(), Error> {
        if !self.opened {
            self.budget.left_out += 1 + usize::from(self.variant);
            return Ok(());
        }
        if self.key_pending {
            codec::put(self.buf, codec::encode_null());
        }
        if self.outermost && self.budget.left_out > 0 {
            if self.map {
                codec::put_str(self.buf, "…".as_bytes());
            }
            let marker = cut_marker(self.budget.left_out);
            codec::put_str(self.buf, marker.as_bytes());
        }
        codec::close(self.buf);
        if self.variant {
            codec::close(self.buf);
        }
        self.budget.depth -= 1;
        Ok(())
    }
}

macro_rules! sequence_like {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}

sequence_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

macro_rules! struct_like {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.key(key);
                self.value(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}

struct_like!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(KeySerializer { compound: self })
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }

    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// Map keys become strings, as JSON object keys must be: strings as they are, numbers,
/// booleans and characters in their usual text, unit variants by name.
struct KeySerializer<'c, 'b> {
    compound: &'c mut Compound<'b>,
}

impl KeySerializer<'_, '_> {
    fn text(self, key: &str) -> Result<(), Error> {
        self.compound.key(key);
        Ok(())
    }

    fn display(self, key: impl fmt::Display) -> Result<(), Error> {
        self.text(&key.to_string())
    }
}

fn key_error() -> Error {
    Error("a map key must be a string, number, bool or char".to_owned())
}

impl ser::Serializer for KeySerializer<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.display(v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

#[cfg(all(test, feature = "writer"))]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::capture::codec::NestedReader;
    use crate::capture::payload::RecordPayload;

    /// The value as captured within `limit` bytes, rendered, and the bytes it took.
    fn captured<T: Serialize + ?Sized>(value: &T, limit: usize) -> (String, usize) {
        let mut stored = RecordPayload::new();
        let mut payload = stored.edit();
        capture_within(&mut payload, value, limit);
        drop(payload);
        let mut values = NestedReader::new(stored.as_slice());
        let shown = values.next().expect("one value").to_string();
        assert!(values.next().is_none() && !values.damaged());
        (shown, stored.len())
    }

    #[test]
    fn a_long_sequence_keeps_what_fits_and_ends_with_the_cut() {
        let numbers: Vec<u64> = (0..1000).collect();
        // The opening byte, three to spare for the end, then ten numbers of 9 bytes.
        let (shown, len) = captured(&numbers, 100);
        assert_eq!(
            shown,
            r#"[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "…[cut 8910 bytes]"]"#
        );
        assert!(len <= 100 + 32, "{len}");
        let (whole, _) = captured(&numbers[..3], 100);
        assert_eq!(whole, "[0, 1, 2]");
    }

    #[test]
    fn a_cut_inside_a_nested_value_closes_every_level_and_marks_the_outermost() {
        let map = BTreeMap::from([("a", vec![7u64; 50]), ("b", vec![8u64; 50])]);
        // Map and key "a": 7 bytes; the sequence's opening: 1; 6 to spare: 46 left for
        // five numbers. Left out: 45 numbers, key "b" (6), b's opening and end, and its
        // 50 numbers.
        let (shown, _) = captured(&map, 60);
        assert_eq!(shown, r#"{"a": [7, 7, 7, 7, 7], "…": "…[cut 863 bytes]"}"#);
        #[derive(serde::Serialize)]
        enum Wrapped {
            V(Vec<u64>),
        }
        let (shown, _) = captured(&Wrapped::V(vec![1; 100]), 40);
        assert_eq!(shown, r#"{"V": [1, 1], "…": "…[cut 882 bytes]"}"#);
    }

    #[test]
    fn a_key_whose_value_is_left_out_gets_null() {
        #[derive(serde::Serialize)]
        struct One {
            long_key_name: u64,
        }
        // Map 1, key 18: 8 bytes left, one short of the number.
        let (shown, _) = captured(&One { long_key_name: 5 }, 30);
        assert_eq!(shown, r#"{"long_key_name": null, "…": "…[cut 9 bytes]"}"#);
    }

    #[test]
    fn a_string_shows_its_own_cut_and_a_value_with_no_room_becomes_the_marker() {
        let text = "é".repeat(100);
        let (shown, _) = captured(&text, 20);
        // 15 bytes after the length: seven characters of two bytes.
        assert_eq!(shown, format!("{}…[cut 186 bytes]", "é".repeat(7)));
        // Opening, ten numbers and the end.
        let (shown, _) = captured(&vec![1u64; 10], 0);
        assert_eq!(shown, "…[cut 92 bytes]");
    }
}
