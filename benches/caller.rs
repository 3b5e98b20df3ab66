//! The caller's cost of one logging call.
//!
//! - `disabled/empty_loop`: the harness alone, for reference.
//! - `disabled/no_sink`: a call before any writer is installed.
//! - `disabled/below_level`: a `debug!` call while the writer's filter is `info`.
//! - `disabled/filtered_out_by_directive`: an `info!` call whose target a directive turns
//!   off (`info,quiet=off`).
//! - `capture/actor_4_fields_null_sink`: the standard event (an actor and four fields:
//!   u64, u32, f64, &str) into a sink that drops it: timestamp, thread, captured values,
//!   no queue.
//! - `enabled/actor_4_fields`: the standard event with the background writer, timed in
//!   bursts that fit the queue, with a flush between bursts outside the timing, so that
//!   the figure is the caller's own cost and not the writer's pace.
//! - `enabled/str_200`: an event with one 200-byte string field (past the inline
//!   capacity: it spills to the heap on the caller), the same way.
//! - `enabled/display_value`: an event with a value that is only `Display`, rendered on
//!   the caller, the same way.
//! - `encode/{json,csv,text,bincode}`: the writer's cost of encoding the standard event in
//!   each format (no file).
//! - `capture/actor_4_fields_null_sink_in_span` and `enabled/actor_4_fields_in_span`: the
//!   standard event inside a span (`scope!("charge")`), beside the same event outside;
//!   `enabled/actor_4_fields_in_span_with_field` inside a span with a field of its own
//!   (`scope!("charge", request_id = "r-81")`), as `#[trail::instrument]` makes them.
//! - `span/trail_enter_exit`: making and leaving a span (`scope!("charge")`, span records
//!   off); `span/tracing_enter_exit`: the same pair in `tracing` (`info_span!` and
//!   `enter`), with a `Registry` and a layer that does nothing.
//!
//! The latency percentiles and the comparison with other loggers are in `perf/`.
//!
//! Run with `cargo bench --bench caller`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

const BURST: u64 = 8_192;

#[inline(always)]
fn standard_event(user: u64, order_id: u64, quantity: u32, price: f64, sku: &str) {
    trail::info!(
        actor = user,
        order_id,
        quantity,
        price,
        sku,
        "added {quantity} x {sku}"
    );
}

/// Keeps the last record, for the encoding benchmarks.
struct Keep(std::sync::Mutex<Option<trail::Record>>);

impl trail::Sink for Keep {
    fn submit(&self, record: &trail::Record) {
        *self.0.lock().unwrap() = Some(record.clone());
    }
    fn flush(&self) {}
}

/// A value that can only be displayed.
struct Money(u64);

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02} EUR", self.0 / 100, self.0 % 100)
    }
}

/// Times `event` in bursts that fit the queue, flushing between bursts untimed.
fn in_bursts(c: &mut Criterion, name: &str, event: impl Fn(u64)) {
    c.benchmark_group("enabled").bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(BURST);
                let start = Instant::now();
                for i in 0..n {
                    event(i);
                }
                timed += start.elapsed();
                trail::flush();
                left -= n;
            }
            timed
        })
    });
}

/// Drops every record: what capture costs without the queue.
struct NullSink;

impl trail::Sink for NullSink {
    fn submit(&self, record: &trail::Record) {
        black_box(record);
    }
    fn flush(&self) {}
}

/// The standard event at a disabled level, written inline so that the arguments sit
/// behind the gate, as they do in real code.
fn disabled(c: &mut Criterion, name: &str) {
    c.benchmark_group("disabled").bench_function(name, |b| {
        b.iter(|| {
            trail::debug!(
                actor = 42_u64,
                order_id = black_box(7_u64),
                quantity = 3_u32,
                price = 9.5_f64,
                sku = "A-1001",
                "added {quantity} x {sku}"
            )
        })
    });
}

