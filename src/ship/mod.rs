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
//! Records are published one at a time, in `seq` order, each with the header
//! `Nats-Expected-Last-Subject-Sequence` naming the server's sequence of this source's
//! previous message: the server stores a message only right after the one the shipper
//! last saw stored, so a copy that arrives late (after a reconnection, from a killed
//! shipper, from a second shipper of the same stream) is refused whatever the timing.
//! At start and after every publish whose outcome is unknown, the shipper asks the
//! server for the last message on its subject and goes on after that record's `seq`;
//! the message id and the duplicate window are a second guard. The checkpoint file
//! (`NAME.ship-JETSTREAM.json` beside the manifest, replaced atomically) advances only
//! after acknowledgements and only saves re-reading: it never decides what is sent.
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

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;

use crate::convert::RecordEncoder;
use crate::identity::{self, StreamIdentity};
use crate::read::{Checkpoint, LogRecord, ReadErrorKind, Reader};

mod background;
mod checkpoint;
mod jetstream;

pub(crate) use background::Background;

use jetstream::{Position, Published, Server};
pub use jetstream::{HEADER_HOST, HEADER_LEVEL, HEADER_SEQ, HEADER_SERVICE, HEADER_STREAM_ID};

/// What to ship, where to, and how.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ShipOptions {
    /// The stream's directory.
    pub dir: PathBuf,
    /// The stream's name; `None` when the directory holds one stream only.
    pub name: Option<String>,
    /// The NATS server, such as `nats://127.0.0.1:4222`.
    pub url: String,
    /// The subject prefix: records go to `SUBJECT.<stream id>`. Default `trail`.
    pub subject: String,
    /// The JetStream stream, created with subjects `SUBJECT.>` when missing. Default `TRAIL`.
    pub jetstream_stream: String,
    /// The duplicate window of a JetStream stream created here. Default two minutes.
    pub duplicate_window: Duration,
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
            follow: false,
            stop: Arc::new(AtomicBool::new(false)),
            poll: Duration::from_millis(100),
            checkpoint: None,
            credentials: None,
            user_password: None,
            token: None,
            tls_ca: None,
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
        for record in reader.flatten() {
            local_last_seq = Some(record.seq);
        }
        Ok(Status {
            identity: run.identity.clone(),
            checkpoint,
            server_last_seq: run.position.map(|p| p.seq),
            server_messages,
            local_last_seq,
        })
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ShipError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ShipError::new(ShipErrorKind::Local, format!("cannot start: {e}")))
}

