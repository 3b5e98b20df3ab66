//! `trail stats`: what a stream holds, at a glance.

use std::collections::HashMap;
use std::path::Path;

use trail::read::ReadErrorKind;
use trail::Level;

use crate::filter::Filter;
use crate::Fatal;

const BAR: usize = 40;

/// How many distinct actors, and targets, are counted one by one; the rest are counted
/// together, so that memory does not grow with what the records hold.
const MAX_DISTINCT: usize = 100_000;

/// How many runs of consecutive seqs are kept to find gaps; a seq that would start one more
/// is only counted.
const MAX_RUNS: usize = 1 << 16;

/// Counts `key` in `counts`, or in `others` once `counts` holds [`MAX_DISTINCT`] keys. The
/// key is copied only when it is new.
fn tally(counts: &mut HashMap<String, u64>, key: &str, others: &mut u64) {
    if let Some(n) = counts.get_mut(key) {
        *n += 1;
    } else if counts.len() < MAX_DISTINCT {
        counts.insert(key.to_owned(), 1);
    } else {
        *others += 1;
    }
}

/// The seqs seen, as runs of consecutive numbers (first to last), whatever their order.
#[derive(Default)]
struct Runs {
    runs: std::collections::BTreeMap<u64, u64>,
    repeated: u64,
    /// Seqs that would have started a run past [`MAX_RUNS`].
    unplaced: u64,
}

impl Runs {
    fn add(&mut self, seq: u64) {
        // In a stream read in order, each seq extends the last run: no run can start
        // after it.
        if let Some(mut last) = self.runs.last_entry() {
            if last.get().checked_add(1) == Some(seq) {
                *last.get_mut() = seq;
                return;
            }
        }
        let before = self.runs.range(..=seq).next_back().map(|(&s, &e)| (s, e));
        if before.is_some_and(|(_, end)| seq <= end) {
            self.repeated += 1;
            return;
        }
        let joins_before = before.filter(|&(_, end)| end + 1 == seq);
        let after = seq
            .checked_add(1)
            .and_then(|next| self.runs.get(&next).map(|&end| (next, end)));
        if joins_before.is_none() && after.is_none() && self.runs.len() >= MAX_RUNS {
            self.unplaced += 1;
            return;
        }
        if let Some((next, _)) = after {
            self.runs.remove(&next);
        }
        let start = joins_before.map_or(seq, |(start, _)| start);
        self.runs.insert(start, after.map_or(seq, |(_, end)| end));
    }
}

/// Span durations, per span name, in a log-linear histogram: exact below 256 ns, then 128
/// buckets per power of two, so that a percentile is within 1% (the bucket's lower bound)
/// and memory stays bounded whatever the number of spans.
#[derive(Default)]
struct Durations {
    buckets: std::collections::BTreeMap<u32, u64>,
    count: u64,
    max: u64,
}

/// Sub-buckets per power of two: 2^7.
const SUB_BITS: u32 = 7;

impl Durations {
    fn add(&mut self, nanos: u64) {
        *self.buckets.entry(bucket(nanos)).or_insert(0) += 1;
        self.count += 1;
        self.max = self.max.max(nanos);
    }

    /// The nearest-rank percentile `p` (0 to 100): the lower bound of its bucket.
    fn percentile(&self, p: u64) -> u64 {
        let rank = (self.count * p).div_ceil(100).max(1);
        let mut seen = 0;
        for (&key, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return lower_bound(key);
            }
        }
        self.max
    }
}

/// The histogram bucket of `nanos`.
fn bucket(nanos: u64) -> u32 {
    let top = 63 - nanos.max(1).leading_zeros();
    if top <= SUB_BITS {
        return nanos as u32;
    }
    let shift = top - SUB_BITS;
    let sub = ((nanos >> shift) & ((1 << SUB_BITS) - 1)) as u32;
    (1 << SUB_BITS) + shift * (1 << SUB_BITS) + sub
}

/// The smallest duration in bucket `key`.
fn lower_bound(key: u32) -> u64 {
    let size = 1 << SUB_BITS;
    if key < 2 * size {
        return u64::from(key);
    }
    let shift = (key - size) / size;
    let sub = u64::from((key - size) % size);
    ((1 << SUB_BITS) + sub) << shift
}

