//! Code generation for one call site, in two steps: [`resolve`] works out what the call
//! evaluates and captures (every argument bound once, the message's placeholders tied to
//! their values, the mistakes reported at their spans), and [`codegen`] writes the
//! expansion from that.
//!
//! The expansion is a block with one `static` metadata, the level gate, and, behind it,
//! one `match` that evaluates every argument once (keeping temporaries alive) and captures
//! the values into an event: the actor, then the fields, then the message arguments.

use proc_macro2::TokenStream;
use syn::Ident;

use crate::args::Call;

mod codegen;
mod resolve;

/// What one call evaluates and how its message is built, ready for code generation.
struct Plan {
    /// The expressions evaluated, in order: actor, fields, message arguments.
    exprs: Vec<TokenStream>,
    /// The binding of each expression in `exprs`.
    binds: Vec<Ident>,
    /// The actor's binding, if the call has an actor.
    actor_bind: Option<Ident>,
    /// Each field's binding, in the order of `Call::fields`.
    field_binds: Vec<Ident>,
    /// The message template as written (empty without a message).
    template: String,
    /// The message: literal text and the values shown in it.
    pieces: Vec<PieceTokens>,
    /// Values captured for the message only, numbered after the fields.
    slots: Vec<SlotCapture>,
}

/// How a message slot is captured.
enum SlotCapture {
    /// Raw if the value is a `trail::Value`, else its `Display` rendering.
    Auto(Ident),
    /// Rendered on the caller with this format spec.
    Spec(Ident, String),
}

/// One piece of the message, as the metadata's `Piece` will hold it.
enum PieceTokens {
    Lit(String),
    Display(usize),
    Actor,
}

/// Expands one logging call: resolves its arguments, then generates the call site.
pub fn expand(call: Call) -> syn::Result<TokenStream> {
    let plan = resolve::resolve(&call)?;
    Ok(codegen::generate(&call, &plan))
}
