//! Capturing events in tests: what the code under test logged, to assert on.
//!
//! The sink is one per process, so a test cannot install its own. A capture instead
//! collects the events logged on the thread that made it, while its guard lives, beside
//! whatever sink is installed (or none). Tests that `cargo test` runs in parallel each see
//! their own events only; a future wrapped with [`current_scope`](crate::current_scope)
//! takes the capture along, across `.await`s and threads.
//!
//! ```
//! use trail::Level;
//!
//! fn checkout(items: u32) {
//!     trail::debug!(items, "checking out");
//!     if items > 10 {
//!         trail::warn!(actor = "ana", items, big = true, "large order of {items} items");
//!     }
//! }
//!
//! let cap = trail::testing::capture();
//! checkout(12);
//! let warning = cap.assert_logged(Level::Warn, "large order");
//! assert_eq!(warning.actor().unwrap(), "ana");
//! assert_eq!(warning.field("items").unwrap(), 12);
//! assert_eq!(warning.field("big").unwrap(), true);
//! assert_eq!(warning.message(), "large order of 12 items");
//! assert_eq!(cap.events().len(), 2);
//! ```
//!
//! Values are the [`ValueRef`]s that sinks see. They compare with `==` against plain
//! Rust values: integers by value whatever their width and sign, floats by value (an
//! `f32` field at `f32` precision), strings, `char`, `bool` and IP addresses.
//!
//! # Cost and filters
//!
//! Until a capture is made, a process pays one relaxed load per event for this module.
//! The first capture opens the run-time gate and every call site to all levels for the
//! rest of the process, and events then reach the sink through a check of its filter
//! (level and directives): the files get exactly what they would have got. Calls above
//! the compile-time ceiling ([`STATIC_MAX_LEVEL`](crate::STATIC_MAX_LEVEL)) do not exist,
//! and events bridged from `log` or `tracing` are captured only when the installed
//! filter lets them through.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::record::ValueRef;
use crate::scope::{Frame, ScopeGuard};
use crate::{Level, LevelFilter, Record};

#[cfg(feature = "writer")]
pub use crate::clock::ManualClock;

/// Collects the events of this thread, at every level, until the guard is dropped.
///
/// Events on other threads are not collected, except in futures wrapped with
/// [`current_scope`](crate::current_scope) while the guard lives.
///
/// ```
/// let cap = trail::testing::capture();
/// trail::trace!(step = 1, "starting");
/// assert_eq!(cap.events()[0].field("step").unwrap(), 1);
/// ```
pub fn capture() -> CaptureGuard {
    capture_at(LevelFilter::Trace)
}

/// Collects the events of this thread that `level` lets through, until the guard is
/// dropped.
///
/// ```
/// use trail::{Level, LevelFilter};
///
/// let cap = trail::testing::capture_at(LevelFilter::Warn);
/// trail::info!("routine");
/// trail::error!("failed");
/// assert_eq!(cap.len(), 1);
/// cap.assert_logged(Level::Error, "failed");
/// cap.assert_not_logged(Level::Info, "routine");
/// ```
pub fn capture_at(level: LevelFilter) -> CaptureGuard {
    crate::dispatch::route_every_event();
    let collector = Arc::new(Collector {
        level,
        events: Mutex::new(Vec::new()),
    });
    let scope = crate::scope::enter(Frame::capturing(Arc::clone(&collector)));
    CaptureGuard {
        collector,
        _scope: scope,
    }
}

/// Where one capture's events go; shared with the scope frames that carry it.
pub(crate) struct Collector {
    level: LevelFilter,
    events: Mutex<Vec<CapturedEvent>>,
}

impl Collector {
    fn events(&self) -> std::sync::MutexGuard<'_, Vec<CapturedEvent>> {
        // Nothing panics while the lock is held; a poisoned lock still holds whole events.
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("level", &self.level)
            .field("events", &self.events().len())
            .finish()
    }
}

