//! Random events, written by the real writer in each format and read back with
//! `trail::read`, come back equal: every value type, unicode, quotes, commas, line breaks,
//! empty and long strings.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Mutex;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use trail::read::{Checkpoint, FieldValue, LogRecord};
use trail::Format;

/// Reads what was written since `checkpoint`, and moves it on.
fn read_new(
    dir: &Path,
    guard: &trail::Guard,
    checkpoint: &RefCell<Option<Checkpoint>>,
) -> Vec<LogRecord> {
    guard.flush();
    let mut reader = trail::read::open(dir).unwrap();
    if let Some(cp) = checkpoint.borrow().as_ref() {
        reader = reader.resume(cp);
    }
    let records: Vec<LogRecord> = reader.by_ref().map(|r| r.unwrap()).collect();
    if let Some(cp) = reader.checkpoint() {
        *checkpoint.borrow_mut() = Some(cp.clone());
    }
    records
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<String>(),
        "[a-z\"\\\\\n\r\t,={}' ]{0,40}",
        "[=+@-][a-z0-9(),]{0,10}",
        (0usize..3000).prop_map(|n| "é\",\r\n".repeat(n)),
    ]
}

fn round_trip(format: Format) {
    static ONE_WRITER_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_WRITER_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("prop")
        .format(format)
        .level(trail::LevelFilter::Trace)
        .rotate_bytes(64 * 1024) // many segments, so that reading crosses them
        .install()
        .unwrap();
    let checkpoint = RefCell::new(None);

    let values = (
        any::<u64>(),
        text(),
        any::<u64>(),
        any::<i64>(),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()),
        any::<f32>().prop_filter("finite", |f| f.is_finite()),
        any::<bool>(),
        any::<char>(),
        prop::collection::vec(text(), 0..4),
        prop::option::of(any::<u16>()),
        0usize..6,
    );
    let mut runner = TestRunner::new(Config {
        cases: 200,
        ..Config::default()
    });
    runner
        .run(&values, |(actor, s, u, i, f, small, b, c, words, maybe, level)| {
            let tags = std::collections::BTreeMap::from([("k\"ey", i), ("é,", 1)]);
            match level {
                0 => trail::trace!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
                1 => trail::debug!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
                2 => trail::info!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
                3 => trail::warn!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
                4 => trail::error!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
                _ => trail::fatal!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
            }
            let mut records = read_new(dir.path(), &guard, &checkpoint);
            prop_assert_eq!(records.len(), 1);
            let r = records.pop().unwrap();
            prop_assert_eq!(r.level, trail::Level::ALL[level]);
            prop_assert_eq!(r.actor, Some(FieldValue::U64(actor)));
            prop_assert_eq!(r.msg, format!("m {s} {u}"));
            prop_assert_eq!(r.target.as_str(), "read_round_trip");
            prop_assert_eq!(r.file.as_str(), "tests/read_round_trip.rs");
            let expected = vec![
                ("s".to_owned(), FieldValue::Str(s.clone())),
                ("u".to_owned(), FieldValue::U64(u)),
                ("i".to_owned(), FieldValue::int(i.into())),
                ("f".to_owned(), FieldValue::F64(f)),
                ("small".to_owned(), FieldValue::from_f32(small)),
                ("b".to_owned(), FieldValue::Bool(b)),
                ("c".to_owned(), FieldValue::Str(c.to_string())),
                ("words".to_owned(), FieldValue::Seq(words.iter().cloned().map(FieldValue::Str).collect())),
                ("maybe".to_owned(), maybe.map_or(FieldValue::Null, |m| FieldValue::U64(m.into()))),
                ("tags".to_owned(), FieldValue::Map(tags.iter().map(|(k, v)| (k.to_string(), FieldValue::int((*v).into()))).collect())),
            ];
            prop_assert_eq!(r.fields, expected);
            Ok(())
        })
        .unwrap();
    let stats = guard.shutdown();
    assert!(stats.rotations > 0, "reading crossed segments");
}

#[test]
fn json_lines_read_back_equal() {
    round_trip(Format::Json);
}

#[test]
fn csv_reads_back_equal() {
    round_trip(Format::Csv);
}
