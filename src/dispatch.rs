//! Dispatch: the one global sink that enabled events go to, and the run-time level gate.
//!
//! With no sink installed the run-time level is `off`, so a call costs one relaxed load
//! and a branch. Installing a sink raises the level; uninstalling lowers it again.
//!
//! Two ways of losing a sink keep the gate open instead, so that the loss is noticed: the
//! writer's guard dropped while the program still logs (`let _ = builder().install()`
//! drops it at once), and a `fork()` (the child has no writer thread). Events that then
//! pass the gate reach no sink: they are counted ([`lost_without_sink`]) and the first one
//! is reported on standard error, once per process for each cause.
//!
//! A test capture ([`testing`](crate::testing)) needs events at every level, on its own
//! thread only. The first one made in a process turns the gate into [`ROUTED`]: every call
//! passes it, and every event takes the record path to [`submit`], which offers it to the
//! thread's captures and then applies the installed filter exactly, so that the files get
//! what they would have got. The switch is one-way: a call that passed the open gate may
//! reach its ring only after the last capture ended, and the ring path does not look at
//! levels, so closing the gate again would let such calls into the files.

use core::fmt;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

use crate::{Level, LevelFilter, Record};

/// Where records go: the background writer, or any other implementation.
///
/// A sink is installed once per process with [`set_sink`]; the writer's builder does it
/// for you.
pub trait Sink: Send + Sync + 'static {
    /// Takes one record, lent for the call: copy what you keep (`record.clone()`).
    /// Called on the logging thread: keep it short.
    fn submit(&self, record: &Record);

    /// Returns once every record submitted before this call has been written out.
    fn flush(&self);
}

/// The run-time gate: the installed filter's level, or [`ROUTED`].
static MAX_LEVEL: AtomicU8 = AtomicU8::new(LevelFilter::Off as u8);
/// The gate once a test capture has been made: below every level, so that everything
/// passes, and apart from every filter, so that [`reserve`] and [`submit`] can tell.
const ROUTED: u8 = 0;
/// The installed filter's level, which the gate is unless it is [`ROUTED`].
static SINK_LEVEL: AtomicU8 = AtomicU8::new(LevelFilter::Off as u8);
/// Held while the two levels above change, so that they stay consistent.
static LEVELS: Mutex<()> = Mutex::new(());
static SINK: AtomicPtr<Installed> = AtomicPtr::new(core::ptr::null_mut());
static LOST: AtomicU64 = AtomicU64::new(0);
/// Whether the writer's guard uninstalled the sink last (not [`clear_sink`]).
static GUARD_DROPPED: AtomicBool = AtomicBool::new(false);
/// Whether this process is a child forked from one that ran the writer.
#[cfg(feature = "writer")]
static FORKED: AtomicBool = AtomicBool::new(false);
/// Whether each loss has been reported on standard error.
static REPORTED_DROP: AtomicBool = AtomicBool::new(false);
#[cfg(feature = "writer")]
static REPORTED_FORK: AtomicBool = AtomicBool::new(false);

struct Installed {
    sink: &'static dyn Sink,
    /// The background writer, when it is the sink: called directly rather than through
    /// the trait object, so that its hand-over inlines into the caller's path.
    #[cfg(feature = "writer")]
    writer: Option<&'static crate::writer::Shared>,
}

/// The run-time level filter: `off` while no sink is installed. A test capture does not
/// change it.
#[inline(always)]
pub fn max_level() -> LevelFilter {
    if SINK.load(Ordering::Relaxed).is_null() {
        return LevelFilter::Off;
    }
    LevelFilter::from_u8(SINK_LEVEL.load(Ordering::Relaxed))
}

/// Whether an event at `level` passes the run-time filter: one relaxed load.
#[inline(always)]
pub(crate) fn level_enabled(level: Level) -> bool {
    level as u8 >= MAX_LEVEL.load(Ordering::Relaxed)
}

/// Changes the run-time level filter (and the `log` crate's, when the bridge is
/// installed). Has no effect while no sink is installed.
pub fn set_max_level(filter: LevelFilter) {
    if !SINK.load(Ordering::Acquire).is_null() {
        set_levels(filter);
        #[cfg(feature = "log")]
        crate::bridge::log::follow_max_level(filter);
    }
}

/// Sets the installed filter's level, and the gate to it unless events are routed.
fn set_levels(filter: LevelFilter) {
    let _levels = LEVELS.lock().unwrap_or_else(|p| p.into_inner());
    SINK_LEVEL.store(filter as u8, Ordering::Relaxed);
    if MAX_LEVEL.load(Ordering::Relaxed) != ROUTED {
        MAX_LEVEL.store(filter as u8, Ordering::Relaxed);
    }
}

