//! Shipping figures, printed (not a test): `trail ship`'s throughput against a plain
//! publisher of the same messages with the same client, in one run, and the lag of a
//! writer's own shipper (`Builder::ship`) under a steady load.
//!
//! ```console
//! $ cargo run --release --features ship --example ship_bench -- [--records N] [--rate R] [--seconds S]
//! ```
//!
//! It starts its own `nats-server -js` (from PATH) on a free loopback port with a
//! throwaway store, and stops it at the end.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;

/// Messages in flight at once for the plain publisher, as many as the shipper allows.
const WINDOW: usize = 256;

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

fn main() {
    let records = arg("--records", 100_000);
    let rate = arg("--rate", 100_000);
    let seconds = arg("--seconds", 10);
    let server = start_server();
    println!("nats-server on {}, {records} records", server.url);

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

    let plain = plain_publisher(&server.url, dir.path(), records);
    let mut options = trail::ship::ShipOptions::new(dir.path(), server.url.as_str());
    options.name = Some("app".to_owned());
    let started = Instant::now();
    let summary = trail::ship::ship(&options).expect("shipping");
    let shipped = summary.shipped as f64 / started.elapsed().as_secs_f64();
    assert_eq!(summary.shipped, records);
    println!(
        "plain publisher  {plain:>9.0} messages/s ({WINDOW} in flight, no exactly-once guards)"
    );
    println!("trail ship       {shipped:>9.0} records/s");
    println!("ratio            {:.2}", shipped / plain);

    lag(&server.url, rate, seconds);
}

/// Publishes the same bodies and headers into another JetStream stream, `WINDOW` in
/// flight, without message ids or expected sequences: what the client and server do
/// without the shipper's guards. Reading and encoding happen before the clock starts.
fn plain_publisher(url: &str, dir: &std::path::Path, records: u64) -> f64 {
    let mut encoder = trail::convert::RecordEncoder::new(trail::Format::Json);
    let mut messages = Vec::with_capacity(records as usize);
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
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let client = async_nats::connect(url).await.expect("a connection");
            let js = jetstream::new(client);
            js.create_stream(stream::Config {
                name: "PLAIN".into(),
                subjects: vec!["plain.>".into()],
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .expect("the PLAIN stream");
            let started = Instant::now();
            let mut window = std::collections::VecDeque::with_capacity(WINDOW);
            for (headers, body) in messages {
                if window.len() >= WINDOW {
                    let ack: jetstream::context::PublishAckFuture =
                        window.pop_front().expect("a message in flight");
                    ack.await.expect("stored");
                }
                let ack = js
                    .publish_with_headers("plain.0123456789abcdef", headers, body.into())
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
    }
}
