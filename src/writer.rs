//! The background writer: the queue's consumer, the encoder's driver, the file's only writer.
//!
//! Callers put records into their thread's bounded lock-free ring (see `queue`). One
//! thread takes them off all rings in rounds, in the order they happened, numbers them
//! (`seq`), encodes them into one reused buffer and appends that buffer to the segment file
//! in large writes that hold whole records only. Flushes, rotations and the shutdown reach
//! it on a separate channel.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::encode::Encoder;
use crate::limits::MAX_RECORD_BYTES;
use crate::queue::{Merge, Refused, Rings, Upto};
use crate::stream::{StreamFiles, Whereabouts};
use crate::{Record, Sink};

/// What a full queue does to the caller.
///
/// ```
/// let policy: trail::Policy = "drop".parse().unwrap();
/// assert_eq!(policy, trail::Policy::Drop);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Policy {
    /// Wait for room: nothing is lost, the caller slows down to the writer's pace.
    #[default]
    Block,
    /// Drop the event and count it (see [`Stats::dropped`]); the caller never waits.
    Drop,
    /// As `Drop`, and the stream itself gets a record saying how many events were
    /// dropped, between when and when, at which levels (target `trail`, level `warn`).
    DropAndReport,
}

impl std::str::FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "block" => Ok(Policy::Block),
            "drop" => Ok(Policy::Drop),
            "drop-and-report" | "report" => Ok(Policy::DropAndReport),
            _ => Err(format!(
                "unknown policy {s:?}: expected block, drop or drop-and-report"
            )),
        }
    }
}

/// When the writer asks the operating system to put written data on the disk (`fsync`).
///
/// Without it, a crash of the process loses nothing that was written, but a power failure
/// or a kernel crash can lose what the system had not flushed yet.
///
/// ```
/// use std::time::Duration;
/// let sync: trail::Fsync = "every-batch".parse().unwrap();
/// assert_eq!(sync, trail::Fsync::EveryBatch);
/// assert_eq!("250ms".parse::<trail::Fsync>().unwrap(), trail::Fsync::Every(Duration::from_millis(250)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fsync {
    /// Never; the operating system decides (the default).
    #[default]
    Never,
    /// After every batch of records written.
    EveryBatch,
    /// At most this often, after a write.
    Every(Duration),
    /// When a segment is sealed (rotation and shutdown).
    OnRotation,
}

impl std::str::FromStr for Fsync {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "never" => Ok(Fsync::Never),
            "every-batch" | "batch" => Ok(Fsync::EveryBatch),
            "on-rotation" | "rotation" => Ok(Fsync::OnRotation),
            other => other
                .strip_suffix("ms")
                .and_then(|ms| ms.parse().ok())
                .map(|ms| Fsync::Every(Duration::from_millis(ms)))
                .ok_or_else(|| {
                    format!("unknown fsync policy {s:?}: expected never, every-batch, on-rotation or a period such as 100ms")
                }),
        }
    }
}

/// Counters of a running writer. See [`Guard::stats`](crate::Guard::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records written to the file.
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
    /// Syncs of the active segment to the disk requested by the [`Fsync`] policy.
    pub fsyncs: u64,
    /// Records given up on because writes still failed at the shutdown deadline
    /// ([`Builder::shutdown_timeout`](crate::Builder::shutdown_timeout)), or because another
    /// process came to own the stream after its lock file was removed; reported on stderr.
    pub abandoned: u64,
    /// Events in the queue, as the writer last counted them.
    pub queued: u64,
    /// The most events the queue held at once (all threads' rings), as the writer found it.
    pub queue_high_water: u64,
}

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
    policy: Policy,
    /// Events at this level or above wait for room whatever the policy.
    never_drop: crate::LevelFilter,
    pub(crate) counters: Counters,
    /// Drops not yet reported in the stream (policy `DropAndReport`).
    pub(crate) unreported: Unreported,
    /// When a shutdown stops retrying failed writes.
    pub(crate) give_up: std::sync::Mutex<Option<Instant>>,
    /// The process the writer thread runs in: a child made by `fork()` has a copy of this
    /// but not the thread.
    process: u32,
}

/// Drops since the last report: per level, and when the first and last happened.
#[derive(Default)]
pub(crate) struct Unreported {
    by_level: [AtomicU64; 6],
    first: AtomicU64,
    last: AtomicU64,
}

