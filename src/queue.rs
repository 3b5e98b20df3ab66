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
//! The writer merges the rings by the records' tick counts, so that the stream's order
//! follows the order in which events happened, across threads too: the writer reads the
//! clock first, then takes only records older than that reading. A record that was still
//! on its way into another ring when the writer looked was stamped before that reading,
//! and so is older than anything the writer takes after it; it comes first in the next
//! round.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::Duration;

use rtrb::{Consumer, Producer, RingBuffer};

use crate::payload::write_uninit;
use crate::{Metadata, Record};

/// Bytes of a record's header in a ring: call site, ticks, thread, flags, payload length.
const HEADER: usize = 8 + 8 + 8 + 1 + 4;

/// Ring bytes per event of `capacity`: room for an event with a few hundred bytes of
/// values, or for about twice as many typical ones.
pub(crate) const BYTES_PER_EVENT: usize = 128;

/// The rings of one installed writer, as the callers see them.
pub(crate) struct Rings {
    /// Bytes in each thread's ring.
    ring_bytes: usize,
    /// Rings created since the writer last looked.
    incoming: Mutex<Vec<Ring>>,
    has_incoming: AtomicBool,
    /// Every ring's count of records pushed, and the sum for rings let go of.
    counts: Mutex<(Vec<Arc<AtomicU64>>, u64)>,
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

/// Why a push did not happen; the record stays with the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The ring has no room now.
    Full,
    /// The record is larger than a whole ring.
    TooLarge,
    /// The thread cannot use a ring (it is ending, or is inside a push already).
    NoRing,
}

struct Local {
    /// The [`Rings`] this thread's producer belongs to, by address.
    owner: usize,
    producer: Option<(Producer<u8>, Arc<AtomicU64>)>,
    /// Whether this is a writer thread, which must never wait for itself.
    writer: bool,
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local { owner: 0, producer: None, writer: false })
    };
}

/// Marks the calling thread as a writer thread.
pub(crate) fn mark_writer_thread() {
    let _ = LOCAL.try_with(|local| local.borrow_mut().writer = true);
}

/// Whether the calling thread is a writer thread.
pub(crate) fn on_writer_thread() -> bool {
    LOCAL
        .try_with(|local| local.try_borrow().is_ok_and(|l| l.writer))
        .unwrap_or(false)
}

