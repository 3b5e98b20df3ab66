//! Reading records back: a segment file, or a whole stream directory, in `seq` order.
//!
//! Works without the writer (feature `read` alone). Every format is read into one owned
//! [`LogRecord`]; compressed segments are decompressed on the fly.
//!
#![cfg_attr(feature = "writer", doc = "```")]
#![cfg_attr(not(feature = "writer"), doc = "```ignore")]
//! # let dir = tempfile::tempdir().unwrap();
//! # {
//! #     let _g = trail::builder().dir(dir.path()).name("shop").install().unwrap();
//! #     trail::info!(actor = 7_u64, items = 3, "checkout");
//! # }
//! for record in trail::read::open(dir.path())? {
//!     let record = record?;
//!     println!("{} {} {} {:?}", record.seq, record.level, record.msg, record.actor);
//! }
//! # Ok::<(), trail::read::ReadError>(())
//! ```
//!
//! Damage is reported, never papered over: a record that does not decode, an incomplete
//! record at the end of a segment (left by a crash), or one longer than the limit, is an
//! error that names the file and the byte offset. By default the reader reports it and
//! goes on with the next record; [`Reader::on_error`] makes it stop instead.
//!
//! A stream's manifest reads back typed with [`read_manifest`], and [`verify`] checks a
//! whole stream against it (what `trail verify` prints).
//!
//! The file passes 800 lines because the reader's two ways of iterating (owned records and
//! one lent, reused record) share its opening, ordering and damage handling, and read
//! clearest side by side; decoding per format, framing, tail and scan are files of their own.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

mod binary;
mod csv;
mod error;
mod framing;
mod json;
mod manifest;
mod record;
#[cfg(any(feature = "writer", fuzzing))]
mod scan;
mod span;
mod tail;
mod text;
mod timestamp;
mod verify;

pub use crate::format::manifest::{
    Manifest, SegmentEntry, TornTail, MANIFEST_VERSION, SCHEMA_VERSION,
};
pub use error::{ReadError, ReadErrorKind};
#[cfg(feature = "writer")]
pub(crate) use manifest::load as load_manifest;
pub use manifest::read_manifest;
pub use record::{FieldValue, LogRecord};
#[cfg(feature = "writer")]
pub(crate) use scan::scan_file;
pub use verify::{verify, Verification, MAX_LISTED_PROBLEMS};

use crate::format::binary::check_header;
use crate::format::segment_name::{self, Found};
use crate::format::Format;
use framing::Line;

/// The default limit on one record's length, beyond which it is reported and skipped.
pub const DEFAULT_MAX_RECORD_BYTES: usize = crate::limits::MAX_RECORD_BYTES;

/// The scan that recovery at start makes of a segment it reads back: its record count
/// and last `seq`. Built only for the fuzz targets (`--cfg fuzzing`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_scan(format: FileFormat, bytes: &[u8]) -> io::Result<(u64, Option<u64>)> {
    scan::scan(format, bytes).map(|s| (s.records, s.last_seq))
}

