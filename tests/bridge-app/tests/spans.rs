//! `tracing` spans through the bridge: events carry their innermost span's name and ids,
//! parents link as in `tracing` (and to an enclosing `trail::scope!` span), span records
//! have their busy and idle time, and with an OpenTelemetry layer the ids are its own.

use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use trail::read::{FieldValue, LogRecord};
use trail::testing::ManualClock;
use trail::{SpanContext, SpanTiming};

/// The writer is global: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn span(r: &LogRecord) -> &SpanContext {
    r.span
        .as_ref()
        .unwrap_or_else(|| panic!("{:?} has no span", r.msg))
}

fn read(dir: &std::path::Path) -> Vec<LogRecord> {
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn tracing_spans_give_events_their_context_and_write_timed_records() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let guard = trail::builder()
        .dir(dir.path())
        .span_records(true)
        .clock(clock.clone())
        .install()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(trail::bridge::tracing::layer());
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request", user = 7);
        request.in_scope(|| {
            clock.advance(Duration::from_millis(1));
            let charge = tracing::info_span!("charge", order_id = 9);
            charge.in_scope(|| {
                clock.advance(Duration::from_millis(3));
                tracing::info!(amount = 3, "charged");
            });
            drop(charge);
            tracing::info!("done");
        });
        // Entered twice, with 5 ms between: busy 3 ms, idle 5 ms.
        let poll = tracing::info_span!("poll");
        poll.in_scope(|| clock.advance(Duration::from_millis(2)));
        clock.advance(Duration::from_millis(5));
        poll.in_scope(|| clock.advance(Duration::from_millis(1)));
        drop(poll);
        drop(request);
        // A tracing span inside a trail span is its child.
        let _job = trail::scope!("job");
        tracing::info_span!("step").in_scope(|| tracing::info!("stepping"));
        trail::info!("in job");
    });
    drop(guard);

    let records = read(dir.path());
    let msgs: Vec<&str> = records.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(
        msgs,
        ["charged", "charge", "done", "poll", "request", "stepping", "step", "in job", "job"]
    );
    let [charged, charge, done, poll, request, stepping, step, job, _] = &records[..] else {
        unreachable!()
    };
    assert_eq!(span(charged).name, "charge");
    assert_eq!(
        charged.fields,
        [
            ("amount".to_owned(), FieldValue::U64(3)),
            ("order_id".to_owned(), FieldValue::U64(9)),
            ("user".to_owned(), FieldValue::U64(7)),
        ]
    );
    assert_eq!(
        span(charged),
        span(charge),
        "the span record has its own context"
    );
    assert_eq!(span(done).name, "request");
    assert_eq!(span(done).parent_id, [0; 8], "a root span");
    assert_eq!(span(charge).parent_id, span(done).span_id);
    assert_eq!(span(charge).trace_id, span(done).trace_id);
    assert_eq!(span(poll).parent_id, [0; 8]);
    assert_ne!(span(poll).trace_id, span(done).trace_id, "a new trace");

    assert_eq!(
        charge.span_timing(),
        Some(SpanTiming {
            start_ns: T0 + MS,
            end_ns: T0 + 4 * MS,
            busy_ns: 3 * MS,
            idle_ns: 0
        })
    );
    assert_eq!(charge.field("order_id"), Some(&FieldValue::U64(9)));
    assert_eq!(charge.target, "spans", "the span's target");
    assert_eq!(
        poll.span_timing(),
        Some(SpanTiming {
            start_ns: T0 + 4 * MS,
            end_ns: T0 + 12 * MS,
            busy_ns: 3 * MS,
            idle_ns: 5 * MS
        })
    );
    assert_eq!(
        request.span_timing(),
        Some(SpanTiming {
            start_ns: T0,
            end_ns: T0 + 12 * MS,
            busy_ns: 4 * MS,
            idle_ns: 8 * MS
        })
    );
    assert_eq!(request.field("user"), Some(&FieldValue::U64(7)));
    assert_eq!(span(stepping).name, "step");
    assert_eq!(span(step).name, "step");
    assert_eq!(span(stepping).parent_id, span(job).span_id);
    assert_eq!(span(stepping).trace_id, span(job).trace_id);
    assert!(charged.span_timing().is_none());
}

#[test]
fn an_opentelemetry_context_gives_its_ids() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder().dir(dir.path()).install().unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .with(trail::bridge::tracing::layer());
    let ids = tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request");
        let charge = tracing::info_span!(parent: &request, "charge");
        charge.in_scope(|| tracing::info!("charged"));
        let otel = |span: &tracing::Span| {
            let context = span.context();
            let ids = context.span().span_context().clone();
            (ids.trace_id().to_bytes(), ids.span_id().to_bytes())
        };
        (otel(&request), otel(&charge))
    });
    drop(guard);

    let records = read(dir.path());
    assert_eq!(records.len(), 1);
    let charged = span(&records[0]);
    let ((request_trace, request_span), (charge_trace, charge_span)) = ids;
    assert_ne!(charge_trace, [0; 16]);
    assert_eq!(charge_trace, request_trace);
    assert_eq!(charged.trace_id, charge_trace);
    assert_eq!(charged.span_id, charge_span);
    assert_eq!(charged.parent_id, request_span);
    assert_eq!(charged.name, "charge");
}
