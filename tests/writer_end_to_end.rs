//! End to end: events from several threads land as exactly that many JSON lines, each
//! whole and typed, in order per thread, with `seq` gapless.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::Value as Json;

const THREADS: u64 = 4;
const PER_THREAD: u64 = 25_000;

#[test]
fn events_from_several_threads_become_exactly_as_many_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("e2e")
        .capacity(1024) // small, so that producers also block on a full queue
        .level(trail::LevelFilter::Trace)
        .install()
        .unwrap();

    let line = std::sync::Mutex::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let line = &line;
            std::thread::Builder::new()
                .name(format!("producer-{t}"))
                .spawn_scoped(s, move || {
                    for i in 0..PER_THREAD {
                        let user = format!("user-{t}");
                        let ratio = i as f64 / 4.0;
                        if i.is_multiple_of(10) {
                            trail::warn!(
                                actor = user,
                                t,
                                i,
                                ratio,
                                tag = "a\"b\n\u{1}",
                                "event {i} of {t}"
                            );
                        } else {
                            *line.lock().unwrap() = line!() + 1;
                            trail::info!(
                                actor = user,
                                t,
                                i,
                                ratio,
                                tag = "a\"b\n\u{1}",
                                "event {i} of {t}"
                            );
                        }
                    }
                })
                .unwrap();
        }
    });
    let info_line = *line.lock().unwrap();
    let path = guard.path().to_owned();
    drop(guard);

    let file = std::fs::File::open(&path).unwrap();
    let mut last_i: HashMap<u64, u64> = HashMap::new();
    let mut count = 0;
    for (n, text) in std::io::BufReader::new(file).lines().enumerate() {
        let text = text.unwrap();
        let record: Json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {text}", n + 1));

        // Canonical keys, in order.
        let keys = [
            "ts", "level", "seq", "actor", "target", "msg", "fields", "file", "line", "thread",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| {
                text.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("no {k}: {text}"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "key order: {text}"
        );
        assert_eq!(record.as_object().unwrap().len(), keys.len());

        assert_eq!(record["seq"], n as u64 + 1, "seq is gapless in file order");
        let t = record["fields"]["t"].as_u64().unwrap();
        let i = record["fields"]["i"].as_u64().unwrap();
        let expected_level = if i.is_multiple_of(10) { "warn" } else { "info" };
        assert_eq!(record["level"], expected_level);
        assert_eq!(record["actor"], format!("user-{t}"));
        assert_eq!(record["msg"], format!("event {i} of {t}"));
        assert_eq!(record["fields"]["ratio"].as_f64().unwrap(), i as f64 / 4.0);
        assert_eq!(record["fields"]["tag"], "a\"b\n\u{1}");
        assert_eq!(record["target"], "writer_end_to_end");
        assert_eq!(record["file"], "tests/writer_end_to_end.rs");
        if expected_level == "info" {
            assert_eq!(record["line"], info_line);
        }
        assert_eq!(record["thread"], format!("producer-{t}"));
        let ts = record["ts"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-11-23T22:06:12.123456789Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T');

        if let Some(prev) = last_i.insert(t, i) {
            assert_eq!(i, prev + 1, "order within thread {t} is kept");
        } else {
            assert_eq!(i, 0);
        }
        count += 1;
    }
    assert_eq!(count, THREADS * PER_THREAD);
    assert!(last_i.values().all(|&i| i == PER_THREAD - 1));
}
