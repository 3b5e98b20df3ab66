//! Records: one owned event on its way from the caller to a sink.
//!
//! A record is a reference to its call site's static [`Metadata`], the timestamp, the
//! thread, and the captured values in a compact payload. Sinks read the values back as
//! [`ValueRef`]s, and render the message only when they need it.

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smallvec::SmallVec;

#[cfg(feature = "writer")]
use crate::capture::codec;
#[cfg(feature = "writer")]
use crate::capture::payload::PayloadEdit;
use crate::capture::payload::{InlineBytes, Payload, RecordPayload};
use crate::metadata::{Metadata, Piece};
use crate::Level;

// The values a record holds are read with the codec's types; they are named here too,
// where sinks meet them.
pub use crate::capture::codec::{Nested, NestedReader, ValueRef};

/// Flag: the first value captured is the actor.
pub(crate) const HAS_ACTOR: u8 = 1;
/// Flag: scopes added fields after the call's own values.
pub(crate) const HAS_SCOPED: u8 = 2;
/// Flag: the record was captured in a span, whose context ends the payload (see
/// `span::put_trailer`).
pub(crate) const HAS_SPAN: u8 = 4;

/// One event, as a sink receives it.
#[derive(Clone)]
// The payload last, so that its uninitialised inline bytes end the record (see `Payload`).
#[repr(C)]
pub struct Record {
    meta: &'static Metadata,
    /// When, in the caller's ticks (see `clock`): converted only when asked.
    ticks: u64,
    thread: u64,
    flags: u8,
    payload: RecordPayload,
}

impl Record {
    #[cfg(feature = "writer")]
    #[inline(always)]
    pub(crate) fn new(meta: &'static Metadata, ticks: u64, thread: u64) -> Record {
        Record {
            meta,
            ticks,
            thread,
            flags: 0,
            payload: RecordPayload::new(),
        }
    }

    /// The room that a record being built in `record` offers a [`Payload`]: its own
    /// inline array, so that values captured there need no copy.
    ///
    /// # Safety
    ///
    /// `record` must be valid for writes (its fields need not be initialised).
    #[inline(always)]
    pub(crate) unsafe fn inline_of(record: *mut Record) -> *mut InlineBytes {
        // SAFETY: only addresses are taken.
        unsafe { RecordPayload::inline_of(core::ptr::addr_of_mut!((*record).payload)) }
    }

    /// Initialises the record in `record` from a payload that wrote into
    /// [`Record::inline_of`]`(record)`, or that spilled whole to the heap.
    ///
    /// # Safety
    ///
    /// As for `RecordPayload::init`.
    #[inline(always)]
    pub(crate) unsafe fn init(
        record: *mut Record,
        meta: &'static Metadata,
        ticks: u64,
        thread: u64,
        flags: u8,
        payload: Payload,
    ) {
        // SAFETY: as the caller vouches.
        unsafe {
            core::ptr::addr_of_mut!((*record).meta).write(meta);
            core::ptr::addr_of_mut!((*record).ticks).write(ticks);
            core::ptr::addr_of_mut!((*record).thread).write(thread);
            core::ptr::addr_of_mut!((*record).flags).write(flags);
            RecordPayload::init(core::ptr::addr_of_mut!((*record).payload), payload);
        }
    }

