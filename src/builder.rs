//! Installing the writer: the builder, and the guard that stops it.
//!
//! The file passes 800 lines because every option carries its documentation, most with an
//! example that compiles; the code of an option is a few lines.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::encode::EncoderOptions;
use crate::retention::Retention;
use crate::rotation::Rotation;
use crate::segment;
use crate::stream::{StreamConfig, StreamFiles};
use crate::writer::{FileOutput, Msg, Outputs, Shared, Writer};
use crate::{
    Clock, Directives, Error, Format, Fsync, JsonProfile, LevelFilter, Output, Period, Policy,
    Stats, SystemClock,
};

/// Starts configuring the writer. See [`Builder`].
pub fn builder() -> Builder {
    Builder::default()
}

/// Configures and installs the background writer.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let guard = trail::builder()
///     .dir(dir.path())          // created when missing
///     .name("shop")             // segments are shop.<time>.jsonl
///     .format(trail::Format::Json)
///     .capacity(16 * 1024)      // events the queue holds
///     .level(trail::LevelFilter::Debug)
///     .install()?;
///
/// trail::info!(actor = "u-17", items = 3, "cart updated");
/// drop(guard); // writes everything and stops the writer thread
/// # Ok::<(), trail::Error>(())
/// ```
#[derive(Clone)]
pub struct Builder {
    /// The stream's directory, when one was given.
    dir: Option<PathBuf>,
    /// Outputs beside (or instead of) the files.
    outputs: Vec<Output>,
    name: String,
    format: Format,
    capacity: usize,
    max_queue_bytes: Option<usize>,
    level: LevelFilter,
    policy: Policy,
    file_mode: u32,
    rotation: Rotation,
    retention: Retention,
    compress: bool,
    parquet: bool,
    schema_summary: bool,
    clock: Arc<dyn Clock>,
    span_records: bool,
    encoder_options: EncoderOptions,
    filter: Option<String>,
    use_env: bool,
    console: Option<LevelFilter>,
    never_drop: LevelFilter,
    log_panics: bool,
    max_value_bytes: Option<usize>,
    flush_on_exit: bool,
    flush_on_signals: bool,
    fsync: Fsync,
    shutdown_timeout: Option<Duration>,
    service: Option<String>,
    host: Option<String>,
    #[cfg(feature = "ship")]
    ship: Option<crate::ship::ShipOptions>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("dir", &self.dir)
            .field("outputs", &self.outputs)
            .field("name", &self.name)
            .field("format", &self.format)
            .field("capacity", &self.capacity)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .field("level", &self.level)
            .field("policy", &self.policy)
            .field("file_mode", &format_args!("{:o}", self.file_mode))
            .field("rotation", &self.rotation)
            .field("retention", &self.retention)
            .field("compress", &self.compress)
            .field("parquet", &self.parquet)
            .field("schema_summary", &self.schema_summary)
            .field("encoder_options", &self.encoder_options)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            dir: None,
            outputs: Vec::new(),
            name: "app".to_owned(),
            format: Format::Json,
            capacity: 16 * 1024,
            max_queue_bytes: None,
            level: LevelFilter::Info,
            policy: Policy::Block,
            file_mode: 0o640,
            rotation: Rotation::default(),
            retention: Retention::default(),
            compress: false,
            parquet: false,
            schema_summary: true,
            clock: Arc::new(SystemClock),
            span_records: false,
            encoder_options: EncoderOptions::default(),
            filter: None,
            use_env: true,
            console: None,
            never_drop: LevelFilter::Off,
            log_panics: false,
            max_value_bytes: None,
            flush_on_exit: false,
            flush_on_signals: false,
            fsync: Fsync::Never,
            shutdown_timeout: None,
            service: None,
            host: None,
            #[cfg(feature = "ship")]
            ship: None,
        }
    }
}

