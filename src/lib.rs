//! Structured logging whose output is data: typed events, written in the background to
//! append-only files that people and pipelines can read back.
//!
//! # Usage
//!
//! Log with `trace!`, `debug!`, `info!`, `warn!`, `error!`, `fatal!`, or `event!` with a
//! level. A call names who acted, key-value fields with their types, and a message:
//!
//! ```
//! # struct User { id: u64 }
//! # let user = User { id: 7 };
//! # let id = 1042_u32;
//! trail::info!(actor = user.id, product_id = id, quantity = 3, "added {quantity} items to cart");
//! ```
//!
//! With the JSON lines writer installed, that call becomes one line:
//!
//! ```text
//! {"ts":"2026-11-23T22:06:12.123456789Z","level":"info","seq":1,"actor":7,"target":"shop::cart",
//!  "msg":"added 3 items to cart","fields":{"product_id":1042,"quantity":3},"file":"src/cart.rs","line":12,"thread":"main"}
//! ```
//!
//! # Fields, actors and messages
//!
//! The macro arguments are, in order: an optional `target: "..."`, then fields, then an
//! optional message with its format arguments.
//!
//! - `key = value` logs a typed field: integers, floats, `bool`, `char`, strings, IP
//!   addresses and `Option`s of them keep their types (see [`Value`]).
//! - `key = %value` logs the `Display` rendering, `key = ?value` the `Debug` rendering, and
//!   `key = #value` any `serde::Serialize` value as a typed, nested field.
//! - Keys may be dotted (`user.id = 7`) or string literals (`"http.status" = 200`).
//! - A bare name is shorthand: `info!(order_id, %path, "...")` is
//!   `info!(order_id = order_id, path = %path, "...")`.
//! - `actor = value` names who caused the event: a user id, an IP address, a service
//!   account. It is a first-class part of the event, not one more field.
//!
//! The message is a format string, checked at compile time. `{name}` refers to a field
//! of the event, else to a variable in scope; `{}` and `{0}` refer to arguments after the
//! message; `name = value` after the message adds a named argument. Plain values are copied
//! raw and formatted on the writer thread; values with a format spec (`{:>8.2}`) and types
//! that are only `Display` are rendered on the caller.
//!
//! ```
//! # let (order, total, who) = (81_u64, 12.5_f64, "ana");
//! trail::warn!(target: "shop::billing", order, total, "order {order} for {who} is {:.1}% over budget", 12.345);
//! trail::error!(actor = who, reason = %std::io::Error::other("disk full"), "cannot save order {}", order);
//! trail::event!(trail::Level::Debug, step = "verify", "checking order {order}");
//! ```
//!
//! A call whose level is disabled evaluates none of its arguments.
//!
//! # Libraries and applications
//!
//! A library depends on trail with `default-features = false`: it gets the macros and this
//! facade, and none of the writer's dependencies. Until an application installs a writer,
//! every call costs one relaxed load and a branch.
//!
//! ```toml
//! [dependencies]
//! trail = { version = "0.1", default-features = false }
//! ```
//!
//! The application installs the writer once, and keeps the guard alive:
//!
#![cfg_attr(feature = "writer", doc = "```")]
#![cfg_attr(not(feature = "writer"), doc = "```ignore")]
//! # let dir = tempfile::tempdir().unwrap();
//! let _guard = trail::builder().dir(dir.path()).name("shop").install()?;
//! trail::info!("ready");
//! trail::flush(); // returns when everything logged so far is written
//! # Ok::<(), trail::Error>(())
//! ```
//!
//! Beside the files, or instead of them, the writer feeds outputs (`trail::Output`):
//! standard output, which a container's runtime collects
//! (`trail::builder().stdout(Format::Json)` alone writes no file at all), standard error,
//! and destinations of your own (`trail::Destination`), each with its own filter, format and
//! JSON profile, all with the same `seq` for the same record.
//!
//! # Testing your logging
//!
//! [`testing::capture`] collects what the calling thread logs while its guard lives, with
//! or without a writer installed, so that tests running in parallel can each assert on
//! their own events: `cap.assert_logged(Level::Warn, "retrying")`,
//! `cap.events()[0].field("attempt")`.
//!
//! # Compile-time filters
//!
//! The features `max_level_off`, `max_level_fatal`, `max_level_error`, `max_level_warn`,
//! `max_level_info`, `max_level_debug` and `max_level_trace` set a ceiling for all builds,
//! and the `release_max_level_*` features one for builds without debug assertions. Calls
//! above the ceiling compile to nothing. See [`STATIC_MAX_LEVEL`].
//!
//! # Feature flags
//!
//! - `writer` (default): the background writer, its queue and encoders, and the file
//!   layer (rotation, retention, the manifest). It brings `read`, which recovery uses.
//! - `read` (default): [`read`], reading segments and streams back, and [`schema`]; on its
//!   own, for tools that read files without writing any.
//! - `gzip` (default): compression of sealed segments on a helper thread.
//! - `serde` (default): the `#value` sigil and [`serde()`], for nested typed fields.
//! - `log` (default): `trail::bridge::log`, records of crates that log through the `log`
//!   crate become trail events.
//! - `tracing`: `trail::bridge::tracing`, a `tracing-subscriber` layer that writes
//!   tracing events, with their spans' fields, as trail events.
//! - `parquet`: `trail::parquet`, the Parquet encoder, and `Builder::parquet`, a Parquet
//!   copy of each sealed segment made on a helper thread; it brings the Arrow project's
//!   Parquet writer, which nothing else needs.
//! - `ship`: `trail::ship`, publishing a stream into NATS JetStream exactly once; it brings
//!   the NATS client and its async runtime, which nothing else needs.
//! - `max_level_*`, `release_max_level_*`: compile-time ceilings, above.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

