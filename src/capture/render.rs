//! One text rendering for values, whichever type holds them: the captured [`ValueRef`],
//! the reader's `FieldValue` and the binary reader's value all `Display` through
//! [`write_value`], so a value reads the same in a message written by the writer, in one
//! rebuilt by the reader, and in a field printed by the `trail` CLI.
//!
//! The rule: at the top, a string or character is its text as it is, an IP address its
//! usual form, a number its shortest form, bytes their lower-case hex, an absent value
//! `null`. Inside a sequence (`[a, b]`) or a map (`{"k": v}`), everything that reads back
//! as a string (strings, characters, IP addresses) is quoted and escaped as Rust's `Debug`
//! quotes strings, so that the structure stays visible; map keys are always quoted so.

use core::fmt;
use std::net::IpAddr;

use super::codec::ValueRef;

/// A value as the rendering sees it: one level, with its nested content behind
/// [`RenderValue::each_item`] and [`RenderValue::each_entry`].
pub(crate) enum Shape<'v> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(&'v str),
    Bytes(&'v [u8]),
    Ip(IpAddr),
    Seq,
    Map,
    /// Bytes that could not be decoded.
    Invalid,
}

/// A type whose values render through [`write_value`].
pub(crate) trait RenderValue {
    /// What this value is, one level deep.
    fn shape(&self) -> Shape<'_>;

    /// Calls `f` with each element of a sequence, in order.
    fn each_item(&self, f: &mut dyn FnMut(&Self) -> fmt::Result) -> fmt::Result;

