//! The caller side of the writer: the sink installed for the whole process, which puts
//! each event into its thread's ring (or, when it must, on the channel), applies the
//! [`Policy`] when the ring is full, and holds the counters behind [`Stats`].
//!
//! Everything here runs on the callers' threads, except the counters' updates, which the
//! writer thread makes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::Sender;

use super::drops::UnreportedDrops;
use super::Policy;
use crate::queue::{Refused, Rings};
use crate::{Record, Sink};

/// Counters of a running writer. See [`Guard::stats`](crate::Guard::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records written to the files; with no files, records handed to the outputs.
    pub written: u64,
    /// Events handed to the writer: written, in the queue, or given up at the deadline.
    pub enqueued: u64,
    /// Records dropped because the queue was full (policy `Drop`).
    pub dropped: u64,
    /// Bytes written to the file.
    pub bytes: u64,
    /// File errors: failed write attempts (each was retried), new segments that could
    /// not be created, and segment files found removed or replaced while being written.
    pub io_errors: u64,
    /// Segments sealed and replaced by a new one.
    pub rotations: u64,
    /// Syncs of the active segment to the disk requested by the
    /// [`Fsync`](crate::Fsync) policy.
    pub fsyncs: u64,
    /// Records given up on because writes still failed at the shutdown deadline
    /// ([`Builder::shutdown_timeout`](crate::Builder::shutdown_timeout)), or because another
    /// process came to own the stream after its lock file was removed; reported on stderr.
    pub abandoned: u64,
    /// Events in the queue, as the writer last counted them.
    pub queued: u64,
    /// Records that outputs beside the files could not take: standard output or standard
    /// error closed (a broken pipe) or failing, or a destination that panicked. Each such
    /// output says so once on standard error; the files and the other outputs go on.
    pub output_lost: u64,
    /// The most events the queue held at once (all threads' rings), as the writer found it.
    pub queue_high_water: u64,
    /// Parquet copies of sealed segments written
    /// ([`Builder::parquet`](crate::Builder::parquet)).
    pub parquet_files: u64,
    /// Sealed segments whose Parquet copy could not be written; each is reported on
    /// standard error, its segment left as it is, and tried again at the next start.
    pub parquet_errors: u64,
}

/// What reaches the writer thread on its channel, beside the rings.
pub(crate) enum Msg {
    /// A record from a thread that could not use its ring: it was ending, or logging from
    /// inside another event's capture.
    Record(Box<Record>),
    /// Write out everything before this message, then answer.
    Flush(Sender<()>),
    /// Write out everything before this message, start a new segment, then answer.
    Rotate(Sender<()>),
    /// Write out everything queued, seal the segment, answer, and stop.
    Shutdown(Sender<()>),
}

/// The caller-facing half: installed as the global sink.
pub(crate) struct Shared {
    /// Records, one ring per logging thread.
    pub(crate) rings: Rings,
    /// Requests to the writer, and the rare record that cannot use a ring.
    sender: Sender<Msg>,
    pub(super) policy: Policy,
    /// Events at this level or above wait for room whatever the policy.
    never_drop: crate::LevelFilter,
    pub(crate) counters: Counters,
    /// Drops not yet reported in the stream (policy `DropAndReport`).
    pub(crate) unreported: UnreportedDrops,
    /// When a shutdown stops retrying failed writes.
    pub(crate) give_up: std::sync::Mutex<Option<Instant>>,
    /// The process the writer thread runs in: a child made by `fork()` has a copy of this
    /// but not the thread.
    process: u32,
}

