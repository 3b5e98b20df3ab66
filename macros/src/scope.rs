//! `scope!(FIELD, ...)`: the fields (and actor) every event on the thread carries while
//! the returned guard lives. Fields take the same forms as in the logging macros.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::Token;

use crate::args::{parse_field, Field, Kind};

pub struct Scope {
    krate: TokenStream,
    fields: Vec<Field>,
}

impl Parse for Scope {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate: proc_macro2::TokenTree = input.parse()?;
        input.parse::<Token![;]>()?;
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
        if fields.is_empty() {
            return Err(input.error("a scope needs at least one field, as in `scope!(request_id)`"));
        }
        Ok(Scope {
            krate: krate.into(),
            fields,
        })
    }
}

pub fn expand(scope: Scope) -> syn::Result<TokenStream> {
    let krate = &scope.krate;
    let private = quote!(#krate::__private);
    let adds = scope.fields.iter().map(|field| {
        let value = &field.value;
        let wrapped = match field.kind {
            Kind::Value => quote!(&(#value)),
            Kind::Display => quote!(&#private::display(&(#value))),
            Kind::Debug => quote!(&#private::debug(&(#value))),
            Kind::Serde => quote!(&#private::serde(&(#value))),
        };
        if field.name == "actor" {
            quote!(__trail_frame.actor(#wrapped);)
        } else {
            let name = &field.name;
            quote!(__trail_frame.field(#name, #wrapped);)
        }
    });
    Ok(quote! {
        {
            let mut __trail_frame = #private::Frame::new();
            #(#adds)*
            #private::enter_scope(__trail_frame)
        }
    })
}
