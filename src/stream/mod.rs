//! A stream's files: opening the stream, the active segment's writes and its rotation.
//! The rest of the file layer is in rooms of its own: single-writer ownership and the
//! lock ([`ownership`]), recovery at start ([`recover`](mod@recover)), disk space
//! allocated ahead ([`allocate`]), sealing into the manifest ([`seal`](mod@seal)) and
//! retention ([`retain`]).
//!
//! The writer thread owns a [`StreamFiles`] and calls it between batches; nothing here
//! knows how records are encoded: recovery reads segments back through the reader's
//! scan (`read::scan_file`).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::manifest::ManifestStore;
use crate::retention::Retention;
use crate::rotation::Rotation;
use crate::segment::{self, FileId, Segment};
use crate::{Clock, Error, Format};

mod allocate;
mod ownership;
mod recover;
mod retain;
mod seal;

use allocate::give_back;
use ownership::{identity, lock, lock_path, no_live_writer};
use recover::{recover, remove_stale_temporaries};
pub(crate) use seal::parquet_path;
use seal::seal;
#[cfg(feature = "parquet")]
pub(crate) use seal::PARQUET_DIR;

pub(crate) use crate::segment::PathState;

/// How long the size limit and the period stop asking for a new segment after one could
/// not be created: the active segment grows past its limit meanwhile, and the attempt costs
/// at most one failed `open` per interval.
const ROTATION_RETRY: Duration = Duration::from_secs(1);

#[cfg(feature = "gzip")]
use crate::compress::Compressor;

/// Without the `gzip` feature there is never a compressor.
#[cfg(not(feature = "gzip"))]
enum Compressor {}

#[cfg(not(feature = "gzip"))]
impl Compressor {
    fn submit(&self, _path: PathBuf) {
        match *self {}
    }
    fn finish(&mut self) {
        match *self {}
    }
}

#[cfg(feature = "parquet")]
use crate::parquet::compact::Compactor;

/// Without the `parquet` feature there is never a compactor.
#[cfg(not(feature = "parquet"))]
enum Compactor {}

#[cfg(not(feature = "parquet"))]
impl Compactor {
    fn copy_segment(&self, _path: PathBuf, _schema: Option<crate::schema::SegmentSchema>) {
        match *self {}
    }
    fn finish(&mut self) {
        match *self {}
    }
}

/// What the Parquet compactor did, for [`Stats`](crate::Stats).
#[derive(Debug, Default)]
pub(crate) struct CompactionCounters {
    /// Parquet copies published.
    pub(crate) written: std::sync::atomic::AtomicU64,
    /// Segments whose copy could not be written.
    pub(crate) failed: std::sync::atomic::AtomicU64,
}

/// Everything the file layer needs to know about a stream.
pub(crate) struct StreamConfig {
    pub(crate) dir: PathBuf,
    pub(crate) name: String,
    pub(crate) format: Format,
    pub(crate) file_mode: u32,
    pub(crate) rotation: Rotation,
    pub(crate) retention: Retention,
    pub(crate) compress: bool,
    /// Whether sealed segments get a Parquet copy, and the compactor's counters.
    pub(crate) parquet: Option<Arc<CompactionCounters>>,
    /// Whether sealed segments get their schema summary in the manifest.
    pub(crate) schema_summary: bool,
    pub(crate) clock: Arc<dyn Clock>,
    /// Whether sealed segments are synced to the disk before they are listed.
    pub(crate) sync_on_seal: bool,
}

/// The segment being written.
struct ActiveSegment {
    segment: Segment,
    opened_at: u64,
    bytes: u64,
    records: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    crc: crc32fast::Hasher,
    rotate_at: Option<u64>,
    /// The file offset up to which disk space is allocated (see [`StreamFiles::reserve`]).
    reserved: u64,
    /// False once allocating ahead failed for this segment: it is not tried again.
    reserving: bool,
    /// The value kinds written to it, for the manifest.
    schema: crate::schema::SegmentSchema,
}

pub(crate) struct StreamFiles {
    config: StreamConfig,
    /// The lock file, held (`flock`) while the stream is being written.
    lock: File,
    /// The lock file's identity, to tell whether its path still leads to it.
    lock_id: Option<FileId>,
    /// False once another process was found writing the stream: from then on this writer
    /// writes nothing to it, neither segments nor the manifest.
    owned: bool,
    manifest: Arc<ManifestStore>,
    compressor: Option<Compressor>,
    compactor: Option<Compactor>,
    active: ActiveSegment,
    /// Rotations since install.
    pub(crate) rotations: u64,
    /// Segments opened since install, counting those that replace a lost one.
    generation: u64,
    /// Until when the size limit and the period do not ask for a new segment, after one
    /// could not be created.
    rotation_held: Option<Instant>,
    /// Whether the loss of the active segment's file was reported already.
    loss_noted: bool,
    /// Names of files found in place of segments this writer was writing: not the
    /// stream's, so retention leaves them alone.
    foreign: Vec<String>,
}

