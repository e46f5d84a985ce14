//! Python `re` patterns (str patterns, as nova-hunting compiles keyword regexes) rewritten
//! for the `regex` crate, so that `Regex::is_match` on the normalised text gives the boolean
//! `re.search` gives.
//!
//! The pattern is parsed the way Python 3.11's `re._parser` reads it (`parse`, to an `Ast`
//! that `literals` also reads) and written back (`Ast::emit`) with the constructs the two
//! engines read differently replaced:
//! - `\s`/`\S`: Python's str `\s` is `str.isspace`, which also holds for U+001C–U+001F;
//!   it becomes `[\s\x1C-\x1F]` (inside classes too).
//! - `\w`/`\W`: Python's is `str.isalnum()` or `_`, which is exactly `[\p{L}\p{N}_]`
//!   (checked over every code point of Unicode 14); the crate's adds marks and connectors.
//! - `$` outside multi-line mode: Python's matches at the end or before a final newline;
//!   it becomes `(?:\n?\z)`, which consumes that newline (the same boolean unless the
//!   pattern asks for more text after `$`, such as `$\n`). `\Z` becomes `\z`.
//! - IGNORECASE is written out, not left to the crate's `(?i)`: an ASCII letter becomes
//!   the class of what Python folds with it (`[aA]`; `[kKK]` and `[sSſ]` with the Kelvin
//!   sign and the long s; `[iIİı]`, since Python folds `İ` (lowercase `i`) and `ı` (its
//!   `i`/`ı` fix) with `i` where the crate's simple case folding keeps them apart), a
//!   class gets the same additions, and only a non-ASCII character or class is left to
//!   `(?i:...)`. Category escapes are never folded (Python tests the lowercased character
//!   against the category, which comes to the same).
//! - literals are escaped for the crate (Python reads `[` inside a class, `]`, `}`, a
//!   `{` that starts no quantifier, `\<` and the like as plain characters); `{,n}` becomes
//!   `{0,n}`; octal escapes and `\a`, `\b` in a class (backspace) become `\x{..}`;
//!   capturing groups become non-capturing (only the boolean is used); `(?#...)` goes.
//! - a lone surrogate (`\ud800`) matches nothing: the scanned text has none (the binding
//!   replaces them with U+FFFD), and ranges are cut to scalar values.
//!
//! Refused, with the reason: lookaround, backreferences, conditionals, atomic groups and
//! possessive quantifiers (the crate has no such thing), `\N{...}` (no name table here),
//! and the flags `a`, `L` and `x`.
//!
//! `\b`/`\B` use the crate's word characters (which include combining marks and connector
//! punctuation, Python's do not): a pattern with them runs on the text with those
//! characters replaced by stand-ins (`python_words`), unless it has such characters of
//! its own.
//!
//! Known residual differences: `\b`/`\B` in a pattern with such characters of its own
//! (see above); a case-insensitive non-ASCII character uses Unicode simple case folding
//! where Python compares simple lowercase mappings plus a few fixes (they agree on the
//! pairs NFKC leaves in a text); the crate's Unicode tables are 16.0, Python 3.11's 14.0
//! (characters assigned since can differ in `\w`, `\d`, `\s` and case).

mod parse;
mod words;

use std::fmt::Write;

pub use parse::parse;
pub use words::python_words;
use words::replaced_by_python_words;

/// `\s` of a Python str pattern, outside a class and inside one.
const SPACE: &str = r"[\s\x1C-\x1F]";
const SPACE_IN: &str = r"\s\x1C-\x1F";
const NOT_SPACE: &str = r"[^\s\x1C-\x1F]";
/// `\w` of a Python str pattern.
const WORD: &str = r"[\p{L}\p{N}_]";
const WORD_IN: &str = r"\p{L}\p{N}_";
const NOT_WORD: &str = r"[^\p{L}\p{N}_]";
/// Python's `$` without MULTILINE, for a search.
const END: &str = r"(?:\n?\z)";
/// What a lone surrogate matches in a text without surrogates.
const NEVER: &str = r"[^\x00-\x{10FFFF}]";

