//! Scoped context: fields that every event on a thread carries while a guard lives.
//!
#![cfg_attr(feature = "writer", doc = "```")]
#![cfg_attr(not(feature = "writer"), doc = "```ignore")]
//! # let dir = tempfile::tempdir().unwrap();
//! # let _writer = trail::builder().dir(dir.path()).install().unwrap();
//! let request_id = "r-81";
//! let _scope = trail::scope!(actor = 42_u64, request_id);
//! trail::info!("loaded cart");              // carries actor 42 and request_id
//! trail::info!(actor = 7_u64, "as admin");  // its own actor wins
//! ```
//!
//! A scope's values are captured once, when the guard is made. An event's own fields and
//! actor win over a scope's, and an inner scope wins over an outer one. The stack is per
//! thread; [`current_scope`] takes it along into a future, across `.await`s and threads.
//!
//! A test capture ([`testing::capture`](crate::testing::capture)) is a frame of this
//! stack too, with no values: so it ends with its guard, and goes along into futures. So
//! is a span (`scope!("name", ...)`, see `span`): a frame with ids, whose context every
//! event inside carries.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::capture::codec;
use crate::payload::{Block, Payload, RecordPayload};
use crate::record::{HAS_ACTOR, HAS_SCOPED, HAS_SPAN};
use crate::span::SpanIds;
use crate::span_timer::SpanTimer;
use crate::value::{Capture, Value};
use crate::Metadata;

/// The values of one `scope!`, captured.
#[derive(Clone, Debug, Default)]
#[doc(hidden)]
pub struct Frame {
    actor: Option<Vec<u8>>,
    fields: Vec<(&'static str, Vec<u8>)>,
    capture: Option<Arc<crate::testing::Collector>>,
    /// The span this frame is, if it has a name.
    span: Option<SpanFrame>,
    /// The call site of the span's closing record, until the frame is entered and its
    /// timer started (only when span records are on).
    close: Option<Close>,
}

/// A frame's span: its ids, and its timer when span records are on.
#[derive(Clone, Debug)]
pub(crate) struct SpanFrame {
    pub(crate) ids: SpanIds,
    pub(crate) timer: Option<Arc<SpanTimer>>,
}

/// How a span's closing record is written: its call site, and whether the name follows
/// the timings as the message's value (a bridge call site) or is the message itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Close {
    pub(crate) meta: &'static Metadata,
    pub(crate) name_as_value: bool,
}

pub(crate) fn captured<T: Value + ?Sized>(value: &T) -> Vec<u8> {
    let mut stored = RecordPayload::new();
    let _ = value.capture(Capture::new(&mut stored.edit()));
    stored.as_slice().to_vec()
}

impl Frame {
    /// An empty frame; the macro fills it.
    pub fn new() -> Frame {
        Frame::default()
    }

    /// Sets the scope's actor.
    pub fn actor<T: Value + ?Sized>(&mut self, value: &T) {
        self.actor = Some(captured(value));
    }

    /// Adds a field.
    pub fn field<T: Value + ?Sized>(&mut self, name: &'static str, value: &T) {
        self.fields.push((name, captured(value)));
    }

    /// A frame that is a span named `name` (the message of `close`, the call site of
    /// its closing record), a child of the thread's innermost span.
    pub fn span(close: &'static Metadata, name: &'static str) -> Frame {
        let ids = SpanIds::child_of(name, innermost_span().as_ref());
        Frame::span_with(
            ids,
            Close {
                meta: close,
                name_as_value: false,
            },
        )
    }

    /// A frame that is the span `ids`, closed with a record at `close`.
    pub(crate) fn span_with(ids: SpanIds, close: Close) -> Frame {
        Frame {
            span: Some(SpanFrame { ids, timer: None }),
            close: Some(close),
            ..Frame::default()
        }
    }

    /// A frame that only holds a test capture.
    pub(crate) fn capturing(collector: Arc<crate::testing::Collector>) -> Frame {
        Frame {
            capture: Some(collector),
            ..Frame::default()
        }
    }

