//! The `tracing` bridge (feature `tracing`): a `tracing-subscriber` layer that turns
//! `tracing` events into trail events, with the fields of their enclosing spans.
//!
#![cfg_attr(feature = "writer", doc = "```")]
#![cfg_attr(not(feature = "writer"), doc = "```ignore")]
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! let _guard = trail::builder().dir(dir.path()).install()?;
//! let subscriber = tracing_subscriber::registry().with(trail::bridge::tracing::layer());
//! tracing::subscriber::set_global_default(subscriber)?;
//!
//! let span = tracing::info_span!("request", user = 7);
//! span.in_scope(|| tracing::info!(items = 3, "cart updated"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The event's own fields come first, then the fields of its spans, innermost first, that
//! the event does not already have; the message is the event's `message`. The layer
//! composes with others (`EnvFilter`, `fmt`) and also follows trail's own filter.

use std::fmt;

use tracing_core::field::{Field, Visit};
use tracing_core::{span, Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::{intern, KvValue};
use crate::__private::{emit, Event as TrailEvent};
use crate::Level;

/// The layer that carries `tracing` events into trail. See the [module docs](self).
pub fn layer() -> TrailLayer {
    TrailLayer { _private: () }
}

/// A `tracing-subscriber` layer writing `tracing` events as trail events.
pub struct TrailLayer {
    _private: (),
}

impl fmt::Debug for TrailLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrailLayer")
    }
}

/// A span's fields, kept in the span's extensions.
struct SpanFields(Vec<(String, KvValue)>);

/// Collects fields with their types; `message` is kept apart.
#[derive(Default)]
struct Fields {
    values: Vec<(String, KvValue)>,
    message: Option<String>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: KvValue) {
        if field.name() == "message" {
            self.message = Some(match value {
                KvValue::Str(s) => s,
                other => other.to_string(),
            });
            return;
        }
        match self.values.iter_mut().find(|(k, _)| k == field.name()) {
            Some((_, slot)) => *slot = value,
            None => self.values.push((field.name().to_owned(), value)),
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, KvValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, KvValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, KvValue::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, KvValue::I128(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, KvValue::U128(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, KvValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, KvValue::Str(value.to_owned()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, KvValue::Str(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, KvValue::Str(format!("{value:?}")));
    }
}

fn to_level(level: tracing_core::Level) -> Level {
    match level {
        tracing_core::Level::TRACE => Level::Trace,
        tracing_core::Level::DEBUG => Level::Debug,
        tracing_core::Level::INFO => Level::Info,
        tracing_core::Level::WARN => Level::Warn,
        tracing_core::Level::ERROR => Level::Error,
    }
}

impl<S> Layer<S> for TrailLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.values));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let Some(SpanFields(known)) = extensions.get_mut::<SpanFields>() else {
            return;
        };
        let mut fields = Fields {
            values: std::mem::take(known),
            message: None,
        };
        values.record(&mut fields);
        *known = fields.values;
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let level = to_level(*meta.level());
        if !crate::max_level().enables(level)
            || !crate::filter::directives_allow(meta.target(), level)
        {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                    for (key, value) in span_fields {
                        if !fields.values.iter().any(|(k, _)| k == key) {
                            fields.values.push((key.clone(), value.clone()));
                        }
                    }
                }
            }
        }
        let names: Vec<String> = fields.values.iter().map(|(k, _)| k.clone()).collect();
        let callsite = intern(
            level,
            meta.target(),
            meta.module_path().unwrap_or_default(),
            meta.file().unwrap_or_default(),
            meta.line().unwrap_or(0),
            &names,
        );
        let message = fields.message.take().unwrap_or_default();
        emit(callsite, |e: &mut TrailEvent| {
            for (_, value) in &fields.values {
                e.value(value);
            }
            e.value(message.as_str());
        });
    }
}