    /// Appends to the captured values.
    #[cfg(feature = "writer")]
    pub(crate) fn payload_mut(&mut self) -> PayloadEdit<'_> {
        self.payload.edit()
    }

    /// Marks the record as having an actor; the actor must be the first value captured.
    #[cfg(all(test, feature = "writer"))]
    pub(crate) fn set_actor_flag(&mut self) {
        self.flags |= HAS_ACTOR;
    }

    /// A record of `meta` for the crate's unit tests: the actor, then `values`, captured
    /// as the macros would.
    #[cfg(all(test, feature = "writer"))]
    pub(crate) fn with_actor_and_values(
        meta: &'static Metadata,
        ticks: u64,
        thread: u64,
        actor: &dyn crate::Value,
        values: &[&dyn crate::Value],
    ) -> Record {
        let mut record = Record::new(meta, ticks, thread);
        record.set_actor_flag();
        let mut payload = record.payload_mut();
        for value in std::iter::once(&actor).chain(values) {
            let _ = value.capture(crate::Capture::new(&mut payload));
        }
        drop(payload);
        record
    }

    /// The captured values in order, the actor first when there is one, for encoders that
    /// write them as they come. `None` when scopes added fields, which need reordering.
    #[cfg(feature = "writer")]
    pub(crate) fn plain_values(&self) -> Option<NestedReader<'_>> {
        self.plain_payload().map(NestedReader::new)
    }

    /// The captured bytes of [`plain_values`](Record::plain_values), for encoders that
    /// read the tags themselves.
    #[cfg(feature = "writer")]
    #[inline]
    pub(crate) fn plain_payload(&self) -> Option<&[u8]> {
        (self.flags & (HAS_SCOPED | HAS_SPAN) == 0).then(|| self.payload.as_slice())
    }

    /// Whether scopes added fields after the call's own values.
    #[cfg(feature = "writer")]
    pub(crate) fn has_scoped_fields(&self) -> bool {
        self.flags & HAS_SCOPED != 0
    }

    /// The call's own values, the actor first when there is one, without the span context
    /// that may follow them. `None` when scopes added fields.
    #[cfg(feature = "writer")]
    pub(crate) fn own_values(&self) -> Option<NestedReader<'_>> {
        (self.flags & HAS_SCOPED == 0).then(|| NestedReader::new(self.values_bytes()))
    }

    /// The captured values, without the span context that may follow them.
    #[inline]
    fn values_bytes(&self) -> &[u8] {
        let bytes = self.payload.as_slice();
        if self.flags & HAS_SPAN == 0 {
            return bytes;
        }
        crate::span::split_trailer(bytes).map_or(&[], |(values, _)| values)
    }

    /// The context of the span the record was captured in, borrowed.
    pub(crate) fn span_ref(&self) -> Option<crate::span::SpanRef<'_>> {
        if self.flags & HAS_SPAN == 0 {
            return None;
        }
        crate::span::split_trailer(self.payload.as_slice()).map(|(_, span)| span)
    }

    /// The context of the span the record was captured in: the innermost span of its
    /// thread when it was captured.
    pub fn span(&self) -> Option<crate::SpanContext> {
        self.span_ref().map(crate::span::SpanRef::to_context)
    }

    /// The fixed-size part of the record and its payload, for the queue.
    #[cfg(feature = "writer")]
    pub(crate) fn parts(&self) -> (&'static Metadata, u64, u64, u8, &[u8]) {
        (
            self.meta,
            self.ticks,
            self.thread,
            self.flags,
            self.payload.as_slice(),
        )
    }

    /// The payload's inline array, when the payload is inline (see `Payload`).
    #[cfg(feature = "writer")]
    #[inline(always)]
    pub(crate) fn inline_array(&self) -> Option<&InlineBytes> {
        self.payload.inline_array()
    }

    /// Makes this record the one [`parts`](Record::parts) describe, with the payload lent
    /// rather than copied.
    ///
    /// # Safety
    ///
    /// As for `RecordPayload::lend`: `payload` stays valid until the record is refilled
    /// again, and the record does not leave the thread.
    #[cfg(feature = "writer")]
    #[inline(always)]
    pub(crate) unsafe fn refill_lent(
        &mut self,
        meta: &'static Metadata,
        ticks: u64,
        thread: u64,
        flags: u8,
        payload: &[u8],
    ) {
        self.meta = meta;
        self.ticks = ticks;
        self.thread = thread;
        self.flags = flags;
        // SAFETY: as the caller vouches.
        unsafe { self.payload.lend(payload) };
    }

    /// A copy of this record in which every value whose captured bytes pass `keep` is
    /// replaced by the string `…[cut N bytes]`; fields keep their names and places.
    #[cfg(feature = "writer")]
    pub(crate) fn with_values_cut(&self, keep: usize) -> Record {
        let mut cut = Record::new(self.meta, self.ticks, self.thread);
        cut.flags = self.flags;
        let bytes = self.values_bytes();
        let trailer = &self.payload.as_slice()[bytes.len()..];
        let mut payload = cut.payload_mut();
        let mut reader = NestedReader::new(bytes);
        while !reader.at_end() {
            let start = reader.pos();
            if reader.skip_scoped_start() {
                codec::start_scoped(&mut payload);
                continue;
            }
            // Damaged bytes end the values, as they end them for a sink.
            if reader.read().is_none() {
                break;
            }
            let value = &bytes[start..reader.pos()];
            if value.len() <= keep {
                payload.extend_from_slice(value);
            } else {
                codec::put_str(&mut payload, codec::cut_marker(value.len()).as_bytes());
            }
        }
        payload.extend_from_slice(trailer);
        drop(payload);
        cut
    }

    /// Makes this record the one [`parts`](Record::parts) describe, with the payload
    /// `bytes`, which it owns from now on.
    #[cfg(feature = "writer")]
    pub(crate) fn refill_owned(
        &mut self,
        meta: &'static Metadata,
        ticks: u64,
        thread: u64,
        flags: u8,
        bytes: Vec<u8>,
    ) {
        self.meta = meta;
        self.ticks = ticks;
        self.thread = thread;
        self.flags = flags;
        self.payload.own_heap(bytes);
    }

    /// The call site's static metadata.
    pub fn metadata(&self) -> &'static Metadata {
        self.meta
    }

    /// The event's level.
    pub fn level(&self) -> Level {
        self.meta.level()
    }

    /// When the event was captured, in nanoseconds since the Unix epoch (UTC).
    pub fn timestamp_nanos(&self) -> u64 {
        crate::clock::ticks_to_nanos(self.ticks)
    }

    /// When the event was captured.
    pub fn timestamp(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.timestamp_nanos())
    }

    /// The logging thread's id; [`thread_name`](crate::thread_name) gives its name.
    pub fn thread_id(&self) -> u64 {
        self.thread
    }

    /// Whether the event names an actor.
    pub fn has_actor(&self) -> bool {
        self.flags & HAS_ACTOR != 0
    }

    /// Bytes of captured values held by this record. Not public API: the capture's
    /// encoding is internal, and only this crate's tests and encoders look at its size.
    #[doc(hidden)]
    pub fn payload_len(&self) -> usize {
        self.payload.len()
    }

    /// Whether the captured values spilled to the heap.
    pub fn spilled(&self) -> bool {
        self.payload.spilled()
    }

    /// Decodes the captured values for reading.
    pub fn decode(&self) -> Decoded<'_> {
        let mut reader = NestedReader::new(self.values_bytes());
        let actor = if self.has_actor() {
            Some(reader.next().unwrap_or(ValueRef::Invalid))
        } else {
            None
        };
        let mut values = SmallVec::new();
        while !reader.at_scoped_start() {
            match reader.next() {
                Some(value) => values.push(value),
                None => break,
            }
        }
        let mut scoped = Vec::new();
        if reader.skip_scoped_start() {
            while let (Some(ValueRef::Str(name)), Some(value)) = (reader.next(), reader.next()) {
                scoped.push((name, value));
            }
        }
        Decoded {
            meta: self.meta,
            actor,
            values,
            scoped,
            damaged: reader.damaged(),
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decoded = self.decode();
        f.debug_struct("Record")
            .field("level", &self.level())
            .field("target", &self.meta.target())
            .field("timestamp", &self.timestamp_nanos())
            .field("thread", &self.thread)
            .field("actor", &decoded.actor)
            .field("values", &decoded.values)
            .finish()
    }
}

