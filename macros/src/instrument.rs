//! `#[trail::instrument]`: runs a function (sync or async) inside a span named after it,
//! its arguments as the span's fields.
//!
//! Settings: `name = "..."` (the span's name; default: the function's), `skip(a, b)` and
//! `skip_all` (arguments left out), `fields(FIELD, ...)` (more fields, in the forms of the
//! logging macros), `err` (on `Err`, an `error` event with the error's `Display` as the
//! field `error`, inside the span). An argument is captured typed when it is a
//! `trail::Value`, else through `Debug`; `self` is never captured.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Token, Type};

use crate::args::{parse_field, Field};
use crate::scope::{captured, span_frame};

/// The attribute's settings.
#[derive(Default)]
pub struct Settings {
    name: Option<LitStr>,
    skip: Vec<Ident>,
    skip_all: bool,
    fields: Vec<Field>,
    err: bool,
}

impl Parse for Settings {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut settings = Settings::default();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            match key.to_string().as_str() {
                "name" => {
                    input.parse::<Token![=]>()?;
                    let name: LitStr = input.parse()?;
                    if name.value().is_empty() {
                        return Err(syn::Error::new(name.span(), "a span's name cannot be empty"));
                    }
                    settings.name = Some(name);
                }
                "skip" => {
                    let inner;
                    syn::parenthesized!(inner in input);
                    let names = Punctuated::<Ident, Token![,]>::parse_terminated(&inner)?;
                    settings.skip.extend(names);
                }
                "skip_all" => settings.skip_all = true,
                "fields" => {
                    let inner;
                    syn::parenthesized!(inner in input);
                    while !inner.is_empty() {
                        let field = parse_field(&inner)?;
                        if settings.fields.iter().any(|f| f.name == field.name) {
                            return Err(syn::Error::new(
                                field.name_span,
                                format!("duplicate field `{}`", field.name),
                            ));
                        }
                        settings.fields.push(field);
                        if !inner.is_empty() {
                            inner.parse::<Token![,]>()?;
                        }
                    }
                }
                "err" => settings.err = true,
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown setting `{other}`: expected `name = \"...\"`, `skip(...)`, `skip_all`, `fields(...)` or `err`"
                        ),
                    ))
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(settings)
    }
}

/// The arguments that become fields: plain identifiers, not skipped, not `self`.
fn argument_fields(function: &ItemFn, settings: &Settings) -> syn::Result<Vec<Ident>> {
    let mut named = Vec::new();
    for input in &function.sig.inputs {
        if let FnArg::Typed(typed) = input {
            if let Pat::Ident(pat) = &*typed.pat {
                named.push(pat.ident.clone());
            }
        }
    }
    for skipped in &settings.skip {
        if !named.iter().any(|n| n == skipped) {
            return Err(syn::Error::new(
                skipped.span(),
                format!("`{skipped}` is not an argument of this function"),
            ));
        }
    }
    if settings.skip_all {
        return Ok(Vec::new());
    }
    Ok(named
        .into_iter()
        .filter(|n| !settings.skip.contains(n))
        .filter(|n| !settings.fields.iter().any(|f| *n == f.name))
        .collect())
}

pub fn expand(settings: Settings, mut function: ItemFn) -> syn::Result<TokenStream> {
    let private = quote!(::trail::__private);
    let name = settings
        .name
        .clone()
        .unwrap_or_else(|| LitStr::new(&function.sig.ident.to_string(), function.sig.ident.span()));
    let frame = span_frame(&private, &name);
    let arguments = argument_fields(&function, &settings)?;
    let puts = arguments.iter().map(|arg| {
        let key = arg.to_string();
        quote_spanned! {arg.span()=>
            (&#private::SpanArg(&#arg)).put_field(&mut __trail_frame, #key);
        }
    });
    let adds = settings.fields.iter().map(|field| {
        let wrapped = captured(&private, field);
        let key = &field.name;
        quote!(__trail_frame.field(#key, #wrapped);)
    });
    let make_frame = quote! {{
        #[allow(unused_imports)]
        use #private::{SpanArgDebug as _, SpanArgValue as _};
        let mut __trail_frame = #frame;
        #(#puts)*
        #(#adds)*
        __trail_frame
    }};

    let block = &function.block;
    let output = match &function.sig.output {
        ReturnType::Type(_, ty) if !matches!(**ty, Type::ImplTrait(_)) => Some(quote!(#ty)),
        ReturnType::Type(_, _) => None,
        ReturnType::Default => Some(quote!(())),
    };
    if let (true, None, ReturnType::Type(_, ty)) = (settings.err, &output, &function.sig.output) {
        return Err(syn::Error::new(
            ty.span(),
            "`err` needs a written `Result` return type, not `impl Trait`",
        ));
    }
    let typed = output.map(|ty| quote!(: #ty));
    let report = settings.err.then(|| {
        quote! {
            if let ::core::result::Result::Err(__trail_error) = &__trail_ret {
                ::trail::error!(error = %__trail_error, "returned an error");
            }
        }
    });
    let body = if function.sig.asyncness.is_some() {
        quote! {{
            let __trail_scope = ::trail::current_scope().with_span(#make_frame);
            __trail_scope
                .wrap(async move {
                    // An inner block, so that `return` and `?` in the body come back here.
                    let __trail_ret #typed = async move #block.await;
                    #report
                    __trail_ret
                })
                .await
        }}
    } else if settings.err {
        quote! {{
            let __trail_guard = #private::enter_scope(#make_frame);
            #[allow(clippy::redundant_closure_call)]
            let __trail_ret #typed = (move || #block)();
            #report
            __trail_ret
        }}
    } else {
        quote! {{
            let __trail_guard = #private::enter_scope(#make_frame);
            #block
        }}
    };
    *function.block = syn::parse2(body)?;
    Ok(quote!(#function))
}

/// The error for an attribute put on something other than a function.
pub fn not_a_function(span: Span) -> syn::Error {
    syn::Error::new(span, "`#[trail::instrument]` goes on a function")
}
