//! Values: how a caller's data is copied into an event, and read back by a sink.
//!
//! The caller copies raw values into a compact byte payload owned by the record. Numbers,
//! booleans, short strings and IP addresses are copied as they are, with no formatting and
//! no heap allocation while the payload fits its inline capacity. Only values that cannot
//! be copied raw (`%value` for `Display`, `?value` for `Debug`) are rendered on the caller,
//! straight into the payload.
//!
//! The payload layout, one tag byte per value then the value's bytes, is the codec's
//! (`capture::codec`); it is private to this process. The on-disk formats are specified
//! separately in `docs/FORMAT.md`.

use core::fmt;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::capture::codec;
use crate::capture::payload::Payload;

static MAX_VALUE_BYTES: AtomicUsize = AtomicUsize::new(1 << 20);

/// The most [`set_max_value_bytes`] allows: an eighth of the longest record the reader
/// reads, [`MAX_RECORD_BYTES`](crate::limits::MAX_RECORD_BYTES).
const VALUE_LIMIT: usize = crate::limits::MAX_RECORD_BYTES / 8;

/// Bytes kept for a value's length and a cut marker, when the event's values near their
/// limit.
const CUT_MARKER_RESERVE: usize = 5 + 32;

/// Sets the most bytes one value may capture (default 1 MiB; at most 2 MiB, an eighth of
/// [`limits::MAX_RECORD_BYTES`](crate::limits::MAX_RECORD_BYTES): a larger setting is
/// clamped to it, a setting below 16 raised to 16).
///
/// A longer string, `Display` or `Debug` rendering is cut at a character boundary and ends
/// with a marker, `…[cut N bytes]`; longer raw bytes are cut; a longer `serde` value keeps
/// what fits and its outermost sequence or map ends with such a marker. All the values of
/// one event together capture at most 4 MiB (a quarter of the record limit), cut the same
/// way past it. So memory stays bounded however large a value is, and every record the
/// writer writes fits the limit that the reader and recovery read.
///
/// ```
/// trail::set_max_value_bytes(64 * 1024);
/// ```
pub fn set_max_value_bytes(bytes: usize) {
    MAX_VALUE_BYTES.store(bytes.clamp(16, VALUE_LIMIT), Ordering::Relaxed);
}

#[inline(always)]
pub(crate) fn max_value_bytes() -> usize {
    MAX_VALUE_BYTES.load(Ordering::Relaxed)
}

/// Appends a string value, cut with a marker when it is longer than a value may be or
/// than the event's values have room left for.
#[inline]
pub(crate) fn put_text(buf: &mut Payload, text: &str) {
    let max = max_value_bytes();
    // A payload that has not spilled holds a few hundred bytes, far from the event's
    // limit: only a spilled one needs measuring.
    if text.len() <= max && !buf.spilled() {
        codec::put_str(buf, text.as_bytes());
    } else {
        codec::put_str_cut(
            buf,
            text,
            max.min(buf.room_left().saturating_sub(CUT_MARKER_RESERVE)),
        );
    }
}

/// A type that can be logged as a typed field.
///
/// Implemented for integers, floats, `bool`, `char`, strings, IP addresses, `Option` of
/// those and references to them. Implement it for your own types by handing one value to
/// the [`Capture`]: the type system makes sure exactly one value is captured.
///
/// ```
/// use trail::{Capture, Captured, Value};
///
/// struct UserId(u64);
///
/// impl Value for UserId {
///     fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
///         out.u64(self.0)
///     }
/// }
///
/// let user = UserId(42);
/// trail::info!(actor = user, "signed in");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as a typed trail field",
    label = "not a trail::Value",
    note = "prefix the value with `%` to log it with Display, `?` for Debug, or `#` for serde::Serialize"
)]
pub trait Value {
    /// Copies this value into the event.
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a>;
}

/// The slot for one value of an event; consumed by capturing exactly one value.
pub struct Capture<'a> {
    buf: &'a mut Payload,
}

/// Proof that a [`Capture`] received its value. Only `Capture`'s methods make one.
#[must_use]
pub struct Captured<'a> {
    _slot: core::marker::PhantomData<&'a mut Payload>,
}

impl<'a> Capture<'a> {
    #[inline(always)]
    pub(crate) fn new(buf: &'a mut Payload) -> Self {
        Capture { buf }
    }

