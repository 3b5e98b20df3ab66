//! `trail ship`: publish a stream's records into NATS JetStream, each exactly once.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use trail::ship::{ShipErrorKind, ShipOptions};

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
    if args.status {
        let status = trail::ship::status(&options).map_err(fatal)?;
        let seq = |s: Option<u64>| s.map_or("none".to_owned(), |s| s.to_string());
        println!("stream id      {}", status.identity.stream_id);
        println!("service        {}", status.identity.service);
        println!("host           {}", status.identity.host);
        println!("local last seq {}", seq(status.local_last_seq));
        println!("shipped up to  {}", seq(status.server_last_seq));
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
    let summary = trail::ship::ship(&options).map_err(fatal)?;
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
