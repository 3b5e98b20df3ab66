//! A value renders as the same text whichever type holds it: the writer's message (the
//! captured value), the binary reader's rebuilt message (the decoded frame value) and the
//! `Display` of the value read back (`FieldValue`), from JSON lines and from binary
//! segments alike. Strings are bare at the top and quoted inside sequences and maps; map
//! keys are quoted.

use std::sync::Mutex;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use trail::read::LogRecord;
use trail::Format;

/// A value of every kind that a typed field can nest.
#[derive(Clone, Debug)]
enum Tree {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Seq(Vec<Tree>),
    Map(Vec<(String, Tree)>),
}

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tree::Null => s.serialize_unit(),
            Tree::Bool(v) => s.serialize_bool(*v),
            Tree::I64(v) => s.serialize_i64(*v),
            Tree::U64(v) => s.serialize_u64(*v),
            Tree::I128(v) => s.serialize_i128(*v),
            Tree::U128(v) => s.serialize_u128(*v),
            Tree::F32(v) => s.serialize_f32(*v),
            Tree::F64(v) => s.serialize_f64(*v),
            Tree::Char(v) => s.serialize_char(*v),
            Tree::Str(v) => s.serialize_str(v),
            Tree::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Tree::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Strings that quoting must escape, or not.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{0,8}",
        "[a-z\"\\\\\n\t',:{}\\[\\]é]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        Just(Tree::Null),
        any::<bool>().prop_map(Tree::Bool),
        any::<i64>().prop_map(Tree::I64),
        any::<u64>().prop_map(Tree::U64),
        any::<i128>().prop_map(Tree::I128),
        any::<u128>().prop_map(Tree::U128),
        any::<f32>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Tree::F32),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Tree::F64),
        any::<char>().prop_map(Tree::Char),
        text().prop_map(Tree::Str),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Tree::Seq),
            prop::collection::vec((text(), inner), 0..4).prop_map(Tree::Map),
        ]
    })
}

/// The writer is global: the tests of this file take turns.
static ONE_WRITER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Each value logged as the field `v` and as the whole message, in `format`, read back.
fn written(format: Format, values: &[Tree]) -> Vec<LogRecord> {
    let _turn = ONE_WRITER_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("text")
        .format(format)
        .filter_from_env(false)
        .level(trail::LevelFilter::Info)
        .install()
        .unwrap();
    for v in values {
        trail::info!(v = #v, "{v}");
    }
    guard.shutdown();
    let records: Vec<LogRecord> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(records.len(), values.len());
    records
}

#[test]
fn every_path_renders_a_value_as_the_same_text() {
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(tree(), 1..8), |values| {
            let json = written(Format::Json, &values);
            let binary = written(Format::Bincode, &values);
            for ((value, j), b) in values.iter().zip(&json).zip(&binary) {
                // The writer rendered the JSON message from the captured value.
                let expected = &j.msg;
                let paths = [
                    ("binary message", b.msg.clone()),
                    ("field read from JSON", j.field("v").unwrap().to_string()),
                    ("field read from binary", b.field("v").unwrap().to_string()),
                ];
                for (path, text) in paths {
                    prop_assert_eq!(&text, expected, "{} of {:?}", path, value);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn nested_strings_and_map_keys_are_quoted_and_top_level_strings_are_not() {
    let value = Tree::Map(vec![
        (
            "k\"ey".into(),
            Tree::Seq(vec![Tree::Str("a b".into()), Tree::Char('x')]),
        ),
        ("n".into(), Tree::U64(7)),
    ]);
    let values = [value, Tree::Str("plain \"text\"".into())];
    for format in [Format::Json, Format::Bincode] {
        let records = written(format, &values);
        let expected = [r#"{"k\"ey": ["a b", "x"], "n": 7}"#, r#"plain "text""#];
        for (record, expected) in records.iter().zip(expected) {
            assert_eq!(record.msg, expected, "{format:?}");
            assert_eq!(
                record.field("v").unwrap().to_string(),
                expected,
                "{format:?}"
            );
        }
    }
}
