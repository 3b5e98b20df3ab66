//! What the macros expand to. Not public API: names here may change in any release.
//!
//! The expansion is: a `static` [`Metadata`], the level gate ([`enabled`]), then the
//! arguments, evaluated once, and a closure that captures them, passed to [`emit`], which
//! builds the record out of line. This module only re-exports what the expansion names;
//! the capture itself lives in `crate::capture`.

pub use core::{concat, file, format_args, line, module_path};

pub use trail_macros::{event, scope};

pub use crate::scope::{enter as enter_scope, Frame};

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

/// A writer's encoder for `format`, as a function, for the encoding benchmarks. The
/// segment header, if the format has one, is written into the first call's output.
#[cfg(feature = "writer")]
pub fn encoder_for_bench(
    format: crate::Format,
) -> impl FnMut(&crate::Record, u64, &mut Vec<u8>) + Send {
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
