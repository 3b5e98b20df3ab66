//! A hidden active segment (`Builder::hide_active_segment`): named `_` and its final name
//! while it is written, renamed when sealed, so that a file source listing `app.*.jsonl`
//! only ever sees complete files; everything else (recovery, locking, retention,
//! compression, the reader and its checkpoints) works as with plain names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use trail::read::Checkpoint;
use trail::testing::ManualClock;
use trail::{LevelFilter, Period};

/// 2026-11-23T22:59:59Z.
const T0: u64 = 1_795_474_799_000_000_000;
const MINUTE: u64 = 60_000_000_000;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn builder(dir: &Path) -> trail::Builder {
    trail::builder()
        .dir(dir)
        .name("app")
        .level(LevelFilter::Trace)
        .filter_from_env(false)
        .hide_active_segment(true)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The files a file source with the glob `app.*.jsonl` lists.
fn visible(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with("app.2") && n.ends_with(".jsonl"))
        .collect()
}

fn hidden(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with("_app."))
        .collect()
}

fn manifest_files(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("app.manifest.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_owned())
        .collect()
}

fn seqs(dir: &Path) -> Vec<u64> {
    trail::read::open_stream(dir, "app")
        .unwrap()
        .map(|r| r.unwrap().seq)
        .collect()
}

#[test]
fn the_active_segment_is_hidden_until_it_is_sealed_then_listed_under_its_final_name() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = builder(dir.path()).rotate_bytes(2_000).install().unwrap();
    let active = guard
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(active.starts_with("_app.2"), "{active}");
    for n in 0..100_u32 {
        trail::info!(n, "event");
    }
    guard.flush();
    // Exactly one hidden file, the active one; every sealed one under its final name,
    // listed in the manifest.
    let hidden_now = hidden(dir.path());
    assert_eq!(hidden_now.len(), 1, "{:?}", names(dir.path()));
    let sealed = visible(dir.path());
    assert!(sealed.len() >= 3, "{sealed:?}");
    assert_eq!(manifest_files(dir.path()), sealed);
    let active_now = guard
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(hidden_now, std::slice::from_ref(&active_now));
    assert!(sealed.iter().all(|s| s.as_str() < &active_now[1..]));
    // The reader lists it too, in order.
    assert_eq!(seqs(dir.path()), (1..=100).collect::<Vec<_>>());
    drop(guard);

    assert!(hidden(dir.path()).is_empty(), "{:?}", names(dir.path()));
    let sealed = visible(dir.path());
    assert_eq!(manifest_files(dir.path()), sealed);
    assert!(sealed.contains(&active_now[1..].to_owned()), "{sealed:?}");
    assert_eq!(seqs(dir.path()), (1..=100).collect::<Vec<_>>());
}

#[test]
fn without_the_option_the_active_segment_keeps_today_s_name() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = builder(dir.path())
        .hide_active_segment(false)
        .install()
        .unwrap();
    trail::info!("event");
    guard.flush();
    assert!(hidden(dir.path()).is_empty());
    assert_eq!(visible(dir.path()).len(), 1);
    drop(guard);
}

