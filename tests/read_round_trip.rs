//! Random events, written by the real writer and read back with `trail::read`, come back
//! equal: every value type, unicode, quotes, line breaks, empty and long strings.

use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use trail::read::{Checkpoint, FieldValue, LogRecord};

struct Stream {
    dir: tempfile::TempDir,
    guard: trail::Guard,
    checkpoint: Mutex<Option<Checkpoint>>,
}

fn stream() -> &'static Stream {
    static STREAM: OnceLock<Stream> = OnceLock::new();
    STREAM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let guard = trail::builder()
            .dir(dir.path())
            .name("prop")
            .level(trail::LevelFilter::Trace)
            .rotate_bytes(64 * 1024) // many segments, so that reading crosses them
            .install()
            .unwrap();
        Stream {
            dir,
            guard,
            checkpoint: Mutex::new(None),
        }
    })
}

/// Reads what was written since the last call.
fn read_new() -> Vec<LogRecord> {
    let stream = stream();
    stream.guard.flush();
    let mut checkpoint = stream.checkpoint.lock().unwrap();
    let mut reader = trail::read::open(stream.dir.path()).unwrap();
    if let Some(cp) = checkpoint.as_ref() {
        reader = reader.resume(cp);
    }
    let mut out = Vec::new();
    for record in reader.by_ref() {
        out.push(record.unwrap());
    }
    if let Some(cp) = reader.checkpoint() {
        *checkpoint = Some(cp.clone());
    }
    out
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<String>(),
        "[a-z\"\\\\\n\r\t,={} ]{0,40}",
        (0usize..3000).prop_map(|n| "é\"\n".repeat(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn json_lines_read_back_equal(
        actor in any::<u64>(),
        s in text(),
        u in any::<u64>(),
        i in any::<i64>(),
        f in any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()),
        small in any::<f32>().prop_filter("finite", |f| f.is_finite()),
        b in any::<bool>(),
        c in any::<char>(),
        words in prop::collection::vec(text(), 0..4),
        maybe in prop::option::of(any::<u16>()),
        level in 0usize..6,
    ) {
        stream(); // installed before the first event
        let tags = std::collections::BTreeMap::from([("k\"ey", i), ("é", 1)]);
        match level {
            0 => trail::trace!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
            1 => trail::debug!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
            2 => trail::info!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
            3 => trail::warn!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
            4 => trail::error!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
            _ => trail::fatal!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, "m {s} {u}"),
        }
        let mut records = read_new();
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
            ("small".to_owned(), FieldValue::F64(small.to_string().parse().unwrap())),
            ("b".to_owned(), FieldValue::Bool(b)),
            ("c".to_owned(), FieldValue::Str(c.to_string())),
            ("words".to_owned(), FieldValue::Seq(words.iter().cloned().map(FieldValue::Str).collect())),
            ("maybe".to_owned(), maybe.map_or(FieldValue::Null, |m| FieldValue::U64(m.into()))),
            ("tags".to_owned(), FieldValue::Map(tags.iter().map(|(k, v)| (k.to_string(), FieldValue::int((*v).into()))).collect())),
        ];
        prop_assert_eq!(r.fields, expected);
    }
}
