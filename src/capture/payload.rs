//! The byte buffers that hold an event's captured values.
//!
//! Values are written through a [`Payload`]: a window of [`INLINE_CAPACITY`] bytes of
//! room somewhere else (the caller's ring, or a record's own array), then, past that, the
//! heap, where the bytes spill whole. It exists because the caller's hot path writes small
//! fixed-size values (a tag byte and eight bytes): [`Payload::put`] turns into one bounds
//! check and two stores, where a general small-vector's `extend_from_slice` ends in a call
//! to `memcpy`. A record keeps its bytes in a [`RecordPayload`].
//!
//! Names used here: the *inline bytes* ([`InlineBytes`]) are the fixed array a payload
//! fills first; it *spills* when its bytes move to the heap; a [`RecordPayload`] may hold
//! its bytes, or only *lend* them from the writer's ring while a record is encoded. What
//! the bytes mean is the codec's business (`super::codec`).

/// Bytes of captured values a record holds without a heap allocation.
///
/// Sized for an actor, a handful of numeric fields and a few hundred bytes of text.
pub const INLINE_CAPACITY: usize = 256;

use core::mem::MaybeUninit;

/// The most bytes of values one event captures, all its values together: a quarter of
/// the longest record ([`MAX_RECORD_BYTES`](crate::limits::MAX_RECORD_BYTES)), which
/// leaves room for the escaping and the record's other parts that an encoder adds. Values
/// past it are cut with a marker at capture.
pub(crate) const MAX_EVENT_BYTES: usize = crate::limits::MAX_RECORD_BYTES / 4;

/// `len` once the bytes live in `heap`: no inline range can fit, so every fast path
/// falls through to the spilled path without a second check.
const SPILLED: u32 = u32::MAX;

/// The inline bytes a payload writes into before it spills.
pub(crate) type InlineBytes = [MaybeUninit<u8>; INLINE_CAPACITY];

/// Captured values being written.
///
/// Invariant: `room` points to [`INLINE_CAPACITY`] bytes that this payload alone writes
/// for as long as it is in use (see [`Payload::over`]); while not spilled, its first
/// `len` bytes are initialized, and the rest are never read.
pub(crate) struct Payload {
    room: *mut InlineBytes,
    len: u32,
    heap: Vec<u8>,
}

/// A record's own captured values: the bytes live in the record.
///
/// Invariant: while not spilled, `inline[..len]` is initialized; the rest is never read,
/// so a new payload costs no zeroing of its inline bytes.
///
/// The inline bytes come last: placed between two fields that are set to zero, they
/// would let the optimiser turn the two stores and the uninitialised bytes between them
/// into one `memset` of the whole payload.
#[repr(C)]
pub(crate) struct RecordPayload {
    len: u32,
    /// Where the bytes are when they are only lent (see [`RecordPayload::lend`]); null when
    /// they are in `inline` or `heap`.
    lent: *const u8,
    heap: Vec<u8>,
    inline: InlineBytes,
}

// SAFETY: lent bytes are set only on the writer thread, for a record that never leaves
// it (see `RecordPayload::lend`); otherwise the bytes are owned.
unsafe impl Send for RecordPayload {}
// SAFETY: as above; shared references only read.
unsafe impl Sync for RecordPayload {}

impl Clone for RecordPayload {
    /// A copy that owns its bytes, lent or not.
    fn clone(&self) -> Self {
        if self.lent.is_null() {
            RecordPayload {
                len: self.len,
                lent: core::ptr::null(),
                heap: self.heap.clone(),
                inline: self.inline,
            }
        } else {
            let mut stored = RecordPayload::new();
            stored.set(self.as_slice());
            stored
        }
    }
}

/// Bytes copied as one by [`Payload::extend_from_blocks`].
pub(crate) type Block = [u8; 32];

