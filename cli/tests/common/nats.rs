//! nats-servers for the shipping tests: JetStream on loopback, on free ports, each with a
//! throwaway store, killed when dropped. Without the `nats-server` binary the tests fail
//! and say so.

use std::net::{TcpListener, TcpStream};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use trail::ship::__deps::{async_nats, tokio};

/// One nats-server process with JetStream: its port, its store and any further arguments
/// (a cluster's name and routes), started and stopped at will; killed when dropped.
pub struct NatsNode {
    pub port: u16,
    store: tempfile::TempDir,
    args: Vec<String>,
    child: Option<Child>,
}

impl NatsNode {
    /// A server on `port` with a new store, given `args` besides; not started yet.
    pub fn new(port: u16, args: Vec<String>) -> NatsNode {
        NatsNode {
            port,
            store: tempfile::tempdir().unwrap(),
            args,
            child: None,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Whether the process was started and not stopped since.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the process, without waiting for it to answer.
    pub fn spawn(&mut self) {
        let child = Command::new("nats-server")
            .args(["-js", "-sd"])
            .arg(self.store.path())
            .args(["-p", &self.port.to_string(), "-a", "127.0.0.1"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run nats-server ({e}): these tests need it on PATH \
                     (Debian: apt-get install -y nats-server)"
                )
            });
        self.child = Some(child);
    }

    /// Waits, `limit` at most, until the server accepts connections and answers
    /// JetStream requests (in a cluster: a meta leader is elected).
    pub fn wait_ready(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let url = self.url();
        block_on(async move {
            use async_nats::jetstream::context::GetStreamErrorKind;
            loop {
                if let Ok(client) = async_nats::connect(url.as_str()).await {
                    let js = async_nats::jetstream::new(client);
                    // Any answer of the JetStream API, "no such stream" included, says it runs.
                    match js.get_stream("READY").await {
                        Ok(_) => return,
                        Err(e) if matches!(e.kind(), GetStreamErrorKind::JetStream(_)) => return,
                        Err(_) => {}
                    }
                }
                assert!(
                    Instant::now() < deadline,
                    "JetStream on {url} did not answer within {limit:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }

    /// Stops the server the way an operator does (SIGTERM), killing it if it has not
    /// ended 20 seconds later.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Kills the server at once (SIGKILL): no goodbye to its peers, nothing flushed.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the server runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for NatsNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A lone nats-server with JetStream on a free loopback port, stopped when dropped.
pub struct NatsServer {
    node: NatsNode,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_on(free_port())
    }

    pub fn start_on(port: u16) -> NatsServer {
        let mut server = NatsServer {
            node: NatsNode::new(port, Vec::new()),
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        self.node.url()
    }

    fn spawn(&mut self) {
        self.node.spawn();
        self.node.wait_ready(Duration::from_secs(20));
    }

    /// Stops the server the way an operator does (SIGTERM), and starts it again on the
    /// same port and store.
    pub fn restart(&mut self) {
        self.node.stop();
        self.spawn();
    }

    /// Kills the server at once (SIGKILL), and starts it again on the same port and store.
    pub fn kill_and_restart(&mut self) {
        self.node.kill();
        self.spawn();
    }

    pub fn port(&self) -> u16 {
        self.node.port
    }
}

/// A loopback port that no one listens on.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `future` to its end on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The first `count` messages of a JetStream stream in stream order, read with an ordered
/// consumer; a message that does not come within 30 seconds fails the test.
pub async fn read_messages(
    stream: &async_nats::jetstream::stream::Stream,
    count: u64,
) -> Vec<async_nats::jetstream::Message> {
    use futures_util::StreamExt;
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut out = Vec::new();
    for _ in 0..count {
        let message = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .expect("the consumer delivers every message")
            .unwrap()
            .unwrap();
        out.push(message);
    }
    out
}

/// A relay between NATS clients and a server on loopback that passes everything on but
/// the messages published on `subject.…` that it is told to lose: the `n`-th sent
/// without a reply subject for each `n` in `unanswered`, the `n`-th sent with one for
/// each `n` in `answered` (counted from 1 over every connection). The server never sees
/// those, as when a connection drops data. Stops relaying new connections when dropped.
pub struct LossyRelay {
    pub port: u16,
    lost: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LossyRelay {
    pub fn start(
        server_port: u16,
        subject: &str,
        unanswered: &[u64],
        answered: &[u64],
    ) -> LossyRelay {
        use std::sync::atomic::{AtomicBool, AtomicU64};
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let lost = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let plan = Arc::new(Mutex::new(LossPlan {
            prefix: format!("{subject}."),
            unanswered: unanswered.to_vec(),
            answered: answered.to_vec(),
            counts: (0, 0),
        }));
        let (lost_, stop_) = (lost.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop_.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                            continue;
                        };
                        let (to_client, from_server) =
                            (client.try_clone().unwrap(), server.try_clone().unwrap());
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut &from_server, &mut &to_client);
                            let _ = to_client.shutdown(std::net::Shutdown::Both);
                        });
                        let (plan, lost) = (plan.clone(), lost_.clone());
                        std::thread::spawn(move || {
                            let _ = relay_client(client, &server, &plan, &lost);
                            let _ = server.shutdown(std::net::Shutdown::Both);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        LossyRelay { port, lost, stop }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// How many messages were lost so far.
    pub fn lost(&self) -> u64 {
        self.lost.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

struct LossPlan {
    prefix: String,
    unanswered: Vec<u64>,
    answered: Vec<u64>,
    /// Messages on the subjects seen so far: without a reply subject, with one.
    counts: (u64, u64),
}

impl LossPlan {
    /// Whether to lose this message, from its protocol line's words after the verb.
    fn lose(&mut self, words: &[&str], headers: bool) -> bool {
        if !words.first().is_some_and(|s| s.starts_with(&self.prefix)) {
            return false;
        }
        // SUBJECT [REPLY] [HEADER_BYTES] TOTAL_BYTES
        let reply = words.len() == if headers { 4 } else { 3 };
        if reply {
            self.counts.1 += 1;
            self.answered.contains(&self.counts.1)
        } else {
            self.counts.0 += 1;
            self.unanswered.contains(&self.counts.0)
        }
    }
}

/// Relays what a client sends, protocol line by protocol line, leaving out the messages
/// the plan loses.
fn relay_client(
    client: TcpStream,
    mut server: &TcpStream,
    plan: &std::sync::Mutex<LossPlan>,
    lost: &std::sync::atomic::AtomicU64,
) -> std::io::Result<()> {
    use std::io::{BufRead, Read, Write};
    let mut client = std::io::BufReader::new(client);
    let mut line = Vec::new();
    loop {
        line.clear();
        if client.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let words: Vec<&str> = text.split_whitespace().collect();
        let headers = words.first() == Some(&"HPUB");
        if !(headers || words.first() == Some(&"PUB")) {
            server.write_all(&line)?;
            continue;
        }
        let total: usize = words.last().and_then(|w| w.parse().ok()).unwrap_or(0);
        let mut payload = vec![0; total + 2];
        client.read_exact(&mut payload)?;
        if plan.lock().unwrap().lose(&words[1..], headers) {
            lost.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        }
        server.write_all(&line)?;
        server.write_all(&payload)?;
    }
}
