//! Shipping into a three-server JetStream cluster: every record stored exactly once and in
//! order while the server leading the JetStream stream is SIGKILLed and later started
//! again, and three writing processes shipping into one JetStream stream at once.
//!
//! The cluster runs on loopback with free ports and a throwaway store per server. This
//! file has its own `main` because the test re-runs its own binary as the writing
//! processes (`TRAIL_TEST_WRITER` set); `TRAIL_TEST_ONLY=WORD` runs the tests whose name
//! holds WORD.

use std::time::Duration;

mod common;

fn main() {
    #[cfg(unix)]
    unix::main();
}

#[cfg(unix)]
mod unix {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    use trail::ship::__deps::{async_nats, tokio};

    use super::common::nats::{block_on, free_port, read_messages, NatsNode};
    use super::common::{stderr, stream_id, wait_with_timeout, TRAIL};
    use super::Duration;

    const WRITER_DIR: &str = "TRAIL_TEST_WRITER";
    const WRITER_URL: &str = "TRAIL_TEST_WRITER_URL";
    const WRITER_RECORDS: u64 = 15_000;

    pub(super) fn main() {
        if let Ok(dir) = std::env::var(WRITER_DIR) {
            let url = std::env::var(WRITER_URL).expect("the writer is given the servers");
            write_and_ship(Path::new(&dir), &url);
            return;
        }
        let tests: [(&str, fn()); 2] = [
            (
                "ships_every_record_once_in_order_while_the_stream_leader_is_killed",
                ships_every_record_once_in_order_while_the_stream_leader_is_killed,
            ),
            (
                "three_writing_processes_ship_at_once_each_source_gapless",
                three_writing_processes_ship_at_once_each_source_gapless,
            ),
        ];
        for (name, test) in tests
            .into_iter()
            .filter(|(n, _)| std::env::var("TRAIL_TEST_ONLY").map_or(true, |o| n.contains(&o)))
        {
            let started = Instant::now();
            eprintln!("test {name} ...");
            test();
            eprintln!("test {name} ... ok ({:.1?})", started.elapsed());
        }
    }

    /// Three nats-servers with JetStream, routed to each other; killed when dropped.
    struct Cluster {
        names: Vec<String>,
        nodes: Vec<NatsNode>,
    }

    impl Cluster {
        fn start() -> Cluster {
            let names: Vec<String> = (1..=3).map(|i| format!("n{i}")).collect();
            let route_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
            let routes: Vec<String> = route_ports
                .iter()
                .map(|port| format!("nats://127.0.0.1:{port}"))
                .collect();
            let nodes: Vec<NatsNode> = (0..3)
                .map(|i| {
                    let args = [
                        "--server_name",
                        &names[i],
                        "--cluster_name",
                        "trail-test",
                        "--cluster",
                        &routes[i],
                        "--routes",
                        &routes.join(","),
                    ];
                    NatsNode::new(free_port(), args.map(str::to_owned).to_vec())
                })
                .collect();
            let mut cluster = Cluster { names, nodes };
            for node in &mut cluster.nodes {
                node.spawn();
            }
            for node in &cluster.nodes {
                node.wait_ready(Duration::from_secs(60));
            }
            cluster
        }

        /// Every server, comma-separated, as `trail ship --to` takes them.
        fn urls(&self) -> String {
            let urls: Vec<String> = (0..3).map(|i| self.url(i)).collect();
            urls.join(",")
        }

        fn url(&self, i: usize) -> String {
            self.nodes[i].url()
        }

        /// A server that runs, to ask questions of.
        fn live_url(&self) -> String {
            let i = self
                .nodes
                .iter()
                .position(NatsNode::running)
                .expect("a server runs");
            self.url(i)
        }

        /// Kills server `i` at once (SIGKILL): no goodbye to the others, nothing flushed.
        fn kill(&mut self, i: usize) {
            self.nodes[i].kill();
        }

