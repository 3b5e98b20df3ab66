//! Resolving a call's arguments: each evaluated expression gets one hygienic binding, and
//! each placeholder of the message is tied to the value it shows (a field, the actor, a
//! positional or named argument, or a variable captured by name), reusing a value
//! already captured where the placeholder asks for plain `Display`. Mistakes (an argument
//! missing or never used, a name given twice) become errors at the user's span.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use super::{PieceTokens, Plan, SlotCapture};
use crate::args::{Call, Kind, Message};
use crate::template::{self, ArgRef, Segment};

/// Where a message placeholder's value comes from.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    Actor,
    Field(usize),
    Positional(usize),
    Named(usize),
    Implicit(usize),
}

/// The expressions a call evaluates, each with its binding, in evaluation order.
struct Bindings {
    exprs: Vec<TokenStream>,
    binds: Vec<Ident>,
    mixed: Span,
}

impl Bindings {
    /// Binds `expr` to a new name. Each binding is hygienic, but located at the user's
    /// expression, so that a type error about it points there.
    fn bind(&mut self, expr: TokenStream, name: String, at: Span) -> Ident {
        let ident = Ident::new(&name, self.mixed.located_at(at));
        self.exprs.push(expr);
        self.binds.push(ident.clone());
        ident
    }
}

/// The message's pieces and the values captured for it alone.
#[derive(Default)]
struct MessagePlan {
    template: String,
    pieces: Vec<PieceTokens>,
    slots: Vec<SlotCapture>,
}

/// Binds everything the call evaluates and ties the message's placeholders to values.
pub(super) fn resolve(call: &Call) -> syn::Result<Plan> {
    // Bindings for everything evaluated: actor, fields, message arguments.
    let mut bindings = Bindings {
        exprs: Vec::new(),
        binds: Vec::new(),
        mixed: Span::mixed_site(),
    };

    let actor_bind = call.actor.as_ref().map(|actor| {
        bindings.bind(
            ref_to(&actor.value),
            "__trail_actor".to_owned(),
            actor.value.span(),
        )
    });
    let field_binds: Vec<Ident> = call
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            bindings.bind(
                ref_to(&f.value),
                format!("__trail_field{i}"),
                f.value.span(),
            )
        })
        .collect();

    let message = match &call.message {
        Some(message) => resolve_message(
            call,
            message,
            &mut bindings,
            actor_bind.as_ref(),
            &field_binds,
        )?,
        None => MessagePlan::default(),
    };

    if message.slots.len() + call.fields.len() > usize::from(u16::MAX) {
        return Err(syn::Error::new(
            Span::call_site(),
            "too many values in one event",
        ));
    }

    Ok(Plan {
        exprs: bindings.exprs,
        binds: bindings.binds,
        actor_bind,
        field_binds,
        template: message.template,
        pieces: message.pieces,
        slots: message.slots,
    })
}

