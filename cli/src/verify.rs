//! `trail verify`: every segment checked for framing and checksums, against the manifest,
//! and for `seq` continuity across the stream.

use std::path::Path;

use serde_json::Value as Json;
use trail::read::{FileFormat, ReadErrorKind};

use crate::Fatal;

pub fn run(dir: &Path) -> Result<u8, Fatal> {
    if !dir.is_dir() {
        return Err(Fatal(
            2,
            format!("{} is not a stream directory", dir.display()),
        ));
    }
    let reader = trail::read::open(dir)?;
    let files: Vec<std::path::PathBuf> = reader.files().map(Path::to_path_buf).collect();
    let stream = files
        .first()
        .and_then(|f| {
            f.file_name()?
                .to_str()?
                .split_once('.')
                .map(|(s, _)| s.to_owned())
        })
        .unwrap_or_default();
    let mut problems: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    let manifest_path = dir.join(format!("{stream}.manifest.json"));
    let manifest: Vec<Json> = match std::fs::read(&manifest_path) {
        Ok(bytes) => match serde_json::from_slice::<Json>(&bytes) {
            Ok(m) => m["segments"].as_array().cloned().unwrap_or_default(),
            Err(e) => {
                problems.push(format!(
                    "{}: not a valid manifest: {e}",
                    manifest_path.display()
                ));
                Vec::new()
            }
        },
        Err(_) => {
            notes.push(format!("{}: no manifest", manifest_path.display()));
            Vec::new()
        }
    };
    let base = |name: &str| name.strip_suffix(".gz").unwrap_or(name).to_owned();

    let mut seqs: Vec<(u64, String)> = Vec::new();
    let (mut segments, mut records) = (0usize, 0u64);
    for (i, path) in files.iter().enumerate() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let bytes = match crate::read_whole(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                problems.push(format!("{}: cannot be read: {e}", path.display()));
                continue;
            }
        };
        segments += 1;
        let extension = base(&name)
            .rsplit_once('.')
            .map(|(_, e)| e.to_owned())
            .unwrap_or_default();
        let format = FileFormat::from_extension(&extension).unwrap_or(FileFormat::Json);
        let (mut count, mut first, mut last, mut torn_at) = (0u64, None, None, None);
        for record in trail::read::from_reader(
            std::io::Cursor::new(bytes.clone()),
            format,
            &path.display().to_string(),
        ) {
            match record {
                Ok(r) => {
                    count += 1;
                    first.get_or_insert(r.seq);
                    last = Some(r.seq);
                    seqs.push((r.seq, name.clone()));
                }
                Err(e) if e.kind() == ReadErrorKind::Torn => torn_at = e.offset(),
                Err(e) => problems.push(e.to_string()),
            }
        }
        records += count;
        let entry = manifest
            .iter()
            .find(|e| e["file"].as_str().map(base) == Some(base(&name)));
        match entry {
            None if i + 1 == files.len() => notes.push(format!("{name}: active (not sealed yet)")),
            None => problems.push(format!("{name}: sealed but not in the manifest")),
            Some(entry) => {
                let mut expect = |what: &str, listed: &Json, actual: Json| {
                    if *listed != actual {
                        problems.push(format!(
                            "{name}: {what} is {actual}, the manifest says {listed}"
                        ));
                    }
                };
                expect("the length", &entry["bytes"], bytes.len().into());
                expect(
                    "the CRC-32",
                    &entry["crc32"],
                    crc32fast::hash(&bytes).into(),
                );
                expect("the record count", &entry["records"], count.into());
                expect("the first seq", &entry["first_seq"], first.into());
                expect("the last seq", &entry["last_seq"], last.into());
                let listed_torn = entry["torn_tail"]["offset"].as_u64();
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
        let listed = entry["file"].as_str().unwrap_or_default();
        if !files
            .iter()
            .any(|f| f.file_name().and_then(|n| n.to_str()).map(base) == Some(base(listed)))
        {
            problems.push(format!("{listed}: listed in the manifest but missing"));
        }
    }
    for pair in seqs.windows(2) {
        let ((a, file_a), (b, file_b)) = (&pair[0], &pair[1]);
        if *b != a + 1 {
            let what = if b <= a {
                "repeats or goes back"
            } else {
                "skips"
            };
            problems.push(format!(
                "seq {what}: {a} ({file_a}) is followed by {b} ({file_b})"
            ));
        }
    }

    let mut report = String::new();
    use std::fmt::Write as _;
    // File names and manifest entries are anyone's text: escaped for the terminal.
    for note in &notes {
        let _ = writeln!(report, "note: {}", trail::terminal::escape_controls(note));
    }
    for problem in &problems {
        let _ = writeln!(
            report,
            "problem: {}",
            trail::terminal::escape_controls(problem)
        );
    }
    let range = match (seqs.first(), seqs.last()) {
        (Some((a, _)), Some((b, _))) => format!(", seq {a}..={b}"),
        _ => String::new(),
    };
    if problems.is_empty() {
        let _ = writeln!(report, "ok: {segments} segments, {records} records{range}");
    } else {
        let _ = writeln!(
            report,
            "FAILED: {} problems in {segments} segments, {records} records{range}",
            problems.len()
        );
    }
    let mut bytes = report.into_bytes();
    crate::emit(&mut bytes)?;
    Ok(u8::from(!problems.is_empty()))
}
