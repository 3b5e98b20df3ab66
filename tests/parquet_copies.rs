//! The writer's Parquet copies of sealed segments (`Builder::parquet`): one whole file per
//! segment under `DIR/parquet/`, never read by trail's readers, deleted with its segment,
//! made again at start when a crash or an error kept it from being made, and a failure
//! counted without touching the segment.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use arrow_array::{Array, UInt64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Logs `records` records (numbered from `from`) into the stream `app` in `dir`, sealing
/// a segment every 100, and returns the writer's final counters.
fn write(
    dir: &Path,
    from: u64,
    records: u64,
    configure: impl Fn(trail::Builder) -> trail::Builder,
) -> trail::Stats {
    let guard = configure(trail::builder().dir(dir).name("app").parquet(true))
        .install()
        .unwrap();
    for i in from..from + records {
        if i % 2 == 0 {
            trail::info!(actor = i, n = i, "record {i}");
        } else {
            trail::info!(actor = "someone", n = "text", "record {i}");
        }
        if i % 100 == 99 {
            guard.rotate();
        }
    }
    guard.shutdown()
}

/// The sealed segments the manifest lists, by name without `.gz`.
fn listed(dir: &Path) -> Vec<String> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("app.manifest.json")).unwrap()).unwrap();
    let mut names: Vec<String> = manifest["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let file = s["file"].as_str().unwrap();
            file.strip_suffix(".gz").unwrap_or(file).to_owned()
        })
        .collect();
    names.sort();
    names
}

/// Every file in `DIR/parquet`, by name.
fn copies(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("parquet")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn copy_of(dir: &Path, segment: &str) -> PathBuf {
    dir.join("parquet").join(format!("{segment}.parquet"))
}

/// The `seq` column of a Parquet file.
fn seqs(path: &Path) -> Vec<u64> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut seqs = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let column = batch.column_by_name("seq").unwrap();
        let column = column.as_any().downcast_ref::<UInt64Array>().unwrap();
        seqs.extend(column.values().iter().copied());
    }
    seqs
}

/// The `seq`s of a segment's records, read by trail.
fn segment_seqs(dir: &Path, segment: &str) -> Vec<u64> {
    let path = dir.join(segment);
    let path = if path.exists() {
        path
    } else {
        dir.join(format!("{segment}.gz"))
    };
    trail::read::open(path)
        .unwrap()
        .map(|r| r.unwrap().seq)
        .collect()
}

#[test]
fn each_sealed_segment_gets_one_whole_copy_that_readers_of_the_stream_skip() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    let stats = write(dir.path(), 0, 450, |b| {
        b.compress(true).fsync(trail::Fsync::OnRotation)
    });
    let segments = listed(dir.path());
    assert_eq!(segments.len(), 5);
    let expected: Vec<String> = segments.iter().map(|s| format!("{s}.parquet")).collect();
    assert_eq!(
        copies(dir.path()),
        expected,
        "one copy per segment, no temporary"
    );
    assert_eq!(stats.parquet_files, 5);
    assert_eq!(stats.parquet_errors, 0);
    for segment in &segments {
        assert_eq!(
            seqs(&copy_of(dir.path(), segment)),
            segment_seqs(dir.path(), segment),
            "the copy of {segment} holds its records"
        );
    }
    // The stream's readers see each record once, the copies beside them notwithstanding.
    let read: Vec<u64> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(read, (1..=450).collect::<Vec<u64>>());
}

#[test]
fn retention_deletes_a_segments_copy_with_it() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0, 600, |b| b.keep_segments(2));
    let segments = listed(dir.path());
    assert_eq!(segments.len(), 2);
    let expected: Vec<String> = segments.iter().map(|s| format!("{s}.parquet")).collect();
    assert_eq!(copies(dir.path()), expected);
}

#[test]
fn a_start_makes_the_copies_a_crash_kept_from_being_made_and_removes_its_leftovers() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0, 300, |b| b);
    let segments = listed(dir.path());
    assert_eq!(segments.len(), 3);
    // As a crash leaves it: one copy never published, its temporary half-written.
    let lost = &segments[1];
    std::fs::remove_file(copy_of(dir.path(), lost)).unwrap();
    let tmp = dir
        .path()
        .join("parquet")
        .join(format!(".{lost}.parquet.tmp"));
    std::fs::write(&tmp, b"PAR1 half").unwrap();
    // And a copy whose segment retention deleted just before it was published.
    let orphan = "app.19990101T000000.000000000Z.jsonl";
    std::fs::copy(
        copy_of(dir.path(), &segments[0]),
        copy_of(dir.path(), orphan),
    )
    .unwrap();

    let stats = write(dir.path(), 300, 1, |b| b);
    assert_eq!(
        stats.parquet_files, 2,
        "the lost copy and the new segment's"
    );
    let segments = listed(dir.path());
    let expected: Vec<String> = segments.iter().map(|s| format!("{s}.parquet")).collect();
    assert_eq!(copies(dir.path()), expected);
    assert_eq!(
        seqs(&copy_of(dir.path(), lost)),
        segment_seqs(dir.path(), lost)
    );
}

#[test]
fn a_copy_that_cannot_be_written_is_counted_and_made_at_the_next_start() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    // A file where the copies' directory goes: no copy can be written.
    std::fs::write(dir.path().join("parquet"), b"in the way").unwrap();
    let stats = write(dir.path(), 0, 200, |b| b);
    assert_eq!(stats.parquet_errors, 2);
    assert_eq!(stats.parquet_files, 0);
    assert_eq!(stats.written, 200);
    // The segments are untouched: listed, and every record reads back.
    assert_eq!(listed(dir.path()).len(), 2);
    let report = trail::read::verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");

    std::fs::remove_file(dir.path().join("parquet")).unwrap();
    let stats = write(dir.path(), 200, 1, |b| b);
    assert_eq!(stats.parquet_errors, 0);
    assert_eq!(stats.parquet_files, 3);
    let segments = listed(dir.path());
    let expected: Vec<String> = segments.iter().map(|s| format!("{s}.parquet")).collect();
    assert_eq!(copies(dir.path()), expected);
}

#[test]
fn a_stream_that_turns_copies_on_gets_them_for_its_sealed_segments_without_damaged_records() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    {
        let guard = trail::builder()
            .dir(dir.path())
            .name("app")
            .install()
            .unwrap();
        for i in 0..200_u64 {
            trail::info!(n = i, "record {i}");
            if i == 99 {
                guard.rotate();
            }
        }
    }
    let segments = listed(dir.path());
    assert_eq!(segments.len(), 2);
    assert!(copies(dir.path()).is_empty());
    // One record of the first segment damaged in place: the copy leaves it out, as the
    // stream's readers do.
    let first = dir.path().join(&segments[0]);
    let text = std::fs::read_to_string(&first).unwrap();
    let line = text.lines().nth(10).unwrap();
    let damaged = line.replacen("\"msg\":", "\"msg\"!", 1);
    std::fs::write(&first, text.replacen(line, &damaged, 1)).unwrap();

    let stats = write(dir.path(), 200, 1, |b| b);
    assert_eq!(stats.parquet_files, 3);
    assert_eq!(stats.parquet_errors, 0);
    let kept = seqs(&copy_of(dir.path(), &segments[0]));
    assert_eq!(kept.len(), 99);
    assert!(!kept.contains(&11));
    assert_eq!(
        seqs(&copy_of(dir.path(), &segments[1])),
        (101..=200).collect::<Vec<u64>>()
    );
}
