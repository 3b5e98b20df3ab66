//! An application in miniature: trail with the `log` and `tracing` bridges, beside an
//! `EnvFilter` and a `fmt` layer, collecting what two libraries log.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::EnvFilter;

/// Installs the bridges: `log` records and `tracing` events at `filter` and above reach
/// trail (whose writer must be installed already) and a `fmt` layer writing to `fmt_out`.
pub fn install_bridges(filter: &str, fmt_out: std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    trail::bridge::log::install().expect("no other log logger");
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new(filter))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || SharedWriter(std::sync::Arc::clone(&fmt_out))),
        )
        .with(trail::bridge::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
}

struct SharedWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
