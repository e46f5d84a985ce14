//! The prefilter: for each keyword regex, sets of strings such that every match contains
//! one string of each set (found from the parsed pattern). The first set of every regex
//! is searched for in one pass over all the texts of a scan (Teddy, SIMD, in groups of 16
//! strings: several times faster to build, and to run on one event, than one Aho-Corasick
//! automaton over them all), the others are
//! checked for the regexes that pass; a regex that fails is known false without being
//! compiled or run. A hook process scans one event: most regexes are then never compiled
//! (each costs a fraction of a millisecond).
//!
//! Strings are lowercase and searched for in the text ASCII-lowercased with `İ`, `ı`, the
//! Kelvin sign and the long s replaced by `i`, `i`, `k` and `s` (`haystack`): what a
//! case-insensitive ASCII letter of a pattern matches (`pyre::folded`). Other characters
//! are taken only when they match themselves alone; anything else (a category, a large
//! or negated class, an optional part) cuts a string there. A regex without a set of
//! strings of at least two bytes is always run.

use aho_corasick::packed::{Config, MatchKind as PackedKind, Searcher};
use aho_corasick::{AhoCorasick, MatchKind, Span};
use memchr::memmem;

mod required;

pub use required::required;

/// The sets of each regex searched for in the pass over the text (the others are checked
/// for the regexes that pass: measured, checking them is cheaper than more searchers).
const SEARCHED: usize = 1;
/// Strings per Teddy searcher (measured: 16 is the fastest on 8 KB texts).
const GROUP: usize = 16;

/// The text as the prefilter searches it: ASCII-lowercased, the characters that fold with
/// an ASCII letter (`pyre::folded`) replaced by it.
#[cfg(test)]
pub fn haystack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_haystack(&mut out, text);
    out
}

/// Push the text's `haystack`.
fn push_haystack(out: &mut String, text: &str) {
    fn push_lowered(out: &mut String, piece: &str) {
        let start = out.len();
        out.push_str(piece);
        out[start..].make_ascii_lowercase();
    }
    // Their UTF-8 starts with C4 (İ ı), C5 (ſ) or E2 (K): most texts have none of these.
    let bytes = text.as_bytes();
    let mut copied = 0;
    for at in memchr::memchr3_iter(0xC4, 0xC5, 0xE2, bytes) {
        let (len, folded) = match &bytes[at..] {
            [0xC4, 0xB0 | 0xB1, ..] => (2, "i"),
            [0xC5, 0xBF, ..] => (2, "s"),
            [0xE2, 0x84, 0xAA, ..] => (3, "k"),
            _ => continue,
        };
        push_lowered(out, &text[copied..at]);
        out.push_str(folded);
        copied = at + len;
    }
    push_lowered(out, &text[copied..]);
}

/// The searchers over every regex's first set, and what each string admits.
pub struct Prefilter {
    /// Teddy searchers over groups of the strings (leftmost-longest), with the indices of
    /// their strings; None where Teddy is unavailable (then `fallback`).
    groups: Option<Vec<(Searcher, Vec<usize>)>>,
    fallback: Option<AhoCorasick>,
    strings: Vec<String>,
    /// Per string, the other strings of its group that are prefixes of it (found with it).
    prefixes: Vec<Vec<usize>>,
    /// Per matcher (None: not filtered).
    filters: Vec<Option<Filter>>,
    /// Per string, the matchers whose first searched set holds it.
    filtered_by: Vec<Vec<usize>>,
}

