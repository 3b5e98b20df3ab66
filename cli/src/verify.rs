//! `trail verify`: the library's [`trail::read::verify`], printed. Exit status 1 when it
//! found a problem.

use std::fmt::Write as _;
use std::path::Path;

use crate::Fatal;

pub fn run(dir: &Path) -> Result<u8, Fatal> {
    if !dir.is_dir() {
        return Err(Fatal(
            2,
            format!("{} is not a stream directory", dir.display()),
        ));
    }
    let found = trail::read::verify(dir)?;
    let mut report = String::new();
    // File names and manifest entries are anyone's text: escaped for the terminal.
    for note in &found.notes {
        let _ = writeln!(report, "note: {}", trail::terminal::escape_controls(note));
    }
    for problem in &found.problems {
        let _ = writeln!(
            report,
            "problem: {}",
            trail::terminal::escape_controls(problem)
        );
    }
    let unlisted = found.unlisted_problems();
    if unlisted > 0 {
        let _ = writeln!(report, "problem: ... and {unlisted} more, not listed");
    }
    let range = match &found.seq {
        Some(seq) => format!(", seq {}..={}", seq.start(), seq.end()),
        None => String::new(),
    };
    let (segments, records) = (found.segments, found.records);
    if found.is_ok() {
        let _ = writeln!(report, "ok: {segments} segments, {records} records{range}");
    } else {
        let _ = writeln!(
            report,
            "FAILED: {} problems in {segments} segments, {records} records{range}",
            found.problem_count
        );
    }
    let mut bytes = report.into_bytes();
    crate::emit(&mut bytes)?;
    Ok(u8::from(!found.is_ok()))
}
