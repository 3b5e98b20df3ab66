//! The background writer: the queue's consumer, the encoders' driver, the files' only
//! writer.
//!
//! Callers put records into their thread's bounded lock-free ring (see `queue`); the
//! caller side ([`caller`]) is the sink that does it, applies the [`Policy`] when a ring
//! is full and keeps the counters behind [`Stats`]. One thread ([`run`]) takes the records
//! off all rings in rounds, in the order they happened, numbers them (`seq`) and hands
//! each to its outputs: the stream's segment files ([`file_output`], with [`retry`] for
//! failed writes), if there are any, and the outputs beside them ([`output`]): standard
//! output and standard error ([`console`]) and destinations of the user's own. With
//! [`Policy::DropAndReport`] the stream gets records that count the drops ([`drops`]).
//! Flushes, rotations and the shutdown reach the thread on a separate channel.
//!
//! The settings users name, [`Policy`] and [`Fsync`], are in [`config`].

mod caller;
mod config;
mod console;
mod drops;
mod file_output;
mod output;
mod retry;
mod run;

pub use caller::Stats;
pub(crate) use caller::{Msg, Shared};
pub use config::{Fsync, ParseFsyncError, ParsePolicyError, Policy};
pub(crate) use file_output::FileOutput;
pub(crate) use output::Outputs;
pub use output::{Destination, Output};
pub(crate) use run::Writer;
