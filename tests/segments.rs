//! The file layer: rotation, naming, retention, compression, the manifest, restart and
//! the lock. Time is steered with a `ManualClock`; nothing sleeps.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value as Json;
use trail::testing::ManualClock;
use trail::{LevelFilter, Period};

/// 2026-11-23T22:59:59Z, a second before an hour boundary.
const T0: u64 = 1_795_474_799_000_000_000;
const SECOND: u64 = 1_000_000_000;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn builder(dir: &Path, clock: &ManualClock) -> trail::Builder {
    trail::builder()
        .dir(dir)
        .name("app")
        .level(LevelFilter::Trace)
        .clock(clock.clone())
}

/// The stream's segment files in name order.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("app.2") && (name.ends_with(".jsonl") || name.ends_with(".jsonl.gz"))
        })
        .collect();
    files.sort();
    files
}

fn read_bytes(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

/// Every record of the stream, segment by segment, each line checked to be whole JSON.
fn records(dir: &Path) -> Vec<Vec<Json>> {
    segments(dir)
        .iter()
        .map(|path| {
            let bytes = read_bytes(path);
            assert!(
                bytes.is_empty() || bytes.ends_with(b"\n"),
                "{} ends mid-record",
                path.display()
            );
            bytes
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    serde_json::from_slice(l).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                })
                .collect()
        })
        .collect()
}

fn seqs(records: &[Vec<Json>]) -> Vec<u64> {
    records
        .iter()
        .flatten()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

fn manifest(dir: &Path) -> Json {
    serde_json::from_slice(&std::fs::read(dir.join("app.manifest.json")).unwrap()).unwrap()
}

/// The manifest lists exactly the sealed segments (all but `active`), and every figure in
/// it agrees with the file.
fn assert_manifest_agrees(dir: &Path, active: Option<&Path>) {
    let manifest = manifest(dir);
    assert_eq!(manifest["stream"], "app");
    let entries = manifest["segments"].as_array().unwrap();
    let sealed: Vec<PathBuf> = segments(dir)
        .into_iter()
        .filter(|p| Some(p.as_path()) != active)
        .collect();
    let listed: Vec<&str> = entries
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    let on_disk: Vec<String> = sealed
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed, on_disk,
        "the manifest lists the sealed segments in order"
    );
    for (entry, path) in entries.iter().zip(&sealed) {
        let bytes = read_bytes(path);
        let lines: Vec<Json> = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(entry["bytes"], bytes.len() as u64, "{}", path.display());
        assert_eq!(
            entry["crc32"],
            crc32fast::hash(&bytes),
            "{}",
            path.display()
        );
        assert_eq!(entry["records"], lines.len() as u64);
        assert_eq!(entry["first_seq"], lines[0]["seq"]);
        assert_eq!(entry["last_seq"], lines[lines.len() - 1]["seq"]);
        assert_eq!(entry["format"], "json");
        assert_eq!(entry["schema_version"], 1);
        if path.extension().is_some_and(|e| e == "gz") {
            assert_eq!(
                entry["compressed_bytes"],
                std::fs::metadata(path).unwrap().len()
            );
        }
    }
}

#[test]
fn size_rotation_never_splits_a_record_and_keeps_seq_gapless() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .rotate_bytes(4096)
        .install()
        .unwrap();
    for i in 0..1000_u32 {
        trail::info!(i, pad = "x".repeat((i % 50) as usize), "event {i}");
    }
    let stats = guard.shutdown();
    let all = records(dir.path());
    assert!(all.len() > 10, "{} segments", all.len());
    assert_eq!(stats.rotations, all.len() as u64 - 1);
    assert_eq!(seqs(&all), (1..=1000).collect::<Vec<_>>());
    for path in segments(dir.path()) {
        assert!(
            std::fs::metadata(&path).unwrap().len() <= 4096,
            "{} is over the limit",
            path.display()
        );
    }
    // Every segment starts with a different first record (tailers fingerprint it).
    let firsts: std::collections::HashSet<String> = all.iter().map(|s| s[0].to_string()).collect();
    assert_eq!(firsts.len(), all.len());
    assert_manifest_agrees(dir.path(), None);
}

#[test]
fn a_record_larger_than_the_limit_gets_a_segment_of_its_own() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .rotate_bytes(300)
        .install()
        .unwrap();
    trail::info!("small");
    trail::info!(big = "y".repeat(1000), "big");
    trail::info!("small again");
    drop(guard);
    let all = records(dir.path());
    let msgs: Vec<Vec<&str>> = all
        .iter()
        .map(|s| s.iter().map(|r| r["msg"].as_str().unwrap()).collect())
        .collect();
    assert_eq!(msgs, [vec!["small"], vec!["big"], vec!["small again"]]);
}

