//! `trail stats`: what a stream holds, at a glance.

use std::collections::HashMap;
use std::path::Path;

use trail::read::ReadErrorKind;
use trail::Level;

use crate::filter::Filter;
use crate::Fatal;

const BAR: usize = 40;

pub fn run(path: &Path, filter: &Filter) -> Result<u8, Fatal> {
    let (mut levels, mut actors, mut targets) = (HashMap::new(), HashMap::new(), HashMap::new());
    let (mut records, mut torn, mut damaged) = (0u64, 0u64, 0u64);
    let mut times = Vec::new();
    let mut seqs = Vec::new();
    for record in trail::read::open(path)? {
        let r = match record {
            Ok(r) => r,
            Err(e) => {
                if e.kind() == ReadErrorKind::Torn {
                    torn += 1;
                } else {
                    damaged += 1;
                }
                crate::warn(e);
                continue;
            }
        };
        // Gaps are a property of the stream, so every record counts for them.
        seqs.push(r.seq);
        if !filter.matches(&r) {
            continue;
        }
        records += 1;
        *levels.entry(r.level).or_insert(0u64) += 1;
        *targets.entry(r.target.clone()).or_insert(0u64) += 1;
        if let Some(actor) = &r.actor {
            *actors.entry(actor.to_string()).or_insert(0u64) += 1;
        }
        times.push(r.ts);
    }

    let mut out = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(out, "records: {records}");
    if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
        let _ = writeln!(out, "from:    {}", rfc3339(*first));
        let _ = writeln!(out, "to:      {}", rfc3339(*last));
    }
    let _ = writeln!(out, "\nby level:");
    for level in Level::ALL {
        if let Some(n) = levels.get(&level) {
            let _ = writeln!(out, "  {:<6} {n:>12}", level.as_str());
        }
    }
    section(&mut out, "busiest actors", &actors);
    section(&mut out, "by target", &targets);
    histogram(&mut out, &times);

    let _ = writeln!(out, "\nseq:");
    seqs.sort_unstable();
    let (mut gaps, mut missing, mut repeated) = (Vec::new(), 0u64, 0u64);
    for pair in seqs.windows(2) {
        match pair[1].checked_sub(pair[0]) {
            Some(0) => repeated += 1,
            Some(1) => {}
            Some(step) => {
                missing += step - 1;
                gaps.push((pair[0] + 1, pair[1] - 1));
            }
            None => {}
        }
    }
    if let (Some(first), Some(last)) = (seqs.first(), seqs.last()) {
        let _ = writeln!(
            out,
            "  range {first}..={last}, {missing} missing in {} gaps, {repeated} repeated",
            gaps.len()
        );
    }
    for (from, to) in gaps.iter().take(10) {
        let _ = writeln!(out, "  gap: {from}..={to}");
    }
    let _ = writeln!(out, "  torn records: {torn}, damaged records: {damaged}");
    let mut bytes = out.into_bytes();
    crate::emit(&mut bytes)?;
    Ok(0)
}

fn section(out: &mut String, title: &str, counts: &HashMap<String, u64>) {
    use std::fmt::Write as _;
    if counts.is_empty() {
        return;
    }
    let mut sorted: Vec<(&String, &u64)> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let _ = writeln!(out, "\n{title} (top 10 of {}):", sorted.len());
    for (name, n) in sorted.into_iter().take(10) {
        // Actors and targets come from the records: no control may reach the terminal.
        let name = trail::terminal::escape_controls(name);
        let _ = writeln!(out, "  {name:<30} {n:>12}");
    }
}

/// Events per time bucket, as bars; the bucket is the smallest of a few round sizes that
/// gives at most 30 rows.
fn histogram(out: &mut String, times: &[u64]) {
    use std::fmt::Write as _;
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
        return;
    };
    const S: u64 = 1_000_000_000;
    let span = last - first;
    let bucket = [
        S / 1000,
        S / 100,
        S / 10,
        S,
        10 * S,
        60 * S,
        600 * S,
        3600 * S,
        86_400 * S,
    ]
    .into_iter()
    .find(|b| span / b < 30)
    .unwrap_or(86_400 * S);
    let start = first / bucket * bucket;
    let mut counts = vec![0u64; ((last - start) / bucket + 1) as usize];
    for t in times {
        counts[((t - start) / bucket) as usize] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let _ = writeln!(out, "\nevents per {}:", humanize(bucket));
    for (i, n) in counts.iter().enumerate() {
        let width = (*n as usize * BAR).div_ceil(max as usize);
        let _ = writeln!(
            out,
            "  {}  {n:>10} {}",
            rfc3339(start + i as u64 * bucket),
            "█".repeat(width)
        );
    }
}

fn humanize(nanos: u64) -> String {
    humantime::format_duration(std::time::Duration::from_nanos(nanos)).to_string()
}

pub fn rfc3339(nanos: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos);
    humantime::format_rfc3339_nanos(t).to_string()
}
