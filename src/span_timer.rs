//! Span records: when span records are on ([`Builder::span_records`](crate::Builder)), a
//! span's timer, shared by every copy of its frame, and the record written when the last
//! copy goes.
//!
//! Busy time is the time the span was entered (a guard alive, a wrapped future being
//! polled), counted once however many enters overlap; idle time is the rest of its life.
//! With span records off no timer is made, so a span costs its ids and its frame only.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::scope::{Close, Frame};
use crate::span::SpanIds;

/// Whether spans write a record when they close.
static RECORDS: AtomicBool = AtomicBool::new(false);

/// The clock span timings read, when one was given to the writer.
static CLOCK: RwLock<Option<Arc<dyn SpanClock>>> = RwLock::new(None);
/// Whether [`CLOCK`] holds a clock: one load on the way to the tick counter.
static HAS_CLOCK: AtomicBool = AtomicBool::new(false);

/// The time source a span's start, end and durations are measured with.
pub(crate) trait SpanClock: Send + Sync + 'static {
    /// Nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> u64;
}

#[cfg(feature = "writer")]
impl SpanClock for Arc<dyn crate::Clock> {
    fn now_nanos(&self) -> u64 {
        crate::Clock::now_nanos(&**self)
    }
}

/// Turns span records on or off, and gives spans the writer's clock (`None`: the
/// caller's tick counter).
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
pub(crate) fn configure(records: bool, clock: Option<Arc<dyn SpanClock>>) {
    let mut held = CLOCK.write().unwrap_or_else(|p| p.into_inner());
    HAS_CLOCK.store(clock.is_some(), Ordering::Relaxed);
    *held = clock;
    RECORDS.store(records, Ordering::Relaxed);
}

/// Whether spans write a record when they close.
#[inline]
pub(crate) fn records_on() -> bool {
    RECORDS.load(Ordering::Relaxed)
}

/// Now, in nanoseconds since the Unix epoch, by the spans' clock.
fn now() -> u64 {
    if HAS_CLOCK.load(Ordering::Relaxed)
        && let Some(clock) = CLOCK.read().unwrap_or_else(|p| p.into_inner()).as_ref()
    {
        return clock.now_nanos();
    }
    crate::clock::ticks_to_nanos(crate::clock::now_ticks())
}

/// One span's timing and what its closing record says.
#[derive(Debug)]
pub(crate) struct SpanTimer {
    /// The span as its closing record is written inside it: ids, actor and fields.
    frame: Frame,
    name: &'static str,
    close: Close,
    start: u64,
    /// Enters not yet exited, on any thread.
    entered: AtomicU32,
    /// When the first of the current enters began.
    entered_at: AtomicU64,
    busy: AtomicU64,
}

impl SpanTimer {
    /// The span `ids`, starting now, with the actor and fields its closing record carries.
    pub(crate) fn new(
        ids: SpanIds,
        close: Close,
        actor: Option<Vec<u8>>,
        fields: Vec<(&'static str, Vec<u8>)>,
    ) -> SpanTimer {
        SpanTimer {
            frame: Frame::span_only(ids, actor, fields),
            name: ids.name,
            close,
            start: now(),
            entered: AtomicU32::new(0),
            entered_at: AtomicU64::new(0),
            busy: AtomicU64::new(0),
        }
    }

    /// Replaces the fields the closing record carries (a bridged span's, which may
    /// change while it lives).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn set_fields(&mut self, fields: Vec<(&'static str, Vec<u8>)>) {
        self.frame.set_fields(fields);
    }

    /// The span is entered (a guard made, a poll begun).
    pub(crate) fn enter(&self) {
        if self.entered.fetch_add(1, Ordering::AcqRel) == 0 {
            self.entered_at.store(now(), Ordering::Release);
        }
    }

    /// An enter ends.
    pub(crate) fn exit(&self) {
        if self.entered.fetch_sub(1, Ordering::AcqRel) == 1 {
            let since = self.entered_at.load(Ordering::Acquire);
            self.busy
                .fetch_add(now().saturating_sub(since), Ordering::AcqRel);
        }
    }
}

/// The fields of a span's closing record, in the order its values are captured.
#[cfg_attr(not(any(feature = "read", feature = "tracing")), allow(dead_code))]
pub(crate) const CLOSE_FIELDS: [&str; 4] = [
    "span.start_ns",
    "span.end_ns",
    "span.busy_ns",
    "span.idle_ns",
];

impl Drop for SpanTimer {
    fn drop(&mut self) {
        let end = now().max(self.start);
        let total = end - self.start;
        let busy = self.busy.load(Ordering::Acquire).min(total);
        let idle = total - busy;
        let meta = self.close.meta;
        if !crate::__private::enabled(meta.level()) {
            return;
        }
        // A span dropped while its thread ends has no stack left to write from.
        let Some(_guard) = crate::scope::try_enter(std::mem::take(&mut self.frame)) else {
            return;
        };
        let name = self.name;
        let start = self.start;
        let name_as_value = self.close.name_as_value;
        crate::capture::event::emit(meta, |e| {
            e.value(&start);
            e.value(&end);
            e.value(&busy);
            e.value(&idle);
            if name_as_value {
                e.value(name);
            }
        });
    }
}