/// A matcher's sets: the searched ones as indices of their strings, the others as finders.
type Filter = (Vec<Vec<usize>>, Vec<Vec<memmem::Finder<'static>>>);

impl Prefilter {
    /// From each matcher's sets (empty: not filtered).
    pub fn new(sets: &[Vec<Vec<String>>]) -> Prefilter {
        let mut strings: Vec<String> = sets
            .iter()
            .flat_map(|s| s.iter().take(SEARCHED))
            .flatten()
            .cloned()
            .collect();
        // Sorted, so that strings starting alike share a searcher (fewer false candidates).
        strings.sort_unstable();
        strings.dedup();
        let index = |s: &String| strings.binary_search(s).unwrap_or_default();
        let filters: Vec<Option<Filter>> = sets
            .iter()
            .map(|sets| {
                if sets.is_empty() {
                    return None;
                }
                let (searched, rest) = sets.split_at(sets.len().min(SEARCHED));
                let searched = searched.iter().map(|set| set.iter().map(index).collect()).collect();
                let rest = rest
                    .iter()
                    .map(|set| set.iter().map(|s| memmem::Finder::new(s).into_owned()).collect())
                    .collect();
                Some((searched, rest))
            })
            .collect();
        let mut filtered_by = vec![Vec::new(); strings.len()];
        for (matcher, filter) in filters.iter().enumerate() {
            if let Some((searched, _)) = filter {
                for &string in searched.first().into_iter().flatten() {
                    filtered_by[string].push(matcher);
                }
            }
        }
        let mut prefixes = vec![Vec::new(); strings.len()];
        let mut groups = Some(Vec::new());
        for (number, group) in strings.chunks(GROUP).enumerate() {
            let base = number * GROUP;
            for (i, string) in group.iter().enumerate() {
                for (j, other) in group.iter().enumerate() {
                    if i != j && string.starts_with(other.as_str()) {
                        prefixes[base + i].push(base + j);
                    }
                }
            }
            let searcher = Config::new()
                .match_kind(PackedKind::LeftmostLongest)
                .builder()
                .extend(group)
                .build();
            match (searcher, groups.as_mut()) {
                (Some(searcher), Some(list)) => list.push((searcher, (base..base + group.len()).collect())),
                _ => groups = None,
            }
        }
        let fallback = if groups.is_none() && !strings.is_empty() {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&strings)
                .ok()
        } else {
            None
        };
        Prefilter {
            groups,
            fallback,
            strings,
            prefixes,
            filters,
            filtered_by,
        }
    }

    /// Per text, per matcher, whether it can match the text: a matcher without sets always
    /// can. The texts' haystacks are searched as one, each followed by a NUL (a string
    /// found across two texts is a candidate in the first: a false candidate, no more).
    pub fn search(&self, texts: &[&str]) -> Vec<Vec<bool>> {
        let mut joined = String::with_capacity(texts.iter().map(|t| t.len() + 1).sum());
        // Where each text's haystack starts, and where the last ends.
        let mut starts = Vec::with_capacity(texts.len() + 1);
        for text in texts {
            starts.push(joined.len());
            push_haystack(&mut joined, text);
            joined.push('\0');
        }
        starts.push(joined.len());
        let text_at = |at: usize| starts.partition_point(|&start| start <= at) - 1;
        let bytes = joined.as_bytes();
        let count = self.strings.len();
        // Per text, per string, whether it occurs there.
        let mut found = vec![false; texts.len() * count];
        if let Some(groups) = &self.groups {
            for (searcher, members) in groups {
                let (mut at, mut text, mut left) = (0, 0, members.len());
                // Every position where a string starts: the longest there, and its prefixes;
                // on to the next text once each string of the group is found in this one.
                while let Some(hit) = searcher.find_in(bytes, Span::from(at..bytes.len())) {
                    if hit.start() >= starts[text + 1] {
                        (text, left) = (text_at(hit.start()), members.len());
                    }
                    let found = &mut found[text * count..(text + 1) * count];
                    let string = members[hit.pattern().as_usize()];
                    for &s in std::iter::once(&string).chain(&self.prefixes[string]) {
                        if !found[s] {
                            found[s] = true;
                            left -= 1;
                        }
                    }
                    at = if left == 0 { starts[text + 1] } else { hit.start() + 1 };
                }
            }
        } else if let Some(automaton) = &self.fallback {
            for hit in automaton.find_overlapping_iter(bytes) {
                found[text_at(hit.start()) * count + hit.pattern().as_usize()] = true;
            }
        } else {
            found.fill(true); // no searcher could be built: no filtering
        }
        // A matcher can match where a string of its first set was found (its other sets
        // checked then); one without sets always can.
        let unfiltered: Vec<bool> = self.filters.iter().map(Option::is_none).collect();
        (0..texts.len())
            .map(|text| {
                let found = &found[text * count..(text + 1) * count];
                let haystack = &bytes[starts[text]..starts[text + 1] - 1];
                let mut possible = unfiltered.clone();
                for string in (0..count).filter(|&s| found[s]) {
                    for &matcher in &self.filtered_by[string] {
                        if let (false, Some((searched, rest))) = (possible[matcher], &self.filters[matcher]) {
                            possible[matcher] = searched.iter().all(|set| set.iter().any(|&s| found[s]))
                                && rest
                                    .iter()
                                    .all(|set| set.iter().any(|finder| finder.find(haystack).is_some()));
                        }
                    }
                }
                possible
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
