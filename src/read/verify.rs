//! Verifying a stream directory: every segment checked for framing and checksums, against
//! the manifest, and for `seq` continuity across the stream.
//!
//! Segments are streamed, never held whole, and only the first problems are kept (the rest
//! are counted), so memory stays bounded whatever the files hold.

use std::io;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use super::{ReadError, ReadErrorKind};
use crate::format::manifest::{Manifest, SegmentEntry};

/// How many problems a [`Verification`] lists; past this they are only counted.
pub const MAX_LISTED_PROBLEMS: usize = 100;

/// What [`verify`] found in a stream directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// Facts worth knowing that are not damage: no manifest yet, the active segment not
    /// sealed yet, an incomplete record that the manifest lists as left by a crash.
    pub notes: Vec<String>,
    /// The first [`MAX_LISTED_PROBLEMS`] problems, each naming its file (and byte offset
    /// where there is one).
    pub problems: Vec<String>,
    /// How many problems there are in all, listed or not.
    pub problem_count: u64,
    /// How many segments were read.
    pub segments: usize,
    /// How many records they hold.
    pub records: u64,
    /// The first and last `seq` read, in file order.
    pub seq: Option<RangeInclusive<u64>>,
}

impl Verification {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problem_count == 0
    }

    /// How many problems were counted but not listed.
    pub fn unlisted_problems(&self) -> u64 {
        self.problem_count - self.problems.len() as u64
    }

    fn problem(&mut self, problem: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(problem);
        }
    }
}