    /// Calls `f` with each key and value of a map, in order.
    fn each_entry(&self, f: &mut dyn FnMut(Key<'_>, &Self) -> fmt::Result) -> fmt::Result;
}

/// Renders `value` by the module's rule; `nested` inside a sequence or map.
pub(crate) fn write_value<V: RenderValue + ?Sized>(
    f: &mut fmt::Formatter<'_>,
    value: &V,
    nested: bool,
) -> fmt::Result {
    match value.shape() {
        Shape::Seq => {
            f.write_str("[")?;
            let mut first = true;
            value.each_item(&mut |item| {
                if !core::mem::take(&mut first) {
                    f.write_str(", ")?;
                }
                write_value(f, item, true)
            })?;
            f.write_str("]")
        }
        Shape::Map => {
            f.write_str("{")?;
            let mut first = true;
            value.each_entry(&mut |key, item| {
                if !core::mem::take(&mut first) {
                    f.write_str(", ")?;
                }
                write_key(f, key)?;
                f.write_str(": ")?;
                write_value(f, item, true)
            })?;
            f.write_str("}")
        }
        Shape::Null => f.write_str("null"),
        Shape::Bool(v) => fmt::Display::fmt(&v, f),
        Shape::I64(v) => fmt::Display::fmt(&v, f),
        Shape::U64(v) => fmt::Display::fmt(&v, f),
        Shape::I128(v) => fmt::Display::fmt(&v, f),
        Shape::U128(v) => fmt::Display::fmt(&v, f),
        Shape::F32(v) => fmt::Display::fmt(&v, f),
        Shape::F64(v) => fmt::Display::fmt(&v, f),
        Shape::Char(c) if nested => fmt::Debug::fmt(c.encode_utf8(&mut [0; 4]), f),
        Shape::Char(c) => fmt::Display::fmt(&c, f),
        Shape::Str(s) if nested => fmt::Debug::fmt(s, f),
        Shape::Str(s) => f.write_str(s),
        Shape::Bytes(b) => b.iter().try_for_each(|x| write!(f, "{x:02x}")),
        // An address's text has nothing that quoting would escape.
        Shape::Ip(ip) if nested => write!(f, "\"{ip}\""),
        Shape::Ip(ip) => fmt::Display::fmt(&ip, f),
        Shape::Invalid => f.write_str("<invalid>"),
    }
}

/// The `f64` with the same shortest decimal form as `v`, the one Rust's `Display` prints
/// (the file formats write an `f32` that way, and messages render it that way), so that an
/// `f32` renders the same before and after a round trip through a file.
#[cfg(feature = "read")]
pub(crate) fn f32_as_f64(v: f32) -> f64 {
    if v.is_finite() {
        v.to_string().parse().unwrap_or(f64::from(v))
    } else {
        f64::from(v)
    }
}

/// A map key: a string, or another value whose top-level text is the key.
pub(crate) enum Key<'k> {
    Str(&'k str),
    Other(&'k dyn fmt::Display),
}

/// A map key, always quoted: a string key as it is, any other as the string of its text.
fn write_key(f: &mut fmt::Formatter<'_>, key: Key<'_>) -> fmt::Result {
    match key {
        Key::Str(s) => fmt::Debug::fmt(s, f),
        Key::Other(value) => fmt::Debug::fmt(value.to_string().as_str(), f),
    }
}

impl<'a> RenderValue for ValueRef<'a> {
    fn shape(&self) -> Shape<'_> {
        match *self {
            ValueRef::Null => Shape::Null,
            ValueRef::Bool(v) => Shape::Bool(v),
            ValueRef::I64(v) => Shape::I64(v),
            ValueRef::U64(v) => Shape::U64(v),
            ValueRef::I128(v) => Shape::I128(v),
            ValueRef::U128(v) => Shape::U128(v),
            ValueRef::F32(v) => Shape::F32(v),
            ValueRef::F64(v) => Shape::F64(v),
            ValueRef::Char(v) => Shape::Char(v),
            ValueRef::Str(v) => Shape::Str(v),
            ValueRef::Bytes(v) => Shape::Bytes(v),
            ValueRef::Ip(v) => Shape::Ip(v),
            ValueRef::Seq(_) => Shape::Seq,
            ValueRef::Map(_) => Shape::Map,
            ValueRef::Invalid => Shape::Invalid,
        }
    }

    fn each_item(&self, f: &mut dyn FnMut(&Self) -> fmt::Result) -> fmt::Result {
        match self {
            ValueRef::Seq(nested) => nested.iter().try_for_each(|item| f(&item)),
            _ => Ok(()),
        }
    }

    fn each_entry(&self, f: &mut dyn FnMut(Key<'_>, &Self) -> fmt::Result) -> fmt::Result {
        match self {
            ValueRef::Map(nested) => nested.entries().try_for_each(|(key, value)| match key {
                ValueRef::Str(s) => f(Key::Str(s), &value),
                other => f(Key::Other(&other), &value),
            }),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, self, false)
    }
}

#[cfg(all(test, feature = "read"))]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::super::codec::{self, Reader};
    use super::super::payload::{Payload, RecordPayload};
    use crate::read::FieldValue;

    /// A captured value of any kind, nested ones included, even those that only a
    /// payload (not a serde value) can nest: IP addresses, raw bytes, non-string keys.
    #[derive(Clone, Debug)]
    enum Tree {
        Null,
        Bool(bool),
        I64(i64),
        U128(u128),
        F32(f32),
        F64(f64),
        Char(char),
        Str(String),
        Bytes(Vec<u8>),
        Ipv4([u8; 4]),
        Ipv6([u8; 16]),
        Seq(Vec<Tree>),
        Map(Vec<(Tree, Tree)>),
    }

    fn put(buf: &mut Payload, tree: &Tree) {
        match tree {
            Tree::Null => codec::put(buf, codec::encode_null()),
            Tree::Bool(v) => codec::put(buf, codec::encode_bool(*v)),
            Tree::I64(v) => codec::put(buf, codec::encode_i64(*v)),
            Tree::U128(v) => codec::put(buf, codec::encode_u128(*v)),
            Tree::F32(v) => codec::put(buf, codec::encode_f32(*v)),
            Tree::F64(v) => codec::put(buf, codec::encode_f64(*v)),
            Tree::Char(v) => codec::put(buf, codec::encode_char(*v)),
            Tree::Str(v) => codec::put_str(buf, v.as_bytes()),
            Tree::Bytes(v) => codec::put_bytes(buf, v),
            Tree::Ipv4(v) => codec::put(buf, codec::encode_ipv4(Ipv4Addr::from(*v))),
            Tree::Ipv6(v) => codec::put(buf, codec::encode_ipv6(Ipv6Addr::from(*v))),
            Tree::Seq(items) => {
                codec::open_seq(buf);
                items.iter().for_each(|item| put(buf, item));
                codec::close(buf);
            }
            Tree::Map(entries) => {
                codec::open_map(buf);
                for (k, v) in entries {
                    put(buf, k);
                    put(buf, v);
                }
                codec::close(buf);
            }
        }
    }

    fn tree() -> impl Strategy<Value = Tree> {
        let text = prop_oneof![
            "[a-z\"\\\\\n\t ,:{}é]{0,10}",
            any::<String>().prop_map(|s| s.chars().take(10).collect()),
        ];
        let leaf = prop_oneof![
            Just(Tree::Null),
            any::<bool>().prop_map(Tree::Bool),
            any::<i64>().prop_map(Tree::I64),
            any::<u128>().prop_map(Tree::U128),
            any::<f32>().prop_map(Tree::F32),
            any::<f64>().prop_map(Tree::F64),
            any::<char>().prop_map(Tree::Char),
            text.prop_map(Tree::Str),
            proptest::collection::vec(any::<u8>(), 0..6).prop_map(Tree::Bytes),
            any::<[u8; 4]>().prop_map(Tree::Ipv4),
            any::<[u8; 16]>().prop_map(Tree::Ipv6),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Tree::Seq),
                proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Tree::Map),
            ]
        })
    }

    proptest! {
        /// The captured value and the value the reader makes of it render alike.
        #[test]
        fn a_captured_value_and_its_read_back_form_render_alike(value in tree()) {
            let mut stored = RecordPayload::new();
            put(&mut stored.edit(), &value);
            let mut reader = Reader::new(stored.as_slice());
            let captured = reader.next().expect("one value");
            prop_assert!(reader.next().is_none() && !reader.damaged());
            let read_back = FieldValue::from_captured(captured);
            prop_assert_eq!(captured.to_string(), read_back.to_string());
        }
    }

    #[test]
    fn inside_a_sequence_or_map_what_reads_back_as_a_string_is_quoted() {
        let value = Tree::Map(vec![
            (Tree::I64(1), Tree::Ipv4([10, 0, 0, 7])),
            (
                Tree::Str("k".into()),
                Tree::Seq(vec![Tree::Char('"'), Tree::Bytes(vec![0, 255])]),
            ),
        ]);
        let mut stored = RecordPayload::new();
        put(&mut stored.edit(), &value);
        let captured = Reader::new(stored.as_slice()).next().unwrap();
        let expected = r#"{"1": "10.0.0.7", "k": ["\"", 00ff]}"#;
        assert_eq!(captured.to_string(), expected);
        assert_eq!(FieldValue::from_captured(captured).to_string(), expected);
    }
}