/// Copies `src` into `dst`, which has its length.
///
/// Up to 64 bytes are copied inline, as two possibly overlapping loads and stores of the
/// largest size that fits (the way `memcpy` itself treats small sizes), which spares the
/// short strings most fields carry a call.
#[inline(always)]
pub(crate) fn write_uninit(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    let n = src.len();
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr().cast::<u8>());
    /// Copies the first and the last `W` bytes of `n`, with `W <= n <= 2 * W`.
    ///
    /// # Safety
    ///
    /// `s` and `d` must be valid for `n` bytes.
    #[inline(always)]
    unsafe fn ends<const W: usize>(s: *const u8, d: *mut u8, n: usize) {
        // SAFETY: `W <= n`, so both ranges lie inside the `n` bytes; both loads happen
        // before either store.
        unsafe {
            let head = s.cast::<[u8; W]>().read_unaligned();
            let tail = s.add(n - W).cast::<[u8; W]>().read_unaligned();
            d.cast::<[u8; W]>().write_unaligned(head);
            d.add(n - W).cast::<[u8; W]>().write_unaligned(tail);
        }
    }
    // SAFETY: both are valid for `n` bytes and cannot overlap (one is borrowed mutably).
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                *d = *s;
                *d.add(n / 2) = *s.add(n / 2);
                *d.add(n - 1) = *s.add(n - 1);
            }
            4..=7 => ends::<4>(s, d, n),
            8..=15 => ends::<8>(s, d, n),
            16..=32 => ends::<16>(s, d, n),
            33..=64 => ends::<32>(s, d, n),
            _ => core::ptr::copy_nonoverlapping(s, d, n),
        }
    }
}

impl Payload {
    /// An empty payload that writes into `room` first.
    ///
    /// # Safety
    ///
    /// `room` must be valid for writes and reads of [`INLINE_CAPACITY`] bytes, and written
    /// or read by nothing else, for as long as the payload is used.
    #[inline(always)]
    pub(crate) unsafe fn over(room: *mut InlineBytes) -> Self {
        Payload {
            room,
            len: 0,
            heap: Vec::new(),
        }
    }

    #[inline(always)]
    fn inline(&mut self) -> &mut InlineBytes {
        // SAFETY: the invariant of `over`.
        unsafe { &mut *self.room }
    }

    #[inline(always)]
    fn inline_ref(&self) -> &InlineBytes {
        // SAFETY: the invariant of `over`.
        unsafe { &*self.room }
    }

    /// Appends a tag and a fixed-size value.
    #[inline(always)]
    pub(crate) fn put<const N: usize>(&mut self, tag: u8, value: [u8; N]) {
        let at = self.len as usize;
        // SAFETY: the invariant of `over`; the room is not part of `self`.
        let room = unsafe { &mut *self.room };
        match room.get_mut(at..at.wrapping_add(1 + N)) {
            Some(dst) => {
                dst[0].write(tag);
                write_uninit(&mut dst[1..], &value);
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
        // SAFETY: the invariant of `over`; the room is not part of `self`.
        let room = unsafe { &mut *self.room };
        match room.get_mut(at..at.wrapping_add(5 + n)) {
            Some(dst) => {
                dst[0].write(tag);
                write_uninit(&mut dst[1..5], &(n as u32).to_le_bytes());
                write_uninit(&mut dst[5..], bytes);
                self.len += 5 + n as u32;
            }
            None => {
                self.push(tag);
                self.extend_from_slice(&(n as u32).to_le_bytes());
                self.extend_from_slice(bytes);
            }
        }
    }

    /// Appends the first `len` bytes of `blocks`: while they fit in the inline room, as
    /// whole blocks, with no call and no branch on the length (the bytes past `len` land
    /// in room the payload does not use yet).
    #[inline(always)]
    pub(crate) fn extend_from_blocks<const N: usize>(&mut self, blocks: &[Block; N], len: usize) {
        let at = self.len as usize;
        if at.saturating_add(N * size_of::<Block>()) <= INLINE_CAPACITY {
            // SAFETY: the invariant of `over`; the blocks end inside the room, which is
            // not part of `self`, and a block's alignment is 1.
            unsafe {
                let dst = (*self.room).as_mut_ptr().add(at).cast::<[Block; N]>();
                dst.write_unaligned(*blocks);
            }
            self.len += len as u32;
        } else {
            self.extend_from_slice(&blocks.as_flattened()[..len]);
        }
    }

    pub(crate) fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }

    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        let at = self.len as usize;
        // SAFETY: the invariant of `over`; the room is not part of `self`.
        let room = unsafe { &mut *self.room };
        match room.get_mut(at..at.wrapping_add(bytes.len())) {
            Some(dst) => {
                write_uninit(dst, bytes);
                self.len += bytes.len() as u32;
            }
            None => self.spill().extend_from_slice(bytes),
        }
    }

