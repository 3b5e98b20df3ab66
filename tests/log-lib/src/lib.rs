//! A library that knows nothing of trail: it logs through `log`, with key-values.

/// Reserves stock, logging as a `log` user would.
pub fn reserve(sku: &str, quantity: u32) -> bool {
    log::debug!(sku; "checking stock");
    let ok = quantity <= 5;
    if ok {
        log::info!(sku, quantity, remaining = 5 - quantity; "reserved {quantity} of {sku}");
    } else {
        log::warn!(target: "inventory::shortage", sku, wanted = quantity; "not enough stock");
    }
    ok
}
