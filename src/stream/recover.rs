//! Recovery at start: the manifest is brought in line with the segment files a previous
//! run left (a crash among them), without reading any segment whole into memory. A file
//! that cannot be read back is reported and left alone; the writer starts anyway.

use std::path::Path;

use super::allocate::give_back_after_crash;
use super::{file_name, StreamConfig};
use crate::format::time::rfc3339;
use crate::manifest::{ManifestStore, SegmentEntry, TornTail, SCHEMA_VERSION};
use crate::segment::{self, Found};
use crate::{Error, Format};

/// Brings the manifest in line with the files: segments missing from it (left by a
/// crash, or sealed just before one) are read back and listed, a torn final record is
/// noted, and entries whose files are gone are dropped.
pub(super) fn recover(
    config: &StreamConfig,
    manifest: &ManifestStore,
    found: &[Found],
) -> Result<(), Error> {
    let listed = manifest.snapshot();
    let mut missing = Vec::new();
    for f in found {
        if listed.segments.iter().any(|s| s.base() == f.base)
            || missing.iter().any(|e: &SegmentEntry| e.base() == f.base)
        {
            continue;
        }
        let Some(format) = Format::from_extension(f.extension) else {
            continue;
        };
        if !f.compressed {
            give_back_after_crash(f);
        }
        // A segment that cannot be read back (unreadable, a truncated or hostile `.gz`) is
        // not what the writer left: it is reported and left as it is, and the writer starts.
        let scan = match crate::read::scan_file(format, &f.path, f.compressed) {
            Ok(scan) => scan,
            Err(e) => {
                eprintln!(
                    "trail: cannot read back {}: {e}; it is left as it is and not listed in the manifest {}",
                    f.path.display(),
                    manifest.path().display()
                );
                continue;
            }
        };
        if scan.last_seq == Some(u64::MAX) {
            eprintln!(
                "trail: {} holds seq {}, after which no seq can follow; it is left as it is and \
                 not listed in the manifest {}",
                f.path.display(),
                u64::MAX,
                manifest.path().display()
            );
            continue;
        }
        if let Some((offset, detail)) = &scan.first_damage {
            eprintln!(
                "trail: {} holds {} damaged record(s), the first at byte {offset}: {detail}; \
                 it is left as it is and listed with the records that can be read",
                f.path.display(),
                scan.damaged,
            );
        }
        let torn = scan.torn.map(|(offset, bytes)| TornTail { offset, bytes });
        if let Some(torn) = torn {
            eprintln!(
                "trail: {} ends with an incomplete record at offset {} ({} bytes), left by a crash; \
                 the segment is sealed as it is and writing continues in a new segment",
                f.path.display(),
                torn.offset,
                torn.bytes
            );
        }
        missing.push(SegmentEntry {
            file: if f.hidden {
                f.base.clone()
            } else {
                file_name(&f.path)
            },
            format: format.as_str().to_owned(),
            schema_version: SCHEMA_VERSION,
            first_seq: scan.first_seq,
            last_seq: scan.last_seq,
            records: scan.records,
            bytes: scan.bytes,
            crc32: scan.crc32,
            compressed_bytes: f
                .compressed
                .then(|| std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0)),
            torn_tail: torn,
            sealed_at: rfc3339(config.clock.now_nanos()),
            // Not read back here: `trail schema` reads such a segment's records.
            schema: None,
        });
    }
    let present = |s: &SegmentEntry| found.iter().any(|f| f.base == s.base());
    let stale = listed.segments.iter().any(|s| !present(s));
    if missing.is_empty() && !stale && manifest.path().exists() {
        return Ok(());
    }
    manifest
        .update(|m| {
            m.segments.retain(present);
            m.segments.extend(missing);
            m.segments.sort_by(|a, b| a.base().cmp(b.base()));
        })
        .map_err(|e| Error::io("write the manifest", manifest.path(), e))
}

/// Removes `.SEGMENT.gz.tmp` files a crash left behind in the middle of a compression
/// (the original segment is still there and is compressed again).
pub(super) fn remove_stale_temporaries(dir: &Path, stream: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let segment = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".gz.tmp"));
        if segment.is_some_and(|s| segment::parse_name(stream, s).is_some()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
