//! Outputs beside the file stream: standard output, standard error and destinations of
//! the user's own, each with its own filter, format and JSON profile.
//!
//! The writer numbers each record once (`seq`), so a record has the same `seq` in every
//! output. An output's filter narrows what the writer's filter lets through; the file
//! stream keeps every record, so that its `seq` has no gaps. Each distinct encoding
//! (format, JSON profile, colour) is made once per record and shared by the outputs that
//! use it, the file stream's included when it matches. Binary is the file stream's alone:
//! its records refer to call sites defined earlier in the same segment, which a pipe or a
//! destination has no notion of.

use std::sync::{Arc, Mutex};

use super::console::{colour_for, ConsoleStream, StdStream};
use crate::encode::{Encoder, EncoderOptions};
use crate::{Directives, Error, Format, JsonProfile, LevelFilter, Record};

/// Somewhere of the user's own that records go to, beside the files: a socket, a test's
/// buffer, another system's client. The writer thread calls it, so a slow destination
/// slows the writer, never the callers (beyond the queue's [`Policy`](crate::Policy)).
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// /// Keeps the JSON lines of warnings and worse in memory.
/// #[derive(Clone, Default)]
/// struct Alerts(Arc<Mutex<Vec<String>>>);
///
/// impl trail::Destination for Alerts {
///     fn record(&mut self, seq: u64, record: &trail::Record, encoded: &[u8]) {
///         let line = String::from_utf8_lossy(encoded).into_owned();
///         assert_eq!(record.level(), trail::Level::Error);
///         assert!(line.contains(&format!("\"seq\":{seq}")));
///         self.0.lock().unwrap().push(line);
///     }
/// }
///
/// # let dir = tempfile::tempdir().unwrap();
/// let alerts = Alerts::default();
/// let guard = trail::builder()
///     .dir(dir.path())
///     .output(trail::Output::custom(alerts.clone()).filter("error"))
///     .install()?;
/// trail::info!("all is well");
/// trail::error!(disk = "/var", "disk full");
/// guard.flush();
/// assert_eq!(alerts.0.lock().unwrap().len(), 1);
/// # Ok::<(), trail::Error>(())
/// ```
pub trait Destination: Send + 'static {
    /// Takes one whole record: its `seq` (the same as in every other output), the record
    /// itself, and its bytes in the output's format (one line for JSON, CSV and text,
    /// `\n` included). The bytes are valid only during the call.
    fn record(&mut self, seq: u64, record: &Record, encoded: &[u8]);

    /// Writes out what it keeps: called when the writer writes out its outputs (every
    /// millisecond or so under load, when idle, on [`Guard::flush`](crate::Guard::flush)
    /// and at shutdown). Nothing by default.
    fn write_out(&mut self) {}
}

/// Where an output's records go.
#[derive(Clone)]
enum Target {
    Std(StdStream),
    Custom(Arc<Mutex<dyn Destination>>),
}

/// How an output narrows the writer's filter.
#[derive(Clone, Debug)]
enum OutputFilter {
    Directives(String),
    Level(LevelFilter),
}

/// One output beside (or instead of) the file stream, for
/// [`Builder::output`](crate::Builder::output): where records go, in which format, and
/// which of them.
///
/// Standard output and standard error get whole records: each write call the writer
/// makes ends on a record's end (a short write is finished at once), so a pipe's reader
/// never sees half a record followed by something else. If the stream's reader goes away
/// (a broken pipe), the records meant for it are counted in
/// [`Stats::output_lost`](crate::Stats::output_lost), this is said once on standard error,
/// and the other outputs go on. Text written to a terminal colours its levels, as the
/// console does. CSV starts with its header row once.
///
/// ```
/// use trail::{Format, JsonProfile, Output};
///
/// # let dir = tempfile::tempdir().unwrap();
/// let _guard = trail::builder()
///     .dir(dir.path())                                   // every record in the files
///     .output(Output::stdout().format(Format::Json).json_profile(JsonProfile::Ecs).filter("info"))
///     .output(Output::stderr().format(Format::Text).filter("warn,shop::cart=debug"))
///     .install()?;
/// # Ok::<(), trail::Error>(())
/// ```
#[derive(Clone)]
pub struct Output {
    target: Target,
    format: Format,
    json_profile: JsonProfile,
    filter: Option<OutputFilter>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            Target::Std(StdStream::Stdout) => "stdout",
            Target::Std(StdStream::Stderr) => "stderr",
            Target::Custom(_) => "custom",
        };
        f.debug_struct("Output")
            .field("target", &target)
            .field("format", &self.format)
            .field("json_profile", &self.json_profile)
            .field("filter", &self.filter)
            .finish()
    }
}