/// Checks the stream in `dir`: every record of every segment decodes, each sealed segment
/// has the length, CRC-32, record count, `seq` range and torn tail that the manifest lists,
/// the manifest lists nothing that is missing, and `seq` goes up by one from each record to
/// the next across the whole stream.
///
/// Damage is the report's, not an error: the error is for a `dir` that cannot be opened as
/// one stream.
///
#[cfg_attr(feature = "writer", doc = "```")]
#[cfg_attr(not(feature = "writer"), doc = "```ignore")]
/// # let dir = tempfile::tempdir().unwrap();
/// # {
/// #     let guard = trail::builder().dir(dir.path()).name("shop").install().unwrap();
/// #     trail::info!("one");
/// #     guard.rotate();
/// #     trail::info!("two");
/// # }
/// let report = trail::read::verify(dir.path())?;
/// assert!(report.is_ok(), "{:?}", report.problems);
/// assert_eq!((report.records, report.seq), (2, Some(1..=2)));
/// # Ok::<(), trail::read::ReadError>(())
/// ```
pub fn verify(dir: impl AsRef<Path>) -> Result<Verification, ReadError> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(ReadError::new(
            dir,
            None,
            ReadErrorKind::Unsupported,
            "not a stream directory".to_owned(),
        ));
    }
    let reader = super::open(dir)?;
    let files: Vec<PathBuf> = reader.files().map(Path::to_path_buf).collect();
    // The reader knows the stream's name, even when its active segment is hidden (`_NAME`).
    let stream = reader.stream().unwrap_or_default().to_owned();
    let mut report = Verification::default();

    let listed: Vec<SegmentEntry> = match super::read_manifest(dir, &stream) {
        Ok(Some(Manifest { segments, .. })) => segments,
        Ok(None) => {
            let path = dir.join(crate::format::manifest::file_name(&stream));
            report
                .notes
                .push(format!("{}: no manifest", path.display()));
            Vec::new()
        }
        Err(e) => {
            report.problem(e.to_string());
            Vec::new()
        }
    };
    let base = |name: &str| name.strip_suffix(".gz").unwrap_or(name).to_owned();

    // Continuity needs only the previous record's seq and segment.
    let mut previous: Option<(u64, String)> = None;
    let (mut first_seq, mut last_seq) = (None, None);
    for (i, path) in files.iter().enumerate() {
        let is_last = i + 1 == files.len();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let (length, crc) = match length_and_crc(path) {
            Ok(measured) => measured,
            Err(e) => {
                report.problem(format!("{}: cannot be read: {e}", path.display()));
                continue;
            }
        };
        report.segments += 1;
        let (mut count, mut first, mut last, mut torn_at) = (0u64, None, None, None);
        let mut reader = match super::open(path) {
            Ok(reader) => reader,
            Err(e) => {
                report.problem(e.to_string());
                continue;
            }
        };
        // Each record is decoded into the reader's own, reused from one to the next.
        while let Some(record) = reader.next_ref() {
            match record {
                Ok(r) => {
                    count += 1;
                    first.get_or_insert(r.seq);
                    last = Some(r.seq);
                    first_seq.get_or_insert(r.seq);
                    last_seq = Some(r.seq);
                    if let Some((a, file_a)) = &previous {
                        let (a, b) = (*a, r.seq);
                        if a.checked_add(1) != Some(b) {
                            let what = if b <= a {
                                "repeats or goes back"
                            } else {
                                "skips"
                            };
                            report.problem(format!(
                                "seq {what}: {a} ({file_a}) is followed by {b} ({name})"
                            ));
                        }
                    }
                    match &mut previous {
                        Some((seq, file)) if *file == name => *seq = r.seq,
                        _ => previous = Some((r.seq, name.clone())),
                    }
                }
                Err(e) if e.kind() == ReadErrorKind::Torn => torn_at = e.offset(),
                Err(e) => report.problem(e.to_string()),
            }
        }
        report.records += count;
        match listed.iter().find(|e| base(&e.file) == base(&name)) {
            None if is_last => report
                .notes
                .push(format!("{name}: active (not sealed yet)")),
            None => report.problem(format!("{name}: sealed but not in the manifest")),
            Some(entry) => {
                let mut expect = |what: &str, listed: Option<u64>, actual: Option<u64>| {
                    if listed != actual {
                        report.problem(format!(
                            "{name}: {what} is {}, the manifest says {}",
                            shown(actual),
                            shown(listed)
                        ));
                    }
                };
                expect("the length", Some(entry.bytes), Some(length));
                expect("the CRC-32", Some(entry.crc32.into()), Some(crc.into()));
                expect("the record count", Some(entry.records), Some(count));
                expect("the first seq", entry.first_seq, first);
                expect("the last seq", entry.last_seq, last);
                let listed_torn = entry.torn_tail.map(|t| t.offset);
                match (torn_at, listed_torn) {
                    (Some(at), Some(listed)) if at == listed => report.notes.push(format!(
                        "{name}: incomplete record at byte {at}, left by a crash (in the manifest)"
                    )),
                    (None, None) => {}
                    (at, listed) => report.problem(format!(
                        "{name}: incomplete record at {at:?}, the manifest says {listed:?}"
                    )),
                }
                torn_at = None;
            }
        }
        if let Some(at) = torn_at {
            if is_last {
                report.notes.push(format!(
                    "{name}: incomplete record at byte {at} (being written, or left by a crash)"
                ));
            } else {
                report.problem(format!("{name}: incomplete record at byte {at}"));
            }
        }
    }
    for entry in &listed {
        let present = files
            .iter()
            .any(|f| f.file_name().and_then(|n| n.to_str()).map(base) == Some(base(&entry.file)));
        if !present {
            report.problem(format!(
                "{}: listed in the manifest but missing",
                entry.file
            ));
        }
    }
    report.seq = first_seq.zip(last_seq).map(|(a, b)| a..=b);
    Ok(report)
}

/// A value as the report prints it: the number, or `null`.
fn shown(value: Option<u64>) -> String {
    value.map_or_else(|| "null".into(), |v| v.to_string())
}

/// The length and CRC-32 of a segment's bytes (uncompressed), read as a stream.
fn length_and_crc(path: &Path) -> io::Result<(u64, u32)> {
    struct Tally(crc32fast::Hasher, u64);
    impl io::Write for Tally {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.update(buf);
            self.1 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut tally = Tally(crc32fast::Hasher::new(), 0);
    let file = io::BufReader::new(std::fs::File::open(path)?);
    if path.extension().is_some_and(|e| e == "gz") {
        io::copy(&mut flate2::read::MultiGzDecoder::new(file), &mut tally)?;
    } else {
        io::copy(&mut { file }, &mut tally)?;
    }
    Ok((tally.1, tally.0.finalize()))
}