    #[cold]
    #[inline(never)]
    fn spill(&mut self) -> &mut Vec<u8> {
        if self.len != SPILLED {
            let used = self.len as usize;
            self.heap.reserve(used * 2 + 64);
            // SAFETY: the invariant of `over`; `heap` is not part of the room.
            let inline = unsafe { &*self.room };
            self.heap.extend_from_slice(initialized(&inline[..used]));
            self.len = SPILLED;
        }
        &mut self.heap
    }

    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the bytes have moved to the heap. While they have not, the payload holds at
    /// most [`INLINE_CAPACITY`] bytes, far below [`MAX_EVENT_BYTES`].
    #[inline(always)]
    pub(crate) fn spilled(&self) -> bool {
        self.len == SPILLED
    }

    /// Bytes the event may still capture before it reaches [`MAX_EVENT_BYTES`].
    pub(crate) fn room_left(&self) -> usize {
        MAX_EVENT_BYTES.saturating_sub(self.len())
    }

    /// Bytes written, while they are all in the room.
    #[cfg(feature = "writer")]
    #[inline(always)]
    pub(crate) fn inline_len(&self) -> Option<usize> {
        (self.len != SPILLED).then_some(self.len as usize)
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        match self.len {
            SPILLED => &self.heap,
            len => initialized(&self.inline_ref()[..len as usize]),
        }
    }

    /// Overwrites four bytes at `at`, which must be below `len()`.
    pub(crate) fn patch_u32(&mut self, at: usize, value: u32) {
        match self.len {
            SPILLED => {
                if let Some(dst) = self.heap.get_mut(at..at + 4) {
                    dst.copy_from_slice(&value.to_le_bytes());
                }
            }
            len => {
                if let Some(dst) = self.inline()[..len as usize].get_mut(at..at + 4) {
                    write_uninit(dst, &value.to_le_bytes());
                }
            }
        }
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

impl RecordPayload {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        RecordPayload {
            len: 0,
            lent: core::ptr::null(),
            heap: Vec::new(),
            inline: [MaybeUninit::uninit(); INLINE_CAPACITY],
        }
    }

    /// Makes the bytes `bytes`, without copying them: they stay where they are.
    ///
    /// # Safety
    ///
    /// `bytes` must stay valid and unchanged for as long as these bytes are read, that
    /// is until the next call that sets them; the record that holds them must not leave
    /// the thread. The writer lends a record the bytes of its ring for the time it takes
    /// to encode it.
    #[cfg(feature = "writer")]
    #[inline(always)]
    pub(crate) unsafe fn lend(&mut self, bytes: &[u8]) {
        self.lent = bytes.as_ptr();
        self.len = bytes.len() as u32;
    }

    /// Makes the bytes `bytes`, kept where they are, on the heap.
    #[cfg(feature = "writer")]
    pub(crate) fn own_heap(&mut self, bytes: Vec<u8>) {
        self.lent = core::ptr::null();
        self.heap = bytes;
        self.len = SPILLED;
    }

    /// Copies lent bytes in, so that they can be appended to.
    fn own(&mut self) {
        if !self.lent.is_null() {
            // SAFETY: the contract of `lend`.
            let bytes = unsafe { core::slice::from_raw_parts(self.lent, self.len as usize) };
            let mut owned = RecordPayload::new();
            owned.set(bytes);
            *self = owned;
        }
    }

    /// The inline array of a payload not built yet, as room for a [`Payload`] to write
    /// into before [`RecordPayload::init`] makes it whole.
    ///
    /// # Safety
    ///
    /// `stored` must be valid for writes (its fields need not be initialised).
    #[inline(always)]
    pub(crate) unsafe fn inline_of(stored: *mut RecordPayload) -> *mut InlineBytes {
        // SAFETY: only the field's address is taken.
        unsafe { core::ptr::addr_of_mut!((*stored).inline) }
    }

    /// Initialises `stored` from a payload that wrote into
    /// [`RecordPayload::inline_of`]`(stored)`, or that spilled whole to the heap.
    ///
    /// # Safety
    ///
    /// `stored` must be valid for writes, and `payload`'s room must be `stored`'s own
    /// array unless the payload spilled.
    #[inline(always)]
    pub(crate) unsafe fn init(stored: *mut RecordPayload, payload: Payload) {
        // SAFETY: as the caller vouches; the inline bytes, if used, are in place already.
        unsafe {
            core::ptr::addr_of_mut!((*stored).len).write(payload.len);
            core::ptr::addr_of_mut!((*stored).lent).write(core::ptr::null());
            core::ptr::addr_of_mut!((*stored).heap).write(payload.heap);
        }
    }

    /// A [`Payload`] that appends to these bytes, and puts them back when dropped.
    pub(crate) fn edit(&mut self) -> PayloadEdit<'_> {
        self.own();
        // SAFETY: the array lives in `self`, which the guard borrows mutably for as long
        // as the payload exists.
        let mut payload = unsafe { Payload::over(&mut self.inline) };
        payload.len = self.len;
        payload.heap = core::mem::take(&mut self.heap);
        PayloadEdit {
            stored: self,
            payload,
        }
    }