/// What [`StreamFiles::open`] found and did.
pub(crate) struct Opened {
    pub(crate) files: StreamFiles,
    pub(crate) next_seq: u64,
}

impl StreamFiles {
    /// Locks the stream, recovers from the previous run, applies retention and opens a
    /// new segment.
    pub(crate) fn open(config: StreamConfig) -> Result<Opened, Error> {
        let dir = config.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create log directory", &dir, e))?;
        let lock = lock(&dir, &config.name, config.file_mode)?;
        let lock_id = identity(&lock, &lock_path(&dir, &config.name));

        let manifest = match ManifestStore::load(&dir, &config.name, config.file_mode) {
            Ok(store) => store,
            Err((path, why)) => {
                eprintln!(
                    "trail: cannot read the manifest {}: {why}; rebuilding it from the segments, \
                     `seq` going on past the highest one in them",
                    path.display()
                );
                ManifestStore::empty(&dir, &config.name, config.file_mode)
            }
        };
        let manifest = Arc::new(manifest);
        let found = segment::list(&dir, &config.name)
            .map_err(|e| Error::io("list the stream directory", &dir, e))?;
        if let Err(e) = no_live_writer(&config, &manifest, &found) {
            // Taken by mistake: a lock file left for the live writer to find again would
            // look like a third writer to it.
            if lock_id
                .is_some_and(|id| id.path_state(&lock_path(&dir, &config.name)) == PathState::Ours)
            {
                let _ = std::fs::remove_file(lock_path(&dir, &config.name));
            }
            return Err(e);
        }
        // Hidden active segments a previous run left get their final names, then are
        // recovered as any active segment it left would be.
        let found = if found.iter().any(|f| f.hidden) {
            for f in found.iter().filter(|f| f.hidden) {
                segment::unhide_left(f);
            }
            segment::list(&dir, &config.name)
                .map_err(|e| Error::io("list the stream directory", &dir, e))?
        } else {
            found
        };
        recover(&config, &manifest, &found)?;
        remove_stale_temporaries(&dir, &config.name);
        let next_seq = manifest.snapshot().next_seq();

        // A new segment sorts after every existing one, even if the clock went back.
        let newest = found.iter().map(|f| f.opened_at).max();
        let active = open_segment(&config, newest)?;

        #[cfg(feature = "gzip")]
        let compressor = if config.compress {
            let compressor = crate::compress::start(Arc::clone(&manifest))
                .map_err(|e| Error::io("start the compression thread for", &dir, e))?;
            // Sealed segments a previous run did not get to compress.
            for f in &found {
                if !f.compressed && !found.iter().any(|g| g.compressed && g.base == f.base) {
                    compressor.submit(f.path.clone());
                }
            }
            Some(compressor)
        } else {
            None
        };
        #[cfg(not(feature = "gzip"))]
        let compressor: Option<Compressor> = if config.compress {
            return Err(Error::config(
                "compression needs trail's `gzip` feature, which this build does not have",
            ));
        } else {
            None
        };

        let compactor = start_compactor(&config, &manifest)?;

        let mut files = StreamFiles {
            config,
            lock,
            lock_id,
            owned: true,
            manifest,
            compressor,
            compactor,
            active,
            rotations: 0,
            generation: 0,
            rotation_held: None,
            loss_noted: false,
            foreign: Vec::new(),
        };
        files.apply_retention();
        Ok(Opened { files, next_seq })
    }

    /// The Parquet compactor's counters, when it runs.
    pub(crate) fn compaction_counters(&self) -> Option<Arc<CompactionCounters>> {
        self.config.parquet.clone()
    }

    /// The active segment's path.
    pub(crate) fn path(&self) -> &Path {
        &self.active.segment.path
    }

    /// The active segment's file, for appending.
    pub(crate) fn file(&mut self) -> &mut File {
        &mut self.active.segment.file
    }

    /// A number that changes whenever a new segment becomes the active one.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The summary of the value kinds written to the active segment.
    pub(crate) fn schema_mut(&mut self) -> &mut crate::schema::SegmentSchema {
        &mut self.active.schema
    }

    /// Bytes written to the active segment so far.
    pub(crate) fn written_bytes(&self) -> u64 {
        self.active.bytes
    }

