//! `trail ship` against a real nats-server: every record lands in JetStream exactly once,
//! in order, whatever happens to the shipper or the server.
//!
//! Each test starts its own `nats-server -js` on a free loopback port with a throwaway
//! store, and stops it at the end. Without the `nats-server` binary the tests fail and say
//! so: shipping that is not checked is not shipping.

#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::nats::{block_on, free_port, read_messages, LossyRelay, NatsServer};
use common::{serial, stderr, stream_id, wait_with_timeout, TRAIL};
use futures_util::StreamExt;
use trail::ship::__deps::{async_nats, tokio};

/// Writes `count` records into a stream in `dir` that rotates often and compresses
/// what it seals.
fn write_stream(dir: &Path, count: u64, format: trail::Format) {
    let _turn = serial();
    let guard = trail::builder()
        .dir(dir)
        .name("app")
        .format(format)
        .rotate_bytes(512 * 1024)
        .compress(true)
        .service("checkout")
        .host("test-host")
        .install()
        .unwrap();
    for i in 0..count {
        trail::info!(actor = i % 17, n = i, "record {i}");
    }
    drop(guard);
}

/// Writes `count` short records into a stream in `dir` sealed every 32 KiB, keeping the
/// last `keep` segments when given.
fn write_small_segments(dir: &Path, count: u64, keep: Option<usize>) {
    let _turn = serial();
    let mut builder = trail::builder()
        .dir(dir)
        .name("app")
        .rotate_bytes(32 * 1024);
    if let Some(keep) = keep {
        builder = builder.keep_segments(keep);
    }
    let guard = builder.install().unwrap();
    for i in 0..count {
        trail::info!(n = i, "record {i}");
    }
    drop(guard);
}

fn ship(dir: &Path, server: &NatsServer, extra: &[&str]) -> Command {
    ship_to(dir, &server.url(), extra)
}

