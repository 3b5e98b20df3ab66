//! The manifest: one JSON document per stream listing its sealed segments.
//!
//! `NAME.manifest.json` in the stream's directory. It is replaced, never edited in place:
//! written to a temporary file, synced, renamed over the old one, and the directory synced,
//! so a reader sees the old manifest or the new one, never half of one.
//!
//! Besides the segments, it keeps the stream's `next_seq`, which only ever goes up: it
//! outlives the segments that retention deletes, so that a stream whose every sealed
//! segment was deleted still continues its `seq` instead of starting again at 1.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub(crate) use crate::format::manifest::{Manifest, SegmentEntry, TornTail, SCHEMA_VERSION};

/// The manifest file and its in-memory state, shared by the writer and the compressor.
pub(crate) struct ManifestStore {
    path: PathBuf,
    dir: PathBuf,
    mode: u32,
    state: Mutex<Manifest>,
    /// Set once another process owns the stream: the file is then never written again.
    disowned: AtomicBool,
}

impl ManifestStore {
    pub(crate) fn path_for(dir: &Path, stream: &str) -> PathBuf {
        dir.join(crate::format::manifest::file_name(stream))
    }

    /// Loads the manifest, or starts an empty one when there is none. A manifest that
    /// cannot be read back is reported in the error, with its path.
    pub(crate) fn load(
        dir: &Path,
        stream: &str,
        mode: u32,
    ) -> Result<ManifestStore, (PathBuf, String)> {
        let path = Self::path_for(dir, stream);
        let manifest = crate::read::load_manifest(&path)
            .map_err(|(_, why, _)| (path.clone(), why))?
            .unwrap_or_else(|| Manifest::empty(stream));
        Ok(ManifestStore {
            path,
            dir: dir.to_owned(),
            mode,
            state: Mutex::new(manifest),
            disowned: AtomicBool::new(false),
        })
    }

    /// A store that starts empty (used when the old manifest is unreadable).
    pub(crate) fn empty(dir: &Path, stream: &str, mode: u32) -> ManifestStore {
        ManifestStore {
            path: Self::path_for(dir, stream),
            dir: dir.to_owned(),
            mode,
            state: Mutex::new(Manifest::empty(stream)),
            disowned: AtomicBool::new(false),
        }
    }

    /// The permission bits of the stream's files.
    #[cfg(any(feature = "gzip", feature = "parquet"))]
    pub(crate) fn mode(&self) -> u32 {
        self.mode
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Changes the manifest and replaces the file, under one lock. `next_seq` stays past
    /// every segment listed before or after the change. Fails, changing nothing, once the
    /// stream is [disowned](ManifestStore::disown).
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut Manifest) -> T) -> io::Result<T> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if self.disowned.load(Ordering::Relaxed) {
            return Err(io::Error::other(
                "the stream is written by another process now",
            ));
        }
        let before = state.next_seq();
        let out = change(&mut state);
        state.next_seq = before.max(state.next_seq());
        self.save(&state)?;
        Ok(out)
    }

    /// Stops every later [`update`](ManifestStore::update) from writing the file: another
    /// process owns the stream, and its manifest is not this one's to replace. Taken under
    /// the same lock as the updates, so that none is half done when this returns.
    pub(crate) fn disown(&self) {
        let _state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.disowned.store(true, Ordering::Relaxed);
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

/// Makes a rename or a deletion in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_MANIFEST_BYTES;

    fn entry(file: &str, last_seq: Option<u64>) -> SegmentEntry {
        SegmentEntry {
            file: file.to_owned(),
            format: "json".to_owned(),
            schema_version: SCHEMA_VERSION,
            first_seq: last_seq,
            last_seq,
            records: u64::from(last_seq.is_some()),
            bytes: 0,
            crc32: 0,
            compressed_bytes: None,
            torn_tail: None,
            sealed_at: String::new(),
            schema: None,
        }
    }

    #[test]
    fn next_seq_outlives_the_segments_it_was_read_from() {
        let dir = tempfile::tempdir().unwrap();
        // Written before `next_seq` existed: the segments alone count.
        let old = r#"{"stream": "s", "manifest_version": 1, "segments": [
            {"file": "a", "format": "json", "schema_version": 1, "first_seq": 1,
             "last_seq": 7, "records": 7, "bytes": 0, "crc32": 0, "sealed_at": ""}]}"#;
        std::fs::write(ManifestStore::path_for(dir.path(), "s"), old).unwrap();
        let store = ManifestStore::load(dir.path(), "s", 0o640).unwrap();
        assert_eq!(store.snapshot().next_seq(), 8);
        store.update(|m| m.segments.clear()).unwrap();
        assert_eq!(store.snapshot().next_seq(), 8, "kept in memory");
        let reloaded = ManifestStore::load(dir.path(), "s", 0o640).unwrap();
        assert_eq!(reloaded.snapshot().next_seq(), 8, "and in the file");
        reloaded
            .update(|m| m.segments.push(entry("b", None)))
            .unwrap();
        assert_eq!(
            reloaded.snapshot().next_seq(),
            8,
            "an empty segment changes nothing"
        );
        reloaded
            .update(|m| m.segments.push(entry("c", Some(12))))
            .unwrap();
        assert_eq!(reloaded.snapshot().next_seq(), 13);
    }

    #[test]
    fn a_disowned_store_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ManifestStore::empty(dir.path(), "s", 0o640);
        store
            .update(|m| m.segments.push(entry("a", Some(3))))
            .unwrap();
        let before = std::fs::read(store.path()).unwrap();
        store.disown();
        assert!(store.update(|m| m.segments.clear()).is_err());
        assert_eq!(std::fs::read(store.path()).unwrap(), before);
        assert_eq!(store.snapshot().segments.len(), 1, "nor changes its state");
    }

    #[test]
    fn a_manifest_past_the_limit_is_refused_without_reading_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = ManifestStore::path_for(dir.path(), "app");
        // Sparse: the zeros past the limit are never read.
        std::fs::File::create(&path)
            .unwrap()
            .set_len(MAX_MANIFEST_BYTES * 16)
            .unwrap();
        match ManifestStore::load(dir.path(), "app", 0o640) {
            Ok(_) => panic!("a manifest past the limit is refused"),
            Err((p, why)) => {
                assert_eq!(p, path);
                assert!(why.contains("larger than the limit"), "{why}");
            }
        }
    }
}
