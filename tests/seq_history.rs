//! `seq` never starts again in a stream's history: not when retention deletes every sealed
//! segment, not when a run logs nothing, not when a run crashed before writing, and not
//! when the manifest is missing or damaged. Time is steered with a `ManualClock`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use trail::testing::ManualClock;
use trail::{Format, LevelFilter};

/// 2026-11-23T22:59:59Z.
const T0: u64 = 1_795_474_799_000_000_000;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn builder(dir: &Path, clock: &ManualClock) -> trail::Builder {
    trail::builder()
        .dir(dir)
        .name("app")
        .level(LevelFilter::Trace)
        .filter_from_env(false)
        .clock(clock.clone())
}

/// One run of the application: `events` records, then the guard is dropped.
fn run(builder: trail::Builder, events: u64) {
    let guard = builder.install().unwrap();
    for i in 0..events {
        trail::info!(i, "event {i}");
    }
    drop(guard);
}

/// The `seq` of every record in the stream's files now.
fn seqs(dir: &Path) -> Vec<u64> {
    match trail::read::open_stream(dir, "app") {
        Ok(reader) => reader.map(|r| r.unwrap().seq).collect(),
        Err(e) => panic!("{e}"),
    }
}

fn manifest_next_seq(dir: &Path) -> u64 {
    let text = std::fs::read(dir.join("app.manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&text).unwrap();
    manifest["next_seq"].as_u64().unwrap()
}

#[test]
fn keep_segments_1_runs_of_10_0_10_never_repeat_seq() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let keep_one = || builder(dir.path(), &clock).keep_segments(1);
    run(keep_one(), 10);
    assert_eq!(seqs(dir.path()), (1..=10).collect::<Vec<_>>());
    run(keep_one(), 0);
    assert_eq!(
        seqs(dir.path()),
        (1..=10).collect::<Vec<_>>(),
        "a run that logs nothing keeps the one segment with records"
    );
    run(keep_one(), 10);
    assert_eq!(seqs(dir.path()), (11..=20).collect::<Vec<_>>());
    assert_eq!(manifest_next_seq(dir.path()), 21);
}

#[test]
fn keep_bytes_deleting_every_sealed_segment_does_not_restart_seq() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    // Far less than one run's records: every sealed segment goes at the next start.
    let small = || builder(dir.path(), &clock).keep_bytes(100);
    run(small(), 10);
    assert_eq!(seqs(dir.path()), (1..=10).collect::<Vec<_>>());
    run(small(), 0);
    assert!(seqs(dir.path()).is_empty(), "retention deleted the segment");
    run(small(), 10);
    assert_eq!(seqs(dir.path()), (11..=20).collect::<Vec<_>>());
    assert_eq!(manifest_next_seq(dir.path()), 21);
}

#[test]
fn keep_age_with_runs_that_logged_nothing_does_not_restart_seq() {
    let _s = serial();
    // Formats whose segments start with a header, which a run that logs nothing writes too.
    for format in [Format::Csv, Format::Bincode] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let aged = || {
            builder(dir.path(), &clock)
                .format(format)
                .keep_age(Duration::from_secs(600))
        };
        run(aged(), 10);
        run(aged(), 0);
        clock.advance(Duration::from_secs(3600));
        run(aged(), 0);
        run(aged(), 10);
        assert_eq!(
            seqs(dir.path()),
            (1..=20).collect::<Vec<_>>(),
            "{format:?}: the runs without records leave no segment to age the first one \
             by, and the last run goes on after it"
        );
    }
}

#[test]
fn keep_age_deleting_the_segment_before_a_crashed_run_does_not_restart_seq() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let aged = || builder(dir.path(), &clock).keep_age(Duration::from_secs(600));
    run(aged(), 10);
    // A run that was killed before it wrote anything leaves its empty segment, a minute
    // after the first run's.
    std::fs::write(dir.path().join("app.20261123T230100.000000000Z.jsonl"), b"").unwrap();
    clock.advance(Duration::from_secs(3600));
    run(aged(), 0);
    assert!(
        seqs(dir.path()).is_empty(),
        "the first run's segment was sealed an hour ago, and is gone"
    );
    run(aged(), 10);
    assert_eq!(seqs(dir.path()), (11..=20).collect::<Vec<_>>());
}

#[test]
fn without_a_readable_manifest_seq_goes_on_past_every_segment_present() {
    let _s = serial();
    for damage in [None, Some(&b"{\"stream\": \"app\", \"segm"[..])] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let guard = builder(dir.path(), &clock).install().unwrap();
        for i in 0..10_u32 {
            trail::info!(i, "r");
            guard.rotate();
        }
        drop(guard);
        let manifest = dir.path().join("app.manifest.json");
        match damage {
            None => std::fs::remove_file(&manifest).unwrap(),
            Some(bytes) => std::fs::write(&manifest, bytes).unwrap(),
        }
        run(builder(dir.path(), &clock), 3);
        assert_eq!(seqs(dir.path()), (1..=13).collect::<Vec<_>>(), "{damage:?}");
        assert_eq!(manifest_next_seq(dir.path()), 14, "{damage:?}");
    }
}
