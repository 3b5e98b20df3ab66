//! An event being captured: [`emit`], which the macros call once the level gate passes,
//! and the [`Event`] their closure fills, one value after another.
//!
//! `emit` is generic over the call site's closure, so each value is captured by code made
//! for its type, and kept out of line, so that a disabled call costs only the gate.
//! Message arguments pick raw capture or `Display` rendering through [`Arg`] and auto-ref.

use core::fmt;

use super::payload::Payload;
use crate::metadata::Metadata;
use crate::record::{Record, HAS_ACTOR};
use crate::value::{Capture, DisplayValue, Value};
use crate::Level;

/// Captures an event and hands it over, out of line, so that the caller's disabled path
/// is only the gate; generic over the call site's closure, so that each value is captured
/// by code made for its type.
///
/// With the background writer installed, the values are captured in place, in room
/// reserved in the calling thread's ring, and published with a header: no record is
/// built. Otherwise (another sink, a full ring, values past the inline capacity) they are
/// captured on the stack and the record goes to the sink.
#[inline(never)]
pub fn emit<F: FnOnce(&mut Event)>(meta: &'static Metadata, capture: F) {
    let ticks = crate::clock::now_ticks();
    // The record for the other ways, built only if one is taken; meanwhile its inline
    // array is the room when the ring has none.
    let mut spare = core::mem::MaybeUninit::<Record>::uninit();
    // SAFETY: `spare` is valid for writes.
    let spare_room = unsafe { Record::inline_of(spare.as_mut_ptr()) };
    #[cfg(feature = "writer")]
    let slot = crate::dispatch::reserve();
    #[cfg(feature = "writer")]
    let room = slot.as_ref().map_or(spare_room, crate::queue::Slot::room);
    #[cfg(not(feature = "writer"))]
    let room = spare_room;
    let mut event = Event {
        // SAFETY: the room is the slot's (reserved for this event, and given up only
        // after the payload's last use) or `spare`'s, which outlives the payload.
        payload: unsafe { Payload::over(room) },
        flags: 0,
    };
    let scoped = crate::scope::active();
    if scoped && !meta.has_actor() {
        crate::scope::add_actor(&mut event.payload, &mut event.flags);
    }
    capture(&mut event);
    if scoped {
        crate::scope::add_fields(&mut event.payload, &mut event.flags, meta);
    }
    #[cfg(feature = "writer")]
    let committed = match (slot, event.payload.inline_len()) {
        (Some(slot), Some(len)) => {
            slot.commit(meta, ticks, event.flags, len);
            true
        }
        // No room in the ring, or values spilled to the heap (the slot, dropped here,
        // gives its room up): the record is built, from the heap's bytes if they spilled.
        _ => false,
    };
    #[cfg(not(feature = "writer"))]
    let committed = false;
    if !committed {
        let thread = crate::thread::current_id();
        // SAFETY: the payload wrote into `spare`'s room, or it spilled (the only way past
        // the slot above); `spare` is then whole, and dropped once.
        unsafe {
            Record::init(
                spare.as_mut_ptr(),
                meta,
                ticks,
                thread,
                event.flags,
                event.payload,
            );
            crate::dispatch::submit(spare.assume_init_ref());
            spare.assume_init_drop();
        }
    }
    if meta.level() == Level::Fatal {
        crate::dispatch::flush();
    }
}

/// An event being captured, inside [`emit`].
pub struct Event {
    payload: Payload,
    flags: u8,
}

impl Event {
    /// Captures the actor; called first, if at all.
    #[inline(always)]
    pub fn actor<T: Value + ?Sized>(&mut self, value: &T) {
        self.flags |= HAS_ACTOR;
        self.value(value);
    }

    /// Captures the next field or message argument.
    #[inline(always)]
    pub fn value<T: Value + ?Sized>(&mut self, value: &T) {
        let _ = value.capture(Capture::new(&mut self.payload));
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