/// A parsed pattern.
#[derive(Debug)]
pub enum Ast {
    /// One character (a code point: a surrogate is possible); `fold`: case-insensitive.
    Char {
        code: u32,
        fold: bool,
    },
    Class {
        negate: bool,
        /// Inclusive code point ranges.
        ranges: Vec<(u32, u32)>,
        /// Category escapes, as written inside a class for the crate.
        sets: Vec<&'static str>,
        fold: bool,
    },
    /// Something written as is: a category escape or `.` (one character), an assertion.
    Raw {
        text: &'static str,
        width: Width,
    },
    /// A group: the crate's opener (`(?:`, `(?m-s:`) and the inside.
    Group {
        open: String,
        inner: Box<Ast>,
    },
    Concat(Vec<Ast>),
    Alternate(Vec<Ast>),
    Repeat {
        inner: Box<Ast>,
        min: u32,
        max: Option<u32>,
        lazy: bool,
    },
    /// Global flags for the crate (`(?s)`), from Python's global inline flags.
    Flags(String),
}

/// What a `Raw` node matches, for the literal analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Width {
    /// Nothing (an assertion).
    Zero,
    /// One character of a large set.
    One,
    /// Python's `$`: nothing, or a final newline.
    End,
}

/// The pattern for the `regex` crate (Unicode on), or why it has no equivalent there.
pub fn translate(pattern: &str, ignore_case: bool) -> Result<String, String> {
    let ast = parse(pattern, ignore_case)?;
    let mut out = String::with_capacity(pattern.len() * 2);
    ast.emit(&mut out);
    Ok(out)
}

/// What Python's IGNORECASE folds with an ASCII letter (the letter in both cases, and the
/// non-ASCII characters that fold with it), or None for other characters.
pub fn folded(c: char) -> Option<&'static str> {
    const LETTERS: [&str; 26] = [
        "aA",
        "bB",
        "cC",
        "dD",
        "eE",
        "fF",
        "gG",
        "hH",
        "iI\u{130}\u{131}",
        "jJ",
        "kK\u{212A}",
        "lL",
        "mM",
        "nN",
        "oO",
        "pP",
        "qQ",
        "rR",
        "sS\u{17F}",
        "tT",
        "uU",
        "vV",
        "wW",
        "xX",
        "yY",
        "zZ",
    ];
    let lower = match c {
        '\u{130}' | '\u{131}' => 'i', // İ, ı
        '\u{212A}' => 'k',            // Kelvin sign
        '\u{17F}' => 's',             // long s
        c if c.is_ascii_alphabetic() => c.to_ascii_lowercase(),
        _ => return None,
    };
    Some(LETTERS[(lower as u8 - b'a') as usize])
}

impl Ast {
    /// Whether the pattern has `\b` or `\B` and none of the characters `python_words`
    /// replaces among its own: then it runs on the text with `python_words`.
    pub fn wants_python_words(&self) -> bool {
        let (mut boundary, mut replaced) = (false, false);
        let mut own = |low: u32, high: u32| {
            // Those characters are all non-ASCII (and scalar values); a large range is
            // assumed to hold some.
            for (low, high) in [(low, high.min(0xD7FF)), (low.max(0xE000), high)] {
                replaced |= high > 0x7F
                    && low <= high
                    && (high - low > 512 || (low..=high).filter_map(char::from_u32).any(replaced_by_python_words));
            }
        };
        self.walk(&mut |node| match node {
            Ast::Raw { text, .. } => boundary |= *text == r"\b" || *text == r"\B",
            Ast::Char { code, .. } => own(*code, *code),
            Ast::Class { ranges, .. } => ranges.iter().for_each(|&(low, high)| own(low, high)),
            _ => {}
        });
        boundary && !replaced
    }

    fn walk(&self, visit: &mut dyn FnMut(&Ast)) {
        visit(self);
        match self {
            Ast::Group { inner, .. } | Ast::Repeat { inner, .. } => inner.walk(visit),
            Ast::Concat(items) | Ast::Alternate(items) => items.iter().for_each(|item| item.walk(visit)),
            _ => {}
        }
    }