/// Gives `record` to each capture of the calling thread whose level lets it through.
pub(crate) fn offer(record: &Record) {
    let collectors = crate::scope::captures();
    let mut event = None;
    for collector in collectors
        .iter()
        .filter(|c| c.level.enables(record.level()))
    {
        let event = event.get_or_insert_with(|| CapturedEvent::of(record));
        collector.events().push(event.clone());
    }
}

/// A capture in progress; made by [`capture`] or [`capture_at`]. Dropping it stops the
/// capture.
#[must_use = "the capture ends when the guard is dropped: bind it, as in `let cap = ...`"]
pub struct CaptureGuard {
    collector: Arc<Collector>,
    _scope: ScopeGuard,
}

impl CaptureGuard {
    /// The events captured so far, oldest first.
    pub fn events(&self) -> Vec<CapturedEvent> {
        self.collector.events().clone()
    }

    /// How many events were captured so far.
    pub fn len(&self) -> usize {
        self.collector.events().len()
    }

    /// Whether no event was captured so far.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the events captured so far.
    pub fn clear(&self) {
        self.collector.events().clear();
    }

    /// The first captured event at `level` whose message contains `text`; panics, listing
    /// every captured event, if there is none.
    ///
    /// ```
    /// let cap = trail::testing::capture();
    /// trail::warn!(attempt = 3, "retrying upload");
    /// let event = cap.assert_logged(trail::Level::Warn, "retrying");
    /// assert_eq!(event.field("attempt").unwrap(), 3);
    /// ```
    #[track_caller]
    pub fn assert_logged(&self, level: Level, text: &str) -> CapturedEvent {
        let events = self.collector.events();
        match events.iter().find(|e| e.is(level, text)) {
            Some(event) => event.clone(),
            None => panic!(
                "no {level} event with a message containing {text:?} was captured; {}",
                listing(&events)
            ),
        }
    }

    /// Panics, listing every captured event, if an event at `level` whose message
    /// contains `text` was captured.
    #[track_caller]
    pub fn assert_not_logged(&self, level: Level, text: &str) {
        let events = self.collector.events();
        if events.iter().any(|e| e.is(level, text)) {
            panic!(
                "a {level} event with a message containing {text:?} was captured; {}",
                listing(&events)
            );
        }
    }
}

impl fmt::Debug for CaptureGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureGuard")
            .field("level", &self.collector.level)
            .field("events", &*self.collector.events())
            .finish()
    }
}

/// The captured events, one a line, for a failed assertion.
fn listing(events: &[CapturedEvent]) -> String {
    if events.is_empty() {
        return "nothing was captured".to_owned();
    }
    let mut out = format!("captured {} events:", events.len());
    for event in events {
        out.push_str("\n  ");
        out.push_str(&event.to_string());
    }
    out
}

/// One captured event, owned: its record and its rendered message.
#[derive(Clone)]
pub struct CapturedEvent {
    record: Record,
    message: String,
}

impl CapturedEvent {
    fn of(record: &Record) -> CapturedEvent {
        CapturedEvent {
            record: record.clone(),
            message: record.decode().message(),
        }
    }

    fn is(&self, level: Level, text: &str) -> bool {
        self.level() == level && self.message.contains(text)
    }

    /// The event's level.
    pub fn level(&self) -> Level {
        self.record.level()
    }

    /// The event's target: the call's `target:` or its module path.
    pub fn target(&self) -> &'static str {
        self.record.metadata().target()
    }

    /// The rendered message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The actor, when the event (or a scope around it) names one.
    pub fn actor(&self) -> Option<ValueRef<'_>> {
        self.record.decode().actor()
    }

    /// The value of the field named `name`: the call's own, else a scope's.
    pub fn field(&self, name: &str) -> Option<ValueRef<'_>> {
        let decoded = self.record.decode();
        let found = decoded.fields().find(|(key, _)| *key == name);
        found.map(|(_, value)| value)
    }

    /// Every field, in order: the call's, then those its scopes added.
    pub fn fields(&self) -> Vec<(&str, ValueRef<'_>)> {
        self.record.decode().fields().collect()
    }

    /// The innermost span the event was logged in, if any: its name and ids.
    pub fn span(&self) -> Option<crate::SpanContext> {
        self.record.span()
    }

    /// The record itself, as a sink would receive it (timestamp, thread, metadata).
    pub fn record(&self) -> &Record {
        &self.record
    }
}