    #[inline(always)]
    fn done(self) -> Captured<'a> {
        Captured {
            _slot: core::marker::PhantomData,
        }
    }

    #[inline(always)]
    fn fixed<const N: usize>(self, value: codec::Fixed<N>) -> Captured<'a> {
        codec::put(self.buf, value);
        self.done()
    }

    /// Captures a null (an absent value, such as `None`).
    #[inline]
    pub fn null(self) -> Captured<'a> {
        self.fixed(codec::encode_null())
    }

    /// Captures a boolean.
    #[inline]
    pub fn bool(self, v: bool) -> Captured<'a> {
        self.fixed(codec::encode_bool(v))
    }

    /// Captures a signed integer.
    #[inline]
    pub fn i64(self, v: i64) -> Captured<'a> {
        self.fixed(codec::encode_i64(v))
    }

    /// Captures an unsigned integer.
    #[inline]
    pub fn u64(self, v: u64) -> Captured<'a> {
        self.fixed(codec::encode_u64(v))
    }

    /// Captures a 128-bit signed integer.
    #[inline]
    pub fn i128(self, v: i128) -> Captured<'a> {
        self.fixed(codec::encode_i128(v))
    }

    /// Captures a 128-bit unsigned integer.
    #[inline]
    pub fn u128(self, v: u128) -> Captured<'a> {
        self.fixed(codec::encode_u128(v))
    }

    /// Captures a 32-bit float, kept as such so it prints without widening noise.
    #[inline]
    pub fn f32(self, v: f32) -> Captured<'a> {
        self.fixed(codec::encode_f32(v))
    }

    /// Captures a 64-bit float.
    #[inline]
    pub fn f64(self, v: f64) -> Captured<'a> {
        self.fixed(codec::encode_f64(v))
    }

    /// Captures a character.
    #[inline]
    pub fn char(self, v: char) -> Captured<'a> {
        self.fixed(codec::encode_char(v))
    }

    /// Captures a string.
    #[inline]
    pub fn str(self, v: &str) -> Captured<'a> {
        put_text(self.buf, v);
        self.done()
    }

    /// Captures raw bytes; past the value limit (see [`set_max_value_bytes`]) they are
    /// cut.
    #[inline]
    pub fn bytes(self, v: &[u8]) -> Captured<'a> {
        let room = max_value_bytes().min(self.buf.room_left().saturating_sub(5));
        codec::put_bytes(self.buf, &v[..v.len().min(room)]);
        self.done()
    }

    /// Captures an IP address in its 4 or 16 raw bytes; it is formatted on the writer.
    #[inline]
    pub fn ip(self, v: IpAddr) -> Captured<'a> {
        match v {
            IpAddr::V4(v4) => self.fixed(codec::encode_ipv4(v4)),
            IpAddr::V6(v6) => self.fixed(codec::encode_ipv6(v6)),
        }
    }

    /// Captures the `Display` rendering of a value as a string, rendered now.
    pub fn display(self, v: &dyn fmt::Display) -> Captured<'a> {
        self.rendered(format_args!("{v}"))
    }

    /// Captures the `Debug` rendering of a value as a string, rendered now.
    pub fn debug(self, v: &dyn fmt::Debug) -> Captured<'a> {
        self.rendered(format_args!("{v:?}"))
    }

    /// Captures formatted text as a string, rendered now.
    pub fn args(self, args: fmt::Arguments<'_>) -> Captured<'a> {
        if let Some(s) = args.as_str() {
            return self.str(s);
        }
        self.rendered(args)
    }

    fn rendered(self, args: fmt::Arguments<'_>) -> Captured<'a> {
        let len_at = codec::begin_str(self.buf);
        // A failing Display impl leaves what it wrote so far; the record stays well formed.
        let room = max_value_bytes().min(self.buf.room_left().saturating_sub(CUT_MARKER_RESERVE));
        let mut text = PayloadText {
            buf: &mut *self.buf,
            room,
            cut: 0,
        };
        let _ = fmt::Write::write_fmt(&mut text, args);
        if text.cut > 0 {
            let marker = codec::cut_marker(text.cut);
            self.buf.extend_from_slice(marker.as_bytes());
        }
        codec::end_str(self.buf, len_at);
        self.done()
    }

    #[cfg(feature = "serde")]
    pub(crate) fn serde<T: serde::Serialize + ?Sized>(self, v: &T) -> Captured<'a> {
        crate::serde_value::capture(self.buf, v, max_value_bytes());
        self.done()
    }
}

/// Rendered text going into the payload, up to `room` bytes; the rest is counted in `cut`.
struct PayloadText<'a> {
    buf: &'a mut Payload,
    room: usize,
    cut: usize,
}

impl fmt::Write for PayloadText<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.len() <= self.room {
            self.buf.extend_from_slice(s.as_bytes());
            self.room -= s.len();
        } else {
            let mut end = self.room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.buf.extend_from_slice(&s.as_bytes()[..end]);
            self.room = 0;
            self.cut += s.len() - end;
        }
        Ok(())
    }
}

macro_rules! value_via {
    ($method:ident as $conv:ty: $($t:ty),*) => {$(
        impl Value for $t {
            #[inline]
            fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
                out.$method(*self as $conv)
            }
        }
    )*};
}

