//! The writer thread's loop: it takes records off the rings in rounds, oldest first,
//! numbers them (`seq`) and hands each to the outputs, which encode it once for their
//! format and keep the bytes until the loop writes out. Batching, idling and the
//! shutdown are decided here; what a write does, and what it does when it fails, is the
//! outputs' business (the file stream, [`FileOutput`], and the others, [`Outputs`]).
//! With the file stream alone, a record costs no more than one test of an empty option
//! beside the file's own work.
//!
//! Requests (flush, rotate, shutdown) and the rare record that cannot use a ring come on a
//! separate channel, and are looked at between rounds.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::drops::DROP_REPORT;
use super::file_output::FileOutput;
use super::output::Outputs;
use super::{Msg, Shared};
use crate::queue::{Due, Merge};
use crate::Record;

/// Records taken off the rings per round, before requests are looked at again.
const MAX_BATCH: usize = 4096;
/// Buffered bytes that trigger a write in the middle of a round.
const WRITE_AT: usize = 256 * 1024;
/// The longest a record waits in the buffer while records keep coming.
const MAX_DELAY: Duration = Duration::from_millis(1);
/// Empty rounds spent yielding before the writer writes out and starts to sleep.
const IDLE_SPINS: u32 = 32;
/// The longest sleep of an idle writer: how late, at worst, a record that ends a quiet
/// period reaches the file. Full rings, flushes and the shutdown wake it at once.
const MAX_SLEEP: Duration = Duration::from_millis(10);

/// The writer thread's state.
pub(crate) struct Writer {
    pub(crate) receiver: Receiver<Msg>,
    pub(crate) merge: Merge,
    pub(crate) shared: &'static Shared,
    /// The `seq` the next record gets.
    pub(crate) next_seq: u64,
    /// The stream's segment files, when there are any: every record goes there.
    pub(crate) file: Option<FileOutput>,
    /// Standard output, standard error and the user's destinations, when there are any.
    pub(crate) outputs: Option<Outputs>,
    /// Records numbered since the last write out, counted as written then when there are
    /// no files.
    pub(crate) unwritten: u64,
}