    /// Starts the span's timer, once, if span records are on: from now on the frame
    /// (and every copy of it) keeps the span open, and the last copy closes it.
    fn start(&mut self) {
        let Some(close) = self.close.take() else {
            return;
        };
        if !crate::span_timer::records_on() {
            return;
        }
        if let Some(span) = self.span.as_mut() {
            span.timer = Some(Arc::new(SpanTimer::new(
                span.ids,
                close,
                self.actor.clone(),
                self.fields.clone(),
            )));
        }
    }

    /// Replaces the frame's fields.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn set_fields(&mut self, fields: Vec<(&'static str, Vec<u8>)>) {
        self.fields = fields;
    }

    /// A frame that is the span `ids`, with captured fields, and no timer of its own: the
    /// fields of a closed span for its record, or a bridged span around its events.
    pub(crate) fn span_only(
        ids: SpanIds,
        actor: Option<Vec<u8>>,
        fields: Vec<(&'static str, Vec<u8>)>,
    ) -> Frame {
        Frame {
            actor,
            fields,
            span: Some(SpanFrame { ids, timer: None }),
            ..Frame::default()
        }
    }
}

/// The ids of the thread's innermost span.
pub(crate) fn innermost_span() -> Option<SpanIds> {
    if !active() {
        return None;
    }
    STACK.with(|s| {
        let stack = s.try_borrow().ok()?;
        stack
            .frames
            .iter()
            .rev()
            .find_map(|f| f.span.as_ref().map(|s| s.ids))
    })
}

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static STACK: RefCell<Stack> = const {
        RefCell::new(Stack {
            frames: Vec::new(),
            suffix: Suffix {
                actor: None,
                names: Vec::new(),
                tail: Vec::new(),
                tail_len: 0,
                fields_end: 0,
                flags: 0,
            },
        })
    };
}

/// The thread's scopes, innermost last, and the bytes their events get.
struct Stack {
    frames: Vec<Frame>,
    suffix: Suffix,
}

/// What an event inside the thread's scopes gets, in the payload's own bytes: made once
/// after the stack changes (whether it is made for the stack as it is, [`READY`] says),
/// then copied into each event, so that an event inside a scope or span costs a copy,
/// not a walk of the stack.
struct Suffix {
    /// The innermost actor, captured.
    actor: Option<Vec<u8>>,
    /// The scopes' field names, innermost first, each once.
    names: Vec<&'static str>,
    /// What follows the values of an event that sets none of `names`, `tail_len` bytes:
    /// the scoped marker and each field (up to `fields_end`), then the innermost span's
    /// context (see [`crate::span::put_trailer`]), if any. Zeros pad it to four blocks at
    /// least, which events copy whole (see [`Payload::extend_from_blocks`]): a span with
    /// a name of up to 30 bytes and no scope fields takes two, a few fields more four.
    tail: Vec<u8>,
    tail_len: usize,
    fields_end: usize,
    /// The record flags `tail` sets.
    flags: u8,
}