value_via!(u64 as u64: u8, u16, u32, u64, usize);
value_via!(i64 as i64: i8, i16, i32, i64, isize);
value_via!(i128 as i128: i128);
value_via!(u128 as u128: u128);
value_via!(f32 as f32: f32);
value_via!(f64 as f64: f64);
value_via!(bool as bool: bool);
value_via!(char as char: char);

impl Value for str {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.str(self)
    }
}

impl Value for String {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.str(self)
    }
}

impl Value for Cow<'_, str> {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.str(self)
    }
}

impl Value for IpAddr {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.ip(*self)
    }
}

impl Value for Ipv4Addr {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.ip(IpAddr::V4(*self))
    }
}

impl Value for Ipv6Addr {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.ip(IpAddr::V6(*self))
    }
}

impl Value for SocketAddr {
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.display(self)
    }
}

impl Value for fmt::Arguments<'_> {
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.args(*self)
    }
}

impl<T: Value> Value for Option<T> {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        match self {
            Some(v) => v.capture(out),
            None => out.null(),
        }
    }
}

macro_rules! value_through_pointer {
    ($($ptr:ty),*) => {$(
        impl<T: Value + ?Sized> Value for $ptr {
            #[inline]
            fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
                (**self).capture(out)
            }
        }
    )*};
}

value_through_pointer!(&T, &mut T, Box<T>, Arc<T>, Rc<T>);

/// Logs a value with its `Display` rendering; what the `%value` sigil expands to.
///
/// ```
/// let path = std::path::Path::new("/srv/data");
/// trail::info!(path = trail::display(path.display()), "opened");
/// ```
pub fn display<T: fmt::Display>(value: T) -> DisplayValue<T> {
    DisplayValue(value)
}

/// Logs a value with its `Debug` rendering; what the `?value` sigil expands to.
///
/// ```
/// trail::info!(ids = trail::debug(vec![1, 2, 3]), "batch");
/// ```
pub fn debug<T: fmt::Debug>(value: T) -> DebugValue<T> {
    DebugValue(value)
}

/// Marks a field as secret: the event records `"[REDACTED]"` in its place.
///
/// The value itself is never read, so it is not copied, queued or written anywhere; the
/// field keeps its name, so readers see that it was there. Names listed with
/// [`Builder::redact`](crate::Builder::redact) are hidden on the writer instead, for
/// fields that are not marked at each call.
///
#[cfg_attr(feature = "writer", doc = "```")]
#[cfg_attr(not(feature = "writer"), doc = "```ignore")]
/// # let dir = tempfile::tempdir().unwrap();
/// # let guard = trail::builder().dir(dir.path()).filter_from_env(false).install()?;
/// let password = String::from("hunter2");
/// trail::info!(user = "ana", password = trail::secret(&password), "login attempt");
/// # drop(guard);
/// # let text = std::fs::read_to_string(std::fs::read_dir(dir.path())?
/// #     .filter_map(Result::ok).map(|e| e.path())
/// #     .find(|p| p.extension().is_some_and(|x| x == "jsonl")).unwrap())?;
/// # assert!(text.contains(r#""password":"[REDACTED]""#) && !text.contains("hunter2"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn secret<T: ?Sized>(value: &T) -> Secret {
    let _ = value;
    Secret
}

/// A field marked secret with [`secret`]: captured as `"[REDACTED]"`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Secret;

impl Value for Secret {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.str("[REDACTED]")
    }
}

/// A value logged through its `Display` rendering. See [`display`].
#[derive(Clone, Copy, Debug)]
pub struct DisplayValue<T>(pub T);

impl<T: fmt::Display> Value for DisplayValue<T> {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.display(&self.0)
    }
}

/// A value logged through its `Debug` rendering. See [`debug`].
#[derive(Clone, Copy, Debug)]
pub struct DebugValue<T>(pub T);

impl<T: fmt::Debug> Value for DebugValue<T> {
    #[inline]
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.debug(&self.0)
    }
}

/// A value logged as a typed, nested field through `serde::Serialize`; what the
/// `#value` sigil expands to (feature `serde`).
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Cart { items: u32, total: f64 }
///
/// let cart = Cart { items: 3, total: 9.5 };
/// trail::info!(cart = #cart, "checked out");
/// trail::info!(cart = trail::serde(&cart), "the same, spelled as a function");
/// ```
#[cfg(feature = "serde")]
pub fn serde<T: serde::Serialize>(value: T) -> SerdeValue<T> {
    SerdeValue(value)
}

/// A value logged through `serde::Serialize`. See [`serde()`].
#[cfg(feature = "serde")]
#[derive(Clone, Copy, Debug)]
pub struct SerdeValue<T>(pub T);

#[cfg(feature = "serde")]
impl<T: serde::Serialize> Value for SerdeValue<T> {
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        out.serde(&self.0)
    }
}
