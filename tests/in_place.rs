//! Events captured in place in a small ring that wraps all the time, mixed with events that
//! take the other ways: values past the inline capacity (built as a record, then copied),
//! values past half the ring (sent on the channel), and an event logged from inside the
//! capture of another one. Every event lands once, whole, and the ring's events keep their
//! order within each thread.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;

use serde_json::Value as Json;

const THREADS: u64 = 2;
const PER_THREAD: u64 = 3_000;

/// A value whose rendering logs an event of its own.
struct Chatty(u64);

impl fmt::Display for Chatty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        trail::info!(parent = self.0, "rendered while another event was captured");
        write!(f, "chatty-{}", self.0)
    }
}

#[test]
fn every_way_into_the_queue_delivers_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("in-place")
        // 8 events of 128 bytes: a ring of 1 KiB, which wraps every few events.
        .capacity(8)
        .install()
        .unwrap();
    let big = "b".repeat(300);
    let huge = "h".repeat(700);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (big, huge) = (&big, &huge);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    match i % 6 {
                        0 => trail::info!(t, i, text = big.as_str(), "big"),
                        1 => trail::info!(t, i, text = huge.as_str(), "huge"),
                        2 => trail::info!(t, i, chatty = %Chatty(t * PER_THREAD + i), "chatty"),
                        _ => trail::info!(actor = "ana", t, i, "plain {i}"),
                    }
                }
            });
        }
    });
    let path = guard.path().to_owned();
    let stats = guard.shutdown();
    assert_eq!(stats.dropped, 0);

    let file = std::fs::File::open(&path).unwrap();
    let mut seen: HashMap<(u64, u64), u32> = HashMap::new();
    let mut parents: HashMap<u64, u32> = HashMap::new();
    let mut last_in_ring: HashMap<u64, u64> = HashMap::new();
    for text in std::io::BufReader::new(file).lines() {
        let text = text.unwrap();
        let record: Json = serde_json::from_str(&text).unwrap();
        let fields = &record["fields"];
        if let Some(parent) = fields["parent"].as_u64() {
            *parents.entry(parent).or_default() += 1;
            continue;
        }
        let t = fields["t"].as_u64().unwrap();
        let i = fields["i"].as_u64().unwrap();
        *seen.entry((t, i)).or_default() += 1;
        match i % 6 {
            0 => assert_eq!(fields["text"].as_str().unwrap(), big),
            1 => assert_eq!(fields["text"].as_str().unwrap(), huge),
            2 => assert_eq!(fields["chatty"], format!("chatty-{}", t * PER_THREAD + i)),
            _ => {
                assert_eq!(record["actor"], "ana");
                assert_eq!(record["msg"], format!("plain {i}"));
            }
        }
        // Records larger than half the ring and those logged during another capture go
        // by the channel; the others share the thread's ring, in order.
        if i % 6 != 1
            && i % 6 != 2
            && let Some(prev) = last_in_ring.insert(t, i)
        {
            assert!(i > prev, "thread {t}: {i} after {prev}");
        }
    }
    assert_eq!(seen.len() as u64, THREADS * PER_THREAD);
    assert!(seen.values().all(|&n| n == 1), "an event was written twice");
    assert_eq!(parents.len() as u64, THREADS * PER_THREAD / 6);
    assert!(parents.values().all(|&n| n == 1));
}
