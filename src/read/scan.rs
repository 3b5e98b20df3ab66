//! Reading a segment back at start, to list it in the manifest after a crash: one pass
//! over its bytes as they stream from the file, in memory bounded by the longest record
//! whatever the segment's size, and with a bound on how far a compressed segment may
//! inflate.

#![cfg_attr(not(feature = "writer"), allow(dead_code, unused_imports))]

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::framing::{self, Line};
use super::{Decoder, FileFormat, DEFAULT_MAX_RECORD_BYTES};

/// How many times its own size a compressed segment may inflate to when it is read back
/// at start. Log segments compress far less than this; a file that goes past it is
/// treated as hostile (a decompression bomb) and left alone.
pub(crate) const MAX_INFLATION: u64 = 256;

/// What a compressed segment may always inflate to, however small it is.
const MIN_INFLATED_LIMIT: u64 = 64 << 20;

/// A segment's records, as found by reading it back.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Whole records, decodable or not.
    pub(crate) records: u64,
    pub(crate) first_seq: Option<u64>,
    pub(crate) last_seq: Option<u64>,
    /// An incomplete final record, left by a crash: its offset and length.
    pub(crate) torn: Option<(u64, u64)>,
    /// The segment's length, uncompressed.
    pub(crate) bytes: u64,
    /// The CRC-32 of the segment's bytes, uncompressed.
    pub(crate) crc32: u32,
    /// How many records are damaged (counted in `records`), and the first one's offset
    /// and what is wrong with it.
    pub(crate) damaged: u64,
    pub(crate) first_damage: Option<(u64, String)>,
}

impl Scan {
    fn damage(&mut self, offset: u64, detail: String) {
        self.records += 1;
        self.damaged += 1;
        self.first_damage.get_or_insert((offset, detail));
    }
}

/// Reads back the segment at `path` (gzip-compressed if `compressed`).
#[cfg(feature = "writer")]
pub(crate) fn scan_file(format: FileFormat, path: &Path, compressed: bool) -> io::Result<Scan> {
    let file = File::open(path)?;
    if !compressed {
        return scan(format, file);
    }
    let limit = file
        .metadata()?
        .len()
        .saturating_mul(MAX_INFLATION)
        .max(MIN_INFLATED_LIMIT);
    let inflated = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    scan(
        format,
        Bounded {
            inner: inflated,
            read: 0,
            limit,
        },
    )
}

/// Reads back what `input` holds: its records, and the length and checksum of all its
/// bytes (those after a record that cannot be framed count too).
pub(crate) fn scan(format: FileFormat, input: impl Read) -> io::Result<Scan> {
    let mut input = BufReader::with_capacity(
        64 * 1024,
        Tally {
            inner: input,
            hasher: crc32fast::Hasher::new(),
            bytes: 0,
        },
    );
    let mut record = Vec::new();
    let mut decoded = super::LogRecord::blank();
    let mut decoder = Decoder::new(format);
    let mut scan = Scan::default();
    let mut offset = 0;
    loop {
        let (what, consumed) = framing::next(
            format,
            &mut input,
            offset,
            &mut record,
            DEFAULT_MAX_RECORD_BYTES,
        )?;
        match what {
            Line::End => break,
            Line::Unframable(detail) => {
                scan.damaged += 1;
                scan.first_damage.get_or_insert((offset, detail));
                break;
            }
            Line::Torn => {
                scan.torn = Some((offset, consumed));
                break;
            }
            Line::TooLong => scan.damage(offset, "record longer than the limit".into()),
            Line::Damaged(detail) => scan.damage(offset, detail),
            // One record, reused from one to the next.
            Line::Whole => match decoder.decode(offset, &record, &mut decoded, true) {
                Ok(false) => {}
                Ok(true) => {
                    scan.records += 1;
                    scan.first_seq.get_or_insert(decoded.seq);
                    scan.last_seq = Some(decoded.seq);
                }
                Err(detail) => scan.damage(offset, detail),
            },
        }
        offset += consumed;
    }
    io::copy(&mut input, &mut io::sink())?;
    let tally = input.into_inner();
    scan.bytes = tally.bytes;
    scan.crc32 = tally.hasher.finalize();
    Ok(scan)
}

/// Counts and checksums the bytes that pass through it.
struct Tally<R> {
    inner: R,
    hasher: crc32fast::Hasher,
    bytes: u64,
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Fails once more than `limit` bytes have come through.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "inflates to more than {} bytes ({MAX_INFLATION} times its compressed size): \
                     not read further, as a decompression bomb would be",
                    self.limit
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"{"ts":"2026-11-23T22:06:12.000000001Z","level":"info","seq":7,"target":"t","msg":"m","fields":{},"file":"f.rs","line":1,"thread":"main"}
"#;

    #[test]
    fn the_length_and_checksum_cover_every_byte_and_records_are_counted() {
        let lines = 1000;
        let bytes: Vec<u8> = LINE.repeat(lines).into_iter().chain(*b"{\"torn").collect();
        let scan = scan(FileFormat::Json, &bytes[..]).unwrap();
        assert_eq!(scan.records, lines as u64);
        assert_eq!(scan.bytes, bytes.len() as u64);
        assert_eq!(scan.crc32, crc32fast::hash(&bytes));
        assert_eq!(scan.last_seq, Some(7));
        assert_eq!(scan.torn, Some((LINE.len() as u64 * lines as u64, 6)));
    }

    #[test]
    fn a_compressed_segment_may_not_inflate_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.jsonl.gz");
        // Gzip members may follow one another: one member of 1 MiB of zeros, 100 times.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        io::Write::write_all(&mut gz, &[0; 1 << 20]).unwrap();
        let member = gz.finish().unwrap();
        std::fs::write(&path, member.repeat(100)).unwrap();
        let error = scan_file(FileFormat::Json, &path, true).unwrap_err();
        assert!(error.to_string().contains("decompression bomb"), "{error}");
    }
}
