//! What the macros expand to. Not public API: names here may change in any release.
//!
//! The expansion is: a `static` [`Metadata`], the level gate ([`enabled`]), then an
//! [`Event`] that captures each value and is submitted through one non-generic function.

use core::fmt;

pub use core::{concat, file, format_args, line, module_path};

pub use trail_macros::event;

pub use crate::level::{Level, STATIC_MAX_LEVEL};
pub use crate::metadata::{Metadata, Piece};
pub use crate::value::{debug, display, DisplayValue, Value};

#[cfg(feature = "serde")]
pub use crate::value::serde;

use crate::record::Record;
use crate::value::Capture;

/// The level gate: a compile-time constant, then one relaxed load.
#[inline(always)]
pub fn enabled(level: Level) -> bool {
    STATIC_MAX_LEVEL.enables(level) && crate::dispatch::level_enabled(level)
}

/// An event being captured.
pub struct Event {
    record: Record,
}

impl Event {
    /// Starts an event: takes the timestamp and the thread.
    #[inline(always)]
    pub fn new(meta: &'static Metadata) -> Event {
        Event {
            record: Record::new(meta, crate::clock::now_nanos(), crate::thread::current_id()),
        }
    }

    /// Captures the actor; called first, if at all.
    #[inline(always)]
    pub fn actor<T: Value + ?Sized>(&mut self, value: &T) {
        self.record.set_actor_flag();
        self.value(value);
    }

    /// Captures the next field or message argument.
    #[inline(always)]
    pub fn value<T: Value + ?Sized>(&mut self, value: &T) {
        let _ = value.capture(Capture::new(self.record.payload_mut()));
    }

    /// Hands the event to the sink.
    #[inline(always)]
    pub fn submit(self) {
        crate::dispatch::submit(self.record)
    }
}

/// A message argument, captured raw when it is a [`Value`] and rendered with `Display`
/// otherwise (the method call picks [`CaptureRaw`] first, through auto-ref).
pub struct Arg<'a, T: ?Sized>(pub &'a T);

/// Message arguments that are [`Value`]s: copied raw, formatted on the writer.
pub trait CaptureRaw {
    /// Captures the argument.
    fn capture_arg(&self, event: &mut Event);
}

impl<T: Value + ?Sized> CaptureRaw for Arg<'_, T> {
    #[inline(always)]
    fn capture_arg(&self, event: &mut Event) {
        event.value(self.0)
    }
}

/// Message arguments that are only `Display`: rendered on the caller.
pub trait CaptureDisplay {
    /// Captures the argument.
    fn capture_arg(&self, event: &mut Event);
}

impl<T: fmt::Display + ?Sized> CaptureDisplay for &Arg<'_, T> {
    #[inline]
    fn capture_arg(&self, event: &mut Event) {
        event.value(&DisplayValue(self.0))
    }
}

/// Stands in for [`serde`](crate::serde()) when the `serde` feature is off, so that the
/// `#value` sigil fails with a message that says what to do.
#[cfg(not(feature = "serde"))]
#[diagnostic::on_unimplemented(
    message = "logging a value with the `#` sigil needs trail's `serde` feature",
    label = "needs `features = [\"serde\"]` on the trail dependency"
)]
pub trait SerdeFeatureRequired {}

/// See [`SerdeFeatureRequired`].
#[cfg(not(feature = "serde"))]
pub fn serde<T: SerdeFeatureRequired>(_value: T) -> DisplayValue<&'static str> {
    DisplayValue("")
}