impl Stack {
    /// Makes the suffix again from the frames.
    #[cold]
    fn refresh(&mut self) {
        let suffix = &mut self.suffix;
        suffix.actor = self.frames.iter().rev().find_map(|f| f.actor.clone());
        suffix.names.clear();
        suffix.tail.clear();
        suffix.flags = 0;
        let mut bytes = RecordPayload::new();
        {
            let mut payload = bytes.edit();
            merge_fields(
                &self.frames,
                &mut payload,
                &mut suffix.flags,
                &[],
                &mut suffix.names,
            );
            suffix.fields_end = payload.len();
            if let Some(span) = self.frames.iter().rev().find_map(|f| f.span.as_ref()) {
                suffix.flags |= HAS_SPAN;
                crate::span::put_trailer(&mut payload, &span.ids);
            }
        }
        suffix.tail.extend_from_slice(bytes.as_slice());
        suffix.tail_len = suffix.tail.len();
        suffix.tail.resize(suffix.tail_len.max(FOUR_BLOCKS), 0);
        // The calls known not to set a scope field were known for the scopes before.
        let _ = DISJOINT.try_with(|d| d.iter().for_each(|site| site.set(0)));
        let (actor, actor_len) = suffix
            .actor
            .as_ref()
            .map_or((core::ptr::null(), 0), |a| (a.as_ptr(), a.len()));
        let _ = READY.try_with(|r| {
            r.set(Ready {
                fresh: true,
                actor,
                actor_len,
                tail: if suffix.tail_len <= FOUR_BLOCKS {
                    suffix.tail.as_ptr().cast()
                } else {
                    core::ptr::null()
                },
                wide: suffix.tail_len > FOUR_BLOCKS / 2,
                tail_len: suffix.tail_len,
                checked: !suffix.names.is_empty(),
                flags: suffix.flags,
            })
        });
    }
}

/// The bytes of four blocks.
const FOUR_BLOCKS: usize = 4 * size_of::<Block>();

/// The suffix's bytes while it is fresh, where an event reads them without borrowing the
/// stack: the pointers stay valid until the stack changes, which clears this first.
#[derive(Clone, Copy)]
struct Ready {
    /// Whether the suffix is made for the stack as it is, and the rest holds: false
    /// from a change of the stack until the suffix is made again.
    fresh: bool,
    /// The innermost actor; null when there is none.
    actor: *const u8,
    actor_len: usize,
    /// The suffix's tail in blocks; null when it is too long for them.
    tail: *const Block,
    /// Whether the tail takes four blocks, not two.
    wide: bool,
    tail_len: usize,
    flags: u8,
    /// Whether the scopes have fields, which a call may set itself: then only a call
    /// known not to (see [`DISJOINT`]) takes the tail as it is.
    checked: bool,
}

impl Ready {
    const STALE: Ready = Ready {
        fresh: false,
        actor: core::ptr::null(),
        actor_len: 0,
        tail: core::ptr::null(),
        wide: false,
        tail_len: 0,
        flags: 0,
        checked: false,
    };
}

thread_local! {
    static READY: Cell<Ready> = const { Cell::new(Ready::STALE) };
    /// Call sites (by their metadata's address) found to set none of the scopes' fields
    /// since the suffix was last made, in a small table with one site per slot.
    static DISJOINT: [Cell<usize>; 16] = const { [const { Cell::new(0) }; 16] };
}

/// The slot of `DISJOINT` for the call site at `address`.
#[inline(always)]
fn disjoint_slot(address: usize) -> usize {
    ((address as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60) as usize
}

/// Whether the call site at `address` is known to set none of the scopes' fields.
#[inline(always)]
fn known_disjoint(address: usize) -> bool {
    DISJOINT.with(|d| d[disjoint_slot(address)].get() == address)
}

impl Drop for Stack {
    fn drop(&mut self) {
        // The thread ends: an event logged later, from another thread-local's destructor,
        // must not read the bytes freed here.
        stale();
    }
}

/// Marks the suffix stale, as the stack changes.
fn stale() {
    let _ = READY.try_with(|r| r.set(Ready::STALE));
}

/// Pushes a frame; the guard pops it.
#[doc(hidden)]
pub fn enter(mut frame: Frame) -> ScopeGuard {
    frame.start();
    let timer = frame
        .span
        .as_ref()
        .and_then(|s| s.timer.clone())
        .inspect(|t| t.enter());
    STACK.with(|s| {
        let mut stack = s.borrow_mut();
        stack.frames.push(frame);
        stale();
    });
    DEPTH.with(|d| d.set(d.get() + 1));
    ScopeGuard {
        timer,
        _not_send: PhantomData,
    }
}

/// Pushes a frame if the thread's stack is still there (not while the thread ends).
pub(crate) fn try_enter(frame: Frame) -> Option<ScopeGuard> {
    STACK.try_with(|_| ()).ok()?;
    DEPTH.try_with(|_| ()).ok()?;
    Some(enter(frame))
}

/// While alive, events on this thread carry the scope's fields. Made by [`scope!`](crate::scope!).
#[must_use = "the scope ends when the guard is dropped: bind it, as in `let _scope = ...`"]
pub struct ScopeGuard {
    /// The timer of the span this guard entered, when span records are on.
    timer: Option<Arc<SpanTimer>>,
    _not_send: PhantomData<Rc<()>>,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        // Popped out of the stack's borrow: the last copy of a span closes it with a
        // record, which reads the stack.
        let frame = STACK
            .try_with(|s| {
                let frame = s.borrow_mut().frames.pop();
                stale();
                frame
            })
            .ok()
            .flatten();
        let _ = DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
        if let Some(timer) = self.timer.take() {
            timer.exit();
        }
        drop(frame);
    }
}

