//! Whatever an event's values, the writer writes no record longer than the reader reads
//! (`trail::limits::MAX_RECORD_BYTES`) in any format: huge values of every kind are cut at
//! capture, with a visible marker, the event keeps its seq, and a restart reads every
//! record back and continues the stream after it.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use trail::read::{FieldValue, LogRecord};
use trail::Format;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A value whose `Display` rendering is `len` bytes long.
struct Long(usize);

impl fmt::Display for Long {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chunk = "d".repeat(4096);
        let mut left = self.0;
        while left > 0 {
            let n = left.min(chunk.len());
            f.write_str(&chunk[..n])?;
            left -= n;
        }
        Ok(())
    }
}

/// The stream's records, every one read back whole.
fn read_all(dir: &Path) -> Vec<LogRecord> {
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap_or_else(|e| panic!("a record the writer wrote is unreadable: {e}")))
        .collect()
}

fn text(value: Option<&FieldValue>) -> &str {
    match value {
        Some(FieldValue::Str(s)) => s,
        other => panic!("not a string: {other:?}"),
    }
}

/// Whether a value read back holds a cut marker somewhere.
fn has_cut_marker(value: &FieldValue) -> bool {
    match value {
        FieldValue::Str(s) => s.contains("…[cut "),
        FieldValue::Seq(items) => items.iter().any(has_cut_marker),
        FieldValue::Map(entries) => entries
            .iter()
            .any(|(k, v)| k.contains("…") || has_cut_marker(v)),
        _ => false,
    }
}

fn huge_values_are_cut_and_the_stream_continues_after_them(format: Format) {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let install = || {
        trail::builder()
            .dir(dir.path())
            .name("big")
            .format(format)
            .level(trail::LevelFilter::Trace)
            // Asking for more than the record limit allows: clamped.
            .max_value_bytes(usize::MAX)
            .install()
            .unwrap()
    };
    let guard = install();
    trail::info!("before");
    // 40 MB of serde value, in one field.
    let numbers = vec![u64::MAX; 5_000_000];
    trail::info!(numbers = #numbers, "serde");
    // 40 MB of Display rendering.
    trail::info!(shown = %Long(40_000_000), "display");
    // Many large strings in one event: each under the value limit, together far over.
    let s = "s".repeat(1_500_000);
    trail::info!(
        a = s,
        b = s,
        c = s,
        d = s,
        e = s,
        f = s,
        g = s,
        h = s,
        "strings"
    );
    // Text that grows sixfold when escaped, in two fields.
    let control = "\u{1}".repeat(3_000_000);
    trail::info!(x = control, y = control, "escaped");
    trail::info!("after");
    drop(guard);

    let records = read_all(dir.path());
    let msgs: Vec<&str> = records.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(
        msgs,
        ["before", "serde", "display", "strings", "escaped", "after"]
    );
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    let first = seqs[0];
    assert_eq!(seqs, Vec::from_iter(first..first + 6), "{format}");
    assert!(
        has_cut_marker(records[1].field("numbers").unwrap()),
        "{format}: the serde value shows its cut"
    );
    let shown = text(records[2].field("shown"));
    assert!(
        shown.starts_with("ddd") && shown.contains("…[cut "),
        "{format}: the Display value shows its cut"
    );
    let cut_fields = records[3]
        .fields
        .iter()
        .filter(|(_, v)| has_cut_marker(v))
        .count();
    assert!(cut_fields > 0, "{format}: the strings event shows its cut");
    assert_eq!(
        records[3].fields.len(),
        8,
        "{format}: every field keeps its name"
    );
    assert!(
        records[4].fields.iter().any(|(_, v)| has_cut_marker(v)),
        "{format}: the escaped event shows its cut"
    );

    // A restart finds the last seq after every record, the largest included.
    let guard = install();
    trail::info!("restarted");
    drop(guard);
    let records = read_all(dir.path());
    let last = records.last().unwrap();
    assert_eq!(
        (last.msg.as_str(), last.seq),
        ("restarted", first + 6),
        "{format}"
    );
}

#[test]
fn json_records_stay_within_the_limit() {
    huge_values_are_cut_and_the_stream_continues_after_them(Format::Json);
}

#[test]
fn csv_records_stay_within_the_limit() {
    huge_values_are_cut_and_the_stream_continues_after_them(Format::Csv);
}

#[test]
fn text_records_stay_within_the_limit() {
    huge_values_are_cut_and_the_stream_continues_after_them(Format::Text);
}

#[test]
fn binary_records_stay_within_the_limit() {
    huge_values_are_cut_and_the_stream_continues_after_them(Format::Bincode);
}
