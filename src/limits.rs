//! The limits that the writer and the reader share, named once.
//!
//! Whatever the writer can write, the reader and recovery at start can read back: a
//! record is never longer than [`MAX_RECORD_BYTES`] in any format, and values never nest
//! deeper than [`MAX_DEPTH`]. The reader rejects (and reports) anything past these limits
//! without allocating for it, so a crafted file cannot exhaust memory or the stack.

/// The longest record, in bytes, that the writer writes and that the reader accepts by
/// default (16 MiB): one JSON line, CSV row, text line or binary frame.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// How deep values may nest (a sequence in a map in a sequence ...). The writer cuts
/// deeper values with a marker; the reader reports a record that nests deeper as damaged.
pub const MAX_DEPTH: usize = 64;

/// The largest manifest, in bytes, that the writer at start and the reader
/// (`read_manifest`, `verify`) read (64 MiB, some 250,000 segments). A larger one is
/// reported as unreadable instead of being parsed into memory; the writer then rebuilds it
/// from the segments.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;
