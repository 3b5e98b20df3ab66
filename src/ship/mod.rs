//! Shipping a stream into NATS JetStream, each record exactly once (feature `ship`).
//!
//! The shipper reads the stream's files with the reader (sealed and active segments, any
//! format, compressed or not) and publishes one message per record on the subject
//! `SUBJECT.<stream id>`:
//!
//! - the body is the record's canonical JSON line, without its newline;
//! - the headers `Trail-Stream-Id`, `Trail-Seq`, `Trail-Level`, `Trail-Service` and
//!   `Trail-Host` say where it comes from, and `Nats-Msg-Id` is `<stream id>-<seq>`.
//!
//! # Exactly once
//!
//! Each source gets a JetStream stream of its own (`NAME_<stream id>`), so the server
//! sequence every next message will take is known before any answer comes back. Every
//! message carries `Nats-Expected-Last-Sequence` naming its predecessor's sequence, and up
//! to 1,024 are in flight: one that is lost makes every later one name a predecessor that is
//! not the stream's last, so they are refused whenever they arrive, and nothing is stored
//! out of order. So only one message in 64 (and the last one sent before a wait) asks for
//! an answer; the others go out as plain NATS publishes on the stream's subject, which the
//! server stores or refuses alike, silently. An answer "stored at the sequence foreseen"
//! proves every message before it stored, in order. A JetStream stream `NAME` that
//! already takes the source's subject is used as it is, one message at a time, each
//! answered, guarded by `Nats-Expected-Last-Subject-Sequence`. After any answer other than
//! "stored" where foreseen, the shipper waits for the other answers, asks the server where
//! the source stands, passes over what it holds and sends the rest again; the message id
//! and the duplicate window are a second guard. The checkpoint file
//! (`NAME.ship-JETSTREAM.json` beside the manifest, replaced atomically) advances only to
//! acknowledged records and only saves re-reading: it never decides what is sent.
//!
//! A thread of its own reads, decodes and encodes the records, a bounded channel ahead of
//! the task that publishes, which makes each record's headers and sends it.
//!
//! The JetStream stream must keep each source's newest message (the one this module
//! creates has no limits); a source whose messages were all removed is shipped again
//! from its first record.
//!
//! ```no_run
//! let mut options = trail::ship::ShipOptions::new("logs", "nats://127.0.0.1:4222");
//! options.follow = false;
//! let summary = trail::ship::ship(&options)?;
//! println!("{} records shipped", summary.shipped);
//! # Ok::<(), trail::ship::ShipError>(())
//! ```
//!
//! The file passes 800 lines because the shipping loop, its repair after a refused publish
//! and the options it takes read best together; the connection, the checkpoint, progress
//! and the backlog check are in rooms of their own.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::identity::{self, StreamIdentity};
use crate::read::{Checkpoint, Reader};
use crate::Level;

mod background;
mod backlog;
mod checkpoint;
mod jetstream;
mod prepare;
mod progress;

pub(crate) use background::Background;

use jetstream::{Layout, NotSent, Pending, Position, Published, Server};
pub use jetstream::{HEADER_HOST, HEADER_LEVEL, HEADER_SEQ, HEADER_SERVICE, HEADER_STREAM_ID};
use prepare::{Item, Prepared, Preparer};
pub use progress::{Progress, ProgressSnapshot};

/// The NATS client and the runtime this module is built on, re-exported for the
/// workspace's own shipping tests, which read records back from JetStream with the same
/// client: so a build without the feature `ship` compiles neither. Not part of the API.
#[doc(hidden)]
pub mod __deps {
    pub use async_nats;
    pub use tokio;
}

