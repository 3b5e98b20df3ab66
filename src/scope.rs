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
//! stack too, with no values: so it ends with its guard, and goes along into futures.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::capture::codec;
use crate::payload::{Payload, RecordPayload};
use crate::record::{HAS_ACTOR, HAS_SCOPED};
use crate::value::{Capture, Value};
use crate::Metadata;

/// The values of one `scope!`, captured.
#[derive(Clone, Debug, Default)]
#[doc(hidden)]
pub struct Frame {
    actor: Option<Vec<u8>>,
    fields: Vec<(&'static str, Vec<u8>)>,
    capture: Option<Arc<crate::testing::Collector>>,
}

fn captured<T: Value + ?Sized>(value: &T) -> Vec<u8> {
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

    /// A frame that only holds a test capture.
    pub(crate) fn capturing(collector: Arc<crate::testing::Collector>) -> Frame {
        Frame {
            capture: Some(collector),
            ..Frame::default()
        }
    }
}

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Pushes a frame; the guard pops it.
#[doc(hidden)]
pub fn enter(frame: Frame) -> ScopeGuard {
    STACK.with(|s| s.borrow_mut().push(frame));
    DEPTH.with(|d| d.set(d.get() + 1));
    ScopeGuard {
        _not_send: PhantomData,
    }
}

/// While alive, events on this thread carry the scope's fields. Made by [`scope!`](crate::scope!).
#[must_use = "the scope ends when the guard is dropped: bind it, as in `let _scope = ...`"]
pub struct ScopeGuard {
    _not_send: PhantomData<Rc<()>>,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        STACK.with(|s| s.borrow_mut().pop());
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
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
        for collector in stack.iter().filter_map(|f| f.capture.as_ref()) {
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

/// Puts the innermost scope's actor first in the event, if the call names none.
#[cold]
pub(crate) fn add_actor(payload: &mut Payload, flags: &mut u8, meta: &Metadata) {
    if meta.has_actor() {
        return;
    }
    STACK.with(|s| {
        if let Some(actor) = s.borrow().iter().rev().find_map(|f| f.actor.as_ref()) {
            *flags |= HAS_ACTOR;
            payload.extend_from_slice(actor);
        }
    });
}

/// Appends the scopes' fields that the call does not set, innermost first.
#[cold]
pub(crate) fn add_fields(payload: &mut Payload, flags: &mut u8, meta: &Metadata) {
    STACK.with(|s| {
        let stack = s.borrow();
        let mut added: Vec<&'static str> = Vec::new();
        for frame in stack.iter().rev() {
            for (name, value) in &frame.fields {
                if meta.fields().contains(name) || added.contains(name) {
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
    });
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
        frames: STACK.with(|s| s.borrow().clone().into()),
    }
}

/// A snapshot of scopes, to enter again elsewhere. See [`current_scope`].
#[derive(Clone, Debug)]
pub struct Scope {
    frames: Arc<[Frame]>,
}

impl Scope {
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
