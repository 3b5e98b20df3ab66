//! File faults while the writer runs, on real files and directories: a directory where no
//! new file can be created, a segment that cannot be written, the stream's directory
//! removed, the active segment replaced by another file. The writer never stops: it counts
//! each error (`Stats::io_errors`), reports it on stderr at a bounded rate, keeps the
//! events while it cannot write them (callers wait, under the default policy) and writes
//! them once the fault is gone.
//!
//! Each test runs its scenario in a child process of this test binary: the writer is one
//! per process, and the child's standard error, where the reports go, is checked here.
//! Permission bits do not stop root, which the test machines run as; the immutable
//! attribute (`chattr +i`) does, on file systems that have it (ext4, xfs, btrfs; not
//! tmpfs). Where it is missing the tests that need it say so and are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use trail::read::{FieldValue, LogRecord};
use trail::Format;

const CHILD: &str = "IO_FAULTS_CHILD";
const CHILD_DIR: &str = "IO_FAULTS_DIR";

/// In the parent: runs the test `name` again in a child process, with `dir` to work in,
/// and returns the child's standard error once it has passed. In the child: runs
/// `scenario` on that directory and returns `None`.
fn in_child(name: &str, dir: &Path, scenario: impl FnOnce(&Path)) -> Option<String> {
    match std::env::var(CHILD) {
        Ok(child) if child == name => {
            scenario(Path::new(&std::env::var_os(CHILD_DIR).unwrap()));
            None
        }
        // The child of another test.
        Ok(_) => None,
        Err(_) => {
            let out = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", name, "--nocapture", "--test-threads", "1"])
                .env(CHILD, name)
                .env(CHILD_DIR, dir)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                out.status.success(),
                "the scenario failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
            );
            assert!(stdout.contains("1 passed"), "the scenario ran: {stdout}");
            Some(stderr)
        }
    }
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Sets or clears the immutable attribute. Nobody, root included, can then write the
/// file, or create, remove or rename anything in the directory.
fn immutable(path: &Path, on: bool) -> bool {
    Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(path)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the immutable attribute works in `dir` and really stops this process.
fn immutable_works(dir: &Path) -> Result<(), String> {
    let probe = dir.join("probe");
    std::fs::write(&probe, b"x").map_err(|e| e.to_string())?;
    if !immutable(&probe, true) {
        return Err(format!(
            "`chattr +i` fails on {} (no chattr, a file system without the attribute such as tmpfs, or no CAP_LINUX_IMMUTABLE)",
            dir.display()
        ));
    }
    let stopped = std::fs::OpenOptions::new()
        .append(true)
        .open(&probe)
        .is_err();
    immutable(&probe, false);
    std::fs::remove_file(&probe).map_err(|e| e.to_string())?;
    if stopped {
        Ok(())
    } else {
        Err("an immutable file could still be opened for writing".into())
    }
}

/// Whether `test` can go on: in the child always, in the parent if the immutable
/// attribute works in `dir`, and otherwise, saying why, not.
fn can_freeze(test: &str, dir: &Path) -> bool {
    if is_child() {
        return true;
    }
    match immutable_works(dir) {
        Ok(()) => true,
        Err(why) => {
            println!("SKIPPED {test}: {why}");
            false
        }
    }
}

/// A temporary directory that is writable again before it is removed, whatever the test
/// left immutable.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Scratch {
        Scratch(tempfile::tempdir().unwrap())
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .args(["-R", "-i"])
            .arg(self.0.path())
            .output();
    }
}

/// Clears the immutable attribute of a path when dropped, so a failing assertion does not
/// leave it set.
struct Lift(PathBuf);