    /// Makes the bytes `bytes`, keeping any heap buffer for reuse.
    pub(crate) fn set(&mut self, bytes: &[u8]) {
        self.lent = core::ptr::null();
        match self.inline.get_mut(..bytes.len()) {
            Some(dst) => {
                write_uninit(dst, bytes);
                self.len = bytes.len() as u32;
            }
            None => {
                self.heap.clear();
                self.heap.extend_from_slice(bytes);
                self.len = SPILLED;
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub(crate) fn spilled(&self) -> bool {
        self.lent.is_null() && self.len == SPILLED
    }

    /// The whole inline array, initialised bytes and the rest, while the bytes are
    /// inline: a copy may read it in blocks past `len()`, up to its end.
    #[cfg(feature = "writer")]
    #[inline(always)]
    pub(crate) fn inline_array(&self) -> Option<&InlineBytes> {
        (self.lent.is_null() && self.len != SPILLED).then_some(&self.inline)
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        if !self.lent.is_null() {
            // SAFETY: the contract of `lend`.
            return unsafe { core::slice::from_raw_parts(self.lent, self.len as usize) };
        }
        match self.len {
            SPILLED => &self.heap,
            len => initialized(&self.inline[..len as usize]),
        }
    }
}

/// A [`RecordPayload`] being appended to; see [`RecordPayload::edit`].
pub(crate) struct PayloadEdit<'a> {
    stored: &'a mut RecordPayload,
    payload: Payload,
}

impl core::ops::Deref for PayloadEdit<'_> {
    type Target = Payload;
    fn deref(&self) -> &Payload {
        &self.payload
    }
}

impl core::ops::DerefMut for PayloadEdit<'_> {
    fn deref_mut(&mut self) -> &mut Payload {
        &mut self.payload
    }
}

impl Drop for PayloadEdit<'_> {
    fn drop(&mut self) {
        self.stored.len = self.payload.len;
        self.stored.heap = core::mem::take(&mut self.payload.heap);
    }
}

/// The bytes of an initialized part of the inline buffer.
#[inline(always)]
fn initialized(bytes: &[MaybeUninit<u8>]) -> &[u8] {
    // SAFETY: callers pass only `inline[..len]`, which the invariant says is initialized;
    // `MaybeUninit<u8>` has the layout of `u8`.
    unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<u8>(), bytes.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_stay_inline_and_large_ones_spill_whole() {
        let mut stored = RecordPayload::new();
        let mut p = stored.edit();
        p.put(1, 7u64.to_le_bytes());
        p.put_len_prefixed(2, b"abc");
        assert!(!p.spilled());
        assert_eq!(p.len(), 9 + 8);
        p.put_len_prefixed(3, &[9; INLINE_CAPACITY]);
        assert!(p.spilled());
        assert_eq!(p.len(), 9 + 8 + 5 + INLINE_CAPACITY);
        assert_eq!(&p.as_slice()[..9], &[1, 7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&p.as_slice()[9..17], &[2, 3, 0, 0, 0, b'a', b'b', b'c']);
        p.put(4, [5u8; 4]);
        assert_eq!(&p.as_slice()[p.len() - 5..], &[4, 5, 5, 5, 5]);
    }

    #[test]
    fn filling_exactly_to_capacity_stays_inline() {
        let mut stored = RecordPayload::new();
        let mut p = stored.edit();
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
            let mut stored = RecordPayload::new();
            let mut p = stored.edit();
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

    #[test]
    fn copies_of_every_small_size_are_exact_and_stay_in_their_range() {
        let src: Vec<u8> = (1..=80).collect();
        for n in 0..=80 {
            let mut dst = [MaybeUninit::new(0xEEu8); 82];
            write_uninit(&mut dst[1..1 + n], &src[..n]);
            // SAFETY: every byte was initialised above.
            let dst: Vec<u8> = dst.iter().map(|b| unsafe { b.assume_init() }).collect();
            assert_eq!(dst[0], 0xEE, "byte before, n = {n}");
            assert_eq!(&dst[1..1 + n], &src[..n], "n = {n}");
            assert!(
                dst[1 + n..].iter().all(|&b| b == 0xEE),
                "bytes after, n = {n}"
            );
        }
    }
}
