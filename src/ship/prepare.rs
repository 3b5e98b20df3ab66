//! Reading, decoding and encoding on a thread of their own, so that the publishing task
//! only publishes: the records come to it through a bounded channel, each with its
//! canonical JSON body made, in the order of the files.
//!
//! The headers are made by the publishing task, which also frees them once they are
//! written to the connection: memory allocated on one thread and freed on another is
//! slow to allocate again. For the same reason the bodies of a batch share one buffer.
//!
//! The thread follows the stream as the publisher used to: one pass over the files from
//! where the last one ended, then, when following, a pause and another pass, until `stop`
//! is seen at the start of a pass. Each pass ends with a [`Item::PassEnd`] naming where
//! the reader stands. Dropping the [`Preparer`] ends the thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::mpsc;

use super::{Mark, ShipError, ShipErrorKind};
use crate::convert::RecordEncoder;
use crate::read::{Checkpoint, ReadError, ReadErrorKind};
use crate::Level;

/// Records sent through the channel at once: one wake-up of the publisher per batch.
const BATCH: usize = 64;
/// Batches read ahead of the publisher.
const AHEAD: usize = 16;
/// The pause before the next pass when the last one found records: short, so that a
/// follower stays close behind the writer, and still long enough to find many at once.
const BUSY_PAUSE: Duration = Duration::from_millis(5);

/// A record ready to publish.
pub(crate) struct Prepared {
    pub(crate) seq: u64,
    pub(crate) ts: u64,
    pub(crate) level: Level,
    /// The canonical JSON line, without its newline.
    pub(crate) body: bytes::Bytes,
    /// Where the reader stood after this record.
    pub(crate) mark: Mark,
}

/// What the reading thread found, in the order of the files.
pub(crate) enum Item {
    Record(Prepared),
    /// A damaged record, reported and passed over.
    Damaged(ReadError),
    /// An incomplete record at the end of a segment that may still be being written.
    Torn(ReadError),
    /// One pass over the files is over: where the reader stands, and whether it was the
    /// last pass (not following, or `stop` was set when it began).
    PassEnd {
        mark: Option<Mark>,
        last: bool,
    },
    /// The files could not be read; nothing follows.
    Failed(ShipError),
}

/// What the reading thread reads and how.
pub(crate) struct Job {
    pub(crate) dir: PathBuf,
    pub(crate) name: String,
    pub(crate) resume: Option<Checkpoint>,
    pub(crate) follow: bool,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) poll: Duration,
}

/// The reading thread and the channel its batches come through.
pub(crate) struct Preparer {
    batches: mpsc::Receiver<Vec<Item>>,
    thread: Option<JoinHandle<()>>,
}

impl Preparer {
    pub(crate) fn start(job: Job) -> Result<Preparer, ShipError> {
        let (tx, batches) = mpsc::channel(AHEAD);
        let thread = std::thread::Builder::new()
            .name("trail-ship-read".to_owned())
            .spawn(move || read(job, &tx))
            .map_err(|e| {
                ShipError::new(ShipErrorKind::Local, format!("cannot start reading: {e}"))
            })?;
        Ok(Preparer {
            batches,
            thread: Some(thread),
        })
    }

    /// The next batch if one is ready; `Ok(None)` if none is yet.
    pub(crate) fn ready(&mut self) -> Result<Option<Vec<Item>>, ShipError> {
        match self.batches.try_recv() {
            Ok(batch) => Ok(Some(batch)),
            Err(mpsc::error::TryRecvError::Empty) => Ok(None),
            Err(mpsc::error::TryRecvError::Disconnected) => Err(ended()),
        }
    }

    /// The next batch, waiting for it.
    pub(crate) async fn next(&mut self) -> Result<Vec<Item>, ShipError> {
        self.batches.recv().await.ok_or_else(ended)
    }
}