/// What to ship, where to, and how.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ShipOptions {
    /// The stream's directory.
    pub dir: PathBuf,
    /// The stream's name; `None` when the directory holds one stream only.
    pub name: Option<String>,
    /// The NATS server, such as `nats://127.0.0.1:4222`, or several servers of one cluster
    /// separated by commas (`nats://a:4222,nats://b:4222`): the client moves to another
    /// when the one it uses goes away.
    pub url: String,
    /// The subject prefix: records go to `SUBJECT.<stream id>`. Default `trail`.
    pub subject: String,
    /// The JetStream stream, created with subjects `SUBJECT.>` when missing. Default `TRAIL`.
    pub jetstream_stream: String,
    /// The duplicate window of a JetStream stream created here. Default two minutes.
    pub duplicate_window: Duration,
    /// How many servers of a cluster keep a copy of each message, for a JetStream stream
    /// created here (1 to 5). Default 1.
    pub replicas: usize,
    /// Keep shipping as the stream grows, until `stop` is set.
    pub follow: bool,
    /// Set to end following, after what was read so far is acknowledged; while the
    /// server does not answer, setting it ends shipping with an error at once.
    pub stop: Arc<AtomicBool>,
    /// How often a follower looks for new records. Default 100 ms.
    pub poll: Duration,
    /// The checkpoint file; default `NAME.ship-JETSTREAM.json` in the stream's directory.
    pub checkpoint: Option<PathBuf>,
    /// A NATS credentials file (JWT and seed).
    pub credentials: Option<PathBuf>,
    /// A user name and password.
    pub user_password: Option<(String, String)>,
    /// An authentication token.
    pub token: Option<String>,
    /// A PEM file of root certificates; TLS is then required.
    pub tls_ca: Option<PathBuf>,
    /// Counters kept up to date while shipping, such as for a progress display.
    pub progress: Option<Arc<Progress>>,
    /// The writer's retention by count (`Builder::keep_segments`): the shipper warns on
    /// standard error when the segments not shipped yet near it. `Builder::ship` fills
    /// in the writer's own settings.
    pub keep_segments: Option<usize>,
    /// The writer's retention by size (`Builder::keep_bytes`), for the same warning.
    pub keep_bytes: Option<u64>,
    /// The writer's retention by age (`Builder::keep_age`), for the same warning.
    pub keep_age: Option<Duration>,
    /// For a shipper that keeps trying after `stop` until a deadline: set at the deadline.
    /// Without it, `stop` ends the wait for an unanswering server at once.
    pub(crate) abandon: Option<Arc<AtomicBool>>,
}

impl ShipOptions {
    /// Options for shipping the stream in `dir` to the server at `url`, with the defaults.
    pub fn new(dir: impl Into<PathBuf>, url: impl Into<String>) -> ShipOptions {
        ShipOptions {
            dir: dir.into(),
            name: None,
            url: url.into(),
            subject: "trail".to_owned(),
            jetstream_stream: "TRAIL".to_owned(),
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
            follow: false,
            stop: Arc::new(AtomicBool::new(false)),
            poll: Duration::from_millis(100),
            checkpoint: None,
            credentials: None,
            user_password: None,
            token: None,
            tls_ca: None,
            progress: None,
            keep_segments: None,
            keep_bytes: None,
            keep_age: None,
            abandon: None,
        }
    }

    /// Whether waiting for an unanswering server must end now.
    fn giving_up(&self) -> bool {
        match &self.abandon {
            Some(abandon) => abandon.load(Ordering::Relaxed),
            None => self.stop.load(Ordering::Relaxed),
        }
    }
}

/// What a shipping run did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Where the records came from.
    pub identity: StreamIdentity,
    /// Records published and acknowledged by this run.
    pub shipped: u64,
    /// Records passed over because the server already held them.
    pub already_there: u64,
    /// Damaged records, and records larger than the server accepts, reported and not
    /// shipped (their `seq` is missing downstream).
    pub damaged: u64,
    /// Records never found to ship: `seq` values skipped between the server's last record
    /// and the next one in the files (deleted by retention before they were shipped, or
    /// damaged). Each gap is reported on standard error.
    pub missing: u64,
    /// The `seq` of this source's last record on the server.
    pub last_seq: Option<u64>,
}

/// Where shipping stands, for `trail ship --status`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The stream's identity.
    pub identity: StreamIdentity,
    /// The saved checkpoint, if any.
    pub checkpoint: Option<Checkpoint>,
    /// The `seq` of this source's last record on the server.
    pub server_last_seq: Option<u64>,
    /// Messages in the JetStream stream, all sources together.
    pub server_messages: u64,
    /// The `seq` of the last record in the local files.
    pub local_last_seq: Option<u64>,
    /// Records in the local files that the server does not hold yet.
    pub lag_records: u64,
    /// How much older the oldest record not shipped yet is than the newest record (zero
    /// when everything is shipped).
    pub lag: Duration,
}

