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
use std::sync::Arc;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::manifest::{sync_dir, ManifestStore};
use crate::worker::Worker;

/// The compression thread, fed with the paths of sealed segments.
pub(crate) type Compressor = Worker<PathBuf>;

/// Starts the compression thread.
pub(crate) fn start(manifest: Arc<ManifestStore>) -> io::Result<Compressor> {
    Worker::start("trail-compress", move |path: PathBuf| {
        if let Err(e) = compress(&path, &manifest) {
            eprintln!(
                "trail: cannot compress {}: {e}; it stays uncompressed",
                path.display()
            );
        }
    })
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
