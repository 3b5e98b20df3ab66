//! Thread identity: a small number per logging thread, and the names of named threads.
//!
//! A record carries only the number. A thread registers its name once, the first time it
//! logs, so the writer can print names without the caller copying them per event.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn names() -> &'static Mutex<HashMap<u64, Arc<str>>> {
    static NAMES: OnceLock<Mutex<HashMap<u64, Arc<str>>>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

thread_local! {
    static ID: Cell<u64> = const { Cell::new(0) };
}

/// The calling thread's id: 1 for the first thread that logs, then 2, 3, ...
#[inline]
pub(crate) fn current_id() -> u64 {
    ID.with(|id| match id.get() {
        0 => register(id),
        n => n,
    })
}

#[cold]
#[inline(never)]
fn register(slot: &Cell<u64>) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Some(name) = std::thread::current().name() {
        // Registered before the thread's first record is sent, so a sink always finds it.
        names()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, Arc::from(name));
    }
    slot.set(id);
    id
}

/// The name of the thread with this id, if it had one when it first logged.
///
/// ```
/// std::thread::Builder::new()
///     .name("worker".into())
///     .spawn(|| trail::info!("hello"))
///     .unwrap()
///     .join()
///     .unwrap();
/// ```
pub fn thread_name(id: u64) -> Option<Arc<str>> {
    names()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&id)
        .cloned()
}