impl Output {
    fn new(target: Target, format: Format) -> Output {
        Output {
            target,
            format,
            json_profile: JsonProfile::Canonical,
            filter: None,
        }
    }

    /// Standard output, as JSON lines unless [`format`](Output::format) says otherwise:
    /// what a container's log collector reads.
    ///
    /// ```
    /// let _guard = trail::builder().output(trail::Output::stdout()).install()?;
    /// trail::info!(port = 8080, "listening");
    /// # Ok::<(), trail::Error>(())
    /// ```
    pub fn stdout() -> Output {
        Output::new(Target::Std(StdStream::Stdout), Format::Json)
    }

    /// Standard error, as text lines unless [`format`](Output::format) says otherwise.
    ///
    /// ```
    /// let output = trail::Output::stderr().level(trail::LevelFilter::Warn);
    /// # let _ = output;
    /// ```
    pub fn stderr() -> Output {
        Output::new(Target::Std(StdStream::Stderr), Format::Text)
    }

    /// A [`Destination`] of the user's own, given JSON lines unless
    /// [`format`](Output::format) says otherwise. Clones of the builder share it.
    ///
    /// ```
    /// struct Count(u64);
    /// impl trail::Destination for Count {
    ///     fn record(&mut self, _seq: u64, _record: &trail::Record, _encoded: &[u8]) {
    ///         self.0 += 1;
    ///     }
    /// }
    /// let output = trail::Output::custom(Count(0)).format(trail::Format::Text);
    /// # let _ = output;
    /// ```
    pub fn custom(destination: impl Destination) -> Output {
        Output::new(
            Target::Custom(Arc::new(Mutex::new(destination))),
            Format::Json,
        )
    }

    /// The format of this output's records: JSON lines, CSV or text. Binary is for files
    /// only ([`install`](crate::Builder::install) refuses it here).
    ///
    /// ```
    /// let output = trail::Output::stdout().format(trail::Format::Text);
    /// # let _ = output;
    /// ```
    pub fn format(mut self, format: Format) -> Output {
        self.format = format;
        self
    }

    /// The field names of this output's JSON lines: canonical (the default),
    /// OpenTelemetry or ECS.
    ///
    /// ```
    /// let output = trail::Output::stdout().json_profile(trail::JsonProfile::OpenTelemetry);
    /// # let _ = output;
    /// ```
    pub fn json_profile(mut self, profile: JsonProfile) -> Output {
        self.json_profile = profile;
        self
    }

    /// Filter directives for this output, in the syntax of
    /// [`Builder::filter`](crate::Builder::filter): of the records the writer's filter lets
    /// through, this output gets those these directives pass too. Default: all of them.
    /// A malformed directive makes [`install`](crate::Builder::install) fail, naming it.
    ///
    /// ```
    /// let output = trail::Output::stdout().filter("warn,shop::cart=debug");
    /// # let _ = output;
    /// ```
    pub fn filter(mut self, directives: impl Into<String>) -> Output {
        self.filter = Some(OutputFilter::Directives(directives.into()));
        self
    }

    /// Only records at `level` or above, of those the writer's filter lets through.
    ///
    /// ```
    /// let output = trail::Output::stderr().level(trail::LevelFilter::Error);
    /// # let _ = output;
    /// ```
    pub fn level(mut self, level: LevelFilter) -> Output {
        self.filter = Some(OutputFilter::Level(level));
        self
    }

    /// The console of [`Builder::console`](crate::Builder::console): text on standard
    /// error at `level` and above.
    pub(crate) fn console(level: LevelFilter) -> Output {
        Output::stderr().level(level)
    }
}