fn ship_to(dir: &Path, url: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(TRAIL);
    command
        .arg("ship")
        .arg(dir)
        .args(["--to", url])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run(mut command: Command) -> Output {
    command.output().unwrap()
}

/// One message as read back from JetStream.
struct Shipped {
    subject: String,
    stream_id: String,
    seq: u64,
    level: String,
    service: String,
    host: String,
    msg_id: String,
    body: serde_json::Value,
}

/// Reads the whole JetStream stream back, in its order, with an ordered consumer.
fn read_back(server: &NatsServer, stream: &str) -> Vec<Shipped> {
    let url = server.url();
    let stream = stream.to_owned();
    block_on(async move {
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut out = Vec::new();
        for name in streams_of(&js, &stream).await {
            let mut stream = js.get_stream(&name).await.unwrap();
            let held = stream.info().await.unwrap().state.messages;
            for message in read_messages(&stream, held).await {
                let headers = message
                    .headers
                    .clone()
                    .expect("shipped messages have headers");
                let header = |name: &str| {
                    headers
                        .get(name)
                        .unwrap_or_else(|| panic!("no {name} header"))
                        .as_str()
                        .to_owned()
                };
                out.push(Shipped {
                    subject: message.subject.to_string(),
                    stream_id: header("Trail-Stream-Id"),
                    seq: header("Trail-Seq").parse().unwrap(),
                    level: header("Trail-Level"),
                    service: header("Trail-Service"),
                    host: header("Trail-Host"),
                    msg_id: header("Nats-Msg-Id"),
                    body: serde_json::from_slice(&message.payload).unwrap(),
                });
            }
        }
        out
    })
}

/// The JetStream streams that hold what was shipped as `name`: `name` itself when it takes
/// the sources' subjects, otherwise each source's own stream `name_<stream id>`.
async fn streams_of(js: &async_nats::jetstream::Context, name: &str) -> Vec<String> {
    if let Ok(mut stream) = js.get_stream(name).await {
        if !stream.info().await.unwrap().config.subjects.is_empty() {
            return vec![name.to_owned()];
        }
    }
    let mut names: Vec<String> = js
        .stream_names()
        .filter_map(|n| async move { n.ok() })
        .filter(|n| std::future::ready(n.starts_with(&format!("{name}_"))))
        .collect()
        .await;
    names.sort();
    names
}

/// Checks that each source's records arrived exactly once each, in seq order, from 1 to
/// its count, and that headers and body agree.
fn assert_exactly_once(shipped: &[Shipped], expected: &BTreeMap<String, u64>) {
    let mut next: BTreeMap<&str, u64> = BTreeMap::new();
    for m in shipped {
        let want = next.entry(m.stream_id.as_str()).or_insert(1);
        assert_eq!(
            m.seq, *want,
            "source {}: expected seq {} next, found {} (a duplicate, a gap or a reordering)",
            m.stream_id, want, m.seq
        );
        *want += 1;
        assert_eq!(m.subject, format!("trail.{}", m.stream_id));
        assert_eq!(m.msg_id, format!("{}-{}", m.stream_id, m.seq));
        assert_eq!(m.body["seq"], m.seq);
        assert_eq!(m.body["level"], m.level.as_str());
        assert_eq!(m.body["msg"], format!("record {}", m.seq - 1));
        assert_eq!(m.body["fields"]["n"], m.seq - 1);
        assert_eq!(
            (m.service.as_str(), m.host.as_str()),
            ("checkout", "test-host")
        );
    }
    let got: BTreeMap<String, u64> = next
        .into_iter()
        .map(|(id, n)| (id.to_owned(), n - 1))
        .collect();
    assert_eq!(&got, expected);
}

#[test]
fn ships_every_record_exactly_once_while_the_shipper_is_killed_again_and_again() {
    const RECORDS: u64 = 200_000;
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), RECORDS, trail::Format::Json);
    let mut rng = fastrand::Rng::with_seed(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    let mut kills = 0;
    let started = Instant::now();
    while kills < 12 {
        let mut child = ship(dir.path(), &server, &[]).spawn().unwrap();
        // Anywhere from while it connects to well into publishing: a turn ships at most
        // about a tenth of the records at the shipper's pace on two cores (about 100,000
        // a second), so that it is killed at least ten times before it is done.
        std::thread::sleep(Duration::from_millis(rng.u64(10..300)));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "shipping is too slow to be killed 12 times"
        );
        if finished {
            assert!(status.success(), "the shipper failed on its own");
            break;
        }
        kills += 1;
    }
    assert!(kills >= 10, "the shipper was killed only {kills} times");
    let last = run(ship(dir.path(), &server, &[]));
    assert!(last.status.success(), "{}", stderr(&last));
    let id = stream_id(dir.path());
    // The killed turns were killed while shipping, not only while connecting.
    let there: u64 = stderr(&last)
        .split_once(" already there)")
        .and_then(|(before, _)| before.rsplit_once('(')?.1.parse().ok())
        .unwrap_or(0);
    assert!(
        there > 0,
        "the killed turns shipped nothing: {}",
        stderr(&last)
    );
    let shipped = read_back(&server, "TRAIL");
    assert_exactly_once(&shipped, &BTreeMap::from([(id.clone(), RECORDS)]));

    // Once everything is there, a new run finds it there and sends nothing.
    let again = run(ship(dir.path(), &server, &[]));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains(&format!("shipped 0 records of stream {id}")),
        "{}",
        stderr(&again)
    );
    let status = run(ship(dir.path(), &server, &["--status"]));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(
        text.contains(&format!("shipped up to  {RECORDS}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("local last seq {RECORDS}")),
        "{text}"
    );
}

#[test]
fn two_sources_ship_exactly_once_while_the_server_is_restarted() {
    two_sources_while_the_server_is_restarted(true);
}

#[test]
fn two_sources_in_streams_of_their_own_ship_exactly_once_while_the_server_is_restarted() {
    two_sources_while_the_server_is_restarted(false);
}

/// With `shared`, an existing JetStream stream takes every source's subject (one record
/// in flight at a time); without, each source gets a stream of its own, many in flight.
fn two_sources_while_the_server_is_restarted(shared: bool) {
    const RECORDS: u64 = 30_000;
    let mut server = NatsServer::start();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_stream(a.path(), RECORDS, trail::Format::Json);
    write_stream(b.path(), RECORDS, trail::Format::Csv);
    let (id_a, id_b) = (stream_id(a.path()), stream_id(b.path()));
    assert_ne!(id_a, id_b);
    // The JetStream stream exists before the first restart, as it would in production.
    let url = server.url();
    block_on(async {
        if !shared {
            return;
        }
        let client = async_nats::connect(url.as_str()).await.unwrap();
        async_nats::jetstream::new(client)
            .create_stream(async_nats::jetstream::stream::Config {
                name: "TRAIL".into(),
                subjects: vec!["trail.>".into()],
                storage: async_nats::jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .unwrap();
    });
    let shippers: Vec<Child> = [a.path(), b.path()]
        .iter()
        .map(|dir| ship(dir, &server, &[]).spawn().unwrap())
        .collect();
    // The restarts begin once each shipper is connected and publishing: a server that is
    // unreachable when a shipper starts is an error (exit code 3), not a restart to wait out.
    for id in [&id_a, &id_b] {
        wait_for_first_record(&server, id);
    }
    let mut restarts = 0;
    let mut rng = fastrand::Rng::new();
    while restarts < 4 {
        std::thread::sleep(Duration::from_millis(rng.u64(100..600)));
        server.restart();
        restarts += 1;
    }
    for child in shippers {
        let out = wait_with_timeout(child, Duration::from_secs(120));
        assert!(out.status.success(), "{}", stderr(&out));
        // The restarts happened while it was publishing.
        assert!(stderr(&out).contains("retrying"), "{}", stderr(&out));
    }
    let shipped = read_back(&server, "TRAIL");
    assert_exactly_once(
        &shipped,
        &BTreeMap::from([(id_a, RECORDS), (id_b, RECORDS)]),
    );
}

#[test]
fn messages_lost_inside_a_batch_are_noticed_and_sent_again() {
    const RECORDS: u64 = 20_000;
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), RECORDS, trail::Format::Json);
    // Messages sent without a reply subject, alone and two in a row, the first one of
    // all, and one whose answer was asked for: the server never sees them, and refuses
    // every later one of the chain.
    let relay = LossyRelay::start(
        server.port(),
        "trail",
        &[1, 300, 7_000, 7_001, 15_000],
        &[40],
    );
    let out = run(ship_to(dir.path(), &relay.url(), &[]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        relay.lost(),
        6,
        "the relay lost fewer messages than planned"
    );
    assert!(stderr(&out).contains("retrying"), "{}", stderr(&out));
    let shipped = read_back(&server, "TRAIL");
    assert_exactly_once(
        &shipped,
        &BTreeMap::from([(stream_id(dir.path()), RECORDS)]),
    );
}

#[test]
fn a_source_ships_exactly_once_while_the_server_is_killed_again_and_again() {
    const RECORDS: u64 = 60_000;
    let mut server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), RECORDS, trail::Format::Json);
    let id = stream_id(dir.path());
    let shipper = ship(dir.path(), &server, &[]).spawn().unwrap();
    wait_for_first_record(&server, &id);
    // Killed with messages in its socket and in the client's buffers, batches half sent
    // and their answers never given; whatever the store kept is what it holds after.
    let mut rng = fastrand::Rng::new();
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(rng.u64(100..600)));
        server.kill_and_restart();
    }
    let out = wait_with_timeout(shipper, Duration::from_secs(120));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("retrying"), "{}", stderr(&out));
    let shipped = read_back(&server, "TRAIL");
    assert_exactly_once(&shipped, &BTreeMap::from([(id, RECORDS)]));
}

