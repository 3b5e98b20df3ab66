//! The queue between the logging threads and the writer: one bounded single-producer ring
//! of bytes per logging thread.
//!
//! A caller copies its record into its own thread's ring: a fixed header (call site,
//! ticks, thread, flags, payload length) and the captured values, as they are, in one
//! contiguous reservation published by one release store. No lock, no read-modify-write,
//! no cache line shared with another producer, and only the bytes the event uses (about 70
//! for an actor and four fields) cross to the writer's core. A thread gets its ring at its
//! first event; the writer adopts it, drains it, and lets go of it once its thread has
//! ended and it is empty.
//!
//! A ring starts small ([`FIRST_RING`] bytes at most) and grows only when its thread logs
//! faster than the writer drains, so that a pool of hundreds of mostly idle threads costs
//! little. Growth is asked for on the cold path, when a push finds the ring full: the
//! producer flags its ring, and the writer, at its next round, makes a ring twice as large
//! (up to the per-thread cap that `capacity` sets, and within the total that
//! `max_queue_bytes` allows) and offers it, hung on the old one. The producer takes the
//! offer at its next full ring, marks the old ring as left, and pushes into the new one
//! from then on; meanwhile the full ring is handled as any full ring is (wait, or drop and
//! count). So the caller never allocates for growth, and the common path is the same as
//! for a ring that never grows: the producer's copy of the ring's address and mask is
//! simply replaced. The writer takes the old ring's records to the last before it follows
//! the link, so the thread's order holds; the old ring is freed once both ends have let go
//! of it.
//!
//! An event too large for its ring (more than half of it) keeps its place all the same: its
//! values are moved to the heap, and a small record that owns them takes the event's place
//! in the ring (its length field says [`LARGE`]); the writer takes the values back when it
//! reaches that record. So each thread's events reach the stream in the order the thread
//! logged them, whatever their size.
//!
//! The writer merges the rings by the records' tick counts, so that the stream's order
//! follows the order in which events happened, across threads too: the writer reads the
//! clock first, then takes only records older than that reading. A record that was still
//! on its way into another ring when the writer looked was stamped before that reading,
//! and so is older than anything the writer takes after it; it comes first in the next
//! round.
//!
//! The code follows those concerns: [`ring`] is one ring and its two ends (the producer's
//! push and the writer's pop, over the header they share), [`merge`] is the writer's
//! merge of all rings by tick count, and this file is what the callers see: the rings of
//! one writer, each thread's own ring found and registered, waiting for room and growth.
//!
//! The file passes 800 lines because its second half is the tests of the queue as a whole
//! (rings, registry and merge together, under many threads).

