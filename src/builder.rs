//! Installing the writer: the builder, and the guard that stops it.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::segment;
use crate::writer::{ErrorReporter, Msg, Shared, Writer};
use crate::{Error, Format, LevelFilter, Policy, Stats};

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
#[derive(Clone, Debug)]
pub struct Builder {
    dir: PathBuf,
    name: String,
    format: Format,
    capacity: usize,
    level: LevelFilter,
    policy: Policy,
    file_mode: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            dir: PathBuf::from("logs"),
            name: "app".to_owned(),
            format: Format::Json,
            capacity: 16 * 1024,
            level: LevelFilter::Info,
            policy: Policy::Block,
            file_mode: 0o640,
        }
    }
}

impl Builder {
    /// The directory for the stream's files; created when missing. Default `logs`.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
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

    /// How many events the queue holds before the [`Policy`] applies. Default 16384.
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events;
        self
    }

    /// The run-time level filter. Default `info`.
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.level = level;
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

    /// Opens the first segment, starts the writer thread and installs it as the global
    /// sink.
    ///
    /// Fails with a clear error if a sink is already installed, if a setting is invalid,
    /// or if the directory or file cannot be created (the error names the path).
    pub fn install(self) -> Result<Guard, Error> {
        segment::validate_name(&self.name)?;
        if self.capacity == 0 {
            return Err(Error::config(
                "invalid capacity 0: the queue needs room for at least one event",
            ));
        }
        if crate::dispatch::is_installed() {
            return Err(Error::already_installed());
        }
        let segment = segment::create(
            &self.dir,
            &self.name,
            self.format.extension(),
            self.file_mode,
            crate::clock::now_nanos(),
        )?;
        let path = segment.path.clone();

        let (sender, receiver) = crossbeam_channel::bounded(self.capacity);
        // The shared half outlives the guard: a caller may still hold it after the
        // uninstall. It is a sender and a few counters.
        let shared: &'static Shared = Box::leak(Box::new(Shared::new(sender, self.policy)));
        let writer = Writer {
            receiver,
            encoder: self.format.encoder(),
            segment,
            shared,
            next_seq: 1,
            buf: Vec::with_capacity(512 * 1024),
            buffered_records: 0,
            reporter: ErrorReporter::new(Duration::from_secs(10)),
        };
        let thread = std::thread::Builder::new()
            .name("trail-writer".to_owned())
            .spawn(move || writer.run())
            .map_err(|e| Error::io("start the writer thread for", &path, e))?;
        let mut guard = Guard {
            shared,
            thread: Some(thread),
            path,
        };
        if crate::dispatch::set_sink(shared, self.level).is_err() {
            guard.stop();
            // The segment was created empty a moment ago by this call and holds nothing.
            let _ = std::fs::remove_file(&guard.path);
            return Err(Error::already_installed());
        }
        Ok(guard)
    }
}

/// Keeps the writer running; dropping it writes every queued event and stops the thread.
///
/// Keep it alive in `main` for as long as the program logs.
#[must_use = "dropping the guard stops the writer: bind it, as in `let _guard = ...`"]
pub struct Guard {
    shared: &'static Shared,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl Guard {
    /// Returns once every event logged before this call is written to the file.
    pub fn flush(&self) {
        self.shared.request(Msg::Flush);
    }

    /// The writer's counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Events that reached the writer after it had stopped. Always zero while the guard
    /// is alive.
    pub fn lost(&self) -> u64 {
        self.shared.counters.lost.load(Ordering::Relaxed)
    }

    /// The segment file being written.
    pub fn path(&self) -> &Path {
        &self.path
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
            self.shared.request(Msg::Shutdown);
            let _ = thread.join();
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
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish()
    }
}
