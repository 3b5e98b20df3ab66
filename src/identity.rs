//! A stream's identity: who wrote a record, wherever the record travels.
//!
//! `seq` is unique within one stream; records shipped off the machine need more than that.
//! Each stream gets a random stream id the first time it is opened, kept in
//! `NAME.identity.json` beside the manifest, so it stays the same across restarts and
//! when the directory is moved to another machine. With it go the service and the host
//! that write the stream. `(stream id, seq)` names one record anywhere.
//!
//! The file is made once with a link that fails if it already exists, so two processes
//! opening a new stream at the same moment agree on one id; later changes of service or
//! host replace it through a temporary file and a rename, keeping the id.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a stream's records come from: its id, the service writing it and the host.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let first = trail::identity::load_or_create(dir.path(), "shop", "checkout", "web-1", 0o640)?;
/// let again = trail::identity::load_or_create(dir.path(), "shop", "checkout", "web-1", 0o640)?;
/// assert_eq!(first.stream_id, again.stream_id);
/// assert_eq!(first.stream_id.len(), 32);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamIdentity {
    /// 32 lower-case hex digits, random, made once per stream.
    pub stream_id: String,
    /// The service that writes the stream.
    pub service: String,
    /// The host the stream is written on.
    pub host: String,
}

/// The identity file of the stream `stream` in `dir`.
pub fn path(dir: &Path, stream: &str) -> PathBuf {
    dir.join(format!("{stream}.identity.json"))
}

/// Reads the stream's identity; `Ok(None)` when the stream has none yet.
pub fn load(dir: &Path, stream: &str) -> io::Result<Option<StreamIdentity>> {
    let path = path(dir, stream);
    let Some(identity) = crate::json_file::load::<StreamIdentity>(&path, "a stream identity")?
    else {
        return Ok(None);
    };
    if !valid_id(&identity.stream_id) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: stream id {:?} is not 32 hex digits",
                path.display(),
                identity.stream_id
            ),
        ));
    }
    Ok(Some(identity))
}

/// Reads the stream's identity, making one with a new random id when there is none. A
/// different `service` or `host` than the file holds is written into it; the id stays.
/// A file made here gets the permissions `mode` (Unix; `0o640` is the writer's default).
pub fn load_or_create(
    dir: &Path,
    stream: &str,
    service: &str,
    host: &str,
    mode: u32,
) -> io::Result<StreamIdentity> {
    let wanted = |stream_id: String| StreamIdentity {
        stream_id,
        service: service.to_owned(),
        host: host.to_owned(),
    };
    if let Some(found) = load(dir, stream)? {
        let wanted = wanted(found.stream_id.clone());
        if found != wanted {
            let tmp = write_temp(dir, stream, &wanted, mode)?;
            std::fs::rename(&tmp, path(dir, stream))?;
        }
        return Ok(wanted);
    }
    let made = wanted(new_id());
    let tmp = write_temp(dir, stream, &made, mode)?;
    // A link fails if the name exists: whoever made the file first decides the id.
    let linked = std::fs::hard_link(&tmp, path(dir, stream));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(made),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => load(dir, stream)?
            .ok_or_else(|| io::Error::other("the stream identity vanished while it was made")),
        Err(e) => Err(e),
    }
}

/// The host name of this machine, or `"unknown"`.
pub fn host_name() -> String {
    let name = host_name_os().unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        "unknown".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(unix)]
fn host_name_os() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for writes of its whole length, which is passed along.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(not(unix))]
fn host_name_os() -> Option<String> {
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
}

/// The name of the running program, the default service name.
pub fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 128 random bits: the standard library seeds each `RandomState` from the operating
/// system's random source, so no extra dependency is needed for an id.
fn new_id() -> String {
    let half = || {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", half(), half())
}

fn write_temp(
    dir: &Path,
    stream: &str,
    identity: &StreamIdentity,
    mode: u32,
) -> io::Result<PathBuf> {
    let tmp = dir.join(format!(
        ".{stream}.identity.{}.{}.tmp",
        std::process::id(),
        new_id()
    ));
    let mut text = serde_json::to_vec_pretty(identity).map_err(io::Error::other)?;
    text.push(b'\n');
    let mut file = crate::segment::create_temp(&tmp, mode)?;
    file.write_all(&text)?;
    file.sync_all()?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_made_once_and_kept_while_service_and_host_follow_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path(), "s", "svc", "h1", 0o640).unwrap();
        assert!(valid_id(&first.stream_id), "{first:?}");
        let moved = load_or_create(dir.path(), "s", "svc2", "h2", 0o640).unwrap();
        assert_eq!(moved.stream_id, first.stream_id);
        assert_eq!(
            (moved.service.as_str(), moved.host.as_str()),
            ("svc2", "h2")
        );
        assert_eq!(load(dir.path(), "s").unwrap(), Some(moved));
        let other = load_or_create(dir.path(), "t", "svc", "h1", 0o640).unwrap();
        assert_ne!(other.stream_id, first.stream_id);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn concurrent_creators_agree_on_one_id() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(dir.path(), "s", "svc", "h", 0o640).unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().stream_id)
                .collect()
        });
        assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    }

    #[test]
    fn a_damaged_identity_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path(), "s"), b"{\"stream_id\":\"zz\"").unwrap();
        let e = load_or_create(dir.path(), "s", "svc", "h", 0o640).unwrap_err();
        assert!(e.to_string().contains("s.identity.json"), "{e}");
        std::fs::write(
            path(dir.path(), "s"),
            br#"{"stream_id":"xyz","service":"a","host":"b"}"#,
        )
        .unwrap();
        let e = load(dir.path(), "s").unwrap_err();
        assert!(e.to_string().contains("32 hex digits"), "{e}");
    }
}
