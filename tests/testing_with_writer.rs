//! A test capture beside the installed writer: the capturing thread's events reach both
//! the capture (every level) and the files (what the filter lets through), while a thread
//! without a capture writes exactly what the filter lets through, before, while and after
//! captures run, with nothing extra and nothing lost.

#![cfg(feature = "writer")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;

use trail::read::{FieldValue, LogRecord};
use trail::{Format, Level};

const EACH: u64 = 300;

/// Logs round `i` of `who` at every level, in the default target and in `noisy`, which the
/// filter turns off.
fn log_round(who: &'static str, i: u64) {
    trail::trace!(who, i, "trace {i}");
    trail::debug!(who, i, "debug {i}");
    trail::info!(who, i, "info {i}");
    trail::warn!(who, i, "warn {i}");
    trail::error!(target: "noisy", who, i, "noisy {i}");
}

/// What the filter `info,noisy=off` lets through of round `i`.
fn filtered(i: u64) -> [String; 2] {
    [format!("info {i}"), format!("warn {i}")]
}

fn field<'a>(record: &'a LogRecord, key: &str) -> &'a FieldValue {
    record
        .field(key)
        .unwrap_or_else(|| panic!("no {key} in {record:?}"))
}

#[test]
fn the_files_get_exactly_the_filtered_events_of_every_thread_while_a_capture_runs() {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .format(Format::Json)
        .filter("info,noisy=off")
        .install()
        .unwrap();
    let step = Barrier::new(2);
    let started = AtomicBool::new(false);

    let cap = std::thread::scope(|s| {
        let other = s.spawn(|| {
            // The first half runs on while the first capture of the process is made, the
            // second in lock step with the capturing thread.
            for i in 0..EACH {
                log_round("other", i);
                if i == 10 {
                    started.store(true, Ordering::Relaxed);
                }
            }
            step.wait();
            for i in EACH..2 * EACH {
                log_round("other", i);
                step.wait();
            }
        });
        while !started.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
        let cap = trail::testing::capture();
        // Setting the filter again keeps the capture's levels and call sites open.
        guard.set_filter("info,noisy=off").unwrap();
        step.wait();
        for i in 0..EACH {
            log_round("capturing", i);
            step.wait();
        }
        other.join().unwrap();
        cap
    });
    let captured = cap.events();
    drop(cap);
    // After the capture: the filter alone again.
    for i in EACH..2 * EACH {
        log_round("capturing", i);
    }
    assert_eq!(trail::max_level(), trail::LevelFilter::Info);
    drop(guard);

    // The capture: every level and target of its own thread, and nothing else.
    assert_eq!(captured.len() as u64, 5 * EACH);
    for (n, event) in captured.iter().enumerate() {
        let i = n as u64 / 5;
        assert_eq!(event.field("who").unwrap(), "capturing");
        assert_eq!(event.field("i").unwrap(), i);
        let expected = [
            (Level::Trace, "trace"),
            (Level::Debug, "debug"),
            (Level::Info, "info"),
            (Level::Warn, "warn"),
            (Level::Error, "noisy"),
        ][n % 5];
        assert_eq!(
            (event.level(), event.message()),
            (expected.0, format!("{} {i}", expected.1).as_str())
        );
    }

    // The files: the filtered events of each thread, each once, in its order.
    let records: Vec<LogRecord> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for who in ["other", "capturing"] {
        let messages: Vec<&str> = records
            .iter()
            .filter(|r| *field(r, "who") == FieldValue::Str(who.into()))
            .map(|r| r.msg.as_str())
            .collect();
        let expected: Vec<String> = (0..2 * EACH).flat_map(filtered).collect();
        assert_eq!(messages, expected, "{who}");
    }
    assert_eq!(records.len() as u64, 2 * 2 * 2 * EACH);
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(trail::lost_without_sink(), 0);
}
