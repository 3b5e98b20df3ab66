//! A library that knows nothing of trail: it logs through `tracing`, inside spans.

/// Handles a request for `user`, with a span per request and one per step.
pub fn handle(user: u64, path: &str) -> u16 {
    let request = tracing::info_span!("request", user, path, attempt = 1_u32);
    let _entered = request.enter();
    tracing::info!(method = "GET", "request started");
    let status = tracing::info_span!("db", table = "orders").in_scope(|| {
        tracing::debug!(rows = 3_u64, "query ran");
        tracing::warn!(rows = 3_u64, elapsed_ms = 250.5, "slow query");
        200_u16
    });
    request.record("attempt", 2_u32);
    tracing::error!(status, path = "/override", "request failed on purpose");
    status
}
