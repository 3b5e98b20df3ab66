//! The event's capture: what a logging call does after its level gate passes.
//!
//! [`event::emit`] copies the call's values into a payload, in place in the calling
//! thread's ring when the writer is installed, and builds a record out of line otherwise.
//! [`payload`] holds the byte buffers those values go into, [`codec`] the layout of each
//! kind of value in them (its tag, how it is written, how it is read), [`value_view`] the
//! one view of a value's shape that the encoders and the rendering take from every type
//! holding values, and [`render`] the one text rendering they all display through.
//!
//! The macros reach this room only through `crate::__private`, which re-exports it.

pub(crate) mod codec;
pub(crate) mod event;
pub(crate) mod payload;
pub(crate) mod render;
pub(crate) mod value_view;
