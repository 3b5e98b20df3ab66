//! One view of a value, whichever type holds it: the captured [`ValueRef`] (which the
//! binary reader decodes into too) and the reader's `FieldValue` each say what they are
//! one level deep ([`ValueView::shape`]): a scalar, handed over as a `ValueRef`, or a
//! sequence or map to go through. The encoders of every format (and so `convert`) and the text rendering
//! (`render.rs`) take any [`ValueView`], so that each writes a scalar with one piece of
//! code and a type holding values needs one mapping to be written and displayed.
//!
//! Nothing here goes through `dyn`: the writer's encoders are monomorphised for
//! `ValueRef`, whose [`shape`](ValueView::shape) is a copy for every scalar.

use std::borrow::Cow;

use super::codec::{NestedReader, ValueRef};

/// A value the encoders and the rendering take.
pub(crate) trait ValueView<'a>: Copy {
    /// A sequence's items.
    type Items: Iterator<Item = Self>;
    /// A map's entries: key and value.
    type Entries: Iterator<Item = (ValueRef<'a>, Self)>;

    /// What the value is, one level deep.
    fn shape(self) -> Shape<'a, Self>;
}

/// What a [`ValueView`] is.
pub(crate) enum Shape<'a, V: ValueView<'a>> {
    /// A value that does not nest: never [`ValueRef::Seq`] or [`ValueRef::Map`].
    Scalar(ValueRef<'a>),
    /// A sequence and its items.
    Seq(V::Items),
    /// A map and its entries.
    Map(V::Entries),
}

impl<'a> ValueView<'a> for ValueRef<'a> {
    type Items = NestedReader<'a>;
    type Entries = Entries<'a>;

    #[inline(always)]
    fn shape(self) -> Shape<'a, Self> {
        match self {
            ValueRef::Seq(nested) => Shape::Seq(nested.iter()),
            ValueRef::Map(nested) => Shape::Map(Entries(nested.iter())),
            scalar => Shape::Scalar(scalar),
        }
    }
}

/// A captured map's entries: its items taken two by two, a missing last value invalid.
pub(crate) struct Entries<'a>(pub(crate) NestedReader<'a>);

impl<'a> Iterator for Entries<'a> {
    type Item = (ValueRef<'a>, ValueRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.0.next()?;
        Some((key, self.0.next().unwrap_or(ValueRef::Invalid)))
    }
}

/// A map key's text: a string key as it is, any other key (a payload can nest any value
/// as a key) as its rendered text. Every format writes keys as strings.
pub(crate) fn key_text(key: ValueRef<'_>) -> Cow<'_, str> {
    match key {
        ValueRef::Str(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}