/// What kind of failure a [`ShipError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShipErrorKind {
    /// The server could not be reached.
    Unreachable,
    /// The server refused the credentials.
    Auth,
    /// A setting, or the JetStream stream's configuration, does not fit.
    Config,
    /// The server answered with an error.
    Server,
    /// The local files could not be read or written.
    Local,
}

/// A failure that ends shipping, saying what and where.
#[derive(Debug)]
pub struct ShipError {
    kind: ShipErrorKind,
    detail: String,
}

impl ShipError {
    fn new(kind: ShipErrorKind, detail: String) -> ShipError {
        ShipError { kind, detail }
    }

    fn local(what: &str, path: &Path, e: impl fmt::Display) -> ShipError {
        ShipError::new(
            ShipErrorKind::Local,
            format!("cannot {what} {}: {e}", path.display()),
        )
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ShipErrorKind {
        self.kind
    }
}

impl fmt::Display for ShipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ShipError {}

/// Ships the stream: everything present, or with `follow` everything until `stop` is set.
/// Returns once all of it is acknowledged by the server.
pub fn ship(options: &ShipOptions) -> Result<Summary, ShipError> {
    runtime()?.block_on(async {
        let mut run = Run::start(options).await?;
        run.ship().await
    })
}

/// Reports where shipping stands, locally and on the server.
pub fn status(options: &ShipOptions) -> Result<Status, ShipError> {
    runtime()?.block_on(async {
        let mut run = Run::start(options).await?;
        let server_messages = run
            .server
            .messages()
            .await
            .map_err(|e| ShipError::new(ShipErrorKind::Server, e))?;
        let checkpoint = run.saved_checkpoint()?;
        let mut local_last_seq = checkpoint.as_ref().map(|c| c.seq);
        let mut reader = run.open_reader()?;
        if let Some(cp) = &checkpoint {
            reader = reader.resume(cp);
        }
        let shipped = run.position.map_or(0, |p| p.seq);
        let (mut oldest_unshipped, mut newest_ts) = (None, 0);
        for record in reader.flatten() {
            local_last_seq = Some(record.seq);
            newest_ts = record.ts;
            if record.seq > shipped {
                oldest_unshipped.get_or_insert(record.ts);
            }
        }
        let lag_records = local_last_seq.unwrap_or(0).saturating_sub(shipped);
        let lag = oldest_unshipped.map_or(Duration::ZERO, |ts| {
            Duration::from_nanos(newest_ts.saturating_sub(ts))
        });
        Ok(Status {
            identity: run.identity.clone(),
            checkpoint,
            server_last_seq: run.position.map(|p| p.seq),
            server_messages,
            local_last_seq,
            lag_records,
            lag,
        })
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ShipError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ShipError::new(ShipErrorKind::Local, format!("cannot start: {e}")))
}

/// Messages in flight at once in the per-source layout: enough to keep the connection
/// busy while the oldest answer travels back, and while the server or this thread waits
/// for a core on a busy machine (the client allows 5,000).
const WINDOW: usize = 1024;

/// In the per-source layout, at most this many messages in a row go without a reply
/// subject: the answer to the next settles them all (see [`Run::transmit`]).
const ANSWER_EVERY: usize = 64;

/// Whether the record at `index` of a run of records sent in a row, whose last is at
/// `last`, asks for an answer: every [`ANSWER_EVERY`]th, and the last, so that none waits
/// on an answer that nothing asked for.
fn asks_answer(index: usize, last: usize) -> bool {
    index == last || (index + 1).is_multiple_of(ANSWER_EVERY)
}

/// Where the reader stood after a record: a [`Checkpoint`] whose segment name the
/// records of one segment share, so that keeping one per record costs no copy.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mark {
    segment: Arc<str>,
    offset: u64,
    seq: u64,
}

impl Mark {
    fn of(checkpoint: &Checkpoint) -> Mark {
        Mark {
            segment: Arc::from(checkpoint.segment.as_str()),
            offset: checkpoint.offset,
            seq: checkpoint.seq,
        }
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            segment: self.segment.to_string(),
            offset: self.offset,
            seq: self.seq,
        }
    }
}

