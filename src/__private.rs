//! What the macros expand to. Not public API: names here may change in any release.
//!
//! The expansion is: a `static` [`Metadata`], the level gate ([`enabled`]), then the
//! arguments, evaluated once, and a closure that captures them, passed to [`emit`], which
//! builds the record out of line. This module only re-exports what the expansion names;
//! the capture itself lives in `crate::capture`.

pub use core::{concat, file, format_args, line, module_path};

pub use trail_macros::{event, scope};

pub use crate::scope::{enter as enter_scope, Frame};

/// A function argument given to `#[trail::instrument]`'s span: captured typed when it is
/// a [`Value`], through `Debug` otherwise (`(&SpanArg(&x)).put_field(..)` picks
/// [`SpanArgValue`] first, through auto-ref).
pub struct SpanArg<'a, T: ?Sized>(pub &'a T);

/// Arguments that are [`Value`]s.
pub trait SpanArgValue {
    /// Adds the argument to the frame as the field `name`.
    fn put_field(&self, frame: &mut Frame, name: &'static str);
}

impl<T: Value + ?Sized> SpanArgValue for SpanArg<'_, T> {
    #[inline]
    fn put_field(&self, frame: &mut Frame, name: &'static str) {
        frame.field(name, self.0);
    }
}

/// Arguments that are only `Debug`.
pub trait SpanArgDebug {
    /// Adds the argument's `Debug` rendering to the frame as the field `name`.
    fn put_field(&self, frame: &mut Frame, name: &'static str);
}

impl<T: core::fmt::Debug + ?Sized> SpanArgDebug for &SpanArg<'_, T> {
    #[inline]
    fn put_field(&self, frame: &mut Frame, name: &'static str) {
        frame.field(name, &debug(self.0));
    }
}

pub use crate::filter::Callsite;
pub use crate::level::{Level, STATIC_MAX_LEVEL};
pub use crate::metadata::{Metadata, Piece};
pub use crate::value::{debug, display, DisplayValue, Value};

pub use crate::capture::event::{emit, Arg, CaptureDisplay, CaptureRaw, Event};

#[cfg(feature = "serde")]
pub use crate::value::serde;

/// The level gate: a compile-time constant, then one relaxed load.
#[inline(always)]
pub fn enabled(level: Level) -> bool {
    STATIC_MAX_LEVEL.enables(level) && crate::dispatch::level_enabled(level)
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