/// Opens a segment file, or a directory that holds one stream, for reading.
///
/// A directory with several streams is an error that names them; use [`open_stream`].
pub fn open(path: impl AsRef<Path>) -> Result<Reader, ReadError> {
    let path = path.as_ref();
    let meta = std::fs::metadata(path).map_err(|e| ReadError::io(path, None, e))?;
    if !meta.is_dir() {
        let format = format_of(path).ok_or_else(|| {
            ReadError::new(
                path,
                None,
                ReadErrorKind::Unsupported,
                format!(
                    "not a segment file: expected a name ending in {}",
                    Format::expected_names()
                ),
            )
        })?;
        let name = file_name(path);
        // A hidden active segment is read under its final name, and found there once it is
        // sealed.
        let hidden = name
            .split_once('.')
            .and_then(|(stem, _)| segment_name::parse_hidden(stem.get(1..)?, &name))
            .map(|(_, _, base)| base.to_owned());
        let (base, hidden) = match hidden {
            Some(base) => (base, true),
            None => (name.strip_suffix(".gz").unwrap_or(&name).to_owned(), false),
        };
        return Ok(Reader::new(vec![Source {
            path: path.to_owned(),
            base,
            format,
            given: None,
            hidden,
        }]));
    }
    let streams = segment_name::streams(path).map_err(|e| ReadError::io(path, None, e))?;
    match streams.as_slice() {
        [one] => open_stream(path, one),
        [] => Err(ReadError::new(
            path,
            None,
            ReadErrorKind::Unsupported,
            "no trail segments in this directory".into(),
        )),
        many => Err(ReadError::new(
            path,
            None,
            ReadErrorKind::Unsupported,
            format!(
                "this directory holds {} streams ({}); open one by name",
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

/// Opens the stream `name` in `dir`: every segment, oldest first.
pub fn open_stream(dir: impl AsRef<Path>, name: &str) -> Result<Reader, ReadError> {
    let dir = dir.as_ref();
    let found = segment_name::list(dir, name).map_err(|e| ReadError::io(dir, None, e))?;
    let mut sources: Vec<Source> = Vec::new();
    for f in found {
        // While a segment is being renamed or compressed both files may be listed; read
        // the first name it had, which leads on to the others (see `open_segment`).
        if sources.last().is_some_and(|s| s.base == f.base) {
            continue;
        }
        sources.push(Source::from_found(f));
    }
    let mut reader = Reader::new(sources);
    reader.stream = Some((dir.to_owned(), name.to_owned()));
    Ok(reader)
}

/// Reads records of `format` from any input, such as standard input or bytes in memory.
/// `label` names the input in errors, where a file would name its path.
///
/// ```
/// use trail::read::{from_reader, FileFormat};
///
/// let line = r#"{"ts":"2026-11-23T22:06:12.000000001Z","level":"warn","seq":7,"target":"t","msg":"disk low","fields":{"free":0.04},"file":"src/d.rs","line":3,"thread":"main"}"#;
/// let input = std::io::Cursor::new(format!("{line}\n"));
/// let records: Vec<_> = from_reader(input, FileFormat::Json, "<memory>").collect::<Result<_, _>>()?;
/// assert_eq!(records[0].msg, "disk low");
/// # Ok::<(), trail::read::ReadError>(())
/// ```
pub fn from_reader(input: impl Read + Send + 'static, format: FileFormat, label: &str) -> Reader {
    Reader::new(vec![Source {
        path: PathBuf::from(label),
        base: label.to_owned(),
        format,
        given: Some(Box::new(BufReader::with_capacity(256 * 1024, input))),
        hidden: false,
    }])
}

/// What the reader does after reporting a damaged record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnError {
    /// Report it, then go on with the next record (the default).
    #[default]
    Skip,
    /// Report it, then end the iteration.
    Stop,
}

/// Where a reader stands: the segment, the byte offset after the last record read (in
/// uncompressed bytes), and that record's `seq`. [`Reader::resume`] starts right after it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The segment's file name, without `.gz`.
    pub segment: String,
    /// The offset just past the last record read.
    pub offset: u64,
    /// The `seq` of the last record read.
    pub seq: u64,
}

/// The format of a segment's bytes, for [`from_reader`]; files name theirs by extension.
/// The same enum as [`trail::Format`](crate::Format), under the name the reader has
/// always given it.
pub use crate::format::Format as FileFormat;

/// The format of the segment file at `path`, by its extension.
fn format_of(path: &Path) -> Option<FileFormat> {
    FileFormat::of_file_name(&file_name(path)).map(|(format, _)| format)
}

/// A segment being decoded: its format and what it has defined so far.
struct Decoder {
    format: FileFormat,
    dictionary: binary::Dictionary,
    clock: timestamp::TimestampParser,
}

impl Decoder {
    fn new(format: FileFormat) -> Decoder {
        Decoder {
            format,
            dictionary: binary::Dictionary::default(),
            clock: timestamp::TimestampParser::default(),
        }
    }

    /// Decodes one record into `out`; `false` for what is not a record (a header, a
    /// definition). `lent` says that `out` is the reader's own record, which holds the
    /// last record decoded, so that text the two share can be left in place.
    fn decode(
        &mut self,
        offset: u64,
        record: &[u8],
        out: &mut LogRecord,
        lent: bool,
    ) -> Result<bool, String> {
        if !lent {
            self.dictionary.forget_filled();
        }
        let decoded = self.decode_into(offset, record, out);
        if !lent {
            self.dictionary.forget_filled();
        }
        decoded
    }

    fn decode_into(
        &mut self,
        offset: u64,
        record: &[u8],
        out: &mut LogRecord,
    ) -> Result<bool, String> {
        match self.format {
            FileFormat::Json => json::decode(record, out, &mut self.clock).map(|()| true),
            FileFormat::Csv => csv::decode(record, out, &mut self.clock),
            FileFormat::Text => {
                *out = record::exact_numbers(|| text::decode(record, &mut self.clock))?;
                Ok(true)
            }
            FileFormat::Binary if offset == 0 => check_header(record).map(|()| false),
            FileFormat::Binary => binary::decode(&mut self.dictionary, record, out),
        }
    }
}

struct Source {
    path: PathBuf,
    base: String,
    format: FileFormat,
    /// An input given by the caller instead of a file.
    given: Option<Box<dyn BufRead + Send>>,
    /// Whether `path` is a hidden active segment's name, which it leaves when sealed.
    hidden: bool,
}

impl Source {
    fn from_found(f: Found) -> Source {
        Source {
            format: format_of(&f.path).unwrap_or(FileFormat::Json),
            path: f.path,
            base: f.base,
            given: None,
            hidden: f.hidden,
        }
    }

    fn compressed(&self) -> bool {
        self.path.extension().is_some_and(|e| e == "gz")
    }
}

struct Open {
    source: usize,
    input: Box<dyn BufRead + Send>,
    offset: u64,
    decoder: Decoder,
}

/// An iterator over the records of a segment or a stream.
pub struct Reader {
    sources: Vec<Source>,
    next_source: usize,
    /// Bytes to skip in the next source opened (when resuming).
    skip: u64,
    current: Option<Open>,
    on_error: OnError,
    max_record: usize,
    stopped: bool,
    line: Vec<u8>,
    /// The record [`Reader::next_ref`] lends, its buffers reused from one record to the
    /// next; boxed, so that taking it out to decode into moves a pointer, not the record.
    record: Option<Box<LogRecord>>,
    checkpoint: Option<Checkpoint>,
    /// The index of the source that `checkpoint` names, once a record of it was read.
    checkpoint_source: Option<usize>,
    /// Definitions to load before reading the source at this index from `skip` (binary).
    preload: Option<(usize, Vec<Vec<u8>>)>,
    /// The directory and stream name, when the reader reads a stream.
    stream: Option<(PathBuf, String)>,
}

impl Reader {
    fn new(sources: Vec<Source>) -> Reader {
        Reader {
            sources,
            next_source: 0,
            skip: 0,
            current: None,
            on_error: OnError::Skip,
            max_record: DEFAULT_MAX_RECORD_BYTES,
            stopped: false,
            line: Vec::new(),
            record: None,
            checkpoint: None,
            checkpoint_source: None,
            preload: None,
            stream: None,
        }
    }

    /// Chooses what happens after a damaged record is reported.
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// Sets the longest record accepted; a longer one is reported and skipped, and never
    /// held in memory whole.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record = bytes.max(1);
        self
    }

    /// Starts right after `checkpoint`. If its segment is gone (deleted by retention), the
    /// reader starts at the first segment after it; the `seq` of what it reads then shows
    /// whether anything was missed.
    pub fn resume(mut self, checkpoint: &Checkpoint) -> Self {
        match self
            .sources
            .iter()
            .position(|s| s.base == checkpoint.segment)
        {
            Some(i) => {
                self.next_source = i;
                self.skip = checkpoint.offset;
            }
            None => {
                self.next_source = self
                    .sources
                    .iter()
                    .position(|s| s.base > checkpoint.segment)
                    .unwrap_or(self.sources.len());
                self.skip = 0;
                // The listing can miss a segment renamed while the directory was read (a
                // hidden active segment being sealed): looked up by name, it is still there.
                if let Some(source) = self.renamed_segment(&checkpoint.segment) {
                    self.sources.insert(self.next_source, source);
                    self.skip = checkpoint.offset;
                }
            }
        }
        self.current = None;
        self.checkpoint = Some(checkpoint.clone());
        self.checkpoint_source = None;
        self
    }

    /// Starts at the last `n` records of what the reader would read, reading only the end
    /// of the stream: segments are looked at from the last one back until `n` records are
    /// found. A damaged or incomplete record counts as one of the `n`. Replaces any
    /// [`resume`](Reader::resume) made before; an input given to [`from_reader`] is read
    /// from its start, as it cannot be read from its end.
    ///
    #[cfg_attr(feature = "writer", doc = "```")]
    #[cfg_attr(not(feature = "writer"), doc = "```ignore")]
    /// # let dir = tempfile::tempdir().unwrap();
    /// # {
    /// #     let _g = trail::builder().dir(dir.path()).name("shop").install().unwrap();
    /// #     for n in 0..10_u32 { trail::info!(n, "event"); }
    /// # }
    /// let last: Vec<_> = trail::read::open(dir.path())?.last(3).collect::<Result<_, _>>()?;
    /// assert_eq!(last.len(), 3);
    /// assert_eq!(last[2].field("n"), Some(&trail::read::FieldValue::U64(9)));
    /// # Ok::<(), trail::read::ReadError>(())
    /// ```
    ///
    /// Finding the place fails only if a segment cannot be opened; the error is then the
    /// first item.
    pub fn last(mut self, n: usize) -> Self {
        self.current = None;
        self.preload = None;
        self.skip = 0;
        self.next_source = 0;
        if self.sources.iter().any(|s| s.given.is_some()) {
            return self;
        }
        if n == 0 {
            self.next_source = self.sources.len();
            return self;
        }
        let mut left = n;
        for index in (0..self.sources.len()).rev() {
            let source = &self.sources[index];
            let found = tail::last_starts(
                &source.path,
                source.compressed(),
                source.hidden,
                source.format,
                left,
                self.max_record,
            );
            match found {
                Ok(starts) if starts.records >= left => {
                    self.next_source = index;
                    self.skip = starts.offset;
                    if source.format == FileFormat::Binary {
                        self.preload = Some((index, starts.definitions));
                    }
                    return self;
                }
                Ok(starts) => left -= starts.records,
                Err(_) => {
                    // Reading from this segment on reports the failure as it would anyway.
                    self.next_source = index;
                    return self;
                }
            }
        }
        self
    }

    /// The segment `base` of the stream read, if one of its names exists although the
    /// listing did not show it: as a source at its first name, from which `open_segment`
    /// goes on to the later ones.
    fn renamed_segment(&self, base: &str) -> Option<Source> {
        let (dir, stream) = self.stream.as_ref()?;
        let (_, _, false) = segment_name::parse_name(stream, base)? else {
            return None;
        };
        let hidden = dir.join(segment_name::hidden_name(base));
        let names = [
            hidden.clone(),
            dir.join(base),
            dir.join(format!("{base}.gz")),
        ];
        if !names.iter().any(|p| p.is_file()) {
            return None;
        }
        let (path, hidden) = if segment_name::prefixed_stream_exists(dir, stream) {
            (dir.join(base), false)
        } else {
            (hidden, true)
        };
        Some(Source {
            format: format_of(&path).unwrap_or(FileFormat::Json),
            path,
            base: base.to_owned(),
            given: None,
            hidden,
        })
    }

    /// The name of the stream this reader reads, when it was opened on a directory.
    ///
    #[cfg_attr(feature = "writer", doc = "```")]
    #[cfg_attr(not(feature = "writer"), doc = "```ignore")]
    /// # let dir = tempfile::tempdir().unwrap();
    /// # {
    /// #     let _g = trail::builder().dir(dir.path()).name("shop").install().unwrap();
    /// #     trail::info!("event");
    /// # }
    /// assert_eq!(trail::read::open(dir.path())?.stream(), Some("shop"));
    /// # Ok::<(), trail::read::ReadError>(())
    /// ```
    pub fn stream(&self) -> Option<&str> {
        self.stream.as_ref().map(|(_, name)| name.as_str())
    }

    /// Where the reader stands after the last record it returned.
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoint.as_ref()
    }

    /// The files this reader goes through, in order.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.sources.iter().map(|s| s.path.as_path())
    }

    fn open_next(&mut self) -> Option<Result<(), ReadError>> {
        let index = self.next_source;
        if index >= self.sources.len() {
            return None;
        }
        self.next_source += 1;
        let skip = std::mem::take(&mut self.skip);
        Some(self.open_source(index, skip))
    }

    fn open_source(&mut self, index: usize, skip: u64) -> Result<(), ReadError> {
        let source = &mut self.sources[index];
        let path = source.path.clone();
        let format = source.format;
        let given = source.given.take();
        let compressed = source.compressed();
        let hidden = source.hidden;
        let preload = match self.preload.take() {
            Some((at, definitions)) if at == index => Some(definitions),
            other => {
                self.preload = other;
                None
            }
        };
        // Where the input already stands: an uncompressed file is sought to `skip` when
        // nothing before it needs reading (text formats, or binary with its definitions
        // known).
        let mut at = 0;
        let input: Box<dyn BufRead + Send> = match given {
            Some(input) => input,
            None => {
                let (mut file, compressed) = open_segment(&path, compressed, hidden)?;
                if skip > 0 && !compressed && (format != FileFormat::Binary || preload.is_some()) {
                    let len = file
                        .metadata()
                        .map_err(|e| ReadError::io(&path, None, e))?
                        .len();
                    if len >= skip {
                        io::Seek::seek(&mut file, io::SeekFrom::Start(skip))
                            .map_err(|e| ReadError::io(&path, Some(skip), e))?;
                        at = skip;
                    }
                }
                if compressed {
                    Box::new(BufReader::with_capacity(
                        256 * 1024,
                        flate2::read::MultiGzDecoder::new(BufReader::new(file)),
                    ))
                } else {
                    Box::new(BufReader::with_capacity(256 * 1024, file))
                }
            }
        };
        let mut open = Open {
            source: index,
            input,
            offset: at,
            decoder: Decoder::new(format),
        };
        let preloaded = preload.is_some();
        // What is decoded only to learn the definitions goes here.
        let mut scratch = LogRecord::blank();
        if let Some(definitions) = preload {
            for payload in definitions {
                // Each was checked when it was found; a bad one is reported where it stands
                // by a reader that reads the segment whole.
                let _ = binary::decode(&mut open.decoder.dictionary, &payload, &mut scratch);
            }
        }
        if skip > at {
            if format == FileFormat::Binary && !preloaded {
                // Records refer to definitions made earlier in the segment: read them again.
                while open.offset < skip {
                    let (what, consumed) = framing::next(
                        format,
                        &mut *open.input,
                        open.offset,
                        &mut self.line,
                        self.max_record,
                    )
                    .map_err(|e| ReadError::io(&path, Some(open.offset), e))?;
                    match what {
                        Line::Whole => {
                            let _ =
                                open.decoder
                                    .decode(open.offset, &self.line, &mut scratch, false);
                        }
                        Line::TooLong | Line::Damaged(_) => {}
                        Line::End | Line::Torn | Line::Unframable(_) => break,
                    }
                    open.offset += consumed;
                }
            } else {
                let skipped = io::copy(
                    &mut io::Read::take(&mut open.input, skip - at),
                    &mut io::sink(),
                )
                .map_err(|e| ReadError::io(&path, Some(at), e))?;
                open.offset = at + skipped;
            }
            if open.offset != skip {
                return Err(ReadError::new(
                    &path,
                    Some(skip),
                    ReadErrorKind::Corrupt,
                    "the checkpoint is not at a record boundary of this segment".into(),
                ));
            }
        }
        self.current = Some(open);
        Ok(())
    }

    fn fail(&mut self, error: ReadError) -> Option<Result<(), ReadError>> {
        if self.on_error == OnError::Stop {
            self.stopped = true;
        }
        Some(Err(error))
    }
}

