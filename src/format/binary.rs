//! The binary format's share of the contract: the segment header, the frame layout and
//! its checksum, and the numbers that identify each frame, message piece and value.
//!
//! A segment is a 16-byte header ([`MAGIC`], [`VERSION`], flags, reserved), then frames.
//! A frame is a little-endian `u32` payload length, a little-endian `u32` CRC-32 of the
//! payload, and the payload: a call site or thread definition, or a record, laid out as
//! bincode 2's standard configuration lays out an enum (a varint variant id, then the
//! fields in order, integers as varints). `docs/FORMAT.md` specifies every byte, so that
//! the format depends neither on this crate nor on bincode.

/// The first eight bytes of every binary segment.
pub(crate) const MAGIC: &[u8; 8] = b"TRAILBIN";
/// The binary format's version, in the header.
pub(crate) const VERSION: u16 = 1;
/// Header length: magic, version, flags, reserved.
pub(crate) const HEADER_LEN: usize = 16;
/// Frame prefix length: payload length and CRC-32.
pub(crate) const FRAME_PREFIX: usize = 8;

/// The most call sites, and the most threads, one segment may define. The writer defines
/// each once per segment, so this is far above what a program has; it bounds the
/// dictionary a crafted segment can make a reader hold.
pub(crate) const MAX_DEFINITIONS: usize = 1 << 20;

/// The variant id that starts each frame's payload.
pub(crate) mod frame {
    /// Defines a call site for the rest of the segment.
    pub(crate) const CALLSITE: u8 = 0;
    /// Names a thread for the rest of the segment.
    pub(crate) const THREAD: u8 = 1;
    /// One record.
    pub(crate) const RECORD: u8 = 2;
    /// One record captured in a span: a record's fields, then the span context (trace
    /// id, span id, parent id, name).
    pub(crate) const RECORD_IN_SPAN: u8 = 3;
}

/// The variant id of each piece of a call site's message.
pub(crate) mod piece {
    /// Literal text.
    pub(crate) const LIT: u8 = 0;
    /// The record's value at an index.
    pub(crate) const ARG: u8 = 1;
    /// The record's actor.
    pub(crate) const ACTOR: u8 = 2;
}

/// The variant id of each value type: a value's first byte in a frame.
pub(crate) mod variant {
    pub(crate) const NULL: u8 = 0;
    pub(crate) const BOOL: u8 = 1;
    pub(crate) const I64: u8 = 2;
    pub(crate) const U64: u8 = 3;
    pub(crate) const I128: u8 = 4;
    pub(crate) const U128: u8 = 5;
    pub(crate) const F32: u8 = 6;
    pub(crate) const F64: u8 = 7;
    pub(crate) const CHAR: u8 = 8;
    pub(crate) const STR: u8 = 9;
    pub(crate) const BYTES: u8 = 10;
    pub(crate) const IPV4: u8 = 11;
    pub(crate) const IPV6: u8 = 12;
    pub(crate) const SEQ: u8 = 13;
    pub(crate) const MAP: u8 = 14;
}

/// The 16-byte segment header.
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
pub(crate) fn header() -> [u8; HEADER_LEN] {
    let mut h = [0; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// Checks a segment header; the error says what is wrong.
pub(crate) fn check_header(header: &[u8]) -> Result<(), String> {
    if header.len() < HEADER_LEN || &header[..8] != MAGIC {
        return Err("not a trail binary segment (bad magic)".into());
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version != VERSION {
        return Err(format!(
            "binary format version {version} is not supported (this reader knows {VERSION})"
        ));
    }
    Ok(())
}

/// A frame's prefix: its payload's length and CRC-32.
pub(crate) fn frame_prefix(prefix: &[u8; FRAME_PREFIX]) -> (usize, u32) {
    let [l0, l1, l2, l3, c0, c1, c2, c3] = *prefix;
    (
        u32::from_le_bytes([l0, l1, l2, l3]) as usize,
        u32::from_le_bytes([c0, c1, c2, c3]),
    )
}

/// The CRC-32 of `bytes`, as `crc32fast::hash` computes it, without asking the processor
/// which instructions it has on every call: frames are short, and that question cost about
/// a fifth of the checksum.
#[inline]
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    static TEMPLATE: std::sync::LazyLock<crc32fast::Hasher> =
        std::sync::LazyLock::new(crc32fast::Hasher::new);
    let mut hasher = TEMPLATE.clone();
    hasher.update(bytes);
    hasher.finalize()
}

/// Appends a frame whose payload `payload` writes: the prefix first, then the length and
/// CRC-32 of what it wrote.
#[cfg(feature = "writer")]
pub(crate) fn framed(out: &mut Vec<u8>, payload: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_PREFIX]);
    let body = start + FRAME_PREFIX;
    payload(out);
    let len = (out.len() - body) as u32;
    let crc = crc32(&out[body..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..body].copy_from_slice(&crc.to_le_bytes());
}

#[cfg(all(test, feature = "writer"))]
mod tests {
    use super::*;

    #[test]
    fn the_header_and_a_frame_are_laid_out_as_the_format_document_says() {
        assert_eq!(header(), *b"TRAILBIN\x01\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(check_header(&header()), Ok(()));
        assert!(check_header(b"TRAILBIN\x02\x00\x00\x00\x00\x00\x00\x00").is_err());
        let mut out = Vec::new();
        framed(&mut out, |out| out.extend_from_slice(b"abc"));
        assert_eq!(out[..4], 3u32.to_le_bytes());
        assert_eq!(out[4..8], crc32(b"abc").to_le_bytes());
        assert_eq!(crc32(b"abc"), crc32fast::hash(b"abc"));
        assert_eq!(
            frame_prefix(out[..8].try_into().unwrap()),
            (3, crc32(b"abc"))
        );
        assert_eq!(&out[8..], b"abc");
    }
}
