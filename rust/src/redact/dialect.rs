//! The regular-expression dialect of redaction rules: what both kernels accept.
//!
//! The Rust kernel compiles a rule's pattern with the `regex` crate over bytes,
//! Unicode off; the Python kernel compiles it with `re` as a bytes pattern. The
//! two agree on the constructs this check lets through; it refuses the ones
//! where they differ or where one of them has no equivalent. The Python kernel
//! then rewrites end-of-text assertions (`translate_for_python`): `\z` and a
//! `$` outside multi-line mode become `\Z`. The same check runs in both kernels,
//! so a rule refused by one is refused by the other, for the same reason.

/// Why a pattern is outside the dialect, or Ok.
pub fn check(pattern: &str) -> Result<(), String> {
    walk(pattern, &mut |_, _| {})
}

/// The pattern for Python's `re` (bytes): `\z`, and `$` outside multi-line mode, become `\Z`.
/// Only meaningful for patterns `check` accepted; kept here so the two walks are one.
pub fn translate_for_python(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut last = 0;
    let _ = walk(pattern, &mut |start, end| {
        out.push_str(&pattern[last..start]);
        out.push_str("\\Z");
        last = end;
    });
    out.push_str(&pattern[last..]);
    out
}

/// The pattern without a leading optional lazy run (`[class]{0,n}?` or `[class]*?`, after
/// leading flags), when it has one. It matches somewhere in every text where the pattern
/// does (the run may be empty) and is much cheaper to search (no huge unanchored prefix):
/// a rule whose quick pattern finds nothing is skipped. None when there is no such run.
pub fn quick(pattern: &str) -> Option<String> {
    let bytes = pattern.as_bytes();
    let mut start = 0;
    if bytes.starts_with(b"(?") {
        let end = bytes.iter().position(|&b| b == b')' || b == b':')?;
        if bytes[2..end].iter().all(|b| matches!(b, b'i' | b'm' | b's' | b'-')) {
            start = end + 1;
        }
    }
    if bytes.get(start) != Some(&b'[') {
        return None;
    }
    let after_class = class(bytes, start).ok()?;
    let rest = &pattern[after_class..];
    let run = if rest.starts_with("*?") {
        2
    } else if let Some(tail) = rest.strip_prefix("{0,") {
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !tail[digits..].starts_with("}?") {
            return None;
        }
        3 + digits + 2
    } else {
        return None;
    };
    Some(format!("{}{}", &pattern[..start], &rest[run..]))
}

/// One pattern that matches wherever any of `patterns` does: an allowlist's regexes are
/// searched as one (a secret is checked against dozens of them). Leading flags become a
/// scoped group, `(?i)x` giving `(?i:x)`; None for no patterns.
pub fn any_of<S: AsRef<str>>(patterns: &[S]) -> Option<String> {
    if patterns.is_empty() {
        return None;
    }
    let parts: Vec<String> = patterns
        .iter()
        .map(|pattern| {
            let pattern = pattern.as_ref();
            if let Some(rest) = pattern.strip_prefix("(?") {
                if let Some(end) = rest.find([')', ':']) {
                    if rest.as_bytes()[end] == b')' && rest[..end].bytes().all(|b| matches!(b, b'i' | b'm' | b's')) {
                        return format!("(?{}:{})", &rest[..end], &rest[end + 1..]);
                    }
                }
            }
            format!("(?:{pattern})")
        })
        .collect();
    Some(parts.join("|"))
}

const SAFE_ESCAPES: &[u8] = b"bBdDwWsStnrfvA";