/// A record sent and not yet acknowledged, kept until it is, to be sent again if needed.
struct InFlight {
    seq: u64,
    ts: u64,
    level: Level,
    body: bytes::Bytes,
    /// Where the reader stood after this record (or after the records that followed it
    /// and need no answer): saved once the record is acknowledged.
    mark: Option<Mark>,
    /// The sequence of the JetStream stream this record takes if stored (per-source
    /// layout): one more than the guard it was sent with.
    sequence: u64,
    answer: Answer,
}

/// What tells whether a record sent was stored.
enum Answer {
    /// The server's answer to this message, to come.
    Due(Pending),
    /// Sent without a reply subject: stored if and only if the next message of the
    /// window that has an answer is stored at the sequence foretold for it.
    Implied,
    /// Not sent, or its answer was already taken: ask the server.
    Unknown,
}

/// One shipping run: the source, the server, and where the source stands there.
struct Run<'a> {
    options: &'a ShipOptions,
    name: String,
    identity: StreamIdentity,
    checkpoint_path: PathBuf,
    server: Server,
    /// This source's last message on the server, as last seen.
    position: Option<Position>,
    /// The last record the server refused for good, passed over.
    refused: Option<u64>,
    /// Records sent and not yet acknowledged, oldest first.
    window: std::collections::VecDeque<InFlight>,
    /// How many records may be in flight at once.
    window_size: usize,
    /// The server sequence the last message sent gets if stored (per-source layout).
    tail: u64,
    /// The `seq` of the last record sent.
    last_sent: Option<u64>,
    /// Where the reader stood after the last acknowledged record.
    acked: Option<Mark>,
    /// Makes a record's headers each time it is sent.
    headers: jetstream::Headers,
    summary_shipped: u64,
    summary_already: u64,
    summary_damaged: u64,
    summary_missing: u64,
    reported: HashSet<(PathBuf, u64)>,
    last_complaint: Option<Instant>,
    /// When the newest record and the retention backlog were last looked at.
    last_look: Option<Instant>,
    last_backlog_check: Option<Instant>,
}

impl<'a> Run<'a> {
    async fn start(options: &'a ShipOptions) -> Result<Run<'a>, ShipError> {
        let name = stream_name(options)?;
        let identity = match identity::load(&options.dir, &name) {
            Ok(Some(found)) => found,
            Ok(None) => {
                identity::load_or_create(&options.dir, &name, &name, &identity::host_name(), 0o640)
                    .map_err(|e| {
                        ShipError::local(
                            "make the stream identity",
                            &identity::path(&options.dir, &name),
                            e,
                        )
                    })?
            }
            Err(e) => {
                return Err(ShipError::local(
                    "read the stream identity",
                    &identity::path(&options.dir, &name),
                    e,
                ))
            }
        };
        let checkpoint_path = options.checkpoint.clone().unwrap_or_else(|| {
            checkpoint::default_path(&options.dir, &name, &options.jetstream_stream)
        });
        let client = jetstream::connect(options).await?;
        let server = Server::open(client, options, &identity.stream_id).await?;
        let window_size = match server.layout {
            Layout::PerSource => WINDOW,
            Layout::Shared => 1,
        };
        let position = server
            .last()
            .await
            .map_err(|e| ShipError::new(ShipErrorKind::Server, e))?;
        let headers = jetstream::Headers::new(&identity);
        Ok(Run {
            options,
            name,
            identity,
            checkpoint_path,
            server,
            position,
            refused: None,
            window: std::collections::VecDeque::new(),
            window_size,
            tail: position.map_or(0, |p| p.stream_sequence),
            last_sent: None,
            acked: None,
            headers,
            summary_shipped: 0,
            summary_already: 0,
            summary_damaged: 0,
            summary_missing: 0,
            reported: HashSet::new(),
            last_complaint: None,
            last_look: None,
            last_backlog_check: None,
        })
    }

    fn saved_checkpoint(&self) -> Result<Option<Checkpoint>, ShipError> {
        checkpoint::load(&self.checkpoint_path, &self.identity.stream_id)
            .map_err(|e| ShipError::local("read the checkpoint", &self.checkpoint_path, e))
    }

    fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), ShipError> {
        checkpoint::save(&self.checkpoint_path, &self.identity.stream_id, checkpoint)
            .map_err(|e| ShipError::local("write the checkpoint", &self.checkpoint_path, e))
    }