impl Builder {
    /// The service that writes the stream, kept in its identity (`NAME.identity.json`)
    /// and carried by every shipped record. Default: the program's name.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The host the stream is written on, kept in its identity. Default: this machine's
    /// host name.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Ships the stream into NATS JetStream from a thread of this process, as
    /// `trail ship --follow` does (feature `ship`): each record exactly once, in `seq`
    /// order. Callers never wait for the network; the files are the buffer. The options'
    /// directory, name and `follow` are set from this builder. Dropping the guard writes
    /// everything, then gives the shipper up to the shutdown timeout (10 seconds when
    /// none is set) to ship the rest.
    ///
    /// ```no_run
    /// let options = trail::ship::ShipOptions::new("", "nats://127.0.0.1:4222");
    /// let _guard = trail::builder().dir("logs").ship(options).install()?;
    /// # Ok::<(), trail::Error>(())
    /// ```
    #[cfg(feature = "ship")]
    pub fn ship(mut self, options: crate::ship::ShipOptions) -> Self {
        self.ship = Some(options);
        self
    }

    /// The directory for the stream's files; created when missing. Default `logs` when
    /// no [`output`](Builder::output) is added; with outputs and no directory, there are
    /// no files at all.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Adds an output beside the files: standard output, standard error or a
    /// [`Destination`](crate::Destination) of your own, each with its own filter, format and
    /// JSON profile (see [`Output`]). Every record has the same `seq` in every output.
    /// Without [`dir`](Builder::dir), the outputs are all there is: no file is written.
    ///
    /// ```
    /// use trail::{Format, Output};
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// let _guard = trail::builder()
    ///     .dir(dir.path())
    ///     .output(Output::stdout().format(Format::Json).filter("info"))
    ///     .install()?;
    /// # Ok::<(), trail::Error>(())
    /// ```
    pub fn output(mut self, output: Output) -> Self {
        self.outputs.push(output);
        self
    }

    /// Adds standard output in `format`: the shorthand for
    /// `.output(Output::stdout().format(format))`. Without [`dir`](Builder::dir), this is
    /// the one-line setup for a container, whose runtime collects standard output: no
    /// files, one JSON line per record.
    ///
    /// ```
    /// let _guard = trail::builder().stdout(trail::Format::Json).install()?;
    /// trail::info!(port = 8080, "listening");
    /// # Ok::<(), trail::Error>(())
    /// ```
    pub fn stdout(self, format: Format) -> Self {
        self.output(Output::stdout().format(format))
    }