impl Drop for Lift {
    fn drop(&mut self) {
        immutable(&self.0, false);
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn field_u64(record: &LogRecord, key: &str) -> u64 {
    match record.field(key) {
        Some(FieldValue::U64(n)) => *n,
        other => panic!("field {key} of record {}: {other:?}", record.seq),
    }
}

/// Every record of the stream in `dir`, which must all read back whole.
fn read_all(dir: &Path) -> Vec<LogRecord> {
    trail::read::open(dir)
        .unwrap()
        .collect::<Result<_, _>>()
        .expect("every record whole")
}

/// The records of the stream in `dir`, leaving out the files in `skip`, which must all
/// read back whole.
fn read_all_but(dir: &Path, skip: &[PathBuf]) -> Vec<LogRecord> {
    let mut records = Vec::new();
    for record in trail::read::open(dir).unwrap() {
        match record {
            Ok(r) => records.push(r),
            Err(e) if skip.iter().any(|s| s == e.path()) => {}
            Err(e) => panic!("{e}"),
        }
    }
    records
}

/// The stream's segment files in `dir`, oldest first.
fn segments(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("app.") && name.ends_with(&format!(".{extension}"))
        })
        .collect();
    found.sort();
    found
}

fn seqs(records: &[LogRecord]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

/// Lines of `stderr` that contain `needle`.
fn lines_with(stderr: &str, needle: &str) -> usize {
    stderr.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn a_directory_that_takes_no_new_file_stops_rotation_not_writing() {
    let scratch = Scratch::new();
    if !can_freeze(
        "a_directory_that_takes_no_new_file_stops_rotation_not_writing",
        scratch.path(),
    ) {
        return;
    }
    let stderr = in_child(
        "a_directory_that_takes_no_new_file_stops_rotation_not_writing",
        scratch.path(),
        |base| {
            // The binary format too: its records refer to definitions earlier in their
            // segment, and a record that was to open a new segment stays in the old one.
            for (format, extension) in [(Format::Json, "jsonl"), (Format::Bincode, "bin")] {
                let dir = base.join(format!("logs-{extension}"));
                let guard = trail::builder()
                    .dir(&dir)
                    .format(format)
                    .rotate_bytes(16 * 1024)
                    .filter_from_env(false)
                    .install()
                    .unwrap();
                let pad = "r".repeat(150);
                let next = std::cell::Cell::new(0_u64);
                let log = |n: u64| {
                    for _ in 0..n {
                        trail::info!(i = next.get(), pad = pad.as_str(), "rotating");
                        next.set(next.get() + 1);
                    }
                };
                log(500); // about 100 KB: several segments
                guard.flush();
                let before = guard.stats();
                assert!(before.rotations >= 3, "{before:?}");
                let files_before = segments(&dir, extension).len();

                assert!(immutable(&dir, true));
                let lift = Lift(dir.clone());
                let fault = Instant::now();
                // Larger than a segment, from a call site new to the segment: it asks for
                // a segment of its own, and stays in this one, definitions included.
                trail::info!(i = next.get(), pad = "b".repeat(20 * 1024), "too large");
                next.set(next.get() + 1);
                log(1_000);
                guard.flush();
                let during = guard.stats();
                let fault = fault.elapsed();
                assert_eq!(
                    during.rotations, before.rotations,
                    "no segment can be created"
                );
                assert!(
                    during.io_errors > 0,
                    "the failed rotation counts: {during:?}"
                );
                assert!(
                    during.io_errors <= 2 + fault.as_secs(),
                    "about one attempt a second, not one per record: {during:?} in {fault:?}"
                );
                assert_eq!(
                    during.written, 1_501,
                    "the active segment takes the records"
                );
                assert_eq!(segments(&dir, extension).len(), files_before);
                let active = std::fs::metadata(guard.path()).unwrap().len();
                assert!(active > 100 * 1024, "past its 16 KiB limit: {active} bytes");

                drop(lift);
                // The size limit asks again after a pause; writing goes on meanwhile.
                std::thread::sleep(Duration::from_millis(1_100));
                log(500);
                let stats = guard.shutdown();
                assert!(
                    stats.rotations > during.rotations,
                    "rotation resumes: {stats:?}"
                );
                assert_eq!(stats.written, 2_001);
                assert_eq!(stats.dropped + stats.abandoned, 0);

                let records = read_all(&dir);
                assert_eq!(seqs(&records), (1..=2_001).collect::<Vec<_>>());
                let is: Vec<u64> = records.iter().map(|r| field_u64(r, "i")).collect();
                assert_eq!(is, (0..2_001).collect::<Vec<_>>());
                // Every sealed segment is in the manifest, the one past its limit too.
                let manifest = std::fs::read_to_string(dir.join("app.manifest.json")).unwrap();
                for segment in segments(&dir, extension) {
                    let name = segment.file_name().unwrap().to_string_lossy().into_owned();
                    assert!(manifest.contains(&name), "{name} listed: {manifest}");
                }
            }
        },
    );
    if let Some(stderr) = stderr {
        for extension in ["jsonl", "bin"] {
            let dir = scratch.path().join(format!("logs-{extension}"));
            let reports: Vec<&str> = stderr
                .lines()
                .filter(|l| l.contains("cannot rotate") && l.contains(&*dir.to_string_lossy()))
                .collect();
            assert_eq!(reports.len(), 1, "one report per 10 s: {stderr}");
            assert!(
                reports[0].contains(&format!("cannot create segment {}/app.", dir.display()))
                    && reports[0].contains("Operation not permitted")
                    && reports[0].contains("writing on in"),
                "the report names the segment and the error: {stderr}"
            );
        }
    }
}

#[test]
fn a_segment_that_cannot_be_written_holds_the_callers_until_it_can() {
    let scratch = Scratch::new();
    if !can_freeze(
        "a_segment_that_cannot_be_written_holds_the_callers_until_it_can",
        scratch.path(),
    ) {
        return;
    }
    let stderr = in_child(
        "a_segment_that_cannot_be_written_holds_the_callers_until_it_can",
        scratch.path(),
        |base| {
            let dir = base.join("logs");
            let guard = trail::builder()
                .dir(&dir)
                .capacity(64)
                .filter_from_env(false)
                .install()
                .unwrap();
            for i in 0..100_u64 {
                trail::info!(i, "before");
            }
            guard.flush();
            let segment = guard.path();
            assert!(immutable(&segment, true));
            let lift = Lift(segment.clone());

            const N: u64 = 2_000;
            let logger = std::thread::spawn(|| {
                for i in 100..100 + N {
                    trail::info!(i, pad = "w".repeat(100), "while it cannot be written");
                }
            });
            wait_for("a failed write", || guard.stats().io_errors > 0);
            // Several retries, one report.
            std::thread::sleep(Duration::from_millis(300));
            let stats = guard.stats();
            assert!(stats.io_errors >= 3, "{stats:?}");
            assert_eq!(
                stats.written, 100,
                "nothing more reached the file: {stats:?}"
            );
            assert!(!logger.is_finished(), "the callers wait");

            drop(lift);
            logger.join().unwrap();
            let stats = guard.shutdown();
            assert_eq!(stats.written, 100 + N);
            assert_eq!(stats.dropped + stats.abandoned, 0);
            assert_eq!(stats.rotations, 0);

            let records = read_all(&dir);
            assert_eq!(
                seqs(&records),
                (1..=100 + N).collect::<Vec<_>>(),
                "each once"
            );
            let is: Vec<u64> = records.iter().map(|r| field_u64(r, "i")).collect();
            assert_eq!(is, (0..100 + N).collect::<Vec<_>>());
        },
    );
    if let Some(stderr) = stderr {
        let dir = scratch.path().join("logs");
        let reports = lines_with(&stderr, "retrying, nothing is dropped");
        assert_eq!(reports, 1, "one report per 10 s: {stderr}");
        assert!(
            stderr.contains(&format!("trail: cannot write {}", dir.display()))
                && stderr.contains("Operation not permitted"),
            "the report names the segment and the error: {stderr}"
        );
    }
}

/// Logs events numbered from 0 on a thread, pausing a millisecond every 100, until `stop`
/// is set; returns how many it logged.
fn logger(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            trail::info!(i, pad = "d".repeat(80), "event {i}");
            i += 1;
            if i % 100 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        i
    })
}

