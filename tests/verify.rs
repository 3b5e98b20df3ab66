//! `trail::read::verify` checks a stream against its manifest and for `seq` continuity,
//! and returns a typed report: a sound stream passes with its counts and `seq` range;
//! missing segments, bad checksums and damaged records are problems naming their file;
//! past the first hundred, problems are only counted.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use trail::read::{verify, ReadErrorKind, MAX_LISTED_PROBLEMS};

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes `events` records into small, uncompressed segments of stream `app`.
fn write(dir: &Path, events: u64) {
    let guard = trail::builder()
        .dir(dir)
        .name("app")
        .filter_from_env(false)
        .rotate_bytes(1024)
        .compress(false)
        .install()
        .unwrap();
    for n in 0..events {
        trail::info!(n, "event {n}");
    }
    drop(guard);
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("app.2")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_sound_stream_passes_with_its_counts_and_seq_range() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 200);
    let files = segments(dir.path());
    assert!(files.len() > 3, "several segments: {files:?}");

    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.problem_count, 0);
    assert_eq!(report.segments, files.len());
    assert_eq!(report.records, 200);
    assert_eq!(report.seq, Some(1..=200));

    let manifest = trail::read::read_manifest(dir.path(), "app")
        .unwrap()
        .unwrap();
    // The manifest's entries and the segments it does not list (the active one) hold
    // every record once.
    let name = |p: &PathBuf| p.file_name().unwrap().to_str().unwrap().to_owned();
    let listed: u64 = manifest.segments.iter().map(|s| s.records).sum();
    let unlisted: u64 = files
        .iter()
        .filter(|f| !manifest.segments.iter().any(|s| s.file == name(f)))
        .map(|f| trail::read::open(f).unwrap().count() as u64)
        .sum();
    assert!(!manifest.segments.is_empty());
    assert_eq!(listed + unlisted, 200);
    assert_eq!(manifest.next_seq(), manifest.last_seq().unwrap() + 1);
}

#[test]
fn damage_is_reported_naming_the_file() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 200);
    let files = segments(dir.path());

    // A sealed segment gone: listed but missing, and seq skips over it.
    std::fs::remove_file(&files[1]).unwrap();
    // Another one changed in place: its checksum no longer matches.
    let mut bytes = std::fs::read(&files[2]).unwrap();
    let at = bytes.iter().position(|&b| b == b'e').unwrap();
    bytes[at] = b'E';
    std::fs::write(&files[2], &bytes).unwrap();

    let report = verify(dir.path()).unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.problem_count, report.problems.len() as u64);
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_owned();
    let has = |what: &str, file: &str| {
        report
            .problems
            .iter()
            .any(|p| p.contains(what) && p.contains(file))
    };
    assert!(
        has("listed in the manifest but missing", &name(&files[1])),
        "{:?}",
        report.problems
    );
    assert!(has("seq skips", &name(&files[2])), "{:?}", report.problems);
    assert!(
        has("the CRC-32 is", &name(&files[2])),
        "{:?}",
        report.problems
    );
    assert_eq!(report.segments, files.len() - 1);
}

#[test]
fn past_the_first_hundred_problems_are_only_counted() {
    let dir = tempfile::tempdir().unwrap();
    // Every empty line is a damaged record.
    std::fs::write(
        dir.path().join("app.20261123T220612.000000000Z.jsonl"),
        "\n".repeat(5_000),
    )
    .unwrap();
    let report = verify(dir.path()).unwrap();
    assert_eq!(report.problems.len(), MAX_LISTED_PROBLEMS);
    assert_eq!(report.problem_count, 5_000);
    assert_eq!(
        report.unlisted_problems(),
        5_000 - MAX_LISTED_PROBLEMS as u64
    );
    assert_eq!((report.records, report.seq.clone()), (0, None));
    assert!(
        report.notes.iter().any(|n| n.contains("no manifest")),
        "{:?}",
        report.notes
    );
}

#[test]
fn a_path_that_is_not_a_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.20261123T220612.000000000Z.jsonl");
    std::fs::write(&file, "").unwrap();
    let err = verify(&file).unwrap_err();
    assert_eq!(err.kind(), ReadErrorKind::Unsupported);
    assert_eq!(err.path(), file);
}
