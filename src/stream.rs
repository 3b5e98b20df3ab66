//! A stream's files: the lock, recovery after a restart, the active segment, sealing,
//! rotation, retention, compression and the manifest.
//!
//! The writer thread owns a [`StreamFiles`] and calls it between batches; nothing here
//! knows how records are encoded beyond [`Format::scan`], which reads a segment back.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::format::time::rfc3339;
use crate::manifest::{ManifestStore, SegmentEntry, TornTail, SCHEMA_VERSION};
use crate::retention::Retention;
use crate::rotation::Rotation;
use crate::segment::{self, FileId, Found, Segment};
use crate::{Clock, Error, Format};

pub(crate) use crate::segment::Whereabouts;

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

/// Everything the file layer needs to know about a stream.
pub(crate) struct StreamConfig {
    pub(crate) dir: PathBuf,
    pub(crate) name: String,
    pub(crate) format: Format,
    pub(crate) file_mode: u32,
    pub(crate) rotation: Rotation,
    pub(crate) retention: Retention,
    pub(crate) compress: bool,
    /// Whether sealed segments get their schema summary in the manifest.
    pub(crate) schema_summary: bool,
    pub(crate) clock: Arc<dyn Clock>,
    /// Whether sealed segments are synced to the disk before they are listed.
    pub(crate) sync_on_seal: bool,
}