#[test]
fn time_rotation_follows_the_clock_and_skips_idle_periods() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .rotate_every(Period::Hour)
        .install()
        .unwrap();
    trail::info!("before the hour");
    guard.flush();
    clock.set(T0 + SECOND + 500_000_000); // 23:00:00.5
    trail::info!("after the hour");
    guard.flush();
    clock.set(T0 + 3 * 3600 * SECOND); // three idle hours later, no record in between
    trail::info!("much later");
    drop(guard);
    let names: Vec<String> = segments(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "app.20261123T225959.000000000Z.jsonl",
            "app.20261123T230000.500000000Z.jsonl",
            "app.20261124T015959.000000000Z.jsonl",
        ]
    );
    assert_eq!(seqs(&records(dir.path())), [1, 2, 3]);
    assert_manifest_agrees(dir.path(), None);
}

#[test]
fn size_and_time_together_rotate_at_whichever_comes_first() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .rotate_every(Period::Minute)
        .rotate_bytes(2000)
        .install()
        .unwrap();
    for i in 0..30_u32 {
        trail::info!(i, "first minute");
    }
    guard.flush();
    let by_size = segments(dir.path()).len();
    assert!(by_size >= 2, "size rotated within the minute");
    clock.advance(Duration::from_secs(61));
    trail::info!("next minute");
    let stats = guard.shutdown();
    assert_eq!(
        segments(dir.path()).len(),
        by_size + 1,
        "the minute boundary rotated too"
    );
    assert_eq!(stats.rotations as usize, by_size);
    assert_eq!(seqs(&records(dir.path())), (1..=31).collect::<Vec<_>>());
}

#[test]
fn rotation_on_demand_and_not_of_an_empty_segment() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock).install().unwrap();
    let first = guard.path();
    guard.rotate();
    assert_eq!(guard.path(), first, "an empty segment is not sealed");
    trail::info!("one");
    guard.rotate();
    assert_ne!(guard.path(), first);
    assert_eq!(guard.stats().rotations, 1);
    trail::info!("two");
    drop(guard);
    assert_eq!(seqs(&records(dir.path())), [1, 2]);
    assert_eq!(segments(dir.path()).len(), 2);
}

#[test]
fn names_sort_in_time_order_even_when_the_clock_steps_back() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock).install().unwrap();
    trail::info!("a");
    clock.set(T0 - 3600 * SECOND); // the clock is set back an hour
    guard.rotate();
    trail::info!("b");
    drop(guard);
    let guard = builder(dir.path(), &clock).install().unwrap();
    trail::info!("c");
    drop(guard);
    let msgs: Vec<String> = records(dir.path())
        .iter()
        .flatten()
        .map(|r| r["msg"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(msgs, ["a", "b", "c"], "name order is write order");
}

#[test]
fn many_rotations_under_load_from_several_threads_lose_and_repeat_nothing() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .rotate_bytes(64 * 1024)
        .capacity(512)
        .install()
        .unwrap();
    const THREADS: u64 = 4;
    const EACH: u64 = 20_000;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..EACH {
                    trail::info!(t, i, "load");
                }
            });
        }
        // Time moves while they log, across several minute boundaries.
        for _ in 0..5 {
            clock.advance(Duration::from_secs(30));
            std::thread::yield_now();
        }
    });
    let stats = guard.shutdown();
    let all = records(dir.path());
    assert!(stats.rotations > 50, "{} rotations", stats.rotations);
    assert_eq!(seqs(&all), (1..=THREADS * EACH).collect::<Vec<_>>());
    let mut next: HashMap<u64, u64> = HashMap::new();
    for r in all.iter().flatten() {
        let (t, i) = (
            r["fields"]["t"].as_u64().unwrap(),
            r["fields"]["i"].as_u64().unwrap(),
        );
        let expected = next.entry(t).or_insert(0);
        assert_eq!(i, *expected, "thread {t} in order, once each");
        *expected += 1;
    }
    assert!(next.values().all(|&n| n == EACH));
    assert_manifest_agrees(dir.path(), None);
}

