//! Parsing a call's arguments: `[target: EXPR,] FIELD,* [MESSAGE [, ARG]*] [,]`.
//!
//! A field is `key = value`, `key = %value` (Display), `key = ?value` (Debug),
//! `key = #value` (serde), or the shorthands `key`, `%key`, `?key`, `#key`. A key is a
//! dotted path of identifiers (`user.id`) or a string literal. After the message come
//! positional arguments and `name = value` arguments, as in `format!`.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Token};

/// How a field's value is captured.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A typed `trail::Value`, copied raw.
    Value,
    /// `%value`: the `Display` rendering.
    Display,
    /// `?value`: the `Debug` rendering.
    Debug,
    /// `#value`: a nested value through `serde::Serialize`.
    Serde,
}

pub struct Field {
    pub name: String,
    pub name_span: Span,
    pub kind: Kind,
    pub value: Expr,
}

pub struct FormatArg {
    pub name: Option<Ident>,
    pub value: Expr,
}

pub struct Message {
    pub template: LitStr,
    pub args: Vec<FormatArg>,
}

pub struct Call {
    /// The `$crate` token of the `trail` crate.
    pub krate: TokenStream,
    pub level: Expr,
    pub target: Option<Expr>,
    pub actor: Option<Field>,
    pub fields: Vec<Field>,
    pub message: Option<Message>,
}

impl Parse for Call {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate: proc_macro2::TokenTree = input.parse()?;
        input.parse::<Token![,]>()?;
        let level_group: proc_macro2::Group = input.parse()?;
        let level: Expr = syn::parse2(level_group.stream())?;
        input.parse::<Token![;]>()?;

        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "a logging call needs a message or at least one field, as in `info!(\"started\")`",
            ));
        }

        let mut call = Call {
            krate: krate.into_token_stream(),
            level,
            target: None,
            actor: None,
            fields: Vec::new(),
            message: None,
        };

        if input.peek(Ident::peek_any) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let key = input.call(Ident::parse_any)?;
            if key != "target" {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown setting `{key}:`; the only one is `target: \"...\"`"),
                ));
            }
            input.parse::<Token![:]>()?;
            call.target = Some(input.parse()?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }

        while !input.is_empty() {
            if input.peek(LitStr) && !input.peek2(Token![=]) {
                call.message = Some(parse_message(input)?);
                break;
            }
            let field = parse_field(input)?;
            if field.name == "actor" {
                if call.actor.is_some() {
                    return Err(syn::Error::new(
                        field.name_span,
                        "the actor is given twice; an event has one actor",
                    ));
                }
                call.actor = Some(field);
            } else {
                if call.fields.iter().any(|f| f.name == field.name) {
                    return Err(syn::Error::new(
                        field.name_span,
                        format!("duplicate field `{}`", field.name),
                    ));
                }
                call.fields.push(field);
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `,` between fields, or `=` after a field name",
                )
            })?;
        }
        Ok(call)
    }
}

fn parse_sigil(input: ParseStream<'_>) -> syn::Result<Kind> {
    Ok(if input.peek(Token![%]) {
        input.parse::<Token![%]>()?;
        Kind::Display
    } else if input.peek(Token![?]) {
        input.parse::<Token![?]>()?;
        Kind::Debug
    } else if input.peek(Token![#]) {
        input.parse::<Token![#]>()?;
        Kind::Serde
    } else {
        Kind::Value
    })
}

pub fn parse_field(input: ParseStream<'_>) -> syn::Result<Field> {
    let shorthand_kind = parse_sigil(input)?;

    if input.peek(LitStr) {
        let key: LitStr = input.parse()?;
        if shorthand_kind != Kind::Value {
            return Err(syn::Error::new(
                key.span(),
                "a sigil goes before the value: `\"key\" = %value`",
            ));
        }
        input.parse::<Token![=]>()?;
        let kind = parse_sigil(input)?;
        let value = input.parse()?;
        let name = key.value();
        if name.is_empty() {
            return Err(syn::Error::new(key.span(), "a field name cannot be empty"));
        }
        return Ok(Field {
            name,
            name_span: key.span(),
            kind,
            value,
        });
    }

    if !input.peek(Ident::peek_any) {
        return Err(input.error(
            "expected a field (`key = value`, `key`, `%key`, `?key` or `#key`) or a message string",
        ));
    }

    // A dotted key: `user.id`.
    let first = input.call(Ident::parse_any)?;
    let span = first.span();
    let mut segments = vec![first];
    while input.peek(Token![.]) && !input.peek(Token![..]) {
        input.parse::<Token![.]>()?;
        segments.push(input.call(Ident::parse_any)?);
    }
    let name = segments
        .iter()
        .map(|s| s.unraw().to_string())
        .collect::<Vec<_>>()
        .join(".");

    if input.peek(Token![=]) && !input.peek(Token![==]) {
        if shorthand_kind != Kind::Value {
            return Err(syn::Error::new(
                span,
                "a sigil goes before the value: `key = %value`, or alone as `%key`",
            ));
        }
        input.parse::<Token![=]>()?;
        let kind = parse_sigil(input)?;
        let value = input.parse()?;
        return Ok(Field {
            name,
            name_span: span,
            kind,
            value,
        });
    }

    // Shorthand: the key is also the expression (`user.id` reads the field `id` of `user`).
    let path: TokenStream = segments
        .iter()
        .enumerate()
        .flat_map(|(i, seg)| {
            let dot = (i > 0).then(|| <Token![.]>::default().into_token_stream());
            dot.into_iter()
                .chain(std::iter::once(seg.to_token_stream()))
        })
        .collect();
    let value: Expr = syn::parse2(path)?;
    Ok(Field {
        name,
        name_span: span,
        kind: shorthand_kind,
        value,
    })
}

fn parse_message(input: ParseStream<'_>) -> syn::Result<Message> {
    let template: LitStr = input.parse()?;
    let mut args = Vec::new();
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        let name = if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(name)
        } else {
            None
        };
        if name.is_none() && args.iter().any(|a: &FormatArg| a.name.is_some()) {
            return Err(input.error("positional arguments must come before named arguments"));
        }
        let value = input.parse()?;
        args.push(FormatArg { name, value });
    }
    Ok(Message { template, args })
}