    /// The pattern in the crate's syntax.
    pub fn emit(&self, out: &mut String) {
        match self {
            Ast::Char { code, fold } => match char::from_u32(*code) {
                None => out.push_str(NEVER),
                Some(c) => match (fold, folded(c)) {
                    (true, Some(letters)) => {
                        out.push('[');
                        out.push_str(letters);
                        out.push(']');
                    }
                    (true, None) if !c.is_ascii() => {
                        out.push_str("(?i:");
                        push_char(out, c);
                        out.push(')');
                    }
                    _ => push_char(out, c),
                },
            },
            Ast::Class {
                negate,
                ranges,
                sets,
                fold,
            } => emit_class(out, *negate, ranges, sets, *fold),
            Ast::Raw { text, .. } => out.push_str(text),
            Ast::Group { open, inner } => {
                out.push_str(open);
                inner.emit(out);
                out.push(')');
            }
            Ast::Concat(items) => items.iter().for_each(|item| item.emit(out)),
            Ast::Alternate(branches) => {
                for (index, branch) in branches.iter().enumerate() {
                    if index > 0 {
                        out.push('|');
                    }
                    branch.emit(out);
                }
            }
            Ast::Repeat { inner, min, max, lazy } => {
                // A repeated concatenation or alternation needs a group (a Group node has one).
                let bare = matches!(**inner, Ast::Concat(_) | Ast::Alternate(_));
                if bare {
                    out.push_str("(?:");
                }
                inner.emit(out);
                if bare {
                    out.push(')');
                }
                let _ = match max {
                    Some(max) if max == min => write!(out, "{{{min}}}"),
                    Some(max) => write!(out, "{{{min},{max}}}"),
                    None => write!(out, "{{{min},}}"),
                };
                if *lazy {
                    out.push('?');
                }
            }
            Ast::Flags(text) => out.push_str(text),
        }
    }
}

fn emit_class(out: &mut String, negate: bool, ranges: &[(u32, u32)], sets: &[&'static str], fold: bool) {
    let mut body = String::new();
    let mut non_ascii = false;
    for &(low, high) in ranges {
        // Surrogates cannot occur in the text: keep the scalar values of the range.
        let low = if (0xD800..=0xDFFF).contains(&low) { 0xE000 } else { low };
        let high = if (0xD800..=0xDFFF).contains(&high) {
            0xD7FF
        } else {
            high
        };
        let (Some(first), Some(last)) = (char::from_u32(low), char::from_u32(high)) else {
            continue;
        };
        if first > last {
            continue;
        }
        push_char(&mut body, first);
        if last != first {
            body.push('-');
            push_char(&mut body, last);
        }
        if fold {
            non_ascii |= !last.is_ascii();
            // What Python folds with the ASCII letters of the range.
            for letter in ('a'..='z').chain('A'..='Z') {
                if (low..=high).contains(&u32::from(letter)) {
                    body.push_str(folded(letter).unwrap_or_default());
                }
            }
            for special in ['\u{130}', '\u{131}', '\u{212A}', '\u{17F}'] {
                if (low..=high).contains(&u32::from(special)) {
                    body.push_str(folded(special).unwrap_or_default());
                }
            }
        }
    }
    for set in sets {
        body.push_str(set);
    }
    if body.is_empty() {
        out.push_str(if negate { "(?s:.)" } else { NEVER });
        return;
    }
    // Non-ASCII members fold through the crate (category escapes then too, harmlessly).
    if non_ascii {
        out.push_str("(?i:");
    }
    out.push('[');
    if negate {
        out.push('^');
    }
    out.push_str(&body);
    out.push(']');
    if non_ascii {
        out.push(')');
    }
}

/// A character, escaped where the crate gives it a meaning in or outside a class
/// (nested classes, set operations and ranges included).
fn push_char(out: &mut String, c: char) {
    if c.is_ascii_control() {
        let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
    } else if "\\.+*?()|[]{}^$#&-~".contains(c) {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests;