#[test]
fn a_removed_directory_is_created_again_and_writing_goes_on() {
    let scratch = Scratch::new();
    let stderr = in_child(
        "a_removed_directory_is_created_again_and_writing_goes_on",
        scratch.path(),
        |base| {
            for (format, extension) in [(Format::Json, "jsonl"), (Format::Bincode, "bin")] {
                let dir = base.join(format!("logs-{extension}"));
                let guard = trail::builder()
                    .dir(&dir)
                    .format(format)
                    .rotate_bytes(1 << 20)
                    .capacity(1024)
                    .filter_from_env(false)
                    .install()
                    .unwrap();
                let stop = Arc::new(AtomicBool::new(false));
                let logging = logger(Arc::clone(&stop));
                wait_for("5,000 events", || guard.stats().written >= 5_000);
                // `rm -rf` of the stream's directory. The writer may create a segment in it
                // meanwhile, which makes one attempt fail; the next one takes that too.
                wait_for("the directory's removal", || {
                    std::fs::remove_dir_all(&dir).is_ok()
                });
                let removed_at = guard.stats().written;
                assert!(!logging.is_finished());
                // The logging goes on for a while.
                wait_for("5,000 more events", || {
                    guard.stats().written >= removed_at + 5_000
                });
                stop.store(true, Ordering::Relaxed);
                let n = logging.join().unwrap();
                guard.flush();
                let stats = guard.stats();
                assert!(stats.io_errors > 0, "the loss counts: {stats:?}");
                assert!(dir.is_dir(), "the directory is back");
                assert!(dir.join("app.lock").exists(), "with its lock file");
                let records = read_all(&dir);
                let seqs = seqs(&records);
                let first = seqs[0];
                println!(
                    "{format:?}: removed after {removed_at} written; the new directory starts at seq {first}"
                );
                assert!(first > 1, "what went with the directory is gone");
                assert!(
                    first <= removed_at + 8192,
                    "a batch or two more is lost, no more: first {first}, removed at {removed_at}"
                );
                assert_eq!(
                    seqs,
                    (first..=n).collect::<Vec<_>>(),
                    "gapless from the new segment on, each once"
                );
                assert_eq!(
                    field_u64(records.last().unwrap(), "i"),
                    n - 1,
                    "the last one"
                );
                let is: Vec<u64> = records.iter().map(|r| field_u64(r, "i")).collect();
                assert!(is.windows(2).all(|w| w[1] == w[0] + 1));

                let stats = guard.shutdown();
                assert_eq!(stats.written, n, "every event handed to the system");
                assert_eq!(stats.dropped + stats.abandoned, 0);
                let manifest = std::fs::read_to_string(dir.join("app.manifest.json"))
                    .expect("the manifest is back");
                let listed = segments(&dir, extension);
                for segment in &listed {
                    let name = segment.file_name().unwrap().to_string_lossy().into_owned();
                    assert!(manifest.contains(&name), "{name} listed: {manifest}");
                }
                assert_eq!(
                    manifest.matches("\"file\"").count(),
                    listed.len(),
                    "only segments that exist are listed: {manifest}"
                );
                // A restart goes on from there.
                let guard = trail::builder()
                    .dir(&dir)
                    .format(format)
                    .filter_from_env(false)
                    .install()
                    .unwrap();
                trail::info!("after the restart");
                drop(guard);
                assert_eq!(read_all(&dir).last().unwrap().seq, n + 1);
            }
        },
    );
    if let Some(stderr) = stderr {
        for extension in ["jsonl", "bin"] {
            let dir = scratch.path().join(format!("logs-{extension}"));
            assert!(
                stderr.lines().any(|l| l.starts_with("trail: ")
                    && l.contains(&format!("{}/app.", dir.display()))
                    && l.contains("is gone")),
                "the loss is reported with the segment's path: {stderr}"
            );
        }
    }
}

