//! Drop reports: with [`Policy::DropAndReport`], the callers count what a full queue
//! made them drop, and the writer turns those counts into a record of the stream itself
//! (target `trail`, level `warn`), so that a reader of the files sees where events are
//! missing.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Policy, Writer};
use crate::Record;

/// Drops since the last report: per level, and when the first and last happened.
#[derive(Default)]
pub(crate) struct UnreportedDrops {
    by_level: [AtomicU64; 6],
    first: AtomicU64,
    last: AtomicU64,
}

impl UnreportedDrops {
    #[cold]
    pub(super) fn note(&self, level: crate::Level, now: u64) {
        self.by_level[level as usize - 1].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .first
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// Takes the counts so far, if there are any.
    pub(super) fn take(&self) -> Option<([u64; 6], u64, u64)> {
        let counts: [u64; 6] = std::array::from_fn(|i| self.by_level[i].swap(0, Ordering::Relaxed));
        let first = self.first.swap(0, Ordering::Relaxed);
        let last = self.last.swap(0, Ordering::Relaxed);
        (counts.iter().sum::<u64>() > 0).then_some((counts, first, last))
    }
}

/// The call site of the records that report drops.
pub(super) static DROP_REPORT: crate::Metadata = crate::Metadata::new(
    crate::Level::Warn,
    "trail",
    "trail::writer",
    file!(),
    line!(),
    "dropped {dropped} events: the queue was full",
    &[
        "dropped",
        "dropped_trace",
        "dropped_debug",
        "dropped_info",
        "dropped_warn",
        "dropped_error",
        "dropped_fatal",
        "from",
        "until",
    ],
    &[
        crate::Piece::Lit("dropped "),
        crate::Piece::Display(0),
        crate::Piece::Lit(" events: the queue was full"),
    ],
);

impl Writer {
    /// Writes a record saying how many events were dropped since the last one, if any.
    pub(super) fn report_drops(&mut self) {
        // Only `DropAndReport` notes drops for a report.
        if self.shared.policy != Policy::DropAndReport {
            return;
        }
        let Some((counts, first, last)) = self.shared.unreported.take() else {
            return;
        };
        let total: u64 = counts.iter().sum();
        let mut record = Record::new(
            &DROP_REPORT,
            crate::clock::now_ticks(),
            crate::thread::current_id(),
        );
        let mut payload = record.payload_mut();
        let _ = crate::Capture::new(&mut payload).u64(total);
        for n in counts {
            let _ = crate::Capture::new(&mut payload).u64(n);
        }
        let _ = crate::Capture::new(&mut payload).str(&crate::format::time::rfc3339(first));
        let _ = crate::Capture::new(&mut payload).str(&crate::format::time::rfc3339(last));
        drop(payload);
        self.record(&record);
    }
}