/// Defines the error of parsing a name out of a fixed set: it keeps the text given, and
/// its message names what was expected (`unknown WHAT "TEXT": expected LIST`).
#[cfg(any(feature = "writer", feature = "read"))]
macro_rules! unknown_name_error {
    ($(#[$doc:meta])* $name:ident, $what:literal, $expected:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            fn new(text: &str) -> $name {
                $name(text.to_owned())
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!("unknown ", $what, " {:?}: expected ", $expected), self.0)
            }
        }

        impl std::error::Error for $name {}
    };
}

mod capture;
mod clock;
mod dispatch;
mod filter;
mod level;
pub mod limits;
mod metadata;
mod record;
mod scope;
mod span;
mod span_timer;
mod thread;
mod value;

#[cfg(feature = "serde")]
mod serde_value;

// The payload's buffers are named at their old place too, for the queue and encoders.
use capture::payload;

#[cfg(feature = "writer")]
mod builder;
#[cfg(feature = "gzip")]
mod compress;
#[cfg(feature = "writer")]
pub mod convert;
#[cfg(feature = "writer")]
mod encode;
#[cfg(feature = "writer")]
mod error;
#[cfg(any(feature = "writer", feature = "read"))]
mod format;
#[cfg(feature = "writer")]
pub mod identity;
#[cfg(feature = "writer")]
mod json_file;
#[cfg(feature = "writer")]
mod manifest;
#[cfg(feature = "writer")]
mod queue;
#[cfg(feature = "writer")]
mod retention;
#[cfg(feature = "writer")]
mod rotation;
#[cfg(feature = "writer")]
mod segment;
#[cfg(feature = "writer")]
mod stream;
#[cfg(any(feature = "gzip", feature = "parquet"))]
mod worker;
#[cfg(feature = "writer")]
mod writer;

#[cfg(feature = "parquet")]
pub mod parquet;
#[cfg(feature = "read")]
pub mod read;
#[cfg(feature = "read")]
pub mod schema;
#[cfg(feature = "ship")]
pub mod ship;

pub mod bridge;
pub mod terminal;
pub mod testing;

#[doc(hidden)]
pub mod __private;

/// What this crate's benchmarks reach inside it. Not public API: names here may change in
/// any release.
#[cfg(feature = "writer")]
#[doc(hidden)]
pub mod __bench {
    /// A writer's encoder for `format`, as a function. The segment header, if the format
    /// has one, is written into the first call's output.
    pub fn encoder(format: crate::Format) -> impl FnMut(&crate::Record, u64, &mut Vec<u8>) + Send {
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
}

/// The README's Rust examples, compiled and run as documentation tests.
/// They are written for the default features.
#[cfg(all(
    doctest,
    feature = "writer",
    feature = "serde",
    feature = "gzip",
    feature = "log"
))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Not public API: the tests of this crate size their values by it.
#[doc(hidden)]
pub use capture::payload::INLINE_CAPACITY;
pub use dispatch::{
    clear_sink, flush, is_installed, lost_without_sink, max_level, set_max_level, set_sink,
    AlreadyInstalled, Sink,
};
pub use filter::{set_filter, Directives, ParseFilterError};
pub use level::{Level, LevelFilter, ParseLevelError, STATIC_MAX_LEVEL};
pub use metadata::{Metadata, Piece};
pub use record::{Decoded, Nested, NestedReader, Record, ValueRef};
pub use scope::{current_scope, Scope, ScopeGuard, Scoped};
pub use span::{SpanContext, SpanTiming};

