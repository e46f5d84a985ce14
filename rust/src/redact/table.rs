//! Data of the compiled tables or owned. The tables build.rs writes hold no pointers (a
//! text is a byte range of one string, a list a range of one array), so the dynamic loader
//! has nothing to relocate in them and a process touches only the parts it reads; a parsed
//! document's data is owned.

use std::ops::Deref;

/// A type whose compiled values are all in one static array.
pub trait Tabled: Sized + 'static {
    fn table() -> &'static [Self];
}

/// Text: a byte range of the compiled text (`TEXT`), or owned.
pub enum Text {
    #[cfg_attr(not(builtin_rules), allow(dead_code))]
    Table(u32, u32),
    Owned(String),
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Table(start, end) => &super::TEXT[*start as usize..*end as usize],
            Text::Owned(text) => text,
        }
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self
    }
}

/// A list: a range of the compiled array of its items (`Tabled::table`), or owned.
pub enum Seq<T: Tabled> {
    #[cfg_attr(not(builtin_rules), allow(dead_code))]
    Table(u32, u32),
    Owned(Vec<T>),
}

impl<T: Tabled> Deref for Seq<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Seq::Table(start, end) => &T::table()[*start as usize..*end as usize],
            Seq::Owned(items) => items,
        }
    }
}

/// A value of the compiled tables, or owned.
pub enum Shared<T: 'static> {
    Static(&'static T),
    Owned(Box<T>),
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Shared::Static(value) => value,
            Shared::Owned(value) => value,
        }
    }
}