impl std::fmt::Debug for ScopeGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScopeGuard")
    }
}

/// The test captures this thread is in, each once, outermost first.
pub(crate) fn captures() -> Vec<Arc<crate::testing::Collector>> {
    if !active() {
        return Vec::new();
    }
    STACK.with(|s| {
        let mut found: Vec<Arc<crate::testing::Collector>> = Vec::new();
        // An event logged while the stack changes (a panic there) finds no capture.
        let Ok(stack) = s.try_borrow() else {
            return found;
        };
        for collector in stack.frames.iter().filter_map(|f| f.capture.as_ref()) {
            // A scope entered again (a future polled where it was made) repeats a frame.
            if !found.iter().any(|c| Arc::ptr_eq(c, collector)) {
                found.push(Arc::clone(collector));
            }
        }
        found
    })
}

/// Whether this thread has a scope: one thread-local read.
#[inline(always)]
pub(crate) fn active() -> bool {
    DEPTH.with(Cell::get) != 0
}

/// Puts the innermost scope's actor first in the event, whose call names none.
#[inline(always)]
pub(crate) fn add_actor(payload: &mut Payload, flags: &mut u8) {
    let ready = READY.with(Cell::get);
    if !ready.fresh {
        return add_actor_slow(payload, flags);
    }
    if ready.actor.is_null() {
        return;
    }
    *flags |= HAS_ACTOR;
    // SAFETY: a non-null pointer of `READY` points at bytes of the fresh suffix, which
    // nothing changes until the stack does, and that clears it first.
    payload.extend_from_slice(unsafe { core::slice::from_raw_parts(ready.actor, ready.actor_len) });
}

#[cold]
#[inline(never)]
fn add_actor_slow(payload: &mut Payload, flags: &mut u8) {
    with_suffix(|suffix, _| {
        if let Some(actor) = &suffix.actor {
            *flags |= HAS_ACTOR;
            payload.extend_from_slice(actor);
        }
    });
}

/// Appends the scopes' fields that the call does not set, innermost first, then the
/// innermost span's context.
#[inline(always)]
pub(crate) fn add_fields(payload: &mut Payload, flags: &mut u8, meta: &Metadata) {
    let ready = READY.with(Cell::get);
    let address = meta as *const Metadata as usize;
    if !ready.fresh || ready.tail.is_null() || (ready.checked && !known_disjoint(address)) {
        return add_fields_slow(payload, flags, meta);
    }
    *flags |= ready.flags;
    // SAFETY: as in `add_actor`; zeros pad the tail to four blocks at least.
    unsafe {
        if ready.wide {
            payload.extend_from_blocks(&*ready.tail.cast::<[Block; 4]>(), ready.tail_len);
        } else {
            payload.extend_from_blocks(&*ready.tail.cast::<[Block; 2]>(), ready.tail_len);
        }
    }
}