pub use thread::thread_name;
/// Runs a function, sync or async, inside a span (see [`scope!`]) named after it, with
/// its arguments as the span's fields, as `tracing::instrument` does.
///
/// - `name = "..."`: the span's name; by default the function's.
/// - `skip(a, b)`, `skip_all`: arguments not captured (`self` never is).
/// - `fields(FIELD, ...)`: more fields, in the forms of [`info!`]'s (`key = value`,
///   `key = %value`, `?key`, ...).
/// - `err`: when the function returns `Err`, an `error` event inside the span with the
///   error's `Display` as the field `error`.
///
/// An argument is captured typed when it is a [`Value`], else through `Debug`. An async
/// function's span goes along with its future, across `.await`s and threads, and closes
/// when the future completes or is dropped.
///
/// ```
/// #[trail::instrument(skip(card), fields(region = "eu"), err)]
/// fn charge(order_id: u64, card: &str) -> Result<u32, String> {
///     trail::info!("charging"); // in the span `charge`, with order_id and region
///     Err(format!("card {card} declined"))
/// }
///
/// #[trail::instrument(name = "fetch")]
/// async fn load(user: u64) -> Vec<u8> {
///     Vec::new()
/// }
/// # let _ = charge(7, "4242");
/// # drop(load(3));
/// ```
pub use trail_macros::instrument;
pub use value::{
    debug, display, secret, set_max_value_bytes, Capture, Captured, DebugValue, DisplayValue,
    Secret, Value,
};

#[cfg(feature = "serde")]
pub use value::{serde, SerdeValue};

#[cfg(feature = "writer")]
pub use builder::{builder, Builder, Guard};
#[cfg(feature = "writer")]
pub use clock::{Clock, SystemClock};
#[cfg(feature = "writer")]
pub use error::{Error, ErrorKind};
#[cfg(any(feature = "writer", feature = "read"))]
pub use format::{Format, JsonProfile, ParseFormatError, ParseJsonProfileError};
#[cfg(feature = "writer")]
pub use rotation::{ParsePeriodError, Period};
#[cfg(feature = "writer")]
pub use writer::{Destination, Fsync, Output, ParseFsyncError, ParsePolicyError, Policy, Stats};

/// Adds fields (and an actor) to every event on this thread while the returned guard
/// lives; the event's own values win. Fields take the same forms as in [`info!`].
///
/// ```
/// let uid = 42_u64;
/// let rid = "r-81";
/// let _scope = trail::scope!(actor = uid, request_id = rid);
/// trail::info!("every event here carries actor 42 and request_id r-81");
/// ```
///
/// With a string literal first, the scope is a *span*: a named unit of work with a span
/// id, its parent (the thread's innermost span) and a trace id shared with it. Every
/// event inside carries the span's context, and with
/// [`Builder::span_records`](crate::Builder) the span writes a record with its timings
/// when it closes (docs/FORMAT.md, "Spans").
///
/// ```
/// let order_id = 7_u64;
/// let _span = trail::scope!("charge", order_id);
/// trail::info!("charged"); // carries order_id and the span "charge"
/// ```
#[macro_export]
macro_rules! scope {
    ($($field:tt)*) => {
        $crate::__private::scope!($crate; $($field)*)
    };
}

/// Logs an event at a level given as a constant expression.
///
/// ```
/// use trail::Level;
/// trail::event!(Level::Warn, attempt = 3, "retrying");
/// ```
#[macro_export]
macro_rules! event {
    ($level:expr_2021, $($arg:tt)*) => {
        $crate::__private::event!($crate, ($level); $($arg)*)
    };
}

/// Logs an event at the `trace` level. See the [crate docs](crate) for the syntax.
///
/// ```
/// trail::trace!(bytes = 512_usize, "read a block");
/// ```
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        $crate::__private::event!($crate, ($crate::Level::Trace); $($arg)*)
    };
}

/// Logs an event at the `debug` level. See the [crate docs](crate) for the syntax.
///
/// ```
/// let key = "user:7";
/// trail::debug!(key, hit = false, "cache lookup");
/// ```
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::__private::event!($crate, ($crate::Level::Debug); $($arg)*)
    };
}

/// Logs an event at the `info` level. See the [crate docs](crate) for the syntax.
///
/// ```
/// trail::info!(actor = "svc-billing", invoices = 12_u32, "run finished");
/// ```
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::__private::event!($crate, ($crate::Level::Info); $($arg)*)
    };
}

/// Logs an event at the `warn` level. See the [crate docs](crate) for the syntax.
///
/// ```
/// let free = 0.04_f64;
/// trail::warn!(free, "disk almost full: {:.0}% free", free * 100.0);
/// ```
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::__private::event!($crate, ($crate::Level::Warn); $($arg)*)
    };
}

/// Logs an event at the `error` level. See the [crate docs](crate) for the syntax.
///
/// ```
/// let err = std::io::Error::other("connection reset");
/// trail::error!(error = %err, peer = "10.0.0.7", "request failed");
/// ```
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::__private::event!($crate, ($crate::Level::Error); $($arg)*)
    };
}

/// Logs an event at the `fatal` level, then flushes: when it returns, the event and
/// everything before it are written.
///
/// ```
/// trail::fatal!(code = 78, "configuration unreadable, exiting");
/// ```
#[macro_export]
macro_rules! fatal {
    ($($arg:tt)*) => {
        $crate::__private::event!($crate, ($crate::Level::Fatal); $($arg)*)
    };
}