/// Opens the gate and every call site to all levels for the rest of the process, and
/// sends every event by [`submit`], which filters it for the sink (see the module docs).
pub(crate) fn route_every_event() {
    if MAX_LEVEL.load(Ordering::Relaxed) == ROUTED {
        return;
    }
    let _levels = LEVELS.lock().unwrap_or_else(|p| p.into_inner());
    // A call that passed the gate as ROUTED finds ROUTED again in `reserve`: one atomic,
    // read later by the same thread. A call site that the directives close is opened
    // under the filter's lock, taken after this store, and lets a call through only
    // under that lock, so its caller sees ROUTED too.
    MAX_LEVEL.store(ROUTED, Ordering::Relaxed);
    crate::filter::open_every_callsite();
}

/// Whether the installed filter lets `meta`'s events through: its level and, if any, its
/// directives for the target. What the gate and the call site's cache decide while no
/// capture has been made.
fn sink_admits(meta: &crate::Metadata) -> bool {
    LevelFilter::from_u8(SINK_LEVEL.load(Ordering::Relaxed)).enables(meta.level())
        && crate::filter::directives_allow(meta.target(), meta.level())
}

/// The error from installing a sink while another one is installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyInstalled;

impl fmt::Display for AlreadyInstalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a trail sink is already installed in this process; drop its guard before installing another",
        )
    }
}

impl std::error::Error for AlreadyInstalled {}

/// Installs the global sink and sets the run-time level.
///
/// Fails if a sink is already installed. The writer's builder calls this; call it yourself
/// only for a sink of your own.
///
/// ```
/// use trail::{LevelFilter, Record, Sink};
///
/// struct Stderr;
///
/// impl Sink for Stderr {
///     fn submit(&self, record: &Record) {
///         eprintln!("{} {}", record.level(), record.decode().message());
///     }
///     fn flush(&self) {}
/// }
///
/// trail::set_sink(Box::leak(Box::new(Stderr)), LevelFilter::Info).unwrap();
/// trail::info!("to stderr");
/// assert!(trail::set_sink(Box::leak(Box::new(Stderr)), LevelFilter::Info).is_err());
/// trail::clear_sink();
/// ```
pub fn set_sink(sink: &'static dyn Sink, level: LevelFilter) -> Result<(), AlreadyInstalled> {
    install(
        Installed {
            sink,
            #[cfg(feature = "writer")]
            writer: None,
        },
        level,
    )
}

/// Installs the background writer as the global sink.
#[cfg(feature = "writer")]
pub(crate) fn set_writer(
    writer: &'static crate::writer::Shared,
    level: LevelFilter,
) -> Result<(), AlreadyInstalled> {
    #[cfg(unix)]
    watch_forks();
    install(
        Installed {
            sink: writer,
            writer: Some(writer),
        },
        level,
    )
}

/// Registers, once per process, what a child process does after `fork()`: it has the
/// writer's memory but not its thread, so nothing it logs could be written and a flush
/// would wait forever. The child's sink is uninstalled (its events are counted and
/// reported once) and every wait for the writer returns at once.
#[cfg(all(unix, feature = "writer"))]
fn watch_forks() {
    extern "C" fn in_child() {
        // Only atomic stores: this runs between fork() and exec().
        FORKED.store(true, Ordering::Relaxed);
        SINK.store(core::ptr::null_mut(), Ordering::Release);
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `in_child` is a plain `extern "C" fn()` that lives as long as the
        // program and does only what is safe in a forked child.
        let _ = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    });
}

/// Whether this process is a child forked from one that ran the writer, whose thread it
/// does not have.
#[cfg(feature = "writer")]
pub(crate) fn forked() -> bool {
    FORKED.load(Ordering::Relaxed)
}

fn install(installed: Installed, level: LevelFilter) -> Result<(), AlreadyInstalled> {
    // A sink stays readable forever: a caller that loaded the pointer just before an
    // uninstall may still be using it, so the small box is never freed.
    crate::clock::init();
    let installed = Box::into_raw(Box::new(installed));
    match SINK.compare_exchange(
        core::ptr::null_mut(),
        installed,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            GUARD_DROPPED.store(false, Ordering::Relaxed);
            set_levels(level);
            Ok(())
        }
        Err(_) => {
            // SAFETY: `installed` came from Box::into_raw above and was never published.
            drop(unsafe { Box::from_raw(installed) });
            Err(AlreadyInstalled)
        }
    }
}

/// Uninstalls the global sink: later events are disabled until a sink is installed again.
pub fn clear_sink() {
    GUARD_DROPPED.store(false, Ordering::Relaxed);
    set_levels(LevelFilter::Off);
    SINK.store(core::ptr::null_mut(), Ordering::Release);
}

