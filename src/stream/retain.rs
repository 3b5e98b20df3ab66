//! Retention applied: the sealed segments that the rules of [`Retention`] no longer
//! keep are deleted, with their compressed and Parquet copies, and dropped from the
//! manifest.
//!
//! [`Retention`]: crate::retention::Retention

use std::io;

use super::{parquet_path, report_manifest_error, StreamFiles};
use crate::segment::{self, Found};

impl StreamFiles {
    /// Deletes the sealed segments that the retention rules no longer keep.
    pub(super) fn apply_retention(&mut self) {
        let retention = self.config.retention;
        if retention.is_unlimited() {
            return;
        }
        let Ok(found) = segment::list(&self.config.dir, &self.config.name) else {
            return;
        };
        let active_base = self.active.segment.final_name();
        // One entry per segment (a segment caught mid-compression has two files), with
        // the active segment last.
        let mut segments: Vec<(Found, u64)> = Vec::new();
        for f in found
            .into_iter()
            .filter(|f| f.base != active_base && !self.foreign.contains(&f.base))
        {
            let len = std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
            match segments.last_mut() {
                Some((last, last_len)) if last.base == f.base => *last_len += len,
                _ => segments.push((f, len)),
            }
        }
        segments.push((
            Found {
                path: self.active.segment.path.clone(),
                base: active_base,
                opened_at: self.active.opened_at,
                extension: self.config.format.extension(),
                compressed: false,
                hidden: false,
            },
            self.active.bytes,
        ));
        let doomed: Vec<Found> = retention
            .select(
                &segments,
                self.active.records == 0,
                self.config.clock.now_nanos(),
            )
            .into_iter()
            .cloned()
            .collect();
        if doomed.is_empty() {
            return;
        }
        // The manifest first: a Parquet copy published from here on sees its segment
        // unlisted and removes itself, and one published before is deleted below, so no
        // copy outlives its segment (a crash between the two leaves the segments on disk,
        // and the next start lists them again, copies and all).
        let result = self.manifest.update(|m| {
            m.segments
                .retain(|s| !doomed.iter().any(|f| f.base == s.base()));
        });
        if let Err(e) = result {
            report_manifest_error(&self.manifest, &e);
        }
        for f in &doomed {
            for path in [
                parquet_path(&self.config.dir, &f.base),
                f.path.clone(),
                self.config.dir.join(format!("{}.gz", f.base)),
                self.config.dir.join(&f.base),
            ] {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => eprintln!("trail: retention cannot delete {}: {e}", path.display()),
                }
            }
        }
    }
}