impl Reader {
    /// The next record, lent: the reader keeps one record and decodes each into it,
    /// reusing its strings and field list, so that reading allocates next to nothing. The
    /// same records, damage reports and checkpoints as iterating; clone the record to keep it.
    ///
    #[cfg_attr(feature = "writer", doc = "```")]
    #[cfg_attr(not(feature = "writer"), doc = "```ignore")]
    /// # let dir = tempfile::tempdir().unwrap();
    /// # {
    /// #     let _g = trail::builder().dir(dir.path()).name("shop").install().unwrap();
    /// #     for n in 0..3_u32 { trail::info!(n, "event"); }
    /// # }
    /// let mut reader = trail::read::open(dir.path())?;
    /// let mut total = 0;
    /// while let Some(record) = reader.next_ref() {
    ///     if let Some(trail::read::FieldValue::U64(n)) = record?.field("n") {
    ///         total += n;
    ///     }
    /// }
    /// assert_eq!(total, 3);
    /// # Ok::<(), trail::read::ReadError>(())
    /// ```
    pub fn next_ref(&mut self) -> Option<Result<&LogRecord, ReadError>> {
        let mut record = self
            .record
            .take()
            .unwrap_or_else(|| Box::new(LogRecord::blank()));
        let outcome = self.advance(&mut record, true);
        let record: &LogRecord = self.record.insert(record);
        outcome.map(|result| result.map(|()| record))
    }