/// One distinct encoding of each record, shared by the outputs that use it.
struct Encoding {
    format: Format,
    profile: JsonProfile,
    colour: bool,
    /// `None` for the file stream's own encoding, whose bytes the file output keeps.
    encoder: Option<Box<dyn Encoder>>,
    /// The current record's bytes.
    bytes: Vec<u8>,
    /// Whether `bytes` holds the current record.
    fresh: bool,
}

/// Where one output's records go.
enum Sending {
    Std(ConsoleStream),
    Custom {
        destination: Arc<Mutex<dyn Destination>>,
        /// Set when the destination panicked: it gets nothing more.
        failed: bool,
    },
}

/// One output, ready on the writer thread.
struct Route {
    filter: Option<Directives>,
    encoding: usize,
    to: Sending,
}

/// The outputs beside the file stream, on the writer thread.
pub(crate) struct Outputs {
    encodings: Vec<Encoding>,
    routes: Vec<Route>,
    /// Records an output could not take, not yet in the writer's counters.
    lost: u64,
}

impl Outputs {
    /// Prepares `outputs` for the writer thread: filters parsed, encodings made once for
    /// each distinct (format, profile, colour). `file` is the file stream's format and
    /// profile, whose bytes an output of the same encoding shares. Fails on a malformed
    /// filter or a binary output.
    pub(crate) fn new(
        outputs: &[Output],
        options: &EncoderOptions,
        file: Option<(Format, JsonProfile)>,
    ) -> Result<Option<Outputs>, Error> {
        if outputs.is_empty() {
            return Ok(None);
        }
        let mut encodings: Vec<Encoding> = Vec::new();
        let mut routes = Vec::new();
        for (n, output) in outputs.iter().enumerate() {
            let which = || format!("output {} ({:?})", n + 1, output);
            if output.format == Format::Bincode {
                return Err(Error::config(format!(
                    "{}: the binary format is for files only, its records refer to \
                     call sites defined earlier in the same segment; use json, csv or text",
                    which()
                )));
            }
            let filter = match &output.filter {
                None => None,
                Some(OutputFilter::Level(level)) => Some(Directives::level(*level)),
                Some(OutputFilter::Directives(text)) => Some(
                    text.parse::<Directives>()
                        .map_err(|e| Error::config(format!("{}: {e}", which())))?,
                ),
            };
            // Only JSON has profiles: other formats share one encoding whatever is set.
            let profile = match output.format {
                Format::Json => output.json_profile,
                _ => JsonProfile::Canonical,
            };
            let colour = match &output.target {
                Target::Std(stream) => output.format == Format::Text && colour_for(*stream),
                Target::Custom(_) => false,
            };
            let encoding = match encodings
                .iter()
                .position(|e| (e.format, e.profile, e.colour) == (output.format, profile, colour))
            {
                Some(at) => at,
                None => {
                    let shares_file = !colour && file == Some((output.format, profile));
                    encodings.push(Encoding {
                        format: output.format,
                        profile,
                        colour,
                        encoder: (!shares_file)
                            .then(|| encoder(output.format, profile, colour, options)),
                        bytes: Vec::new(),
                        fresh: false,
                    });
                    encodings.len() - 1
                }
            };
            let to = match &output.target {
                Target::Std(stream) => {
                    let mut console = ConsoleStream::new(*stream);
                    // What the format starts with (CSV's header row), once.
                    let mut header = Vec::new();
                    encoder(output.format, profile, false, options).begin_segment(&mut header);
                    console.push_header(&header);
                    Sending::Std(console)
                }
                Target::Custom(destination) => Sending::Custom {
                    destination: Arc::clone(destination),
                    failed: false,
                },
            };
            routes.push(Route {
                filter,
                encoding,
                to,
            });
        }
        Ok(Some(Outputs {
            encodings,
            routes,
            lost: 0,
        }))
    }

