//! Filter directives: a level per target, in the syntax `RUST_LOG` users know, and the
//! per-call-site cache that makes a filtered-out call cost one load.
//!
//! `info,shop::cart=debug,hyper=off`: a bare level is the default; `target=level` applies
//! to that target and its submodules (`shop::cart` covers `shop::cart::pay`), the longest
//! matching target winning. Each call site caches whether the current directives let it
//! through; changing the directives recomputes every call site seen so far.

use core::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, RwLock};

use crate::{Level, LevelFilter, Metadata};

/// Parsed filter directives.
///
/// ```
/// use trail::{Directives, Level};
///
/// let d: Directives = "warn,shop=debug,shop::cart=trace,hyper=off".parse().unwrap();
/// assert!(d.enabled("shop::cart::pay", Level::Trace));
/// assert!(d.enabled("shop::billing", Level::Debug));
/// assert!(!d.enabled("shop::billing", Level::Trace));
/// assert!(!d.enabled("hyper::client", Level::Fatal));
/// assert!(d.enabled("anything::else", Level::Warn));
/// assert!(!d.enabled("anything::else", Level::Info));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directives {
    default: LevelFilter,
    /// Targets with their levels, longest target first.
    targets: Vec<(String, LevelFilter)>,
}

impl Directives {
    /// Directives that only set one level for everything.
    pub fn level(level: LevelFilter) -> Directives {
        Directives {
            default: level,
            targets: Vec::new(),
        }
    }

    /// Whether an event of `target` at `level` passes.
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        self.filter_for(target).enables(level)
    }

    fn filter_for(&self, target: &str) -> LevelFilter {
        self.targets
            .iter()
            .find(|(prefix, _)| {
                target == prefix
                    || (target.starts_with(prefix.as_str())
                        && target[prefix.len()..].starts_with("::"))
            })
            .map_or(self.default, |(_, filter)| *filter)
    }

    /// The most verbose level any directive lets through.
    pub fn max_level(&self) -> LevelFilter {
        self.targets
            .iter()
            .map(|(_, f)| *f)
            .chain([self.default])
            .min()
            .unwrap_or(LevelFilter::Off)
    }
}

impl std::str::FromStr for Directives {
    type Err = ParseFilterError;

    /// Parses directives strictly: the first malformed one is the error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut directives = Directives::level(LevelFilter::Info);
        for part in parts(s) {
            directives.add(part)?;
        }
        directives.sort();
        Ok(directives)
    }
}

/// The directives of a comma-separated list, blanks left out.
fn parts(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

impl Directives {
    /// Parses what is valid in `s`, as tracing's `EnvFilter` does with `RUST_LOG`: each
    /// malformed directive is left out and comes back as an error beside the directives
    /// of the valid rest (`None` when no directive is valid).
    ///
    /// ```
    /// use trail::{Directives, Level};
    ///
    /// let (d, errors) = Directives::parse_lenient("warn,shop[checkout]=debug,shop=chatty,db=trace");
    /// let d = d.unwrap();
    /// assert!(d.enabled("db::pool", Level::Trace));
    /// assert!(!d.enabled("shop", Level::Info));
    /// assert_eq!(errors.len(), 2);
    /// assert!(errors[0].to_string().contains("\"shop[checkout]=debug\""));
    /// ```
    pub fn parse_lenient(s: &str) -> (Option<Directives>, Vec<ParseFilterError>) {
        let mut directives = Directives::level(LevelFilter::Info);
        let (mut valid, mut errors) = (0, Vec::new());
        for part in parts(s) {
            match directives.add(part) {
                Ok(()) => valid += 1,
                Err(e) => errors.push(e),
            }
        }
        directives.sort();
        ((valid > 0).then_some(directives), errors)
    }

    /// Adds one directive, or says why it is malformed.
    fn add(&mut self, part: &str) -> Result<(), ParseFilterError> {
        let bad = |why: String| ParseFilterError {
            directive: part.to_owned(),
            why,
        };
        if part.contains('\u{fffd}') {
            return Err(bad("not valid UTF-8".to_owned()));
        }
        let (target, level) = match part.split_once('=') {
            None => match part.parse::<LevelFilter>() {
                Ok(level) => {
                    self.default = level;
                    return Ok(());
                }
                // A bare target, as in RUST_LOG: everything from it.
                Err(_) if is_target(part) || part.contains(['[', '{']) => {
                    (part, LevelFilter::Trace)
                }
                Err(e) => return Err(bad(e.to_string())),
            },
            Some((target, level)) => {
                let level = level
                    .trim()
                    .parse::<LevelFilter>()
                    .map_err(|e| bad(e.to_string()))?;
                (target.trim(), level)
            }
        };
        if target.contains(['[', '{']) {
            return Err(bad(
                "span filters (`target[span]=level`) are not supported: trail filters by target"
                    .to_owned(),
            ));
        }
        if !is_target(target) {
            return Err(bad(format!(
                "{target:?} is not a target (a module path such as shop::cart)"
            )));
        }
        self.targets.retain(|(t, _)| t != target);
        self.targets.push((target.to_owned(), level));
        Ok(())
    }

    /// Longest target first, so that the first match is the most specific one.
    fn sort(&mut self) {
        self.targets.sort_by_key(|t| std::cmp::Reverse(t.0.len()));
    }
}

fn is_target(s: &str) -> bool {
    !s.is_empty()
        && s.split("::").all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
        })
}

/// The error for a malformed directive; it names the directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFilterError {
    directive: String,
    why: String,
}

impl fmt::Display for ParseFilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter directive {:?}: {}",
            self.directive, self.why
        )
    }
}

impl std::error::Error for ParseFilterError {}

