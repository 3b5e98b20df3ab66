//! A test capture beside a sink of one's own (no background writer, so this also runs in
//! a facade-only build): the sink gets exactly what its level and directives let through,
//! from the capturing thread and from one without a capture; after the sink is cleared,
//! the capture still gets everything and nothing counts as lost.

use std::sync::{Barrier, Mutex};

use trail::{LevelFilter, Record, Sink};

const EACH: u64 = 200;

/// Keeps each record's `who` field and message.
struct Keep(Mutex<Vec<(String, String)>>);

impl Sink for Keep {
    fn submit(&self, record: &Record) {
        let decoded = record.decode();
        let who = decoded
            .fields()
            .find(|(k, _)| *k == "who")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        self.0.lock().unwrap().push((who, decoded.message()));
    }
    fn flush(&self) {}
}

static KEEP: Keep = Keep(Mutex::new(Vec::new()));

fn log_round(who: &'static str, i: u64) {
    trail::trace!(who, i, "trace {i}");
    trail::debug!(who, i, "debug {i}");
    trail::info!(who, i, "info {i}");
    trail::warn!(target: "noisy", who, i, "noisy {i}");
    trail::error!(who, i, "error {i}");
}

#[test]
fn the_sink_gets_exactly_what_its_filter_lets_through_while_a_capture_runs() {
    trail::set_sink(&KEEP, LevelFilter::Info).unwrap();
    trail::set_filter("info,noisy=off".parse().unwrap());
    let step = Barrier::new(2);
    let captured = std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..EACH {
                log_round("other", i);
            }
            step.wait();
            step.wait();
            for i in EACH..2 * EACH {
                log_round("other", i);
                step.wait();
            }
        });
        step.wait();
        let cap = trail::testing::capture();
        step.wait();
        for i in 0..EACH {
            log_round("capturing", i);
            step.wait();
        }
        cap.events()
    });
    assert_eq!(trail::max_level(), LevelFilter::Info);

    assert_eq!(captured.len() as u64, 5 * EACH);
    assert!(captured
        .iter()
        .all(|e| e.field("who").unwrap() == "capturing"));
    let kept = std::mem::take(&mut *KEEP.0.lock().unwrap());
    for (who, rounds) in [("other", 2 * EACH), ("capturing", EACH)] {
        let messages: Vec<&str> = kept
            .iter()
            .filter(|(w, _)| w == who)
            .map(|(_, m)| m.as_str())
            .collect();
        let expected: Vec<String> = (0..rounds)
            .flat_map(|i| [format!("info {i}"), format!("error {i}")])
            .collect();
        assert_eq!(messages, expected, "{who}");
    }
    assert_eq!(kept.len() as u64, 2 * (2 * EACH + EACH));

    // With no sink, a capture still gets everything, and nothing is counted as lost.
    trail::clear_sink();
    let cap = trail::testing::capture();
    log_round("alone", 0);
    assert_eq!(cap.len(), 5);
    assert!(KEEP.0.lock().unwrap().is_empty());
    assert_eq!(trail::lost_without_sink(), 0);
}
