//! Standard output and standard error as outputs: whole records handed to the operating
//! system in chunks that end on a record's end, so that a pipe's reader, or another
//! process sharing the descriptor, never finds a record cut by one of our writes ending
//! early. A short write is finished at once; a closed pipe (`EPIPE`) is counted, said once
//! on standard error, and the stream is left alone from then on while the other outputs
//! go on. Only the writer thread writes here, so callers never wait for a terminal or a
//! slow pipe beyond what the queue's [`Policy`](crate::Policy) says.
//!
//! The console of [`Builder::console`](crate::Builder::console) is standard error with
//! the text format; levels are coloured by the text encoder itself when the stream is a
//! terminal (or colour is forced), never in files.

use std::io;

/// The most bytes one write call hands over, unless a single record is larger: enough to
/// amortise the call, small enough that a pipe's reader sees records soon.
const CHUNK: usize = 64 * 1024;

/// Which of the process's standard streams an output writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StdStream {
    Stdout,
    Stderr,
}

impl StdStream {
    fn name(self) -> &'static str {
        match self {
            StdStream::Stdout => "standard output",
            StdStream::Stderr => "standard error",
        }
    }

    /// Whether the stream is a terminal.
    pub(crate) fn is_terminal(self) -> bool {
        use std::io::IsTerminal;
        match self {
            StdStream::Stdout => io::stdout().is_terminal(),
            StdStream::Stderr => io::stderr().is_terminal(),
        }
    }

    /// One write call: as many bytes of `bytes` as the system takes.
    #[cfg(unix)]
    fn write(self, bytes: &[u8]) -> io::Result<usize> {
        let fd = match self {
            StdStream::Stdout => libc::STDOUT_FILENO,
            StdStream::Stderr => libc::STDERR_FILENO,
        };
        // Straight to the descriptor: `io::Stdout`'s line buffer could cut a record in
        // two writes, and its lock would make the writer wait on the program's prints.
        // SAFETY: the pointer and length describe a live, initialised slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// One write call, through the standard library's handle (which writes the whole
    /// chunk before its flush returns).
    #[cfg(not(unix))]
    fn write(self, bytes: &[u8]) -> io::Result<usize> {
        use std::io::Write;
        match self {
            StdStream::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()?;
            }
            StdStream::Stderr => io::stderr().lock().write_all(bytes)?,
        }
        Ok(bytes.len())
    }
}