    fn open_reader(&self) -> Result<Reader, ShipError> {
        crate::read::open_stream(&self.options.dir, &self.name)
            .map_err(|e| ShipError::new(ShipErrorKind::Local, e.to_string()))
    }

    /// Starts reading from `resume` (the start of the stream if `None`) on a thread of
    /// its own.
    fn prepare(&self, resume: Option<Checkpoint>) -> Result<Preparer, ShipError> {
        Preparer::start(prepare::Job {
            dir: self.options.dir.clone(),
            name: self.name.clone(),
            resume,
            follow: self.options.follow,
            stop: self.options.stop.clone(),
            poll: self.options.poll,
        })
    }

    async fn ship(&mut self) -> Result<Summary, ShipError> {
        // A checkpoint past what the server holds (the server lost messages, or the
        // JetStream stream is new) is of no use: read from the start.
        let resume = self
            .saved_checkpoint()?
            .filter(|cp| self.position.is_some_and(|p| cp.seq <= p.seq));
        let mut saved = resume.as_ref().map(Mark::of);
        let mut last_save = Instant::now();
        if let (Some(progress), Some(p)) = (&self.options.progress, self.position) {
            progress.at(p.seq, None);
        }
        let mut reading = saved.as_ref().map(|m| m.segment.clone());
        self.look(reading.as_deref()).await;
        let mut preparer = self.prepare(resume)?;
        // The last incomplete record of the latest pass, reported if it is still there at
        // the end.
        let mut torn = None;
        'batches: loop {
            if self
                .last_look
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
            {
                self.look(reading.as_deref()).await;
            }
            if last_save.elapsed() >= Duration::from_millis(500) {
                if self.acked.is_some() && self.acked != saved {
                    if let Some(mark) = &self.acked {
                        self.save_checkpoint(&mark.checkpoint())?;
                    }
                    saved = self.acked.clone();
                }
                last_save = Instant::now();
            }
            let batch = match preparer.ready()? {
                Some(batch) => batch,
                // Nothing read yet: take the oldest answer meanwhile, so that what is
                // acknowledged shows while the stream is quiet.
                None if !self.window.is_empty() => {
                    if self.settle_front().await? {
                        preparer = self.rewind(preparer)?;
                        torn = None;
                    }
                    continue;
                }
                None => preparer.next().await?,
            };
            // A batch's records are a run: its last record asks for an answer.
            let last_record = batch.iter().rposition(|i| matches!(i, Item::Record(_)));
            for (index, item) in batch.into_iter().enumerate() {
                match item {
                    Item::Record(record) => {
                        let next = self
                            .position
                            .map(|p| p.seq)
                            .max(self.last_sent)
                            .max(self.refused)
                            .map_or(1, |s| s + 1);
                        if record.seq < next {
                            self.summary_already += 1;
                            continue;
                        }
                        if record.seq > next {
                            self.summary_missing += record.seq - next;
                            eprintln!(
                                "trail ship: seq {next}..={} are not in the files (deleted before they were shipped, or damaged): never shipped",
                                record.seq - 1
                            );
                        }
                        if reading.as_ref() != Some(&record.mark.segment) {
                            reading = Some(record.mark.segment.clone());
                        }
                        let reply = last_record.is_some_and(|last| asks_answer(index, last));
                        if self.offer(record, reply).await? {
                            preparer = self.rewind(preparer)?;
                            torn = None;
                            continue 'batches;
                        }
                    }
                    Item::Damaged(e) => self.damaged(e),
                    Item::Torn(e) => torn = Some(e),
                    Item::PassEnd { mark, last: false } => {
                        torn = None;
                        // The records read after the last one sent need no answer (the
                        // server holds them, or they are damaged): the reader's place
                        // is saved once what was sent before it is acknowledged.
                        if mark.is_some() {
                            match self.window.back_mut() {
                                Some(flight) => flight.mark = mark,
                                None => self.acked = mark,
                            }
                        }
                    }
                    Item::PassEnd { mark, last: true } => {
                        // Everything read is acknowledged before the checkpoint moves to
                        // the end.
                        if self.settle_all().await? {
                            preparer = self.rewind(preparer)?;
                            torn = None;
                            continue 'batches;
                        }
                        if mark.is_some()
                            && mark != saved
                            && let Some(mark) = &mark
                        {
                            self.save_checkpoint(&mark.checkpoint())?;
                        }
                        if let Some(e) = torn.take() {
                            self.damaged(e);
                        }
                        return Ok(Summary {
                            identity: self.identity.clone(),
                            shipped: self.summary_shipped,
                            already_there: self.summary_already,
                            damaged: self.summary_damaged,
                            missing: self.summary_missing,
                            last_seq: self.position.map(|p| p.seq),
                        });
                    }
                    Item::Failed(e) => return Err(e),
                }
            }
        }
    }

    /// The server holds less than it acknowledged: ends the reading under way and reads
    /// again from the start.
    fn rewind(&self, preparer: Preparer) -> Result<Preparer, ShipError> {
        drop(preparer);
        self.prepare(None)
    }

    /// Sends one record, first waiting for the oldest answer when the window is full;
    /// with `reply`, the server is asked to answer it (see [`Run::transmit`]).
    /// `Ok(true)`: the server holds less than it acknowledged; read again from the start.
    async fn offer(&mut self, record: Prepared, reply: bool) -> Result<bool, ShipError> {
        while self.window.len() >= self.window_size {
            if self.settle_front().await? {
                return Ok(true);
            }
        }
        // A repair while waiting may have found this record on the server already (sent
        // by another shipper of the stream): sending it now would store it again.
        if self.position.is_some_and(|p| p.seq >= record.seq) {
            self.summary_already += 1;
            return Ok(false);
        }
        let seq = record.seq;
        self.window.push_back(InFlight {
            seq,
            ts: record.ts,
            level: record.level,
            body: record.body,
            mark: Some(record.mark),
            sequence: 0,
            answer: Answer::Unknown,
        });
        self.last_sent = Some(seq);
        match self.transmit(self.window.len() - 1, reply).await {
            Ok(()) => Ok(false),
            Err(NotSent::TooLarge(why)) => {
                eprintln!(
                    "trail ship: seq {seq} is larger than the server accepts ({why}): not shipped"
                );
                self.window.pop_back();
                self.refused = Some(seq);
                self.summary_damaged += 1;
                Ok(false)
            }
            Err(NotSent::Unsure(why)) => {
                self.complain(&format!(
                    "publishing seq {seq} to {}: {why}; retrying",
                    self.server.subject
                ));
                self.repair().await
            }
        }
    }

    /// Sends the record at `index` of the window, guarded by the server sequence that
    /// its predecessor gets: in the per-source layout the one before it in the window
    /// (each message stored takes the next sequence of this source's stream), in the
    /// shared layout this source's last acknowledged message (nothing else is in flight).
    ///
    /// In the per-source layout only the messages sent with `reply` are answered; the
    /// others are known stored once a later answer says "stored" at the sequence
    /// foretold for it, since each message is stored only after its predecessor. Not
    /// asking for an answer spares the server an acknowledgement and the client an
    /// inbox, a timer and the parsing of the answer, for most messages.
    async fn transmit(&mut self, index: usize, reply: bool) -> Result<(), NotSent> {
        let after = match self.server.layout {
            Layout::PerSource => self.tail,
            Layout::Shared => self.position.map_or(0, |p| p.stream_sequence),
        };
        self.send_record(index, after, reply).await?;
        self.tail = after + 1;
        Ok(())
    }

    /// Sends (or sends again) the record at `index` of the window, guarded by `after`.
    async fn send_record(&mut self, index: usize, after: u64, reply: bool) -> Result<(), NotSent> {
        let reply = reply || self.server.layout == Layout::Shared;
        let flight = &self.window[index];
        let headers = self.headers.of(flight.seq, flight.level);
        let pending = self
            .server
            .send(after, headers, flight.body.clone(), reply)
            .await?;
        let flight = &mut self.window[index];
        flight.sequence = after + 1;
        flight.answer = match pending {
            Some(pending) => Answer::Due(pending),
            None => Answer::Implied,
        };
        Ok(())
    }

    /// Waits for the oldest answer, which settles every record sent before it too.
    /// `Ok(true)`: read again from the start.
    async fn settle_front(&mut self) -> Result<bool, ShipError> {
        if self.window.is_empty() {
            return Ok(false);
        }
        let index = match self
            .window
            .iter()
            .position(|f| !matches!(f.answer, Answer::Implied))
        {
            Some(index) => index,
            None => {
                // The message meant to carry the answer was not sent (too large, or
                // found on the server already): send the last one again, asking for an
                // answer. The copy has the same guard and message id, so the server
                // stores at most one of the two, and answers for either.
                let last = self.window.len() - 1;
                let after = self.window[last].sequence - 1;
                if let Err(NotSent::TooLarge(why) | NotSent::Unsure(why)) =
                    self.send_record(last, after, true).await
                {
                    self.complain(&format!(
                        "publishing seq {} to {}: {why}; retrying",
                        self.window[last].seq, self.server.subject
                    ));
                    return self.repair().await;
                }
                last
            }
        };
        let answer = match std::mem::replace(&mut self.window[index].answer, Answer::Unknown) {
            Answer::Due(pending) => jetstream::answer(pending).await,
            Answer::Implied | Answer::Unknown => Published::Unsure("not sent".to_owned()),
        };
        let (seq, foretold) = (self.window[index].seq, self.window[index].sequence);
        let stored_at = match answer {
            // In a stream of its own, a message stored at the sequence foretold (or whose
            // copy was) proves the chain before it stored, each message once, in order.
            Published::Stored { sequence, .. }
                if self.server.layout == Layout::PerSource && sequence == foretold =>
            {
                Ok(sequence)
            }
            // In the shared layout, a duplicate names a copy stored earlier, which may
            // not be this source's last message.
            Published::Stored {
                sequence,
                duplicate: false,
            } if self.server.layout == Layout::Shared => Ok(sequence),
            Published::Stored {
                sequence,
                duplicate,
            } => Err(format!(
                "{} at sequence {sequence}, where {foretold} was foreseen",
                if duplicate {
                    "a copy was stored"
                } else {
                    "stored"
                }
            )),
            Published::Unsure(why) => Err(why),
        };
        match stored_at {
            Ok(stream_sequence) => {
                self.position = Some(Position {
                    stream_sequence,
                    seq,
                });
                for _ in 0..=index {
                    if let Some(flight) = self.window.pop_front() {
                        self.acknowledged(flight);
                    }
                }
                Ok(false)
            }
            Err(why) => {
                self.complain(&format!(
                    "publishing seq {seq} to {}: {why}; retrying",
                    self.server.subject
                ));
                self.repair().await
            }
        }
    }

    /// Waits for every answer. `Ok(true)`: read again from the start.
    async fn settle_all(&mut self) -> Result<bool, ShipError> {
        while !self.window.is_empty() {
            if self.settle_front().await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn acknowledged(&mut self, flight: InFlight) {
        self.summary_shipped += 1;
        if let Some(progress) = &self.options.progress {
            progress.shipped(flight.seq, flight.ts, flight.body.len());
        }
        if flight.mark.is_some() {
            self.acked = flight.mark;
        }
    }

    /// After an answer that is not a plain "stored" (a timeout, a lost connection, a
    /// refusal by the guard): waits for every other answer, asks the server where this
    /// source stands, passes over what it holds and sends the rest again, in order.
    /// Anything sent before can still arrive late, but its guard names a predecessor the
    /// server no longer ends with, so it is refused. `Ok(true)`: the server holds less
    /// than it acknowledged; read again from the start.
    async fn repair(&mut self) -> Result<bool, ShipError> {
        let mut pause = Duration::from_millis(20);
        'again: loop {
            // Each answer waits on its own clock once awaited: one deadline for all of
            // them keeps a dead connection from costing a timeout per message.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            for flight in &mut self.window {
                if let Answer::Due(pending) = std::mem::replace(&mut flight.answer, Answer::Unknown)
                {
                    let _ = tokio::time::timeout_at(deadline, jetstream::answer(pending)).await;
                }
            }
            let before = self.position.map(|p| p.seq);
            let now = loop {
                if self.options.giving_up() {
                    let first = self.window.front().map_or(0, |f| f.seq);
                    return Err(ShipError::new(
                        ShipErrorKind::Unreachable,
                        format!(
                            "stopped while seq {first} was not acknowledged by {}",
                            self.options.url
                        ),
                    ));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                // The stream's end first, then this source's last message: a message
                // stored in between makes the end too old, and the next send is refused
                // and repaired again, never stored twice.
                let end = match self.server.layout {
                    Layout::PerSource => self.server.last_sequence().await,
                    Layout::Shared => Ok(0),
                };
                match (end, self.server.last().await) {
                    (Ok(end), Ok(now)) => break (end, now),
                    (Err(e), _) | (_, Err(e)) => self.complain(&format!("{e}; retrying")),
                }
            };
            let (end, now) = now;
            self.position = now;
            self.tail = now.map_or(0, |p| p.stream_sequence).max(end);
            let now_seq = now.map(|p| p.seq);
            if now_seq < before {
                self.complain(&format!(
                    "{} holds this source up to seq {now_seq:?}, after acknowledging seq {before:?}: shipping again from there",
                    self.options.jetstream_stream
                ));
                self.window.clear();
                self.last_sent = now_seq;
                self.acked = None;
                return Ok(true);
            }
            while self.window.front().is_some_and(|f| Some(f.seq) <= now_seq) {
                if let Some(flight) = self.window.pop_front() {
                    self.acknowledged(flight);
                }
            }
            // Another shipper of this stream may be further on.
            self.last_sent = self.last_sent.max(now_seq);
            let count = self.window.len();
            for index in 0..count {
                match self.transmit(index, asks_answer(index, count - 1)).await {
                    Ok(()) => {}
                    Err(NotSent::TooLarge(why)) | Err(NotSent::Unsure(why)) => {
                        self.complain(&format!(
                            "publishing seq {} to {}: {why}; retrying",
                            self.window[index].seq, self.server.subject
                        ));
                        continue 'again;
                    }
                }
            }
            return Ok(false);
        }
    }

    /// Once a second: notes the newest record in the files for the progress counters, and
    /// every few seconds warns when retention nears the segments not shipped yet.
    async fn look(&mut self, reading: Option<&str>) {
        self.last_look = Some(Instant::now());
        if let Some(progress) = &self.options.progress {
            let newest = self
                .open_reader()
                .ok()
                .and_then(|r| r.last(1).flatten().last());
            if let Some(newest) = newest {
                progress.newest(newest.seq, newest.ts);
            }
        }
        if self
            .last_backlog_check
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(30))
            && let Some(warning) = backlog::warning(self.options, &self.name, reading)
        {
            self.last_backlog_check = Some(Instant::now());
            eprintln!("trail ship: {warning}");
        }
    }

    fn damaged(&mut self, e: crate::read::ReadError) {
        let here = (e.path().to_owned(), e.offset().unwrap_or(0));
        if self.reported.insert(here) {
            self.summary_damaged += 1;
            eprintln!("trail ship: {e}: not shipped");
        }
    }

    /// Reports a passing trouble on standard error, at most once every five seconds.
    fn complain(&mut self, what: &str) {
        if self
            .last_complaint
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
        {
            self.last_complaint = Some(Instant::now());
            eprintln!("trail ship: {what}");
        }
    }
}

fn stream_name(options: &ShipOptions) -> Result<String, ShipError> {
    if let Some(name) = &options.name {
        return Ok(name.clone());
    }
    let dir = &options.dir;
    let names = crate::format::segment_name::streams(dir)
        .map_err(|e| ShipError::local("list the streams in", dir, e))?;
    match names.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ShipError::new(
            ShipErrorKind::Config,
            format!(
                "{}: no trail segments in this directory; name the stream to ship",
                dir.display()
            ),
        )),
        many => Err(ShipError::new(
            ShipErrorKind::Config,
            format!(
                "{}: this directory holds {} streams ({}); name the one to ship",
                dir.display(),
                many.len(),
                many.join(", ")
            ),
        )),
    }
}