    /// Whether the active segment's path still leads to the file being written: one
    /// `stat`, compared with the identity the file had when it was created.
    pub(crate) fn segment_path_state(&self) -> PathState {
        self.active.segment.path_state()
    }

    /// True the first time it is called after the active segment's file was found lost,
    /// so that one loss is reported and counted once, however often creating the next
    /// segment has to be tried.
    pub(crate) fn first_notice(&mut self) -> bool {
        !std::mem::replace(&mut self.loss_noted, true)
    }

    /// Whether a record of this format means the same after the header of any segment.
    /// True for the text formats; false for the binary one, whose records refer to call
    /// sites and threads defined earlier in their segment.
    pub(crate) fn records_stand_alone(&self) -> bool {
        matches!(
            self.config.format,
            Format::Json | Format::Csv | Format::Text
        )
    }

    /// Starts a new segment after the active one's file was found removed (alone or with
    /// the directory) or replaced by another file: creates the directory again if needed,
    /// opens the new segment, makes sure the stream is still this writer's (see
    /// [`StreamFiles::still_owner`]) and rewrites the manifest without the segments that
    /// are gone. The lost segment is not sealed or listed: whatever is at its path is not
    /// the stream's any more, and is never written, truncated or deleted. Returns the lost
    /// segment's file, still open, with the disk space allocated ahead of it given back
    /// (through the descriptor: the file is still this writer's, wherever it went). On
    /// error the lost segment stays the active one; when another process owns the stream
    /// now, the error says so and [`StreamFiles::owns_stream`] is false from then on.
    pub(crate) fn reopen(&mut self, lost: PathState) -> Result<File, Error> {
        let dir = &self.config.dir;
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create log directory", dir, e))?;
        let next = open_segment(&self.config, Some(self.active.opened_at))?;
        let Some(next) = self.still_owner(next) else {
            return Err(Error::config(format!(
                "stream {:?} in {} is written by another process now",
                self.config.name,
                self.config.dir.display()
            )));
        };
        let old = std::mem::replace(&mut self.active, next);
        if lost == PathState::Replaced {
            self.foreign.push(old.segment.final_name());
        }
        self.generation += 1;
        self.loss_noted = false;
        self.rotation_held = None;
        self.forget_missing(old.last_seq);
        if old.reserved > 0 {
            give_back(&old.segment.file, &old.segment.path);
        }
        Ok(old.segment.file)
    }

    /// False once another process was found to own the stream: this writer then writes
    /// nothing more to it.
    pub(crate) fn owns_stream(&self) -> bool {
        self.owned
    }

    /// Drops from the manifest the segments whose files are gone and writes it, so that a
    /// directory created again has its manifest at once. `next_seq` goes past the records
    /// of the lost segment (`last_seq`), which may still exist outside the stream.
    fn forget_missing(&mut self, last_seq: Option<u64>) {
        let Ok(found) = segment::list(&self.config.dir, &self.config.name) else {
            return;
        };
        let result = self.manifest.update(|m| {
            m.segments
                .retain(|s| found.iter().any(|f| f.base == s.base()));
            if let Some(last) = last_seq {
                m.next_seq = m.next_seq.max(last + 1);
            }
        });
        if let Err(e) = result {
            report_manifest_error(&self.manifest, &e);
        }
    }

    /// Whether the size limit and the period are not to ask for a new segment now.
    fn rotation_held(&self) -> bool {
        self.rotation_held
            .is_some_and(|until| Instant::now() < until)
    }

    /// Records that `bytes` were appended to the active segment.
    pub(crate) fn wrote(&mut self, bytes: &[u8], seqs: Option<(u64, u64)>, records: u64) {
        let a = &mut self.active;
        let first_records = a.records == 0 && records > 0;
        a.crc.update(bytes);
        a.bytes += bytes.len() as u64;
        a.records += records;
        if let Some((first, last)) = seqs {
            a.first_seq.get_or_insert(first);
            a.last_seq = Some(last);
        }
        // An empty active segment is not counted as one kept (see `Retention::select`);
        // once it holds records it is, and the oldest sealed one may have to go.
        if first_records && self.config.retention.max_segments.is_some() {
            self.apply_retention();
        }
    }

    /// Whether a record of `len` bytes, after `buffered` bytes not yet written, needs a
    /// new segment.
    pub(crate) fn overflows(&self, buffered: u64, buffered_records: bool, len: u64) -> bool {
        let a = &self.active;
        self.config
            .rotation
            .overflows(a.bytes + buffered, a.records > 0 || buffered_records, len)
            && !self.rotation_held()
    }

