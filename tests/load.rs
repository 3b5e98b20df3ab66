//! Load: 8 threads log at full speed into a stream that rotates every MiB, and the stream
//! is read back whole: every event exactly once, each thread's events in the order it
//! logged them, `seq` gapless, every record decodable, every sealed segment listed in the
//! manifest with its length, checksum, record count and `seq` range (what `trail verify`
//! checks).
//!
//! The default run is sized for the unoptimised test build on a small machine; the full
//! load, 8 × 1,000,000 events, is `cargo test --release --test load -- --ignored`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use trail::read::FieldValue;

const THREADS: u64 = 8;

/// The tests share the global writer: they take turns.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn eight_threads_with_rotation_every_mib_lose_nothing() {
    let _s = serial();
    load(100_000);
}

#[test]
#[ignore = "the full load: run with `cargo test --release --test load -- --ignored`"]
fn eight_threads_of_a_million_events_with_rotation_every_mib_lose_nothing() {
    let _s = serial();
    load(1_000_000);
}

fn load(per_thread: u64) {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let guard = trail::builder()
        .dir(dir.path())
        .rotate_bytes(1 << 20)
        .filter_from_env(false)
        .install()
        .unwrap();
    std::thread::scope(|s| {
        for thread in 0..THREADS {
            s.spawn(move || {
                for i in 0..per_thread {
                    trail::info!(thread, i, "load");
                }
            });
        }
    });
    let stats = guard.shutdown();
    let logged = started.elapsed();
    let total = THREADS * per_thread;
    assert_eq!(stats.written, total, "{stats:?}");
    assert_eq!(
        stats.dropped + stats.abandoned + stats.io_errors,
        0,
        "{stats:?}"
    );
    assert!(stats.rotations >= 1, "{stats:?}");

    let started = Instant::now();
    let segments = check(dir.path(), per_thread);
    println!(
        "{THREADS} threads x {per_thread} events: logged and written in {:.2?}, \
         read back and checked in {:.2?}; {segments} segments",
        logged,
        started.elapsed()
    );
}

/// What the records of one segment said about it.
#[derive(Default)]
struct Seen {
    records: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
}

/// Reads the stream back and checks it; returns the number of segments.
fn check(dir: &Path, per_thread: u64) -> usize {
    let total = THREADS * per_thread;
    let mut next_i = vec![0_u64; THREADS as usize];
    let mut next_seq = 1_u64;
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut reader = trail::read::open(dir).unwrap();
    while let Some(record) = reader.next() {
        let record = record.unwrap_or_else(|e| panic!("every record decodes: {e}"));
        assert_eq!(record.seq, next_seq, "seq gapless, in order");
        next_seq += 1;
        let field = |key: &str| match record.field(key) {
            Some(FieldValue::U64(n)) => *n,
            other => panic!("{key} of seq {}: {other:?}", record.seq),
        };
        let (thread, i) = (field("thread") as usize, field("i"));
        assert_eq!(
            i, next_i[thread],
            "thread {thread}: each event once, in the order logged (seq {})",
            record.seq
        );
        next_i[thread] += 1;
        let segment = &reader.checkpoint().unwrap().segment;
        let entry = seen.entry(segment.clone()).or_default();
        entry.records += 1;
        entry.first_seq.get_or_insert(record.seq);
        entry.last_seq = Some(record.seq);
    }
    assert_eq!(next_seq - 1, total, "every event present");
    assert!(next_i.iter().all(|&n| n == per_thread), "{next_i:?}");

    // Every segment is sealed (the writer stopped) and listed as it is.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("app.manifest.json")).unwrap()).unwrap();
    let listed = manifest["segments"].as_array().unwrap();
    assert_eq!(listed.len(), seen.len(), "one entry per segment");
    for entry in listed {
        let name = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let segment = &seen[name];
        assert_eq!(entry["bytes"], bytes.len() as u64, "{name}");
        assert!(bytes.len() <= 1 << 20, "{name}: {} bytes", bytes.len());
        assert_eq!(entry["crc32"], crc32fast::hash(&bytes), "{name}");
        assert_eq!(entry["records"], segment.records, "{name}");
        assert_eq!(entry["first_seq"], segment.first_seq.unwrap(), "{name}");
        assert_eq!(entry["last_seq"], segment.last_seq.unwrap(), "{name}");
        assert!(entry.get("torn_tail").is_none(), "{name}");
    }
    seen.len()
}
