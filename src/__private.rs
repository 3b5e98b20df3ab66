//! What the macros expand to. Not public API: names here may change in any release.
//!
//! The expansion is: a `static` [`Metadata`], the level gate ([`enabled`]), then the
//! arguments, evaluated once, and a closure that captures them, passed to [`emit`], which
//! builds the record out of line.

use core::fmt;

pub use core::{concat, file, format_args, line, module_path};

pub use trail_macros::{event, scope};

pub use crate::scope::{enter as enter_scope, Frame};

pub use crate::filter::Callsite;
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

/// Builds the record, lets `capture` fill in the values, and hands the record to the
/// sink. Out of line, so that the caller's disabled path is only the gate; generic over
/// the call site's closure, so that each value is captured by code made for its type.
#[inline(never)]
pub fn emit<F: FnOnce(&mut Event)>(meta: &'static Metadata, capture: F) {
    let mut event = Event {
        record: Record::new(meta, crate::clock::now_ticks(), crate::thread::current_id()),
    };
    let scoped = crate::scope::active();
    if scoped {
        crate::scope::add_actor(&mut event.record, meta);
    }
    capture(&mut event);
    if scoped {
        crate::scope::add_fields(&mut event.record, meta);
    }
    crate::dispatch::submit(&event.record);
}

/// An event being captured, inside [`emit`].
pub struct Event {
    record: Record,
}

impl Event {
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
}

/// A message argument: captured raw when it is a [`Value`] and rendered with `Display`
/// otherwise. `(&Arg(x)).capture_arg(..)` picks [`CaptureRaw`] first, through auto-ref.
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
    /// Captures the argument's `Display` rendering.
    fn capture_arg(&self, event: &mut Event);
}

impl<T: fmt::Display + ?Sized> CaptureDisplay for &Arg<'_, T> {
    #[inline(always)]
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

/// A writer's encoder for `format`, as a function, for the encoding benchmarks. The
/// segment header, if the format has one, is written into the first call's output.
#[cfg(feature = "writer")]
pub fn encoder_for_bench(format: crate::Format) -> impl FnMut(&Record, u64, &mut Vec<u8>) + Send {
    let mut encoder = format.encoder(&Default::default());
    let mut begun = false;
    move |record, seq, out| {
        if !begun {
            encoder.begin_segment(out);
            begun = true;
        }
        encoder.encode(record, seq, out)
    }
}