impl Writer {
    /// The thread's body: runs until a shutdown message, then seals the segment.
    pub(crate) fn run(mut self) {
        crate::queue::mark_writer_thread();
        #[cfg(unix)]
        if self.outputs.is_some() {
            super::console::keep_sigpipe_off_this_thread();
        }
        if let Some(file) = &mut self.file {
            file.begin_segment();
        }
        let mut idle = 0u32;
        let mut last_write = Instant::now();
        let done = 'run: loop {
            while let Ok(msg) = self.receiver.try_recv() {
                if let Some(done) = self.handle(msg) {
                    break 'run done;
                }
            }
            // Everything older than this reading of the clock is in the rings by now.
            let cut = crate::clock::now_ticks();
            let taken = self.take(Due::StampedBefore(cut), MAX_BATCH);
            self.report_drops();
            if taken > 0 {
                idle = 0;
                if last_write.elapsed() >= MAX_DELAY {
                    self.write_out();
                    last_write = Instant::now();
                }
                continue;
            }
            idle = idle.saturating_add(1);
            if idle <= IDLE_SPINS {
                std::thread::yield_now();
                continue;
            }
            self.write_out();
            last_write = Instant::now();
            // 20 us, doubling up to MAX_SLEEP while nothing comes.
            let nap = Duration::from_micros(20 << (idle - IDLE_SPINS - 1).min(10));
            std::thread::park_timeout(nap.min(MAX_SLEEP));
        };
        self.take(Due::WithinQuota, usize::MAX);
        self.report_drops();
        self.write_out();
        let Writer {
            file,
            merge,
            shared,
            ..
        } = self;
        shared.rings.close(merge.into_rings());
        if let Some(file) = file {
            file.close();
        }
        let _ = done.send(());
    }

    /// Takes up to `max` records off the rings, oldest first, those `due` allows, and
    /// encodes them. Returns how many it took.
    fn take(&mut self, due: Due, max: usize) -> usize {
        self.shared.rings.adopt(&mut self.merge.rings);
        self.shared.rings.offer_growth(&self.merge.rings);
        if let Due::WithinQuota = due {
            self.merge.set_quotas();
        }
        if self.merge.waiting_bytes() == 0 {
            return 0;
        }
        let c = &self.shared.counters;
        // Events in the rings now: pushed (read first) less taken (by this thread only).
        let waiting = self
            .shared
            .rings
            .pushed()
            .saturating_sub(c.received.load(Ordering::Relaxed));
        c.queue_high_water.fetch_max(waiting, Ordering::Relaxed);
        if self.file.as_ref().is_some_and(FileOutput::period_over) {
            self.write_out();
            self.rotate();
        }
        let mut taken = 0;
        // One record, refilled for each one taken.
        let mut record = Record::new(&DROP_REPORT, 0, 0);
        while taken < max && self.merge.next(due, &mut record) {
            self.record(&record);
            taken += 1;
        }
        self.merge.end_round();
        let c = &self.shared.counters;
        c.received.fetch_add(taken as u64, Ordering::Relaxed);
        taken
    }

    /// Handles one message; returns the shutdown's answer channel once the writer should
    /// stop.
    fn handle(&mut self, msg: Msg) -> Option<Sender<()>> {
        match msg {
            Msg::Record(record) => {
                // Its thread's earlier records, in its ring, come first.
                self.take(Due::WithinQuota, usize::MAX);
                self.shared
                    .counters
                    .received_by_channel
                    .fetch_add(1, Ordering::Relaxed);
                self.record(&record);
            }
            Msg::Flush(done) => {
                self.take(Due::WithinQuota, usize::MAX);
                self.report_drops();
                self.write_out();
                let _ = done.send(());
            }
            Msg::Rotate(done) => {
                self.take(Due::WithinQuota, usize::MAX);
                self.report_drops();
                self.write_out();
                self.rotate();
                let _ = done.send(());
            }
            Msg::Shutdown(done) => {
                // Records that raced with the shutdown are still written.
                self.take(Due::WithinQuota, usize::MAX);
                while let Ok(msg) = self.receiver.try_recv() {
                    match msg {
                        Msg::Record(record) => {
                            self.shared
                                .counters
                                .received_by_channel
                                .fetch_add(1, Ordering::Relaxed);
                            self.record(&record);
                        }
                        Msg::Flush(other) | Msg::Rotate(other) | Msg::Shutdown(other) => {
                            let _ = other.send(());
                        }
                    }
                }
                return Some(done);
            }
        }
        None
    }

    /// Numbers one record and hands it to the outputs; writes out when an output's
    /// buffer is large enough.
    pub(super) fn record(&mut self, record: &Record) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let Some(file) = &mut self.file else {
            self.unwritten += 1;
            self.hand_to_outputs(record, seq);
            return;
        };
        file.record(record, seq);
        if let Some(outputs) = &mut self.outputs {
            // The other outputs get what the file got, cut to the limit if it was.
            outputs.record(
                file.cut_record().unwrap_or(record),
                seq,
                Some(file.last_record()),
            );
            if outputs.pending_bytes() >= WRITE_AT {
                self.write_out();
                return;
            }
        }
        if file.buffered_bytes() >= WRITE_AT {
            self.write_out();
        }
    }

    /// Hands a record to the outputs, when there are no files.
    fn hand_to_outputs(&mut self, record: &Record, seq: u64) {
        if let Some(outputs) = &mut self.outputs {
            outputs.record(record, seq, None);
            if outputs.pending_bytes() >= WRITE_AT {
                self.write_out();
            }
        }
    }

    /// Seals the active segment and starts the next, if there are files.
    fn rotate(&mut self) {
        if let Some(file) = &mut self.file {
            file.rotate();
        }
    }

    /// Writes out what every output holds.
    fn write_out(&mut self) {
        if let Some(outputs) = &mut self.outputs {
            let lost = outputs.write_out();
            if lost > 0 {
                self.shared
                    .counters
                    .output_lost
                    .fetch_add(lost, Ordering::Relaxed);
            }
        }
        match &mut self.file {
            Some(file) => file.write_out(),
            None => {
                // Without files, a record is written once its outputs have had it.
                self.shared
                    .counters
                    .written
                    .fetch_add(std::mem::take(&mut self.unwritten), Ordering::Relaxed);
            }
        }
    }
}
