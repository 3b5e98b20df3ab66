//! `trail ship`: publish a stream's records into NATS JetStream, each exactly once.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use trail::ship::{Progress, ShipErrorKind, ShipOptions};

use crate::Fatal;

#[derive(Args)]
pub(crate) struct ShipArgs {
    /// The stream directory.
    dir: PathBuf,
    /// The NATS server, such as nats://127.0.0.1:4222, or several servers of a cluster
    /// separated by commas.
    #[arg(long)]
    to: String,
    /// The subject prefix: records go to SUBJECT.<stream id>.
    #[arg(long, default_value = "trail")]
    subject: String,
    /// The JetStream stream, created with the subjects SUBJECT.> when missing.
    #[arg(long, default_value = "TRAIL")]
    jetstream_stream: String,
    /// Keep shipping as the stream grows, rotates and compresses, until interrupted.
    #[arg(short, long)]
    follow: bool,
    /// Print where shipping stands (locally and on the server) and exit.
    #[arg(long, conflicts_with = "follow")]
    status: bool,
    /// Show records/s, bytes/s and the lag once a second, even when standard error is not
    /// a terminal (on a terminal it is shown anyway).
    #[arg(long, conflicts_with = "status")]
    progress: bool,
    /// The writer's retention by count: warn when the segments not shipped yet near it.
    #[arg(long, value_name = "N")]
    keep_segments: Option<usize>,
    /// The writer's retention by size in bytes: warn when the unshipped backlog nears it.
    #[arg(long, value_name = "BYTES")]
    keep_bytes: Option<u64>,
    /// The writer's retention by age (such as 2h): warn when the oldest unshipped
    /// segment nears it.
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
    keep_age: Option<Duration>,
    /// The stream's name, when the directory holds several.
    #[arg(long)]
    name: Option<String>,
    /// The checkpoint file [default: DIR/NAME.ship-JETSTREAM.json].
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// The duplicate window, in seconds, of a JetStream stream created here.
    #[arg(long, default_value_t = 120)]
    duplicate_window: u64,
    /// How many servers of a cluster keep each message, for a JetStream stream created here.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    replicas: u8,
    /// A NATS credentials file.
    #[arg(long)]
    creds: Option<PathBuf>,
    /// A user name (with --password).
    #[arg(long, requires = "password")]
    user: Option<String>,
    /// The password for --user.
    #[arg(long, requires = "user")]
    password: Option<String>,
    /// An authentication token.
    #[arg(long)]
    token: Option<String>,
    /// Root certificates (PEM) for TLS; TLS is then required.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
}

pub(crate) fn run(args: ShipArgs) -> Result<u8, Fatal> {
    let mut options = ShipOptions::new(args.dir, args.to);
    options.subject = args.subject;
    options.jetstream_stream = args.jetstream_stream;
    options.follow = args.follow;
    options.name = args.name;
    options.checkpoint = args.checkpoint;
    options.duplicate_window = Duration::from_secs(args.duplicate_window);
    options.replicas = usize::from(args.replicas);
    options.credentials = args.creds;
    options.user_password = args.user.zip(args.password);
    options.token = args.token;
    options.tls_ca = args.tls_ca;
    options.keep_segments = args.keep_segments;
    options.keep_bytes = args.keep_bytes;
    options.keep_age = args.keep_age;
    if args.status {
        let status = trail::ship::status(&options).map_err(fatal)?;
        let seq = |s: Option<u64>| s.map_or("none".to_owned(), |s| s.to_string());
        println!("stream id      {}", status.identity.stream_id);
        println!("service        {}", status.identity.service);
        println!("host           {}", status.identity.host);
        println!("local last seq {}", seq(status.local_last_seq));
        println!("shipped up to  {}", seq(status.server_last_seq));
        println!(
            "lag            {} records, the oldest unshipped {:.3} s older than the newest",
            status.lag_records,
            status.lag.as_secs_f64()
        );
        match &status.checkpoint {
            Some(cp) => println!(
                "checkpoint     seq {} in {} at byte {}",
                cp.seq, cp.segment, cp.offset
            ),
            None => println!("checkpoint     none"),
        }
        println!(
            "{:<14} {} messages",
            options.jetstream_stream, status.server_messages
        );
        return Ok(0);
    }
    let terminal = std::io::stderr().is_terminal();
    let display = (args.progress || terminal).then(|| {
        let progress = Arc::new(Progress::default());
        options.progress = Some(progress.clone());
        ProgressLine::start(progress, terminal)
    });
    let result = trail::ship::ship(&options);
    if let Some(display) = display {
        display.finish();
    }
    let summary = result.map_err(fatal)?;
    eprintln!(
        "trail: shipped {} records of stream {} to {} ({} already there), last seq {}",
        summary.shipped,
        summary.identity.stream_id,
        options.jetstream_stream,
        summary.already_there,
        summary
            .last_seq
            .map_or("none".to_owned(), |s| s.to_string())
    );
    Ok(u8::from(summary.damaged + summary.missing > 0))
}

fn fatal(e: trail::ship::ShipError) -> Fatal {
    let code = match e.kind() {
        ShipErrorKind::Local | ShipErrorKind::Config => 2,
        _ => 3,
    };
    Fatal(code, e.to_string())
}

/// The progress display: one line on standard error, redrawn about once a second (on a
/// terminal in place, otherwise one line per second).
struct ProgressLine {
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    terminal: bool,
}

impl ProgressLine {
    fn start(progress: Arc<Progress>, terminal: bool) -> ProgressLine {
        let done = Arc::new(AtomicBool::new(false));
        let stop = done.clone();
        let thread = std::thread::spawn(move || {
            let mut before = (Instant::now(), progress.snapshot());
            while !stop.load(Ordering::Relaxed) {
                // Sleep in short steps so that the end of shipping is not held up.
                for _ in 0..20 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let now = (Instant::now(), progress.snapshot());
                let seconds = now.0.duration_since(before.0).as_secs_f64().max(1e-3);
                let line = format!(
                    "trail ship: {:.0} records/s, {:.0} bytes/s, {} shipped, lag {} records ({:.3} s behind the newest)",
                    (now.1.records - before.1.records) as f64 / seconds,
                    (now.1.bytes - before.1.bytes) as f64 / seconds,
                    now.1.records,
                    now.1.lag_records,
                    now.1.lag.as_secs_f64(),
                );
                if terminal {
                    eprint!("\r\x1b[2K{line}");
                } else {
                    eprintln!("{line}");
                }
                before = now;
            }
        });
        ProgressLine {
            done,
            thread,
            terminal,
        }
    }

    fn finish(self) {
        self.done.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        if self.terminal {
            // Clear the progress line, so the summary starts on a clean line.
            eprint!("\r\x1b[2K");
        }
    }
}
