//! Finding where the last records of a segment start without decoding what comes before.
//!
//! Lines (JSON, text) of an uncompressed segment are found by reading backward from its
//! end. A CSV record may hold line breaks inside quotes: reading backward, a line break
//! ends a record when an even number of quotes follows it, if the segment ends outside
//! quotes. That is checked by decoding the records found (see [`backward_csv`]); when the
//! check fails, and in compressed segments, CSV is scanned forward, tracking quotes the
//! way the reader does, but without decoding anything. Binary frames are walked by their
//! length prefixes; the definitions met on the way are kept, as the records after them
//! need them.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use super::framing::{self, Line};
use super::FileFormat;
use crate::format::binary::{self, frame};
use crate::format::csv::{starts_with_header, HEADER_WITH_SPANS};

/// Where the last records of one segment start.
pub(super) struct Starts {
    /// How many record starts were found, at most the number asked for.
    pub(super) records: usize,
    /// The offset (in uncompressed bytes) of the first of them; 0 when the segment holds
    /// no more records than that.
    pub(super) offset: u64,
    /// For binary: the payloads of the definitions before `offset`, in order.
    pub(super) definitions: Vec<Vec<u8>>,
}

const BLOCK: usize = 64 * 1024;

/// Finds the start of the last `n` (at least 1) records of the segment at `path`.
pub(super) fn last_starts(
    path: &std::path::Path,
    compressed: bool,
    hidden: bool,
    format: FileFormat,
    n: usize,
    max: usize,
) -> Result<Starts, super::ReadError> {
    let (file, compressed) = super::open_segment(path, compressed, hidden)?;
    let io = |e| super::ReadError::io(path, None, e);
    match (format, compressed) {
        (FileFormat::Json | FileFormat::Text, false) => backward_lines(file, n).map_err(io),
        (FileFormat::Binary, false) => {
            frames(BufReader::with_capacity(BLOCK * 4, file), n, max).map_err(io)
        }
        (FileFormat::Binary, true) => frames(gz(file), n, max).map_err(io),
        (FileFormat::Csv, false) => backward_csv(file, n, max).map_err(io),
        (FileFormat::Csv, true) => forward_records(gz(file), n, true).map_err(io),
        (FileFormat::Json | FileFormat::Text, true) => {
            forward_records(gz(file), n, false).map_err(io)
        }
    }
}

fn gz(file: std::fs::File) -> BufReader<flate2::read::MultiGzDecoder<BufReader<std::fs::File>>> {
    BufReader::with_capacity(
        BLOCK * 4,
        flate2::read::MultiGzDecoder::new(BufReader::new(file)),
    )
}

/// Reads blocks backward from the end, counting line starts: the offset after each `\n`
/// that is not the last byte, and offset 0.
fn backward_lines(mut file: std::fs::File, n: usize) -> io::Result<Starts> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut found = 0;
    let mut end = len;
    let mut block = vec![0; BLOCK];
    while end > 0 {
        let start = end.saturating_sub(BLOCK as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        for (i, &b) in chunk.iter().enumerate().rev() {
            let at = start + i as u64;
            if b == b'\n' && at + 1 < len {
                found += 1;
                if found == n {
                    return Ok(Starts {
                        records: n,
                        offset: at + 1,
                        definitions: Vec::new(),
                    });
                }
            }
        }
        end = start;
    }
    Ok(Starts {
        records: found + usize::from(len > 0),
        offset: 0,
        definitions: Vec::new(),
    })
}

/// Finds the last `n` CSV records by reading backward, or else by scanning forward.
///
/// Whether a line break ends a record depends on the quotes before it: it does when their
/// number, from the start of the segment, is even. Read from the end, that is when an even
/// number of quotes follows it, provided that the segment ends outside quotes: true of
/// every segment the writer wrote whole, false after a crash cut a quoted cell, or when
/// damage left a stray quote. So the guess is checked: the `n` records found and the one
/// before them must frame forward exactly where they were found, and each whole one must
/// decode as a record. Starting inside a quoted cell puts every quote after it out of step,
/// which that rarely survives; when the check fails, or the scan reaches the start of the
/// segment, the segment is scanned forward instead.
fn backward_csv(mut file: std::fs::File, n: usize, max: usize) -> io::Result<Starts> {
    let len = file.seek(SeekFrom::End(0))?;
    // Record starts from the last one back, one more than asked for, to check from there.
    let mut starts: Vec<u64> = Vec::with_capacity(n.min(1 << 16) + 1);
    let mut odd = false;
    let mut end = len;
    let mut block = vec![0; BLOCK];
    'scan: while end > 0 {
        let start = end.saturating_sub(BLOCK as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        for i in memchr::memchr2_iter(b'"', b'\n', chunk).rev() {
            if chunk[i] == b'"' {
                odd = !odd;
                continue;
            }
            let at = start + i as u64;
            if !odd && at + 1 < len {
                starts.push(at + 1);
                if starts.len() > n {
                    break 'scan;
                }
            }
        }
        end = start;
    }
    if starts.len() > n && csv_starts_hold(&mut file, &starts, len, max)? {
        return Ok(Starts {
            records: n,
            offset: starts[n - 1],
            definitions: Vec::new(),
        });
    }
    file.seek(SeekFrom::Start(0))?;
    forward_records(BufReader::with_capacity(BLOCK * 4, file), n, true)
}

