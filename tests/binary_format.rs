//! The binary format: values keep their types, messages render as in the text formats,
//! and damage is reported with the file and offset while the rest is still read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use trail::read::{FieldValue, LogRecord, ReadErrorKind};
use trail::Format;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Logs the same events into a stream of `format` and reads them back.
fn write_and_read(format: Format, dir: &Path) -> Vec<LogRecord> {
    let guard = trail::builder()
        .dir(dir)
        .name("b")
        .format(format)
        .level(trail::LevelFilter::Trace)
        .install()
        .unwrap();
    let nested = std::collections::BTreeMap::from([("k", vec![1.5_f32, -2.0]), ("é\"", vec![])]);
    let ip: std::net::IpAddr = "2001:db8::7".parse().unwrap();
    trail::info!(
        actor = ip,
        big = u128::MAX,
        neg = i128::MIN,
        f = 3_725_241.2_f32,
        c = 'é',
        nested = #nested,
        "f={f} c={c} nested={nested} actor={actor} big={big} {}", 0.1_f32
    );
    trail::warn!(bytes = #serde_bytes_like(), "bytes");
    drop(guard);
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// A `Vec<u8>` logged through serde becomes a sequence of numbers in every format.
fn serde_bytes_like() -> Vec<u8> {
    vec![0, 255, 7]
}

#[test]
fn binary_keeps_what_json_keeps_and_renders_messages_the_same() {
    let _s = serial();
    let json_dir = tempfile::tempdir().unwrap();
    let bin_dir = tempfile::tempdir().unwrap();
    let json = write_and_read(Format::Json, json_dir.path());
    let bin = write_and_read(Format::Bincode, bin_dir.path());
    assert_eq!(bin.len(), 2);
    for (j, b) in json.iter().zip(&bin) {
        assert_eq!(j.msg, b.msg);
        assert_eq!(j.actor, b.actor);
        assert_eq!(j.level, b.level);
        assert_eq!(j.target, b.target);
        assert_eq!(j.file, b.file);
        assert_eq!(j.line, b.line);
        assert_eq!(j.thread, b.thread);
        assert_eq!(j.seq, b.seq);
    }
    // The message renders values as `format!` would (an f32 with Rust's `Display`).
    assert_eq!(
        bin[0].msg,
        "f=3725241.3 c=é nested={\"k\": [1.5, -2], \"é\\\"\": []} actor=2001:db8::7 big=340282366920938463463374607431768211455 0.1"
    );
    // JSON cannot carry integers past 64 bits exactly; the binary format can.
    assert_eq!(bin[0].field("big"), Some(&FieldValue::U128(u128::MAX)));
    assert_eq!(bin[0].field("neg"), Some(&FieldValue::I128(i128::MIN)));
    assert_eq!(bin[0].field("f"), Some(&FieldValue::from_f32(3_725_241.2)));
    assert_eq!(bin[0].field("c"), Some(&FieldValue::Str("é".into())));
    assert_eq!(bin[0].actor, Some(FieldValue::Str("2001:db8::7".into())));
    assert_eq!(json[0].field("f"), bin[0].field("f"));
    assert_eq!(json[0].field("nested"), bin[0].field("nested"));
    assert_eq!(json[1].fields, bin[1].fields);
}

fn segment(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .unwrap()
}

fn outcomes(path: &Path) -> Vec<Result<u64, (ReadErrorKind, Option<u64>)>> {
    trail::read::open(path)
        .unwrap()
        .map(|r| r.map(|rec| rec.seq).map_err(|e| (e.kind(), e.offset())))
        .collect()
}

/// A binary stream of 20 records, and the offset where each record's frame starts.
fn twenty_records(dir: &Path) -> (PathBuf, Vec<u64>) {
    let guard = trail::builder()
        .dir(dir)
        .name("b")
        .format(Format::Bincode)
        .install()
        .unwrap();
    for i in 0..20_u32 {
        trail::info!(i, "record {i}");
    }
    drop(guard);
    let path = segment(dir);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"TRAILBIN");
    let mut starts = Vec::new();
    let mut at = 16;
    while at < bytes.len() {
        starts.push(at as u64);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    assert_eq!(at, bytes.len(), "frames tile the segment exactly");
    // Two definitions (call site, thread) precede the first record.
    (path, starts[2..].to_vec())
}

#[test]
fn a_flipped_bit_is_a_checksum_error_and_the_rest_is_read() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (path, records) = twenty_records(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let fifth = records[4] as usize;
    bytes[fifth + 12] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let got = outcomes(&path);
    assert_eq!(got.len(), 20);
    assert_eq!(got[4], Err((ReadErrorKind::Corrupt, Some(records[4]))));
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, r)| i == 4 || *r == Ok(i as u64 + 1)));
}

#[test]
fn a_truncated_frame_is_a_torn_tail() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (path, records) = twenty_records(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let got = outcomes(&path);
    assert_eq!(got.len(), 20);
    assert_eq!(got[19], Err((ReadErrorKind::Torn, Some(records[19]))));
}

#[test]
fn a_wrong_magic_or_an_absurd_length_stops_the_segment_with_a_clear_error() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (path, records) = twenty_records(dir.path());
    let good = std::fs::read(&path).unwrap();

    let mut bytes = good.clone();
    bytes[..8].copy_from_slice(b"NOTTRAIL");
    std::fs::write(&path, &bytes).unwrap();
    let err = trail::read::open(&path)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.offset()),
        (ReadErrorKind::Corrupt, Some(0))
    );
    assert!(
        err.to_string().contains("not a trail binary segment"),
        "{err}"
    );
    assert_eq!(outcomes(&path).len(), 1);

    let mut bytes = good.clone();
    let third = records[2] as usize;
    bytes[third..third + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let got = outcomes(&path);
    assert_eq!(got[..2], [Ok(1), Ok(2)]);
    assert_eq!(got[2], Err((ReadErrorKind::Corrupt, Some(records[2]))));
    assert_eq!(
        got.len(),
        3,
        "nothing after an unframable frame is guessed at"
    );
}

#[test]
fn a_restart_after_a_torn_binary_frame_continues_the_stream() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = twenty_records(dir.path());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(&[40, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
    drop(file);
    std::fs::remove_file(dir.path().join("b.manifest.json")).unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("b")
        .format(Format::Bincode)
        .install()
        .unwrap();
    trail::info!("after");
    drop(guard);
    let seqs: Vec<u64> = trail::read::open(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (1..=21).collect::<Vec<_>>());
}