/// Parses the message template and ties each placeholder to its value, binding the
/// message's arguments (positional, then named, then variables captured by name).
fn resolve_message(
    call: &Call,
    message: &Message,
    bindings: &mut Bindings,
    actor_bind: Option<&Ident>,
    field_binds: &[Ident],
) -> syn::Result<MessagePlan> {
    let mut pieces = Vec::new();
    let mut slots: Vec<SlotCapture> = Vec::new();
    let template_text = message.template.value();
    let segments = template::parse(&template_text)
        .map_err(|msg| syn::Error::new(message.template.span(), msg))?;

    let positional: Vec<&Expr> = message
        .args
        .iter()
        .filter(|a| a.name.is_none())
        .map(|a| &a.value)
        .collect();
    let named: Vec<(&Ident, &Expr)> = message
        .args
        .iter()
        .filter_map(|a| a.name.as_ref().map(|n| (n, &a.value)))
        .collect();
    check_named(call, &named)?;

    let positional_binds: Vec<Ident> = positional
        .iter()
        .enumerate()
        .map(|(i, e)| bindings.bind(ref_to(e), format!("__trail_arg{i}"), e.span()))
        .collect();
    let named_binds: Vec<Ident> = named
        .iter()
        .enumerate()
        .map(|(i, (_, e))| bindings.bind(ref_to(e), format!("__trail_named{i}"), e.span()))
        .collect();
    let mut implicit: Vec<String> = Vec::new();
    let mut implicit_binds: Vec<Ident> = Vec::new();
    let mut used_positional = vec![false; positional.len()];
    let mut used_named = vec![false; named.len()];
    let mut slot_of: HashMap<(Source, String), usize> = HashMap::new();
    let first_slot = call.fields.len();

    for segment in segments {
        let (arg, spec) = match segment {
            Segment::Lit(text) => {
                pieces.push(PieceTokens::Lit(text));
                continue;
            }
            Segment::Hole { arg, spec } => (arg, spec),
        };
        let source = match arg {
            ArgRef::Index(i) => {
                if i >= positional.len() {
                    return Err(syn::Error::new(
                        message.template.span(),
                        format!(
                            "the message refers to argument {i}, but {} positional argument{} given",
                            positional.len(),
                            if positional.len() == 1 { " is" } else { "s are" }
                        ),
                    ));
                }
                used_positional[i] = true;
                Source::Positional(i)
            }
            ArgRef::Name(name) => {
                if let Some(i) = named.iter().position(|(n, _)| **n == name) {
                    used_named[i] = true;
                    Source::Named(i)
                } else if let Some(i) = call.fields.iter().position(|f| f.name == name) {
                    Source::Field(i)
                } else if name == "actor" && call.actor.is_some() {
                    Source::Actor
                } else {
                    let i = match implicit.iter().position(|n| *n == name) {
                        Some(i) => i,
                        None => {
                            let var = Ident::new(&name, message.template.span());
                            let b = bindings.bind(
                                quote!(&#var),
                                format!("__trail_captured{}", implicit.len()),
                                message.template.span(),
                            );
                            implicit.push(name);
                            implicit_binds.push(b);
                            implicit.len() - 1
                        }
                    };
                    Source::Implicit(i)
                }
            }
        };

        // A field or the actor already captured as a typed value, as text, or as a
        // nested serde value is reused when the placeholder asks for plain Display.
        let reusable = |kind: Kind| {
            spec.is_empty() && matches!(kind, Kind::Value | Kind::Display | Kind::Serde)
        };
        match source {
            Source::Field(i) if reusable(call.fields[i].kind) => {
                pieces.push(PieceTokens::Display(i));
                continue;
            }
            Source::Actor if reusable(call.actor.as_ref().map_or(Kind::Value, |a| a.kind)) => {
                pieces.push(PieceTokens::Actor);
                continue;
            }
            _ => {}
        }
        let key = (source, spec.clone());
        let slot = match slot_of.get(&key) {
            Some(&slot) => slot,
            None => {
                let binding = match source {
                    Source::Actor => actor_bind.cloned().expect("actor is bound"),
                    Source::Field(i) => field_binds[i].clone(),
                    Source::Positional(i) => positional_binds[i].clone(),
                    Source::Named(i) => named_binds[i].clone(),
                    Source::Implicit(i) => implicit_binds[i].clone(),
                };
                slots.push(if spec.is_empty() {
                    SlotCapture::Auto(binding)
                } else {
                    SlotCapture::Spec(binding, spec)
                });
                let slot = first_slot + slots.len() - 1;
                slot_of.insert(key, slot);
                slot
            }
        };
        pieces.push(PieceTokens::Display(slot));
    }

    if let Some(i) = used_positional.iter().position(|used| !used) {
        return Err(syn::Error::new_spanned(
            positional[i],
            "argument never used in the message; to log it as a field, put `name = value` before the message",
        ));
    }
    if let Some(i) = used_named.iter().position(|used| !used) {
        return Err(syn::Error::new(
            named[i].0.span(),
            "named argument never used in the message; fields go before the message",
        ));
    }
    Ok(MessagePlan {
        template: template_text,
        pieces,
        slots,
    })
}

/// Fails on a name given to two arguments, or to an argument and a field.
fn check_named(call: &Call, named: &[(&Ident, &Expr)]) -> syn::Result<()> {
    for (i, (name, _)) in named.iter().enumerate() {
        if named[..i].iter().any(|(other, _)| other == name) {
            return Err(syn::Error::new(
                name.span(),
                format!("duplicate argument named `{name}`"),
            ));
        }
        if call.fields.iter().any(|f| f.name == name.to_string()) {
            return Err(syn::Error::new(
                name.span(),
                format!("`{name}` is both a field and a named argument; rename one"),
            ));
        }
    }
    Ok(())
}

fn ref_to(expr: &Expr) -> TokenStream {
    quote!(&(#expr))
}