/// Walks the pattern; calls `end_of_text(start, end)` for each end-of-text assertion.
fn walk(pattern: &str, end_of_text: &mut dyn FnMut(usize, usize)) -> Result<(), String> {
    let bytes = pattern.as_bytes();
    if bytes.is_empty() {
        return Err("an empty pattern".into());
    }
    if let Some(at) = bytes
        .iter()
        .position(|b| !b.is_ascii() || (b.is_ascii_control() && *b != b'\t'))
    {
        return Err(format!("a non-ASCII or control character at {at} (write it as \\xHH)"));
    }
    // The multi-line flag of each open group, innermost last; index 0 is the pattern's own.
    let mut multiline = vec![false];
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' => {
                i = escape(bytes, i, false, end_of_text)?;
                continue;
            }
            b'[' => {
                i = class(bytes, i)?;
                continue;
            }
            b'(' => {
                let inherited = *multiline.last().unwrap_or(&false);
                if bytes.get(i + 1) == Some(&b'?') {
                    let (next, flags) = group_head(bytes, i, multiline.len() == 1 && i == 0)?;
                    match flags {
                        Group::Scoped(m) => multiline.push(m.unwrap_or(inherited)),
                        Group::Global(m) => {
                            if let Some(m) = m {
                                multiline[0] = m;
                            }
                        }
                        Group::Plain => multiline.push(inherited),
                    }
                    i = next;
                    continue;
                }
                multiline.push(inherited);
            }
            b')' => {
                if multiline.len() == 1 {
                    return Err(format!("an unbalanced ')' at {i}"));
                }
                multiline.pop();
            }
            b'$' if !*multiline.last().unwrap_or(&false) => end_of_text(i, i + 1),
            b'{' if bytes.get(i + 1) == Some(&b',') => {
                return Err(format!("a '{{,n}}' repetition at {i} (write '{{0,n}}')"));
            }
            b'*' | b'+' | b'?' | b'}' if bytes.get(i + 1) == Some(&b'+') => {
                return Err(format!("a possessive quantifier at {i}"));
            }
            _ => {}
        }
        i += 1;
    }
    if multiline.len() != 1 {
        return Err("an unclosed '('".into());
    }
    Ok(())
}

enum Group {
    /// `(?flags:` or `(?:` or `(?P<name>`: the multi-line flag inside, if set or cleared.
    Scoped(Option<bool>),
    /// `(?flags)` at the very start: the whole pattern's.
    Global(Option<bool>),
    /// A named group.
    Plain,
}

/// `(?` at `start`: the index after the group's head and what it does to the flags.
fn group_head(bytes: &[u8], start: usize, at_start: bool) -> Result<(usize, Group), String> {
    let mut i = start + 2;
    if bytes.get(i) == Some(&b'P') && bytes.get(i + 1) == Some(&b'<') {
        let name_start = i + 2;
        let mut j = name_start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        if j == name_start || bytes.get(j) != Some(&b'>') || bytes[name_start].is_ascii_digit() {
            return Err(format!("a bad group name at {start}"));
        }
        return Ok((j + 1, Group::Plain));
    }
    let mut multiline = None;
    let mut negated = false;
    let mut any = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'i' | b's' => any = true,
            b'm' => {
                any = true;
                multiline = Some(!negated);
            }
            b'-' if !negated => negated = true,
            b':' => return Ok((i + 1, Group::Scoped(multiline))),
            b')' => {
                if !any {
                    return Err(format!("an empty flag group at {start}"));
                }
                if negated {
                    return Err(format!(
                        "flags turned off outside a scoped group at {start} (use (?-i:...))"
                    ));
                }
                if !at_start {
                    return Err(format!(
                        "inline flags in the middle of the pattern at {start} (use a scoped group such as (?i:...))"
                    ));
                }
                return Ok((i + 1, Group::Global(multiline)));
            }
            _ => {
                return Err(format!(
                    "an unsupported group at {start} (only (?:...), (?P<name>...) and the flags i, m, s)"
                ))
            }
        }
        i += 1;
    }
    Err(format!("an unclosed group at {start}"))
}

/// A backslash escape at `start`; returns the index after it.
fn escape(
    bytes: &[u8],
    start: usize,
    in_class: bool,
    end_of_text: &mut dyn FnMut(usize, usize),
) -> Result<usize, String> {
    let Some(&c) = bytes.get(start + 1) else {
        return Err("a trailing backslash".into());
    };
    if c == b'x' {
        let hex = bytes.get(start + 2..start + 4).unwrap_or(b"");
        if hex.len() != 2 || !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(format!("a \\x escape at {start} without two hex digits"));
        }
        return Ok(start + 4);
    }
    if c == b'z' && !in_class {
        end_of_text(start, start + 2);
        return Ok(start + 2);
    }
    if c.is_ascii_alphanumeric() {
        let allowed = SAFE_ESCAPES.contains(&c) && !(in_class && matches!(c, b'b' | b'B' | b'A'));
        if !allowed {
            return Err(format!("an unsupported escape \\{} at {start}", c as char));
        }
    }
    Ok(start + 2)
}

