//! Framing: finding where each record's bytes begin and end in a segment, before any of
//! them is decoded. A line for JSON and text, a line that may hold quoted line breaks for
//! CSV, the header and then checked frames for binary ([`crate::format::binary`]).
//!
//! No record is held longer than the limit: a longer one is consumed and reported, and a
//! frame whose length is past the limit ends the framing of its segment.

use std::io::{self, BufRead};
use std::ops::Range;

use super::FileFormat;
use crate::format::binary::{crc32, frame_prefix, FRAME_PREFIX, HEADER_LEN};

/// Reads the next record's bytes at `offset` in the segment: a line; for CSV, a line
/// that may hold line breaks inside quotes; for binary, the header or a checked frame.
pub(super) fn next(
    format: FileFormat,
    input: &mut dyn BufRead,
    offset: u64,
    record: &mut Vec<u8>,
    max: usize,
) -> io::Result<(Line, u64)> {
    match format {
        FileFormat::Binary => read_frame(input, offset, record, max),
        FileFormat::Csv => read_record(input, record, max, true),
        FileFormat::Json | FileFormat::Text => read_record(input, record, max, false),
    }
}

/// The next record at `offset` when `buffered`, what the input's buffer holds, has all of
/// it, as it nearly always has: the record's bytes in `buffered` (what [`next`] would copy
/// out) and how many bytes it takes with its framing. `None` leaves the record to
/// [`next`]: one that runs past the buffer, and anything [`next`] reports instead of a
/// whole record (a binary header, a frame past the limit or whose checksum fails, a line
/// past the limit).
pub(super) fn buffered(
    format: FileFormat,
    buffered: &[u8],
    offset: u64,
    max: usize,
) -> Option<(Range<usize>, usize)> {
    let end = match format {
        FileFormat::Binary => {
            let prefix = buffered
                .first_chunk::<FRAME_PREFIX>()
                .filter(|_| offset > 0)?;
            let (len, crc) = frame_prefix(prefix);
            let payload = buffered.get(FRAME_PREFIX..FRAME_PREFIX.checked_add(len)?)?;
            return (len <= max && crc32(payload) == crc)
                .then_some((FRAME_PREFIX..FRAME_PREFIX + len, FRAME_PREFIX + len));
        }
        FileFormat::Csv => {
            // A line break ends the record where the quotes before it are even.
            let mut in_quotes = false;
            let mut from = 0;
            loop {
                let at = from + memchr::memchr(b'\n', &buffered[from..])?;
                in_quotes ^= odd_quotes(&buffered[from..at]);
                if !in_quotes {
                    break at;
                }
                from = at + 1;
            }
        }
        FileFormat::Json | FileFormat::Text => memchr::memchr(b'\n', buffered)?,
    };
    (end <= max).then_some((0..end, end + 1))
}

/// What [`next`] found.
pub(super) enum Line {
    /// A whole record is in the buffer (a line without its newline, or a frame payload).
    Whole,
    /// The input ended in the middle of a record.
    Torn,
    /// The record was longer than the limit; it was consumed, not kept.
    TooLong,
    /// The record was consumed but is damaged (a checksum mismatch).
    Damaged(String),
    /// The segment cannot be framed any further (a frame length past the limit).
    Unframable(String),
    /// No more input.
    End,
}

/// Reads one binary header (at offset 0) or frame: `u32` length, `u32` CRC-32, payload.
pub(super) fn read_frame(
    input: &mut dyn BufRead,
    offset: u64,
    payload: &mut Vec<u8>,
    max: usize,
) -> io::Result<(Line, u64)> {
    payload.clear();
    if offset == 0 {
        let got = read_up_to(input, payload, HEADER_LEN)?;
        return Ok(match got {
            0 => (Line::End, 0),
            n if n < HEADER_LEN => (Line::Torn, n as u64),
            n => (Line::Whole, n as u64),
        });
    }
    let mut prefix = [0; FRAME_PREFIX];
    let got = read_into(input, &mut prefix)?;
    if got == 0 {
        return Ok((Line::End, 0));
    }
    if got < FRAME_PREFIX {
        return Ok((Line::Torn, got as u64));
    }
    let (len, crc) = frame_prefix(&prefix);
    if len > max {
        return Ok((
            Line::Unframable(format!(
                "frame length {len} is larger than the limit of {max} bytes; the rest of the segment cannot be framed"
            )),
            got as u64,
        ));
    }
    let body = read_up_to(input, payload, len)?;
    let consumed = (got + body) as u64;
    if body < len {
        return Ok((Line::Torn, consumed));
    }
    let actual = crc32(payload);
    if actual != crc {
        return Ok((
            Line::Damaged(format!(
                "frame checksum {actual:#010x} does not match {crc:#010x}"
            )),
            consumed,
        ));
    }
    Ok((Line::Whole, consumed))
}

/// Reads up to `n` bytes into `out`, fewer only at the end of the input, straight from
/// the input's buffer.
pub(super) fn read_up_to(
    input: &mut dyn BufRead,
    out: &mut Vec<u8>,
    n: usize,
) -> io::Result<usize> {
    read_chunks(input, n, |chunk| out.extend_from_slice(chunk))
}

/// Fills `out` from the input, short only at the end of the input; returns how much.
fn read_into(input: &mut dyn BufRead, out: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    read_chunks(input, out.len(), |chunk| {
        out[got..got + chunk.len()].copy_from_slice(chunk);
        got += chunk.len();
    })
}