fn bench(c: &mut Criterion) {
    c.benchmark_group("disabled")
        .bench_function("empty_loop", |b| b.iter(|| black_box(7_u64)));
    disabled(c, "no_sink");

    trail::set_sink(&NullSink, trail::LevelFilter::Info).expect("no sink yet");
    c.benchmark_group("capture")
        .bench_function("actor_4_fields_null_sink", |b| {
            b.iter(|| standard_event(42, black_box(7), 3, 9.5, "A-1001"))
        });
    {
        let _span = trail::scope!("charge");
        c.benchmark_group("capture")
            .bench_function("actor_4_fields_null_sink_in_span", |b| {
                b.iter(|| standard_event(42, black_box(7), 3, 9.5, "A-1001"))
            });
    }
    trail::clear_sink();

    c.benchmark_group("span")
        .bench_function("trail_enter_exit", |b| {
            b.iter(|| {
                let guard = trail::scope!("charge");
                black_box(&guard);
            })
        });
    {
        use tracing_subscriber::layer::SubscriberExt;
        let registry =
            tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new());
        tracing::subscriber::with_default(registry, || {
            c.benchmark_group("span")
                .bench_function("tracing_enter_exit", |b| {
                    b.iter(|| {
                        let span = tracing::info_span!("charge");
                        let entered = span.enter();
                        black_box(&entered);
                    })
                });
        });
    }

    let keep: &'static Keep = Box::leak(Box::new(Keep(std::sync::Mutex::new(None))));
    trail::set_sink(keep, trail::LevelFilter::Info).expect("no sink now");
    standard_event(42, 7, 3, 9.5, "A-1001");
    trail::clear_sink();
    let record = keep.0.lock().unwrap().take().expect("one record");
    for (name, format) in [
        ("json", trail::Format::Json),
        ("csv", trail::Format::Csv),
        ("text", trail::Format::Text),
        ("bincode", trail::Format::Binary),
    ] {
        let mut encode = trail::__bench::encoder(format);
        let mut out = Vec::with_capacity(1 << 20);
        let mut seq = 0;
        c.benchmark_group("encode").bench_function(name, |b| {
            b.iter(|| {
                if out.len() > (1 << 19) {
                    out.clear();
                }
                seq += 1;
                encode(&record, seq, &mut out);
            })
        });
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let guard = trail::builder()
        .dir(dir.path())
        .name("bench")
        .level(trail::LevelFilter::Info)
        .filter_from_env(false)
        .install()
        .expect("install the writer");
    disabled(c, "below_level");

    // A call site that a directive turns off while its level passes the run-time gate: the
    // gate's load, then the call site's cached interest.
    trail::set_filter("info,quiet=off").expect("valid directives");
    c.benchmark_group("disabled")
        .bench_function("filtered_out_by_directive", |b| {
            b.iter(|| trail::info!(target: "quiet", order_id = black_box(7_u64), "muted"))
        });
    trail::set_filter("info").expect("valid directives");

    in_bursts(c, "actor_4_fields", |i| {
        standard_event(42, black_box(i), 3, 9.5, "A-1001")
    });
    {
        let _span = trail::scope!("charge");
        in_bursts(c, "actor_4_fields_in_span", |i| {
            standard_event(42, black_box(i), 3, 9.5, "A-1001")
        });
    }
    {
        let _span = trail::scope!("charge", request_id = "r-81");
        in_bursts(c, "actor_4_fields_in_span_with_field", |i| {
            standard_event(42, black_box(i), 3, 9.5, "A-1001")
        });
    }
    let long = "x".repeat(200);
    in_bursts(c, "str_200", |i| {
        trail::info!(
            actor = 42_u64,
            i,
            text = black_box(long.as_str()),
            "long text"
        )
    });
    in_bursts(
        c,
        "display_value",
        |i| trail::info!(actor = 42_u64, amount = %Money(black_box(i)), "charged"),
    );

    let stats = guard.shutdown();
    eprintln!(
        "writer: {} records, {} bytes, {} dropped",
        stats.written, stats.bytes, stats.dropped
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