    /// Decodes the next record into `out`, or reports the next damage. `lent`: `out` is
    /// the reader's own record (see [`Decoder::decode`]).
    fn advance(&mut self, out: &mut LogRecord, lent: bool) -> Option<Result<(), ReadError>> {
        loop {
            if self.stopped {
                return None;
            }
            let Some(open) = self.current.as_mut() else {
                match self.open_next()? {
                    Ok(()) => continue,
                    Err(e) => return self.fail(e),
                }
            };
            let source = &self.sources[open.source];
            let start = open.offset;
            // A record the input's buffer holds whole is decoded where it stands; the rest
            // is framed into `line` first.
            let mut decoded = None;
            let outcome = match open.input.fill_buf() {
                Ok(buffered) => {
                    match framing::buffered(source.format, buffered, start, self.max_record) {
                        Some((record, consumed)) => {
                            decoded =
                                Some(open.decoder.decode(start, &buffered[record], out, lent));
                            open.input.consume(consumed);
                            Some(Ok((Line::Whole, consumed as u64)))
                        }
                        None => None,
                    }
                }
                // Reported as `next` would report it: a second read might not fail again.
                Err(e) if e.kind() != io::ErrorKind::Interrupted => Some(Err(e)),
                Err(_) => None,
            }
            .unwrap_or_else(|| {
                framing::next(
                    source.format,
                    &mut *open.input,
                    start,
                    &mut self.line,
                    self.max_record,
                )
            });
            let error = match outcome {
                Err(e) => {
                    self.current = None;
                    ReadError::io(&source.path, Some(start), e)
                }
                Ok((Line::End, _)) => {
                    self.current = None;
                    continue;
                }
                Ok((Line::Whole, consumed)) => {
                    open.offset += consumed;
                    let decoded = decoded
                        .unwrap_or_else(|| open.decoder.decode(start, &self.line, out, lent));
                    match decoded {
                        Ok(false) => continue,
                        Ok(true) => {
                            // Kept in place: a new segment name only when the source changes.
                            match &mut self.checkpoint {
                                Some(c) if self.checkpoint_source == Some(open.source) => {
                                    c.offset = open.offset;
                                    c.seq = out.seq;
                                }
                                checkpoint => {
                                    *checkpoint = Some(Checkpoint {
                                        segment: source.base.clone(),
                                        offset: open.offset,
                                        seq: out.seq,
                                    });
                                    self.checkpoint_source = Some(open.source);
                                }
                            }
                            return Some(Ok(()));
                        }
                        Err(detail) => {
                            // A binary segment without its header cannot be read on.
                            if start == 0 && source.format == FileFormat::Binary {
                                self.current = None;
                            }
                            ReadError::new(
                                &source.path,
                                Some(start),
                                ReadErrorKind::Corrupt,
                                detail,
                            )
                        }
                    }
                }
                Ok((Line::Torn, consumed)) => {
                    self.current = None;
                    ReadError::new(
                        &source.path,
                        Some(start),
                        ReadErrorKind::Torn,
                        format!("incomplete record at the end of the segment ({consumed} bytes)"),
                    )
                }
                Ok((Line::TooLong, consumed)) => {
                    open.offset += consumed;
                    ReadError::new(
                        &source.path,
                        Some(start),
                        ReadErrorKind::TooLong,
                        format!(
                            "record of {consumed} bytes is longer than the limit of {} bytes",
                            self.max_record
                        ),
                    )
                }
                Ok((Line::Damaged(detail), consumed)) => {
                    open.offset += consumed;
                    ReadError::new(&source.path, Some(start), ReadErrorKind::Corrupt, detail)
                }
                Ok((Line::Unframable(detail), _)) => {
                    self.current = None;
                    ReadError::new(&source.path, Some(start), ReadErrorKind::Corrupt, detail)
                }
            };
            return self.fail(error);
        }
    }
}

