//! The text seen with Python's word characters, for `\b` and `\B`.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::WORD;

/// The text with the characters whose word-ness the two engines disagree on replaced by
/// stand-ins that agree, for patterns with `\b`/`\B` (the crate's word boundary uses its
/// `\w`, which adds marks, connector punctuation and other alphabetics to Python's letters
/// and numbers, and lacks some numbers). The stand-ins behave as the originals do under
/// Python's rules for every other construct a pattern without such characters of its own
/// can use: U+FFFD (not a word character, a space or a digit) for the crate's extra word
/// characters, U+A66E (a letter) for Python's. Most texts are ASCII and left as they are.
pub fn python_words(text: &str) -> Cow<'_, str> {
    // Only non-ASCII characters can be replaced: look at those alone.
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|b| !b.is_ascii()) {
        let start = at + offset;
        let Some(c) = text[start..].chars().next() else { break };
        at = start + c.len_utf8();
        let stand_in = match word_difference(c) {
            Some(true) => '\u{FFFD}',
            Some(false) => '\u{A66E}',
            None => continue,
        };
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[copied..start]);
        out.push(stand_in);
        copied = at;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

/// Whether `python_words` replaces the character.
pub(super) fn replaced_by_python_words(c: char) -> bool {
    word_difference(c).is_some()
}

/// Some(true) for the crate's word characters that are not Python's, Some(false) for
/// Python's that are not the crate's, None for the others.
fn word_difference(c: char) -> Option<bool> {
    type Ranges = Vec<(char, char)>;
    static DIFFERENCES: OnceLock<(Ranges, Ranges)> = OnceLock::new();
    const RUST_WORD: &str = r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}";
    let (rust_only, python_only) = DIFFERENCES.get_or_init(|| {
        // The crate's own tables, so that the sets are exactly where its \w and \b disagree
        // with the translation of Python's \w.
        let ranges = |class: &str| -> Ranges {
            match regex_syntax::parse(class).map(regex_syntax::hir::Hir::into_kind) {
                Ok(regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class))) => {
                    class.ranges().iter().map(|r| (r.start(), r.end())).collect()
                }
                _ => Vec::new(),
            }
        };
        (
            ranges(&format!("[[{RUST_WORD}]--{WORD}]")),
            ranges(&format!("[{WORD}--[{RUST_WORD}]]")),
        )
    });
    let inside = |ranges: &Ranges| {
        ranges
            .binary_search_by(|&(low, high)| {
                if high < c {
                    std::cmp::Ordering::Less
                } else if low > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    };
    if inside(rust_only) {
        Some(true)
    } else if inside(python_only) {
        Some(false)
    } else {
        None
    }
}