#[cold]
#[inline(never)]
fn add_fields_slow(payload: &mut Payload, flags: &mut u8, meta: &Metadata) {
    with_suffix(|suffix, frames| {
        let fields = meta.fields();
        if suffix.names.iter().any(|name| fields.contains(name)) {
            // The call sets some of the scopes' fields: those are left out.
            merge_fields(frames, payload, flags, fields, &mut Vec::new());
            *flags |= suffix.flags & HAS_SPAN;
            payload.extend_from_slice(&suffix.tail[suffix.fields_end..suffix.tail_len]);
        } else {
            *flags |= suffix.flags;
            payload.extend_from_slice(&suffix.tail[..suffix.tail_len]);
            if !suffix.names.is_empty() {
                let address = meta as *const Metadata as usize;
                let _ = DISJOINT.try_with(|d| d[disjoint_slot(address)].set(address));
            }
        }
    });
}

/// Runs `f` with the thread's suffix, made again first if the stack changed. An event
/// logged while the stack changes (a panic there) or while the thread ends gets nothing.
#[inline(always)]
fn with_suffix(f: impl FnOnce(&Suffix, &[Frame])) {
    let _ = STACK.try_with(|s| {
        let Ok(mut stack) = s.try_borrow_mut() else {
            return;
        };
        if !READY.with(Cell::get).fresh {
            stack.refresh();
        }
        f(&stack.suffix, &stack.frames);
    });
}

/// Appends the fields of `frames` whose names are not in `set` nor `added`, innermost
/// first, after the scoped marker; `added` gets their names.
fn merge_fields(
    frames: &[Frame],
    payload: &mut Payload,
    flags: &mut u8,
    set: &[&'static str],
    added: &mut Vec<&'static str>,
) {
    for frame in frames.iter().rev() {
        for (name, value) in &frame.fields {
            if set.contains(name) || added.contains(name) {
                continue;
            }
            if added.is_empty() {
                codec::start_scoped(payload);
            }
            *flags |= HAS_SCOPED;
            codec::put_str(payload, name.as_bytes());
            payload.extend_from_slice(value);
            added.push(name);
        }
    }
}

/// The scopes active on this thread, to carry into a future; test captures
/// ([`testing::capture`](crate::testing::capture)) go along too.
///
/// ```
/// let _scope = trail::scope!(request_id = "r-81");
/// let job = trail::current_scope().wrap(async {
///     trail::info!("in the future, on whichever thread polls it");
/// });
/// # drop(job);
/// ```
pub fn current_scope() -> Scope {
    Scope {
        frames: STACK.with(|s| s.borrow().frames.clone().into()),
    }
}

/// A snapshot of scopes, to enter again elsewhere. See [`current_scope`].
#[derive(Clone, Debug)]
pub struct Scope {
    frames: Arc<[Frame]>,
}

impl Scope {
    /// These scopes and, innermost, the span `frame`, which starts now (see
    /// [`Scope::wrap`]); `#[trail::instrument]` wraps an async function's body in it.
    #[doc(hidden)]
    pub fn with_span(mut self, mut frame: Frame) -> Scope {
        frame.start();
        let mut frames = self.frames.to_vec();
        frames.push(frame);
        self.frames = frames.into();
        self
    }

    /// Enters these scopes on the current thread until the guards are dropped.
    pub fn enter(&self) -> Vec<ScopeGuard> {
        self.frames.iter().cloned().map(enter).collect()
    }

    /// A future that enters these scopes each time it is polled.
    pub fn wrap<F: Future>(self, future: F) -> Scoped<F> {
        Scoped {
            scope: self,
            future,
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // The last copy closes its spans innermost first, as guards would.
        if let Some(frames) = Arc::get_mut(&mut self.frames) {
            for frame in frames.iter_mut().rev() {
                drop(frame.span.take());
            }
        }
    }
}

/// A future running inside a [`Scope`]. See [`Scope::wrap`].
#[derive(Debug)]
pub struct Scoped<F> {
    scope: Scope,
    future: F,
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        let _guards = this.scope.enter();
        // SAFETY: as above, `future` stays where `self` is pinned.
        unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx)
    }
}
