//! The Parquet copy of each sealed segment ([`Builder::parquet`]), made on a helper thread
//! so that the writer never waits for it.
//!
//! Segment `DIR/BASE` (`BASE` is its name without `.gz`) gets `DIR/parquet/BASE.parquet`:
//! outside the directory trail's readers list, so no record is read twice, and one glob
//! (`DIR/parquet/NAME.*.parquet`) reads each record once. The file is written as
//! `DIR/parquet/.BASE.parquet.tmp`, synced when the stream syncs sealed segments, renamed
//! into place and the directory synced: a reader sees the whole file or none. A crash
//! before the rename leaves only the temporary, which the next start removes, and the next
//! start makes every listed segment's missing copy again ([`catch_up`]). Retention deletes
//! a segment's copy with the segment.
//!
//! The columns are typed by the segment's summary in the manifest, or, without one, by
//! its records (read once more). A failure is counted
//! ([`Stats::parquet_errors`](crate::Stats::parquet_errors)) and reported on stderr; the
//! segment itself is only ever read.
//!
//! [`Builder::parquet`]: crate::Builder::parquet

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::ParquetWriter;
use crate::manifest::{sync_dir, ManifestStore};
use crate::read::{ReadError, ReadErrorKind};
use crate::schema::{SegmentSchema, StreamSchema};
use crate::segment::parse_name;
use crate::stream::{parquet_path, CompactionCounters, PARQUET_DIR};
use crate::worker::Worker;

/// A sealed segment to copy, with its summary when the writer kept one.
pub(crate) struct Job {
    segment: PathBuf,
    schema: Option<SegmentSchema>,
}

/// What the helper thread needs to write and publish a copy.
struct Context {
    manifest: Arc<ManifestStore>,
    /// Whether copies are synced to the disk, as sealed segments are.
    sync: bool,
    counters: Arc<CompactionCounters>,
}

/// The Parquet thread, fed with sealed segments to copy.
pub(crate) type Compactor = Worker<Job>;

/// Starts the Parquet thread.
pub(crate) fn start(
    manifest: Arc<ManifestStore>,
    sync: bool,
    counters: Arc<CompactionCounters>,
) -> io::Result<Compactor> {
    let context = Context {
        manifest,
        sync,
        counters,
    };
    Worker::start("trail-parquet", move |job: Job| {
        match compact(&job, &context) {
            Ok(true) => {
                context.counters.written.fetch_add(1, Ordering::Relaxed);
            }
            // Retention deleted the segment first: there is nothing to copy.
            Ok(false) => {}
            Err(e) => {
                context.counters.failed.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "trail: cannot write the Parquet copy of {}: {e}; the segment is left as it \
                 is, and the copy is tried again at the next start",
                    job.segment.display()
                );
            }
        }
    })
}

impl Worker<Job> {
    /// Queues a sealed segment (its path without `.gz`) for copying.
    pub(crate) fn copy_segment(&self, segment: PathBuf, schema: Option<SegmentSchema>) {
        self.submit(Job { segment, schema });
    }
}

/// At start: removes the temporaries a crash left in `DIR/parquet`, and the copies whose
/// segment is gone (a crash in retention, or a copy placed there by hand), then queues
/// every listed segment that has no copy.
pub(crate) fn catch_up(dir: &Path, stream: &str, manifest: &ManifestStore, compactor: &Compactor) {
    let out_dir = dir.join(PARQUET_DIR);
    if let Ok(entries) = std::fs::read_dir(&out_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stale = if let Some(base) = name
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(".parquet.tmp"))
            {
                parse_name(stream, base).is_some()
            } else if let Some(base) = name.strip_suffix(".parquet") {
                parse_name(stream, base).is_some()
                    && !dir.join(base).exists()
                    && !dir.join(format!("{base}.gz")).exists()
            } else {
                false
            };
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for entry in manifest.snapshot().segments {
        if !parquet_path(dir, entry.base()).exists() {
            compactor.copy_segment(dir.join(entry.base()), entry.schema);
        }
    }
}

