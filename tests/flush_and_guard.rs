//! Installing, flushing and stopping the writer.

use std::sync::{Mutex, MutexGuard};

use trail::{ErrorKind, LevelFilter, Policy};

/// The writer is global: the tests of this file take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn lines(path: impl AsRef<std::path::Path>) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Whether a thread named `trail-writer` runs in this process.
#[cfg(target_os = "linux")]
fn writer_thread_running() -> bool {
    std::fs::read_dir("/proc/self/task").unwrap().any(|task| {
        let comm = task.unwrap().path().join("comm");
        std::fs::read_to_string(comm).is_ok_and(|name| name.trim() == "trail-writer")
    })
}

fn install(dir: &std::path::Path) -> trail::Guard {
    trail::builder()
        .dir(dir)
        .name("t")
        .level(LevelFilter::Trace)
        .install()
        .unwrap()
}

#[test]
fn flush_returns_after_everything_logged_before_it_is_written() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = install(dir.path());
    for round in 1..=20_u64 {
        for i in 0..500_u64 {
            trail::info!(round, i, "x");
        }
        trail::flush();
        assert_eq!(lines(guard.path()).len() as u64, round * 500);
    }
    trail::info!("via the guard");
    guard.flush();
    assert_eq!(lines(guard.path()).len(), 10_001);
    assert_eq!(guard.stats().written, 10_001);
}

#[test]
fn fatal_flushes_before_it_returns() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = install(dir.path());
    for i in 0..100 {
        trail::info!(i, "before");
    }
    trail::fatal!(code = 2, "giving up");
    let written = lines(guard.path());
    assert_eq!(written.len(), 101);
    assert_eq!(written[100]["level"], "fatal");
    assert_eq!(written[100]["msg"], "giving up");
}

#[test]
fn dropping_the_guard_writes_everything_and_joins_the_writer() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("t")
        .capacity(64)
        .install()
        .unwrap();
    let path = guard.path().to_owned();
    guard.flush(); // the writer thread has started and named itself
    #[cfg(target_os = "linux")]
    assert!(writer_thread_running());
    std::thread::scope(|s| {
        for t in 0..2_u32 {
            s.spawn(move || {
                for i in 0..20_000_u32 {
                    trail::info!(t, i, "burst");
                }
            });
        }
    });
    drop(guard);
    assert_eq!(lines(&path).len(), 40_000);
    assert!(!trail::is_installed());
    assert_eq!(trail::max_level(), LevelFilter::Off);
    #[cfg(target_os = "linux")]
    assert!(
        !writer_thread_running(),
        "the writer thread was joined by drop"
    );
    trail::info!("after the guard: nowhere to go, costs a load");
    assert_eq!(lines(&path).len(), 40_000);
}

#[test]
fn installing_twice_is_a_clear_error_and_the_first_writer_carries_on() {
    let _s = serial();
    let first_dir = tempfile::tempdir().unwrap();
    let second_dir = tempfile::tempdir().unwrap();
    let guard = install(first_dir.path());
    let err = trail::builder()
        .dir(second_dir.path())
        .install()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyInstalled);
    assert_eq!(
        err.to_string(),
        "a trail sink is already installed in this process; drop its guard before installing another"
    );
    assert_eq!(
        std::fs::read_dir(second_dir.path()).unwrap().count(),
        0,
        "the refused install created no file"
    );
    trail::info!("still here");
    guard.flush();
    assert_eq!(lines(guard.path()).len(), 1);
}

#[test]
fn a_new_writer_can_be_installed_after_the_guard_is_dropped() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let first = install(dir.path());
    trail::info!("one");
    let first_path = first.path().to_owned();
    drop(first);
    let second = install(dir.path());
    trail::info!("two");
    let second_path = second.path().to_owned();
    drop(second);
    assert_ne!(
        first_path, second_path,
        "a closed segment is never reopened"
    );
    assert_eq!(lines(&first_path)[0]["msg"], "one");
    assert_eq!(lines(&second_path)[0]["msg"], "two");
}

#[test]
fn a_disabled_level_evaluates_no_argument_with_the_writer_installed() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .level(LevelFilter::Warn)
        .install()
        .unwrap();
    let calls = std::cell::Cell::new(0);
    let costly = || {
        calls.set(calls.get() + 1);
        1
    };
    trail::info!(a = costly(), "{}", costly());
    trail::debug!(a = costly());
    assert_eq!(calls.get(), 0);
    trail::warn!(a = costly());
    assert_eq!(calls.get(), 1);
    guard.flush();
    assert_eq!(lines(guard.path()).len(), 1);
}

