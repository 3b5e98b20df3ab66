//! One thread's ring, its two ends: the producer that a logging thread pushes records into
//! and the writer's end that takes them out, with the record header they share.
//!
//! A ring is a power-of-two buffer of bytes with two counters that only grow: `tail`,
//! bytes ever published by the producer, and `head`, bytes ever taken by the writer. A
//! record is a fixed header and its payload, starting at a multiple of 8; one that would
//! run past the end of the buffer starts again at its beginning, after a [`WRAP`] marker.
//! The producer publishes with a release store of `tail`, the writer hands bytes back with
//! a release store of `head`; each side reads the other's counter with an acquire load.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use super::{footprint, Budget, Refused, COPY_BLOCK, HEADER, LARGE, LARGE_PAYLOAD, STRANDED, WRAP};
use crate::{Metadata, Record};

/// A value alone on its cache lines (two of them, as neighbouring lines are fetched in
/// pairs), so that the side that writes it does not slow down the side that writes the
/// other.
#[repr(align(128))]
pub(super) struct Padded<T>(pub(super) T);

/// What the two ends of one ring share.
pub(super) struct RingShared {
    /// The ring's bytes: `mask + 1` of them, 8-byte aligned.
    pub(super) buf: *mut u8,
    pub(super) mask: usize,
    /// Bytes ever published by the producer, and beside them its count of records.
    pub(super) tail: Padded<(AtomicUsize, AtomicU64)>,
    /// Bytes ever taken by the writer.
    pub(super) head: Padded<AtomicUsize>,
    /// Set when the producer's thread has let go of the ring.
    pub(super) abandoned: AtomicBool,
    /// Set by the producer when it found the ring full: it asks the writer for a larger one.
    pub(super) wants_more: AtomicBool,
    /// The larger ring the writer made for the producer to move to.
    pub(super) offer: OnceLock<Arc<RingShared>>,
    /// Set by the producer once it has moved to `offer`, after its last record here.
    pub(super) moved: AtomicBool,
    /// Where this ring's bytes are counted.
    pub(super) budget: Arc<Budget>,
}

// SAFETY: the buffer is written only by the one producer, in the bytes between `head` and
// `head + capacity` that it has not published yet, and read only by the one consumer, in
// the bytes between `head` and the published `tail`; the release store of `tail` and the
// acquire load that reads it order the bytes' writes before their reads, and the same
// goes for `head` and the reuse of the bytes.
unsafe impl Send for RingShared {}
// SAFETY: as above.
unsafe impl Sync for RingShared {}

impl RingShared {
    /// A ring of `bytes` bytes (a power of two, a multiple of 8), plus [`COPY_BLOCK`] bytes
    /// past its end for the last block of a copy, every page touched, so that no event
    /// pays for a page fault the first time round. The caller has counted
    /// [`RingShared::allocation`] bytes in `budget`; they are given back when it is freed.
    pub(super) fn new(bytes: usize, budget: Arc<Budget>) -> Arc<RingShared> {
        let mut words = vec![0u64; (bytes + COPY_BLOCK) / 8].into_boxed_slice();
        for page in words.chunks_mut(512) {
            // A zeroed allocation may be mapped lazily: a write makes the page real.
            // SAFETY: a valid, aligned element of the slice.
            unsafe { core::ptr::write_volatile(&mut page[0], 0) };
        }
        let buf = Box::into_raw(words).cast::<u8>();
        Arc::new(RingShared {
            buf,
            mask: bytes - 1,
            tail: Padded((AtomicUsize::new(0), AtomicU64::new(0))),
            head: Padded(AtomicUsize::new(0)),
            abandoned: AtomicBool::new(false),
            wants_more: AtomicBool::new(false),
            offer: OnceLock::new(),
            moved: AtomicBool::new(false),
            budget,
        })
    }

    /// The bytes a ring of `bytes` bytes allocates for its buffer.
    pub(super) fn allocation(bytes: usize) -> usize {
        bytes + COPY_BLOCK
    }

    pub(super) fn pushed(&self) -> u64 {
        self.tail.0 .1.load(Ordering::Relaxed)
    }
}

impl Drop for RingShared {
    fn drop(&mut self) {
        let words = (self.mask + 1 + COPY_BLOCK) / 8;
        // SAFETY: `buf` came from a boxed slice of this many words in `new`.
        drop(unsafe {
            Box::from_raw(core::ptr::slice_from_raw_parts_mut(
                self.buf.cast::<u64>(),
                words,
            ))
        });
        self.budget
            .used
            .fetch_sub(RingShared::allocation(self.mask + 1), Ordering::Relaxed);
    }
}