/// Copies one segment; false when it is gone (retention deleted it). The segment may be
/// compressed meanwhile: reading then goes on from its `.gz`.
fn compact(job: &Job, context: &Context) -> Result<bool, String> {
    let gz = {
        let mut name = job.segment.clone().into_os_string();
        name.push(".gz");
        PathBuf::from(name)
    };
    let mut last_error = None;
    for source in [&job.segment, &gz] {
        if !source.exists() {
            continue;
        }
        match compact_from(source, job, context) {
            Ok(()) => return Ok(true),
            // Renamed or deleted while it was read: try the next name it may have.
            Err(e) if !source.exists() => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    match last_error {
        Some(e) if gz.exists() => Err(e),
        _ => Ok(false),
    }
}

fn compact_from(source: &Path, job: &Job, context: &Context) -> Result<(), String> {
    let base = job
        .segment
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("a segment path without a file name")?
        .to_owned();
    let dir = job.segment.parent().unwrap_or(Path::new("."));
    let out_dir = dir.join(PARQUET_DIR);
    if !out_dir.is_dir() {
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
        if context.sync {
            sync_dir(dir).map_err(|e| format!("cannot sync {}: {e}", dir.display()))?;
        }
    }
    let tmp = out_dir.join(format!(".{base}.parquet.tmp"));
    let done = parquet_path(dir, &base);
    let written = match &job.schema {
        Some(summary) => match write_copy(source, &base, summary, &tmp, context) {
            // The summary missed a kind the records hold (it is kept per call site): the
            // records themselves give the types.
            Err(e) if e.mismatch => write_copy(source, &base, &scan(source)?, &tmp, context),
            other => other,
        },
        None => write_copy(source, &base, &scan(source)?, &tmp, context),
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.message);
    }
    std::fs::rename(&tmp, &done).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot rename {} to {}: {e}", tmp.display(), done.display())
    })?;
    if context.sync {
        sync_dir(&out_dir).map_err(|e| format!("cannot sync {}: {e}", out_dir.display()))?;
    }
    // Retention may have deleted the segment while its copy was being written. It drops
    // the segment from the manifest before it deletes the copy, so either it deleted this
    // copy after the rename, or the manifest read here no longer lists the segment.
    let listed = context
        .manifest
        .snapshot()
        .segments
        .iter()
        .any(|s| s.base() == base);
    if !listed {
        let _ = std::fs::remove_file(&done);
    }
    Ok(())
}

/// A failed copy; `mismatch` when a record did not fit the declared columns.
struct CopyError {
    message: String,
    mismatch: bool,
}

impl CopyError {
    fn other(message: String) -> CopyError {
        CopyError {
            message,
            mismatch: false,
        }
    }
}

/// The kinds a segment's records hold, read from the file.
fn scan(source: &Path) -> Result<SegmentSchema, String> {
    let mut summary = SegmentSchema::default();
    let reader = crate::read::open(source).map_err(|e| e.to_string())?;
    for record in reader {
        if let Some(record) = readable(record).map_err(|e| e.to_string())? {
            summary.add_record(&record);
        }
    }
    Ok(summary)
}

/// A record read back; `None` for a damaged one, which every reader skips (recovery
/// reported it). A failure to read the file is an error: a copy without the rest of the
/// segment's records must not be published.
fn readable(
    record: Result<crate::read::LogRecord, ReadError>,
) -> Result<Option<crate::read::LogRecord>, ReadError> {
    match record {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.kind() == ReadErrorKind::Io => Err(e),
        Err(_) => Ok(None),
    }
}

/// Writes the records of `source`, typed by `summary`, to `tmp`, synced when asked.
/// Damaged records are left out, as every reader leaves them out.
fn write_copy(
    source: &Path,
    base: &str,
    summary: &SegmentSchema,
    tmp: &Path,
    context: &Context,
) -> Result<(), CopyError> {
    let mut schema = StreamSchema::default();
    schema.merge(base, summary);
    let reader = crate::read::open(source).map_err(|e| CopyError::other(e.to_string()))?;
    let file = crate::segment::create_temp(tmp, context.manifest.mode())
        .map_err(|e| CopyError::other(format!("cannot create {}: {e}", tmp.display())))?;
    let failed = |e: &dyn std::fmt::Display| CopyError::other(format!("{}: {e}", tmp.display()));
    let mut writer = ParquetWriter::new(BufWriter::new(file), &schema).map_err(|e| failed(&e))?;
    for record in reader {
        let Some(record) = readable(record).map_err(|e| CopyError::other(e.to_string()))? else {
            continue;
        };
        writer.write(&record).map_err(|e| CopyError {
            message: format!("{}: {e}", source.display()),
            mismatch: true,
        })?;
    }
    let file: File = writer
        .finish()
        .map_err(|e| failed(&e))?
        .into_inner()
        .map_err(|e| failed(&e.into_error()))?;
    if context.sync {
        file.sync_all().map_err(|e| failed(&e))?;
    }
    Ok(())
}