/// A duration in a short form: `830ns`, `12.5µs`, `3.25ms`, `1.5s`.
fn short(nanos: u64) -> String {
    let (value, unit) = match nanos {
        0..1_000 => return format!("{nanos}ns"),
        1_000..1_000_000 => (nanos as f64 / 1e3, "µs"),
        1_000_000..1_000_000_000 => (nanos as f64 / 1e6, "ms"),
        _ => (nanos as f64 / 1e9, "s"),
    };
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

/// Records per time bucket, at the finest of [`BUCKETS`] that needs at most 4096 of them.
#[derive(Default)]
struct Timeline {
    /// Index in [`BUCKETS`] of the bucket size the counts are kept in.
    size: usize,
    counts: std::collections::BTreeMap<u64, u64>,
    first: Option<u64>,
    last: Option<u64>,
}

const S: u64 = 1_000_000_000;
/// Each size divides the next, so counts in one add up exactly into the next.
const BUCKETS: [u64; 9] = [
    S / 1000,
    S / 100,
    S / 10,
    S,
    10 * S,
    60 * S,
    600 * S,
    3600 * S,
    86_400 * S,
];

impl Timeline {
    fn add(&mut self, ts: u64) {
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        let key = ts / BUCKETS[self.size];
        // Records in time order fall into the last bucket, found without a search.
        match self.counts.last_entry() {
            Some(mut last) if *last.key() == key => *last.get_mut() += 1,
            _ => *self.counts.entry(key).or_insert(0) += 1,
        }
        while self.counts.len() > 4096 && self.size + 1 < BUCKETS.len() {
            self.regroup(self.size + 1);
        }
    }

    fn regroup(&mut self, size: usize) {
        let factor = BUCKETS[size] / BUCKETS[self.size];
        let mut counts = std::collections::BTreeMap::new();
        for (k, n) in std::mem::take(&mut self.counts) {
            *counts.entry(k / factor).or_insert(0) += n;
        }
        self.counts = counts;
        self.size = size;
    }
}

pub fn run(path: &Path, filter: &Filter) -> Result<u8, Fatal> {
    let (mut levels, mut actors, mut targets) = (HashMap::new(), HashMap::new(), HashMap::new());
    let (mut other_actors, mut other_targets) = (0u64, 0u64);
    let (mut records, mut torn, mut damaged) = (0u64, 0u64, 0u64);
    let mut times = Timeline::default();
    let mut seqs = Runs::default();
    let mut spans: HashMap<String, Durations> = HashMap::new();
    let mut other_spans = 0u64;
    // An actor's text, written anew for each record into the same buffer.
    let mut actor_text = String::new();
    // Each record is decoded into the reader's own, reused from one to the next.
    let mut reader = trail::read::open(path)?;
    while let Some(record) = reader.next_ref() {
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
        seqs.add(r.seq);
        if !filter.matches(r) {
            continue;
        }
        records += 1;
        *levels.entry(r.level).or_insert(0u64) += 1;
        tally(&mut targets, &r.target, &mut other_targets);
        if let Some(actor) = &r.actor {
            use std::fmt::Write as _;
            actor_text.clear();
            let _ = write!(actor_text, "{actor}");
            tally(&mut actors, &actor_text, &mut other_actors);
        }
        times.add(r.ts);
        if let Some(timing) = r.span_timing() {
            let took = timing.end_ns.saturating_sub(timing.start_ns);
            if let Some(durations) = spans.get_mut(&r.msg) {
                durations.add(took);
            } else if spans.len() < MAX_DISTINCT {
                let mut durations = Durations::default();
                durations.add(took);
                spans.insert(r.msg.clone(), durations);
            } else {
                other_spans += 1;
            }
        }
    }

    let mut out = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(out, "records: {records}");
    if let (Some(first), Some(last)) = (times.first, times.last) {
        let _ = writeln!(out, "from:    {}", rfc3339(first));
        let _ = writeln!(out, "to:      {}", rfc3339(last));
    }
    let _ = writeln!(out, "\nby level:");
    for level in Level::ALL {
        if let Some(n) = levels.get(&level) {
            let _ = writeln!(out, "  {:<6} {n:>12}", level.as_str());
        }
    }
    section(&mut out, "busiest actors", &actors);
    if other_actors > 0 {
        let _ = writeln!(
            out,
            "  ({other_actors} records of actors past the first {MAX_DISTINCT})"
        );
    }
    section(&mut out, "by target", &targets);
    if other_targets > 0 {
        let _ = writeln!(
            out,
            "  ({other_targets} records of targets past the first {MAX_DISTINCT})"
        );
    }
    span_section(&mut out, &spans);
    if other_spans > 0 {
        let _ = writeln!(
            out,
            "  ({other_spans} span records of names past the first {MAX_DISTINCT})"
        );
    }
    histogram(&mut out, times);

    let _ = writeln!(out, "\nseq:");
    let (mut gaps, mut missing) = (Vec::new(), 0u64);
    let mut previous_end: Option<u64> = None;
    for (&start, &end) in &seqs.runs {
        if let Some(before) = previous_end {
            missing += start - before - 1;
            if gaps.len() < 10 {
                gaps.push((before + 1, start - 1));
            }
        }
        previous_end = Some(end);
    }
    let gap_count = seqs.runs.len().saturating_sub(1);
    if let (Some((first, _)), Some((_, last))) =
        (seqs.runs.first_key_value(), seqs.runs.last_key_value())
    {
        let _ = writeln!(
            out,
            "  range {first}..={last}, {missing} missing in {gap_count} gaps, {} repeated",
            seqs.repeated
        );
    }
    if seqs.unplaced > 0 {
        let _ = writeln!(
            out,
            "  {} seqs beyond the first {MAX_RUNS} runs were counted but not placed",
            seqs.unplaced
        );
    }
    for (from, to) in &gaps {
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

/// Span durations by name, from span records: the ten most frequent names.
fn span_section(out: &mut String, spans: &HashMap<String, Durations>) {
    use std::fmt::Write as _;
    if spans.is_empty() {
        return;
    }
    let mut sorted: Vec<(&String, &Durations)> = spans.iter().collect();
    sorted.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    let _ = writeln!(
        out,
        "\nspan durations (top 10 of {}):\n  {:<30} {:>10} {:>9} {:>9} {:>9} {:>9}",
        sorted.len(),
        "span",
        "count",
        "p50",
        "p90",
        "p99",
        "max"
    );
    for (name, d) in sorted.into_iter().take(10) {
        let name = trail::terminal::escape_controls(name);
        let _ = writeln!(
            out,
            "  {name:<30} {:>10} {:>9} {:>9} {:>9} {:>9}",
            d.count,
            short(d.percentile(50)),
            short(d.percentile(90)),
            short(d.percentile(99)),
            short(d.max)
        );
    }
}

/// Events per time bucket, as bars; the bucket is the smallest of a few round sizes that
/// gives at most 30 rows.
fn histogram(out: &mut String, mut times: Timeline) {
    use std::fmt::Write as _;
    let (Some(first), Some(last)) = (times.first, times.last) else {
        return;
    };
    let span = last - first;
    // The timeline only moved to a coarser size when the finer one needed thousands of
    // buckets, so the size chosen here is never finer than the one the counts are in.
    let size = (times.size..BUCKETS.len())
        .find(|&i| span / BUCKETS[i] < 30)
        .unwrap_or(BUCKETS.len() - 1);
    times.regroup(size);
    let bucket = BUCKETS[size];
    let start = first / bucket * bucket;
    let mut counts = vec![0u64; ((last - start) / bucket + 1) as usize];
    for (k, n) in &times.counts {
        counts[(k - first / bucket) as usize] += n;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_percentiles_are_within_a_percent_and_exact_for_round_values() {
        for nanos in [0, 1, 255, 256, 1_000, 123_456_789, u64::MAX / 3] {
            let low = lower_bound(bucket(nanos));
            assert!(low <= nanos && nanos - low <= nanos / 128, "{nanos}: {low}");
        }
        let mut d = Durations::default();
        // 1 to 100 ms in steps of 2^20 ns, bucket bounds all: exact percentiles.
        for i in 1..=100u64 {
            d.add(i << 20);
        }
        assert_eq!(d.percentile(50), 50 << 20);
        assert_eq!(d.percentile(90), 90 << 20);
        assert_eq!(d.percentile(99), 99 << 20);
        assert_eq!(d.max, 100 << 20);
        assert_eq!(short(830), "830ns");
        assert_eq!(short(12_500), "12.5µs");
        assert_eq!(short(3_250_000), "3.25ms");
        assert_eq!(short(2_000_000_000), "2s");
    }

    #[test]
    fn runs_find_gaps_and_repeats_in_any_order() {
        let mut runs = Runs::default();
        for seq in [5, 1, 2, 9, 3, 2, 10, 8, 5, 12] {
            runs.add(seq);
        }
        let found: Vec<(u64, u64)> = runs.runs.iter().map(|(&s, &e)| (s, e)).collect();
        assert_eq!(found, [(1, 3), (5, 5), (8, 10), (12, 12)]);
        assert_eq!(runs.repeated, 2);
        assert_eq!(runs.unplaced, 0);
    }

    #[test]
    fn runs_stay_bounded_when_every_other_seq_is_missing() {
        let mut runs = Runs::default();
        let seqs = 2 * MAX_RUNS as u64 + 100;
        for seq in (0..seqs).map(|i| i * 2) {
            runs.add(seq);
        }
        assert_eq!(runs.runs.len(), MAX_RUNS);
        assert_eq!(runs.unplaced, seqs - MAX_RUNS as u64);
    }

    #[test]
    fn the_timeline_keeps_few_buckets_and_every_count() {
        let mut times = Timeline::default();
        // One event a millisecond for ten minutes, then one a day later.
        for i in 0..600_000u64 {
            times.add(1_000 * S + i * 1_000_000);
        }
        times.add(87_400 * S);
        assert!(times.counts.len() <= 4096, "{}", times.counts.len());
        assert_eq!(times.counts.values().sum::<u64>(), 600_001);
        let mut out = String::new();
        histogram(&mut out, times);
        assert!(out.contains("events per 1h"), "{out}");
        let rows: u64 = out
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(rows, 600_001, "{out}");
    }
}