/// Makes a write to a closed pipe on the calling thread (the writer's) fail with `EPIPE`
/// instead of raising `SIGPIPE`, whose default action ends the process: Rust programs
/// ignore the signal, but a host that restored it (or a program not started by Rust's
/// runtime) would otherwise die of its log reader going away. `SIGPIPE` from a write is
/// sent to the thread that wrote, so blocking it here leaves every other thread as it was.
#[cfg(unix)]
pub(crate) fn keep_sigpipe_off_this_thread() {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigemptyset` initialises the set it is given a pointer to.
    unsafe { libc::sigemptyset(set.as_mut_ptr()) };
    // SAFETY: the set was initialised just above.
    let mut set = unsafe { set.assume_init() };
    // SAFETY: `set` is a valid, initialised signal set.
    unsafe { libc::sigaddset(&mut set, libc::SIGPIPE) };
    // SAFETY: changes this thread's mask only; the old mask is not asked for.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Whether text on a stream colours levels: on a terminal, unless `NO_COLOR` is set to
/// anything but nothing; off a terminal only if `CLICOLOR_FORCE` is set and not `0`.
/// `NO_COLOR` wins over `CLICOLOR_FORCE`.
pub(crate) fn use_color(
    terminal: bool,
    no_color: Option<std::ffi::OsString>,
    force: Option<std::ffi::OsString>,
) -> bool {
    let set = |v: &Option<std::ffi::OsString>| v.as_ref().is_some_and(|v| !v.is_empty());
    if set(&no_color) {
        return false;
    }
    terminal || (set(&force) && force.as_deref() != Some(std::ffi::OsStr::new("0")))
}

/// Whether text written to `stream` now colours levels, as the environment says.
pub(crate) fn colour_for(stream: StdStream) -> bool {
    use_color(
        stream.is_terminal(),
        std::env::var_os("NO_COLOR"),
        std::env::var_os("CLICOLOR_FORCE"),
    )
}

/// A standard stream's records not yet written, and whether the stream still takes any.
pub(crate) struct ConsoleStream {
    stream: StdStream,
    /// Whole records, not yet written.
    pending: Vec<u8>,
    /// Where each record in `pending` ends.
    ends: Vec<usize>,
    /// Set once the reader has gone (`EPIPE`): nothing is written any more.
    closed: bool,
    /// Whether a failure other than a closed pipe was already said.
    failure_said: bool,
}

impl ConsoleStream {
    pub(crate) fn new(stream: StdStream) -> Self {
        ConsoleStream {
            stream,
            pending: Vec::new(),
            ends: Vec::new(),
            closed: false,
            failure_said: false,
        }
    }

    /// Keeps one whole encoded record for the next write out. Returns false, keeping
    /// nothing, once the stream is closed.
    pub(crate) fn push(&mut self, record: &[u8]) -> bool {
        if self.closed {
            return false;
        }
        self.pending.extend_from_slice(record);
        self.ends.push(self.pending.len());
        true
    }

    /// Keeps what the format starts with (CSV's header row), to be written first.
    pub(crate) fn push_header(&mut self, header: &[u8]) {
        if !header.is_empty() {
            self.push(header);
        }
    }

    /// Bytes waiting to be written.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Writes what is pending, in chunks of whole records; a short write is continued
    /// at once with the rest of its chunk. Returns how many records could not be
    /// written.
    pub(crate) fn write_out(&mut self) -> u64 {
        let stream = self.stream;
        self.write_out_with(&mut |bytes| stream.write(bytes))
    }

    /// [`ConsoleStream::write_out`] through `write`, one call of the system's `write`.
    fn write_out_with(&mut self, write: &mut dyn FnMut(&[u8]) -> io::Result<usize>) -> u64 {
        let mut lost = 0;
        let mut start = 0;
        let mut first = 0;
        while first < self.ends.len() {
            // The chunk: at least one record, then records while they fit.
            let mut last = first;
            while last + 1 < self.ends.len() && self.ends[last + 1] - start <= CHUNK {
                last += 1;
            }
            let end = self.ends[last];
            match write_all(write, &self.pending[start..end]) {
                Ok(()) => {}
                Err(e) => {
                    lost = (self.ends.len() - first) as u64;
                    self.failed(&e);
                    break;
                }
            }
            start = end;
            first = last + 1;
        }
        self.pending.clear();
        self.ends.clear();
        lost
    }

    /// Says what went wrong, once: a closed pipe closes the output for good; another
    /// error loses this write's records and the next write tries again.
    #[cold]
    fn failed(&mut self, error: &io::Error) {
        let closed = error.kind() == io::ErrorKind::BrokenPipe;
        let say = if closed {
            !self.closed
        } else {
            !self.failure_said
        };
        if closed {
            self.closed = true;
        } else {
            self.failure_said = true;
        }
        // Standard error cannot report its own failure.
        if say && self.stream != StdStream::Stderr {
            let what = if closed {
                "is closed (its reader has gone)"
            } else {
                "cannot be written"
            };
            eprintln!(
                "trail: {} {what}: {error}; its records are counted as lost there, \
                 the other outputs go on",
                self.stream.name()
            );
        }
    }
}

/// Writes `chunk` whole, call after call; waits a little when the descriptor was made
/// non-blocking and is full.
fn write_all(
    write: &mut dyn FnMut(&[u8]) -> io::Result<usize>,
    mut chunk: &[u8],
) -> io::Result<()> {
    while !chunk.is_empty() {
        match write(chunk) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => chunk = &chunk[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_terminal_no_color_and_clicolor_force() {
        let v = |s: &str| Some(std::ffi::OsString::from(s));
        assert!(use_color(true, None, None));
        assert!(!use_color(false, None, None));
        assert!(!use_color(true, v("1"), None));
        assert!(use_color(true, v(""), None), "an empty NO_COLOR is not set");
        assert!(use_color(false, None, v("1")));
        assert!(!use_color(false, None, v("0")));
        assert!(!use_color(false, None, v("")));
        assert!(!use_color(false, v("1"), v("1")), "NO_COLOR wins");
    }
}

#[cfg(test)]
mod chunks {
    use super::*;

    /// Records of many sizes, some larger than a chunk.
    fn records() -> Vec<Vec<u8>> {
        (0..300u64)
            .map(|i| {
                let mut record = format!("{i}:").into_bytes();
                record.resize((i as usize * 7_919) % (CHUNK + 5_000) + 3, b'x');
                record.push(b'\n');
                record
            })
            .collect()
    }

    #[test]
    fn every_write_starts_a_record_or_finishes_a_short_write() {
        let records = records();
        let mut stream = ConsoleStream::new(StdStream::Stdout);
        for record in &records {
            assert!(stream.push(record));
        }
        let starts: std::collections::BTreeSet<usize> = records
            .iter()
            .scan(0, |at, r| {
                let start = *at;
                *at += r.len();
                Some(start)
            })
            .collect();
        let (mut got, mut owed, mut calls) = (Vec::new(), 0usize, 0);
        let lost = stream.write_out_with(&mut |bytes| {
            calls += 1;
            // A fresh chunk starts on a record; after a short write, the rest follows.
            assert!(owed == bytes.len() || starts.contains(&got.len()));
            assert!(
                owed == 0 || owed == bytes.len(),
                "the rest of the chunk, at once"
            );
            if calls % 3 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            // The system takes at most 1,000 bytes a call, as a full pipe may.
            let n = bytes.len().min(1_000);
            got.extend_from_slice(&bytes[..n]);
            owed = bytes.len() - n;
            Ok(n)
        });
        assert_eq!(lost, 0);
        assert_eq!(got, records.concat());
        assert_eq!(stream.pending_bytes(), 0);
    }

    #[test]
    fn a_chunk_holds_whole_records_and_one_larger_record_goes_alone() {
        let records = records();
        let mut stream = ConsoleStream::new(StdStream::Stdout);
        for record in &records {
            stream.push(record);
        }
        let mut chunks = Vec::new();
        stream.write_out_with(&mut |bytes| {
            chunks.push(bytes.to_vec());
            Ok(bytes.len())
        });
        let mut rest = records.as_slice();
        for chunk in &chunks {
            let mut taken = 0;
            let mut size = 0;
            while taken < rest.len() && size < chunk.len() {
                size += rest[taken].len();
                taken += 1;
            }
            assert_eq!(chunk, &rest[..taken].concat(), "whole records");
            assert!(chunk.len() <= CHUNK || taken == 1, "{} bytes", chunk.len());
            rest = &rest[taken..];
        }
        assert!(rest.is_empty());
        assert!(chunks.len() > 1 && chunks.len() < records.len());
    }

    #[test]
    fn a_closed_pipe_loses_what_is_left_and_takes_nothing_more() {
        let mut stream = ConsoleStream::new(StdStream::Stderr);
        for record in [&b"a\n"[..], b"b\n", b"c\n"] {
            stream.push(record);
        }
        let mut calls = 0;
        let lost = stream.write_out_with(&mut |_| {
            calls += 1;
            Err(io::ErrorKind::BrokenPipe.into())
        });
        assert_eq!(
            (lost, calls),
            (3, 1),
            "one chunk tried, its three records lost"
        );
        assert!(!stream.push(b"d\n"), "nothing is kept for a closed stream");
        assert_eq!(stream.write_out_with(&mut |_| unreachable!()), 0);
    }
}
