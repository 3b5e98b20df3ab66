//! Procedural macros for `trail`. Use them through `trail`'s `info!`, `warn!` and friends.
//!
//! The crate is thin: [`event`] parses its input ([`args`]) and hands it to [`expand`],
//! which ties the message template ([`template`]) to the arguments and then generates
//! the call site. Mistakes become `compile_error!`s at the user's span.

use proc_macro::TokenStream;

mod args;
mod expand;
mod instrument;
mod scope;
mod template;

/// Expands one logging call. Called by `trail`'s `macro_rules!` wrappers as
/// `event!($crate, (LEVEL); ARGS...)`, which is how the expansion names the `trail` crate
/// reliably, whatever the user called it.
#[proc_macro]
pub fn event(input: TokenStream) -> TokenStream {
    match syn::parse::<args::Call>(input).and_then(expand::expand) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Expands `scope!`, called as `scope!($crate; FIELDS...)` by `trail`'s wrapper.
#[proc_macro]
pub fn scope(input: TokenStream) -> TokenStream {
    match syn::parse::<scope::Scope>(input).and_then(scope::expand) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Expands `#[trail::instrument(...)]` on a function: see `trail::instrument`.
#[proc_macro_attribute]
pub fn instrument(attr: TokenStream, item: TokenStream) -> TokenStream {
    let expanded = syn::parse::<instrument::Settings>(attr).and_then(|settings| {
        let function =
            syn::parse::<syn::ItemFn>(item).map_err(|e| instrument::not_a_function(e.span()))?;
        instrument::expand(settings, function)
    });
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}