/// A logging thread's end of its ring.
pub(super) struct Producer {
    pub(super) ring: Arc<RingShared>,
    pub(super) buf: *mut u8,
    pub(super) mask: usize,
    /// The thread's id, for the records it captures in place.
    pub(super) thread: u64,
    /// This end's copy of the published `tail`.
    pub(super) tail: usize,
    /// The writer's `head` as last read: room is known to be at least this much.
    pub(super) head: usize,
    pub(super) pushed: u64,
}

impl Producer {
    /// The producer's end of a new, empty ring.
    pub(super) fn new(ring: Arc<RingShared>, thread: u64) -> Producer {
        Producer {
            buf: ring.buf,
            mask: ring.mask,
            thread,
            ring,
            tail: 0,
            head: 0,
            pushed: 0,
        }
    }

    /// Writes one record and publishes it.
    #[inline(always)]
    pub(super) fn push(&mut self, record: &Record) -> Result<(), Refused> {
        let (meta, ticks, thread, flags, payload) = record.parts();
        let n = footprint(payload.len());
        // A record of up to half the ring, with its slack, fits in an empty one wherever
        // the ring's end falls; a larger one might never fit.
        let size = self.mask + 1;
        if n + COPY_BLOCK > size / 2 {
            return Err(Refused::TooLarge);
        }
        let (p, skip) = self.reserve(n, COPY_BLOCK).ok_or(Refused::Full)?;
        // SAFETY: `reserve` vouches for `n + COPY_BLOCK` free bytes at `p`, inside the buffer
        // (which has `COPY_BLOCK` more bytes past its end); `p` is a multiple of 8.
        unsafe {
            write_header(p, meta, ticks, thread, flags, payload.len());
            match record.inline_array() {
                Some(inline) => copy_blocks(inline, p.add(HEADER), payload.len()),
                None => {
                    core::ptr::copy_nonoverlapping(payload.as_ptr(), p.add(HEADER), payload.len())
                }
            }
        }
        self.publish(skip, n);
        Ok(())
    }

    /// Puts a stand-in for a record too large for the ring in the record's place: a header
    /// and the address of `bytes`, its payload, moved to the heap. `bytes` is taken (left
    /// empty) once the stand-in is published, and left as it was if the push is refused.
    #[cold]
    #[inline(never)]
    pub(super) fn push_large(
        &mut self,
        record: &Record,
        bytes: &mut Vec<u8>,
    ) -> Result<(), Refused> {
        let (meta, ticks, thread, flags, _) = record.parts();
        let n = footprint(LARGE_PAYLOAD);
        let (p, skip) = self.reserve(n, 0).ok_or(Refused::Full)?;
        let owned = Box::into_raw(Box::new(core::mem::take(bytes)));
        // SAFETY: `reserve` vouches for `n` free bytes at `p`, a multiple of 8: a header and
        // one word. The ring owns the box from here on; `Ring::pop` takes it back.
        unsafe {
            write_header(p, meta, ticks, thread, flags, LARGE as usize);
            p.add(HEADER).cast::<u64>().write(owned as usize as u64);
        }
        self.publish(skip, n);
        Ok(())
    }

    /// Reserves `len` contiguous bytes, and `extra` free ones after them: where they
    /// start, and the bytes skipped before them (the rest of the ring, when `len` does
    /// not fit before its end). None if the ring has no room now.
    #[inline(always)]
    pub(super) fn reserve(&mut self, len: usize, extra: usize) -> Option<(*mut u8, usize)> {
        let size = self.mask + 1;
        let at = self.tail & self.mask;
        let to_end = size - at;
        // A record never wraps: if it does not fit before the end, the rest of the ring
        // is skipped.
        let skip = if len > to_end { to_end } else { 0 };
        let need = skip + len + extra;
        if self.tail + need - self.head > size {
            self.head = self.ring.head.0.load(Ordering::Acquire);
            if self.tail + need - self.head > size {
                return None;
            }
        }
        let start = if skip == 0 {
            // SAFETY: `at` is inside the buffer.
            unsafe { self.buf.add(at) }
        } else {
            self.buf
        };
        Some((start, skip))
    }

    /// Publishes one record of `len` bytes, written where [`Producer::reserve`] said, and
    /// the `skip` bytes before it, marked as skipped.
    #[inline(always)]
    pub(super) fn publish(&mut self, skip: usize, len: usize) {
        if skip != 0 {
            // SAFETY: the skipped bytes were reserved; they start at a multiple of 8.
            unsafe {
                self.buf
                    .add(self.tail & self.mask)
                    .cast::<u64>()
                    .write(WRAP)
            };
        }
        self.tail += skip + len;
        self.pushed += 1;
        self.ring.tail.0 .0.store(self.tail, Ordering::Release);
        // Only this thread writes its count: a plain store, no lock prefix.
        self.ring.tail.0 .1.store(self.pushed, Ordering::Relaxed);
    }
}