#[test]
fn retention_by_count_keeps_the_newest_and_leaves_foreign_files() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let foreign = [
        "app.notes.txt",
        "app-eu.20261123T220612.123456789Z.jsonl",
        "other.20261123T220612.123456789Z.jsonl",
        "app.20261123T220612.123456789Z.jsonl.bak",
        "app.20261123T220612.123456789Z.parquet",
    ];
    for name in foreign {
        std::fs::write(dir.path().join(name), "keep me\n").unwrap();
    }
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .keep_segments(3)
        .install()
        .unwrap();
    for i in 0..10_u32 {
        trail::info!(i, "r");
        guard.rotate();
    }
    trail::info!("last");
    guard.flush();
    let files = segments(dir.path());
    assert_eq!(files.len(), 3);
    assert_eq!(
        files.last().unwrap(),
        &guard.path(),
        "the active segment stays"
    );
    drop(guard);
    assert_eq!(seqs(&records(dir.path())), [9, 10, 11]);
    for name in foreign {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(name)).unwrap(),
            "keep me\n",
            "{name}"
        );
    }
    assert_manifest_agrees(dir.path(), None);
}

#[test]
fn retention_by_bytes_and_by_age() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .keep_bytes(2_000)
        .install()
        .unwrap();
    for i in 0..20_u32 {
        trail::info!(
            i,
            "about two hundred bytes per record once encoded as a JSON line"
        );
        guard.rotate();
    }
    guard.flush();
    let total: u64 = segments(dir.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(total <= 2_000, "{total} bytes kept");
    assert!(segments(dir.path()).len() >= 5);
    drop(guard);

    let dir = tempfile::tempdir().unwrap();
    let guard = builder(dir.path(), &clock)
        .keep_age(Duration::from_secs(600))
        .install()
        .unwrap();
    for _ in 0..6 {
        trail::info!("one segment per 5 minutes");
        clock.advance(Duration::from_secs(300));
        guard.rotate();
    }
    guard.flush();
    // Six segments were sealed at 5, 10, ... 30 minutes; now is 30 minutes. Those sealed
    // more than 10 minutes ago (at 5, 10 and 15) are gone; the one sealed exactly 10
    // minutes ago stays, with those sealed at 25 and 30 and the active one.
    assert_eq!(segments(dir.path()).len(), 4);
    drop(guard);
}

#[test]
fn retention_applies_at_start() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock).install().unwrap();
    for _ in 0..6 {
        trail::info!("r");
        guard.rotate();
    }
    drop(guard);
    assert_eq!(segments(dir.path()).len(), 6);
    let guard = builder(dir.path(), &clock)
        .keep_segments(2)
        .install()
        .unwrap();
    assert_eq!(
        segments(dir.path()).len(),
        3,
        "two old segments and the new active one, not counted while it has no record"
    );
    trail::info!("r");
    guard.flush();
    assert_eq!(
        segments(dir.path()).len(),
        2,
        "one old segment and the active one, which has a record now"
    );
    drop(guard);
    assert_manifest_agrees(dir.path(), None);
}

#[test]
fn a_restart_continues_the_stream() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    for run in 0..3_u32 {
        let guard = builder(dir.path(), &clock).install().unwrap();
        for i in 0..100_u32 {
            trail::info!(run, i, "r");
        }
        drop(guard);
    }
    let all = records(dir.path());
    assert_eq!(all.len(), 3);
    assert_eq!(seqs(&all), (1..=300).collect::<Vec<_>>());
    assert_manifest_agrees(dir.path(), None);
}

#[test]
fn a_torn_final_record_is_sealed_noted_and_skipped_over() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock).install().unwrap();
    for i in 0..3_u32 {
        trail::info!(i, "before the crash");
    }
    let crashed = guard.path();
    drop(guard);
    // What a crash mid-write leaves: the manifest never heard of the segment, and the
    // segment ends in half a record.
    std::fs::remove_file(dir.path().join("app.manifest.json")).unwrap();
    let torn = br#"{"ts":"2026-11-23T22:59:59.000000000Z","level":"info","seq":4,"tar"#;
    let mut bytes = std::fs::read(&crashed).unwrap();
    let offset = bytes.len();
    bytes.extend_from_slice(torn);
    std::fs::write(&crashed, &bytes).unwrap();

    let guard = builder(dir.path(), &clock).install().unwrap();
    trail::info!("after the restart");
    drop(guard);

    assert_eq!(
        std::fs::read(&crashed).unwrap(),
        bytes,
        "the torn segment is left as it is"
    );
    let manifest = manifest(dir.path());
    let entry = &manifest["segments"][0];
    assert_eq!(entry["torn_tail"]["offset"], offset as u64);
    assert_eq!(entry["torn_tail"]["bytes"], torn.len() as u64);
    assert_eq!(entry["records"], 3);
    assert_eq!(entry["last_seq"], 3);
    let after = std::fs::read_to_string(&segments(dir.path())[1]).unwrap();
    let record: Json = serde_json::from_str(after.trim()).unwrap();
    assert_eq!(record["seq"], 4, "seq goes on after the last whole record");
    assert_eq!(record["msg"], "after the restart");
}