use std::cell::{RefCell, RefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::Duration;

use crate::{Metadata, Record};

mod merge;
mod ring;

pub(crate) use merge::{Due, Merge};
pub(crate) use ring::Ring;
use ring::{write_header, Producer, RingShared};

/// Bytes of a record's header in a ring: call site, ticks, thread, payload length, flags,
/// and padding to the next multiple of 8.
const HEADER: usize = 32;

/// The first word of a record is its call site's address, never zero; a zero there says
/// that the rest of the ring up to its end is unused, and the next record is at the start.
const WRAP: u64 = 0;

/// The length field of a record whose values live on the heap: its payload is the address
/// of a `Box<Vec<u8>>` that the record owns (see [`Producer::push_large`]).
const LARGE: u32 = u32::MAX;

/// Payload bytes of a [`LARGE`] record: the address of its values.
const LARGE_PAYLOAD: usize = 8;

/// Ring bytes per event of `capacity`: room for an event with a few hundred bytes of
/// values, or for about twice as many typical ones.
pub(crate) const BYTES_PER_EVENT: usize = 128;

/// Bytes past a record that its copy may overwrite: payloads are copied in blocks of
/// this size, and the last block may run past the record's end into free room.
const COPY_BLOCK: usize = 32;

/// The smallest ring: a record with a full inline payload, and the slack after it, must
/// fit in half of it.
const MIN_RING: usize = 2 * (HEADER + crate::payload::INLINE_CAPACITY + COPY_BLOCK);

/// The most bytes a thread's first ring has: small enough that an idle or lightly logging
/// thread costs little (with the slack and the shared counters, under 64 KiB), large
/// enough for a few hundred typical events between two visits of the writer.
pub(crate) const FIRST_RING: usize = 32 * 1024;

/// The room an event captured in place reserves: a header and a full inline payload.
const IN_PLACE: usize = footprint(crate::payload::INLINE_CAPACITY);

/// The bytes a record takes in a ring: records start at multiples of 8.
#[inline(always)]
const fn footprint(payload: usize) -> usize {
    (HEADER + payload + 7) & !7
}

/// The rings of one installed writer, as the callers see them.
pub(crate) struct Rings {
    /// The most bytes a thread's ring grows to: a power of two.
    ring_bytes: usize,
    /// Bytes in a thread's first ring: a power of two, at most `ring_bytes`.
    first_bytes: usize,
    /// Bytes held by all rings, against the total that growth may not pass.
    budget: Arc<Budget>,
    /// Rings created since the writer last looked.
    incoming: Mutex<Vec<Ring>>,
    has_incoming: AtomicBool,
    /// Every live ring, for its count of records pushed, and the sum for rings let go of.
    counts: Mutex<(Vec<Arc<RingShared>>, u64)>,
    /// The writer thread, woken when a caller waits for room or for an answer.
    writer: OnceLock<Thread>,
    /// Set once the writer has stopped taking records.
    closed: AtomicBool,
    /// Rings the writer held when it stopped: whatever is in them was never written.
    leftover: Mutex<Vec<Ring>>,
}

/// Stands in for the call site of records taken out only to be counted.
static STRANDED: Metadata = Metadata::new(
    crate::Level::Info,
    "trail",
    "trail::queue",
    file!(),
    line!(),
    "",
    &[],
    &[],
);

/// The bytes held by all the rings of one writer, and the most that growing rings may
/// bring them to.
struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    /// Counts `bytes` more if that keeps the total within the cap.
    fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.max)
            })
            .is_ok()
    }
}

/// Why a push did not happen; the record stays with the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The ring has no room now.
    Full,
    /// The record is larger than half a ring, the most a ring takes at once.
    TooLarge,
    /// The thread cannot use a ring (it is ending, or is inside a push already).
    NoRing,
}

/// Room reserved in the calling thread's ring, where an event's values are captured in
/// place; published by [`Slot::commit`], given up if dropped.
pub(crate) struct Slot {
    local: RefMut<'static, ThreadState>,
    /// Where the record starts.
    start: *mut u8,
    /// Bytes skipped before it, at the end of the ring.
    skip: usize,
}

impl Slot {
    /// Where the values go: right after the header, [`INLINE_CAPACITY`] bytes of room.
    ///
    /// [`INLINE_CAPACITY`]: crate::payload::INLINE_CAPACITY
    #[inline(always)]
    pub(crate) fn room(&self) -> *mut crate::payload::InlineBytes {
        // SAFETY: the reservation holds a header and the room after it.
        unsafe { self.start.add(HEADER).cast() }
    }

    /// Publishes the record whose values, `len` bytes, were captured in the room.
    #[inline(always)]
    pub(crate) fn commit(mut self, meta: &'static Metadata, ticks: u64, flags: u8, len: usize) {
        let Some(producer) = self.local.producer.as_mut() else {
            return;
        };
        // SAFETY: the reservation holds the header's bytes at `start`, a multiple of 8.
        unsafe { write_header(self.start, meta, ticks, producer.thread, flags, len) };
        producer.publish(self.skip, footprint(len));
    }
}

struct ThreadState {
    /// The [`Rings`] this thread's producer belongs to, by address.
    owner: usize,
    producer: Option<Producer>,
    /// Whether this is a writer thread, which must never wait for itself.
    writer: bool,
}