impl Rings {
    /// Rings of `capacity` events of [`BYTES_PER_EVENT`] bytes each.
    pub(crate) fn new(capacity: usize) -> Rings {
        Rings {
            ring_bytes: capacity.saturating_mul(BYTES_PER_EVENT).max(HEADER + 256),
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

    /// Copies a record into the calling thread's ring, creating the ring at the thread's
    /// first event.
    #[inline]
    pub(crate) fn push(&self, record: &Record) -> Result<(), Refused> {
        let (meta, ticks, thread, flags, payload) = record.parts();
        let n = HEADER + payload.len();
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(&(meta as *const Metadata as usize as u64).to_le_bytes());
        header[8..16].copy_from_slice(&ticks.to_le_bytes());
        header[16..24].copy_from_slice(&thread.to_le_bytes());
        header[24] = flags;
        header[25..].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        LOCAL
            .try_with(|local| {
                let Ok(mut local) = local.try_borrow_mut() else {
                    return Err(Refused::NoRing);
                };
                let owner = self as *const Rings as usize;
                if local.owner != owner {
                    local.producer = Some(self.register());
                    local.owner = owner;
                }
                let Some((producer, pushed)) = local.producer.as_mut() else {
                    return Err(Refused::NoRing);
                };
                let mut chunk = producer.write_chunk_uninit(n).map_err(|_| {
                    if n > self.ring_bytes {
                        Refused::TooLarge
                    } else {
                        Refused::Full
                    }
                })?;
                let (first, second) = chunk.as_mut_slices();
                scatter(first, second, 0, &header);
                scatter(first, second, HEADER, payload);
                // SAFETY: `scatter` wrote all `n` bytes of the chunk.
                unsafe { chunk.commit_all() };
                // Only this thread writes its count: a plain increment, no lock prefix.
                pushed.store(pushed.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                Ok(())
            })
            .unwrap_or(Err(Refused::NoRing))
    }

    /// Waits for room in the calling thread's ring, then pushes. Gives up, saying why, if
    /// the writer stops meanwhile or if this is the writer's own thread.
    #[cold]
    pub(crate) fn push_waiting(&self, record: &Record) -> Result<(), Refused> {
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
            match self.push(record) {
                Err(Refused::Full) => {}
                other => return other,
            }
        }
    }

    /// A new ring for the calling thread; the writer adopts it at its next round.
    #[cold]
    fn register(&self) -> (Producer<u8>, Arc<AtomicU64>) {
        let (mut producer, consumer) = RingBuffer::new(self.ring_bytes);
        // Touch every page now, so that no event pays for a page fault the first time
        // round the ring. The chunk is dropped without being committed.
        if let Ok(mut chunk) = producer.write_chunk_uninit(self.ring_bytes) {
            let (first, second) = chunk.as_mut_slices();
            for page in first.chunks_mut(4096).chain(second.chunks_mut(4096)) {
                page[0].write(0);
            }
        }
        let pushed = Arc::new(AtomicU64::new(0));
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .push(Arc::clone(&pushed));
        self.incoming
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Ring {
                consumer,
                head: None,
                deferred: None,
                quota: 0,
            });
        self.has_incoming.store(true, Ordering::Release);
        (producer, pushed)
    }

    /// Records pushed into any ring so far.
    pub(crate) fn pushed(&self) -> u64 {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (live, retired) = &mut *counts;
        // A count that only its ring's producer still shares can be folded into the total
        // once its thread has ended.
        live.retain(|count| {
            if Arc::strong_count(count) == 1 {
                *retired += count.load(Ordering::Relaxed);
                false
            } else {
                true
            }
        });
        *retired + live.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>()
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
                    n
                })
                .sum()
        };
        // What is counted is taken out, so that each is counted once.
        let leftover = count(&mut self.leftover.lock().unwrap_or_else(|p| p.into_inner()));
        leftover + count(&mut self.incoming.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Writes `src` at `offset` into a reservation made of two slices.
#[inline(always)]
fn scatter(
    first: &mut [MaybeUninit<u8>],
    second: &mut [MaybeUninit<u8>],
    offset: usize,
    src: &[u8],
) {
    let split = first.len().saturating_sub(offset).min(src.len());
    let (to_first, to_second) = src.split_at(split);
    if !to_first.is_empty() {
        write_uninit(&mut first[offset..offset + split], to_first);
    }
    if !to_second.is_empty() {
        let at = offset + split - first.len();
        write_uninit(&mut second[at..at + to_second.len()], to_second);
    }
}

/// A caller's wait for room: spin briefly, then yield, then sleep in short steps.
fn pause(round: u32) {
    match round {
        0..=15 => {
            for _ in 0..(1 << round.min(6)) {
                std::hint::spin_loop();
            }
        }
        16..=63 => std::thread::yield_now(),
        _ => std::thread::sleep(Duration::from_micros(50)),
    }
}

/// A record's header, read back from a ring.
#[derive(Clone, Copy)]
struct Header {
    meta: &'static Metadata,
    ticks: u64,
    thread: u64,
    flags: u8,
    len: usize,
}

/// The writer's end of one thread's ring.
pub(crate) struct Ring {
    consumer: Consumer<u8>,
    /// The next record's header, once read.
    head: Option<Header>,
    /// The tick count of a head record left for the next round; taken then whatever the
    /// clock says, so that a clock that is off between processors cannot hold a ring up.
    deferred: Option<u64>,
    /// Bytes still to take in a round bounded by what the ring held at its start.
    quota: usize,
}

impl Ring {
    /// The next record's header, if a whole record is there.
    fn head(&mut self) -> Option<Header> {
        if self.head.is_none() {
            let chunk = self.consumer.read_chunk(HEADER).ok()?;
            let (first, second) = chunk.as_slices();
            let mut bytes = [0u8; HEADER];
            bytes[..first.len()].copy_from_slice(first);
            bytes[first.len()..].copy_from_slice(second);
            let word =
                |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
            let meta = word(0) as usize as *const Metadata;
            self.head = Some(Header {
                // SAFETY: the producer wrote the address of a `&'static Metadata` of this
                // process, and a ring never leaves the process.
                meta: unsafe { &*meta },
                ticks: word(8),
                thread: word(16),
                flags: bytes[24],
                len: u32::from_le_bytes(bytes[25..29].try_into().unwrap_or_default()) as usize,
            });
        }
        self.head
    }

    /// Takes the next record off the ring, into `into`.
    fn pop(&mut self, into: &mut Record) -> bool {
        let Some(head) = self.head() else {
            return false;
        };
        // A producer publishes a record whole, so its payload is there with its header.
        let Ok(chunk) = self.consumer.read_chunk(HEADER + head.len) else {
            return false;
        };
        let (first, second) = chunk.as_slices();
        let (a, b) = if first.len() >= HEADER {
            (&first[HEADER..], second)
        } else {
            (&[][..], &second[HEADER - first.len()..])
        };
        into.refill(head.meta, head.ticks, head.thread, head.flags, [a, b]);
        chunk.commit_all();
        self.head = None;
        self.quota = self.quota.saturating_sub(HEADER + head.len);
        true
    }
}

/// Which records a round takes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Upto {
    /// Those taken before this tick count.
    Cut(u64),
    /// Those in the rings when [`Merge::set_quotas`] was called.
    Quota,
}

