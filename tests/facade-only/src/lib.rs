//! A library crate that logs through `trail` with `default-features = false`: the macros
//! and the facade, none of the writer. The tests check both halves of that promise.

use std::sync::atomic::{AtomicU32, Ordering};

/// How many times [`price_lookup`] ran.
pub static LOOKUPS: AtomicU32 = AtomicU32::new(0);

/// A value that is costly to produce, so a test can tell whether a disabled call
/// evaluated it.
pub fn price_lookup(sku: u32) -> u64 {
    LOOKUPS.fetch_add(1, Ordering::SeqCst);
    u64::from(sku) * 100
}

/// Adds items to a cart, logging as a library would.
pub fn add_to_cart(user: u64, sku: u32, quantity: u32) -> u64 {
    trail::info!(
        actor = user,
        sku,
        quantity,
        price = price_lookup(sku),
        "added {quantity} items to cart"
    );
    trail::debug!(target: "cart::detail", sku, "cart recomputed");
    u64::from(quantity) * 100
}
