//! The keyword index of a rule set: the distinct keywords, the rules each one selects,
//! and the short keyword prefixes the prefilter's first automaton searches for.
//!
//! build.rs includes this file by path and writes the index of the package's rule file
//! into the compiled tables; any other rule set is indexed at load time. No crate-internal
//! dependencies, so both builds share this one implementation.

use std::collections::HashMap;

/// The length of a keyword prefix. An automaton over the distinct prefixes has far fewer
/// states than one over the whole keywords, so it is cheaper to build; a prefix found is
/// checked against the keywords that start with it.
pub const PREFIX: usize = 4;

#[derive(Debug, Default, PartialEq)]
pub struct Index {
    /// The distinct keywords, in order of first use.
    pub keywords: Vec<String>,
    /// For each keyword, the rules it selects, ascending.
    pub rules: Vec<Vec<usize>>,
    /// The rules without keywords, ascending: candidates for every text.
    pub always: Vec<usize>,
    /// The distinct keyword prefixes (`prefix`), in order of first use.
    pub prefixes: Vec<String>,
    /// For each prefix, the keywords that start with it, ascending.
    pub starting: Vec<Vec<usize>>,
}

/// A keyword's first PREFIX bytes (cut at a character boundary), or the whole keyword.
pub fn prefix(keyword: &str) -> &str {
    let end = (1..=keyword.len().min(PREFIX))
        .rev()
        .find(|&end| keyword.is_char_boundary(end))
        .unwrap_or(keyword.len());
    &keyword[..end]
}

impl Index {
    /// The index of rules given by their keywords (lowercase), in rule order.
    pub fn new<'a, K, R>(rules: R) -> Index
    where
        K: AsRef<str> + 'a,
        R: IntoIterator<Item = &'a [K]>,
    {
        let mut keywords: Vec<String> = Vec::new();
        let mut selects: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (rule, words) in rules.into_iter().enumerate() {
            if words.is_empty() {
                always.push(rule);
            }
            for word in words {
                let word = word.as_ref();
                let at = *seen.entry(word).or_insert_with(|| {
                    keywords.push(word.to_string());
                    selects.push(Vec::new());
                    keywords.len() - 1
                });
                if selects[at].last() != Some(&rule) {
                    selects[at].push(rule);
                }
            }
        }
        let mut prefixes: Vec<String> = Vec::new();
        let mut starting: Vec<Vec<usize>> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (number, keyword) in keywords.iter().enumerate() {
            let head = prefix(keyword);
            let at = *seen.entry(head).or_insert_with(|| {
                prefixes.push(head.to_string());
                starting.push(Vec::new());
                prefixes.len() - 1
            });
            starting[at].push(number);
        }
        Index {
            keywords,
            rules: selects,
            always,
            prefixes,
            starting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_cut_at_a_character_boundary() {
        assert_eq!(prefix("ab"), "ab");
        assert_eq!(prefix("abcdefgh"), &"abcdefgh"[..PREFIX]);
        for keyword in ["\u{e9}\u{e9}\u{e9}\u{e9}", "a\u{1F600}", "\u{1F600}\u{1F600}"] {
            let head = prefix(keyword);
            assert!(keyword.starts_with(head) && !head.is_empty(), "{keyword}");
            assert!(head.len() <= PREFIX || head.chars().count() == 1, "{keyword}");
            assert!(keyword[head.len()..]
                .chars()
                .next()
                .is_none_or(|c| head.len() + c.len_utf8() > PREFIX));
        }
    }

    #[test]
    fn keywords_are_listed_once_with_their_rules() {
        let rules: [&[&str]; 4] = [&["tok", "token_x", "tok"], &[], &["token_y", "tok"], &["x"]];
        let index = Index::new(rules);
        assert_eq!(index.keywords[..], ["tok", "token_x", "token_y", "x"]);
        assert_eq!(index.rules[0][..], [0, 2]);
        assert_eq!(index.rules[3][..], [3]);
        assert_eq!(index.always[..], [1]);
        let groups: Vec<(&str, Vec<usize>)> = index
            .prefixes
            .iter()
            .zip(&index.starting)
            .map(|(prefix, keywords)| (&prefix[..], keywords.clone()))
            .collect();
        assert_eq!(
            groups,
            [("tok", vec![0]), (prefix("token_x"), vec![1, 2]), ("x", vec![3])]
        );
    }
}