/// The writer's side: every adopted ring, merged in tick order.
#[derive(Default)]
pub(crate) struct Merge {
    pub(crate) rings: Vec<Ring>,
}

impl Merge {
    /// Bytes waiting in all rings now.
    pub(crate) fn waiting_bytes(&self) -> usize {
        self.rings.iter().map(|r| r.consumer.slots()).sum()
    }

    /// Sets each ring's quota to what it holds now, for rounds that take [`Upto::Quota`]:
    /// everything that was pushed before this call, and a bounded amount of work even while
    /// the callers keep logging.
    pub(crate) fn set_quotas(&mut self) {
        for ring in &mut self.rings {
            ring.quota = ring.consumer.slots();
        }
    }

    /// Takes the oldest record among the rings' heads that `upto` allows into `into`;
    /// false if there is none.
    pub(crate) fn next(&mut self, upto: Upto, into: &mut Record) -> bool {
        let mut best: Option<(usize, u64)> = None;
        for (i, ring) in self.rings.iter_mut().enumerate() {
            let Some(head) = ring.head() else {
                continue;
            };
            let due = match upto {
                Upto::Quota => ring.quota > 0,
                Upto::Cut(cut) => {
                    head.ticks < cut || ring.deferred.is_some_and(|d| head.ticks <= d)
                }
            };
            if due && best.is_none_or(|(_, oldest)| head.ticks < oldest) {
                best = Some((i, head.ticks));
            }
        }
        match best {
            Some((i, _)) => self.rings[i].pop(into),
            None => false,
        }
    }

    /// After a round: notes which heads were left for the next one, and lets go of the
    /// rings whose thread has ended once they are empty.
    pub(crate) fn end_round(&mut self) {
        self.rings.retain_mut(|ring| {
            let abandoned = ring.consumer.is_abandoned();
            if abandoned {
                // Pairs with the producer's release when its thread let go of the ring, so
                // that its last records are seen below.
                fence(Ordering::Acquire);
            }
            ring.deferred = ring.head().map(|head| head.ticks);
            !(abandoned && ring.deferred.is_none())
        });
    }

    /// Gives the rings up, for [`Rings::close`].
    pub(crate) fn into_rings(self) -> Vec<Ring> {
        self.rings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static META: Metadata = Metadata::new(
        crate::Level::Info,
        "queue",
        "trail::queue",
        file!(),
        line!(),
        "",
        &["n"],
        &[],
    );

    fn record(n: u64, ticks: u64) -> Record {
        let mut record = Record::new(&META, ticks, 7);
        let _ = crate::Capture::new(record.payload_mut()).u64(n);
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
        // A ring of 285 bytes and records of 38: the boundary falls inside records, headers
        // and payloads alike, as the ring goes round.
        let rings = Rings::new(1);
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
            while merge.next(Upto::Quota, &mut r) {
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
        let rings = Rings::new(1);
        let mut pushed = 0;
        while rings.push(&record(pushed, pushed)).is_ok() {
            pushed += 1;
        }
        assert_eq!(rings.push(&record(0, 0)), Err(Refused::Full));
        assert_eq!(pushed, 285 / 38);
        let mut big = Record::new(&META, 0, 7);
        let _ = crate::Capture::new(big.payload_mut()).str(&"x".repeat(1_000));
        assert_eq!(rings.push(&big), Err(Refused::TooLarge));
    }

    #[test]
    fn rings_merge_in_tick_order_and_a_cut_holds_back_later_records() {
        let rings: &'static Rings = Box::leak(Box::new(Rings::new(64)));
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
        while merge.next(Upto::Cut(10), &mut r) {
            order.push(value(&r));
        }
        assert_eq!(order, [100, 200, 201, 101, 102]);
        merge.end_round();
        // The record at tick 20 was held back once; the next round takes it whatever the
        // cut, and then lets go of the ring, whose thread has ended.
        assert!(merge.next(Upto::Cut(10), &mut r));
        assert_eq!(value(&r), 202);
        merge.end_round();
        assert!(merge.rings.is_empty());
    }
}