#[test]
fn a_replaced_segment_is_left_alone_and_writing_goes_on_in_a_new_one() {
    let scratch = Scratch::new();
    let stderr = in_child(
        "a_replaced_segment_is_left_alone_and_writing_goes_on_in_a_new_one",
        scratch.path(),
        |base| {
            for (format, extension) in [
                (Format::Json, "jsonl"),
                (Format::Csv, "csv"),
                (Format::Bincode, "bin"),
            ] {
                let dir = base.join(format!("logs-{extension}"));
                // Retention counts the active segment: with two kept, the rotation below
                // would delete the oldest, were a file in a segment's place counted.
                let guard = trail::builder()
                    .dir(&dir)
                    .format(format)
                    .keep_segments(2)
                    .filter_from_env(false)
                    .install()
                    .unwrap();
                for i in 0..100_u64 {
                    trail::info!(i, "before");
                }
                guard.flush();
                // A naive log rotation: the segment renamed away, a new file in its place.
                let segment = guard.path();
                let aside = dir.join(format!("rotated-away.{extension}"));
                std::fs::rename(&segment, &aside).unwrap();
                let foreign = b"somebody else's file\n".repeat(3);
                std::fs::write(&segment, &foreign).unwrap();

                for i in 100..200_u64 {
                    trail::info!(i, "after");
                }
                guard.flush();
                for i in 200..300_u64 {
                    trail::info!(i, "later");
                }
                guard.flush();
                assert_eq!(std::fs::read(&segment).unwrap(), foreign, "never written");
                let stats = guard.stats();
                assert!(stats.io_errors > 0, "{stats:?}");
                assert_ne!(guard.path(), segment, "a new segment");

                // The records that went to the renamed file are whole there; all the
                // others are in the new segment; none is lost or doubled.
                let moved: Vec<LogRecord> = trail::read::open(&aside)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .expect("the renamed segment reads back whole");
                assert!(moved.len() >= 100);
                // The renamed file is still the writer's: the space allocated ahead of its
                // end is given back, not left taken under a name nobody watches.
                #[cfg(target_os = "linux")]
                {
                    use std::os::unix::fs::MetadataExt;
                    let meta = std::fs::metadata(&aside).unwrap();
                    assert!(
                        meta.blocks() * 512 < meta.len() + (1 << 20),
                        "{} bytes allocated for {}",
                        meta.blocks() * 512,
                        meta.len()
                    );
                }
                let new = read_all_but(&dir, std::slice::from_ref(&segment));
                assert!(new.len() >= 100, "the last batch is in the new segment");
                let mut all = seqs(&moved);
                all.extend(seqs(&new));
                assert_eq!(all, (1..=300).collect::<Vec<_>>(), "{format:?}");
                let is: Vec<u64> = moved
                    .iter()
                    .chain(&new)
                    .map(|r| field_u64(r, "i"))
                    .collect();
                assert_eq!(is, (0..300).collect::<Vec<_>>());

                // The same right after a rotation, with no record in the new segment yet:
                // the shutdown removes an empty segment of its own, never a file in its place.
                guard.rotate();
                let empty = guard.path();
                std::fs::remove_file(&empty).unwrap();
                std::fs::write(&empty, &foreign).unwrap();
                let stats = guard.shutdown();
                assert_eq!(stats.written, 300);
                assert_eq!(std::fs::read(&segment).unwrap(), foreign);
                assert_eq!(std::fs::read(&empty).unwrap(), foreign);
                let manifest = std::fs::read_to_string(dir.join("app.manifest.json")).unwrap();
                for other in [&segment, &empty] {
                    let name = other.file_name().unwrap().to_string_lossy().into_owned();
                    assert!(
                        !manifest.contains(&name),
                        "{name} is not listed: {manifest}"
                    );
                }
            }
        },
    );
    if let Some(stderr) = stderr {
        assert!(
            lines_with(&stderr, "was replaced by another file") >= 3,
            "each loss is reported: {stderr}"
        );
    }
}
