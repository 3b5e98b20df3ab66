//! Compression of sealed segments, on a helper thread so that the writer never waits.
//!
//! For each sealed segment: gzip it to `.FILE.gz.tmp`, sync, rename to `FILE.gz` (so the
//! `.gz` appears whole, at once), point the manifest at it, and only then delete the
//! original. A crash at any step leaves either the original or both, never neither. The
//! temporary name starts with a dot so that no glob for the stream's segments
//! (`NAME.*.jsonl*`) ever matches a half-written file.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::manifest::{sync_dir, ManifestStore};

pub(crate) struct Compressor {
    sender: Option<Sender<PathBuf>>,
    thread: Option<JoinHandle<()>>,
}

impl Compressor {
    pub(crate) fn start(manifest: Arc<ManifestStore>) -> io::Result<Compressor> {
        let (sender, receiver) = mpsc::channel::<PathBuf>();
        let thread = std::thread::Builder::new()
            .name("trail-compress".to_owned())
            .spawn(move || {
                for path in receiver {
                    if let Err(e) = compress(&path, &manifest) {
                        eprintln!(
                            "trail: cannot compress {}: {e}; it stays uncompressed",
                            path.display()
                        );
                    }
                }
            })?;
        Ok(Compressor {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Queues a sealed segment for compression.
    pub(crate) fn submit(&self, path: PathBuf) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(path);
        }
    }

    /// Finishes the queued segments and stops the thread.
    pub(crate) fn finish(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        self.finish();
    }
}

fn gz_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
    PathBuf::from(name)
}

/// `.FILE.gz.tmp` beside `FILE`.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.gz.tmp"))
}

/// Compresses one segment. Retention may delete the segment at any point meanwhile; a
/// file found missing means exactly that, and is not an error.
fn compress(path: &Path, manifest: &ManifestStore) -> io::Result<()> {
    let tmp = temp_path(path);
    match compress_steps(path, &tmp, manifest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let _ = std::fs::remove_file(&tmp);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
        Ok(()) => Ok(()),
    }
}

fn compress_steps(path: &Path, tmp: &Path, manifest: &ManifestStore) -> io::Result<()> {
    let Some(base) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
        return Ok(());
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let source = File::open(path)?;
    let out = crate::segment::create_temp(tmp, manifest.mode())?;
    let mut encoder = GzEncoder::new(BufWriter::new(out), Compression::default());
    io::copy(&mut BufReader::new(source), &mut encoder)?;
    let mut out = encoder.finish()?;
    out.flush()?;
    out.get_ref().sync_all()?;
    drop(out);

    let done = gz_path(path);
    std::fs::rename(tmp, &done)?;
    sync_dir(dir)?;
    let compressed_bytes = std::fs::metadata(&done)?.len();
    let listed = manifest.update(|m| match m.find_mut(&base) {
        Some(entry) => {
            entry.file = format!("{base}.gz");
            entry.compressed_bytes = Some(compressed_bytes);
            true
        }
        None => false,
    })?;
    if listed {
        std::fs::remove_file(path)?;
    } else {
        // Retention dropped the segment meanwhile: drop the copy too.
        std::fs::remove_file(&done)?;
    }
    sync_dir(dir)
}