/// Hands `take` the next `n` bytes of the input chunk by chunk, as the input's buffer
/// holds them, fewer only at the end of the input; returns how many.
fn read_chunks(
    input: &mut dyn BufRead,
    n: usize,
    mut take: impl FnMut(&[u8]),
) -> io::Result<usize> {
    let mut got = 0;
    while got < n {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let chunk = &available[..available.len().min(n - got)];
        take(chunk);
        let len = chunk.len();
        input.consume(len);
        got += len;
    }
    Ok(got)
}

/// Reads one `\n`-terminated record into `line`, keeping at most `max` bytes of it. With
/// `quoted`, a `\n` inside double quotes (CSV) does not end the record. Returns what was
/// found and how many bytes were consumed.
pub(super) fn read_record(
    input: &mut dyn BufRead,
    line: &mut Vec<u8>,
    max: usize,
    quoted: bool,
) -> io::Result<(Line, u64)> {
    line.clear();
    let mut consumed = 0u64;
    let mut too_long = false;
    let mut in_quotes = false;
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            let what = match (consumed, too_long) {
                (0, _) => Line::End,
                (_, true) => Line::TooLong,
                _ => Line::Torn,
            };
            return Ok((what, consumed));
        }
        let end = if quoted {
            // Only quotes and line breaks matter. From one line break to the next, an odd
            // number of quotes changes whether the break is inside quotes; counting them
            // is quicker than stopping at each, as a quoted JSON cell doubles its many.
            let mut end = None;
            let mut from = 0;
            while let Some(i) = memchr::memchr(b'\n', &available[from..]) {
                let at = from + i;
                in_quotes ^= odd_quotes(&available[from..at]);
                if !in_quotes {
                    end = Some(at);
                    break;
                }
                from = at + 1;
            }
            if end.is_none() {
                in_quotes ^= odd_quotes(&available[from..]);
            }
            end
        } else {
            memchr::memchr(b'\n', available)
        };
        let (chunk, done) = match end {
            Some(i) => (&available[..i], i + 1),
            None => (available, available.len()),
        };
        if !too_long {
            if line.len() + chunk.len() > max {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let newline = done > chunk.len();
        input.consume(done);
        consumed += done as u64;
        if newline {
            return Ok((if too_long { Line::TooLong } else { Line::Whole }, consumed));
        }
    }
}

/// Whether `bytes` holds an odd number of double quotes. Counted in blocks whose sums fit
/// a byte, without branches, so that the count runs on vectors.
fn odd_quotes(bytes: &[u8]) -> bool {
    bytes
        .chunks(255)
        .map(|block| block.iter().map(|&b| u8::from(b == b'"')).sum::<u8>())
        .fold(0u8, |n, sum| n ^ (sum & 1))
        == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::binary::{crc32, FRAME_PREFIX};

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&crc32(payload).to_le_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// Wherever a record is cut off in the input's buffer, and whatever it is (whole, torn,
    /// too long, damaged, a CSV cell with line breaks), a record found in the buffer is the
    /// one `next` copies out, with the same length; and whole records are found there.
    #[test]
    fn a_record_found_in_the_buffer_is_the_one_next_reads() {
        let mut damaged = frame(b"abc");
        damaged[FRAME_PREFIX] ^= 1;
        let cases: Vec<(FileFormat, Vec<u8>, bool)> = vec![
            (FileFormat::Json, b"{\"a\":1}\nrest".to_vec(), true),
            (FileFormat::Json, b"\n".to_vec(), true),
            (FileFormat::Json, b"{\"a\":\"long line\"}\n".to_vec(), true),
            (FileFormat::Text, b"one line\r\nnext\n".to_vec(), true),
            (FileFormat::Csv, b"a,\"x\ny\",\"\"\"\"\nb\n".to_vec(), true),
            (FileFormat::Csv, b"a,\"x\"\"\n\"\nb".to_vec(), true),
            (FileFormat::Csv, b"a,\"open\nnever closed\n".to_vec(), false),
            (FileFormat::Binary, frame(b"payload"), true),
            (FileFormat::Binary, frame(b""), true),
            (
                FileFormat::Binary,
                [frame(b"one"), frame(b"two")].concat(),
                true,
            ),
            (FileFormat::Binary, damaged, false),
            (
                FileFormat::Binary,
                vec![0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1],
                false,
            ),
        ];
        for (format, bytes, whole) in cases {
            for max in [4, 14, 1 << 20] {
                for cut in 0..=bytes.len() {
                    let held = &bytes[..cut];
                    let found = buffered(format, held, 16, max);
                    let mut line = Vec::new();
                    let next = next(format, &mut &bytes[..], 16, &mut line, max).unwrap();
                    if let Some((range, consumed)) = &found {
                        assert!(matches!(next.0, Line::Whole), "{format:?} {bytes:?} {cut}");
                        assert_eq!(next.1, *consumed as u64, "{format:?} {bytes:?} {cut}");
                        assert_eq!(&held[range.clone()], line, "{format:?} {bytes:?} {cut}");
                    }
                    if cut == bytes.len() && max == 1 << 20 {
                        assert_eq!(found.is_some(), whole, "{format:?} {bytes:?}");
                    }
                }
            }
        }
        // A binary segment's header is left to `next`, which checks it.
        assert_eq!(buffered(FileFormat::Binary, &frame(b"x"), 0, 1 << 20), None);
    }
}