#[test]
fn compression_replaces_sealed_segments_atomically() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .rotate_bytes(8 * 1024)
        .compress(true)
        .install()
        .unwrap();
    for i in 0..2000_u32 {
        trail::info!(i, "compress me, compress me, compress me");
    }
    drop(guard); // seals the last segment and waits for the compressor
    let files = segments(dir.path());
    assert!(files.len() > 5);
    assert!(
        files.iter().all(|p| p.extension().unwrap() == "gz"),
        "{files:?}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(seqs(&records(dir.path())), (1..=2000).collect::<Vec<_>>());
    assert_manifest_agrees(dir.path(), None);
}

#[test]
fn a_compression_cut_short_by_a_crash_is_cleaned_up_and_redone() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock).install().unwrap();
    trail::info!("sealed but never compressed");
    let sealed = guard.path();
    guard.rotate();
    trail::info!("active");
    drop(guard);
    // A crash in the middle of compressing `sealed` leaves a half-written temporary file.
    let name = sealed.file_name().unwrap().to_str().unwrap();
    let stale = dir.path().join(format!(".{name}.gz.tmp"));
    std::fs::write(&stale, b"\x1f\x8b half a gzip").unwrap();
    // Consumers' globs never see it.
    assert!(!segments(dir.path()).contains(&stale));

    let guard = builder(dir.path(), &clock)
        .compress(true)
        .install()
        .unwrap();
    drop(guard);
    assert!(
        !stale.exists(),
        "the stale temporary file is removed at start"
    );
    let files = segments(dir.path());
    assert!(
        files.iter().all(|p| p.extension().unwrap() == "gz"),
        "{files:?}"
    );
    assert_eq!(seqs(&records(dir.path())), [1, 2]);
    assert_manifest_agrees(dir.path(), None);
}

#[test]
fn files_get_the_configured_mode() {
    use std::os::unix::fs::PermissionsExt;
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .compress(true)
        .install()
        .unwrap();
    trail::info!("x");
    guard.rotate();
    trail::info!("y");
    drop(guard);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode & !0o640,
            0,
            "{:?} has mode {mode:o}",
            entry.file_name()
        );
    }
}

#[test]
fn a_second_process_gets_a_clear_error_at_install() {
    let _s = serial();
    if std::env::var_os("TRAIL_LOCK_CHILD").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock).install().unwrap();
    // Another process: this test binary again, running `lock_child` below.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lock_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("TRAIL_LOCK_CHILD", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("child: stream \"app\" in ")
            && stdout.contains("is already being written by another process"),
        "{stdout}"
    );
    drop(guard);
}

/// Runs only as the child process of the test above.
#[test]
fn lock_child() {
    let Some(dir) = std::env::var_os("TRAIL_LOCK_CHILD") else {
        return;
    };
    let err = trail::builder().dir(dir).name("app").install().unwrap_err();
    println!("child: {err}");
}

#[test]
fn csv_segments_each_start_with_the_header_and_the_stream_continues() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let csv = |b: trail::Builder| b.format(trail::Format::Csv).rotate_bytes(2048);
    let guard = csv(builder(dir.path(), &clock)).install().unwrap();
    for i in 0..40_u32 {
        trail::info!(i, note = "comma, \"quote\" and\nline break", "row {i}");
    }
    let last = guard.path();
    drop(guard);
    let files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert!(files.len() > 2);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with(
            "ts,level,seq,actor,target,msg,fields,file,line,thread,span,span_id,parent_id,trace_id\r\n"
        ),
            "{}",
            path.display()
        );
        assert!(text.ends_with("\r\n"));
    }
    // A crash leaves half a row, cut inside a quoted cell.
    let mut bytes = std::fs::read(&last).unwrap();
    let cut = bytes.len() as u64;
    bytes.extend_from_slice(b"2026-11-23T22:59:59.000000000Z,info,41,,t,\"half a quoted\ncell");
    std::fs::write(&last, &bytes).unwrap();
    std::fs::remove_file(dir.path().join("app.manifest.json")).unwrap();

    let guard = csv(builder(dir.path(), &clock)).install().unwrap();
    trail::info!("after the restart");
    drop(guard);
    let manifest = manifest(dir.path());
    let torn: Vec<&Json> = manifest["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["torn_tail"].is_null())
        .collect();
    assert_eq!(torn.len(), 1);
    assert_eq!(torn[0]["torn_tail"]["offset"], cut);
    let seqs: Vec<u64> = trail::read::open(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|r| r.seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=41).collect::<Vec<_>>(),
        "40 rows, then the one after the restart"
    );
}