impl Iterator for Reader {
    type Item = Result<LogRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = LogRecord::blank();
        self.advance(&mut record, false)
            .map(|result| result.map(|()| record))
    }
}

/// Opens a segment. A segment's names follow one another: a hidden active one (`_X`) is
/// renamed `X` when sealed, and one found uncompressed may have been compressed since it
/// was listed, its `X.gz` twin holding the same bytes (offsets count uncompressed bytes).
/// Each name is tried in that order, so that a rename between two tries is never missed.
fn open_segment(path: &Path, compressed: bool, hidden: bool) -> Result<(File, bool), ReadError> {
    let first = match File::open(path) {
        Ok(file) => return Ok((file, compressed)),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !compressed => e,
        Err(e) => return Err(ReadError::io(path, None, e)),
    };
    let plain = if hidden {
        let name = file_name(path);
        let plain = path.with_file_name(name.get(1..).unwrap_or_default());
        match File::open(&plain) {
            Ok(file) => return Ok((file, false)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => plain,
            Err(e) => return Err(ReadError::io(&plain, None, e)),
        }
    } else {
        path.to_owned()
    };
    let mut gz = plain.into_os_string();
    gz.push(".gz");
    File::open(&gz)
        .map(|file| (file, true))
        .map_err(|_| ReadError::io(path, None, first))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lent record keeps the text of the last one where the next shares its call site;
    /// records read in between into records of their own, of another call site, change
    /// nothing of that.
    #[cfg(feature = "writer")]
    #[test]
    fn lent_and_owned_records_read_alike_in_any_order() {
        let mut encoder = crate::convert::RecordEncoder::new(FileFormat::Binary);
        let mut bytes = Vec::new();
        encoder.begin_segment(&mut bytes);
        let mut written = Vec::new();
        for seq in 1..=12u64 {
            let mut record = LogRecord::blank();
            record.seq = seq;
            record.msg = format!("m{seq}");
            // Call sites and threads change every few records, each pair in its own way.
            record.target = ["a", "b", "c"][(seq / 2 % 3) as usize].to_owned();
            record.thread = ["main", "worker"][(seq / 3 % 2) as usize].to_owned();
            record.fields = vec![(format!("k{}", seq / 4 % 2), FieldValue::U64(seq))];
            encoder.encode(&record, &mut bytes);
            written.push(record);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.20261123T220612.000000000Z.bin");
        std::fs::write(&path, bytes).unwrap();
        // Every way of taking the twelve records, each lent or owned.
        for pattern in 0..1u32 << written.len() {
            let mut reader = open(&path).unwrap();
            for (i, expected) in written.iter().enumerate() {
                let read = match pattern >> i & 1 {
                    1 => reader.next_ref().unwrap().unwrap().clone(),
                    _ => reader.next().unwrap().unwrap(),
                };
                assert_eq!(&read, expected, "pattern {pattern:#b}, record {i}");
            }
            assert!(reader.next_ref().is_none());
        }
    }

    /// An input that fails once and then says it has ended: the failure is reported, in
    /// every format, not taken for the end.
    #[test]
    fn a_read_that_fails_once_is_an_error_not_an_end() {
        struct FailsOnce(bool);
        impl Read for FailsOnce {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Ok(0);
                }
                Err(io::Error::other("the disk went away"))
            }
        }
        for format in [
            FileFormat::Json,
            FileFormat::Csv,
            FileFormat::Text,
            FileFormat::Binary,
        ] {
            let mut reader = from_reader(FailsOnce(false), format, "<input>");
            let error = reader.next_ref().unwrap().unwrap_err();
            assert_eq!(error.kind(), ReadErrorKind::Io, "{format:?}");
            assert!(error.to_string().contains("the disk went away"), "{error}");
            assert!(reader.next_ref().is_none());
        }
    }

    #[test]
    fn a_file_that_is_not_a_segment_is_an_error_naming_every_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "hello\n").unwrap();
        let error = open(&path).err().expect("not a segment");
        assert_eq!(error.kind(), ReadErrorKind::Unsupported);
        assert_eq!(error.path(), path);
        let text = error.to_string();
        for extension in [".jsonl", ".csv", ".log", ".bin", ".gz"] {
            assert!(text.contains(extension), "{text}");
        }
    }
}
