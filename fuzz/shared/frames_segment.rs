//! How the `binary_frames` fuzz target turns its input into a binary segment, shared with
//! `tests/fuzz_corpus.rs`, which replays the target's corpus the same way.
//!
//! An input is a flags byte, then chunks: a `u16` little-endian length and that many
//! payload bytes (fewer at the end). Each chunk becomes one frame, its length and CRC-32
//! computed here, after a valid header. Flag bit 1 breaks the first frame's CRC; bit 0
//! cuts the last `flags >> 2` bytes off the segment, as a crash leaves a torn tail.

/// The segment that `data` describes.
pub fn frames_segment(data: &[u8]) -> Vec<u8> {
    let Some((&flags, mut rest)) = data.split_first() else {
        return Vec::new();
    };
    let mut segment = b"TRAILBIN\x01\x00\x00\x00\x00\x00\x00\x00".to_vec();
    let mut first_crc = None;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let payload = &rest[2..][..len.min(rest.len() - 2)];
        rest = &rest[2 + payload.len()..];
        first_crc.get_or_insert(segment.len() + 4);
        segment.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        segment.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        segment.extend_from_slice(payload);
    }
    if flags & 2 != 0
        && let Some(at) = first_crc
    {
        segment[at] ^= 1;
    }
    if flags & 1 != 0 {
        segment.truncate(segment.len().saturating_sub(usize::from(flags >> 2)));
    }
    segment
}