    /// Whether the period of the active segment is over.
    pub(crate) fn period_over(&self) -> bool {
        self.active
            .rotate_at
            .is_some_and(|at| self.config.clock.now_nanos() >= at)
            && !self.rotation_held()
    }

    /// Seals the active segment and opens the next one; true if it did. A segment
    /// without records is not sealed: its period is extended instead. When the next
    /// segment cannot be created, the active one stays, and the size limit and the period
    /// stop asking for a while ([`ROTATION_RETRY`]).
    pub(crate) fn rotate(&mut self) -> Result<bool, Error> {
        if self.active.records == 0 {
            let now = self.config.clock.now_nanos();
            self.active.rotate_at = self.config.rotation.next_boundary(now);
            return Ok(false);
        }
        let next = match open_segment(&self.config, Some(self.active.opened_at)) {
            Ok(next) => next,
            Err(e) => {
                self.rotation_held = Some(Instant::now() + ROTATION_RETRY);
                return Err(e);
            }
        };
        self.rotation_held = None;
        let Some(next) = self.still_owner(next) else {
            return Ok(false);
        };
        let sealed = std::mem::replace(&mut self.active, next);
        self.rotations += 1;
        self.generation += 1;
        seal(
            &self.config,
            &self.manifest,
            (self.compressor.as_ref(), self.compactor.as_ref()),
            sealed,
        );
        self.apply_retention();
        Ok(true)
    }

    /// Seals the active segment at shutdown; one without records is removed. Waits for
    /// the compressor to finish. A writer that gave the stream up leaves its files as
    /// they are.
    pub(crate) fn close(self) {
        let StreamFiles {
            config,
            manifest,
            mut compressor,
            mut compactor,
            active,
            owned,
            ..
        } = self;
        let on_disk = active
            .segment
            .file
            .metadata()
            .map_or(active.bytes, |m| m.len());
        if !owned {
            // Not sealed: the process that owns the stream now finds it as a crash leaves
            // it, and lists it.
        } else if active.records == 0 && on_disk == active.bytes {
            // Created for this run and holding nothing but its own header, if that: nothing
            // to keep, and a segment without records would count against the retention
            // of those with records. A file found in its place is someone else's, and stays.
            let ours = active.segment.path_state() == PathState::Ours;
            let path = active.segment.path;
            drop(active.segment.file);
            if ours {
                let _ = std::fs::remove_file(&path);
            }
        } else {
            seal(
                &config,
                &manifest,
                (compressor.as_ref(), compactor.as_ref()),
                active,
            );
        }
        if let Some(compressor) = &mut compressor {
            compressor.finish();
        }
        if let Some(compactor) = &mut compactor {
            compactor.finish();
        }
    }
}

/// The Parquet compactor, when asked for, with the copies a previous run did not make
/// queued.
fn start_compactor(
    config: &StreamConfig,
    manifest: &Arc<ManifestStore>,
) -> Result<Option<Compactor>, Error> {
    let Some(counters) = &config.parquet else {
        return Ok(None);
    };
    #[cfg(feature = "parquet")]
    {
        let compactor = crate::parquet::compact::start(
            Arc::clone(manifest),
            config.sync_on_seal,
            Arc::clone(counters),
        )
        .map_err(|e| Error::io("start the Parquet thread for", &config.dir, e))?;
        crate::parquet::compact::catch_up(&config.dir, &config.name, manifest, &compactor);
        Ok(Some(compactor))
    }
    #[cfg(not(feature = "parquet"))]
    {
        let _ = (counters, manifest);
        Err(Error::config(
            "Parquet copies need trail's `parquet` feature, which this build does not have",
        ))
    }
}

fn open_segment(config: &StreamConfig, after: Option<u64>) -> Result<ActiveSegment, Error> {
    let now = config.clock.now_nanos();
    let opened_at = match after {
        Some(prev) if prev >= now => prev + 1,
        _ => now,
    };
    let segment = segment::create(
        &config.dir,
        &config.name,
        config.format.extension(),
        config.file_mode,
        opened_at,
        config.rotation.hide_active,
    )?;
    let opened_at =
        segment::parse_name(&config.name, &segment.final_name()).map_or(opened_at, |(t, _, _)| t);
    Ok(ActiveSegment {
        segment,
        opened_at,
        bytes: 0,
        records: 0,
        first_seq: None,
        last_seq: None,
        crc: crc32fast::Hasher::new(),
        rotate_at: config.rotation.next_boundary(now),
        reserved: 0,
        reserving: true,
        schema: Default::default(),
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn report_manifest_error(manifest: &ManifestStore, e: &io::Error) {
    eprintln!(
        "trail: cannot write the manifest {}: {e}; it is brought up to date at the next start",
        manifest.path().display()
    );
}