/// Whether the records at `starts` (the last first) frame forward as they were found, up
/// to the end of the segment at `len`, each whole one decoding as a record.
fn csv_starts_hold(
    file: &mut std::fs::File,
    starts: &[u64],
    len: u64,
    max: usize,
) -> io::Result<bool> {
    let Some(&first) = starts.last() else {
        return Ok(false);
    };
    file.seek(SeekFrom::Start(first))?;
    let mut input = BufReader::with_capacity(BLOCK, &mut *file);
    let mut line = Vec::new();
    let mut record = super::LogRecord::blank();
    let mut clock = super::timestamp::TimestampParser::default();
    let mut offset = first;
    for (k, &start) in starts.iter().enumerate().rev() {
        if offset != start {
            return Ok(false);
        }
        let (what, consumed) = framing::read_record(&mut input, &mut line, max, true)?;
        offset += consumed;
        let end = if k == 0 { len } else { starts[k - 1] };
        let whole = match what {
            Line::Whole => true,
            // An incomplete last record is one of the `n`, as when reading forward.
            Line::Torn if k == 0 => false,
            _ => return Ok(false),
        };
        if offset != end || whole && super::csv::decode(&line, &mut record, &mut clock) != Ok(true)
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Scans forward for record starts, keeping the last `n`. With `quoted` (CSV), a line
/// break inside double quotes does not end a record, and the header row is not a record.
fn forward_records(mut input: impl BufRead, n: usize, quoted: bool) -> io::Result<Starts> {
    let mut starts: VecDeque<u64> = VecDeque::with_capacity(n.min(1 << 16));
    let mut total = 0usize;
    let mut offset = 0u64;
    let mut in_quotes = false;
    let mut at_start = true;
    let mut first_line = Vec::new();
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        // A record starts at the first byte after an unquoted line break, which may be in
        // the next chunk; only quotes and line breaks are looked at.
        let mut push = |at: u64| {
            starts.push_back(at);
            total += 1;
            if starts.len() > n {
                starts.pop_front();
            }
        };
        if at_start {
            at_start = false;
            push(offset);
        }
        let breaks: Box<dyn Iterator<Item = usize>> = if quoted {
            Box::new(memchr::memchr2_iter(b'"', b'\n', chunk))
        } else {
            Box::new(memchr::memchr_iter(b'\n', chunk))
        };
        for i in breaks {
            if chunk[i] == b'"' {
                in_quotes = !in_quotes;
            } else if !in_quotes {
                if i + 1 < chunk.len() {
                    push(offset + i as u64 + 1);
                } else {
                    at_start = true;
                }
            }
        }
        if quoted && first_line.len() <= HEADER_WITH_SPANS.len() + 2 {
            let want = (HEADER_WITH_SPANS.len() + 2 - first_line.len()).min(chunk.len());
            first_line.extend_from_slice(&chunk[..want]);
        }
        let used = chunk.len();
        offset += used as u64;
        input.consume(used);
    }
    // The header row is skipped by the decoder; it is no record.
    let header = starts_with_header(&first_line);
    if quoted && header && starts.front() == Some(&0) {
        total -= 1;
    }
    let records = total.min(n);
    let offset = if total <= n {
        0
    } else {
        starts.front().copied().unwrap_or(0)
    };
    Ok(Starts {
        records,
        offset,
        definitions: Vec::new(),
    })
}

/// Walks the frames by their length prefixes, keeping the starts of the last `n` record
/// frames and every definition's payload. Record payloads are skipped, not read.
fn frames(mut input: impl BufRead, n: usize, max: usize) -> io::Result<Starts> {
    let mut header = [0u8; binary::HEADER_LEN];
    let got = read_up_to(&mut input, &mut header)?;
    let mut starts: VecDeque<(u64, usize)> = VecDeque::with_capacity(n.min(1 << 16));
    let mut definitions: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    let mut offset = got as u64;
    if got == binary::HEADER_LEN {
        loop {
            let mut prefix = [0u8; binary::FRAME_PREFIX];
            let got = read_up_to(&mut input, &mut prefix)?;
            if got == 0 {
                break;
            }
            let frame = offset;
            let (len, crc) = binary::frame_prefix(&prefix);
            let mut kind = [0u8; 1];
            let record = got < binary::FRAME_PREFIX
                || len > max
                || len == 0
                || read_up_to(&mut input, &mut kind)? == 0
                || !matches!(kind[0], frame::CALLSITE | frame::THREAD);
            if record {
                // A record, or what the reader reports as damage: either is one item.
                starts.push_back((frame, definitions.len()));
                total += 1;
                if starts.len() > n {
                    starts.pop_front();
                }
                if got < binary::FRAME_PREFIX || len > max || len == 0 {
                    break;
                }
                let skip = (len - 1) as u64;
                let skipped = skip_up_to(&mut input, skip)?;
                if skipped < skip {
                    break;
                }
            } else {
                let mut payload = vec![kind[0]];
                let got = (&mut input)
                    .take((len - 1) as u64)
                    .read_to_end(&mut payload)?;
                if got < len - 1 {
                    starts.push_back((frame, definitions.len()));
                    total += 1;
                    break;
                }
                // A damaged definition is reported and skipped by the reader, never used.
                if binary::crc32(&payload) == crc {
                    definitions.push(payload);
                }
            }
            offset = frame + (binary::FRAME_PREFIX + len) as u64;
        }
    }
    if total <= n {
        return Ok(Starts {
            records: total,
            offset: 0,
            definitions: Vec::new(),
        });
    }
    let (offset, defined) = starts.front().copied().unwrap_or((0, 0));
    definitions.truncate(defined);
    Ok(Starts {
        records: n,
        offset,
        definitions,
    })
}

/// Skips up to `n` bytes of the input, fewer only at its end; returns how many. Consumed
/// from the input's buffer: a copy to nowhere cost more than the walk for small frames.
fn skip_up_to(input: &mut impl BufRead, n: u64) -> io::Result<u64> {
    let mut left = n;
    while left > 0 {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes.len(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available == 0 {
            break;
        }
        let take = usize::try_from(left).map_or(available, |left| left.min(available));
        input.consume(take);
        left -= take as u64;
    }
    Ok(n - left)
}

fn read_up_to(input: &mut impl Read, out: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < out.len() {
        match input.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::csv::HEADER;

    /// A CSV row as the writer writes it, its message quoted.
    fn row(seq: u64, msg: &str) -> String {
        format!(
            "2026-11-23T22:06:12.{seq:09}Z,info,{seq},,shop,\"{}\",{{}},src/a.rs,{seq},main\n",
            msg.replace('"', "\"\"")
        )
    }

    /// A segment whose messages hold line breaks, quotes and whole rows of their own.
    fn segment(records: u64) -> String {
        let mut text = String::from(HEADER);
        text.push('\n');
        for seq in 1..=records {
            let msg = match seq % 4 {
                0 => format!("two\nlines \"{seq}\""),
                1 => format!("a row inside:\n{}and after", row(seq + 1000, "x")),
                2 => "\n\n\"\"\n".to_owned(),
                _ => format!("plain {seq}"),
            };
            text.push_str(&row(seq, &msg));
        }
        text
    }

    fn starts(path: &std::path::Path, n: usize, backward: bool) -> (usize, u64) {
        let file = std::fs::File::open(path).unwrap();
        let found = if backward {
            backward_csv(file, n, 1 << 20).unwrap()
        } else {
            forward_records(BufReader::new(file), n, true).unwrap()
        };
        (found.records, found.offset)
    }

    /// Read from the end, whole or torn, in or out of quotes, the last records start where
    /// a scan from the start finds them.
    #[test]
    fn the_last_csv_records_start_where_a_forward_scan_finds_them() {
        let dir = tempfile::tempdir().unwrap();
        let whole = segment(60);
        let torn_in_quotes = format!("{whole}{}", &row(61, "cut\ninside")[..55]);
        let torn_outside = format!("{whole}2026-11-23T2");
        for (name, text) in [
            ("whole", whole.clone()),
            ("torn in quotes", torn_in_quotes),
            ("torn outside", torn_outside),
            ("header only", format!("{HEADER}\n")),
            ("empty", String::new()),
        ] {
            let path = dir.path().join("s.csv");
            std::fs::write(&path, &text).unwrap();
            for n in [1, 2, 3, 4, 5, 8, 30, 59, 60, 61, 62, 1000] {
                assert_eq!(
                    starts(&path, n, true),
                    starts(&path, n, false),
                    "{name}, last {n}"
                );
            }
        }
    }

    /// A stray quote early in a segment puts a forward scan out of step for the rest of
    /// it; the last records, found from the end, are still the ones written there.
    #[test]
    fn the_last_csv_records_are_found_past_damage_before_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = segment(200);
        let at = text.len() / 4 + text[text.len() / 4..].find("plain").unwrap();
        text.replace_range(at..at + 1, "\"");
        let path = dir.path().join("app.20261123T220612.000000000Z.csv");
        std::fs::write(&path, &text).unwrap();
        let last: Vec<u64> = super::super::open(&path)
            .unwrap()
            .last(5)
            .map(|r| r.map(|r| r.seq))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(last, [196, 197, 198, 199, 200]);
    }
}