/// A record's values, decoded: the actor, the fields and the message arguments.
pub struct Decoded<'a> {
    meta: &'static Metadata,
    actor: Option<ValueRef<'a>>,
    values: SmallVec<[ValueRef<'a>; 8]>,
    /// Fields a scope added: name and value.
    scoped: Vec<(&'a str, ValueRef<'a>)>,
    damaged: bool,
}

impl<'a> Decoded<'a> {
    /// The actor, when the event names one.
    pub fn actor(&self) -> Option<ValueRef<'a>> {
        self.actor
    }

    /// The key-value fields: the call's, in its order, then those its scopes added.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, ValueRef<'a>)> + '_ {
        let names = self.meta.fields();
        (0..names.len())
            .map(move |i| {
                (
                    names[i],
                    self.values.get(i).copied().unwrap_or(ValueRef::Invalid),
                )
            })
            .chain(self.scoped.iter().copied())
    }

    /// Replaces the values of fields named in `secrets` (and the actor, if `"actor"` is
    /// among them) with `"[REDACTED]"`, messages that show them included.
    #[cfg(feature = "writer")]
    pub(crate) fn redact(&mut self, secrets: &[String]) {
        if secrets.is_empty() {
            return;
        }
        let secret = |name: &str| secrets.iter().any(|s| s == name);
        const REDACTED: ValueRef<'static> = ValueRef::Str("[REDACTED]");
        for (i, name) in self.meta.fields().iter().enumerate() {
            if secret(name)
                && let Some(value) = self.values.get_mut(i)
            {
                *value = REDACTED;
            }
        }
        for (name, value) in self.scoped.iter_mut() {
            if secret(name) {
                *value = REDACTED;
            }
        }
        if self.actor.is_some() && secret("actor") {
            self.actor = Some(REDACTED);
        }
    }

    /// Calls `f` with each field's name and value, as [`fields`](Decoded::fields) yields
    /// them, without building the pairs: the encoders' loop.
    #[cfg(feature = "writer")]
    #[inline]
    pub(crate) fn each_field(&self, mut f: impl FnMut(usize, &'a str, &ValueRef<'a>)) {
        let names = self.meta.fields();
        for (i, name) in names.iter().enumerate() {
            f(i, name, self.values.get(i).unwrap_or(&ValueRef::Invalid));
        }
        for (j, (name, value)) in self.scoped.iter().enumerate() {
            f(names.len() + j, name, value);
        }
    }

    /// The fields a scope added, which the call site's metadata does not name.
    pub fn scoped_fields(&self) -> &[(&'a str, ValueRef<'a>)] {
        &self.scoped
    }

    /// Every captured value: the fields, then the message-only arguments.
    pub fn values(&self) -> &[ValueRef<'a>] {
        &self.values
    }

    /// Whether the payload was malformed. It never is unless a bug slipped in; sinks
    /// still write what could be read, with [`ValueRef::Invalid`] in the gaps.
    pub fn is_damaged(&self) -> bool {
        self.damaged
    }

    /// The message template's pieces.
    #[cfg(feature = "writer")]
    pub(crate) fn pieces(&self) -> &'static [Piece] {
        self.meta.pieces()
    }

    /// Renders the message from the template and the captured values.
    pub fn write_message<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        write_message(self.meta.pieces(), self.actor, &self.values, out)
    }

    /// The rendered message as a new string.
    pub fn message(&self) -> String {
        let mut out = String::new();
        let _ = self.write_message(&mut out);
        out
    }
}

