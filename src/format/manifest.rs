//! The manifest's schema: the JSON document, `NAME.manifest.json`, that lists a stream's
//! sealed segments.
//!
//! Types and their serde mapping only; the writer keeps the file up to date
//! (`crate::manifest`) and the reader reads it back ([`crate::read::read_manifest`]),
//! both through these types, so that the two cannot disagree on a key. `docs/FORMAT.md`
//! describes the same document in prose.

use serde::{Deserialize, Serialize};

use crate::schema::SegmentSchema;

/// The version of the manifest's own layout, in [`Manifest::manifest_version`].
pub const MANIFEST_VERSION: u32 = 1;

/// The version of the record schema the segments hold (the canonical keys and types), in
/// [`SegmentEntry::schema_version`].
pub const SCHEMA_VERSION: u32 = 1;

/// The `seq` of a stream's first record.
const FIRST_SEQ: u64 = 1;

/// The name of stream `stream`'s manifest in its directory.
pub(crate) fn file_name(stream: &str) -> String {
    format!("{stream}.manifest.json")
}

/// A stream's manifest: its sealed segments, oldest first, and where its `seq` goes on.
///
/// Read one with [`read_manifest`](crate::read::read_manifest).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// The stream's name, the first part of its file names.
    pub stream: String,
    /// The layout of this document: [`MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// At least one past every `seq` the stream has listed: raised by every update, never
    /// lowered, so it survives the deletion of the segments it was read from. Absent from
    /// manifests written before it existed, which count from their segments alone.
    #[serde(default = "first_seq")]
    pub(crate) next_seq: u64,
    /// The sealed segments.
    pub segments: Vec<SegmentEntry>,
}

fn first_seq() -> u64 {
    FIRST_SEQ
}

/// One sealed segment as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SegmentEntry {
    /// The file name as it is now (with `.gz` once compressed).
    pub file: String,
    /// The segment's format, by its name (`json`, `csv`, `text`, `binary`).
    pub format: String,
    /// The record schema the segment holds: [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The first record's `seq`; `None` for a segment without records.
    pub first_seq: Option<u64>,
    /// The last record's `seq`; `None` for a segment without records.
    pub last_seq: Option<u64>,
    /// How many records the segment holds.
    pub records: u64,
    /// Length of the segment's bytes, uncompressed.
    pub bytes: u64,
    /// CRC-32 (IEEE) of the segment's bytes, uncompressed.
    pub crc32: u32,
    /// Length of the compressed file, once it is compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_bytes: Option<u64>,
    /// Set when the segment ends with an incomplete record, left by a crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn_tail: Option<TornTail>,
    /// When the segment was sealed, in RFC 3339 UTC.
    pub sealed_at: String,
    /// The value kinds of the actor and of each field key in the segment; absent for
    /// segments listed by recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<SegmentSchema>,
}

/// The incomplete record a crash left at the end of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TornTail {
    /// Where the incomplete record starts, in uncompressed bytes.
    pub offset: u64,
    /// How many bytes of it there are.
    pub bytes: u64,
}

impl SegmentEntry {
    /// The segment's file name without `.gz`: the same before and after compression.
    pub fn base(&self) -> &str {
        self.file.strip_suffix(".gz").unwrap_or(&self.file)
    }
}

impl Manifest {
    /// A manifest that lists nothing yet: the writer's start, which the reader never needs.
    #[cfg(feature = "writer")]
    pub(crate) fn empty(stream: &str) -> Manifest {
        Manifest {
            stream: stream.to_owned(),
            manifest_version: MANIFEST_VERSION,
            next_seq: FIRST_SEQ,
            segments: Vec::new(),
        }
    }

    /// The `seq` the stream's next record gets: past what the manifest has recorded as
    /// the next one and past every listed segment.
    pub fn next_seq(&self) -> u64 {
        self.last_seq()
            .map_or(FIRST_SEQ, |s| s + 1)
            .max(self.next_seq)
    }

    /// The highest `seq` in any listed segment.
    pub fn last_seq(&self) -> Option<u64> {
        self.segments.iter().filter_map(|s| s.last_seq).max()
    }

    /// The entry of the segment whose name without `.gz` is `base`.
    #[cfg(feature = "gzip")]
    pub(crate) fn find_mut(&mut self, base: &str) -> Option<&mut SegmentEntry> {
        self.segments.iter_mut().find(|s| s.base() == base)
    }
}