/// A character class at `start`; returns the index after its closing bracket.
fn class(bytes: &[u8], start: usize) -> Result<usize, String> {
    let mut i = start + 1;
    if bytes.get(i) == Some(&b'^') {
        i += 1;
    }
    if bytes.get(i) == Some(&b']') {
        i += 1; // a literal ']' first
    }
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                i = escape(bytes, i, true, &mut |_, _| {})?;
                continue;
            }
            b'[' => {
                return Err(format!(
                    "a '[' inside a class at {i} (nested or POSIX classes; write \\[)"
                ))
            }
            b']' => return Ok(i + 1),
            b @ (b'&' | b'-' | b'~' | b'|') if bytes.get(i + 1) == Some(&b) => {
                return Err(format!("a set operation '{0}{0}' inside a class at {i}", b as char))
            }
            _ => {}
        }
        i += 1;
    }
    Err(format!("an unclosed class at {start}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_common_subset() {
        for p in [
            r"(?i)\b(AKIA[A-Z0-9]{16})\b",
            r"ghp_[0-9a-zA-Z]{36}",
            r"\b(LTAI(?i:[a-z0-9]{20}))(?:[\x60'\s;]|\\[nr]|\z)",
            r"(?P<key>[a-z]+)=(?-i:x)",
            r"[]a-]",
            r"(?m:^)x(?m:$)",
        ] {
            check(p).unwrap();
        }
    }

    #[test]
    fn refuses_what_the_engines_read_differently() {
        for p in [
            r"a(?i)b",
            r"[[:alpha:]]",
            r"[a&&b]",
            r"\p{L}",
            r"\x{41}",
            r"a{,3}",
            r"a*+",
            r"(?=a)",
            r"(?<n>a)",
            r"\1",
            r"\Z",
            r"(?x)a",
            r"(?-i)a",
            "é",
            r"(a",
            r"a)",
            "",
        ] {
            assert!(check(p).is_err(), "{p}");
        }
    }

    #[test]
    fn a_leading_optional_lazy_run_is_dropped_for_the_quick_search() {
        assert_eq!(
            quick(r"(?i)[\w.-]{0,50}?(?:key|token)=x").as_deref(),
            Some(r"(?i)(?:key|token)=x")
        );
        assert_eq!(quick(r"(?i:[\w.-]{0,100}?(?:lob))x").as_deref(), Some(r"(?i:(?:lob))x"));
        assert_eq!(quick(r"[a-z]*?b").as_deref(), Some("b"));
        assert_eq!(quick(r"(?:[a-z]*?|c)b").as_deref(), Some("(?:|c)b"));
        for none in [
            r"[a-z]{1,5}?b",
            r"[a-z]{0,5}b",
            r"x[a-z]*?",
            r"(?P<n>[a-z]*?)b",
            r"[a-z]{0,}?b",
        ] {
            assert_eq!(quick(none), None, "{none}");
        }
    }

    #[test]
    fn allowlist_regexes_are_searched_as_one() {
        assert_eq!(
            any_of(&["(?i)^a$", "b", "(?:c)", "(?m:d)"]).as_deref(),
            Some("(?i:^a$)|(?:b)|(?:(?:c))|(?:(?m:d))")
        );
        assert_eq!(any_of::<&str>(&[]), None);
        let joined = any_of(&["(?i)^x+\\z", "(?m)a$"]).unwrap();
        check(&joined).unwrap();
        assert_eq!(translate_for_python(&joined), "(?i:^x+\\Z)|(?m:a$)");
    }

    #[test]
    fn end_of_text_becomes_backslash_capital_z_for_python() {
        assert_eq!(translate_for_python(r"a$|b\z|[$]|\$"), r"a\Z|b\Z|[$]|\$");
        assert_eq!(translate_for_python(r"(?m)a$"), r"(?m)a$");
        assert_eq!(translate_for_python(r"(?m:a$)b$"), r"(?m:a$)b\Z");
    }
}
