//! The sets of strings every match of a parsed pattern contains (`required`), for the
//! prefilter of `literals`. Also compiled into the build script, which derives the
//! built-in rules' sets ahead of time (`../derived.rs`).

use super::super::pyre::{folded, Ast, Width};

/// At most this many strings in a set (more: give up on that part).
const MAX_SET: usize = 64;
/// A class of more characters than this is no literal.
const MAX_CLASS: u32 = 24;
/// Strings shorter than this (in bytes) filter too little to be worth it.
const MIN_LEN: usize = 2;
/// At most this many sets per regex (the first is searched for, the others checked).
const MAX_SETS: usize = 4;
/// Sets of strings such that every match of the pattern contains one string of each set
/// (lowercase), the most selective set first; empty when there is none worth searching for.
pub fn required(ast: &Ast) -> Vec<Vec<String>> {
    let info = analyse(ast);
    let mut sets: Vec<Vec<String>> = info
        .exact
        .into_iter()
        .chain(info.required)
        .filter_map(minimal)
        .collect();
    sets.sort_by_key(|set| std::cmp::Reverse(score(set)));
    sets.dedup();
    sets.truncate(MAX_SETS);
    sets
}

/// A set worth searching for, without the strings that contain another of its strings.
fn minimal(set: Vec<String>) -> Option<Vec<String>> {
    if !useful(&set) || score(&set).0 < MIN_LEN {
        return None;
    }
    let kept = set
        .iter()
        .filter(|s| !set.iter().any(|t| t != *s && s.contains(t.as_str())))
        .cloned()
        .collect();
    Some(kept)
}

/// What a node matches, as far as literals go.
struct Info {
    /// The node matches exactly one of these strings (None: unknown or too many).
    exact: Option<Vec<String>>,
    /// Every match contains one string of each of these sets.
    required: Vec<Vec<String>>,
}

impl Info {
    fn exact(set: Vec<String>) -> Info {
        Info {
            exact: Some(set),
            required: Vec::new(),
        }
    }

    fn nothing() -> Info {
        Info {
            exact: None,
            required: Vec::new(),
        }
    }

    /// All it requires, its exact strings included.
    fn all(self) -> Vec<Vec<String>> {
        self.exact
            .into_iter()
            .chain(self.required)
            .filter(|set| useful(set))
            .collect()
    }
}

/// A set's worth: its shortest string (longer is better), then fewer strings.
fn score(set: &[String]) -> (usize, usize) {
    let shortest = set.iter().map(String::len).min().unwrap_or(0);
    (shortest, usize::MAX - set.len())
}

/// Whether a set says something: one of its strings (none empty) must be there.
fn useful(set: &[String]) -> bool {
    !set.is_empty() && score(set).0 > 0
}

/// How the prefilter sees one character: itself, lowercased when ASCII, or None when it
/// is not a literal for the prefilter.
fn unit(code: u32, fold: bool) -> Option<char> {
    let c = char::from_u32(code)?;
    if let Some(letters) = folded(c) {
        // The haystack maps the non-ASCII members to their ASCII letter; a case-sensitive
        // İ, ı, Kelvin sign or long s is not in it at all.
        return (fold || c.is_ascii()).then(|| char::from(letters.as_bytes()[0]));
    }
    (c.is_ascii() || !fold).then_some(c)
}

fn dedup(mut set: Vec<String>) -> Vec<String> {
    set.sort_unstable();
    set.dedup();
    set
}

/// Each string of `a` followed by each of `b`, or None when there would be too many.
fn product(mut a: Vec<String>, b: &[String]) -> Result<Vec<String>, Vec<String>> {
    if let [single] = b {
        for x in &mut a {
            x.push_str(single);
        }
        return Ok(a);
    }
    if a.len() * b.len() > MAX_SET {
        return Err(a);
    }
    Ok(dedup(
        a.iter()
            .flat_map(|x| b.iter().map(move |y| format!("{x}{y}")))
            .collect(),
    ))
}

