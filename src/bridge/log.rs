//! The `log` bridge (feature `log`): records of crates that log through the `log` crate
//! become trail events, with their level, target, location and typed key-values.
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! let _guard = trail::builder().dir(dir.path()).install()?;
//! trail::bridge::log::install()?;
//!
//! log::info!(user = 7, items = 3; "cart updated");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A `log` record has no static call site, so the bridge makes one per distinct level,
//! target, module, file, line and set of keys, the first time it is seen, and keeps it:
//! as many as the program has `log` call sites. The message is rendered on the caller
//! (`log` hands it over as formatting arguments); key-values keep their types. A key the
//! record gives twice is written once, with its last value, where that one came.

use std::fmt;

use super::{intern, KvValue};
use crate::__private::{emit, Event};
use crate::{Level, LevelFilter, Metadata};

/// Installs the bridge as the `log` crate's logger, following trail's level filter.
///
/// Fails if another `log` logger is installed already.
pub fn install() -> Result<(), log::SetLoggerError> {
    log::set_logger(&BRIDGE)?;
    crate::dispatch::follow_level_changes(follow_max_level);
    log::set_max_level(to_log_filter(crate::max_level()));
    Ok(())
}

static BRIDGE: Bridge = Bridge;

/// Keeps the `log` crate's filter in step with trail's: registered with the dispatch once
/// the bridge is the `log` logger.
fn follow_max_level(filter: LevelFilter) {
    log::set_max_level(to_log_filter(filter));
}

struct Bridge;

fn to_level(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::Error,
        log::Level::Warn => Level::Warn,
        log::Level::Info => Level::Info,
        log::Level::Debug => Level::Debug,
        log::Level::Trace => Level::Trace,
    }
}

fn to_log_filter(filter: LevelFilter) -> log::LevelFilter {
    match filter {
        LevelFilter::Trace => log::LevelFilter::Trace,
        LevelFilter::Debug => log::LevelFilter::Debug,
        LevelFilter::Info => log::LevelFilter::Info,
        LevelFilter::Warn => log::LevelFilter::Warn,
        LevelFilter::Error | LevelFilter::Fatal => log::LevelFilter::Error,
        LevelFilter::Off => log::LevelFilter::Off,
    }
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        let level = to_level(metadata.level());
        crate::max_level().enables(level)
            && crate::filter::directives_allow(metadata.target(), level)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut values = KeyValues::default();
        // A visitor that fails keeps what it collected; nothing else can go wrong here.
        let _ = record.key_values().visit(&mut values);
        let meta = callsite(record, &values.keys);
        let message = record.args();
        emit(meta, |event: &mut Event| {
            for value in &values.values {
                event.value(value);
            }
            event.value(message);
        });
    }

    fn flush(&self) {
        crate::flush();
    }
}

/// The key-values of one record, in order, with their types.
#[derive(Default)]
struct KeyValues {
    keys: Vec<String>,
    values: Vec<KvValue>,
}

impl<'kvs> log::kv::VisitSource<'kvs> for KeyValues {
    fn visit_pair(
        &mut self,
        key: log::kv::Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        let mut typed = Typed(None);
        let _ = value.visit(&mut typed);
        // A key given twice is written once, with its later value, so that no JSON
        // object has a repeated key.
        if let Some(earlier) = self.keys.iter().position(|k| k == key.as_str()) {
            self.keys.remove(earlier);
            self.values.remove(earlier);
        }
        self.keys.push(key.as_str().to_owned());
        self.values
            .push(typed.0.unwrap_or_else(|| KvValue::Str(value.to_string())));
        Ok(())
    }
}

/// Reads a `log` value with its type where `log` knows it.
struct Typed(Option<KvValue>);

impl<'v> log::kv::VisitValue<'v> for Typed {
    fn visit_any(&mut self, value: log::kv::Value<'_>) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::Str(value.to_string()));
        Ok(())
    }
    fn visit_null(&mut self) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::Null);
        Ok(())
    }
    fn visit_u64(&mut self, v: u64) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::U64(v));
        Ok(())
    }
    fn visit_i64(&mut self, v: i64) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::I64(v));
        Ok(())
    }
    fn visit_u128(&mut self, v: u128) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::U128(v));
        Ok(())
    }
    fn visit_i128(&mut self, v: i128) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::I128(v));
        Ok(())
    }
    fn visit_f64(&mut self, v: f64) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::F64(v));
        Ok(())
    }
    fn visit_bool(&mut self, v: bool) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::Bool(v));
        Ok(())
    }
    fn visit_char(&mut self, v: char) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::Char(v));
        Ok(())
    }
    fn visit_str(&mut self, v: &str) -> Result<(), log::kv::Error> {
        self.0 = Some(KvValue::Str(v.to_owned()));
        Ok(())
    }
}

/// The interned metadata of a `log` call site.
fn callsite(record: &log::Record<'_>, keys: &[String]) -> &'static Metadata {
    intern(
        to_level(record.level()),
        record.target(),
        record.module_path().unwrap_or_default(),
        record.file().unwrap_or_default(),
        record.line().unwrap_or(0),
        keys,
    )
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("trail::bridge::log")
    }
}