impl Drop for Preparer {
    fn drop(&mut self) {
        // A thread waiting for room in the channel, or pausing between passes, sees the
        // channel closed and returns at once.
        self.batches.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn ended() -> ShipError {
    ShipError::new(
        ShipErrorKind::Local,
        "the thread reading the stream ended unexpectedly".to_owned(),
    )
}

fn read(job: Job, tx: &mpsc::Sender<Vec<Item>>) {
    let mut encoder = RecordEncoder::new(crate::Format::Json);
    let mut resume = job.resume;
    let mut segment: Arc<str> = Arc::from("");
    let mut batch = Vec::with_capacity(BATCH);
    // One line encoded at a time, then copied into the batch's shared buffer.
    let mut line = Vec::new();
    let mut bodies = BytesMut::new();
    loop {
        let last = !job.follow || job.stop.load(Ordering::Relaxed);
        let mut reader = match crate::read::open_stream(&job.dir, &job.name) {
            Ok(reader) => reader,
            Err(e) => {
                batch.push(Item::Failed(ShipError::new(
                    ShipErrorKind::Local,
                    e.to_string(),
                )));
                let _ = tx.blocking_send(batch);
                return;
            }
        };
        if let Some(cp) = &resume {
            reader = reader.resume(cp);
        }
        let mut found = false;
        while let Some(next) = reader.next_ref() {
            let item = match next {
                Ok(record) => {
                    line.clear();
                    encoder.encode(record, &mut line);
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    if bodies.capacity() < line.len() {
                        // Room for about a batch of lines like this one.
                        bodies.reserve(line.len().max(256) * BATCH);
                    }
                    bodies.extend_from_slice(&line);
                    let body = bodies.split().freeze();
                    let (seq, ts, level) = (record.seq, record.ts, record.level);
                    // The reader stands right after this record.
                    let Some(cp) = reader.checkpoint() else {
                        continue;
                    };
                    if *segment != *cp.segment {
                        segment = Arc::from(cp.segment.as_str());
                    }
                    found = true;
                    Item::Record(Prepared {
                        seq,
                        ts,
                        level,
                        body,
                        mark: Mark {
                            segment: segment.clone(),
                            offset: cp.offset,
                            seq: cp.seq,
                        },
                    })
                }
                Err(e) if e.kind() == ReadErrorKind::Torn => Item::Torn(e),
                Err(e) => Item::Damaged(e),
            };
            batch.push(item);
            if batch.len() >= BATCH
                && tx
                    .blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                    .is_err()
            {
                return;
            }
        }
        resume = reader.checkpoint().cloned();
        batch.push(Item::PassEnd {
            mark: resume.as_ref().map(Mark::of),
            last,
        });
        if tx
            .blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
            .is_err()
            || last
        {
            return;
        }
        // Nothing new: wait the poll interval; else look again soon. A stop ends the
        // pause, so that the last pass begins at once.
        let pause = if found {
            BUSY_PAUSE.min(job.poll)
        } else {
            job.poll
        };
        let until = Instant::now() + pause;
        loop {
            let now = Instant::now();
            if now >= until || job.stop.load(Ordering::Relaxed) {
                break;
            }
            if tx.is_closed() {
                return;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(10)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::jetstream;
    use super::*;
    use crate::identity::StreamIdentity;
    use crate::read::{FieldValue, LogRecord};
    use async_nats::HeaderMap;
    use std::path::Path;

    fn record(seq: u64) -> LogRecord {
        LogRecord {
            ts: 1_700_000_000_000_000_000 + seq,
            level: if seq.is_multiple_of(2) {
                Level::Warn
            } else {
                Level::Info
            },
            seq,
            actor: Some(FieldValue::U64(seq % 7)),
            target: "shop".into(),
            msg: format!("order {seq}"),
            fields: vec![("n".into(), FieldValue::U64(seq))],
            file: "src/main.rs".into(),
            line: 4,
            thread: "main".into(),
            span: None,
        }
    }

    /// Writes records `1..=count` as one JSON segment of the stream `app`; returns the
    /// segment's name and each record's line.
    fn write_segment(dir: &Path, count: u64) -> (String, Vec<Vec<u8>>) {
        let name =
            crate::format::segment_name::file_name("app", 1_700_000_000_000_000_000, "jsonl");
        let mut encoder = RecordEncoder::new(crate::Format::Json);
        let (mut file, mut lines) = (Vec::new(), Vec::new());
        for seq in 1..=count {
            let mut line = Vec::new();
            encoder.encode(&record(seq), &mut line);
            file.extend_from_slice(&line);
            lines.push(line);
        }
        std::fs::write(dir.join(&name), file).unwrap();
        (name, lines)
    }

    fn identity() -> StreamIdentity {
        StreamIdentity {
            stream_id: "0123456789abcdef0123456789abcdef".into(),
            service: "shop".into(),
            host: "here".into(),
        }
    }

    fn job(dir: &Path, follow: bool, poll: Duration) -> Job {
        Job {
            dir: dir.to_owned(),
            name: "app".into(),
            resume: None,
            follow,
            stop: Arc::new(AtomicBool::new(false)),
            poll,
        }
    }

    /// The items up to the next end of a pass, and that end's mark and `last`.
    fn pass(
        runtime: &tokio::runtime::Runtime,
        preparer: &mut Preparer,
    ) -> (Vec<Prepared>, Option<Mark>, bool) {
        let mut records = Vec::new();
        loop {
            for item in runtime.block_on(preparer.next()).unwrap() {
                match item {
                    Item::Record(r) => records.push(r),
                    Item::PassEnd { mark, last } => return (records, mark, last),
                    Item::Damaged(e) | Item::Torn(e) => panic!("{e}"),
                    Item::Failed(e) => panic!("{e}"),
                }
            }
        }
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers.get(name).map(|v| v.as_str()).unwrap_or("")
    }

    #[test]
    fn records_come_in_order_with_their_canonical_body_headers_and_place() {
        let dir = tempfile::tempdir().unwrap();
        // More than two batches.
        let (segment, lines) = write_segment(dir.path(), 150);
        let runtime = super::super::runtime().unwrap();
        let mut preparer =
            Preparer::start(job(dir.path(), false, Duration::from_millis(10))).unwrap();
        let (records, mark, last) = pass(&runtime, &mut preparer);
        assert!(last);
        assert_eq!(records.len(), 150);
        // The publishing task makes each record's headers from what the reader gives it.
        let headers = jetstream::Headers::new(&identity());
        let mut offset = 0;
        for (r, line) in records.iter().zip(&lines) {
            let seq = r.seq;
            assert_eq!(&r.body[..], &line[..line.len() - 1], "seq {seq}");
            assert_eq!(r.level, record(seq).level);
            let h = &headers.of(r.seq, r.level);
            assert_eq!(h.len(), 6, "seq {seq}: {h:?}");
            assert_eq!(
                header(h, "Nats-Msg-Id"),
                format!("0123456789abcdef0123456789abcdef-{seq}")
            );
            assert_eq!(header(h, "Trail-Seq"), seq.to_string());
            assert_eq!(header(h, "Trail-Level"), record(seq).level.as_str());
            assert_eq!(
                header(h, "Trail-Stream-Id"),
                "0123456789abcdef0123456789abcdef"
            );
            assert_eq!(header(h, "Trail-Service"), "shop");
            assert_eq!(header(h, "Trail-Host"), "here");
            offset += line.len() as u64;
            assert_eq!(
                (&*r.mark.segment, r.mark.offset, r.mark.seq),
                (segment.as_str(), offset, seq)
            );
        }
        let mark = mark.unwrap();
        assert_eq!((mark.offset, mark.seq), (offset, 150));
    }

    #[test]
    fn dropping_a_follower_ends_its_thread_while_it_waits_for_the_next_pass() {
        let dir = tempfile::tempdir().unwrap();
        write_segment(dir.path(), 3);
        let runtime = super::super::runtime().unwrap();
        let mut preparer = Preparer::start(job(dir.path(), true, Duration::from_secs(60))).unwrap();
        let (records, _, last) = pass(&runtime, &mut preparer);
        assert_eq!((records.len(), last), (3, false));
        // The next pass finds nothing new; the thread then waits a minute.
        let (records, mark, last) = pass(&runtime, &mut preparer);
        assert_eq!((records.len(), last), (0, false));
        assert_eq!(mark.map(|m| m.seq), Some(3));
        let started = Instant::now();
        drop(preparer);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
