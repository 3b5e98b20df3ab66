//! The caller allocates nothing for an event whose values fit the inline capacity, with
//! the real writer installed. A counting global allocator proves it.

mod common;

use common::counting_alloc::{allocations_in, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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