impl fmt::Debug for CapturedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturedEvent")
            .field("level", &self.level())
            .field("target", &self.target())
            .field("actor", &self.actor())
            .field("message", &self.message)
            .field("fields", &self.fields())
            .finish()
    }
}

/// `level target: "message" actor=… key=value …`, as a failed assertion lists it.
impl fmt::Display for CapturedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {:?}", self.level(), self.target(), self.message)?;
        if let Some(actor) = self.actor() {
            write!(f, " actor={actor:?}")?;
        }
        for (key, value) in self.fields() {
            write!(f, " {key}={value:?}")?;
        }
        Ok(())
    }
}

// Comparisons of captured values with plain values, for assertions.

fn as_integer(value: &ValueRef<'_>) -> Option<i128> {
    match *value {
        ValueRef::I64(v) => Some(v.into()),
        ValueRef::U64(v) => Some(v.into()),
        ValueRef::I128(v) => Some(v),
        ValueRef::U128(v) => i128::try_from(v).ok(),
        _ => None,
    }
}

macro_rules! eq_integer {
    ($($t:ty),*) => {$(
        /// Equal when the value is an integer of the same value, whatever its width.
        impl PartialEq<$t> for ValueRef<'_> {
            fn eq(&self, other: &$t) -> bool {
                match (*self, i128::try_from(*other)) {
                    (ValueRef::U128(v), _) => u128::try_from(*other).is_ok_and(|o| o == v),
                    (_, Ok(o)) => as_integer(self) == Some(o),
                    (_, Err(_)) => false,
                }
            }
        }
    )*};
}

eq_integer!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

/// Equal when the value is a float of the same value; an `f32` is compared at `f32`
/// precision.
impl PartialEq<f64> for ValueRef<'_> {
    fn eq(&self, other: &f64) -> bool {
        match *self {
            ValueRef::F64(v) => v == *other,
            ValueRef::F32(v) => v == *other as f32,
            _ => false,
        }
    }
}

/// Equal when the value is a float of the same value.
impl PartialEq<f32> for ValueRef<'_> {
    fn eq(&self, other: &f32) -> bool {
        match *self {
            ValueRef::F32(v) => v == *other,
            ValueRef::F64(v) => v == f64::from(*other),
            _ => false,
        }
    }
}

/// Equal when the value is this boolean.
impl PartialEq<bool> for ValueRef<'_> {
    fn eq(&self, other: &bool) -> bool {
        *self == ValueRef::Bool(*other)
    }
}

/// Equal when the value is this character.
impl PartialEq<char> for ValueRef<'_> {
    fn eq(&self, other: &char) -> bool {
        *self == ValueRef::Char(*other)
    }
}

/// Equal when the value is this string (values logged with `%` or `?` are strings).
impl PartialEq<str> for ValueRef<'_> {
    fn eq(&self, other: &str) -> bool {
        matches!(*self, ValueRef::Str(s) if s == other)
    }
}

/// Equal when the value is this string.
impl PartialEq<&str> for ValueRef<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

/// Equal when the value is this string.
impl PartialEq<String> for ValueRef<'_> {
    fn eq(&self, other: &String) -> bool {
        *self == **other
    }
}

/// Equal when the value is this IP address.
impl PartialEq<IpAddr> for ValueRef<'_> {
    fn eq(&self, other: &IpAddr) -> bool {
        *self == ValueRef::Ip(*other)
    }
}