    /// The stream name, the first part of every file name: ASCII letters, digits, `-`
    /// and `_`. Default `app`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The file format. Default JSON lines.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// How many events each logging thread's queue holds, at most, before the [`Policy`]
    /// applies. Default 16384.
    ///
    /// Every thread that logs gets its own queue at its first event, so that threads never
    /// contend. A queue is a ring of bytes that starts at 32 KiB (or less, if the cap is
    /// smaller) and doubles each time its thread finds it full, up to `capacity` times 128
    /// bytes rounded up to a power of two (2 MiB by default): room for `capacity` events
    /// with values of about 100 bytes, or more smaller ones. So a thread that logs now and
    /// then costs about 32 KiB, and only a thread that logs faster than the writer keeps
    /// up gets the full size. A thread's queue is freed once the thread has ended and its
    /// events are written. See also [`max_queue_bytes`](Builder::max_queue_bytes).
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events;
        self
    }

    /// The most bytes all threads' queues together may grow to. Default: no limit
    /// beyond each thread's [`capacity`](Builder::capacity).
    ///
    /// A thread whose queue is full and cannot grow without passing this total keeps the
    /// queue it has, and the [`Policy`] applies: `Block` waits for room, `Drop` drops and
    /// counts. Each thread's first queue (32 KiB) is granted even past the total, so that
    /// every thread can log; only growth is held to it.
    ///
    /// ```
    /// let builder = trail::builder().capacity(16 * 1024).max_queue_bytes(64 << 20);
    /// # let _ = builder;
    /// ```
    pub fn max_queue_bytes(mut self, bytes: usize) -> Self {
        self.max_queue_bytes = Some(bytes);
        self
    }

    /// The run-time level filter. Default `info`.
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.level = level;
        self
    }

    /// Filter directives, such as `info,shop::cart=debug,hyper=off`: a bare level is the
    /// default, `target=level` applies to a target and its submodules. Without this, the
    /// directives come from `TRAIL_LOG`, else `RUST_LOG`, else [`level`](Builder::level).
    /// A malformed directive given here makes [`install`](Builder::install) fail, naming
    /// it. One in `TRAIL_LOG` or `RUST_LOG` (a span filter `target[span]=level`, bytes
    /// that are not UTF-8) never does: it is reported once on standard error, naming the
    /// variable and the directive, and the valid rest applies; a variable with no valid
    /// directive gives way to the next source.
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// Whether `TRAIL_LOG` and `RUST_LOG` are read. Default true.
    pub fn filter_from_env(mut self, read: bool) -> Self {
        self.use_env = read;
        self
    }

    /// Also prints records at or above `level` on standard error, as text lines, beside
    /// the files, which keep everything that passes the filter: the shorthand for
    /// `.output(Output::stderr().level(level))`, except that it does not stand in for the
    /// files (without [`dir`](Builder::dir) they go to `logs`). Levels are coloured when
    /// standard error is a terminal and `NO_COLOR` is not set, or whenever
    /// `CLICOLOR_FORCE` is set and not `0`. The writer thread prints them: callers never
    /// wait for a terminal.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let _guard = trail::builder()
    ///     .dir(dir.path())
    ///     .level(trail::LevelFilter::Debug)   // everything from debug to the files
    ///     .console(trail::LevelFilter::Warn)  // warn and above to the terminal too
    ///     .install()?;
    /// # Ok::<(), trail::Error>(())
    /// ```
    pub fn console(mut self, level: LevelFilter) -> Self {
        self.console = Some(level);
        self
    }

    /// Events at `level` or above wait for room in a full queue whatever the
    /// [`Policy`], so that, say, errors are never dropped. Default: off (the policy decides
    /// for every event).
    pub fn never_drop(mut self, level: LevelFilter) -> Self {
        self.never_drop = level;
        self
    }

    /// Logs every panic as a `fatal` event (message, location, thread, and a backtrace
    /// when `RUST_BACKTRACE` asks for one), writes it out, then runs the panic hook that
    /// was installed before. Default off.
    pub fn log_panics(mut self, log: bool) -> Self {
        self.log_panics = log;
        self
    }

    /// The most bytes one captured value may hold (default 1 MiB; at most 2 MiB, larger
    /// settings are clamped, so that every record fits the reader's limit); see
    /// [`set_max_value_bytes`](crate::set_max_value_bytes). Applied at install.
    pub fn max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = Some(bytes);
        self
    }

    /// Writes the fields with these names (and the actor, if `"actor"` is among them) as
    /// `"[REDACTED]"`, in every format and on the console, messages that show them
    /// included.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let _guard = trail::builder().dir(dir.path()).redact(["password", "card_number"]).install()?;
    /// trail::info!(user = "ana", password = "hunter2", "signed in");  // password: "[REDACTED]"
    /// # Ok::<(), trail::Error>(())
    /// ```
    pub fn redact<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.encoder_options.secrets = names.into_iter().map(Into::into).collect();
        self
    }

    /// Writes out everything queued when the process exits without dropping the guard,
    /// as `std::process::exit` does (an `atexit` hook). Default off.
    pub fn flush_on_exit(mut self, flush: bool) -> Self {
        self.flush_on_exit = flush;
        self
    }

    /// On SIGTERM or SIGINT, writes out everything queued, then lets the signal take its
    /// default action, ending the process as it would have. A thread waits for the signals;
    /// nothing runs inside a signal handler. Default off. Unix only: on other platforms
    /// [`install`](Builder::install) refuses it with an error.
    pub fn flush_on_signals(mut self, flush: bool) -> Self {
        self.flush_on_signals = flush;
        self
    }

    /// When written data is synced to the disk. Default [`Fsync::Never`]: the operating
    /// system decides. Every policy but `Never` also syncs a segment when it is sealed.
    pub fn fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// How long dropping the guard may wait for writes that keep failing (a full disk)
    /// before giving up on what is left, which is counted in [`Stats::abandoned`] and
    /// reported on stderr. Default: no limit, nothing is given up.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// What a full queue does to the caller. Default [`Policy::Block`].
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The permission bits of new files, before the umask. Default `0o640`.
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.file_mode = mode;
        self
    }

    /// Starts a new segment when the active one would exceed this many bytes. A record is
    /// never split: one larger than the limit gets a segment of its own.
    pub fn rotate_bytes(mut self, bytes: u64) -> Self {
        self.rotation.max_bytes = Some(bytes);
        self
    }

    /// Starts a new segment at every period boundary (with records in the old one).
    /// Combined with [`rotate_bytes`](Builder::rotate_bytes), whichever comes first.
    pub fn rotate_every(mut self, period: Period) -> Self {
        self.rotation.every = Some(period);
        self
    }

    /// Aligns period boundaries to this fixed offset from UTC, in seconds east (for
    /// example `3600` for daily segments that start at midnight UTC+01:00). File names stay
    /// in UTC, so a change of daylight-saving time never makes two names collide.
    pub fn rotate_utc_offset(mut self, seconds: i32) -> Self {
        self.rotation.utc_offset = seconds;
        self
    }

    /// Names the active segment `_` and its final name, and renames it to the final name
    /// when it is sealed (the directory synced before the manifest lists it). File sources
    /// that skip names starting with `_` (Spark, Flink, Hadoop, Auto Loader) then never read
    /// a segment that is still growing. The reader, `trail` and the shipper follow a
    /// segment across the rename. Default off.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let guard = trail::builder().dir(dir.path()).name("app").hide_active_segment(true).install()?;
    /// assert!(guard.path().file_name().unwrap().to_str().unwrap().starts_with("_app."));
    /// # Ok::<(), trail::Error>(())
    /// ```
    pub fn hide_active_segment(mut self, hide: bool) -> Self {
        self.rotation.hide_active = hide;
        self
    }

    /// Keeps at most this many segments, deleting the oldest. The active segment counts once
    /// it holds a record: a writer that starts, or has just rotated, keeps this many
    /// segments with records besides its empty new one.
    pub fn keep_segments(mut self, segments: usize) -> Self {
        self.retention.max_segments = Some(segments);
        self
    }

    /// Keeps at most this many bytes of segments on disk, deleting the oldest; the active
    /// segment is never deleted.
    pub fn keep_bytes(mut self, bytes: u64) -> Self {
        self.retention.max_bytes = Some(bytes);
        self
    }

    /// Deletes segments sealed longer ago than this.
    pub fn keep_age(mut self, age: Duration) -> Self {
        self.retention.max_age = Some(age);
        self
    }

    /// For CSV files meant for spreadsheets: a text cell that a spreadsheet would run as a
    /// formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is written
    /// with a leading `'`, which spreadsheets show as text. Off by default, because the
    /// cell then no longer holds the original text.
    pub fn csv_escape_formulas(mut self, escape: bool) -> Self {
        self.encoder_options.csv_escape_formulas = escape;
        self
    }

    /// The field names of JSON lines: trail's canonical keys (the default), the
    /// OpenTelemetry log data model's, or Elastic Common Schema's. The reader reads all
    /// three back.
    pub fn json_profile(mut self, profile: JsonProfile) -> Self {
        self.encoder_options.json_profile = profile;
        self
    }

    /// Keeps, per sealed segment, the field names and value kinds of its records in the
    /// manifest, so that `trail schema` and the Parquet copies need not read the records
    /// of sealed segments. Default on. The writer steps over each record's values to tell
    /// their kinds (a record whose call site wrote the same kinds before in the segment
    /// adds nothing), a few nanoseconds per value; `false` spares that.
    pub fn schema_summary(mut self, keep: bool) -> Self {
        self.schema_summary = keep;
        self
    }

    /// Compresses sealed segments with gzip on a helper thread (feature `gzip`).
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Writes a Parquet copy of each sealed segment on a helper thread (feature
    /// `parquet`): `DIR/parquet/SEGMENT.parquet`, typed by the segment's schema summary
    /// ([`schema_summary`](Builder::schema_summary), on by default) or by its records, and
    /// published whole (a temporary name, synced as the [`Fsync`] policy syncs sealed
    /// segments, renamed). Retention deletes a copy with its segment; a copy that a crash
    /// or an error kept from being made is made at the next start. Failures are counted
    /// in [`Stats::parquet_errors`](crate::Stats::parquet_errors) and leave the segment as
    /// it is. docs/SHIPPING.md shows how engines read the copies. Default off; without the
    /// feature, [`install`](Builder::install) refuses it.
    ///
    /// ```no_run
    /// let guard = trail::builder().dir("/var/log/shop").parquet(true).install()?;
    /// # Ok::<(), trail::Error>(())
    /// ```
    pub fn parquet(mut self, copy: bool) -> Self {
        self.parquet = copy;
        self
    }

    /// The clock that decides rotation and names segments. Default: the system clock.
    /// Events keep the timestamps their callers took.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Whether a span writes a record when it closes: its name as the message, its
    /// fields, ids, start and end, and its busy and idle time (docs/FORMAT.md, "Spans").
    /// Default: off, and then spans cost no timing at all. Spans measure with the
    /// builder's [`clock`](Builder::clock).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let _guard = trail::builder().dir(dir.path()).span_records(true).install()?;
    /// {
    ///     let _span = trail::scope!("charge", order_id = 7_u64);
    ///     trail::info!("charged");
    /// } // the span's record is written here
    /// # Ok::<(), trail::Error>(())
    /// ```
    pub fn span_records(mut self, on: bool) -> Self {
        self.span_records = on;
        self
    }

    /// Locks and opens the stream in `dir`, continuing it from the previous run, and
    /// keeps its identity.
    fn open_stream(&self, dir: &std::path::Path) -> Result<crate::stream::Opened, Error> {
        let opened = StreamFiles::open(StreamConfig {
            dir: dir.to_owned(),
            name: self.name.clone(),
            format: self.format,
            file_mode: self.file_mode,
            rotation: self.rotation,
            retention: self.retention,
            compress: self.compress,
            parquet: self.parquet.then(Default::default),
            schema_summary: self.schema_summary,
            clock: Arc::clone(&self.clock),
            sync_on_seal: self.fsync != Fsync::Never,
        })?;
        // The stream id is made once; service and host follow this process's settings.
        let service = self
            .service
            .clone()
            .unwrap_or_else(crate::identity::program_name);
        let host = self.host.clone().unwrap_or_else(crate::identity::host_name);
        crate::identity::load_or_create(dir, &self.name, &service, &host, self.file_mode).map_err(
            |e| {
                Error::io(
                    "write the stream identity",
                    &crate::identity::path(dir, &self.name),
                    e,
                )
            },
        )?;
        Ok(opened)
    }

    /// Locks the stream, continues it from the previous run (recovering from a crash),
    /// opens a new segment, starts the writer thread and installs it as the global sink.
    ///
    /// Fails with a clear error if a sink is already installed, if another process writes
    /// the stream, if a setting is invalid, or if the directory or a file cannot be created
    /// (the error names the path).
    pub fn install(self) -> Result<Guard, Error> {
        segment::validate_name(&self.name)?;
        if self.capacity == 0 {
            return Err(Error::config(
                "invalid capacity 0: the queue needs room for at least one event",
            ));
        }
        if self.rotation.max_bytes == Some(0) {
            return Err(Error::config(
                "invalid rotate_bytes 0: a segment needs room for at least one record",
            ));
        }
        if self.rotation.utc_offset.unsigned_abs() >= 86_400 {
            return Err(Error::config(format!(
                "invalid rotate_utc_offset {}: an offset is less than a day",
                self.rotation.utc_offset
            )));
        }
        let directives = match &self.filter {
            Some(text) => Some(
                text.parse::<Directives>()
                    .map_err(|e| Error::config(e.to_string()))?,
            ),
            None if self.use_env => directives_from_env(),
            None => None,
        };
        if crate::dispatch::is_installed() {
            return Err(Error::already_installed());
        }
        // Files unless outputs were asked for without a directory.
        let dir = match &self.dir {
            Some(dir) => Some(dir.clone()),
            None if self.outputs.is_empty() => Some(PathBuf::from("logs")),
            None => None,
        };
        #[cfg(feature = "ship")]
        if self.ship.is_some() && dir.is_none() {
            return Err(Error::config(
                "ship needs the stream's files: set a directory with dir(...)",
            ));
        }
        let mut outputs = self.outputs.clone();
        if let Some(level) = self.console {
            outputs.insert(0, Output::console(level));
        }
        let file_encoding = dir
            .as_ref()
            .map(|_| (self.format, self.encoder_options.json_profile));
        let outputs = Outputs::new(&outputs, &self.encoder_options, file_encoding)?;

        let opened = dir
            .as_deref()
            .map(|dir| self.open_stream(dir))
            .transpose()?;

        // Requests (flush, rotate, shutdown), and records from threads that are ending.
        let span_clock: Arc<dyn crate::span_timer::SpanClock> = Arc::new(Arc::clone(&self.clock));
        crate::span_timer::configure(self.span_records, Some(span_clock));
        let (sender, receiver) = crossbeam_channel::bounded(1024);
        // The shared half outlives the guard: a caller may still hold it after the
        // uninstall. It is the rings' registry, a sender and a few counters.
        let mut new_shared = Shared::new(
            self.capacity,
            self.max_queue_bytes.unwrap_or(usize::MAX),
            sender,
            self.policy,
            self.never_drop,
        );
        if let Some(counters) = opened.as_ref().and_then(|o| o.files.compaction_counters()) {
            new_shared.counters.compaction = counters;
        }
        let shared: &'static Shared = Box::leak(Box::new(new_shared));
        let (file, next_seq, path) = match opened {
            Some(opened) => {
                let path = opened.files.path().to_owned();
                let file = FileOutput::new(
                    self.format.encoder(&self.encoder_options),
                    opened.files,
                    shared,
                    self.fsync,
                    crate::schema::Collector::new(
                        self.schema_summary,
                        Arc::clone(&self.encoder_options.secrets),
                        self.format,
                    ),
                );
                (Some(file), opened.next_seq, path)
            }
            // No stream to continue: the outputs' seq starts at 1.
            None => (None, 1, PathBuf::new()),
        };
        *shared
            .counters
            .path
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = path.clone();
        let writer = Writer {
            receiver,
            merge: Default::default(),
            shared,
            next_seq,
            file,
            outputs,
            unwritten: 0,
        };
        let thread = std::thread::Builder::new()
            .name("trail-writer".to_owned())
            .spawn(move || writer.run())
            .map_err(|e| Error::io("start the writer thread for", &path, e))?;
        shared.rings.set_writer(thread.thread().clone());
        let mut guard = Guard {
            shared,
            thread: Some(thread),
            shutdown_timeout: self.shutdown_timeout,
            #[cfg(feature = "ship")]
            shipper: None,
        };
        let level = crate::filter::set_directives(directives).unwrap_or(self.level);
        if crate::dispatch::set_writer(shared, level).is_err() {
            // Stopping seals nothing: the segment holds no record and is removed.
            guard.stop();
            return Err(Error::already_installed());
        }
        if self.log_panics {
            install_panic_hook();
        }
        if let Some(bytes) = self.max_value_bytes {
            crate::set_max_value_bytes(bytes);
        }
        if self.flush_on_exit {
            flush_at_exit();
        }
        if self.flush_on_signals {
            flush_on_signals().map_err(|e| Error::io("watch signals for", &path, e))?;
        }
        #[cfg(feature = "ship")]
        if let (Some(options), Some(dir)) = (self.ship, &dir) {
            guard.shipper = Some(
                crate::ship::Background::start(options, dir, &self.name, self.retention)
                    .map_err(|e| Error::io("start the shipper thread for", &path, e))?,
            );
        }
        Ok(guard)
    }
}

