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
