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

/// The writer is global: the tests of this file take turns.
static ONE_WRITER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn round_trip(format: Format) {
    round_trip_with(format, trail::JsonProfile::Canonical);
}

fn round_trip_with(format: Format, profile: trail::JsonProfile) {
    let _turn = ONE_WRITER_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("prop")
        .format(format)
        .json_profile(profile)
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
        (0usize..6, any::<u128>(), any::<i128>()),
    );
    let mut runner = TestRunner::new(Config {
        cases: 200,
        ..Config::default()
    });
    runner
        .run(&values, |(actor, s, u, i, f, small, b, c, words, maybe, (level, big, wide))| {
            let tags = std::collections::BTreeMap::from([("k\"ey", i), ("é,", 1)]);
            match level {
                0 => trail::trace!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, big, wide, "m {s} {u}"),
                1 => trail::debug!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, big, wide, "m {s} {u}"),
                2 => trail::info!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, big, wide, "m {s} {u}"),
                3 => trail::warn!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, big, wide, "m {s} {u}"),
                4 => trail::error!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, big, wide, "m {s} {u}"),
                _ => trail::fatal!(actor, s, u, i, f, small, b, c, words = #words, maybe, tags = #tags, big, wide, "m {s} {u}"),
            }
            let mut records = read_new(dir.path(), &guard, &checkpoint);
            prop_assert_eq!(records.len(), 1);
            let r = records.pop().unwrap();
            prop_assert_eq!(r.level, trail::Level::ALL[level]);
            prop_assert_eq!(&r.actor, &Some(FieldValue::U64(actor)));
            prop_assert_eq!(&r.msg, &format!("m {s} {u}"));
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
                ("big".to_owned(), i128::try_from(big).map_or(FieldValue::U128(big), FieldValue::int)),
                ("wide".to_owned(), FieldValue::int(wide)),
            ];
            prop_assert_eq!(&r.fields, &expected);
            assert_converts_back(&[r]);
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
fn json_with_the_opentelemetry_profile_reads_back_equal() {
    round_trip_with(Format::Json, trail::JsonProfile::OpenTelemetry);
}

#[test]
fn json_with_the_ecs_profile_reads_back_equal() {
    round_trip_with(Format::Json, trail::JsonProfile::Ecs);
}

#[test]
fn csv_reads_back_equal() {
    round_trip(Format::Csv);
}

#[test]
fn binary_reads_back_equal() {
    round_trip(Format::Bincode);
}

#[test]
fn text_reads_back_equal() {
    round_trip(Format::Text);
}

/// Names and values chosen to trip each format's quoting: a target with `: ` and spaces,
/// keys with spaces, `=` and a leading `@`, actors that close brackets or look like
/// numbers, empty and `=`-laden messages.
#[test]
fn awkward_names_and_values_read_back_in_every_format() {
    let _turn = ONE_WRITER_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for format in [Format::Json, Format::Csv, Format::Text, Format::Bincode] {
        let dir = tempfile::tempdir().unwrap();
        let guard = trail::builder()
            .dir(dir.path())
            .format(format)
            .level(trail::LevelFilter::Trace)
            .install()
            .unwrap();
        trail::info!(target: "odd target: with spaces", actor = "ana]", "two words" = 1, "@at" = "x", "a=b" = "c d", "");
        trail::warn!(actor = "42", "=" = "=", "x = y, \"quoted\"");
        trail::error!(actor = "-7", "path" = "/tmp/a b", "tab\there");
        drop(guard);
        let records: Vec<LogRecord> = trail::read::open(dir.path())
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(records.len(), 3, "{format}");
        assert_eq!(records[0].target, "odd target: with spaces", "{format}");
        assert_eq!(
            records[0].actor,
            Some(FieldValue::Str("ana]".into())),
            "{format}"
        );
        assert_eq!(records[0].msg, "", "{format}");
        assert_eq!(
            records[0].fields,
            [
                ("two words".to_owned(), FieldValue::U64(1)),
                ("@at".to_owned(), FieldValue::Str("x".into())),
                ("a=b".to_owned(), FieldValue::Str("c d".into())),
            ],
            "{format}"
        );
        assert_eq!(
            records[1].actor,
            Some(FieldValue::Str("42".into())),
            "{format}"
        );
        assert_eq!(records[1].msg, "x = y, \"quoted\"", "{format}");
        assert_eq!(
            records[1].fields,
            [("=".to_owned(), FieldValue::Str("=".into()))],
            "{format}"
        );
        assert_eq!(
            records[2].actor,
            Some(FieldValue::Str("-7".into())),
            "{format}"
        );
        assert_eq!(records[2].msg, "tab\there", "{format}");
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    }
}

