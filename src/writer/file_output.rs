//! The file output: records encoded into one reused buffer and appended to the stream's
//! active segment in large writes that hold whole records only. A record that would
//! overflow its segment goes to a new one, encoded again there; a failed write is retried
//! (see `retry`) without ever writing a byte twice; a segment whose file was removed or
//! replaced is left to whoever has it now, and the records go on in a new segment.
//!
//! The output owns its encoder: a binary segment's records refer to call sites and
//! threads defined earlier in the same segment, so encoding follows the segments.

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::retry::{ErrorReporter, FileErrorKind};
use super::{Fsync, Shared};
use crate::encode::Encoder;
use crate::limits::MAX_RECORD_BYTES;
use crate::stream::{PathState, StreamFiles};
use crate::Record;

/// The stream's segment files as the writer's output, with the records encoded but not
/// yet written.
pub(crate) struct FileOutput {
    encoder: Box<dyn Encoder>,
    pub(super) files: StreamFiles,
    pub(super) shared: &'static Shared,
    /// Encoded records (and a segment header) not yet written.
    pub(super) buf: Vec<u8>,
    /// The `seq` range of the records in `buf`.
    pub(super) buffered: Option<(u64, u64)>,
    pub(super) reporter: ErrorReporter,
    fsync: Fsync,
    last_sync: Instant,
    /// The value kinds per segment, for the manifest.
    schema: crate::schema::Collector,
    /// Where in `buf` the last record's bytes begin, for outputs that share them.
    last_record: usize,
    /// The last record as written, when it had to be cut to the record limit. Kept here
    /// rather than returned: a record is large, and returning one per call cost a copy of
    /// it for every record.
    cut: Option<Record>,
}

impl FileOutput {
    /// The output for `files`, whose records `encoder` writes, syncing as `fsync` says.
    pub(crate) fn new(
        encoder: Box<dyn Encoder>,
        files: StreamFiles,
        shared: &'static Shared,
        fsync: Fsync,
        schema: crate::schema::Collector,
    ) -> Self {
        FileOutput {
            encoder,
            files,
            shared,
            buf: Vec::with_capacity(512 * 1024),
            buffered: None,
            reporter: ErrorReporter::new(Duration::from_secs(10)),
            fsync,
            last_sync: Instant::now(),
            schema,
            last_record: 0,
            cut: None,
        }
    }

    /// Puts the first segment's header in the buffer.
    pub(super) fn begin_segment(&mut self) {
        self.encoder.begin_segment(&mut self.buf);
    }

    /// The bytes of the record [`FileOutput::record`] took last (a format whose records
    /// stand alone; a binary record may be preceded by its call site's definition).
    pub(super) fn last_record(&self) -> &[u8] {
        self.buf.get(self.last_record..).unwrap_or_default()
    }

    /// Bytes encoded and not yet written.
    pub(super) fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Whether the active segment's period is over, so that the next records go to a new
    /// one.
    pub(super) fn period_over(&self) -> bool {
        self.files.period_over()
    }

    /// Seals the active segment (or removes it, holding nothing) at shutdown.
    pub(super) fn close(self) {
        self.files.close();
    }

    /// Encodes one record; if it would overflow the segment, it goes to a new one instead,
    /// encoded again there (a format may refer to what its segment already holds).
    /// [`FileOutput::cut_record`] then gives the record as written when it had to be cut
    /// to the record limit.
    #[inline]
    pub(super) fn record(&mut self, record: &Record, seq: u64) {
        let mark = self.buf.len();
        self.encoder.encode(record, seq, &mut self.buf);
        if self.cut.is_some() {
            self.cut = None;
        }
        // What the reader cannot read back is never written: a record past the limit is
        // written again with its largest values cut.
        if self.buf.len() - mark > MAX_RECORD_BYTES {
            self.cut = self.cut_to_limit(record, seq, mark);
        }
        self.last_record = mark;
        let len = (self.buf.len() - mark) as u64;
        if self
            .files
            .overflows(mark as u64, self.buffered.is_some(), len)
        {
            self.move_to_next_segment(record, seq, mark);
        }
        self.buffered = Some((self.buffered.map_or(seq, |(first, _)| first), seq));
        let segment = self.files.generation();
        let written = self.cut.as_ref().unwrap_or(record);
        let told = self.encoder.last_kinds();
        self.schema
            .note(written, segment, told, self.files.schema_mut());
    }

