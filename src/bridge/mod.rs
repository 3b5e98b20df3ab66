//! Bridges: events from other logging APIs, carried into trail with their structure.

#[cfg(feature = "log")]
pub mod log;