/// The segment being written.
struct Active {
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
    active: Active,
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
            if lock_id.is_some_and(|id| {
                id.whereabouts(&lock_path(&dir, &config.name)) == Whereabouts::Here
            }) {
                let _ = std::fs::remove_file(lock_path(&dir, &config.name));
            }
            return Err(e);
        }
        recover(&config, &manifest, &found)?;
        remove_stale_temporaries(&dir, &config.name);
        let next_seq = manifest.snapshot().next_seq();

        // A new segment sorts after every existing one, even if the clock went back.
        let newest = found.iter().map(|f| f.opened_at).max();
        let active = open_segment(&config, newest)?;

        #[cfg(feature = "gzip")]
        let compressor = if config.compress {
            let compressor = Compressor::start(Arc::clone(&manifest))
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

        let mut files = StreamFiles {
            config,
            lock,
            lock_id,
            owned: true,
            manifest,
            compressor,
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

    /// The active segment's path.
    pub(crate) fn path(&self) -> &Path {
        &self.active.segment.path
    }

    /// The active segment's file, for appending.
    pub(crate) fn file(&mut self) -> &mut File {
        &mut self.active.segment.file
    }

    /// Makes sure the disk space for the next `len` bytes of the active segment is
    /// allocated, allocating [`RESERVE_AHEAD`] bytes at a time (never past the size
    /// limit) without changing the file's length. Appending into allocated space costs the
    /// kernel less than appending past it, which allocates block by block. The space not
    /// used is given back when the segment is sealed. Best effort: where the file system
    /// cannot allocate ahead, or the disk is full, the writes go on as they would without,
    /// and report their own errors.
    pub(crate) fn reserve(&mut self, len: usize) {
        let a = &mut self.active;
        let end = a.bytes + len as u64;
        if !a.reserving || end <= a.reserved {
            return;
        }
        let mut upto = end.max(a.bytes + RESERVE_AHEAD);
        if let Some(max) = self.config.rotation.max_bytes {
            upto = upto.min(max.max(end));
        }
        let from = a.reserved.max(a.bytes);
        match allocate(&a.segment.file, from, upto - from) {
            Ok(()) => a.reserved = upto,
            Err(e) => {
                a.reserving = false;
                // A full disk may have granted part of it: that part goes back at once, for
                // the other programs on the disk.
                if e.kind() == io::ErrorKind::StorageFull {
                    give_back(&a.segment.file, &a.segment.path);
                }
            }
        }
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
    pub(crate) fn check(&self) -> Whereabouts {
        self.active.segment.whereabouts()
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
    pub(crate) fn reopen(&mut self, lost: Whereabouts) -> Result<File, Error> {
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
        if lost == Whereabouts::Replaced {
            self.foreign.push(file_name(&old.segment.path));
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

    /// Gives `next` back if the stream is still this writer's, checked when it has just
    /// created (and locked) `next` and has written nothing to it yet. The lock file's path
    /// must still lead to the file this writer holds. If the lock file is gone, it is made
    /// again (`create_new`, so that no other process can make it at the same moment) and
    /// held. If another file is there, another process came to own the stream while the
    /// lock file was missing: this writer then gives the stream up (see
    /// [`StreamFiles::disown`]) and removes `next`.
    ///
    /// With the lock this writer holds on its active segment (which a process that starts
    /// checks, see [`no_live_writer`]), this leaves no moment where two processes write one
    /// stream: a newcomer that took the lock file before this check makes it fail before
    /// `next` gets a byte, and one that takes it after finds `next` held.
    fn still_owner(&mut self, next: Active) -> Option<Active> {
        let dir = &self.config.dir;
        let path = lock_path(dir, &self.config.name);
        let whereabouts = self
            .lock_id
            .map_or(Whereabouts::Here, |id| id.whereabouts(&path));
        let owner = match whereabouts {
            Whereabouts::Here => true,
            Whereabouts::Replaced => false,
            Whereabouts::Gone => match lock_new(&path, self.config.file_mode) {
                Ok(Some(file)) => {
                    self.lock_id = identity(&file, &path);
                    self.lock = file;
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    // Its segments' locks still keep other processes out.
                    eprintln!(
                        "trail: cannot make the lock file {} again: {e}",
                        path.display()
                    );
                    true
                }
            },
        };
        if owner {
            return Some(next);
        }
        let ours = next.segment.whereabouts() == Whereabouts::Here;
        drop(next.segment.file);
        if ours {
            let _ = std::fs::remove_file(&next.segment.path);
        }
        self.disown();
        None
    }

    /// Gives the stream up to the process that owns it now: nothing more is written to it,
    /// the manifest included, and it is said on stderr, once.
    fn disown(&mut self) {
        self.owned = false;
        self.manifest.disown();
        eprintln!(
            "trail: stream {:?} in {} is written by another process now (its lock file {} was \
             removed and taken); this writer stops writing to it, and what is logged from now \
             on is counted as abandoned",
            self.config.name,
            self.config.dir.display(),
            lock_path(&self.config.dir, &self.config.name).display()
        );
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
            self.compressor.as_ref(),
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
            let ours = active.segment.whereabouts() == Whereabouts::Here;
            let path = active.segment.path;
            drop(active.segment.file);
            if ours {
                let _ = std::fs::remove_file(&path);
            }
        } else {
            seal(&config, &manifest, compressor.as_ref(), active);
        }
        if let Some(compressor) = &mut compressor {
            compressor.finish();
        }
    }

    /// Deletes the sealed segments that the retention rules no longer keep.
    fn apply_retention(&mut self) {
        let retention = self.config.retention;
        if retention.is_unlimited() {
            return;
        }
        let Ok(found) = segment::list(&self.config.dir, &self.config.name) else {
            return;
        };
        let active_base = file_name(&self.active.segment.path);
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
        for f in &doomed {
            for path in [
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
        let result = self.manifest.update(|m| {
            m.segments
                .retain(|s| !doomed.iter().any(|f| f.base == s.base()));
        });
        if let Err(e) = result {
            report_manifest_error(&self.manifest, &e);
        }
    }
}

/// Lists a finished segment in the manifest and hands it to the compressor.
fn seal(
    config: &StreamConfig,
    manifest: &ManifestStore,
    compressor: Option<&Compressor>,
    segment: Active,
) {
    // A segment whose file was removed or replaced meanwhile is not listed: its path is not
    // the stream's any more (the writer checks before each write, so this is rare).
    let whereabouts = segment.segment.whereabouts();
    if whereabouts != Whereabouts::Here {
        eprintln!(
            "trail: {} {}; it is not listed in the manifest {}",
            segment.segment.path.display(),
            if whereabouts == Whereabouts::Gone {
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
        file: file_name(&segment.segment.path),
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
    if config.sync_on_seal {
        if let Err(e) = segment.segment.file.sync_data() {
            eprintln!("trail: cannot sync {}: {e}", segment.segment.path.display());
        }
    }
    drop(segment.segment.file);
    if let Err(e) = manifest.update(|m| m.segments.push(entry)) {
        report_manifest_error(manifest, &e);
    }
    if let Some(compressor) = compressor {
        compressor.submit(segment.segment.path);
    }
}

/// Takes the stream's advisory lock, so that two processes never write one stream.
fn lock(dir: &Path, name: &str, mode: u32) -> Result<File, Error> {
    let path = lock_path(dir, name);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    let file = lock_options(&mut options, mode)
        .open(&path)
        .map_err(|e| Error::io("open the lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::config(format!(
            "stream {name:?} in {} is already being written by another process (lock {} is held)",
            dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

/// Makes the lock file again at `path`, where it was found missing, and takes its lock.
/// `None` if another process made one there first.
fn lock_new(path: &Path, mode: u32) -> io::Result<Option<File>> {
    let mut options = std::fs::OpenOptions::new();
    options.create_new(true).write(true);
    let file = match lock_options(&mut options, mode).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// How the lock file is opened: with the stream's mode and, on Windows, shared for reading
/// and writing but not for deletion, so that it cannot be removed or renamed while held.
fn lock_options(options: &mut std::fs::OpenOptions, mode: u32) -> &mut std::fs::OpenOptions {
    #[cfg(windows)]
    {
        // FILE_SHARE_READ | FILE_SHARE_WRITE, without FILE_SHARE_DELETE.
        std::os::windows::fs::OpenOptionsExt::share_mode(options, 0x1 | 0x2);
    }
    segment::with_mode(options, mode)
}

/// The identity of the file just opened at `path`, if the platform can tell it (see
/// `segment::create` for why both sides must agree).
fn identity(file: &File, path: &Path) -> Option<FileId> {
    FileId::of(file).filter(|id| id.whereabouts(path) == Whereabouts::Here)
}

fn lock_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.lock"))
}

/// Fails if another process is writing the stream although its lock file did not say so
/// (it was removed, or replaced, under that process): a writer holds a lock on its
/// active segment as well, and a segment the manifest does not list as sealed is one that
/// a writer may still hold. A lock that cannot be tested tells nothing.
fn no_live_writer(
    config: &StreamConfig,
    manifest: &ManifestStore,
    found: &[Found],
) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let listed = manifest.snapshot();
        let unsealed = found
            .iter()
            .filter(|f| !f.compressed && !listed.segments.iter().any(|s| s.base() == f.base));
        for f in unsealed {
            // Opening anything but a plain file (a FIFO) could wait forever.
            if !std::fs::symlink_metadata(&f.path).is_ok_and(|m| m.is_file()) {
                continue;
            }
            let Ok(file) = File::open(&f.path) else {
                continue;
            };
            if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
                return Err(Error::config(format!(
                    "stream {:?} in {} is already being written by another process \
                     (it holds its segment {}; the lock file {} was removed or replaced)",
                    config.name,
                    config.dir.display(),
                    f.path.display(),
                    lock_path(&config.dir, &config.name).display()
                )));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (config, manifest, found);
    Ok(())
}

/// Brings the manifest in line with the files: segments missing from it (left by a
/// crash, or sealed just before one) are read back and listed, a torn final record is
/// noted, and entries whose files are gone are dropped.
fn recover(config: &StreamConfig, manifest: &ManifestStore, found: &[Found]) -> Result<(), Error> {
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
            file: file_name(&f.path),
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
fn remove_stale_temporaries(dir: &Path, stream: &str) {
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

fn open_segment(config: &StreamConfig, after: Option<u64>) -> Result<Active, Error> {
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
    )?;
    let opened_at = segment::parse_name(&config.name, &file_name(&segment.path))
        .map_or(opened_at, |(t, _, _)| t);
    Ok(Active {
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

/// How far ahead of the bytes written the active segment's disk space is allocated.
const RESERVE_AHEAD: u64 = 8 << 20;

/// Allocates `len` bytes of disk space for `file` from `offset`, keeping its length.
#[cfg(target_os = "linux")]
fn allocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Err(io::ErrorKind::InvalidInput.into());
    };
    // SAFETY: a plain system call on a descriptor that `file` keeps open.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere the space is allocated as the bytes come.
#[cfg(not(target_os = "linux"))]
fn allocate(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Gives back the disk space allocated past the end of `file`, at `path`: truncating a
/// file to its own length frees the blocks beyond it.
fn give_back(file: &File, path: &Path) {
    let result = file.metadata().and_then(|m| file.set_len(m.len()));
    if let Err(e) = result {
        eprintln!(
            "trail: cannot give back the disk space allocated ahead for {}: {e}",
            path.display()
        );
    }
}

/// Gives back the space that a writer which stopped without sealing (a crash) left
/// allocated past the end of the segment it was writing. Segments without such space
/// are left as they are.
#[cfg(unix)]
fn give_back_after_crash(f: &Found) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(&f.path) else {
        return;
    };
    // File systems allocate whole blocks, and a few more for their own bookkeeping: only
    // space well past the end is a reservation.
    if meta.blocks() * 512 <= meta.len() + (1 << 20) {
        return;
    }
    match std::fs::OpenOptions::new().append(true).open(&f.path) {
        Ok(file) => give_back(&file, &f.path),
        Err(e) => eprintln!(
            "trail: cannot give back the disk space allocated ahead for {}: {e}",
            f.path.display()
        ),
    }
}

#[cfg(not(unix))]
fn give_back_after_crash(_f: &Found) {}

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