#[test]
fn the_drop_policy_counts_every_event_it_does_not_write() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .capacity(4)
        .policy(Policy::Drop)
        .install()
        .unwrap();
    const N: u64 = 50_000;
    for i in 0..N {
        trail::info!(i, "flood");
    }
    let path = guard.path().to_owned();
    let stats = {
        guard.flush();
        guard.stats()
    };
    drop(guard);
    let written = lines(&path);
    assert_eq!(stats.written + stats.dropped, N);
    assert_eq!(written.len() as u64, stats.written);
    let seqs: Vec<u64> = written.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.iter().copied().eq(1..=stats.written),
        "seq stays gapless among written records"
    );
}

#[test]
fn bad_settings_and_paths_are_errors_that_name_them() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = trail::builder()
        .dir(file.join("logs"))
        .install()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.to_string().starts_with("cannot create log directory "),
        "{err}"
    );
    assert!(err.to_string().contains("not-a-dir/logs"), "{err}");
    assert_eq!(err.path(), Some(file.join("logs").as_path()));

    let err = trail::builder()
        .dir(dir.path())
        .capacity(0)
        .install()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("capacity"), "{err}");

    let err = trail::builder()
        .dir(dir.path())
        .name("a b")
        .install()
        .unwrap_err();
    assert!(
        err.to_string().contains("invalid stream name \"a b\""),
        "{err}"
    );
    assert!(!trail::is_installed());
}

#[test]
fn drop_and_report_writes_every_drop_into_the_stream() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .capacity(4)
        .policy(Policy::DropAndReport)
        .filter_from_env(false)
        .level(LevelFilter::Trace)
        .install()
        .unwrap();
    const N: u64 = 50_000;
    for i in 0..N {
        if i % 5 == 0 {
            trail::warn!(i, "flood");
        } else {
            trail::info!(i, "flood");
        }
    }
    let stats = guard.shutdown();
    let records: Vec<trail::read::LogRecord> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let (reports, events): (Vec<_>, Vec<_>) = records.iter().partition(|r| r.target == "trail");
    let u = |r: &trail::read::LogRecord, k: &str| match r.field(k) {
        Some(trail::read::FieldValue::U64(n)) => *n,
        other => panic!("{k}: {other:?}"),
    };
    let reported: u64 = reports.iter().map(|r| u(r, "dropped")).sum();
    assert!(stats.dropped > 0, "the queue overflowed");
    assert_eq!(reported, stats.dropped, "every drop is reported");
    assert_eq!(
        events.len() as u64 + reported,
        N,
        "written or reported, nothing else"
    );
    for r in &reports {
        let by_level: u64 = ["trace", "debug", "info", "warn", "error", "fatal"]
            .iter()
            .map(|l| u(r, &format!("dropped_{l}")))
            .sum();
        assert_eq!(by_level, u(r, "dropped"));
        assert_eq!(r.level, trail::Level::Warn);
        assert_eq!(
            r.msg,
            format!("dropped {} events: the queue was full", u(r, "dropped"))
        );
        assert!(r.field("from").is_some() && r.field("until").is_some());
    }
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert!(
        seqs.iter().copied().eq(1..=records.len() as u64),
        "reports take their place in seq"
    );
}

#[test]
fn never_drop_keeps_errors_whatever_the_policy() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .capacity(2)
        .policy(Policy::Drop)
        .never_drop(LevelFilter::Error)
        .filter_from_env(false)
        .install()
        .unwrap();
    for i in 0..20_000_u32 {
        if i % 100 == 0 {
            trail::error!(i, "must arrive");
        } else {
            trail::info!(i, "may be dropped");
        }
    }
    let stats = guard.shutdown();
    let errors = trail::read::open(dir.path())
        .unwrap()
        .filter(|r| r.as_ref().unwrap().level == trail::Level::Error)
        .count();
    assert!(stats.dropped > 0);
    assert_eq!(errors, 200);
}

#[test]
fn the_fsync_policy_decides_when_data_is_synced() {
    let _s = serial();
    let run = |fsync: trail::Fsync| {
        let dir = tempfile::tempdir().unwrap();
        let guard = trail::builder()
            .dir(dir.path())
            .fsync(fsync)
            .install()
            .unwrap();
        for i in 0..10_u32 {
            trail::info!(i, "synced?");
            guard.flush();
        }
        let stats = guard.shutdown();
        assert_eq!(stats.written, 10);
        stats.fsyncs
    };
    assert_eq!(run(trail::Fsync::Never), 0);
    assert!(
        run(trail::Fsync::EveryBatch) >= 10,
        "one per written batch at least"
    );
    assert_eq!(
        run(trail::Fsync::Every(std::time::Duration::from_secs(3600))),
        0,
        "not due within an hour"
    );
    assert_eq!(
        run(trail::Fsync::OnRotation),
        0,
        "only sealed segments are synced"
    );
}
