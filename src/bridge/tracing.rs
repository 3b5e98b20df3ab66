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
//!
//! Spans are trail spans too (docs/FORMAT.md, "Spans"): every event carries its innermost
//! span's name and ids, and with [`Builder::span_records`](crate::Builder) a span writes a
//! record with its timings when it closes. A span's parent is its `tracing` parent, or
//! else the thread's innermost `trail::scope!` span. With the `opentelemetry` feature, a
//! span that has an OpenTelemetry context (the `tracing-opentelemetry` layer, added
//! *before* this one) keeps that context's trace and span ids.

use std::fmt;

use tracing_core::field::{Field, Visit};
use tracing_core::{span, Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use std::sync::Mutex;

use tracing_subscriber::registry::SpanRef;

use super::{intern, KvValue};
use crate::__private::{emit, Event as TrailEvent};
use crate::scope::{Close, Frame};
use crate::span::SpanIds;
use crate::span_timer::{SpanTimer, CLOSE_FIELDS};
use crate::Level;

/// The layer that carries `tracing` events into trail. See the [module docs](self).
pub fn layer() -> TrailLayer {
    TrailLayer {
        #[cfg(feature = "opentelemetry")]
        dispatch: std::sync::OnceLock::new(),
    }
}

/// A `tracing-subscriber` layer writing `tracing` events as trail events.
pub struct TrailLayer {
    /// The subscriber this layer is part of, through which the OpenTelemetry layer beside
    /// it is asked for a span's context (the current dispatcher is not reachable from
    /// inside its own callbacks).
    #[cfg(feature = "opentelemetry")]
    dispatch: std::sync::OnceLock<tracing_core::dispatcher::WeakDispatch>,
}

impl fmt::Debug for TrailLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrailLayer")
    }
}

/// A span's fields, kept in the span's extensions.
struct SpanFields(Vec<(String, KvValue)>);

/// A span's trail side, kept in its extensions: its ids, and its timer when span records
/// are on (dropped at the span's close, which writes its record).
struct SpanState {
    ids: SpanIds,
    timer: Option<SpanTimer>,
}

/// The span's ids: those of an OpenTelemetry context on it, when there is one, else a
/// child of its parent (a `tracing` span, else the thread's innermost trail span).
fn span_ids<S>(layer: &TrailLayer, span: &SpanRef<'_, S>) -> SpanIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let name = span.metadata().name();
    let parent = match span.parent() {
        Some(parent) => parent.extensions().get::<SpanState>().map(|s| s.ids),
        None => crate::scope::innermost_span(),
    };
    #[cfg(feature = "opentelemetry")]
    if let Some(dispatch) = layer.dispatch.get().and_then(|d| d.upgrade())
        && let Some(ids) = otel::ids(&dispatch, name, &span.id(), parent.as_ref())
    {
        return ids;
    }
    #[cfg(not(feature = "opentelemetry"))]
    let _ = layer;
    SpanIds::child_of(name, parent.as_ref())
}

#[cfg(feature = "opentelemetry")]
mod otel {
    use opentelemetry::trace::TraceContextExt;
    use tracing_core::span;

    use crate::span::SpanIds;

    /// The ids of the OpenTelemetry context that `tracing-opentelemetry` keeps on the span
    /// `id`, if it has a valid one; the parent's span id is that of `parent`, the span's
    /// `tracing` parent, or none.
    pub(super) fn ids(
        dispatch: &tracing_core::Dispatch,
        name: &'static str,
        id: &span::Id,
        parent: Option<&SpanIds>,
    ) -> Option<SpanIds> {
        let context = tracing_opentelemetry::get_otel_context(id, dispatch)?;
        let span = context.span();
        let ids = span.span_context();
        if !ids.is_valid() {
            return None;
        }
        let parent_id = parent
            .filter(|p| p.trace_id == ids.trace_id().to_bytes())
            .map_or([0; 8], |p| p.span_id);
        Some(SpanIds::with_ids(
            name,
            ids.trace_id().to_bytes(),
            ids.span_id().to_bytes(),
            parent_id,
        ))
    }
}

/// A field name for the program's life: a closed span's record refers to it.
fn static_name(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = names.iter().find(|n| **n == name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.push(leaked);
    leaked
}

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
    #[cfg(feature = "opentelemetry")]
    fn on_register_dispatch(&self, subscriber: &tracing_core::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let Some(span) = ctx.span(id) else { return };
        let ids = span_ids(self, &span);
        let timer = crate::span_timer::records_on().then(|| {
            let meta = span.metadata();
            let names = CLOSE_FIELDS.map(str::to_owned);
            let close = intern(
                to_level(*meta.level()),
                meta.target(),
                meta.module_path().unwrap_or_default(),
                meta.file().unwrap_or_default(),
                meta.line().unwrap_or(0),
                &names,
            );
            let close = Close {
                meta: close,
                name_as_value: true,
            };
            SpanTimer::new(ids, close, None, Vec::new())
        });
        let mut extensions = span.extensions_mut();
        extensions.insert(SpanFields(fields.values));
        extensions.insert(SpanState { ids, timer });
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(SpanState {
                timer: Some(timer), ..
            }) = span.extensions().get::<SpanState>()
        {
            timer.enter();
        }
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(SpanState {
                timer: Some(timer), ..
            }) = span.extensions().get::<SpanState>()
        {
            timer.exit();
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let mut extensions = span.extensions_mut();
        let Some(SpanState {
            timer: Some(mut timer),
            ..
        }) = extensions.remove::<SpanState>()
        else {
            return;
        };
        let fields = extensions
            .get_mut::<SpanFields>()
            .map(|SpanFields(fields)| {
                fields
                    .iter()
                    .map(|(name, value)| (static_name(name), crate::scope::captured(value)))
                    .collect()
            })
            .unwrap_or_default();
        drop(extensions);
        timer.set_fields(fields);
        // The span's record is written as the timer goes.
        drop(timer);
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
        let mut innermost: Option<SpanIds> = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if innermost.is_none() {
                    innermost = span.extensions().get::<SpanState>().map(|s| s.ids);
                }
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
        // The event's span context: its innermost span, as a frame of trail's stack.
        let _span =
            innermost.map(|ids| crate::scope::enter(Frame::span_only(ids, None, Vec::new())));
        emit(callsite, |e: &mut TrailEvent| {
            for (_, value) in &fields.values {
                e.value(value);
            }
            e.value(message.as_str());
        });
    }
}
