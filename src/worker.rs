//! A named helper thread fed through a queue, for the work the writer hands off after
//! sealing a segment (gzip, Parquet copies) so that it never waits for it.

use std::io;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;

/// A helper thread that runs a job for each item submitted, in order.
pub(crate) struct Worker<J> {
    sender: Option<Sender<J>>,
    thread: Option<JoinHandle<()>>,
}

impl<J: Send + 'static> Worker<J> {
    /// Starts the thread `name`, which calls `job` with each submitted item until the
    /// worker is finished.
    pub(crate) fn start(name: &str, mut job: impl FnMut(J) + Send + 'static) -> io::Result<Self> {
        let (sender, receiver) = mpsc::channel::<J>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || receiver.into_iter().for_each(&mut job))?;
        Ok(Worker {
            sender: Some(sender),
            thread: Some(thread),
        })
    }
}

impl<J> Worker<J> {
    /// Queues an item; nothing once the worker is finished.
    pub(crate) fn submit(&self, item: J) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(item);
        }
    }

    /// Runs the items still queued and stops the thread.
    pub(crate) fn finish(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<J> Drop for Worker<J> {
    fn drop(&mut self) {
        self.finish();
    }
}