/// What the writer counts, for [`Stats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(super) written: AtomicU64,
    /// Records the writer took off the rings.
    pub(super) received: AtomicU64,
    /// Records the writer took off the channel.
    pub(super) received_by_channel: AtomicU64,
    /// Records sent on the channel instead of a ring.
    pub(super) by_channel: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) io_errors: AtomicU64,
    pub(super) rotations: AtomicU64,
    pub(super) fsyncs: AtomicU64,
    pub(super) abandoned: AtomicU64,
    /// Records outputs beside the files could not take.
    pub(super) output_lost: AtomicU64,
    pub(super) queue_high_water: AtomicU64,
    /// The Parquet compactor's counters.
    pub(crate) compaction: std::sync::Arc<crate::stream::CompactionCounters>,
    /// Records the writer could not hand over at all (the writer had stopped).
    pub(crate) lost: AtomicU64,
    /// The active segment's path, for [`Guard::path`](crate::Guard::path).
    pub(crate) path: std::sync::Mutex<std::path::PathBuf>,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            written: self.written.load(Ordering::Relaxed),
            enqueued: self.received.load(Ordering::Relaxed)
                + self.received_by_channel.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            io_errors: self.io_errors.load(Ordering::Relaxed),
            rotations: self.rotations.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            abandoned: self.abandoned.load(Ordering::Relaxed),
            queued: 0,
            output_lost: self.output_lost.load(Ordering::Relaxed),
            queue_high_water: self.queue_high_water.load(Ordering::Relaxed),
            parquet_files: self.compaction.written.load(Ordering::Relaxed),
            parquet_errors: self.compaction.failed.load(Ordering::Relaxed),
        }
    }
}

impl Shared {
    pub(crate) fn new(
        capacity: usize,
        max_queue_bytes: usize,
        sender: Sender<Msg>,
        policy: Policy,
        never_drop: crate::LevelFilter,
    ) -> Self {
        Shared {
            rings: Rings::new(capacity, max_queue_bytes),
            sender,
            policy,
            never_drop,
            counters: Counters::default(),
            unreported: UnreportedDrops::default(),
            give_up: std::sync::Mutex::new(None),
            process: std::process::id(),
        }
    }

    /// Whether this is a child process made by `fork()`, which does not have the writer's
    /// thread. Asked only where the answer decides whether to wait for the writer.
    pub(crate) fn without_writer(&self) -> bool {
        crate::dispatch::forked() && std::process::id() != self.process
    }

    /// The counters, with the queue's current length.
    pub(crate) fn stats(&self) -> Stats {
        // The writer's count first: whatever it has taken was pushed before.
        let stats = self.counters.snapshot();
        let enqueued = self.rings.pushed() + self.counters.by_channel.load(Ordering::Relaxed);
        Stats {
            enqueued,
            queued: enqueued.saturating_sub(stats.enqueued),
            ..stats
        }
    }

    /// Records that reached the writer after it stopped, or no writer at all.
    pub(crate) fn lost(&self) -> u64 {
        self.counters.lost.load(Ordering::Relaxed) + self.rings.stranded()
    }