    /// Hands one record to every output whose filter passes it, encoding it at most once
    /// per encoding. `file_bytes` is the record as the file stream just encoded it.
    pub(crate) fn record(&mut self, record: &Record, seq: u64, file_bytes: Option<&[u8]>) {
        for encoding in &mut self.encodings {
            encoding.fresh = false;
        }
        let meta = record.metadata();
        for route in &mut self.routes {
            if let Some(filter) = &route.filter
                && !filter.enabled(meta.target(), meta.level())
            {
                continue;
            }
            let encoding = &mut self.encodings[route.encoding];
            let bytes: &[u8] = match &mut encoding.encoder {
                None => file_bytes.unwrap_or_default(),
                Some(encoder) => {
                    if !encoding.fresh {
                        encoding.bytes.clear();
                        encoder.encode(record, seq, &mut encoding.bytes);
                        encoding.fresh = true;
                    }
                    &encoding.bytes
                }
            };
            let taken = match &mut route.to {
                Sending::Std(console) => console.push(bytes),
                Sending::Custom {
                    destination,
                    failed,
                } => !*failed && send(destination, failed, |d| d.record(seq, record, bytes)),
            };
            if !taken {
                self.lost += 1;
            }
        }
    }

    /// The most bytes any output keeps unwritten.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.routes
            .iter()
            .map(|r| match &r.to {
                Sending::Std(console) => console.pending_bytes(),
                Sending::Custom { .. } => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// Writes out what every output keeps; returns how many records outputs could not
    /// take since the last write out.
    pub(crate) fn write_out(&mut self) -> u64 {
        let mut lost = std::mem::take(&mut self.lost);
        for route in &mut self.routes {
            match &mut route.to {
                Sending::Std(console) => lost += console.write_out(),
                Sending::Custom {
                    destination,
                    failed,
                } => {
                    if !*failed {
                        send(destination, failed, |d| d.write_out());
                    }
                }
            }
        }
        lost
    }
}

/// A new encoder for one output's encoding.
fn encoder(
    format: Format,
    profile: JsonProfile,
    colour: bool,
    options: &EncoderOptions,
) -> Box<dyn Encoder> {
    if colour {
        let mut text = crate::encode::text::TextEncoder::default();
        text.set_secrets(Arc::clone(&options.secrets));
        text.colour_levels(true);
        return Box::new(text);
    }
    let options = EncoderOptions {
        json_profile: profile,
        ..options.clone()
    };
    format.encoder(&options)
}

/// Calls the user's destination. A destination that panics gets nothing more: the panic
/// is said once on standard error, and the writer thread goes on with the other outputs.
/// Returns whether the call returned.
fn send(
    destination: &Arc<Mutex<dyn Destination>>,
    failed: &mut bool,
    call: impl FnOnce(&mut dyn Destination),
) -> bool {
    let returned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut destination = destination.lock().unwrap_or_else(|p| p.into_inner());
        call(&mut *destination);
    }))
    .is_ok();
    if !returned {
        *failed = true;
        eprintln!("trail: an output's destination panicked; it gets no more records, the other outputs go on");
    }
    returned
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nowhere;
    impl Destination for Nowhere {
        fn record(&mut self, _: u64, _: &Record, _: &[u8]) {}
    }

    #[test]
    fn each_distinct_encoding_is_made_once_and_the_files_one_is_shared() {
        let outputs = [
            Output::custom(Nowhere),
            Output::custom(Nowhere).filter("warn"),
            Output::custom(Nowhere).json_profile(JsonProfile::OpenTelemetry),
            Output::custom(Nowhere).format(Format::Text),
            Output::custom(Nowhere)
                .format(Format::Text)
                .json_profile(JsonProfile::Ecs),
            Output::custom(Nowhere).format(Format::Csv),
        ];
        let options = EncoderOptions::default();
        let file = Some((Format::Json, JsonProfile::Canonical));
        let outputs = Outputs::new(&outputs, &options, file).unwrap().unwrap();
        let encodings: Vec<usize> = outputs.routes.iter().map(|r| r.encoding).collect();
        assert_eq!(
            encodings,
            [0, 0, 1, 2, 2, 3],
            "a profile matters to JSON only"
        );
        assert_eq!(outputs.encodings.len(), 4);
        assert!(
            outputs.encodings[0].encoder.is_none(),
            "the files' bytes are used"
        );
        assert!(outputs.encodings[1..].iter().all(|e| e.encoder.is_some()));

        let csv_file = Some((Format::Csv, JsonProfile::Canonical));
        let outputs = Outputs::new(&[Output::custom(Nowhere)], &options, csv_file)
            .unwrap()
            .unwrap();
        assert!(outputs.encodings[0].encoder.is_some(), "its own encoder");
        assert!(Outputs::new(&[], &options, file).unwrap().is_none());
    }
}
