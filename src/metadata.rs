//! Static metadata: what a call site knows at compile time.
//!
//! Each macro call owns one `static` [`Metadata`]. Events refer to it by address, so the
//! target, location, message template and field names are built once and never copied.

use crate::Level;

/// One piece of a parsed message template.
///
/// The macros split `"added {quantity} items"` into literal text and references to
/// captured values; the writer thread joins them back into the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, with `{{` and `}}` already unescaped.
    Lit(&'static str),
    /// The captured value at this index in the record (fields first, then message
    /// arguments), rendered as with `{}`. Placeholders with a format spec (`{:?}`,
    /// `{:>8}`) are rendered on the caller into an argument of their own.
    Display(u16),
    /// The event's actor, rendered as with `{}`.
    Actor,
}

/// Everything about a call site that is fixed at compile time.
///
/// Built by the macros as a `static`; read through [`Record::metadata`](crate::Record::metadata).
#[derive(Debug)]
pub struct Metadata {
    level: Level,
    target: &'static str,
    module_path: &'static str,
    file: &'static str,
    line: u32,
    template: &'static str,
    fields: &'static [&'static str],
    pieces: &'static [Piece],
    has_actor: bool,
}

impl Metadata {
    /// Builds metadata; the macros call this in a `static` initialiser. Not public API:
    /// hidden because its arguments follow how the macros lay a record out, and they may
    /// change in any release. Read metadata through [`Record::metadata`](crate::Record::metadata).
    ///
    /// `fields` names the event's key-value fields in order; the record's values hold
    /// those fields first, then any message-only arguments that `pieces` refers to.
    #[allow(clippy::too_many_arguments)]
    #[doc(hidden)]
    pub const fn new(
        level: Level,
        target: &'static str,
        module_path: &'static str,
        file: &'static str,
        line: u32,
        template: &'static str,
        fields: &'static [&'static str],
        pieces: &'static [Piece],
    ) -> Metadata {
        Metadata {
            level,
            target,
            module_path,
            file,
            line,
            template,
            fields,
            pieces,
            has_actor: false,
        }
    }

    /// A call site for the crate's unit tests, where only the level, target, template,
    /// fields and pieces matter: the module is `trail` and the place this line.
    #[cfg(all(test, feature = "writer"))]
    pub(crate) const fn for_test(
        level: Level,
        target: &'static str,
        template: &'static str,
        fields: &'static [&'static str],
        pieces: &'static [Piece],
    ) -> Metadata {
        Metadata::new(
            level,
            target,
            "trail",
            file!(),
            line!(),
            template,
            fields,
            pieces,
        )
    }

    /// Marks the call site as naming an actor itself; the macros call this.
    #[doc(hidden)]
    pub const fn with_actor(mut self) -> Metadata {
        self.has_actor = true;
        self
    }

    /// Whether the call names an actor itself (else a scope's actor may stand in).
    pub fn has_actor(&self) -> bool {
        self.has_actor
    }

    /// The event's level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The target: `target: "..."` from the call, or the module path.
    pub fn target(&self) -> &'static str {
        self.target
    }

    /// The module path of the call site.
    pub fn module_path(&self) -> &'static str {
        self.module_path
    }

    /// The source file of the call site, as `file!()` gives it.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The line of the call site.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The message template as written, for example `"added {quantity} items"`.
    pub fn template(&self) -> &'static str {
        self.template
    }

    /// The names of the key-value fields, in the order the call gave them.
    pub fn fields(&self) -> &'static [&'static str] {
        self.fields
    }

    /// The parsed message template.
    pub fn pieces(&self) -> &'static [Piece] {
        self.pieces
    }
}