/// Fields named like the text format's own `@` keys, like the OpenTelemetry profile's
/// attributes, like the profile's escape prefix, and like the canonical keys: each reads
/// back as the field it was, in every format and profile, beside the record's own values,
/// and no JSON object repeats a key.
#[test]
fn fields_named_like_the_records_own_keys_read_back_in_every_format_and_profile() {
    let _turn = ONE_WRITER_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let outputs = [
        (Format::Json, trail::JsonProfile::Canonical),
        (Format::Json, trail::JsonProfile::OpenTelemetry),
        (Format::Json, trail::JsonProfile::Ecs),
        (Format::Csv, trail::JsonProfile::Canonical),
        (Format::Text, trail::JsonProfile::Canonical),
        (Format::Bincode, trail::JsonProfile::Canonical),
    ];
    for (format, profile) in outputs {
        let what = format!("{format} {profile:?}");
        let dir = tempfile::tempdir().unwrap();
        let guard = trail::builder()
            .dir(dir.path())
            .format(format)
            .json_profile(profile)
            .install()
            .unwrap();
        trail::info!(
            actor = "ana",
            "@seq" = 99_u64,
            "@src" = "x.rs:1",
            "@thread" = "t",
            "user.id" = "mallory",
            "code.file.path" = "evil.rs",
            "code.line.number" = 7_u64,
            "thread.name" = "other",
            "trail.seq" = 12345_u64,
            "trail.field.user.id" = 1_u64,
            "seq" = 5_u64,
            "fields" = "f",
            "",
        );
        trail::info!("user.id" = "only a field", "no actor");
        drop(guard);
        let records: Vec<LogRecord> = trail::read::open(dir.path())
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(records.len(), 2, "{what}");
        let r = &records[0];
        assert_eq!(r.actor, Some(FieldValue::Str("ana".into())), "{what}");
        assert_eq!((r.seq, r.line), (1, r.line), "{what}");
        assert_eq!(r.file, "tests/read_round_trip.rs", "{what}");
        assert_eq!(
            r.fields,
            [
                ("@seq".to_owned(), FieldValue::U64(99)),
                ("@src".to_owned(), FieldValue::Str("x.rs:1".into())),
                ("@thread".to_owned(), FieldValue::Str("t".into())),
                ("user.id".to_owned(), FieldValue::Str("mallory".into())),
                (
                    "code.file.path".to_owned(),
                    FieldValue::Str("evil.rs".into())
                ),
                ("code.line.number".to_owned(), FieldValue::U64(7)),
                ("thread.name".to_owned(), FieldValue::Str("other".into())),
                ("trail.seq".to_owned(), FieldValue::U64(12345)),
                ("trail.field.user.id".to_owned(), FieldValue::U64(1)),
                ("seq".to_owned(), FieldValue::U64(5)),
                ("fields".to_owned(), FieldValue::Str("f".into())),
            ],
            "{what}"
        );
        assert_eq!(records[1].actor, None, "{what}: a field is never the actor");
        assert_eq!(records[1].seq, 2, "{what}");
        assert_eq!(
            records[1].fields,
            [("user.id".to_owned(), FieldValue::Str("only a field".into()))],
            "{what}"
        );
        assert_converts_back(&records);
        if format == Format::Json {
            for line in segment_lines(dir.path()) {
                let value: FieldValue = serde_json::from_str(&line).unwrap();
                assert_no_repeated_key(&value, &line);
            }
        }
    }
}

fn segment_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(path).unwrap();
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    assert!(!lines.is_empty());
    lines
}

/// `FieldValue` keeps every entry of an object, repeated keys included.
fn assert_no_repeated_key(value: &FieldValue, line: &str) {
    match value {
        FieldValue::Map(entries) => {
            let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort_unstable();
            let before = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), before, "a repeated key in {line}");
            entries
                .iter()
                .for_each(|(_, v)| assert_no_repeated_key(v, line));
        }
        FieldValue::Seq(items) => items.iter().for_each(|v| assert_no_repeated_key(v, line)),
        _ => {}
    }
}

/// `records`, converted into each format as `trail convert` and `trail cat` do, read back
/// equal.
fn assert_converts_back(records: &[LogRecord]) {
    for format in [Format::Json, Format::Csv, Format::Text, Format::Bincode] {
        let mut encoder = trail::convert::RecordEncoder::new(format);
        let mut bytes = Vec::new();
        encoder.begin_segment(&mut bytes);
        for r in records {
            encoder.encode(r, &mut bytes);
        }
        let file_format = match format {
            Format::Json => trail::read::FileFormat::Json,
            Format::Csv => trail::read::FileFormat::Csv,
            Format::Text => trail::read::FileFormat::Text,
            _ => trail::read::FileFormat::Binary,
        };
        let back: Vec<LogRecord> =
            trail::read::from_reader(std::io::Cursor::new(bytes), file_format, "<converted>")
                .map(|r| r.unwrap())
                .collect();
        assert_eq!(back, records, "converted to {format}");
    }
}