    /// The record [`FileOutput::record`] took last, as written, if it had to be cut.
    pub(super) fn cut_record(&self) -> Option<&Record> {
        self.cut.as_ref()
    }

    /// Moves the record just encoded at `mark` to a new segment, encoded again there; if
    /// none could be started, the first encoding stands, in the segment it was made for.
    #[cold]
    #[inline(never)]
    fn move_to_next_segment(&mut self, record: &Record, seq: u64, mark: usize) {
        let encoded = self.buf.split_off(mark);
        let segment = self.files.generation();
        self.write_out();
        self.rotate();
        self.last_record = self.buf.len();
        if self.files.generation() == segment {
            self.buf.extend_from_slice(&encoded);
        } else {
            let cut = self.cut.take();
            self.encoder
                .encode(cut.as_ref().unwrap_or(record), seq, &mut self.buf);
            self.cut = cut;
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

    /// Seals the segment and opens the next; returns whether a new segment was started.
    /// A segment whose file was found removed or replaced is not sealed: a new one takes
    /// its place. On failure it reports, counts, and carries on in the current segment, so
    /// that nothing is lost.
    pub(super) fn rotate(&mut self) -> bool {
        if !self.files.owns_stream() {
            return false;
        }
        let lost = self.files.segment_path_state();
        if lost != PathState::Ours {
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
                    self.io_error(FileErrorKind::Write, |_| {
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
                self.io_error(FileErrorKind::Rotate, |files| {
                    format!(
                        "cannot rotate: {e}; writing on in {}",
                        files.path().display()
                    )
                });
                false
            }
        }
    }

    /// Counts an I/O error and reports it, the message made (from the stream's files)
    /// only when the reporter shows it.
    #[cold]
    fn io_error(&mut self, kind: FileErrorKind, message: impl FnOnce(&StreamFiles) -> String) {
        self.shared
            .counters
            .io_errors
            .fetch_add(1, Ordering::Relaxed);
        let files = &self.files;
        self.reporter.report(kind, || message(files));
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
    pub(super) fn buffered_records(&self) -> u64 {
        self.buffered.map_or(0, |(first, last)| last - first + 1)
    }

    /// Appends the buffer to the active segment, retrying failed writes. Bytes already
    /// written are never written twice, so a record interrupted by an error is completed,
    /// not repeated. Before the buffer's first byte goes out, the segment's path is checked
    /// to still lead to its file (see [`FileOutput::follow_segment`]).
    pub(super) fn write_out(&mut self) {
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
            if done == 0
                && let Err(e) = self.follow_segment()
            {
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
        match self.files.segment_path_state() {
            PathState::Ours => Ok(()),
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
    fn lost_segment(&mut self, lost: PathState) -> Result<(), crate::Error> {
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
    fn notice_loss(&mut self, lost: PathState) {
        if !self.files.first_notice() {
            return;
        }
        self.io_error(FileErrorKind::LostSegment, |files| {
            let what = match lost {
                PathState::Replaced => "was replaced by another file, which is left as it is",
                _ => "is gone (removed or renamed, alone or with its directory)",
            };
            format!(
                "{} {what}: what was written to it is no longer in the stream; \
                 writing on in a new segment",
                files.path().display(),
            )
        });
    }

    /// Syncs the active segment to the disk, as the [`Fsync`] policy asks.
    fn sync(&mut self) {
        if let Err(e) = self.files.file().sync_data() {
            self.io_error(FileErrorKind::Write, |files| {
                format!("cannot sync {}: {e}", files.path().display())
            });
        }
        self.shared.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.last_sync = Instant::now();
    }
}
