//! One text rendering for values, whichever type holds them: the captured [`ValueRef`],
//! the reader's `FieldValue` and the binary reader's value all `Display` through
//! [`write_value`], which takes any [`ValueView`], so a value reads the same in a message
//! written by the writer, in one rebuilt by the reader, and in a field printed by the
//! `trail` CLI.
//!
//! The rule: at the top, a string or character is its text as it is, an IP address its
//! usual form, a number its shortest form, bytes their lower-case hex, an absent value
//! `null`. Inside a sequence (`[a, b]`) or a map (`{"k": v}`), everything that reads back
//! as a string (strings, characters, IP addresses) is quoted and escaped as Rust's `Debug`
//! quotes strings, so that the structure stays visible; map keys are always quoted so.

use core::fmt;

use super::codec::ValueRef;
use super::value_view::{key_text, Shape, ValueView};

/// Renders `value` by the module's rule; `nested` inside a sequence or map.
pub(crate) fn write_value<'a, V: ValueView<'a>>(
    f: &mut fmt::Formatter<'_>,
    value: V,
    nested: bool,
) -> fmt::Result {
    match value.shape() {
        Shape::Scalar(scalar) => write_scalar(f, scalar, nested),
        Shape::Seq(items) => {
            f.write_str("[")?;
            for (i, item) in items.enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_value(f, item, true)?;
            }
            f.write_str("]")
        }
        Shape::Map(entries) => {
            f.write_str("{")?;
            for (i, (key, item)) in entries.enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                // Always quoted, whatever the key is.
                fmt::Debug::fmt(&*key_text(key), f)?;
                f.write_str(": ")?;
                write_value(f, item, true)?;
            }
            f.write_str("}")
        }
    }
}

/// Renders a value that does not nest by the module's rule.
#[inline]
fn write_scalar(f: &mut fmt::Formatter<'_>, value: ValueRef<'_>, nested: bool) -> fmt::Result {
    match value {
        ValueRef::Null => f.write_str("null"),
        ValueRef::Bool(v) => fmt::Display::fmt(&v, f),
        ValueRef::I64(v) => fmt::Display::fmt(&v, f),
        ValueRef::U64(v) => fmt::Display::fmt(&v, f),
        ValueRef::I128(v) => fmt::Display::fmt(&v, f),
        ValueRef::U128(v) => fmt::Display::fmt(&v, f),
        ValueRef::F32(v) => fmt::Display::fmt(&v, f),
        ValueRef::F64(v) => fmt::Display::fmt(&v, f),
        ValueRef::Char(c) if nested => fmt::Debug::fmt(c.encode_utf8(&mut [0; 4]), f),
        ValueRef::Char(c) => fmt::Display::fmt(&c, f),
        ValueRef::Str(s) if nested => fmt::Debug::fmt(s, f),
        ValueRef::Str(s) => f.write_str(s),
        ValueRef::Bytes(b) => b.iter().try_for_each(|x| write!(f, "{x:02x}")),
        // An address's text has nothing that quoting would escape.
        ValueRef::Ip(ip) if nested => write!(f, "\"{ip}\""),
        ValueRef::Ip(ip) => fmt::Display::fmt(&ip, f),
        ValueRef::Invalid => f.write_str("<invalid>"),
        // Never a scalar; rendered the nested way all the same.
        ValueRef::Seq(_) | ValueRef::Map(_) => write_value(f, value, nested),
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

impl fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, *self, false)
    }
}

#[cfg(all(test, feature = "read"))]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::super::codec::{self, NestedReader};
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
            let mut reader = NestedReader::new(stored.as_slice());
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
        let captured = NestedReader::new(stored.as_slice()).next().unwrap();
        let expected = r#"{"1": "10.0.0.7", "k": ["\"", 00ff]}"#;
        assert_eq!(captured.to_string(), expected);
        assert_eq!(FieldValue::from_captured(captured).to_string(), expected);
    }
}