/// Bytes of disk space allocated to the file at `path`.
#[cfg(target_os = "linux")]
fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// Allocates `len` bytes past the end of the file at `path`, keeping its length; false if
/// the file system cannot.
#[cfg(target_os = "linux")]
fn allocate_past_end(path: &Path, len: i64) -> bool {
    use std::os::unix::io::AsRawFd;
    let file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    let end = file.metadata().unwrap().len() as i64;
    // SAFETY: a plain system call on a descriptor `file` keeps open.
    unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, end, len) == 0 }
}

#[cfg(target_os = "linux")]
#[test]
fn disk_space_is_allocated_ahead_of_the_writes_and_given_back_at_seal() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"x").unwrap();
    if !allocate_past_end(&probe, 1 << 20) {
        eprintln!("this file system cannot allocate ahead; nothing to check");
        return;
    }
    std::fs::remove_file(&probe).unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock).install().unwrap();
    for i in 0..1000_u32 {
        trail::info!(i, "allocated ahead");
    }
    guard.flush();
    let first = guard.path();
    let len = std::fs::metadata(&first).unwrap().len();
    // The file's length is what was written: whole records, no padding for readers to see.
    let text = std::fs::read_to_string(&first).unwrap();
    assert_eq!(text.len() as u64, len);
    assert_eq!(text.lines().count(), 1000);
    assert!(text.ends_with('\n'));
    assert!(
        allocated(&first) >= len + (4 << 20),
        "{} bytes allocated for {len} written",
        allocated(&first)
    );

    guard.rotate();
    trail::info!("in the next segment");
    guard.flush();
    let second = guard.path();
    assert_ne!(first, second);
    assert!(
        allocated(&first) < len + (1 << 20),
        "sealed: {} bytes still allocated for {len}",
        allocated(&first)
    );
    drop(guard);
    let last_len = std::fs::metadata(&second).unwrap().len();
    assert!(allocated(&second) < last_len + (1 << 20));
    assert_eq!(seqs(&records(dir.path())), (1..=1001).collect::<Vec<_>>());
    assert_manifest_agrees(dir.path(), None);
}

#[cfg(target_os = "linux")]
#[test]
fn allocation_ahead_stops_at_the_size_limit() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock)
        .rotate_bytes(64 * 1024)
        .install()
        .unwrap();
    for i in 0..100_u32 {
        trail::info!(i, "under the limit");
    }
    guard.flush();
    assert!(allocated(&guard.path()) <= 128 * 1024);
    drop(guard);
}

#[cfg(target_os = "linux")]
#[test]
fn space_a_crash_left_allocated_is_given_back_at_restart() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = builder(dir.path(), &clock).install().unwrap();
    for i in 0..10_u32 {
        trail::info!(i, "before the crash");
    }
    let crashed = guard.path();
    drop(guard);
    // What a crash leaves: a segment the manifest never heard of, with the space
    // allocated ahead of it still taken.
    std::fs::remove_file(dir.path().join("app.manifest.json")).unwrap();
    let bytes = std::fs::read(&crashed).unwrap();
    if !allocate_past_end(&crashed, 16 << 20) {
        eprintln!("this file system cannot allocate ahead; nothing to check");
        return;
    }
    assert!(allocated(&crashed) >= (16 << 20));

    let guard = builder(dir.path(), &clock).install().unwrap();
    assert!(
        allocated(&crashed) < bytes.len() as u64 + (1 << 20),
        "{} bytes still allocated",
        allocated(&crashed)
    );
    assert_eq!(
        std::fs::read(&crashed).unwrap(),
        bytes,
        "the bytes are kept"
    );
    trail::info!("after the restart");
    drop(guard);
    assert_eq!(seqs(&records(dir.path())), (1..=11).collect::<Vec<_>>());
}