/// Writes a record's header at `p`.
///
/// # Safety
///
/// `p` must be 8-aligned and valid for writes of [`HEADER`] bytes.
#[inline(always)]
pub(super) unsafe fn write_header(
    p: *mut u8,
    meta: &'static Metadata,
    ticks: u64,
    thread: u64,
    flags: u8,
    len: usize,
) {
    // SAFETY: as the caller vouches.
    unsafe {
        p.cast::<u64>()
            .write(meta as *const Metadata as usize as u64);
        p.add(8).cast::<u64>().write(ticks);
        p.add(16).cast::<u64>().write(thread);
        p.add(24).cast::<u32>().write(len as u32);
        p.add(28).write(flags);
    }
}

/// Copies the first `len` bytes of `src` to `dst` in blocks of [`COPY_BLOCK`] bytes: inline,
/// with no call to `memcpy`, for the small payloads of most events.
///
/// # Safety
///
/// `dst` must be valid for writes of `len` rounded up to a multiple of [`COPY_BLOCK`].
#[inline(always)]
pub(super) unsafe fn copy_blocks(
    src: &[core::mem::MaybeUninit<u8>; crate::payload::INLINE_CAPACITY],
    dst: *mut u8,
    len: usize,
) {
    type Block = core::mem::MaybeUninit<[u8; COPY_BLOCK]>;
    const { assert!(crate::payload::INLINE_CAPACITY.is_multiple_of(COPY_BLOCK)) };
    const MAX_BLOCKS: usize = crate::payload::INLINE_CAPACITY / COPY_BLOCK;
    let blocks = len.div_ceil(COPY_BLOCK);
    let src = src.as_ptr().cast::<Block>();
    let dst = dst.cast::<Block>();
    // A loop over all the blocks the array has, each copied only if needed: unrolled into
    // a chain of tests, where a loop up to `blocks` would become a call to `memcpy`.
    for i in 0..MAX_BLOCKS {
        if i < blocks {
            // SAFETY: block `i` lies inside `src`'s array and inside what the caller
            // vouches for at `dst`; a block's alignment is 1. The bytes are copied as
            // they are, initialised or not.
            unsafe { dst.add(i).write(src.add(i).read()) };
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // Pairs with the writer's acquire fence once it sees the flag, so that it sees
        // the last records too.
        self.ring.abandoned.store(true, Ordering::Release);
    }
}

/// A record's header, read back from a ring.
#[derive(Clone, Copy)]
pub(super) struct Header {
    pub(super) meta: &'static Metadata,
    pub(super) ticks: u64,
    pub(super) thread: u64,
    pub(super) flags: u8,
    pub(super) len: usize,
    /// Where the record starts in the buffer.
    pub(super) at: usize,
}

impl Header {
    /// Whether the values are on the heap, owned by the record (see [`LARGE`]).
    pub(super) fn is_large(&self) -> bool {
        self.len == LARGE as usize
    }

    /// The bytes the record takes in the ring.
    pub(super) fn footprint(&self) -> usize {
        footprint(if self.is_large() {
            LARGE_PAYLOAD
        } else {
            self.len
        })
    }
}

/// The writer's end of one thread's ring.
pub(crate) struct Ring {
    pub(super) shared: Arc<RingShared>,
    /// Bytes taken so far: where the next record starts.
    pub(super) pos: usize,
    /// Bytes handed back to the producer so far (see [`Ring::release`]).
    pub(super) released: usize,
    /// The producer's `tail` as last read.
    pub(super) tail: usize,
    /// The next record's header, once read.
    pub(super) head: Option<Header>,
    /// The tick count of a head record left for the next round; taken then whatever the
    /// clock says, so that a clock that is off between processors cannot hold a ring up.
    pub(super) deferred: Option<u64>,
    /// Bytes still to take in a round bounded by what the ring held at its start.
    pub(super) quota: usize,
}

impl Ring {
    /// Bytes published and not taken yet, in this ring and in the larger ones its
    /// producer moved to since.
    pub(super) fn waiting(&self) -> usize {
        let mut bytes = self.shared.tail.0 .0.load(Ordering::Acquire) - self.pos;
        let mut next = self.shared.offer.get();
        while let Some(ring) = next {
            bytes += ring.tail.0 .0.load(Ordering::Acquire);
            next = ring.offer.get();
        }
        bytes
    }

    pub(super) fn is_abandoned(&self) -> bool {
        self.shared.abandoned.load(Ordering::Relaxed)
    }

    /// The next record's header, if a record is there.
    pub(super) fn head(&mut self) -> Option<Header> {
        if self.head.is_none() {
            while self.pos == self.tail {
                self.tail = self.shared.tail.0 .0.load(Ordering::Acquire);
                if self.pos != self.tail {
                    break;
                }
                // The producer may have moved to a larger ring. The flag is set after its
                // last record here and acquired: the load after it sees every record of
                // this ring, which all come before the next ring's.
                if !self.shared.moved.load(Ordering::Acquire) {
                    return None;
                }
                let next = Arc::clone(self.shared.offer.get()?);
                self.tail = self.shared.tail.0 .0.load(Ordering::Acquire);
                if self.pos != self.tail {
                    break;
                }
                self.shared = next;
                self.pos = 0;
                self.released = 0;
                self.tail = 0;
            }
            let mask = self.shared.mask;
            let mut at = self.pos & mask;
            // SAFETY: the bytes from `pos` to `tail` were published whole by the producer
            // (the acquire load above pairs with its release store); records start at
            // multiples of 8 and never cross the buffer's end.
            unsafe {
                let mut p = self.shared.buf.add(at);
                if p.cast::<u64>().read() == WRAP {
                    self.pos += mask + 1 - at;
                    self.quota = self.quota.saturating_sub(mask + 1 - at);
                    at = 0;
                    p = self.shared.buf;
                }
                let meta = p.cast::<u64>().read() as usize as *const Metadata;
                self.head = Some(Header {
                    // SAFETY: the producer wrote the address of a `&'static Metadata` of
                    // this process, and a ring never leaves the process.
                    meta: &*meta,
                    ticks: p.add(8).cast::<u64>().read(),
                    thread: p.add(16).cast::<u64>().read(),
                    len: p.add(24).cast::<u32>().read() as usize,
                    flags: p.add(28).read(),
                    at,
                });
            }
        }
        self.head
    }

    /// Takes the next record off the ring, into `into`.
    ///
    /// The record's payload is lent, not copied: it stays in the ring, whose bytes from
    /// this record on are handed back to the producer only at a later `pop` or at
    /// [`Merge::end_round`]. So `into` may be read until then, and not after.
    pub(super) fn pop(&mut self, into: &mut Record) -> bool {
        let Some(head) = self.head() else {
            return false;
        };
        // The room is handed back in steps: a store per record would pull the line that
        // holds `head` back and forth between the writer and a producer waiting for room.
        // What is handed back ends where this record starts.
        if self.pos - self.released >= self.release_step() {
            self.release();
        }
        if head.is_large() {
            // SAFETY: the producer wrote the address of a box it gave up to the ring, and
            // the ring's consumer takes it back once, here, as `pos` moves past it below.
            let bytes = unsafe {
                let at = self.shared.buf.add(head.at + HEADER).cast::<u64>().read();
                Box::from_raw(at as usize as *mut Vec<u8>)
            };
            into.refill_owned(head.meta, head.ticks, head.thread, head.flags, *bytes);
        } else {
            // SAFETY: the header was read from a published record, whose payload follows
            // it inside the buffer. The bytes stay the record's until they are handed
            // back, which the rule above leaves to a later call; the writer encodes a
            // record before it takes the next one, and does not keep it.
            unsafe {
                let payload =
                    core::slice::from_raw_parts(self.shared.buf.add(head.at + HEADER), head.len);
                into.refill_lent(head.meta, head.ticks, head.thread, head.flags, payload);
            }
        }
        let n = head.footprint();
        self.pos += n;
        self.head = None;
        self.quota = self.quota.saturating_sub(n);
        true
    }

    /// Bytes taken that are handed back to the producer at once.
    pub(super) fn release_step(&self) -> usize {
        ((self.shared.mask + 1) / 4).min(16 * 1024)
    }

    /// Hands the bytes taken so far back to the producer.
    pub(super) fn release(&mut self) {
        if self.released != self.pos {
            self.released = self.pos;
            // Pairs with the producer's acquire load: the bytes are free to reuse.
            self.shared.head.0.store(self.pos, Ordering::Release);
        }
    }
}

impl Drop for Ring {
    /// Frees the values of the large records still in the ring, which own them.
    fn drop(&mut self) {
        let mut scratch = Record::new(&STRANDED, 0, 0);
        while self.pop(&mut scratch) {}
    }
}