/// The directives of `TRAIL_LOG`, else of `RUST_LOG`. The environment never stops the
/// program: a malformed directive (a non-UTF-8 one included) is reported on standard
/// error, naming the variable, and the valid rest applies, as with tracing's `EnvFilter`.
/// A variable with no valid directive gives way to the next source.
fn directives_from_env() -> Option<Directives> {
    for name in ["TRAIL_LOG", "RUST_LOG"] {
        let Some(value) = std::env::var_os(name) else {
            continue;
        };
        // Invalid bytes become U+FFFD, which marks their directive as malformed.
        let text = value.to_string_lossy();
        let (directives, errors) = Directives::parse_lenient(&text);
        for error in &errors {
            let error = error.to_string();
            eprintln!(
                "trail: {name}: {}; left out, the other directives apply",
                crate::terminal::escape_controls(&error)
            );
        }
        if directives.is_some() {
            return directives;
        }
    }
    None
}

/// Registers, once per process, an `atexit` hook that writes out whatever is queued.
fn flush_at_exit() {
    extern "C" fn at_exit() {
        crate::flush();
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `at_exit` is a plain `extern "C" fn()` that lives as long as the program.
        let _ = unsafe { libc::atexit(at_exit) };
    });
}

/// Starts, once per process, a thread that waits for SIGTERM and SIGINT, writes out what
/// is queued, then gives the signal its default action.
#[cfg(unix)]
fn flush_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    static STARTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if STARTED.get().is_some() {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("trail-signals".to_owned())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                crate::flush();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
            }
        })?;
    let _ = STARTED.set(());
    Ok(())
}

