//! Code generation for one call site.
//!
//! The expansion is a block with one `static` metadata, the level gate, and, behind it,
//! one `match` that evaluates every argument once (keeping temporaries alive) and captures
//! the values into an event: the actor, then the fields, then the message arguments.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr};

use crate::args::{Call, Field, Kind};
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

/// How a message slot is captured.
enum SlotCapture {
    /// Raw if the value is a `trail::Value`, else its `Display` rendering.
    Auto(Ident),
    /// Rendered on the caller with this format spec.
    Spec(Ident, String),
}

enum PieceTokens {
    Lit(String),
    Display(usize),
    Actor,
}

pub fn expand(call: Call) -> syn::Result<TokenStream> {
    let krate = &call.krate;
    let private = quote!(#krate::__private);
    let mixed = Span::mixed_site();

    let level = &call.level;
    let target = match &call.target {
        Some(target) => quote!(#target),
        None => quote!(#private::module_path!()),
    };

    // Bindings for everything evaluated: actor, fields, message arguments.
    let mut exprs: Vec<TokenStream> = Vec::new();
    let mut binds: Vec<Ident> = Vec::new();
    // Each binding is hygienic, but located at the user's expression, so that a type
    // error about it points there.
    let mut bind = |expr: TokenStream, name: String, at: Span| -> Ident {
        let ident = Ident::new(&name, mixed.located_at(at));
        exprs.push(expr);
        binds.push(ident.clone());
        ident
    };

    let actor_bind = call.actor.as_ref().map(|actor| {
        bind(
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
            bind(
                ref_to(&f.value),
                format!("__trail_field{i}"),
                f.value.span(),
            )
        })
        .collect();

    let mut pieces = Vec::new();
    let mut slots: Vec<SlotCapture> = Vec::new();
    let mut template_text = String::new();

    if let Some(message) = &call.message {
        template_text = message.template.value();
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

        let positional_binds: Vec<Ident> = positional
            .iter()
            .enumerate()
            .map(|(i, e)| bind(ref_to(e), format!("__trail_arg{i}"), e.span()))
            .collect();
        let named_binds: Vec<Ident> = named
            .iter()
            .enumerate()
            .map(|(i, (_, e))| bind(ref_to(e), format!("__trail_named{i}"), e.span()))
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
                                let b = bind(
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
                        Source::Actor => actor_bind.clone().expect("actor is bound"),
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
    }

    if slots.len() + call.fields.len() > usize::from(u16::MAX) {
        return Err(syn::Error::new(
            Span::call_site(),
            "too many values in one event",
        ));
    }

    let field_names = call.fields.iter().map(|f| &f.name);
    let template_lit = LitStr::new(&template_text, Span::call_site());
    let piece_tokens = pieces.iter().map(|p| match p {
        PieceTokens::Lit(text) => quote!(#private::Piece::Lit(#text)),
        PieceTokens::Display(i) => {
            let i = *i as u16;
            quote!(#private::Piece::Display(#i))
        }
        PieceTokens::Actor => quote!(#private::Piece::Actor),
    });

    let event = Ident::new("__trail_event", mixed);
    let capture_actor = call
        .actor
        .as_ref()
        .zip(actor_bind.as_ref())
        .map(|(actor, b)| {
            let value = wrap(&private, actor, b);
            quote!(#event.actor(#value);)
        });
    let capture_fields = call.fields.iter().zip(&field_binds).map(|(field, b)| {
        let value = wrap(&private, field, b);
        quote!(#event.value(#value);)
    });
    let capture_slots = slots.iter().map(|slot| match slot {
        SlotCapture::Auto(b) => quote_spanned! {b.span()=>
            {
                use #private::{CaptureRaw as _, CaptureDisplay as _};
                (&#private::Arg(#b)).capture_arg(#event);
            }
        },
        SlotCapture::Spec(b, spec) => {
            let fmt = LitStr::new(&format!("{{:{spec}}}"), Span::call_site());
            quote!(#event.value(&#private::format_args!(#fmt, #b));)
        }
    });

    let meta = format_ident!("__TRAIL_META", span = mixed);
    let level_const = format_ident!("__TRAIL_LEVEL", span = mixed);
    let callsite = format_ident!("__TRAIL_CALLSITE", span = mixed);
    let with_actor = call.actor.is_some().then(|| quote!(.with_actor()));
    Ok(quote! {
        {
            const #level_const: #private::Level = #level;
            static #meta: #private::Metadata = #private::Metadata::new(
                #level_const,
                #target,
                #private::module_path!(),
                #private::file!(),
                #private::line!(),
                #template_lit,
                &[#(#field_names),*],
                &[#(#piece_tokens),*],
            )#with_actor;
            static #callsite: #private::Callsite = #private::Callsite::new(&#meta);
            if #private::enabled(#level_const) && #callsite.interested() {
                match (#(#exprs,)*) {
                    (#(#binds,)*) => #private::emit(&#meta, move |#event: &mut #private::Event| {
                        #capture_actor
                        #(#capture_fields)*
                        #(#capture_slots)*
                    }),
                }
            }
        }
    })
}

fn ref_to(expr: &Expr) -> TokenStream {
    quote!(&(#expr))
}

/// The capture expression for a field's bound reference, by its sigil.
fn wrap(private: &TokenStream, field: &Field, bound: &Ident) -> TokenStream {
    match field.kind {
        Kind::Value => quote!(#bound),
        Kind::Display => quote!(&#private::display(#bound)),
        Kind::Debug => quote!(&#private::debug(#bound)),
        Kind::Serde => quote!(&#private::serde(#bound)),
    }
}