#[test]
fn follow_keeps_up_as_the_stream_grows_rotates_and_compresses() {
    const RECORDS: u64 = 20_000;
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let _turn = serial();
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .format(trail::Format::Bincode)
        .rotate_bytes(64 * 1024)
        .compress(true)
        .service("checkout")
        .host("test-host")
        .install()
        .unwrap();
    trail::info!(n = 0_u64, "record 0");
    trail::flush();
    let follower = ship(dir.path(), &server, &["--follow"]).spawn().unwrap();
    for i in 1..RECORDS {
        trail::info!(n = i, "record {i}");
        if i % 1000 == 0 {
            trail::flush();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    drop(guard);
    let id = stream_id(dir.path());
    wait_for_messages(&server, RECORDS);
    let mut follower = follower;
    assert!(
        follower.try_wait().unwrap().is_none(),
        "--follow keeps running"
    );
    follower.kill().unwrap();
    follower.wait().unwrap();
    let compressed = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "gz")
        })
        .count();
    assert!(compressed > 1, "the stream rotated and compressed");
    let shipped = read_back(&server, "TRAIL");
    assert_exactly_once(&shipped, &BTreeMap::from([(id, RECORDS)]));
}

#[test]
fn an_unreachable_server_and_a_conflicting_stream_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 3, trail::Format::Json);
    let port = free_port();
    let out = run({
        let mut c = Command::new(TRAIL);
        c.arg("ship")
            .arg(dir.path())
            .args(["--to", &format!("nats://127.0.0.1:{port}")]);
        c
    });
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot connect to nats://127.0.0.1:"),
        "{}",
        stderr(&out)
    );

    let server = NatsServer::start();
    let url = server.url();
    block_on(async {
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "TRAIL".into(),
            subjects: vec!["other.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    });
    let out = run(ship(dir.path(), &server, &[]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("JetStream stream TRAIL takes the subjects [\"other.>\"]"),
        "{}",
        stderr(&out)
    );
    let none = tempfile::tempdir().unwrap();
    let out = run(ship(none.path(), &server, &[]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no trail segments"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_restart_after_the_duplicate_window_and_without_a_checkpoint_ships_nothing_twice() {
    const RECORDS: u64 = 2_000;
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), RECORDS, trail::Format::Json);
    let window = ["--duplicate-window", "1"];
    let first = run(ship(dir.path(), &server, &window));
    assert!(first.status.success(), "{}", stderr(&first));
    // The message ids have left the window and the checkpoint is lost: only the server's
    // own record of this source can tell what it already holds.
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::remove_file(dir.path().join("app.ship-TRAIL.json")).unwrap();
    let again = run(ship(dir.path(), &server, &window));
    assert!(again.status.success(), "{}", stderr(&again));
    let id = stream_id(dir.path());
    assert!(
        stderr(&again).contains(&format!(
            "shipped 0 records of stream {id} to TRAIL ({RECORDS} already there)"
        )),
        "{}",
        stderr(&again)
    );
    let shipped = read_back(&server, "TRAIL");
    assert_exactly_once(&shipped, &BTreeMap::from([(id, RECORDS)]));
}

#[test]
fn two_shippers_of_one_stream_at_once_store_each_record_once() {
    const RECORDS: u64 = 20_000;
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), RECORDS, trail::Format::Json);
    let checkpoints = tempfile::tempdir().unwrap();
    let spawn = |name: &str| {
        let checkpoint = checkpoints.path().join(name);
        ship(
            dir.path(),
            &server,
            &[
                "--duplicate-window",
                "1",
                "--checkpoint",
                checkpoint.to_str().unwrap(),
            ],
        )
        .spawn()
        .unwrap()
    };
    let (one, two) = (spawn("one.json"), spawn("two.json"));
    // Both start from the same place; once they are publishing, the second is held still
    // for longer than the duplicate window, so the ids of what it sends next have expired.
    wait_for_messages(&server, 500);
    signal(&two, "-STOP");
    std::thread::sleep(Duration::from_millis(2500));
    signal(&two, "-CONT");
    for child in [one, two] {
        let out = wait_with_timeout(child, Duration::from_secs(120));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let shipped = read_back(&server, "TRAIL");
    assert_exactly_once(
        &shipped,
        &BTreeMap::from([(stream_id(dir.path()), RECORDS)]),
    );
}

fn held(server: &NatsServer) -> u64 {
    let url = server.url();
    block_on(async {
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut held = 0;
        for name in streams_of(&js, "TRAIL").await {
            if let Ok(mut stream) = js.get_stream(&name).await {
                held += stream.info().await.unwrap().state.messages;
            }
        }
        held
    })
}

/// Waits until the JetStream stream holds at least `count` messages (a minute at most).
fn wait_for_messages(server: &NatsServer, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while held(server) < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the server holds a record of the source `id` (a minute at most).
fn wait_for_first_record(server: &NatsServer, id: &str) {
    let url = server.url();
    let subject = format!("trail.{id}");
    block_on(async move {
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for name in streams_of(&js, "TRAIL").await {
                if let Ok(stream) = js.get_stream(&name).await {
                    if stream
                        .get_last_raw_message_by_subject(&subject)
                        .await
                        .is_ok()
                    {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no record of {subject} arrived in a minute"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_writer_ships_its_own_stream_and_its_callers_never_wait_for_the_network() {
    const RECORDS: u64 = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let install = |timeout: Duration| {
        trail::builder()
            .dir(dir.path())
            .name("app")
            .rotate_bytes(64 * 1024)
            .compress(true)
            .service("checkout")
            .host("test-host")
            .shutdown_timeout(timeout)
            .ship(trail::ship::ShipOptions::new("", url.as_str()))
            .install()
            .unwrap()
    };
    let _turn = serial();
    // No server yet: logging and shutting down take no longer than without shipping.
    let started = Instant::now();
    let guard = install(Duration::from_secs(2));
    for i in 0..RECORDS {
        trail::info!(n = i, "record {i}");
    }
    drop(guard);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the writer waited for the network: {:?}",
        started.elapsed()
    );
    // With the server up, the next run ships what the first could not, then its own.
    let server = NatsServer::start_on(port);
    let guard = install(Duration::from_secs(60));
    for i in RECORDS..2 * RECORDS {
        trail::info!(n = i, "record {i}");
    }
    drop(guard);
    let shipped = read_back(&server, "TRAIL");
    assert_exactly_once(
        &shipped,
        &BTreeMap::from([(stream_id(dir.path()), 2 * RECORDS)]),
    );
}

#[test]
fn records_deleted_before_they_were_shipped_are_reported_as_a_gap() {
    const RECORDS: u64 = 5_000;
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_small_segments(dir.path(), RECORDS, Some(2));
    let out = run(ship(dir.path(), &server, &[]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let shipped = read_back(&server, "TRAIL");
    let first = shipped[0].seq;
    assert!(first > 1, "retention deleted the first segments");
    assert!(
        stderr(&out).contains(&format!(
            "seq 1..={} are not in the files (deleted before they were shipped, or damaged)",
            first - 1
        )),
        "{}",
        stderr(&out)
    );
    let seqs: Vec<u64> = shipped.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (first..=RECORDS).collect::<Vec<_>>());
}

#[test]
fn a_record_larger_than_the_servers_limit_is_reported_and_shipping_goes_on() {
    a_record_larger_than_the_servers_limit(false);
}

#[test]
fn a_record_too_large_that_ends_the_stream_is_passed_over_without_a_retry() {
    // The record too large was the one to carry the batch's answer: the record before it,
    // sent without a reply subject, is sent again asking for one.
    a_record_larger_than_the_servers_limit(true);
}

fn a_record_larger_than_the_servers_limit(last: bool) {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    {
        let _turn = serial();
        let guard = trail::builder()
            .dir(dir.path())
            .name("app")
            .install()
            .unwrap();
        // Three fields just under the value limit: a record of about 2.7 MB, past the
        // server's default maximum payload of 1 MiB.
        let big = "x".repeat(900 * 1024);
        trail::info!(n = 0_u64, "record 0");
        trail::info!(a = big.as_str(), b = big.as_str(), c = big.as_str(), "big");
        if !last {
            trail::info!(n = 2_u64, "record 2");
        }
        drop(guard);
    }
    let out = wait_with_timeout(
        ship(dir.path(), &server, &[]).spawn().unwrap(),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let written: Vec<(u64, String)> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.map(|r| (r.seq, r.msg)).unwrap())
        .collect();
    let big = written.iter().find(|(_, msg)| msg == "big").unwrap().0;
    assert!(
        stderr(&out).contains(&format!("seq {big} is larger than the server accepts")),
        "{}",
        stderr(&out)
    );
    // Nothing was lost or refused: the answers settle everything without a repair.
    assert!(!stderr(&out).contains("retrying"), "{}", stderr(&out));
    let shipped: Vec<u64> = read_back(&server, "TRAIL").iter().map(|m| m.seq).collect();
    let others: Vec<u64> = written
        .iter()
        .map(|(seq, _)| *seq)
        .filter(|&seq| seq != big)
        .collect();
    assert_eq!(shipped, others);
}

#[test]
fn progress_shows_rates_and_lag_and_status_shows_the_lag() {
    const RECORDS: u64 = 20_000;
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), RECORDS, trail::Format::Json);
    // Before shipping, everything is lag: the oldest unshipped record is the first one.
    let status = run(ship(dir.path(), &server, &["--status"]));
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "{}", stderr(&status));
    let lag_line = text
        .lines()
        .find(|l| l.starts_with("lag "))
        .unwrap_or_else(|| panic!("no lag line: {text}"));
    assert!(
        lag_line.contains(&format!(" {RECORDS} records, the oldest unshipped ")),
        "{lag_line}"
    );
    let seconds: f64 = lag_line
        .split("unshipped ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(seconds > 0.0, "{lag_line}");

    // Standard error is not a terminal here: no progress unless asked for.
    let mut follower = ship(dir.path(), &server, &["--follow", "--progress"])
        .spawn()
        .unwrap();
    wait_for_messages(&server, RECORDS);
    std::thread::sleep(Duration::from_millis(2500));
    follower.kill().unwrap();
    let out = follower.wait_with_output().unwrap();
    let lines: Vec<(f64, f64, u64, u64)> = stderr(&out)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("trail ship: ")?;
            let numbers: Vec<f64> = rest
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter_map(|n| n.parse().ok())
                .collect();
            rest.contains("records/s")
                .then(|| (numbers[0], numbers[1], numbers[2] as u64, numbers[3] as u64))
        })
        .collect();
    assert!(
        lines.len() >= 2,
        "a line about every second: {}",
        stderr(&out)
    );
    assert!(
        lines.iter().any(|l| l.0 > 0.0 && l.1 > l.0),
        "records/s and bytes/s while shipping: {}",
        stderr(&out)
    );
    let last = lines.last().unwrap();
    assert_eq!((last.2, last.3), (RECORDS, 0), "{}", stderr(&out));
    let status = run(ship(dir.path(), &server, &["--status"]));
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        text.contains("lag            0 records, the oldest unshipped 0.000 s"),
        "{text}"
    );
    let quiet = run(ship(dir.path(), &server, &[]));
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains("records/s"), "{}", stderr(&quiet));
}

#[test]
fn retention_nearing_the_unshipped_backlog_is_warned_before_it_deletes() {
    const RECORDS: u64 = 5_000;
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_small_segments(dir.path(), RECORDS, None);
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_str().unwrap().ends_with(".jsonl")
        })
        .count();
    assert!(segments > 10, "the stream rotated: {segments} segments");
    // Nothing shipped yet and retention would keep a few more segments than there are:
    // warned now, while nothing is lost.
    let keep = (segments + 1).to_string();
    let out = run(ship(dir.path(), &server, &["--keep-segments", &keep]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{segments} segments ("
        )) && stderr(&out).contains(&format!(
            "are not shipped yet and retention keeps {keep} segments: the writer will delete records before they are shipped"
        )),
        "{}",
        stderr(&out)
    );
    // Far from the limit (into a JetStream stream that holds nothing yet), or caught up:
    // no warning.
    let far = (segments * 2).to_string();
    let out = run(ship(
        dir.path(),
        &server,
        &[
            "--keep-segments",
            &far,
            "--jetstream-stream",
            "FAR",
            "--subject",
            "far",
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("not shipped yet"),
        "{}",
        stderr(&out)
    );
    let out = run(ship(dir.path(), &server, &["--keep-segments", &keep]));
    assert!(
        !stderr(&out).contains("not shipped yet"),
        "{}",
        stderr(&out)
    );
}