/// What a file source does: lists `app.*.jsonl` again and again while the writer writes,
/// and reads each file it lists once. With the option, every file it lists is complete
/// already: its length never changes after it is first seen.
#[test]
fn a_file_listed_by_its_final_name_never_grows() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = builder(dir.path()).rotate_bytes(4_000).install().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let lister = {
        let dir = dir.path().to_owned();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut first_seen: HashMap<String, u64> = HashMap::new();
            while !done.load(Ordering::Relaxed) {
                for name in visible(&dir) {
                    if let Ok(meta) = std::fs::metadata(dir.join(&name)) {
                        first_seen.entry(name).or_insert(meta.len());
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            first_seen
        })
    };
    for n in 0..3_000_u32 {
        trail::info!(n, "event");
        if n % 50 == 0 {
            guard.flush();
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    guard.flush();
    done.store(true, Ordering::Relaxed);
    let first_seen = lister.join().unwrap();
    drop(guard);
    assert!(first_seen.len() >= 10, "{first_seen:?}");
    for (name, len) in &first_seen {
        let now = std::fs::metadata(dir.path().join(name)).unwrap().len();
        assert_eq!(
            *len, now,
            "{name} was listed at {len} bytes and grew to {now}"
        );
    }
    assert_eq!(seqs(dir.path()), (1..=3_000).collect::<Vec<_>>());
}

/// A reader that took a checkpoint on the hidden active segment resumes on it after it
/// was renamed, and one that was reading it reads on to its end: nothing lost, nothing
/// repeated.
#[test]
fn a_reader_follows_the_active_segment_across_its_rename() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path())
        .clock(clock.clone())
        .rotate_every(Period::Minute)
        .install()
        .unwrap();
    for n in 0..10_u32 {
        trail::info!(n, "first");
    }
    guard.flush();
    let active = guard.path().to_owned();

    // One reader reads everything there is; another stops in the middle.
    let mut all = trail::read::open_stream(dir.path(), "app").unwrap();
    let read: Vec<u64> = all.by_ref().map(|r| r.unwrap().seq).collect();
    assert_eq!(read, (1..=10).collect::<Vec<_>>());
    let checkpoint: Checkpoint = all.checkpoint().unwrap().clone();
    let final_name = active.file_name().unwrap().to_str().unwrap()[1..].to_owned();
    assert_eq!(
        checkpoint.segment, final_name,
        "its identity: the name without `_`"
    );
    let mut half = trail::read::open_stream(dir.path(), "app").unwrap();
    let first_half: Vec<u64> = half.by_ref().take(4).map(|r| r.unwrap().seq).collect();
    assert_eq!(first_half, [1, 2, 3, 4]);

    // A third reader lists the directory now and opens the segment only after the rename.
    let listed_before = trail::read::open_stream(dir.path(), "app").unwrap();

    // The tail of the segment, then a rotation: the segment is sealed and renamed.
    for n in 10..15_u32 {
        trail::info!(n, "first");
    }
    guard.flush();
    clock.advance(Duration::from_nanos(2 * MINUTE));
    for n in 0..5_u32 {
        trail::info!(n, "second");
    }
    guard.flush();
    assert!(!active.exists(), "sealed and renamed");
    assert!(dir.path().join(&final_name).exists());
    assert_ne!(guard.path(), active);

    let opened_after: Vec<u64> = listed_before.map(|r| r.unwrap().seq).collect();
    assert_eq!(opened_after, (1..=15).collect::<Vec<_>>());
    let rest: Vec<u64> = half.map(|r| r.unwrap().seq).collect();
    assert_eq!(
        rest,
        (5..=15).collect::<Vec<_>>(),
        "read on in the same file"
    );
    let resumed: Vec<u64> = trail::read::open_stream(dir.path(), "app")
        .unwrap()
        .resume(&checkpoint)
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(resumed, (11..=20).collect::<Vec<_>>());
    // The end of the stream, from the hidden active segment.
    let last: Vec<u64> = trail::read::open(dir.path())
        .unwrap()
        .last(3)
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(last, [18, 19, 20]);
    drop(guard);
}

/// A listing made while the segment was being renamed may show it under neither name;
/// resuming from a checkpoint in it still finds it by name.
#[test]
fn a_checkpoint_resumes_on_a_segment_the_listing_missed() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path())
        .clock(clock.clone())
        .rotate_every(Period::Minute)
        .install()
        .unwrap();
    for n in 0..6_u32 {
        trail::info!(n, "event");
    }
    guard.flush();
    let active = guard.path().to_owned();
    let mut reader = trail::read::open_stream(dir.path(), "app").unwrap();
    let first: Vec<u64> = reader.by_ref().take(3).map(|r| r.unwrap().seq).collect();
    assert_eq!(first, [1, 2, 3]);
    let checkpoint = reader.checkpoint().unwrap().clone();

    // Out of sight while the directory is listed, as a rename caught by `readdir` may be.
    let aside = dir.path().join("aside");
    std::fs::rename(&active, &aside).unwrap();
    let listed = trail::read::open_stream(dir.path(), "app").unwrap();
    std::fs::rename(&aside, &active).unwrap();
    let resumed: Vec<u64> = listed.resume(&checkpoint).map(|r| r.unwrap().seq).collect();
    assert_eq!(resumed, [4, 5, 6]);
    drop(guard);
}

