//! What a running shipper has done and how far behind the stream it is, readable from
//! another thread while it ships (`trail ship --progress` draws it once a second).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters a shipper keeps up to date while it ships; give it one through
/// [`ShipOptions::progress`](super::ShipOptions::progress) and read it with
/// [`Progress::snapshot`] from any thread.
///
/// ```
/// use std::sync::Arc;
/// let progress = Arc::new(trail::ship::Progress::default());
/// let mut options = trail::ship::ShipOptions::new("logs", "nats://127.0.0.1:4222");
/// options.progress = Some(progress.clone());
/// // ... ship on another thread, then, once a second:
/// let now = progress.snapshot();
/// println!("{} records shipped, {} behind", now.records, now.lag_records);
/// ```
#[derive(Debug, Default)]
pub struct Progress {
    records: AtomicU64,
    bytes: AtomicU64,
    // 0 stands for none: `seq` starts at 1.
    shipped_seq: AtomicU64,
    shipped_ts: AtomicU64,
    newest_seq: AtomicU64,
    newest_ts: AtomicU64,
}

/// A reading of [`Progress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgressSnapshot {
    /// Records acknowledged by the server in this run.
    pub records: u64,
    /// Bytes of message bodies acknowledged in this run.
    pub bytes: u64,
    /// The `seq` of this source's last record on the server.
    pub shipped_seq: Option<u64>,
    /// The `seq` of the newest record in the files, when last looked at.
    pub newest_seq: Option<u64>,
    /// Records in the files that the server does not hold yet.
    pub lag_records: u64,
    /// How much older the last shipped record is than the newest one (zero when nothing
    /// waits, or when the last shipped record's time is not known yet).
    pub lag: Duration,
}

impl Progress {
    /// Reads the counters.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let some = |v: u64| (v != 0).then_some(v);
        let shipped_seq = some(self.shipped_seq.load(Ordering::Relaxed));
        let newest_seq = some(self.newest_seq.load(Ordering::Relaxed));
        let lag_records = newest_seq
            .unwrap_or(0)
            .saturating_sub(shipped_seq.unwrap_or(0));
        let shipped_ts = self.shipped_ts.load(Ordering::Relaxed);
        let lag = if lag_records == 0 || shipped_ts == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(
                self.newest_ts
                    .load(Ordering::Relaxed)
                    .saturating_sub(shipped_ts),
            )
        };
        ProgressSnapshot {
            records: self.records.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            shipped_seq,
            newest_seq,
            lag_records,
            lag,
        }
    }

    /// The server holds records up to `seq` (written at `ts`, when known).
    pub(crate) fn at(&self, seq: u64, ts: Option<u64>) {
        self.shipped_seq.store(seq, Ordering::Relaxed);
        if let Some(ts) = ts {
            self.shipped_ts.store(ts, Ordering::Relaxed);
        }
    }

    /// One more record of `bytes` acknowledged.
    pub(crate) fn shipped(&self, seq: u64, ts: u64, bytes: usize) {
        self.records.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.at(seq, Some(ts));
    }

    /// The newest record in the files.
    pub(crate) fn newest(&self, seq: u64, ts: u64) {
        self.newest_seq.store(seq, Ordering::Relaxed);
        self.newest_ts.store(ts, Ordering::Relaxed);
    }
}
