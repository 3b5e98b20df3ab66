//! Each thread's events are written in the order the thread logged them, whatever their
//! size: an event larger than the thread's ring keeps its place among the small ones.

use std::collections::HashMap;

use trail::read::FieldValue;

const THREADS: u64 = 4;
const PER_THREAD: u64 = 400;

#[test]
fn every_threads_seqs_follow_its_logging_order_for_small_and_oversized_events() {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("order")
        // The smallest ring (1 KiB): an event with a few hundred bytes of values is too
        // large for it.
        .capacity(1)
        .level(trail::LevelFilter::Trace)
        .install()
        .unwrap();
    let large = "L".repeat(2_000);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let large = &large;
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    // Runs of small events between the large ones, of varying length, so
                    // that large events meet rings in every state.
                    if i % (2 + t % 3) == 0 {
                        trail::info!(t, i, body = large.as_str(), "large");
                    } else {
                        trail::info!(t, i, "small");
                    }
                }
            });
        }
    });
    drop(guard);

    let mut last: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut count = 0;
    let mut out_of_order = Vec::new();
    for record in trail::read::open(dir.path()).unwrap() {
        let record = record.unwrap();
        let (Some(FieldValue::U64(t)), Some(FieldValue::U64(i))) =
            (record.field("t"), record.field("i"))
        else {
            panic!("a record without its thread and index: {record:?}");
        };
        if record.msg == "large" {
            assert_eq!(record.field("body"), Some(&FieldValue::Str(large.clone())));
        }
        if let Some(&(before, seq)) = last.get(t)
            && *i < before
        {
            out_of_order.push((*t, before, seq, *i, record.seq));
        }
        last.insert(*t, (*i, record.seq));
        count += 1;
    }
    assert_eq!(count, THREADS * PER_THREAD, "every event is written once");
    assert!(
        out_of_order.is_empty(),
        "{} events written before one their thread logged earlier \
         (thread, earlier index, its seq, later index, its seq): {:?}",
        out_of_order.len(),
        &out_of_order[..out_of_order.len().min(10)]
    );
}
