//! What the library's tests share: a sink that keeps records in memory, for tests of what
//! the macros capture, (in `counting_alloc`) an allocator that counts allocations, and (in
//! `futures`) a way to run a future without an executor.

#![allow(dead_code)]

pub mod counting_alloc;
pub mod futures;

use std::sync::{Mutex, MutexGuard, OnceLock};

use trail::{LevelFilter, Record, Sink};

struct Collect(Mutex<Vec<Record>>);

impl Sink for Collect {
    fn submit(&self, record: &Record) {
        self.0.lock().unwrap().push(record.clone());
    }
    fn flush(&self) {}
}

fn collect() -> &'static Collect {
    static SINK: OnceLock<&'static Collect> = OnceLock::new();
    SINK.get_or_init(|| {
        let sink: &'static Collect = Box::leak(Box::new(Collect(Mutex::new(Vec::new()))));
        trail::set_sink(sink, LevelFilter::Trace).expect("no other sink in this test binary");
        sink
    })
}

/// Serialises the tests of one binary (they share the global sink) and clears the sink.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    take();
    guard
}

/// Takes the records collected so far.
pub fn take() -> Vec<Record> {
    std::mem::take(&mut *collect().0.lock().unwrap())
}

/// Takes exactly one record.
pub fn one() -> Record {
    let mut records = take();
    assert_eq!(records.len(), 1, "expected one record: {records:?}");
    records.pop().unwrap()
}