const UNKNOWN: u8 = 0;
const NEVER: u8 = 1;
const ALWAYS: u8 = 2;
/// Closed by the directives but open for test captures: decided again under the lock at
/// each call, so that the caller also sees that events are routed (see `dispatch`).
const ASK: u8 = 3;

/// A call site's cached interest. One per macro call, as a `static`.
#[doc(hidden)]
pub struct Callsite {
    meta: &'static Metadata,
    interest: AtomicU8,
}

struct State {
    directives: Option<Directives>,
    callsites: Vec<&'static Callsite>,
    /// Whether every call site is open for test captures; the directives are then
    /// applied where the record is handed to the sink.
    open: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    directives: None,
    callsites: Vec::new(),
    open: false,
});

/// The current directives, for readers that are not call sites (the bridges).
static CURRENT: RwLock<Option<Directives>> = RwLock::new(None);

impl Callsite {
    /// A call site not yet seen.
    pub const fn new(meta: &'static Metadata) -> Callsite {
        Callsite {
            meta,
            interest: AtomicU8::new(UNKNOWN),
        }
    }

    /// Whether the directives let this call site through: one relaxed load once known.
    #[inline(always)]
    pub fn interested(&'static self) -> bool {
        match self.interest.load(Ordering::Relaxed) {
            ALWAYS => true,
            NEVER => false,
            _ => self.register(),
        }
    }

    #[cold]
    #[inline(never)]
    fn register(&'static self) -> bool {
        let mut state = STATE.lock().unwrap_or_else(|p| p.into_inner());
        if self.interest.load(Ordering::Relaxed) == UNKNOWN {
            state.callsites.push(self);
        }
        let interest = interest(&state, state.directives.as_ref(), self.meta);
        self.interest.store(interest, Ordering::Relaxed);
        interest != NEVER
    }
}

fn interest(state: &State, directives: Option<&Directives>, meta: &Metadata) -> u8 {
    match directives {
        Some(d) if !d.enabled(meta.target(), meta.level()) => {
            if state.open {
                ASK
            } else {
                NEVER
            }
        }
        _ => ALWAYS,
    }
}

/// Opens every call site, for good: test captures want every event, and the sink's
/// directives are applied later, on the record path (see `dispatch`).
pub(crate) fn open_every_callsite() {
    let mut state = STATE.lock().unwrap_or_else(|p| p.into_inner());
    state.open = true;
    for callsite in &state.callsites {
        callsite.interest.store(
            interest(&state, state.directives.as_ref(), callsite.meta),
            Ordering::Relaxed,
        );
    }
}

/// Installs `directives` (or none: only the run-time level then) and recomputes every
/// call site seen so far. Returns the level the run-time gate should let through.
pub(crate) fn set_directives(directives: Option<Directives>) -> Option<LevelFilter> {
    let mut state = STATE.lock().unwrap_or_else(|p| p.into_inner());
    for callsite in &state.callsites {
        callsite.interest.store(
            interest(&state, directives.as_ref(), callsite.meta),
            Ordering::Relaxed,
        );
    }
    let max = directives.as_ref().map(Directives::max_level);
    *CURRENT.write().unwrap_or_else(|p| p.into_inner()) = directives.clone();
    state.directives = directives;
    max
}

/// Installs filter directives for whatever sink is installed, and opens the run-time
/// level gate to the most verbose level they allow. The writer's
/// [`Guard::set_filter`](crate::Guard::set_filter) calls this; a custom [`Sink`](crate::Sink)
/// can too.
///
/// ```
/// # use trail::{LevelFilter, Record, Sink};
/// # struct Quiet;
/// # impl Sink for Quiet { fn submit(&self, _: &Record) {} fn flush(&self) {} }
/// trail::set_sink(&Quiet, LevelFilter::Info).unwrap();
/// trail::set_filter("warn,shop::cart=debug".parse().unwrap());
/// assert_eq!(trail::max_level(), LevelFilter::Debug);
/// ```
pub fn set_filter(directives: Directives) {
    let level = directives.max_level();
    set_directives(Some(directives));
    crate::set_max_level(level);
}

/// Whether the current directives let an event of `target` at `level` through.
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]
pub(crate) fn directives_allow(target: &str, level: Level) -> bool {
    CURRENT
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_none_or(|d| d.enabled(target, level))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_familiar_syntax_parses() {
        let d: Directives = "info,shop::cart=debug,hyper=off".parse().unwrap();
        assert_eq!(d.default, LevelFilter::Info);
        assert!(d.enabled("shop::cart", Level::Debug));
        assert!(
            !d.enabled("shop::carts", Level::Debug),
            "shop::cart does not cover shop::carts"
        );
        assert!(!d.enabled("hyper", Level::Error));
        assert_eq!(d.max_level(), LevelFilter::Debug);
        let bare: Directives = "shop".parse().unwrap();
        assert!(bare.enabled("shop::x", Level::Trace));
        assert!(!bare.enabled("other", Level::Debug));
        assert_eq!(
            "".parse::<Directives>().unwrap(),
            Directives::level(LevelFilter::Info)
        );
        assert_eq!(
            " WARN , a=ERROR ".parse::<Directives>().unwrap().default,
            LevelFilter::Warn
        );
    }

    #[test]
    fn a_malformed_directive_is_named() {
        let err = "info,shop=loud".parse::<Directives>().unwrap_err();
        assert!(
            err.to_string().starts_with(
                "invalid filter directive \"shop=loud\": unknown level filter \"loud\""
            ),
            "{err}"
        );
        let err = "info,=debug".parse::<Directives>().unwrap_err();
        assert_eq!(err.directive, "=debug");
        let err = "info,sh op=debug".parse::<Directives>().unwrap_err();
        assert!(err.to_string().contains("is not a target"), "{err}");
    }
}