/// Renders a message from its template's pieces, the actor and the values (fields, then
/// message-only arguments), as [`Decoded::write_message`] does.
pub(crate) fn write_message<W: fmt::Write + ?Sized>(
    pieces: &[Piece],
    actor: Option<ValueRef<'_>>,
    values: &[ValueRef<'_>],
    out: &mut W,
) -> fmt::Result {
    for piece in pieces {
        match *piece {
            Piece::Lit(text) => out.write_str(text)?,
            Piece::Display(i) => {
                let value = values.get(usize::from(i)).copied();
                write_arg(out, value.unwrap_or(ValueRef::Invalid))?;
            }
            Piece::Actor => write_arg(out, actor.unwrap_or(ValueRef::Invalid))?,
        }
    }
    Ok(())
}

/// Renders one message argument. Strings and integers, the usual arguments, skip the
/// formatting machinery; the text is the same as `Display`'s.
fn write_arg<W: fmt::Write + ?Sized>(out: &mut W, value: ValueRef<'_>) -> fmt::Result {
    match value {
        ValueRef::Str(text) => out.write_str(text),
        #[cfg(feature = "writer")]
        ValueRef::U64(n) => out.write_str(itoa::Buffer::new().format(n)),
        #[cfg(feature = "writer")]
        ValueRef::I64(n) => out.write_str(itoa::Buffer::new().format(n)),
        other => write!(out, "{other}"),
    }
}

#[cfg(all(test, feature = "writer"))]
mod tests {
    use super::*;

    static META: Metadata =
        Metadata::for_test(Level::Info, "t", "", &["small", "large", "nested"], &[]);

    #[test]
    fn values_cut_for_the_record_limit_keep_their_places_and_the_small_ones() {
        let mut record =
            Record::with_actor_and_values(&META, 3, 4, &"ana", &[&7_u64, &"\u{1}".repeat(1000)]);
        let mut payload = record.payload_mut();
        // A sequence of two numbers, nested values counted whole.
        codec::open_seq(&mut payload);
        let _ = crate::Capture::new(&mut payload).u64(1);
        let _ = crate::Capture::new(&mut payload).u64(2);
        codec::close(&mut payload);
        // A field added by a scope, after its marker.
        codec::start_scoped(&mut payload);
        let _ = crate::Capture::new(&mut payload).str("request");
        let _ = crate::Capture::new(&mut payload).str(&"r".repeat(100));
        drop(payload);
        record.flags |= HAS_SCOPED;

        let cut = record.with_values_cut(20);
        assert_eq!((cut.ticks, cut.thread, cut.flags), (3, 4, record.flags));
        let decoded = cut.decode();
        assert_eq!(decoded.actor(), Some(ValueRef::Str("ana")));
        assert_eq!(decoded.values()[0], ValueRef::U64(7));
        assert_eq!(decoded.values()[1], ValueRef::Str("…[cut 1005 bytes]"));
        assert_eq!(decoded.values()[2].to_string(), "[1, 2]");
        assert_eq!(
            decoded.scoped_fields(),
            [("request", ValueRef::Str("…[cut 105 bytes]"))]
        );
        assert!(!decoded.is_damaged());

        let nothing_kept = record.with_values_cut(0);
        let all = nothing_kept.decode().values().to_vec();
        assert_eq!(all[0], ValueRef::Str("…[cut 9 bytes]"));
        assert_eq!(all[2], ValueRef::Str("…[cut 20 bytes]"));
    }
}