thread_local! {
    static THREAD_STATE: RefCell<ThreadState> = const {
        RefCell::new(ThreadState { owner: 0, producer: None, writer: false })
    };
}

/// Marks the calling thread as a writer thread.
pub(crate) fn mark_writer_thread() {
    let _ = THREAD_STATE.try_with(|local| local.borrow_mut().writer = true);
}

/// Whether the calling thread is a writer thread.
pub(crate) fn on_writer_thread() -> bool {
    THREAD_STATE
        .try_with(|local| local.try_borrow().is_ok_and(|l| l.writer))
        .unwrap_or(false)
}

impl Rings {
    /// Rings that grow up to `capacity` events of [`BYTES_PER_EVENT`] bytes each, and all
    /// together past `max_bytes` only by the first ring of each thread.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Rings {
        let ring_bytes = capacity
            .saturating_mul(BYTES_PER_EVENT)
            .clamp(MIN_RING, 1 << 40)
            .next_power_of_two();
        Rings {
            ring_bytes,
            first_bytes: ring_bytes.min(FIRST_RING),
            budget: Arc::new(Budget {
                used: AtomicUsize::new(0),
                max: max_bytes,
            }),
            incoming: Mutex::new(Vec::new()),
            has_incoming: AtomicBool::new(false),
            counts: Mutex::new((Vec::new(), 0)),
            writer: OnceLock::new(),
            closed: AtomicBool::new(false),
            leftover: Mutex::new(Vec::new()),
        }
    }

    /// Tells the rings which thread drains them.
    pub(crate) fn set_writer(&self, thread: Thread) {
        let _ = self.writer.set(thread);
    }

    /// Wakes the writer if it is waiting for work.
    pub(crate) fn wake_writer(&self) {
        if let Some(thread) = self.writer.get() {
            thread.unpark();
        }
    }

    /// Whether the writer has stopped taking records.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The calling thread's end of its ring, borrowed for one call, created at the
    /// thread's first event. `NoRing` if the thread is ending, or if its ring is in use
    /// already (an event logged while another is being captured).
    #[inline(always)]
    fn local(&self) -> Result<RefMut<'static, ThreadState>, Refused> {
        let cell = THREAD_STATE
            .try_with(|local| local as *const RefCell<ThreadState>)
            .map_err(|_| Refused::NoRing)?;
        // SAFETY: a thread-local lives until its thread ends, and the borrow is given
        // back before the call on this thread that took it returns.
        let cell: &'static RefCell<ThreadState> = unsafe { &*cell };
        let mut local = cell.try_borrow_mut().map_err(|_| Refused::NoRing)?;
        let owner = self as *const Rings as usize;
        if local.owner != owner {
            local.producer = Some(self.register());
            local.owner = owner;
        }
        Ok(local)
    }

    /// Copies a record into the calling thread's ring.
    #[inline(always)]
    pub(crate) fn push(&self, record: &Record) -> Result<(), Refused> {
        match self.local()?.producer.as_mut() {
            Some(producer) => producer.push(record),
            None => Err(Refused::NoRing),
        }
    }

    /// Puts a record too large for the calling thread's ring in its place in that ring,
    /// its payload, `bytes`, moved to the heap; see [`Producer::push_large`].
    #[cold]
    pub(crate) fn push_large(&self, record: &Record, bytes: &mut Vec<u8>) -> Result<(), Refused> {
        match self.local()?.producer.as_mut() {
            Some(producer) => producer.push_large(record, bytes),
            None => Err(Refused::NoRing),
        }
    }

    /// Reserves room in the calling thread's ring for an event to be captured in place.
    /// None if the ring is full, or if the thread cannot use it now: the event then takes
    /// [`Rings::push`]'s way.
    #[inline(always)]
    pub(crate) fn reserve(&self) -> Option<Slot> {
        let mut local = self.local().ok()?;
        let (start, skip) = local.producer.as_mut()?.reserve(IN_PLACE, 0)?;
        Some(Slot { local, start, skip })
    }

    /// Waits for room in the calling thread's ring, then pushes with `push`. Gives up,
    /// saying why, if the writer stops meanwhile or if this is the writer's own thread.
    #[cold]
    pub(crate) fn push_waiting(
        &self,
        mut push: impl FnMut(&Rings) -> Result<(), Refused>,
    ) -> Result<(), Refused> {
        if on_writer_thread() {
            return Err(Refused::Full);
        }
        let mut round = 0u32;
        loop {
            if self.is_closed() {
                return Err(Refused::Full);
            }
            self.wake_writer();
            pause(round);
            round = round.saturating_add(1);
            match push(self) {
                // The writer may have a larger ring ready by now.
                Err(Refused::Full) => {
                    if self.grow() {
                        round = 0;
                    }
                }
                other => return other,
            }
        }
    }

    /// Moves the calling thread, whose ring is full, to the larger ring the writer has
    /// offered; without an offer, asks the writer for one and returns false. Allocates
    /// nothing: the writer does (see [`Rings::offer_growth`]).
    #[cold]
    #[inline(never)]
    pub(crate) fn grow(&self) -> bool {
        let Ok(mut local) = self.local() else {
            return false;
        };
        let Some(producer) = local.producer.as_mut() else {
            return false;
        };
        let Some(offer) = producer.ring.offer.get() else {
            if !producer.ring.wants_more.swap(true, Ordering::Relaxed) {
                self.wake_writer();
            }
            return false;
        };
        let grown = Producer::new(Arc::clone(offer), producer.thread);
        // After the last record published in the old ring: the writer, seeing the flag,
        // finds every one of them there before it moves on.
        producer.ring.moved.store(true, Ordering::Release);
        // The old end is dropped, marking the old ring abandoned.
        *producer = grown;
        true
    }

    /// Offers a ring twice as large to each producer that found its ring full, up to
    /// the per-thread cap and within the total; for the writer, at each round. A
    /// request that the total refuses now is looked at again when the producer asks again.
    pub(crate) fn offer_growth(&self, rings: &[Ring]) {
        for ring in rings {
            // The ring the producer pushes into now: the last one it moved to.
            let mut shared = &ring.shared;
            while shared.moved.load(Ordering::Acquire) {
                match shared.offer.get() {
                    Some(next) => shared = next,
                    None => break,
                }
            }
            // A plain load first: most rounds, no ring asks.
            if !shared.wants_more.load(Ordering::Relaxed)
                || !shared.wants_more.swap(false, Ordering::Relaxed)
                || shared.offer.get().is_some()
            {
                continue;
            }
            let bytes = (shared.mask + 1) * 2;
            if bytes > self.ring_bytes || !self.budget.try_take(RingShared::allocation(bytes)) {
                continue;
            }
            let grown = RingShared::new(bytes, Arc::clone(&self.budget));
            self.count(&grown);
            let _ = shared.offer.set(grown);
        }
    }

    /// Bytes that the rings' buffers hold now, all threads together.
    #[cfg(test)]
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.budget.used.load(Ordering::Relaxed)
    }

    /// Lists a new ring for the count of records pushed.
    fn count(&self, shared: &Arc<RingShared>) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .push(Arc::clone(shared));
    }

    /// A new ring for the calling thread; the writer adopts it at its next round.
    #[cold]
    fn register(&self) -> Producer {
        // A thread's first ring is granted whatever the total: without one the thread
        // could not log at all. Only growth is held to the cap.
        self.budget
            .used
            .fetch_add(RingShared::allocation(self.first_bytes), Ordering::Relaxed);
        let shared = RingShared::new(self.first_bytes, Arc::clone(&self.budget));
        self.count(&shared);
        self.incoming
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Ring {
                shared: Arc::clone(&shared),
                pos: 0,
                released: 0,
                tail: 0,
                head: None,
                deferred: None,
                quota: 0,
            });
        self.has_incoming.store(true, Ordering::Release);
        Producer::new(shared, crate::thread::current_id())
    }

    /// Records pushed into any ring so far.
    pub(crate) fn pushed(&self) -> u64 {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (live, retired) = &mut *counts;
        // A ring that only this list still holds (its thread has ended and the writer has
        // let go of it) has its count folded into the total.
        live.retain(|ring| {
            if Arc::strong_count(ring) == 1 {
                *retired += ring.pushed();
                false
            } else {
                true
            }
        });
        *retired + live.iter().map(|ring| ring.pushed()).sum::<u64>()
    }

    /// Rings created since the last call.
    pub(crate) fn adopt(&self, into: &mut Vec<Ring>) {
        if self.has_incoming.swap(false, Ordering::Acquire) {
            let mut incoming = self.incoming.lock().unwrap_or_else(|p| p.into_inner());
            into.append(&mut incoming);
        }
    }

    /// Stops taking records: what lands in a ring from now on is counted as lost.
    pub(crate) fn close(&self, rings: Vec<Ring>) {
        self.closed.store(true, Ordering::Release);
        let mut leftover = self.leftover.lock().unwrap_or_else(|p| p.into_inner());
        leftover.extend(rings);
    }

    /// Records that reached a ring after the writer stopped.
    pub(crate) fn stranded(&self) -> u64 {
        if !self.is_closed() {
            return 0;
        }
        let count = |rings: &mut Vec<Ring>| -> u64 {
            rings
                .iter_mut()
                .map(|ring| {
                    let mut n = 0;
                    let mut scratch = Record::new(&STRANDED, 0, 0);
                    while ring.pop(&mut scratch) {
                        n += 1;
                    }
                    ring.release();
                    n
                })
                .sum()
        };
        // What is counted is taken out, so that each is counted once.
        let leftover = count(&mut self.leftover.lock().unwrap_or_else(|p| p.into_inner()));
        leftover + count(&mut self.incoming.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A caller's wait for room: spin briefly, then yield, then sleep in short steps.
fn pause(round: u32) {
    match round {
        0..=3 => {
            for _ in 0..(1 << round) {
                std::hint::spin_loop();
            }
        }
        4..=7 => std::thread::yield_now(),
        _ => std::thread::sleep(Duration::from_micros(50)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static META: Metadata = Metadata::for_test(crate::Level::Info, "queue", "", &["n"], &[]);

    fn record(n: u64, ticks: u64) -> Record {
        let mut record = Record::new(&META, ticks, 7);
        let _ = crate::Capture::new(&mut record.payload_mut()).u64(n);
        record
    }

    fn value(record: &Record) -> u64 {
        match record.decode().values()[0] {
            crate::ValueRef::U64(n) => n,
            other => panic!("not a u64: {other:?}"),
        }
    }

    #[test]
    fn records_cross_whole_even_when_they_wrap_around_the_ring() {
        // A ring of 1024 bytes and records of 48: the end falls inside a record every time
        // round, and the record goes to the start, the rest of the ring skipped.
        let rings = Rings::new(1, usize::MAX);
        let mut merge = Merge::default();
        let mut n = 0;
        for round in 0..50 {
            for _ in 0..(round % 7 + 1) {
                rings.push(&record(n, n)).expect("room");
                n += 1;
            }
            rings.adopt(&mut merge.rings);
            merge.set_quotas();
            let mut seen = 0;
            let mut r = Record::new(&META, 0, 0);
            while merge.next(Due::WithinQuota, &mut r) {
                assert_eq!(value(&r), n - (round % 7 + 1) + seen);
                assert_eq!(r.thread_id(), 7);
                seen += 1;
            }
            assert_eq!(seen, round % 7 + 1);
        }
        assert_eq!(rings.pushed(), n);
    }

    #[test]
    fn a_full_ring_refuses_and_a_huge_record_is_too_large() {
        let rings = Rings::new(1, usize::MAX);
        let mut pushed = 0;
        while rings.push(&record(pushed, pushed)).is_ok() {
            pushed += 1;
        }
        assert_eq!(rings.push(&record(0, 0)), Err(Refused::Full));
        // A u64 field takes 9 bytes, a record 32 + 9 rounded up to 48, and the last one
        // needs 32 bytes of slack after it.
        assert_eq!(pushed, (1024 - 32) / 48);
        let mut big = Record::new(&META, 0, 7);
        let _ = crate::Capture::new(&mut big.payload_mut()).str(&"x".repeat(1_000));
        assert_eq!(rings.push(&big), Err(Refused::TooLarge));
    }

    #[test]
    fn a_record_of_half_the_ring_gets_through_wherever_the_ring_stands() {
        let rings = Rings::new(1, usize::MAX);
        let mut merge = Merge::default();
        let mut r = Record::new(&META, 0, 0);
        // 32 bytes of header, 5 of tag and length, 443 of text: 480, with the slack of 32
        // half the ring.
        let mut half = Record::new(&META, 0, 7);
        let _ = crate::Capture::new(&mut half.payload_mut()).str(&"h".repeat(443));
        for step in 0..40 {
            rings
                .push(&record(step, step))
                .expect("room for a small record");
            rings.adopt(&mut merge.rings);
            assert!(merge.next(Due::StampedBefore(u64::MAX), &mut r));
            rings
                .push(&half)
                .expect("an empty ring takes half its size");
            assert!(merge.next(Due::StampedBefore(u64::MAX), &mut r));
            assert_eq!(r.payload_len(), 448);
            assert!(!merge.next(Due::StampedBefore(u64::MAX), &mut r));
        }
        let mut over = Record::new(&META, 0, 7);
        let _ = crate::Capture::new(&mut over.payload_mut()).str(&"h".repeat(444));
        assert_eq!(rings.push(&over), Err(Refused::TooLarge));
    }

    #[test]
    fn a_record_too_large_for_the_ring_keeps_its_place_among_the_small_ones() {
        let rings = Rings::new(1, usize::MAX);
        let mut merge = Merge::default();
        let mut r = Record::new(&META, 0, 0);
        let mut big = Record::new(&META, 5, 7);
        let text = "b".repeat(10_000);
        let _ = crate::Capture::new(&mut big.payload_mut()).str(&text);
        for round in 0..30 {
            rings.push(&record(round, 1)).expect("room");
            assert_eq!(rings.push(&big), Err(Refused::TooLarge));
            let mut bytes = big.parts().4.to_vec();
            rings.push_large(&big, &mut bytes).expect("room");
            assert!(bytes.is_empty(), "the ring owns the values now");
            rings.push(&record(round + 100, 9)).expect("room");
            rings.adopt(&mut merge.rings);
            assert!(merge.next(Due::StampedBefore(u64::MAX), &mut r));
            assert_eq!(value(&r), round);
            assert!(merge.next(Due::StampedBefore(u64::MAX), &mut r));
            assert_eq!((r.thread_id(), r.payload_len()), (7, 5 + text.len()));
            assert_eq!(r.decode().values()[0], crate::ValueRef::Str(&text));
            assert!(merge.next(Due::StampedBefore(u64::MAX), &mut r));
            assert_eq!(value(&r), round + 100);
            assert!(!merge.next(Due::StampedBefore(u64::MAX), &mut r));
            merge.end_round();
        }
        // One left in the ring when the writer lets go of it is freed with it.
        let mut bytes = big.parts().4.to_vec();
        rings.push_large(&big, &mut bytes).expect("room");
        drop(merge);
    }

    #[test]
    fn rings_merge_in_tick_order_and_a_cut_holds_back_later_records() {
        let rings: &'static Rings = Box::leak(Box::new(Rings::new(64, usize::MAX)));
        for (thread_ticks, base) in [([1, 4, 9], 100), ([2, 3, 20], 200)] {
            std::thread::spawn(move || {
                for (i, t) in thread_ticks.into_iter().enumerate() {
                    rings.push(&record(base + i as u64, t)).expect("room");
                }
            })
            .join()
            .expect("producer");
        }
        let mut merge = Merge::default();
        rings.adopt(&mut merge.rings);
        let mut order = Vec::new();
        let mut r = Record::new(&META, 0, 0);
        while merge.next(Due::StampedBefore(10), &mut r) {
            order.push(value(&r));
        }
        assert_eq!(order, [100, 200, 201, 101, 102]);
        merge.end_round();
        // The record at tick 20 was held back once; the next round takes it whatever the
        // cut, and then lets go of the ring, whose thread has ended.
        assert!(merge.next(Due::StampedBefore(10), &mut r));
        assert_eq!(value(&r), 202);
        merge.end_round();
        assert!(merge.rings.is_empty());
    }

    /// Pushes `record` into the calling thread's ring; when it is full, asks for a larger
    /// one, lets the writer's side (`merge`) offer it, and moves to it, as the caller's
    /// cold path and the writer's round do. False if the ring is full and cannot grow.
    fn push_growing(rings: &Rings, merge: &mut Merge, record: &Record) -> bool {
        match rings.push(record) {
            Ok(()) => true,
            Err(Refused::Full) => {
                assert!(!rings.grow(), "no larger ring before the writer offers one");
                rings.adopt(&mut merge.rings);
                rings.offer_growth(&merge.rings);
                rings.grow() && rings.push(record).is_ok()
            }
            Err(other) => panic!("refused: {other:?}"),
        }
    }

    #[test]
    fn a_thread_that_logs_a_few_events_holds_a_small_ring() {
        let rings: &'static Rings = Box::leak(Box::new(Rings::new(16 * 1024, usize::MAX)));
        std::thread::spawn(move || {
            for n in 0..20 {
                rings.push(&record(n, n)).expect("room");
            }
            let held = rings.allocated_bytes();
            assert!(held > 0, "the thread has a ring");
            assert!(
                held <= 64 * 1024,
                "a thread that logged 20 events holds {held} bytes"
            );
        })
        .join()
        .expect("producer");
        // The writer lets go of the ring of a thread that has ended, once it is empty.
        let mut merge = Merge::default();
        rings.adopt(&mut merge.rings);
        let mut r = Record::new(&META, 0, 0);
        while merge.next(Due::StampedBefore(u64::MAX), &mut r) {}
        merge.end_round();
        assert!(merge.rings.is_empty());
        drop(merge);
        // The count of records pushed lets go of the rings nobody else holds.
        assert_eq!(rings.pushed(), 20);
        assert_eq!(rings.allocated_bytes(), 0, "every ring is freed");
    }

    #[test]
    fn a_burst_grows_the_ring_to_its_cap_and_keeps_every_record_in_order() {
        // A cap of 2048 events: a ring of 256 KiB, reached from 32 KiB in three steps.
        let rings = Rings::new(2048, usize::MAX);
        let mut merge = Merge::default();
        let mut r = Record::new(&META, 0, 0);
        let mut next_out = 0;
        let mut n = 0;
        let mut most = 0;
        // Bursts that fill the ring, with the writer taking a few records between them,
        // so that growth meets rings holding records, and the writer meets rings left for
        // larger ones at every point.
        for burst in 0..12 {
            while push_growing(&rings, &mut merge, &record(n, n)) {
                n += 1;
            }
            most = most.max(rings.allocated_bytes());
            rings.adopt(&mut merge.rings);
            for _ in 0..(burst * 97 % 500) {
                if !merge.next(Due::StampedBefore(u64::MAX), &mut r) {
                    break;
                }
                assert_eq!(value(&r), next_out);
                next_out += 1;
            }
            merge.end_round();
        }
        merge.set_quotas();
        while merge.next(Due::WithinQuota, &mut r) {
            assert_eq!(value(&r), next_out);
            next_out += 1;
        }
        assert_eq!(next_out, n, "every record pushed was taken once, in order");
        assert!(n > (256 * 1024) / 48, "the ring grew to hold {n} records");
        assert_eq!(
            merge.rings[0].shared.mask + 1,
            256 * 1024,
            "grown to the cap"
        );
        assert!(!rings.grow(), "a ring at its cap does not grow");
        assert!(
            most <= 2 * (256 * 1024 + COPY_BLOCK),
            "at most the old ring and the new one are held: {most}"
        );
        merge.end_round();
        assert_eq!(rings.pushed(), n);
    }

    #[test]
    fn growth_stops_at_the_total_and_the_ring_refuses_as_full() {
        use std::sync::atomic::AtomicUsize;
        const THREADS: usize = 8;
        let max = THREADS * RingShared::allocation(FIRST_RING) + 200 * 1024;
        let rings: &'static Rings = Box::leak(Box::new(Rings::new(16 * 1024, max)));
        static DONE: AtomicUsize = AtomicUsize::new(0);
        let all_have_rings: &'static std::sync::Barrier =
            Box::leak(Box::new(std::sync::Barrier::new(THREADS)));
        let threads: Vec<_> = (0..THREADS as u64)
            .map(|t| {
                std::thread::spawn(move || {
                    // First rings are granted whatever the total; growth starts once
                    // every thread has its own.
                    rings.push(&record(0, t)).expect("room");
                    all_have_rings.wait();
                    let mut n = 1;
                    'fill: loop {
                        while rings.push(&record(n, t)).is_ok() {
                            n += 1;
                        }
                        // Full: wait a while for the writer's offer, as a blocked caller
                        // does; none comes once the total is reached.
                        for _ in 0..2_000 {
                            if rings.grow() {
                                continue 'fill;
                            }
                            std::thread::yield_now();
                        }
                        break;
                    }
                    DONE.fetch_add(1, Ordering::Relaxed);
                    n
                })
            })
            .collect();
        // The writer's side, offering growth and taking nothing.
        let mut merge = Merge::default();
        while DONE.load(Ordering::Relaxed) < THREADS {
            rings.adopt(&mut merge.rings);
            rings.offer_growth(&merge.rings);
            let held = rings.allocated_bytes();
            assert!(held <= max, "{held} bytes held past the total of {max}");
            std::thread::yield_now();
        }
        let pushed: u64 = threads
            .into_iter()
            .map(|t| t.join().expect("producer"))
            .sum();
        let held = rings.allocated_bytes();
        assert!(held <= max, "{held} bytes held past the total of {max}");
        // Some thread still had its first ring, so growth stopped less than that
        // thread's next step short of the total.
        assert!(
            held + RingShared::allocation(2 * FIRST_RING) > max,
            "rings grew as far as the total allowed: {held} of {max}"
        );
        rings.adopt(&mut merge.rings);
        merge.set_quotas();
        let mut r = Record::new(&META, 0, 0);
        let mut taken = 0;
        while merge.next(Due::WithinQuota, &mut r) {
            taken += 1;
        }
        assert_eq!(taken, pushed, "every record pushed is there");
    }

    #[test]
    fn the_writer_keeps_a_larger_ring_taken_up_before_anything_is_pushed_into_it() {
        let rings = Rings::new(2048, usize::MAX);
        let mut merge = Merge::default();
        let mut n = 0;
        while rings.push(&record(n, n)).is_ok() {
            n += 1;
        }
        assert!(!rings.grow(), "asks the writer");
        rings.adopt(&mut merge.rings);
        rings.offer_growth(&merge.rings);
        let mut r = Record::new(&META, 0, 0);
        let mut taken = 0;
        while merge.next(Due::StampedBefore(u64::MAX), &mut r) {
            assert_eq!(value(&r), taken);
            taken += 1;
        }
        assert_eq!(taken, n);
        // The producer moves, abandoning its old ring, after the writer emptied it and
        // before it pushes anything into the new one: the writer finds the old ring
        // abandoned and empty at the end of its round.
        assert!(rings.grow());
        merge.end_round();
        assert_eq!(merge.rings.len(), 1, "the new ring is still the writer's");
        rings.push(&record(n, n)).expect("room in the larger ring");
        assert!(merge.next(Due::StampedBefore(u64::MAX), &mut r));
        assert_eq!(value(&r), n);
    }
}