    /// Sends a control message and waits for the writer's answer. On the writer's own
    /// thread (a bridge logging from inside the writer), and in a child process after
    /// `fork()`, there is nobody to answer: it returns at once.
    pub(crate) fn request(&self, make: fn(Sender<()>) -> Msg) {
        // After a fork() the writer thread is the parent's: nobody would answer.
        if crate::queue::on_writer_thread() || self.without_writer() {
            return;
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.sender.send(make(tx)).is_ok() {
            self.rings.wake_writer();
            // An error means the writer thread is gone; there is nothing left to wait for.
            let _ = rx.recv();
        }
    }

    /// Whether an event at `level` waits for room rather than being dropped.
    fn must_wait(&self, level: crate::Level) -> bool {
        self.policy == Policy::Block || self.never_drop.enables(level)
    }

    /// The ring is full: grow it and push `record` with `push`; failing that, wait and
    /// push, or drop and count, as the policy says.
    #[cold]
    #[inline(never)]
    fn full(&self, record: &Record, mut push: impl FnMut(&Rings) -> Result<(), Refused>) {
        if self.rings.grow() {
            match push(&self.rings) {
                Ok(()) => return,
                Err(Refused::Full) => {}
                Err(Refused::NoRing | Refused::TooLarge) => return self.by_channel(record),
            }
        }
        let must_wait = self.must_wait(record.level());
        if must_wait {
            match self.rings.push_waiting(push) {
                Ok(()) => return,
                Err(Refused::NoRing | Refused::TooLarge) => return self.by_channel(record),
                // The writer's own thread cannot wait for itself: its record is dropped.
                Err(Refused::Full) if !self.rings.is_closed() => {}
                Err(Refused::Full) => {
                    self.counters.lost.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        } else if self.rings.is_closed() {
            self.counters.lost.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        if self.policy == Policy::DropAndReport {
            self.unreported
                .note(record.level(), record.timestamp_nanos());
        }
        self.rings.wake_writer();
    }

    /// Puts a record larger than its thread's ring in its place in that ring, its values
    /// moved to the heap, so that it keeps its place among the thread's other events.
    #[cold]
    #[inline(never)]
    fn large(&self, record: &Record) {
        let mut bytes = record.parts().4.to_vec();
        let mut push = |rings: &Rings| rings.push_large(record, &mut bytes);
        match push(&self.rings) {
            Ok(()) => {}
            Err(Refused::Full) => self.full(record, push),
            Err(Refused::NoRing | Refused::TooLarge) => self.by_channel(record),
        }
    }

    /// Sends a record on the control channel, for a thread that cannot use its ring.
    #[cold]
    #[inline(never)]
    fn by_channel(&self, record: &Record) {
        let record = record.clone();
        let must_wait = self.must_wait(record.level());
        let sent = if must_wait && !crate::queue::on_writer_thread() {
            self.sender
                .send(Msg::Record(Box::new(record)))
                .map_err(|_| ())
        } else {
            self.sender
                .try_send(Msg::Record(Box::new(record)))
                .map_err(|_| ())
        };
        match sent {
            Ok(()) => {
                self.counters.by_channel.fetch_add(1, Ordering::Relaxed);
                self.rings.wake_writer();
            }
            Err(()) if self.rings.is_closed() => {
                self.counters.lost.fetch_add(1, Ordering::Relaxed);
            }
            Err(()) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Sink for Shared {
    #[inline(always)]
    fn submit(&self, record: &Record) {
        match self.rings.push(record) {
            Ok(()) => {}
            Err(Refused::Full) => self.full(record, |rings| rings.push(record)),
            Err(Refused::TooLarge) => self.large(record),
            // A thread that is ending, or inside another event's capture, takes the
            // channel.
            Err(Refused::NoRing) => self.by_channel(record),
        }
    }

    fn flush(&self) {
        self.request(Msg::Flush);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_that_cannot_grow_past_the_total_drops_and_counts() {
        static META: crate::Metadata =
            crate::Metadata::for_test(crate::Level::Info, "queue", "", &["n"], &[]);
        let first = crate::queue::FIRST_RING + 32;
        // Room for the first ring and one doubling of it, not for the next.
        let max = first + 2 * first;
        let (sender, _receiver) = crossbeam_channel::bounded(16);
        let shared: &'static Shared = Box::leak(Box::new(Shared::new(
            16 * 1024,
            max,
            sender,
            Policy::Drop,
            crate::LevelFilter::Off,
        )));
        std::thread::spawn(move || {
            // The writer's side, played here: it offers larger rings and takes nothing.
            let mut merge = crate::queue::Merge::default();
            let mut submitted = 0;
            for drops in 1..=10 {
                while shared.counters.dropped.load(Ordering::Relaxed) < drops {
                    let mut record = Record::new(&META, submitted, 1);
                    let _ = crate::Capture::new(&mut record.payload_mut()).u64(submitted);
                    shared.submit(&record);
                    submitted += 1;
                }
                shared.rings.adopt(&mut merge.rings);
                shared.rings.offer_growth(&merge.rings);
                assert!(shared.rings.allocated_bytes() <= max);
            }
            // Records of 48 bytes, each needing 32 of slack after it: the first ring
            // took 682 of them, then the ring grew once, to 64 KiB, and took 1364 more;
            // the next doubling would pass the total.
            let pushed = shared.rings.pushed();
            assert_eq!(pushed, 682 + 1364);
            assert_eq!(pushed + 10, submitted, "every event is pushed or counted");
        })
        .join()
        .expect("caller");
    }
}