/// Other platforms have no SIGTERM to wait for on a thread: the option is refused at
/// install rather than silently doing nothing.
#[cfg(not(unix))]
fn flush_on_signals() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "flush_on_signals(true) is available on Unix only",
    ))
}

/// Chains a hook in front of the current panic hook: the panic becomes a `fatal` event,
/// which is written out before the previous hook runs. Installed once per process.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("a panic with a non-text payload");
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let thread = std::thread::current();
            let thread = thread.name().unwrap_or("unnamed");
            let backtrace = std::backtrace::Backtrace::capture();
            let backtrace = match backtrace.status() {
                std::backtrace::BacktraceStatus::Captured => Some(backtrace.to_string()),
                _ => None,
            };
            // `fatal!` writes everything out before it returns.
            crate::fatal!(target: "panic", location, thread, backtrace, "panicked: {message}");
            previous(info);
        }));
    });
}

/// Keeps the writer running; dropping it writes every queued event and stops the thread.
///
/// Keep it alive in `main` for as long as the program logs: `let _guard = ...`. With
/// `let _ = ...` it is dropped at once; events logged after the drop are counted by
/// [`lost_without_sink`](crate::lost_without_sink) and the first is reported on standard
/// error. In a child process made by `fork()`, which does not have the writer's thread,
/// [`flush`](Guard::flush) and the drop return at once and nothing is written.
#[must_use = "dropping the guard stops the writer: bind it, as in `let _guard = ...`"]
pub struct Guard {
    shared: &'static Shared,
    thread: Option<JoinHandle<()>>,
    shutdown_timeout: Option<Duration>,
    #[cfg(feature = "ship")]
    shipper: Option<crate::ship::Background>,
}