/// A process that dies leaves its active segment hidden: the next start (with or without
/// the option) gives it its final name, lists it in the manifest, and `seq` goes on.
#[test]
fn a_hidden_segment_left_by_a_crash_is_sealed_under_its_final_name_at_the_next_start() {
    if let Some(dir) = std::env::var_os("HIDDEN_CRASH_CHILD_DIR") {
        let guard = builder(Path::new(&dir)).install().unwrap();
        for n in 0..25_u32 {
            trail::info!(n, "before the crash");
        }
        guard.flush();
        std::process::abort();
    }
    let _s = serial();
    for hide_at_restart in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_hidden_segment_left_by_a_crash_is_sealed_under_its_final_name_at_the_next_start",
                "--test-threads",
                "1",
            ])
            .env("HIDDEN_CRASH_CHILD_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child aborts");
        let left = hidden(dir.path());
        assert_eq!(left.len(), 1, "{:?}", names(dir.path()));
        assert!(visible(dir.path()).is_empty());
        assert!(manifest_files(dir.path()).is_empty());
        // Read while it is still hidden: the reader finds it.
        assert_eq!(seqs(dir.path()), (1..=25).collect::<Vec<_>>());

        let guard = builder(dir.path())
            .hide_active_segment(hide_at_restart)
            .install()
            .unwrap();
        trail::info!("after the crash");
        drop(guard);
        assert!(hidden(dir.path()).is_empty(), "{:?}", names(dir.path()));
        let sealed = visible(dir.path());
        assert_eq!(sealed.len(), 2, "{sealed:?}");
        assert_eq!(sealed[0], left[0][1..]);
        assert_eq!(manifest_files(dir.path()), sealed);
        assert_eq!(seqs(dir.path()), (1..=26).collect::<Vec<_>>());
    }
}

/// The hidden active segment is locked like a plain one: a process that finds the lock
/// file removed does not take the stream while the segment is held.
#[cfg(unix)]
#[test]
fn a_second_writer_is_kept_out_by_the_hidden_active_segment() {
    if let Some(dir) = std::env::var_os("HIDDEN_SECOND_WRITER_DIR") {
        let result = builder(Path::new(&dir)).install();
        let err = result.expect_err("the stream is taken");
        assert!(err.to_string().contains("already being written"), "{err}");
        assert!(err.to_string().contains("_app."), "{err}");
        return;
    }
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = builder(dir.path()).install().unwrap();
    trail::info!("held");
    guard.flush();
    std::fs::remove_file(dir.path().join("app.lock")).unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_second_writer_is_kept_out_by_the_hidden_active_segment",
            "--test-threads",
            "1",
            "--nocapture",
        ])
        .env("HIDDEN_SECOND_WRITER_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(hidden(dir.path()).len(), 1, "left alone");
    drop(guard);
}

/// Retention never deletes the hidden active segment, and compression works on the
/// sealed, renamed segments.
#[cfg(feature = "gzip")]
#[test]
fn retention_and_compression_work_on_renamed_segments() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = builder(dir.path())
        .rotate_bytes(2_000)
        .keep_segments(3)
        .compress(true)
        .install()
        .unwrap();
    for n in 0..400_u32 {
        trail::info!(n, "event");
        if n % 20 == 0 {
            guard.flush();
            assert!(guard.path().exists(), "the active segment is never deleted");
        }
    }
    guard.flush();
    assert_eq!(hidden(dir.path()).len(), 1);
    drop(guard);
    let files = names(dir.path());
    assert!(hidden(dir.path()).is_empty(), "{files:?}");
    let compressed: Vec<String> = files
        .iter()
        .filter(|n| n.starts_with("app.2") && n.ends_with(".jsonl.gz"))
        .cloned()
        .collect();
    assert_eq!(compressed.len(), 3, "{files:?}");
    // Listed as compressed once the compressor is done.
    let manifest: Vec<String> = manifest_files(dir.path());
    assert_eq!(manifest, compressed);
    let read = seqs(dir.path());
    assert_eq!(read.last(), Some(&400));
    let first = read[0];
    assert_eq!(read, (first..=400).collect::<Vec<_>>());
}

/// A directory whose files are named like a stream `_app` is that stream's, not `app`'s
/// hidden segments, when `_app` has its manifest there.
#[test]
fn a_stream_named_with_a_leading_underscore_is_not_mistaken_for_a_hidden_segment() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("_app")
        .filter_from_env(false)
        .install()
        .unwrap();
    trail::info!("of _app");
    drop(guard);
    let streams_dir: PathBuf = dir.path().to_owned();
    let reader = trail::read::open(&streams_dir).unwrap();
    assert_eq!(reader.stream(), Some("_app"));
    assert_eq!(reader.count(), 1);
    assert_eq!(
        trail::read::open_stream(&streams_dir, "app")
            .unwrap()
            .count(),
        0
    );
}