impl Unreported {
    #[cold]
    fn note(&self, level: crate::Level, now: u64) {
        self.by_level[level as usize - 1].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .first
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// Takes the counts so far, if there are any.
    fn take(&self) -> Option<([u64; 6], u64, u64)> {
        let counts: [u64; 6] = std::array::from_fn(|i| self.by_level[i].swap(0, Ordering::Relaxed));
        let first = self.first.swap(0, Ordering::Relaxed);
        let last = self.last.swap(0, Ordering::Relaxed);
        (counts.iter().sum::<u64>() > 0).then_some((counts, first, last))
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    written: AtomicU64,
    /// Records the writer took off the rings.
    received: AtomicU64,
    /// Records the writer took off the channel.
    received_by_channel: AtomicU64,
    /// Records sent on the channel instead of a ring.
    by_channel: AtomicU64,
    dropped: AtomicU64,
    bytes: AtomicU64,
    io_errors: AtomicU64,
    rotations: AtomicU64,
    fsyncs: AtomicU64,
    abandoned: AtomicU64,
    queue_high_water: AtomicU64,
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
            queue_high_water: self.queue_high_water.load(Ordering::Relaxed),
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
            unreported: Unreported::default(),
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

/// The call site of the records that report drops.
static DROP_REPORT: crate::Metadata = crate::Metadata::new(
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
    pub(crate) encoder: Box<dyn Encoder>,
    pub(crate) files: StreamFiles,
    pub(crate) shared: &'static Shared,
    pub(crate) next_seq: u64,
    /// Encoded records (and a segment header) not yet written.
    pub(crate) buf: Vec<u8>,
    /// The `seq` range of the records in `buf`.
    pub(crate) buffered: Option<(u64, u64)>,
    pub(crate) reporter: ErrorReporter,
    pub(crate) console: Option<Console>,
    pub(crate) fsync: Fsync,
    pub(crate) last_sync: Instant,
    /// The value kinds per segment, for the manifest.
    pub(crate) schema: crate::schema::Collector,
}

/// Human-readable lines on standard error for records at or above a level, beside the
/// files; written by the writer thread, so that callers never wait for a terminal.
pub(crate) struct Console {
    level: crate::LevelFilter,
    color: bool,
    encoder: crate::encode::text::TextEncoder,
    out: Vec<u8>,
}

/// Whether the console colours levels: on a terminal, unless `NO_COLOR` is set to
/// anything but nothing; off a terminal only if `CLICOLOR_FORCE` is set and not `0`.
/// `NO_COLOR` wins over `CLICOLOR_FORCE`.
fn use_color(
    terminal: bool,
    no_color: Option<std::ffi::OsString>,
    force: Option<std::ffi::OsString>,
) -> bool {
    let set = |v: &Option<std::ffi::OsString>| v.as_ref().is_some_and(|v| !v.is_empty());
    if set(&no_color) {
        return false;
    }
    terminal || (set(&force) && force.as_deref() != Some(std::ffi::OsStr::new("0")))
}

impl Console {
    pub(crate) fn new(level: crate::LevelFilter, secrets: std::sync::Arc<[String]>) -> Console {
        use std::io::IsTerminal;
        let mut encoder = crate::encode::text::TextEncoder::default();
        encoder.set_secrets(secrets);
        Console {
            level,
            color: use_color(
                io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR"),
                std::env::var_os("CLICOLOR_FORCE"),
            ),
            encoder,
            out: Vec::new(),
        }
    }

    fn record(&mut self, record: &Record, seq: u64) {
        let level = record.level();
        if !self.level.enables(level) {
            return;
        }
        let start = self.out.len();
        self.encoder.encode(record, seq, &mut self.out);
        // The level is the five bytes after the 30-byte timestamp and a space; colour it.
        let at = start + 31;
        if self.color && self.out.len() > at + 5 {
            let color: &[u8] = match level {
                crate::Level::Trace | crate::Level::Debug => b"\x1b[1;34m",
                crate::Level::Info => b"\x1b[1;32m",
                crate::Level::Warn => b"\x1b[1;33m",
                crate::Level::Error | crate::Level::Fatal => b"\x1b[1;31m",
            };
            self.out.splice(at + 5..at + 5, b"\x1b[0m".iter().copied());
            self.out.splice(at..at, color.iter().copied());
        }
    }

    fn write_out(&mut self) {
        if !self.out.is_empty() {
            // The terminal is a courtesy: the files hold every record whatever happens here.
            let _ = io::stderr().lock().write_all(&self.out);
            self.out.clear();
        }
    }
}

impl Writer {
    /// The thread's body: runs until a shutdown message, then seals the segment.
    pub(crate) fn run(mut self) {
        crate::queue::mark_writer_thread();
        self.encoder.begin_segment(&mut self.buf);
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
            let taken = self.take(Upto::Cut(cut), MAX_BATCH);
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
        self.take(Upto::Quota, usize::MAX);
        self.report_drops();
        self.write_out();
        let Writer {
            files,
            merge,
            shared,
            ..
        } = self;
        shared.rings.close(merge.into_rings());
        files.close();
        let _ = done.send(());
    }

    /// Takes up to `max` records off the rings, oldest first, those `upto` allows, and
    /// encodes them. Returns how many it took.
    fn take(&mut self, upto: Upto, max: usize) -> usize {
        self.shared.rings.adopt(&mut self.merge.rings);
        self.shared.rings.offer_growth(&self.merge.rings);
        if let Upto::Quota = upto {
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
        if self.files.period_over() {
            self.write_out();
            self.rotate();
        }
        let mut taken = 0;
        // One record, refilled for each one taken.
        let mut record = Record::new(&DROP_REPORT, 0, 0);
        while taken < max && self.merge.next(upto, &mut record) {
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
                self.take(Upto::Quota, usize::MAX);
                self.shared
                    .counters
                    .received_by_channel
                    .fetch_add(1, Ordering::Relaxed);
                self.record(&record);
            }
            Msg::Flush(done) => {
                self.take(Upto::Quota, usize::MAX);
                self.report_drops();
                self.write_out();
                let _ = done.send(());
            }
            Msg::Rotate(done) => {
                self.take(Upto::Quota, usize::MAX);
                self.report_drops();
                self.write_out();
                self.rotate();
                let _ = done.send(());
            }
            Msg::Shutdown(done) => {
                // Records that raced with the shutdown are still written.
                self.take(Upto::Quota, usize::MAX);
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

    /// Encodes one record; if it would overflow the segment, it goes to a new one instead,
    /// encoded again there (a format may refer to what its segment already holds).
    fn record(&mut self, record: &Record) {
        let seq = self.next_seq;
        let mark = self.buf.len();
        self.encoder.encode(record, seq, &mut self.buf);
        // What the reader cannot read back is never written: a record past the limit is
        // written again with its largest values cut.
        let cut = if self.buf.len() - mark > MAX_RECORD_BYTES {
            self.cut_to_limit(record, seq, mark)
        } else {
            None
        };
        let record = cut.as_ref().unwrap_or(record);
        let len = (self.buf.len() - mark) as u64;
        if self
            .files
            .overflows(mark as u64, self.buffered.is_some(), len)
        {
            // Encoded again in the new segment; if none could be started, the first
            // encoding stands, in the segment it was made for.
            let encoded = self.buf.split_off(mark);
            let segment = self.files.generation();
            self.write_out();
            self.rotate();
            if self.files.generation() == segment {
                self.buf.extend_from_slice(&encoded);
            } else {
                self.encoder.encode(record, seq, &mut self.buf);
            }
        }
        self.buffered = Some((self.buffered.map_or(seq, |(first, _)| first), seq));
        self.next_seq += 1;
        let segment = self.files.generation();
        self.schema.note(record, segment, self.files.schema_mut());
        if let Some(console) = &mut self.console {
            console.record(record, seq);
        }
        if self.buf.len() >= WRITE_AT {
            self.write_out();
        }
    }

    /// Encodes `record` again, just encoded at `mark` and found longer than
    /// [`MAX_RECORD_BYTES`], with its values cut until it fits: those over 64 KiB first,
    /// then all of them. Values are bounded at capture, so only escaping that multiplies
    /// their length (control characters in JSON) gets here. Returns the record written.
    #[cold]
    #[inline(never)]
    fn cut_to_limit(&mut self, record: &Record, seq: u64, mark: usize) -> Option<Record> {
        // Call site and thread frames written before the record stay: the encoder counts
        // them as written.
        let start = self.encoder.last_record_at().unwrap_or(mark).max(mark);
        if self.buf.len() - start <= MAX_RECORD_BYTES {
            return None;
        }
        let mut cut = None;
        for keep in [64 * 1024, 0] {
            self.buf.truncate(start);
            let smaller = record.with_values_cut(keep);
            self.encoder.encode(&smaller, seq, &mut self.buf);
            cut = Some(smaller);
            if self.buf.len() - start <= MAX_RECORD_BYTES {
                break;
            }
        }
        cut
    }

    /// Writes a record saying how many events were dropped since the last one, if any.
    fn report_drops(&mut self) {
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

    /// Seals the segment and opens the next; returns whether a new segment was started.
    /// A segment whose file was found removed or replaced is not sealed: a new one takes
    /// its place. On failure it reports, counts, and carries on in the current segment, so
    /// that nothing is lost.
    fn rotate(&mut self) -> bool {
        if !self.files.owns_stream() {
            return false;
        }
        let lost = self.files.check();
        if lost != Whereabouts::Here {
            self.notice_loss(lost);
            return match self.files.reopen(lost) {
                Ok(_lost_file) => {
                    self.encoder.begin_segment(&mut self.buf);
                    self.publish_path();
                    true
                }
                Err(_) if !self.files.owns_stream() => false,
                Err(e) => {
                    // The next write tries again, and waits until it can.
                    self.shared
                        .counters
                        .io_errors
                        .fetch_add(1, Ordering::Relaxed);
                    self.reporter.report(Trouble::Write, || {
                        format!("{e}; retrying, nothing is dropped")
                    });
                    false
                }
            };
        }
        match self.files.rotate() {
            Ok(true) => {
                self.shared
                    .counters
                    .rotations
                    .fetch_add(1, Ordering::Relaxed);
                self.encoder.begin_segment(&mut self.buf);
                self.publish_path();
                true
            }
            Ok(false) => {
                if !self.files.owns_stream() {
                    self.shared
                        .counters
                        .io_errors
                        .fetch_add(1, Ordering::Relaxed);
                }
                false
            }
            Err(e) => {
                self.shared
                    .counters
                    .io_errors
                    .fetch_add(1, Ordering::Relaxed);
                let files = &self.files;
                self.reporter.report(Trouble::Rotate, || {
                    format!(
                        "cannot rotate: {e}; writing on in {}",
                        files.path().display()
                    )
                });
                false
            }
        }
    }

    /// Makes the active segment's path the one [`Guard::path`](crate::Guard::path) gives.
    fn publish_path(&self) {
        *self
            .shared
            .counters
            .path
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = self.files.path().to_owned();
    }

    /// Records in the buffer.
    fn buffered_records(&self) -> u64 {
        self.buffered.map_or(0, |(first, last)| last - first + 1)
    }

    /// Appends the buffer to the active segment, retrying failed writes. Bytes already
    /// written are never written twice, so a record interrupted by an error is completed,
    /// not repeated. Before the buffer's first byte goes out, the segment's path is checked
    /// to still lead to its file (see [`Writer::follow_segment`]).
    fn write_out(&mut self) {
        if let Some(console) = &mut self.console {
            console.write_out();
        }
        if self.buf.is_empty() {
            return;
        }
        if !self.files.owns_stream() {
            self.disowned();
            return;
        }
        self.files.reserve(self.buf.len());
        let mut done = 0;
        let mut backoff = Duration::from_millis(1);
        while done < self.buf.len() {
            if done == 0 {
                if let Err(e) = self.follow_segment() {
                    if !self.files.owns_stream() {
                        self.disowned();
                        return;
                    }
                    if !self.failed(&e.to_string(), &mut backoff) {
                        self.abandon(done);
                        return;
                    }
                    continue;
                }
            }
            let retry = match self.files.file().write(&self.buf[done..]) {
                Ok(0) => self.failed_write(io::ErrorKind::WriteZero.into(), &mut backoff),
                Ok(n) => {
                    done += n;
                    true
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
                Err(e) => self.failed_write(e, &mut backoff),
            };
            if !retry {
                self.abandon(done);
                return;
            }
        }
        let records = self.buffered_records();
        self.files.wrote(&self.buf, self.buffered, records);
        let c = &self.shared.counters;
        c.bytes.fetch_add(self.buf.len() as u64, Ordering::Relaxed);
        c.written.fetch_add(records, Ordering::Relaxed);
        self.buf.clear();
        self.buffered = None;
        let due = match self.fsync {
            Fsync::EveryBatch => true,
            Fsync::Every(period) => self.last_sync.elapsed() >= period,
            Fsync::Never | Fsync::OnRotation => false,
        };
        if due {
            self.sync();
        }
    }

    /// Checks that the active segment's path still leads to the file being written (one
    /// `stat`). A file removed, alone or with its directory, still takes writes, which
    /// vanish with it; a file put in its place is someone else's. Either way the writer
    /// moves to a new segment, and the error is that of creating it.
    #[inline]
    fn follow_segment(&mut self) -> Result<(), crate::Error> {
        match self.files.check() {
            Whereabouts::Here => Ok(()),
            lost => self.lost_segment(lost),
        }
    }

    /// Starts a new segment in place of one whose file was lost, and takes the buffer
    /// there. The buffer moves as it is when it holds the start of the segment (nothing of
    /// it was written yet); with the new segment's header put in front when the format's
    /// records stand alone. Binary records that refer to definitions already written are
    /// finished in the lost file instead, next to those definitions, and the new segment
    /// starts with a fresh header.
    #[cold]
    fn lost_segment(&mut self, lost: Whereabouts) -> Result<(), crate::Error> {
        self.notice_loss(lost);
        let starts_segment = self.files.written_bytes() == 0;
        let lost_path = self.files.path().to_owned();
        let mut lost_file = self.files.reopen(lost)?;
        if starts_segment {
            // The buffer begins with the header already.
        } else if self.files.records_stand_alone() {
            let mut header = Vec::new();
            self.encoder.begin_segment(&mut header);
            self.buf.splice(0..0, header);
        } else {
            let records = self.buffered_records();
            let c = &self.shared.counters;
            match lost_file.write_all(&self.buf) {
                Ok(()) => {
                    c.bytes.fetch_add(self.buf.len() as u64, Ordering::Relaxed);
                    c.written.fetch_add(records, Ordering::Relaxed);
                }
                Err(e) => {
                    c.io_errors.fetch_add(1, Ordering::Relaxed);
                    c.abandoned.fetch_add(records, Ordering::Relaxed);
                    eprintln!(
                        "trail: cannot finish {}: {e}; its last {records} records are lost with it",
                        lost_path.display()
                    );
                }
            }
            self.buf.clear();
            self.buffered = None;
            self.encoder.begin_segment(&mut self.buf);
        }
        drop(lost_file);
        self.publish_path();
        Ok(())
    }

    /// Counts and reports, once per loss, that the active segment's file was found
    /// removed or replaced.
    #[cold]
    fn notice_loss(&mut self, lost: Whereabouts) {
        if !self.files.first_notice() {
            return;
        }
        self.shared
            .counters
            .io_errors
            .fetch_add(1, Ordering::Relaxed);
        let files = &self.files;
        self.reporter.report(Trouble::Lost, || {
            let what = match lost {
                Whereabouts::Replaced => "was replaced by another file, which is left as it is",
                _ => "is gone (removed or renamed, alone or with its directory)",
            };
            format!(
                "{} {what}: what was written to it is no longer in the stream; \
                 writing on in a new segment",
                files.path().display(),
            )
        });
    }

    fn sync(&mut self) {
        if let Err(e) = self.files.file().sync_data() {
            self.shared
                .counters
                .io_errors
                .fetch_add(1, Ordering::Relaxed);
            let files = &self.files;
            self.reporter.report(Trouble::Write, || {
                format!("cannot sync {}: {e}", files.path().display())
            });
        }
        self.shared.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.last_sync = Instant::now();
    }

    /// [`Writer::failed`] for an error of a write to the active segment.
    #[cold]
    fn failed_write(&mut self, error: io::Error, backoff: &mut Duration) -> bool {
        let what = format!("cannot write {}: {error}", self.files.path().display());
        self.failed(&what, backoff)
    }

    /// Counts and reports a failure to write out (`what` names the path and the error),
    /// waits, and says whether to try again: always, until a shutdown's deadline has
    /// passed.
    #[cold]
    fn failed(&mut self, what: &str, backoff: &mut Duration) -> bool {
        self.shared
            .counters
            .io_errors
            .fetch_add(1, Ordering::Relaxed);
        let give_up = *self
            .shared
            .give_up
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if give_up.is_some_and(|at| Instant::now() >= at) {
            eprintln!("trail: {what}; the shutdown deadline has passed");
            return false;
        }
        self.reporter.report(Trouble::Write, || {
            format!("{what}; retrying, nothing is dropped")
        });
        std::thread::sleep(*backoff);
        *backoff = (*backoff * 2).min(Duration::from_secs(1));
        true
    }

    /// Drops the buffered records, counting them as abandoned: those of a stream that
    /// another process owns now (reported when that was found), or what is left at the
    /// shutdown deadline (see [`Writer::abandon`]).
    #[cold]
    fn disowned(&mut self) {
        let records = self.buffered_records();
        self.shared
            .counters
            .abandoned
            .fetch_add(records, Ordering::Relaxed);
        self.buf.clear();
        self.buffered = None;
    }

    /// Gives up on the buffered records at the shutdown deadline, saying how many.
    #[cold]
    fn abandon(&mut self, written_bytes: usize) {
        eprintln!(
            "trail: gave up on {} records ({} bytes) not written to {} by the shutdown deadline{}",
            self.buffered_records(),
            self.buf.len() - written_bytes,
            self.files.path().display(),
            if written_bytes > 0 {
                "; the last record there is incomplete"
            } else {
                ""
            }
        );
        self.disowned();
    }
}

/// The kinds of trouble the writer reports, each limited to its own rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// A write or a sync that failed, or a segment that could not be created in place of
    /// a lost one; retried.
    Write,
    /// A rotation that could not create the next segment.
    Rotate,
    /// The active segment's file, found removed or replaced.
    Lost,
}

/// Reports file errors on standard error, each kind at most once per interval, with a
/// count of the ones left out in between.
pub(crate) struct ErrorReporter {
    interval: Duration,
    /// When each kind of trouble was last reported, and how many went unreported since.
    kinds: [(Option<Instant>, u64); 3],
}

impl ErrorReporter {
    pub(crate) fn new(interval: Duration) -> Self {
        ErrorReporter {
            interval,
            kinds: [(None, 0); 3],
        }
    }

    /// Prints `message()` after `trail: `, unless the same kind of trouble was reported
    /// less than the interval ago: then it is only counted. Returns whether it printed.
    fn report(&mut self, trouble: Trouble, message: impl FnOnce() -> String) -> bool {
        let now = Instant::now();
        let (last, suppressed) = &mut self.kinds[trouble as usize];
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            *suppressed += 1;
            return false;
        }
        let more = match *suppressed {
            0 => String::new(),
            1 => " (1 more like it since the last report)".to_owned(),
            n => format!(" ({n} more like it since the last report)"),
        };
        eprintln!("trail: {}{more}", message());
        *last = Some(now);
        *suppressed = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_terminal_no_color_and_clicolor_force() {
        let v = |s: &str| Some(std::ffi::OsString::from(s));
        assert!(use_color(true, None, None));
        assert!(!use_color(false, None, None));
        assert!(!use_color(true, v("1"), None));
        assert!(use_color(true, v(""), None), "an empty NO_COLOR is not set");
        assert!(use_color(false, None, v("1")));
        assert!(!use_color(false, None, v("0")));
        assert!(!use_color(false, None, v("")));
        assert!(!use_color(false, v("1"), v("1")), "NO_COLOR wins");
    }

    #[test]
    fn each_kind_of_trouble_is_reported_at_most_once_per_interval() {
        let built = std::cell::Cell::new(0);
        let message = || {
            built.set(built.get() + 1);
            "test report, please ignore".to_owned()
        };
        let mut reporter = ErrorReporter::new(Duration::from_secs(3600));
        assert!(reporter.report(Trouble::Write, message));
        assert!(!reporter.report(Trouble::Write, message));
        assert!(!reporter.report(Trouble::Write, message));
        assert!(reporter.report(Trouble::Rotate, message), "another kind");
        assert!(reporter.report(Trouble::Lost, message));
        assert_eq!(built.get(), 3, "messages left out are never built");
        assert_eq!(reporter.kinds[Trouble::Write as usize].1, 2);

        let mut reporter = ErrorReporter::new(Duration::ZERO);
        assert!(reporter.report(Trouble::Write, message));
        assert!(reporter.report(Trouble::Write, message));
    }

    #[test]
    fn a_full_ring_that_cannot_grow_past_the_total_drops_and_counts() {
        static META: crate::Metadata = crate::Metadata::new(
            crate::Level::Info,
            "queue",
            "trail::writer",
            file!(),
            line!(),
            "",
            &["n"],
            &[],
        );
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
