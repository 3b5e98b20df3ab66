//! The byte buffer that holds an event's captured values.
//!
//! Inline up to [`INLINE_CAPACITY`] bytes, then spilled whole to the heap. It exists
//! because the caller's hot path writes small fixed-size values (a tag byte and eight
//! bytes): [`Payload::put`] turns into one bounds check and two stores, where a general
//! small-vector's `extend_from_slice` ends in a call to `memcpy`.

/// Bytes of captured values a record holds without a heap allocation.
///
/// Sized for an actor and a handful of numeric and short string fields.
pub const INLINE_CAPACITY: usize = 96;

/// `len` once the bytes live in `heap`: no inline range can fit, so every fast path
/// falls through to the spilled path without a second check.
const SPILLED: u32 = u32::MAX;

#[derive(Clone)]
pub(crate) struct Payload {
    len: u32,
    inline: [u8; INLINE_CAPACITY],
    heap: Vec<u8>,
}

impl Payload {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Payload {
            len: 0,
            inline: [0; INLINE_CAPACITY],
            heap: Vec::new(),
        }
    }

    /// Appends a tag and a fixed-size value.
    #[inline(always)]
    pub(crate) fn put<const N: usize>(&mut self, tag: u8, value: [u8; N]) {
        let at = self.len as usize;
        match self.inline.get_mut(at..at.wrapping_add(1 + N)) {
            Some(dst) => {
                dst[0] = tag;
                dst[1..].copy_from_slice(&value);
                self.len += 1 + N as u32;
            }
            None => {
                self.push(tag);
                self.extend_from_slice(&value);
            }
        }
    }

    /// Appends a tag, a little-endian `u32` length and the bytes.
    #[inline(always)]
    pub(crate) fn put_len_prefixed(&mut self, tag: u8, bytes: &[u8]) {
        let n = bytes.len().min(u32::MAX as usize);
        let bytes = &bytes[..n];
        let at = self.len as usize;
        match self.inline.get_mut(at..at.wrapping_add(5 + n)) {
            Some(dst) => {
                dst[0] = tag;
                dst[1..5].copy_from_slice(&(n as u32).to_le_bytes());
                dst[5..].copy_from_slice(bytes);
                self.len += 5 + n as u32;
            }
            None => {
                self.push(tag);
                self.extend_from_slice(&(n as u32).to_le_bytes());
                self.extend_from_slice(bytes);
            }
        }
    }

    pub(crate) fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }

    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        let at = self.len as usize;
        match self.inline.get_mut(at..at.wrapping_add(bytes.len())) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len() as u32;
            }
            None => self.spill().extend_from_slice(bytes),
        }
    }

    #[cold]
    #[inline(never)]
    fn spill(&mut self) -> &mut Vec<u8> {
        if self.len != SPILLED {
            let used = &self.inline[..self.len as usize];
            self.heap.reserve(used.len() * 2 + 64);
            self.heap.extend_from_slice(used);
            self.len = SPILLED;
        }
        &mut self.heap
    }

    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub(crate) fn spilled(&self) -> bool {
        self.len == SPILLED
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        match self.len {
            SPILLED => &self.heap,
            len => &self.inline[..len as usize],
        }
    }

    /// Overwrites four bytes at `at`, which must be below `len()`.
    pub(crate) fn patch_u32(&mut self, at: usize, value: u32) {
        let bytes = match self.len {
            SPILLED => &mut self.heap[..],
            len => &mut self.inline[..len as usize],
        };
        if let Some(dst) = bytes.get_mut(at..at + 4) {
            dst.copy_from_slice(&value.to_le_bytes());
        }
    }

    /// Empties the payload, keeping any heap buffer for reuse.
    #[cfg(feature = "writer")]
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.heap.clear();
    }

    /// Drops the bytes from `len` on.
    #[cfg(any(feature = "serde", test))]
    pub(crate) fn truncate(&mut self, len: usize) {
        match self.len {
            SPILLED => self.heap.truncate(len),
            n => self.len = n.min(len as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_stay_inline_and_large_ones_spill_whole() {
        let mut p = Payload::new();
        p.put(1, 7u64.to_le_bytes());
        p.put_len_prefixed(2, b"abc");
        assert!(!p.spilled());
        assert_eq!(p.len(), 9 + 8);
        p.put_len_prefixed(3, &[9; 200]);
        assert!(p.spilled());
        assert_eq!(p.len(), 9 + 8 + 205);
        assert_eq!(&p.as_slice()[..9], &[1, 7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&p.as_slice()[9..17], &[2, 3, 0, 0, 0, b'a', b'b', b'c']);
        p.put(4, [5u8; 4]);
        assert_eq!(&p.as_slice()[p.len() - 5..], &[4, 5, 5, 5, 5]);
    }

    #[test]
    fn filling_exactly_to_capacity_stays_inline() {
        let mut p = Payload::new();
        for _ in 0..INLINE_CAPACITY / 8 {
            p.put(0, [1u8; 7]);
        }
        assert_eq!(p.len(), INLINE_CAPACITY);
        assert!(!p.spilled());
        p.push(9);
        assert!(p.spilled());
        assert_eq!(p.len(), INLINE_CAPACITY + 1);
    }

    #[test]
    fn patch_and_truncate_work_inline_and_spilled() {
        for big in [false, true] {
            let mut p = Payload::new();
            if big {
                p.extend_from_slice(&[0; 150]);
            }
            let start = p.len();
            p.extend_from_slice(&[0; 4]);
            p.patch_u32(start, 0xAABBCCDD);
            assert_eq!(&p.as_slice()[start..], &[0xDD, 0xCC, 0xBB, 0xAA]);
            p.truncate(start);
            assert_eq!(p.len(), start);
        }
    }
}