/// What became of one record.
enum Outcome {
    /// The server holds it.
    Shipped,
    /// The server will never take it (too large): reported, and passed over.
    Refused,
    /// The server holds less of this source than it acknowledged: read again.
    Rewind,
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
    encoder: RecordEncoder,
    summary_shipped: u64,
    summary_already: u64,
    summary_damaged: u64,
    summary_missing: u64,
    reported: HashSet<(PathBuf, u64)>,
    last_complaint: Option<Instant>,
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
        let subject = format!("{}.{}", options.subject, identity.stream_id);
        let server = Server::open(client, options, subject).await?;
        let position = server
            .last()
            .await
            .map_err(|e| ShipError::new(ShipErrorKind::Server, e))?;
        Ok(Run {
            options,
            name,
            identity,
            checkpoint_path,
            server,
            position,
            refused: None,
            encoder: RecordEncoder::new(crate::Format::Json),
            summary_shipped: 0,
            summary_already: 0,
            summary_damaged: 0,
            summary_missing: 0,
            reported: HashSet::new(),
            last_complaint: None,
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

    async fn ship(&mut self) -> Result<Summary, ShipError> {
        // A checkpoint past what the server holds (the server lost messages, or the
        // JetStream stream is new) is of no use: read from the start.
        let mut resume = self
            .saved_checkpoint()?
            .filter(|cp| self.position.is_some_and(|p| cp.seq <= p.seq));
        let mut saved = resume.clone();
        let mut last_save = Instant::now();
        loop {
            let stopping = self.options.stop.load(Ordering::Relaxed);
            let mut reader = self.open_reader()?;
            if let Some(cp) = &resume {
                reader = reader.resume(cp);
            }
            let mut torn = None;
            let mut rewind = false;
            while let Some(item) = reader.next() {
                let record = match item {
                    Ok(record) => record,
                    // The end of a segment that may still be being written.
                    Err(e) if e.kind() == ReadErrorKind::Torn => {
                        torn = Some(e);
                        continue;
                    }
                    Err(e) => {
                        self.damaged(e);
                        continue;
                    }
                };
                let next = self
                    .position
                    .map(|p| p.seq)
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
                match self.ship_one(&record).await? {
                    Outcome::Shipped => self.summary_shipped += 1,
                    Outcome::Refused => self.summary_damaged += 1,
                    Outcome::Rewind => {
                        rewind = true;
                        break;
                    }
                }
                if last_save.elapsed() >= Duration::from_millis(500) {
                    if let Some(cp) = reader.checkpoint() {
                        self.save_checkpoint(cp)?;
                        saved = Some(cp.clone());
                    }
                    last_save = Instant::now();
                }
            }
            if rewind {
                // The server holds less than was acknowledged: read again from the start.
                resume = None;
                continue;
            }
            resume = reader.checkpoint().cloned();
            if resume != saved {
                if let Some(cp) = &resume {
                    self.save_checkpoint(cp)?;
                }
                saved = resume.clone();
            }
            if !self.options.follow || stopping {
                if let Some(e) = torn {
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
            tokio::time::sleep(self.options.poll).await;
        }
    }

    /// Publishes one record until the server holds it, or refuses it for good.
    async fn ship_one(&mut self, record: &LogRecord) -> Result<Outcome, ShipError> {
        let mut body = Vec::with_capacity(256);
        self.encoder.encode(record, &mut body);
        if body.last() == Some(&b'\n') {
            body.pop();
        }
        let seq = record.seq.to_string();
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_STREAM_ID, self.identity.stream_id.as_str());
        headers.insert(HEADER_SEQ, seq.as_str());
        headers.insert(HEADER_LEVEL, record.level.as_str());
        headers.insert(HEADER_SERVICE, self.identity.service.as_str());
        headers.insert(HEADER_HOST, self.identity.host.as_str());
        let message_id = format!("{}-{seq}", self.identity.stream_id);
        let mut pause = Duration::from_millis(20);
        loop {
            match self
                .server
                .publish(self.position, &message_id, headers.clone(), body.clone())
                .await
            {
                Published::Stored(p) => {
                    self.position = Some(Position {
                        stream_sequence: p.stream_sequence,
                        seq: record.seq,
                    });
                    return Ok(Outcome::Shipped);
                }
                Published::TooLarge(why) => {
                    eprintln!(
                        "trail ship: seq {} is larger than the server accepts ({why}): not shipped",
                        record.seq
                    );
                    self.refused = Some(record.seq);
                    return Ok(Outcome::Refused);
                }
                Published::Unsure(why) => {
                    self.complain(&format!(
                        "publishing seq {} to {}: {why}; retrying",
                        record.seq, self.server.subject
                    ));
                }
            }
            let before = self.position.map(|p| p.seq);
            let now = loop {
                if self.options.stop.load(Ordering::Relaxed) {
                    return Err(ShipError::new(
                        ShipErrorKind::Unreachable,
                        format!(
                            "stopped while seq {} was not acknowledged by {}",
                            record.seq, self.options.url
                        ),
                    ));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                match self.server.last().await {
                    Ok(now) => break now,
                    Err(e) => self.complain(&format!("{e}; retrying")),
                }
            };
            self.position = now;
            let now = now.map(|p| p.seq);
            if now >= Some(record.seq) {
                return Ok(Outcome::Shipped);
            }
            if now < before {
                self.complain(&format!(
                    "{} holds this source up to seq {now:?}, after acknowledging seq {before:?}: shipping again from there",
                    self.options.jetstream_stream
                ));
                return Ok(Outcome::Rewind);
            }
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
