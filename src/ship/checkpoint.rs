//! The shipper's durable checkpoint: where in the local files the last acknowledged
//! record ends.
//!
//! It only saves reading: the server's last record for the stream id decides what is
//! shipped next, so a checkpoint that lags (the shipper was killed before saving it)
//! costs a re-read, never a duplicate. It is replaced through a temporary file and a
//! rename, so a crash leaves the old checkpoint or the new one.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::read::Checkpoint;

#[derive(Serialize, Deserialize)]
struct Stored {
    stream_id: String,
    segment: String,
    offset: u64,
    seq: u64,
}

/// The checkpoint file of a stream shipped into the JetStream stream `destination`.
pub(crate) fn default_path(dir: &Path, stream: &str, destination: &str) -> PathBuf {
    dir.join(format!("{stream}.ship-{destination}.json"))
}

/// Reads a checkpoint; `Ok(None)` when there is none or it belongs to another stream id.
pub(crate) fn load(path: &Path, stream_id: &str) -> io::Result<Option<Checkpoint>> {
    let Some(stored) = crate::json_file::load::<Stored>(path, "a shipping checkpoint")? else {
        return Ok(None);
    };
    if stored.stream_id != stream_id {
        return Ok(None);
    }
    Ok(Some(Checkpoint {
        segment: stored.segment,
        offset: stored.offset,
        seq: stored.seq,
    }))
}

/// Replaces the checkpoint file atomically.
pub(crate) fn save(path: &Path, stream_id: &str, checkpoint: &Checkpoint) -> io::Result<()> {
    let stored = Stored {
        stream_id: stream_id.to_owned(),
        segment: checkpoint.segment.clone(),
        offset: checkpoint.offset,
        seq: checkpoint.seq,
    };
    let mut text = serde_json::to_vec(&stored).map_err(io::Error::other)?;
    text.push(b'\n');
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut file = crate::segment::create_temp(&tmp, 0o640)?;
    file.write_all(&text)?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_checkpoint_loads_back_for_its_stream_id_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = default_path(dir.path(), "app", "TRAIL");
        assert_eq!(load(&path, "a").unwrap(), None);
        let cp = Checkpoint {
            segment: "app.1.jsonl".into(),
            offset: 120,
            seq: 7,
        };
        save(&path, "a", &cp).unwrap();
        assert_eq!(load(&path, "a").unwrap(), Some(cp));
        assert_eq!(load(&path, "b").unwrap(), None);
        std::fs::write(&path, b"{").unwrap();
        let e = load(&path, "a").unwrap_err();
        assert!(e.to_string().contains("app.ship-TRAIL.json"), "{e}");
    }
}