fn analyse(ast: &Ast) -> Info {
    match ast {
        Ast::Char { code, fold } => unit(*code, *fold).map_or_else(Info::nothing, |c| Info::exact(vec![c.to_string()])),
        Ast::Class {
            negate,
            ranges,
            sets,
            fold,
        } => {
            let size = ranges.iter().fold(0u32, |n, (l, h)| n.saturating_add(h - l + 1));
            if *negate || !sets.is_empty() || size > MAX_CLASS {
                return Info::nothing();
            }
            let units: Option<Vec<String>> = ranges
                .iter()
                .flat_map(|&(low, high)| low..=high)
                .map(|code| unit(code, *fold).map(String::from))
                .collect();
            units.map_or_else(Info::nothing, |set| Info::exact(dedup(set)))
        }
        Ast::Raw { width, .. } => match width {
            Width::Zero => Info::exact(vec![String::new()]),
            Width::End => Info::exact(vec![String::new(), "\n".to_string()]),
            Width::One => Info::nothing(),
        },
        Ast::Flags(_) => Info::exact(vec![String::new()]),
        Ast::Group { inner, .. } => analyse(inner),
        Ast::Concat(items) => concat(items),
        Ast::Alternate(branches) => alternate(branches),
        Ast::Repeat { inner, min, max, .. } => {
            let info = analyse(inner);
            match (min, max) {
                (1, Some(1)) => info,
                (0, Some(1)) => match info.exact {
                    Some(mut set) if set.len() < MAX_SET => {
                        set.push(String::new());
                        Info::exact(dedup(set))
                    }
                    _ => Info::nothing(),
                },
                (0, _) => Info::nothing(),
                _ => Info {
                    exact: None,
                    required: info.all(),
                },
            }
        }
    }
}

/// A concatenation: runs of exact strings multiplied out, cut where they cannot be.
fn concat(items: &[Ast]) -> Info {
    let mut required: Vec<Vec<String>> = Vec::new();
    let mut run = vec![String::new()];
    let mut all_exact = true;
    for item in items {
        // One character (most of a pattern): appended to the run in place.
        if let Ast::Char { code, fold } = item {
            if let Some(c) = unit(*code, *fold) {
                for s in &mut run {
                    s.push(c);
                }
                continue;
            }
        }
        let info = analyse(item);
        if let Some(exact) = info.exact {
            match product(run, &exact) {
                Ok(longer) => run = longer,
                Err(old) => {
                    all_exact = false;
                    required.push(old);
                    run = exact;
                }
            }
        } else {
            all_exact = false;
            required.push(std::mem::replace(&mut run, vec![String::new()]));
            required.extend(info.required);
        }
    }
    if all_exact {
        return Info::exact(run);
    }
    required.push(run);
    required.retain(|set| useful(set));
    Info { exact: None, required }
}

/// An alternation: the union of its branches.
fn alternate(branches: &[Ast]) -> Info {
    let infos: Vec<Info> = branches.iter().map(analyse).collect();
    let exact = if infos.iter().all(|i| i.exact.is_some()) {
        let all: Vec<String> = infos
            .iter()
            .flat_map(|i| i.exact.iter().flatten().cloned())
            .take(MAX_SET * 4)
            .collect();
        Some(dedup(all)).filter(|set| set.len() <= MAX_SET)
    } else {
        None
    };
    // Every match contains a string of some branch's best set: every branch needs one.
    let mut union = Vec::new();
    for info in infos {
        match info.all().into_iter().max_by_key(|set| score(set)) {
            Some(_) if union.len() > MAX_SET * 4 => {}
            Some(set) => union.extend(set),
            None => {
                return Info {
                    exact,
                    required: Vec::new(),
                }
            }
        }
    }
    let required = Some(dedup(union))
        .filter(|set| set.len() <= MAX_SET)
        .into_iter()
        .collect();
    Info { exact, required }
}
