//! `trail verify`: every segment checked for framing and checksums, against the manifest,
//! and for `seq` continuity across the stream.
//!
//! Segments are streamed, never held whole, and only the first problems are kept for the
//! report (the rest are counted), so memory stays bounded whatever the files hold.

use std::io::{self, Read};
use std::path::Path;

use serde::Deserialize;
use trail::limits::MAX_MANIFEST_BYTES;
use trail::read::ReadErrorKind;

use crate::Fatal;

/// How many problems the report lists; past this they are only counted.
const SHOWN_PROBLEMS: usize = 100;

/// The manifest's fields that `verify` checks. A field that is absent reads as `null`.
#[derive(Deserialize)]
struct ManifestFile {
    #[serde(default)]
    segments: Vec<Listed>,
}

#[derive(Deserialize)]
struct Listed {
    file: String,
    bytes: Option<u64>,
    crc32: Option<u64>,
    records: Option<u64>,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    torn_tail: Option<TornTail>,
}

#[derive(Deserialize)]
struct TornTail {
    offset: u64,
}

/// The problems found: the first [`SHOWN_PROBLEMS`] of them, and how many in all.
#[derive(Default)]
struct Problems {
    shown: Vec<String>,
    total: u64,
}

impl Problems {
    fn push(&mut self, problem: String) {
        self.total += 1;
        if self.shown.len() < SHOWN_PROBLEMS {
            self.shown.push(problem);
        }
    }

    fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// A value as the report prints it: the number, or `null`.
fn shown(value: Option<u64>) -> String {
    value.map_or_else(|| "null".into(), |v| v.to_string())
}

/// Reads the manifest, refusing one past [`MAX_MANIFEST_BYTES`] before parsing it.
fn read_manifest(path: &Path) -> io::Result<Result<ManifestFile, String>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Ok(Err(format!(
            "larger than the limit of {MAX_MANIFEST_BYTES} bytes"
        )));
    }
    Ok(serde_json::from_slice(&bytes).map_err(|e| format!("not a valid manifest: {e}")))
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

pub fn run(dir: &Path) -> Result<u8, Fatal> {
    if !dir.is_dir() {
        return Err(Fatal(
            2,
            format!("{} is not a stream directory", dir.display()),
        ));
    }
    let reader = trail::read::open(dir)?;
    let files: Vec<std::path::PathBuf> = reader.files().map(Path::to_path_buf).collect();
    let stream = reader.stream().unwrap_or_default().to_owned();
    let mut problems = Problems::default();
    let mut notes: Vec<String> = Vec::new();

    let manifest_path = dir.join(format!("{stream}.manifest.json"));
    let manifest: Vec<Listed> = match read_manifest(&manifest_path) {
        Ok(Ok(m)) => m.segments,
        Ok(Err(why)) => {
            problems.push(format!("{}: {why}", manifest_path.display()));
            Vec::new()
        }
        Err(_) => {
            notes.push(format!("{}: no manifest", manifest_path.display()));
            Vec::new()
        }
    };
    let base = |name: &str| name.strip_suffix(".gz").unwrap_or(name).to_owned();

    // Continuity needs only the previous record's seq and segment.
    let mut previous: Option<(u64, String)> = None;
    let (mut first_seq, mut last_seq) = (None, None);
    let (mut segments, mut records) = (0usize, 0u64);
    for (i, path) in files.iter().enumerate() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let (length, crc) = match length_and_crc(path) {
            Ok(measured) => measured,
            Err(e) => {
                problems.push(format!("{}: cannot be read: {e}", path.display()));
                continue;
            }
        };
        segments += 1;
        let (mut count, mut first, mut last, mut torn_at) = (0u64, None, None, None);
        let reader = match trail::read::open(path) {
            Ok(reader) => reader,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        for record in reader {
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
                            problems.push(format!(
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
                Err(e) => problems.push(e.to_string()),
            }
        }
        records += count;
        let entry = manifest.iter().find(|e| base(&e.file) == base(&name));
        match entry {
            None if i + 1 == files.len() => notes.push(format!("{name}: active (not sealed yet)")),
            None => problems.push(format!("{name}: sealed but not in the manifest")),
            Some(entry) => {
                let mut expect = |what: &str, listed: Option<u64>, actual: Option<u64>| {
                    if listed != actual {
                        problems.push(format!(
                            "{name}: {what} is {}, the manifest says {}",
                            shown(actual),
                            shown(listed)
                        ));
                    }
                };
                expect("the length", entry.bytes, Some(length));
                expect("the CRC-32", entry.crc32, Some(crc.into()));
                expect("the record count", entry.records, Some(count));
                expect("the first seq", entry.first_seq, first);
                expect("the last seq", entry.last_seq, last);
                let listed_torn = entry.torn_tail.as_ref().map(|t| t.offset);
                match (torn_at, listed_torn) {
                    (Some(at), Some(listed)) if at == listed => notes.push(format!(
                        "{name}: incomplete record at byte {at}, left by a crash (in the manifest)"
                    )),
                    (None, None) => {}
                    (at, listed) => problems.push(format!(
                        "{name}: incomplete record at {at:?}, the manifest says {listed:?}"
                    )),
                }
                torn_at = None;
            }
        }
        if let Some(at) = torn_at {
            if i + 1 == files.len() {
                notes.push(format!(
                    "{name}: incomplete record at byte {at} (being written, or left by a crash)"
                ));
            } else {
                problems.push(format!("{name}: incomplete record at byte {at}"));
            }
        }
    }
    for entry in &manifest {
        if !files
            .iter()
            .any(|f| f.file_name().and_then(|n| n.to_str()).map(base) == Some(base(&entry.file)))
        {
            problems.push(format!(
                "{}: listed in the manifest but missing",
                entry.file
            ));
        }
    }

    let mut report = String::new();
    use std::fmt::Write as _;
    // File names and manifest entries are anyone's text: escaped for the terminal.
    for note in &notes {
        let _ = writeln!(report, "note: {}", trail::terminal::escape_controls(note));
    }
    for problem in &problems.shown {
        let _ = writeln!(
            report,
            "problem: {}",
            trail::terminal::escape_controls(problem)
        );
    }
    let unshown = problems.total - problems.shown.len() as u64;
    if unshown > 0 {
        let _ = writeln!(report, "problem: ... and {unshown} more, not listed");
    }
    let range = match (first_seq, last_seq) {
        (Some(a), Some(b)) => format!(", seq {a}..={b}"),
        _ => String::new(),
    };
    if problems.is_empty() {
        let _ = writeln!(report, "ok: {segments} segments, {records} records{range}");
    } else {
        let _ = writeln!(
            report,
            "FAILED: {} problems in {segments} segments, {records} records{range}",
            problems.total
        );
    }
    let mut bytes = report.into_bytes();
    crate::emit(&mut bytes)?;
    Ok(u8::from(!problems.is_empty()))
}
