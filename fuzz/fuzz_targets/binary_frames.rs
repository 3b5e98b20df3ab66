//! Binary segments built from frames whose checksums are right, so that the fuzzer works on
//! what is inside a frame (nesting, lengths, counts, definitions) instead of stopping at the
//! CRC: the reader and the recovery scan report damage and never panic, abort or hang.
//!
//! How an input becomes a segment is in `fuzz/shared/frames_segment.rs`, which
//! `tests/fuzz_corpus.rs` uses too, to replay this target's corpus on every test run.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trail::read::{from_reader, FileFormat};

#[path = "../shared/frames_segment.rs"]
mod frames_segment;

fuzz_target!(|data: &[u8]| {
    let segment = frames_segment::frames_segment(data);
    let input = std::io::Cursor::new(segment.clone());
    for record in from_reader(input, FileFormat::Binary, "fuzz").max_record_bytes(1 << 16) {
        let _ = record;
    }
    let _ = trail::read::fuzz_scan(FileFormat::Binary, &segment);
});
