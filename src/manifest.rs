//! The manifest: one JSON document per stream listing its sealed segments.
//!
//! `NAME.manifest.json` in the stream's directory. It is replaced, never edited in place:
//! written to a temporary file, synced, renamed over the old one, and the directory synced,
//! so a reader sees the old manifest or the new one, never half of one.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The version of the manifest's own layout.
pub(crate) const MANIFEST_VERSION: u32 = 1;

/// The version of the record schema the segments hold (the canonical keys and types).
pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) stream: String,
    pub(crate) manifest_version: u32,
    pub(crate) segments: Vec<SegmentEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SegmentEntry {
    /// The file name as it is now (with `.gz` once compressed).
    pub(crate) file: String,
    pub(crate) format: String,
    pub(crate) schema_version: u32,
    /// `null` for a segment without records.
    pub(crate) first_seq: Option<u64>,
    pub(crate) last_seq: Option<u64>,
    pub(crate) records: u64,
    /// Length of the segment's bytes, uncompressed.
    pub(crate) bytes: u64,
    /// CRC-32 (IEEE) of the segment's bytes, uncompressed.
    pub(crate) crc32: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) compressed_bytes: Option<u64>,
    /// Set when the segment ends with an incomplete record, left by a crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) torn_tail: Option<TornTail>,
    pub(crate) sealed_at: String,
    /// The value kinds of the actor and of each field key in the segment; absent for
    /// segments listed by recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<crate::schema::SegmentSchema>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TornTail {
    /// Where the incomplete record starts.
    pub(crate) offset: u64,
    /// How many bytes of it there are.
    pub(crate) bytes: u64,
}

impl SegmentEntry {
    /// The file name without `.gz`.
    pub(crate) fn base(&self) -> &str {
        self.file.strip_suffix(".gz").unwrap_or(&self.file)
    }
}

/// The manifest file and its in-memory state, shared by the writer and the compressor.
pub(crate) struct ManifestStore {
    path: PathBuf,
    dir: PathBuf,
    mode: u32,
    state: Mutex<Manifest>,
}

impl ManifestStore {
    pub(crate) fn path_for(dir: &Path, stream: &str) -> PathBuf {
        dir.join(format!("{stream}.manifest.json"))
    }

    /// Loads the manifest, or starts an empty one when there is none. A manifest that
    /// cannot be read back is reported in the error, with its path.
    pub(crate) fn load(
        dir: &Path,
        stream: &str,
        mode: u32,
    ) -> Result<ManifestStore, (PathBuf, String)> {
        let path = Self::path_for(dir, stream);
        let manifest = match File::open(&path) {
            Ok(mut file) => {
                let mut text = String::new();
                file.read_to_string(&mut text)
                    .map_err(|e| (path.clone(), e.to_string()))?;
                serde_json::from_str(&text).map_err(|e| (path.clone(), e.to_string()))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Manifest::empty(stream),
            Err(e) => return Err((path, e.to_string())),
        };
        Ok(ManifestStore {
            path,
            dir: dir.to_owned(),
            mode,
            state: Mutex::new(manifest),
        })
    }

    /// A store that starts empty (used when the old manifest is unreadable).
    pub(crate) fn empty(dir: &Path, stream: &str, mode: u32) -> ManifestStore {
        ManifestStore {
            path: Self::path_for(dir, stream),
            dir: dir.to_owned(),
            mode,
            state: Mutex::new(Manifest::empty(stream)),
        }
    }

    /// The permission bits of the stream's files.
    #[cfg(feature = "gzip")]
    pub(crate) fn mode(&self) -> u32 {
        self.mode
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Changes the manifest and replaces the file, under one lock.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut Manifest) -> T) -> io::Result<T> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let out = change(&mut state);
        self.save(&state)?;
        Ok(out)
    }

    /// A copy of the current state.
    pub(crate) fn snapshot(&self) -> Manifest {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn save(&self, manifest: &Manifest) -> io::Result<()> {
        let mut text = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
        text.push(b'\n');
        let tmp = self.path.with_extension("json.tmp");
        let mut file = crate::segment::create_temp(&tmp, self.mode)?;
        file.write_all(&text)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &self.path)?;
        sync_dir(&self.dir)
    }
}

impl Manifest {
    fn empty(stream: &str) -> Manifest {
        Manifest {
            stream: stream.to_owned(),
            manifest_version: MANIFEST_VERSION,
            segments: Vec::new(),
        }
    }

    /// The highest `seq` in any listed segment.
    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.segments.iter().filter_map(|s| s.last_seq).max()
    }

    #[cfg(feature = "gzip")]
    pub(crate) fn find_mut(&mut self, base: &str) -> Option<&mut SegmentEntry> {
        self.segments.iter_mut().find(|s| s.base() == base)
    }
}

/// Makes a rename or a deletion in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