        /// Starts server `i` again on its ports and its store.
        fn restart(&mut self, i: usize) {
            self.nodes[i].spawn();
            self.nodes[i].wait_ready(Duration::from_secs(60));
        }

        fn index_of(&self, name: &str) -> usize {
            self.names.iter().position(|n| n == name).unwrap()
        }
    }

    /// The JetStream stream's message count and its leader's name, as server `url` sees
    /// them; `None` while it cannot say (no such stream yet, or an election under way).
    fn stream_state(url: &str, stream: &str) -> Option<(u64, Option<String>)> {
        block_on(async {
            let client = async_nats::connect(url).await.ok()?;
            let js = async_nats::jetstream::new(client);
            let mut stream = js.get_stream(stream).await.ok()?;
            let info = stream.info().await.ok()?;
            Some((
                info.state.messages,
                info.cluster.clone().and_then(|c| c.leader),
            ))
        })
    }

    /// Waits until the JetStream stream holds at least `count` messages.
    fn wait_for_messages(cluster: &Cluster, stream: &str, count: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let held = stream_state(&cluster.live_url(), stream).map_or(0, |s| s.0);
            if held >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{stream} holds {held} messages, not {count}, after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Reads the whole JetStream stream back in its order with an ordered consumer and
    /// checks each source's records: every seq from 1 to its count, once each, in order,
    /// with the headers matching the body.
    fn assert_exactly_once(url: &str, stream: &str, expected: &BTreeMap<String, u64>) {
        let url = url.to_owned();
        let stream = stream.to_owned();
        let next = block_on(async move {
            let client = async_nats::connect(url.as_str()).await.unwrap();
            let js = async_nats::jetstream::new(client);
            let mut stream = js.get_stream(&stream).await.unwrap();
            // Read as many messages as the sources wrote: a server that has just come back
            // can answer the stream's state before it has caught up, and a message missing
            // for real makes the consumer time out below. Extra messages are checked after.
            let total: u64 = expected.values().sum();
            let mut next: BTreeMap<String, u64> = BTreeMap::new();
            for message in read_messages(&stream, total).await {
                let headers = message
                    .headers
                    .clone()
                    .expect("shipped messages have headers");
                let source = headers.get("Trail-Stream-Id").unwrap().as_str().to_owned();
                let seq: u64 = headers.get("Trail-Seq").unwrap().as_str().parse().unwrap();
                let body: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
                let want = next.entry(source.clone()).or_insert(1);
                assert_eq!(
                    seq, *want,
                    "source {source}: expected seq {want} next, found {seq} \
                     (a duplicate, a gap or a reordering)"
                );
                assert_eq!(body["seq"], seq);
                assert_eq!(body["msg"], format!("record {}", seq - 1));
                assert_eq!(
                    headers.get("Nats-Msg-Id").unwrap().as_str(),
                    format!("{source}-{seq}")
                );
                *want += 1;
            }
            // Nothing beyond them: the stream's state, once the cluster agrees, holds
            // exactly that many.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let held = stream.info().await.unwrap().state.messages;
                if held == total {
                    break;
                }
                assert!(
                    held < total && Instant::now() < deadline,
                    "the stream holds {held} messages, the sources wrote {total}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            next
        });
        let got: BTreeMap<String, u64> = next.into_iter().map(|(id, n)| (id, n - 1)).collect();
        assert_eq!(&got, expected);
    }

    fn ships_every_record_once_in_order_while_the_stream_leader_is_killed() {
        // Enough records that the leader is killed early in the shipping (after 12,000) with
        // seconds of shipping still to go, however fast the shipper is.
        const RECORDS: u64 = 300_000;
        let mut cluster = Cluster::start();
        let dir = tempfile::tempdir().unwrap();
        {
            let guard = trail::builder()
                .dir(dir.path())
                .name("app")
                .rotate_bytes(512 * 1024)
                .compress(true)
                .install()
                .unwrap();
            for i in 0..RECORDS {
                trail::info!(n = i, "record {i}");
            }
            drop(guard);
        }
        let shipper = Command::new(TRAIL)
            .arg("ship")
            .arg(dir.path())
            .args(["--to", &cluster.urls(), "--replicas", "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The stream that takes this source's messages: its leader is the one to lose.
        let own = format!("TRAIL_{}", stream_id(dir.path()));
        wait_for_messages(&cluster, &own, 12_000, Duration::from_secs(60));
        let leader = stream_state(&cluster.live_url(), &own)
            .and_then(|s| s.1)
            .expect("the replicated stream has a leader");
        let killed = cluster.index_of(&leader);
        // The leader goes while records are still being shipped; whether the shipper sees
        // a refusal or only a pause depends on which server it is connected to.
        let at_kill = stream_state(&cluster.live_url(), &own).map_or(0, |s| s.0);
        cluster.kill(killed);
        assert!(
            at_kill < RECORDS,
            "the shipper finished before the leader was killed"
        );
        // Shipping goes on with the two servers left, then the third comes back.
        let before = stream_state(&cluster.live_url(), &own).map_or(0, |s| s.0);
        wait_for_messages(&cluster, &own, before + 2_000, Duration::from_secs(60));
        assert_ne!(
            stream_state(&cluster.live_url(), &own).and_then(|s| s.1),
            Some(leader.clone()),
            "another server leads the stream"
        );
        cluster.restart(killed);
        let out = wait_with_timeout(shipper, Duration::from_secs(150));
        assert!(out.status.success(), "{}", stderr(&out));
        let expected = BTreeMap::from([(stream_id(dir.path()), RECORDS)]);
        assert_exactly_once(&cluster.live_url(), &own, &expected);
        // The restarted server caught up and holds the same messages.
        let deadline = Instant::now() + Duration::from_secs(90);
        while stream_state(&cluster.url(killed), &own).map(|s| s.0) != Some(RECORDS) {
            assert!(
                Instant::now() < deadline,
                "the restarted server did not catch up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The writing process: writes `WRITER_RECORDS` records while its own shipper thread
    /// ships them, then shuts down, which waits for the shipper.
    fn write_and_ship(dir: &Path, url: &str) {
        let mut options = trail::ship::ShipOptions::new("", url);
        options.subject = "multi".to_owned();
        options.jetstream_stream = "MULTI".to_owned();
        options.replicas = 3;
        let guard = trail::builder()
            .dir(dir)
            .name("app")
            .rotate_bytes(256 * 1024)
            .shutdown_timeout(Duration::from_secs(120))
            .ship(options)
            .install()
            .unwrap();
        for i in 0..WRITER_RECORDS {
            trail::info!(n = i, "record {i}");
            if i % 500 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        drop(guard);
    }

    fn three_writing_processes_ship_at_once_each_source_gapless() {
        let cluster = Cluster::start();
        let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let exe = std::env::current_exe().unwrap();
        let writers: Vec<Child> = dirs
            .iter()
            .map(|dir| {
                Command::new(&exe)
                    .env(WRITER_DIR, dir.path())
                    .env(WRITER_URL, cluster.urls())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for writer in writers {
            let out = wait_with_timeout(writer, Duration::from_secs(150));
            assert!(out.status.success(), "{}", stderr(&out));
            // The shipper finished before the writer's shutdown deadline.
            let err = stderr(&out);
            assert!(
                !err.contains("did not finish") && !err.contains("shipping stopped"),
                "{err}"
            );
        }
        let ids: std::collections::BTreeSet<String> =
            dirs.iter().map(|dir| stream_id(dir.path())).collect();
        assert_eq!(ids.len(), 3, "each process has its own stream id");
        // Each source's own JetStream stream holds its records, every seq once, in order.
        for id in ids {
            let expected = BTreeMap::from([(id.clone(), WRITER_RECORDS)]);
            assert_exactly_once(&cluster.live_url(), &format!("MULTI_{id}"), &expected);
        }
    }
}
