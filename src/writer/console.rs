//! The console: human-readable lines on standard error for records at or above a level,
//! beside the files. The text encoder writes them, colouring the level itself when the
//! console is a terminal (or colour is forced); the files never get colour.

use std::io::{self, Write};

use crate::encode::Encoder;
use crate::Record;

/// Human-readable lines on standard error for records at or above a level, beside the
/// files; written by the writer thread, so that callers never wait for a terminal.
pub(crate) struct Console {
    level: crate::LevelFilter,
    encoder: crate::encode::text::TextEncoder,
    out: Vec<u8>,
}

/// Whether the console colours levels: on a terminal, unless `NO_COLOR` is set to
/// anything but nothing; off a terminal only if `CLICOLOR_FORCE` is set and not `0`.
/// `NO_COLOR` wins over `CLICOLOR_FORCE`.
fn use_color(
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

impl Console {
    pub(crate) fn new(level: crate::LevelFilter, secrets: std::sync::Arc<[String]>) -> Console {
        use std::io::IsTerminal;
        let mut encoder = crate::encode::text::TextEncoder::default();
        encoder.set_secrets(secrets);
        encoder.colour_levels(use_color(
            io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
            std::env::var_os("CLICOLOR_FORCE"),
        ));
        Console {
            level,
            encoder,
            out: Vec::new(),
        }
    }

    /// Encodes `record` for the terminal, if its level is shown there.
    pub(super) fn record(&mut self, record: &Record, seq: u64) {
        if self.level.enables(record.level()) {
            self.encoder.encode(record, seq, &mut self.out);
        }
    }

    /// Writes the lines encoded so far to standard error.
    pub(super) fn write_out(&mut self) {
        if !self.out.is_empty() {
            // The terminal is a courtesy: the files hold every record whatever happens here.
            let _ = io::stderr().lock().write_all(&self.out);
            self.out.clear();
        }
    }
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
