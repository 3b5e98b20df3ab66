//! Each thread's queue starts small and grows under a burst: the events of bursts larger
//! than the first ring are all written, once each, in each thread's order; and a total
//! cap on the queues' bytes holds back growth, so that `Block` waits (nothing lost) and
//! `Drop` drops and counts.

use std::collections::HashMap;
use std::path::Path;

use trail::read::FieldValue;

/// The tests share the global writer: they take turns.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Logs `per_thread` events from each of `threads` threads, in bursts with no pause, with
/// a 100-byte field so that a burst fills many first rings (32 KiB) over.
fn burst(builder: trail::Builder, threads: u64, per_thread: u64) -> trail::Stats {
    let guard = builder.filter_from_env(false).install().unwrap();
    let pad = "p".repeat(100);
    std::thread::scope(|s| {
        for t in 0..threads {
            let pad = pad.as_str();
            s.spawn(move || {
                for i in 0..per_thread {
                    trail::info!(t, i, pad, "burst");
                }
            });
        }
    });
    guard.shutdown()
}

/// Each event found, per thread, in the order written; fails on a thread's event written
/// before one it logged earlier, or written twice.
fn read_back(dir: &Path) -> HashMap<u64, Vec<u64>> {
    let mut seen: HashMap<u64, Vec<u64>> = HashMap::new();
    for record in trail::read::open(dir).unwrap() {
        let record = record.unwrap();
        let (Some(FieldValue::U64(t)), Some(FieldValue::U64(i))) =
            (record.field("t"), record.field("i"))
        else {
            continue;
        };
        let events = seen.entry(*t).or_default();
        if let Some(&last) = events.last() {
            assert!(*i > last, "thread {t}: event {i} written after {last}");
        }
        events.push(*i);
    }
    seen
}

#[test]
fn a_burst_larger_than_the_first_ring_is_written_whole_and_in_order() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    // 20,000 events of about 150 bytes: 3 MB per thread, past the first ring and past the
    // cap of 2 MiB too, so that each ring grows to its cap and then waits.
    let stats = burst(trail::builder().dir(dir.path()), 4, 20_000);
    assert_eq!((stats.written, stats.dropped), (80_000, 0), "{stats:?}");
    let seen = read_back(dir.path());
    assert_eq!(seen.len(), 4);
    assert!(seen.values().all(|events| events.len() == 20_000));
}

#[test]
fn under_a_total_cap_blocking_threads_wait_and_lose_nothing() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let stats = burst(
        trail::builder()
            .dir(dir.path())
            .max_queue_bytes(2 << 20)
            .policy(trail::Policy::Block),
        32,
        3_000,
    );
    assert_eq!((stats.written, stats.dropped), (96_000, 0), "{stats:?}");
    let seen = read_back(dir.path());
    assert_eq!(seen.len(), 32);
    assert!(seen.values().all(|events| events.len() == 3_000));
}

#[test]
fn under_a_total_cap_dropping_threads_count_every_drop() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let stats = burst(
        trail::builder()
            .dir(dir.path())
            .max_queue_bytes(2 << 20)
            .policy(trail::Policy::Drop),
        32,
        3_000,
    );
    assert_eq!(stats.written + stats.dropped, 96_000, "{stats:?}");
    let seen = read_back(dir.path());
    let read: usize = seen.values().map(Vec::len).sum();
    assert_eq!(read as u64, stats.written);
}
