//! Writing the call site from a resolved [`Plan`]: the `static` metadata with the
//! message's pieces, the callsite and its level gate, and the `match` that evaluates the
//! bindings once and captures the actor, the fields and the message's own values.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, LitStr};

use super::{PieceTokens, Plan, SlotCapture};
use crate::args::{Call, Field, Kind};

/// The expansion of `call`, as `plan` resolved it.
pub(super) fn generate(call: &Call, plan: &Plan) -> TokenStream {
    let krate = &call.krate;
    let private = quote!(#krate::__private);
    let mixed = Span::mixed_site();

    let level = &call.level;
    let target = match &call.target {
        Some(target) => quote!(#target),
        None => quote!(#private::module_path!()),
    };
    let Plan {
        exprs,
        binds,
        actor_bind,
        field_binds,
        template,
        pieces,
        slots,
    } = plan;

    let field_names = call.fields.iter().map(|f| &f.name);
    let template_lit = LitStr::new(template, Span::call_site());
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
    let capture_fields = call.fields.iter().zip(field_binds).map(|(field, b)| {
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
    quote! {
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
    }
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
