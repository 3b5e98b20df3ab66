//! Sealing: a finished segment, synced if asked, is listed in the manifest with its
//! `seq` range, record count, length and checksum (and a torn tail, if a write was given
//! up), then handed to the compressor and to the Parquet compactor. A hidden active
//! segment gets its final name first, so that the manifest and file sources only ever see
//! it complete.

use std::path::{Path, PathBuf};

use super::allocate::give_back;
use super::{report_manifest_error, ActiveSegment, Compactor, Compressor, StreamConfig};
use crate::format::time::rfc3339;
use crate::manifest::{ManifestStore, SegmentEntry, TornTail, SCHEMA_VERSION};
use crate::segment::PathState;

/// The subdirectory of a stream's directory that holds the Parquet copies of its sealed
/// segments: apart from the segments, so that trail's readers never read a record twice.
pub(crate) const PARQUET_DIR: &str = "parquet";

/// Where the Parquet copy of the sealed segment `base` (its name without `.gz`) goes.
pub(crate) fn parquet_path(dir: &Path, base: &str) -> PathBuf {
    dir.join(PARQUET_DIR).join(format!("{base}.parquet"))
}

/// Lists a finished segment in the manifest and hands it to the compressor and the
/// Parquet compactor.
pub(super) fn seal(
    config: &StreamConfig,
    manifest: &ManifestStore,
    (compressor, compactor): (Option<&Compressor>, Option<&Compactor>),
    mut segment: ActiveSegment,
) {
    // A segment whose file was removed or replaced meanwhile is not listed: its path is not
    // the stream's any more (the writer checks before each write, so this is rare).
    let path_state = segment.segment.path_state();
    if path_state != PathState::Ours {
        eprintln!(
            "trail: {} {}; it is not listed in the manifest {}",
            segment.segment.path.display(),
            if path_state == PathState::Gone {
                "was removed before it was sealed"
            } else {
                "was replaced by another file before it was sealed"
            },
            manifest.path().display()
        );
        return;
    }
    if segment.reserved > 0 {
        give_back(&segment.segment.file, &segment.segment.path);
    }
    // Bytes on disk beyond those accounted for are the start of a record whose write was
    // given up (a shutdown deadline on a full disk): a torn tail, listed as such.
    let on_disk = segment
        .segment
        .file
        .metadata()
        .map_or(segment.bytes, |m| m.len());
    let (bytes, crc32, torn_tail) = if on_disk > segment.bytes {
        let crc = std::fs::read(&segment.segment.path)
            .map(|all| crc32fast::hash(&all))
            .unwrap_or_else(|_| segment.crc.clone().finalize());
        let torn = TornTail {
            offset: segment.bytes,
            bytes: on_disk - segment.bytes,
        };
        (on_disk, crc, Some(torn))
    } else {
        (segment.bytes, segment.crc.finalize(), None)
    };
    let entry = SegmentEntry {
        file: segment.segment.final_name(),
        format: config.format.as_str().to_owned(),
        schema_version: SCHEMA_VERSION,
        first_seq: segment.first_seq,
        last_seq: segment.last_seq,
        records: segment.records,
        bytes,
        crc32,
        compressed_bytes: None,
        torn_tail,
        sealed_at: rfc3339(config.clock.now_nanos()),
        // Without the summary switch nothing was noted: no summary, rather than an empty one
        // that would say the segment has no fields.
        schema: config.schema_summary.then_some(segment.schema),
    };
    if config.sync_on_seal
        && let Err(e) = segment.segment.file.sync_data()
    {
        eprintln!("trail: cannot sync {}: {e}", segment.segment.path.display());
    }
    // Listed under its final name even if the rename failed: the reader finds a hidden
    // segment under that name, and the next start renames it.
    if let Err(e) = segment.segment.unhide() {
        eprintln!(
            "trail: cannot give {} its final name: {e}; it keeps its hidden name until the next start",
            segment.segment.path.display()
        );
    }
    drop(segment.segment.file);
    let summary = compactor.and_then(|_| entry.schema.clone());
    if let Err(e) = manifest.update(|m| m.segments.push(entry)) {
        report_manifest_error(manifest, &e);
    }
    // Before the compressor, which may rename the segment: the compactor follows it.
    if let Some(compactor) = compactor {
        compactor.copy_segment(segment.segment.path.clone(), summary);
    }
    if let Some(compressor) = compressor {
        compressor.submit(segment.segment.path);
    }
}