impl Guard {
    /// Returns once every event logged before this call is written to the files and
    /// handed to every output (a [`Destination`](crate::Destination)'s `write_out`
    /// included).
    pub fn flush(&self) {
        self.shared.request(Msg::Flush);
    }

    /// The writer's counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Events that reached the writer after it had stopped. Always zero while the guard
    /// is alive.
    pub fn lost(&self) -> u64 {
        self.shared.lost()
    }

    /// The segment file being written now; empty when there are no files (only
    /// [`output`](Builder::output)s).
    pub fn path(&self) -> PathBuf {
        self.shared
            .counters
            .path
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Seals the active segment and starts a new one, after writing everything logged
    /// before this call. Does nothing while the active segment holds no record.
    pub fn rotate(&self) {
        self.shared.request(Msg::Rotate);
    }

    /// Writes everything queued, stops the writer thread and returns the final counters.
    /// The same as dropping the guard, with the figures.
    pub fn shutdown(mut self) -> Stats {
        crate::dispatch::clear_sink_if(self.shared);
        self.stop();
        self.stats()
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            if self.shared.without_writer() {
                // The thread is the parent's; this process cannot join, or even detach, it.
                std::mem::forget(thread);
                return;
            }
            if let Some(timeout) = self.shutdown_timeout {
                *self
                    .shared
                    .give_up
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now() + timeout);
            }
            self.shared.request(Msg::Shutdown);
            let _ = thread.join();
        }
        // Everything is in the files now: the shipper ships the rest, then stops.
        #[cfg(feature = "ship")]
        if let Some(mut shipper) = self.shipper.take() {
            shipper.finish(self.shutdown_timeout.unwrap_or(Duration::from_secs(10)));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        crate::dispatch::clear_sink_if(self.shared);
        self.stop();
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("path", &self.path())
            .field("stats", &self.stats())
            .finish()
    }
}
