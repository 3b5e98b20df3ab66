//! Shipping figures, printed (not a test): `trail ship`'s throughput against a plain
//! publisher of the same messages with the same client, in one run, and the lag of a
//! writer's own shipper (`Builder::ship`) under a steady load.
//!
//! ```console
//! $ cargo run --release --features ship --example ship_bench -- [--records N] [--rounds K] [--rate R] [--seconds S]
//! ```
//!
//! It starts its own `nats-server -js` (from PATH) on a free loopback port with a
//! throwaway store, and stops it at the end. The plain publisher and the shipper take
//! turns, `--rounds` times each (3 by default), each into JetStream streams of its own,
//! so that a change in the machine's load touches both; the ratio is that of the medians.
//! On Linux each turn also shows the CPU time per message of this process and of the
//! server, which does not depend on the load.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;

/// Messages in flight at once for the plain publisher, as many as the shipper allows.
const WINDOW: usize = 1024;

struct Server {
    child: Child,
    url: String,
    _store: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let store = tempfile::tempdir().expect("a store directory");
    let child = Command::new("nats-server")
        .args(["-js", "-sd"])
        .arg(store.path())
        .args(["-p", &port.to_string(), "-a", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server on PATH");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    Server {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        _store: store,
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

/// CPU time (user and system) used so far by the process `pid` ("self" for this one,
/// "thread-self" for this thread alone), where /proc tells it.
fn cpu(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel counts in USER_HZ, 100 a second on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// One turn's rate and its CPU time per message, in this process and in the server.
struct Turn {
    rate: f64,
    client_us: Option<f64>,
    main_us: Option<f64>,
    server_us: Option<f64>,
}

impl Turn {
    fn measure(server: &Server, count: u64, run: impl FnOnce() -> f64) -> Turn {
        let pid = server.child.id().to_string();
        let before = (cpu("self"), cpu(&pid), cpu("thread-self"));
        let rate = run();
        let after = (cpu("self"), cpu(&pid), cpu("thread-self"));
        let per = |a: Option<Duration>, b: Option<Duration>| {
            Some((b? - a?).as_secs_f64() * 1e6 / count as f64)
        };
        Turn {
            rate,
            client_us: per(before.0, after.0),
            main_us: per(before.2, after.2),
            server_us: per(before.1, after.1),
        }
    }

    fn show(&self, what: &str, round: u64) {
        let us = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v:.1}"));
        println!(
            "  round {round} {what:<7} {:>9.0} messages/s; CPU per message: {} us here ({} on the publishing thread), {} us in the server",
            self.rate,
            us(self.client_us),
            us(self.main_us),
            us(self.server_us)
        );
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let records = arg("--records", 100_000);
    let rounds = arg("--rounds", 3).max(1);
    let rate = arg("--rate", 100_000);
    let seconds = arg("--seconds", 10);
    let server = start_server();
    println!(
        "nats-server on {}, {records} records, {rounds} rounds",
        server.url
    );

    // The stream to ship: the records the tests ship (about 200 bytes of JSON each).
    let dir = tempfile::tempdir().expect("a stream directory");
    {
        let _guard = trail::builder()
            .dir(dir.path())
            .name("app")
            .service("bench")
            .host("bench-host")
            .install()
            .expect("a writer");
        for i in 0..records {
            trail::info!(actor = i % 17, n = i, "record {i}");
        }
    }

    let messages = plain_messages(dir.path());
    let (mut plain, mut guarded, mut shipped) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let turn = Turn::measure(&server, records, || {
            plain_publisher(&server.url, &messages, &format!("plain{round}"), false)
        });
        turn.show("plain", round);
        plain.push(turn.rate);
        let turn = Turn::measure(&server, records, || {
            plain_publisher(&server.url, &messages, &format!("guarded{round}"), true)
        });
        turn.show("guarded", round);
        guarded.push(turn.rate);
        let turn = Turn::measure(&server, records, || {
            let mut options = trail::ship::ShipOptions::new(dir.path(), server.url.as_str());
            options.name = Some("app".to_owned());
            // A JetStream stream and a checkpoint of its own for each round.
            options.jetstream_stream = format!("SHIP{round}");
            options.subject = format!("ship{round}");
            let started = Instant::now();
            let summary = trail::ship::ship(&options).expect("shipping");
            assert_eq!(summary.shipped, records);
            summary.shipped as f64 / started.elapsed().as_secs_f64()
        });
        turn.show("ship", round);
        shipped.push(turn.rate);
    }
    let (plain, guarded, shipped) = (median(plain), median(guarded), median(shipped));
    println!(
        "plain publisher  {plain:>9.0} messages/s (median; {WINDOW} in flight, no exactly-once guards)"
    );
    println!(
        "guarded          {guarded:>9.0} messages/s (median; the same with the two guard headers, each answer awaited)"
    );
    println!("trail ship       {shipped:>9.0} records/s (median)");
    println!("ratio            {:.2}", shipped / plain);
    println!("ratio to guarded {:.2}", shipped / guarded);

    lag(&server.url, rate, seconds);
}

/// The bodies and headers the plain publisher sends: the records' canonical JSON lines
/// and the shipper's headers but the guards, made before any clock starts.
fn plain_messages(dir: &std::path::Path) -> Vec<(HeaderMap, Vec<u8>)> {
    let mut encoder = trail::convert::RecordEncoder::new(trail::Format::Json);
    let mut messages = Vec::new();
    for record in trail::read::open_stream(dir, "app").expect("the stream") {
        let record = record.expect("a record");
        let mut body = Vec::new();
        encoder.encode(&record, &mut body);
        body.pop();
        let mut headers = HeaderMap::new();
        headers.insert("Trail-Stream-Id", "0123456789abcdef0123456789abcdef");
        headers.insert("Trail-Seq", record.seq.to_string().as_str());
        headers.insert("Trail-Level", record.level.as_str());
        headers.insert("Trail-Service", "bench");
        headers.insert("Trail-Host", "bench-host");
        messages.push((headers, body));
    }
    messages
}

/// Publishes `messages` into a JetStream stream of this round, `WINDOW` in flight,
/// without message ids or expected sequences: what the client and server do without the
/// shipper's guards, and without reading or encoding.
///
/// `guarded` adds the shipper's two guards (`Nats-Msg-Id` and
/// `Nats-Expected-Last-Sequence`), also made before the clock starts: what the server's
/// exactly-once checks cost, apart from reading.
fn plain_publisher(url: &str, messages: &[(HeaderMap, Vec<u8>)], name: &str, guarded: bool) -> f64 {
    let records = messages.len();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let client = async_nats::connect(url).await.expect("a connection");
            let js = jetstream::new(client);
            js.create_stream(stream::Config {
                name: name.to_uppercase(),
                subjects: vec![format!("{name}.>")],
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .expect("the plain publisher's stream");
            // The copies the client takes, made before the clock starts.
            let messages: Vec<(HeaderMap, bytes::Bytes)> = messages
                .iter()
                .enumerate()
                .map(|(i, (headers, body))| {
                    let mut headers = headers.clone();
                    if guarded {
                        let id = format!("0123456789abcdef0123456789abcdef-{}", i + 1);
                        headers.insert("Nats-Msg-Id", id.as_str());
                        headers.insert("Nats-Expected-Last-Sequence", i.to_string().as_str());
                    }
                    (headers, bytes::Bytes::copy_from_slice(body))
                })
                .collect();
            let subject = format!("{name}.0123456789abcdef");
            let started = Instant::now();
            let mut window = std::collections::VecDeque::with_capacity(WINDOW);
            for (headers, body) in messages {
                if window.len() >= WINDOW {
                    let ack: jetstream::context::PublishAckFuture =
                        window.pop_front().expect("a message in flight");
                    ack.await.expect("stored");
                }
                let ack = js
                    .publish_with_headers(subject.clone(), headers, body)
                    .await
                    .expect("sent");
                window.push_back(ack);
            }
            for ack in window {
                ack.await.expect("stored");
            }
            records as f64 / started.elapsed().as_secs_f64()
        })
}

/// Writes `rate` events a second for `seconds` seconds while the writer's own shipper
/// ships them, and samples every 10 ms how far the server is behind the writer: in
/// records, and in the age of the oldest record not shipped yet.
fn lag(url: &str, rate: u64, seconds: u64) {
    let dir = tempfile::tempdir().expect("a stream directory");
    let progress = Arc::new(trail::ship::Progress::default());
    let mut options = trail::ship::ShipOptions::new("", url);
    options.jetstream_stream = "LAG".to_owned();
    options.subject = "lag".to_owned();
    options.progress = Some(progress.clone());
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .rotate_bytes(64 * 1024 * 1024)
        .shutdown_timeout(Duration::from_secs(120))
        .ship(options)
        .install()
        .expect("a writer");
    let total = rate * seconds;
    // When record `seq` was written: seq i + 1 is the event i.
    let mut written_at = Vec::with_capacity(total as usize + 1);
    written_at.push(Instant::now());
    let started = Instant::now();
    let mut samples: Vec<(u64, Duration)> = Vec::new();
    let mut next_sample = started;
    for i in 0..total {
        // Pace: event i is due at i / rate seconds.
        let due = started + Duration::from_nanos(i * 1_000_000_000 / rate);
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        trail::info!(actor = i % 17, n = i, "record {i}");
        written_at.push(Instant::now());
        let now = Instant::now();
        if now >= next_sample {
            next_sample = now + Duration::from_millis(10);
            let shipped = progress.snapshot().shipped_seq.unwrap_or(0);
            let written = i + 1;
            let behind = written.saturating_sub(shipped);
            let age = if behind == 0 {
                Duration::ZERO
            } else {
                now.duration_since(written_at[shipped as usize + 1])
            };
            samples.push((behind, age));
        }
    }
    let writing = started.elapsed();
    drop(guard);
    let shipped = progress.snapshot().shipped_seq.unwrap_or(0);
    // The first second is the shipper connecting and creating its streams.
    let steady: Vec<(u64, Duration)> = samples.iter().skip(100).copied().collect();
    // Whether the lag grows: the median of each half of the run.
    let half = |part: &[(u64, Duration)]| {
        let mut r: Vec<u64> = part.iter().map(|s| s.0).collect();
        r.sort_unstable();
        r.get(r.len() / 2).copied().unwrap_or(0)
    };
    let (first, second) = steady.split_at(steady.len() / 2);
    let mut records: Vec<u64> = steady.iter().map(|s| s.0).collect();
    let mut ages: Vec<Duration> = steady.iter().map(|s| s.1).collect();
    records.sort_unstable();
    ages.sort_unstable();
    let at = |p: f64, n: usize| ((n as f64 * p) as usize).min(n.saturating_sub(1));
    println!(
        "lag at {:.0} events/s for {:.1} s ({} samples after the first second, {shipped} of {total} shipped at shutdown):",
        total as f64 / writing.as_secs_f64(),
        writing.as_secs_f64(),
        steady.len()
    );
    if !steady.is_empty() {
        println!(
            "  records  median {}  p99 {}",
            records[at(0.5, records.len())],
            records[at(0.99, records.len())]
        );
        println!(
            "  ms       median {:.1}  p99 {:.1}",
            ages[at(0.5, ages.len())].as_secs_f64() * 1e3,
            ages[at(0.99, ages.len())].as_secs_f64() * 1e3
        );
        println!(
            "  records  median of the first half {}, of the second half {}",
            half(first),
            half(second)
        );
    }
}
