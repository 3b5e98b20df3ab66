//! `scope!("NAME", FIELD, ...)`: the fields (and actor) every event on the thread carries
//! while the returned guard lives. Fields take the same forms as in the logging macros;
//! with a name first, the scope is a span (ids, parent, timing).

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::Token;

use crate::args::{parse_field, Field, Kind};

pub struct Scope {
    krate: TokenStream,
    /// The span's name, when the scope is a span.
    name: Option<syn::LitStr>,
    fields: Vec<Field>,
}

impl Parse for Scope {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate: proc_macro2::TokenTree = input.parse()?;
        input.parse::<Token![;]>()?;
        let name = if input.peek(syn::LitStr) {
            let name: syn::LitStr = input.parse()?;
            if name.value().is_empty() {
                return Err(syn::Error::new(
                    name.span(),
                    "a span's name cannot be empty",
                ));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
            Some(name)
        } else {
            None
        };
        let mut fields: Vec<Field> = Vec::new();
        while !input.is_empty() {
            let field = parse_field(input)?;
            if fields.iter().any(|f| f.name == field.name) {
                return Err(syn::Error::new(
                    field.name_span,
                    format!("duplicate field `{}`", field.name),
                ));
            }
            fields.push(field);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        if fields.is_empty() && name.is_none() {
            return Err(input.error(
                "a scope needs a name or at least one field, as in `scope!(\"charge\")` or `scope!(request_id)`",
            ));
        }
        Ok(Scope {
            krate: krate.into(),
            name,
            fields,
        })
    }
}

/// A field's value as a frame takes it: a reference, wrapped by how it is captured.
pub fn captured(private: &TokenStream, field: &Field) -> TokenStream {
    let value = &field.value;
    match field.kind {
        Kind::Value => quote!(&(#value)),
        Kind::Display => quote!(&#private::display(&(#value))),
        Kind::Debug => quote!(&#private::debug(&(#value))),
        Kind::Serde => quote!(&#private::serde(&(#value))),
    }
}

pub fn expand(scope: Scope) -> syn::Result<TokenStream> {
    let krate = &scope.krate;
    let private = quote!(#krate::__private);
    let adds = scope.fields.iter().map(|field| {
        let wrapped = captured(&private, field);
        if field.name == "actor" {
            quote!(__trail_frame.actor(#wrapped);)
        } else {
            let name = &field.name;
            quote!(__trail_frame.field(#name, #wrapped);)
        }
    });
    let frame = match &scope.name {
        Some(name) => span_frame(&private, name),
        None => quote!(#private::Frame::new()),
    };
    Ok(quote! {
        {
            let mut __trail_frame = #frame;
            #(#adds)*
            #private::enter_scope(__trail_frame)
        }
    })
}

/// A span's frame, with the static call site of the record written when it closes: the
/// name as the message, the timings as its fields (`span_timer::CLOSE_FIELDS`).
pub fn span_frame(private: &TokenStream, name: &syn::LitStr) -> TokenStream {
    quote! {{
        static __TRAIL_SPAN: #private::Metadata = #private::Metadata::new(
            #private::Level::Info,
            #private::module_path!(),
            #private::module_path!(),
            #private::file!(),
            #private::line!(),
            #name,
            &["span.start_ns", "span.end_ns", "span.busy_ns", "span.idle_ns"],
            &[#private::Piece::Lit(#name)],
        );
        #private::Frame::span(&__TRAIL_SPAN, #name)
    }}
}
