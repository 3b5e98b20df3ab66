//! Any bytes, read as a text segment: the reader reports damage, and never panics or hangs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trail::read::{from_reader, FileFormat};

fuzz_target!(|data: &[u8]| {
    let input = std::io::Cursor::new(data.to_vec());
    for record in from_reader(input, FileFormat::Text, "fuzz").max_record_bytes(1 << 16) {
        let _ = record;
    }
});
