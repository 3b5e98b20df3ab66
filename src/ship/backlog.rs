//! A warning before the writer's retention deletes segments the shipper has not shipped.
//!
//! Retention belongs to the writer and knows nothing of shipping, so a shipper that falls
//! behind (a long outage, a slow server) would find records gone and report the gap only
//! afterwards. Given the writer's retention settings, the shipper compares them with the
//! unshipped backlog (the segment it is reading and every newer one) and warns while
//! there is still time to act: once the backlog reaches four fifths of a limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ShipOptions;

/// A warning when the unshipped backlog nears one of the retention limits in `options`;
/// `reading` is the segment (name without `.gz`) the shipper is in, `None` before it read
/// any record.
pub(crate) fn warning(
    options: &ShipOptions,
    stream: &str,
    reading: Option<&str>,
) -> Option<String> {
    if options.keep_segments.is_none() && options.keep_bytes.is_none() && options.keep_age.is_none()
    {
        return None;
    }
    let mut segments = crate::format::segment_name::list(&options.dir, stream).ok()?;
    // While a segment is being compressed both of its files exist: count it once.
    segments.dedup_by(|later, earlier| later.base == earlier.base);
    let first = match reading {
        Some(name) => segments.iter().position(|s| s.base == name)?,
        None => 0,
    };
    let backlog = segments.get(first..)?;
    let oldest = backlog.first()?;
    let count = backlog.len();
    let bytes: u64 = backlog
        .iter()
        .filter_map(|s| std::fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum();
    let near = |have: u128, limit: u128| have * 5 >= limit * 4;
    let mut reasons = Vec::new();
    if let Some(keep) = options.keep_segments
        && near(count as u128, keep as u128)
    {
        reasons.push(format!("retention keeps {keep} segments"));
    }
    if let Some(keep) = options.keep_bytes
        && near(u128::from(bytes), u128::from(keep))
    {
        reasons.push(format!("retention keeps {keep} bytes"));
    }
    if let (Some(keep), Some(next)) = (options.keep_age, backlog.get(1)) {
        // A segment is sealed when the next one is opened; its age counts from then.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let sealed_for = now.saturating_sub(u128::from(next.opened_at));
        if near(sealed_for, keep.as_nanos()) {
            reasons.push(format!(
                "retention keeps segments for {:?} and it was sealed {:?} ago",
                keep,
                Duration::from_nanos(u64::try_from(sealed_for).unwrap_or(u64::MAX))
            ));
        }
    }
    if reasons.is_empty() {
        return None;
    }
    Some(format!(
        "{count} segments ({bytes} bytes) from {} on are not shipped yet and {}: \
         the writer will delete records before they are shipped unless shipping catches up",
        oldest.base,
        reasons.join(", ")
    ))
}
