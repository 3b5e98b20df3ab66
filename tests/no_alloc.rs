//! The caller allocates nothing for an event whose values fit the inline capacity, with
//! the real writer installed. A counting global allocator proves it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_caller_allocates_nothing_for_events_that_fit_inline() {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .capacity(8192)
        .install()
        .unwrap();
    let sku = "A-1001";
    let err = std::io::Error::other("declined");
    let ip: std::net::IpAddr = "2001:db8::7".parse().unwrap();
    // The thread's first event registers its name; that one may allocate.
    trail::info!("warm up");
    guard.flush();

    let standard = allocations_in(|| {
        for i in 0..1000_u64 {
            trail::info!(
                actor = 42_u64,
                order_id = i,
                quantity = 3_u32,
                price = 9.5_f64,
                sku,
                "added {quantity} x {sku}"
            );
        }
    });
    assert_eq!(standard, 0, "the standard event allocated on the caller");

    let rendered = allocations_in(|| {
        for i in 0..1000_u64 {
            trail::warn!(actor = ip, %err, i, "{} failed", i);
        }
    });
    assert_eq!(
        rendered, 0,
        "Display values rendered into the inline buffer allocated"
    );

    let text = "x".repeat(200);
    let fitted = allocations_in(|| trail::info!(actor = 42_u64, text, "a 200-byte field"));
    assert_eq!(fitted, 0, "a 200-byte string fits the inline buffer");

    let long = "x".repeat(trail::INLINE_CAPACITY);
    let spilled = allocations_in(|| trail::info!(long, "too long to fit"));
    assert!(
        spilled > 0,
        "a value past the inline capacity spills to the heap"
    );

    let stats = guard.shutdown();
    assert_eq!(stats.written, 2003);
}