/// Uninstalls `sink` if it is the installed one; another sink is left alone.
#[cfg(feature = "writer")]
pub(crate) fn clear_sink_if(sink: &'static dyn Sink) {
    let ptr = SINK.load(Ordering::Acquire);
    // SAFETY: as in `current`.
    let ours =
        unsafe { ptr.as_ref() }.is_some_and(|installed| core::ptr::addr_eq(installed.sink, sink));
    if ours {
        // The gate stays open: an event logged from now on is counted and reported.
        GUARD_DROPPED.store(true, Ordering::Relaxed);
        let _ = SINK.compare_exchange(
            ptr,
            core::ptr::null_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

/// Whether a sink is installed.
pub fn is_installed() -> bool {
    !SINK.load(Ordering::Acquire).is_null()
}

#[inline]
fn installed() -> Option<&'static Installed> {
    let ptr = SINK.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was published by `install` from a leaked box, which is
    // never freed, so it is valid for 'static.
    unsafe { ptr.as_ref() }
}

#[inline]
fn current() -> Option<&'static dyn Sink> {
    installed().map(|installed| installed.sink)
}

/// Room in the calling thread's ring of the installed writer, for an event captured in
/// place; None if another sink is installed, or if the ring has no room now.
#[cfg(feature = "writer")]
#[inline(always)]
pub(crate) fn reserve() -> Option<crate::queue::Slot> {
    let writer = installed()?.writer?;
    // The one load a process without test captures pays for them.
    if MAX_LEVEL.load(Ordering::Relaxed) == ROUTED {
        return None;
    }
    writer.rings.reserve()
}

/// Hands a record to the installed sink; once events are routed, to the thread's test
/// captures too, and to the sink only if its filter lets the record through.
#[inline]
pub(crate) fn submit(record: &Record) {
    if MAX_LEVEL.load(Ordering::Relaxed) == ROUTED {
        return submit_routed(record);
    }
    deliver(record);
}

#[cold]
#[inline(never)]
fn submit_routed(record: &Record) {
    crate::testing::offer(record);
    if sink_admits(record.metadata()) {
        deliver(record);
    }
}

#[inline]
fn deliver(record: &Record) {
    match installed() {
        Some(installed) => {
            #[cfg(feature = "writer")]
            match installed.writer {
                Some(writer) => writer.submit(record),
                None => installed.sink.submit(record),
            }
            #[cfg(not(feature = "writer"))]
            installed.sink.submit(record);
        }
        None => {
            LOST.fetch_add(1, Ordering::Relaxed);
            report_lost();
        }
    }
}

/// Says once on standard error why events reach no sink, if it is a dropped guard or a
/// fork (an event racing with [`clear_sink`] is not worth a word).
#[cold]
#[inline(never)]
fn report_lost() {
    #[cfg(feature = "writer")]
    if forked() {
        if !REPORTED_FORK.swap(true, Ordering::Relaxed) {
            say(
                "trail: this process was forked from the one that runs the writer, whose \
                 thread it does not have: its events are not written (trail::lost_without_sink \
                 counts them)\n",
            );
        }
        return;
    }
    if GUARD_DROPPED.load(Ordering::Relaxed) && !REPORTED_DROP.swap(true, Ordering::Relaxed) {
        say(
            "trail: events are logged after the writer's guard was dropped, and are lost \
             (trail::lost_without_sink counts them); keep the guard alive while the program \
             logs: `let _guard = trail::builder()...install()?`, not `let _ = ...`\n",
        );
    }
}

/// Writes a line on standard error without taking std's lock on it, which a thread that
/// did not survive a `fork()` may hold forever.
fn say(line: &str) {
    #[cfg(all(unix, feature = "writer"))]
    {
        let mut bytes = line.as_bytes();
        while !bytes.is_empty() {
            // SAFETY: the pointer and length describe `bytes`, valid for reads.
            let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
            if n <= 0 {
                return;
            }
            bytes = &bytes[n as usize..];
        }
    }
    #[cfg(not(all(unix, feature = "writer")))]
    {
        use std::io::Write as _;
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// Events that passed the level gate but reached no sink: logged after the writer's guard
/// was dropped, in a child process after `fork()`, or racing with an uninstall.
pub fn lost_without_sink() -> u64 {
    LOST.load(Ordering::Relaxed)
}

/// Returns once every event logged before this call is written out by the installed
/// sink (for the writer: handed to the operating system). Does nothing with no sink.
///
/// ```
/// trail::info!("about to hand over");
/// trail::flush();
/// ```
pub fn flush() {
    if let Some(sink) = current() {
        sink.flush();
    }
}
