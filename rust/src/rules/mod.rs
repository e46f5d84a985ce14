//! NOVA prompt-injection rules, keyword tier (the engine; `py.rs` binds it).
//!
//! The rule set is a compiled JSON document (the Python parser turns `.nov` files into
//! it): `{"format": 1, "confusables": {char: replacement}, "rules": [rule]}`, each rule
//! `{"name", "keywords": [{"name", "pattern", "regex", "case_sensitive"}] (those the
//! condition evaluates, in file order), "condition" (`condition`), "semantics", "llm"
//! (whether it has those sections), "unknown": {"semantics": [name], "llm": [name]}}`
//! (the candidates of nova-hunting's test); other keys are ignored. Scanning a text follows nova-hunting 0.3.1 without its semantic
//! and LLM extras, which is what the hooks run:
//! 1. the text is normalised: NFKC, then each character through the document's
//!    confusables table;
//! 2. a blank text (Python's `str.isspace` throughout) matches no rule; otherwise
//!    a regex keyword is `re.search` (`pyre` rewrites the pattern for the `regex` crate),
//!    a plain one a substring test, lowercased both sides unless it is case-sensitive;
//! 3. the condition is evaluated with the keywords alone (`early`); a rule matches when
//!    `early` holds and no assignment of its unknown semantics (resp. LLM) candidates
//!    changes the result, for each of those tiers the rule has (nova-hunting fails closed,
//!    reporting no match, when an unavailable tier could change it).
//!
//! Keywords are evaluated only when the condition asks for them, at most once per text
//! (identical keywords of different rules share the result). A regex runs only when the
//! prefilter (`literals`) finds the strings its matches need in the text, and is compiled
//! when it first runs, then kept: a hook process scanning one event compiles few of them.
//! A regex with `\b`/`\B` runs on the text with Python's word characters (`pyre`).

mod condition;
mod derived;
mod literals;
pub mod py;
pub mod pyre;

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use condition::Condition;
use literals::Prefilter;

/// The rule-set format this engine reads.
pub const FORMAT: u64 = 1;

/// A keyword's test, shared by the rules that have the same one.
enum Matcher {
    Regex {
        /// The pattern as written (for messages) and as the crate reads it.
        source: String,
        translated: String,
        compiled: OnceLock<Result<Regex, String>>,
        /// Whether it runs on the text with Python's word characters (`pyre::python_words`).
        python_words: bool,
    },
    /// A substring; lowercased already when not case-sensitive.
    Plain { pattern: String, case_sensitive: bool },
}

impl Matcher {
    /// The matcher of a keyword, with the literal sets of the prefilter (`literals`); for a
    /// regex, the reason it is refused.
    fn new(pattern: &str, regex: bool, case_sensitive: bool) -> Result<(Matcher, Vec<Vec<String>>), String> {
        if !regex {
            let pattern = if case_sensitive {
                pattern.to_string()
            } else {
                pattern.to_lowercase()
            };
            return Ok((
                Matcher::Plain {
                    pattern,
                    case_sensitive,
                },
                Vec::new(),
            ));
        }
        let (translated, python_words, literals) = if let Some(derived) = derived::lookup(pattern, !case_sensitive) {
            let literals = derived
                .literals
                .iter()
                .map(|set| set.iter().map(|s| (*s).to_string()).collect())
                .collect();
            (derived.translated.to_string(), derived.python_words, literals)
        } else {
            let ast = pyre::parse(pattern, !case_sensitive)?;
            let mut translated = String::with_capacity(pattern.len() * 2);
            ast.emit(&mut translated);
            (translated, ast.wants_python_words(), literals::required(&ast))
        };
        let matcher = Matcher::Regex {
            source: pattern.to_string(),
            translated,
            compiled: OnceLock::new(),
            python_words,
        };
        Ok((matcher, literals))
    }
    fn regex(&self) -> Result<&Regex, String> {
        let Matcher::Regex {
            source,
            translated,
            compiled,
            ..
        } = self
        else {
            unreachable!("only regex keywords are compiled")
        };
        compiled
            .get_or_init(|| {
                RegexBuilder::new(translated)
                    .dfa_size_limit(16 << 20)
                    .build()
                    .map_err(|e| format!("the regex {source:?} does not compile: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

struct Rule {
    name: String,
    /// Its "severity" ("" when it has none).
    severity: String,
    /// The matcher of each keyword, in the rule's order.
    keywords: Vec<usize>,
    condition: Condition,
    /// Whether it matches when the prefilter rules out every keyword: decided once, at load.
    when_all_false: bool,
}

impl Rule {
    /// Whether the rule matches the text being scanned.
    fn matches(&self, scan: &mut Scan<'_>) -> Result<bool, String> {
        if self.keywords.iter().all(|&m| !scan.possible[m]) {
            return Ok(self.when_all_false);
        }
        self.condition.matches(&mut |index| {
            scan.matcher(self.keywords[index])
                .map_err(|why| format!("keyword {:?}: {why}", self.condition.keyword(index)))
        })
    }
}

/// A compiled NOVA rule set.
pub struct RuleSet {
    rules: Vec<Rule>,
    matchers: Vec<Matcher>,
    /// Per matcher, sets of strings its matches contain one of each (`literals`).
    literals: Vec<Vec<Vec<String>>>,
    /// Built on the first scan of a non-blank text.
    prefilter: OnceLock<Prefilter>,
    /// The confusables table, sorted by character.
    confusables: Vec<(char, String)>,
    /// Whether an ASCII character has an entry (else ASCII text is left as it is).
    ascii_confusables: bool,
    /// Non-ASCII characters known to be `plain`, by code point modulo the length (0: none).
    plain: [AtomicU32; 1024],
}

/// One normalised text being scanned, with the keyword results found so far.
struct Scan<'a> {
    set: &'a RuleSet,
    text: &'a str,
    lowered: Option<String>,
    /// The text for patterns with word boundaries (`pyre::python_words`), made when needed.
    words: Option<Cow<'a, str>>,
    results: Vec<Option<bool>>,
    /// Per matcher, whether the prefilter lets it run (false: known not to match).
    possible: Vec<bool>,
}

impl Scan<'_> {
    fn matcher(&mut self, index: usize) -> Result<bool, String> {
        if let Some(result) = self.results[index] {
            return Ok(result);
        }
        let result = self.possible[index]
            && match &self.set.matchers[index] {
                matcher @ Matcher::Regex { python_words, .. } => {
                    let text = if *python_words {
                        let text = self.text;
                        self.words.get_or_insert_with(|| pyre::python_words(text))
                    } else {
                        self.text
                    };
                    matcher.regex()?.is_match(text)
                }
                Matcher::Plain {
                    pattern,
                    case_sensitive: true,
                } => self.text.contains(pattern.as_str()),
                Matcher::Plain { pattern, .. } => {
                    let text = self.text;
                    self.lowered
                        .get_or_insert_with(|| text.to_lowercase())
                        .contains(pattern.as_str())
                }
            };
        self.results[index] = Some(result);
        Ok(result)
    }
}

impl RuleSet {
    /// Parse a compiled rule-set document (JSON bytes); the error says what is wrong and where.
    pub fn load(document: &[u8]) -> Result<RuleSet, String> {
        let value: Value = serde_json::from_slice(document).map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(top) = value else {
            return Err("not a JSON object".into());
        };
        match top.get("format") {
            Some(Value::Number(n)) if n.as_u64() == Some(FORMAT) => {}
            _ => return Err(format!("\"format\" is not {FORMAT}")),
        }
        let mut set = RuleSet {
            rules: Vec::new(),
            matchers: Vec::new(),
            literals: Vec::new(),
            prefilter: OnceLock::new(),
            confusables: Vec::new(),
            ascii_confusables: false,
            plain: std::array::from_fn(|_| AtomicU32::new(0)),
        };
        let Some(Value::Object(table)) = top.get("confusables") else {
            return Err("\"confusables\" is not an object".into());
        };
        for (key, replacement) in table {
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(format!("confusables: the key {key:?} is not one character"));
            };
            let Value::String(replacement) = replacement else {
                return Err(format!("confusables: the value of {key:?} is not a string"));
            };
            set.ascii_confusables |= c.is_ascii();
            set.confusables.push((c, replacement.clone()));
        }
        set.confusables.sort_unstable_by_key(|&(c, _)| c);
        let Some(Value::Array(rules)) = top.get("rules") else {
            return Err("\"rules\" is not a list".into());
        };
        let mut shared: HashMap<(String, bool, bool), usize> = HashMap::new();
        for (number, rule) in rules.iter().enumerate() {
            let name = rule.get("name").and_then(Value::as_str).unwrap_or("?");
            let rule = set
                .parse_rule(rule, &mut shared)
                .map_err(|why| format!("rule {number} ({name:?}): {why}"))?;
            set.rules.push(rule);
        }
        Ok(set)
    }

    fn parse_rule(&mut self, rule: &Value, shared: &mut HashMap<(String, bool, bool), usize>) -> Result<Rule, String> {
        let Value::Object(rule) = rule else {
            return Err("not an object".into());
        };
        let name = string(rule, "name")?.to_string();
        let severity = match rule.get("severity") {
            None => String::new(),
            Some(_) => string(rule, "severity")?.to_string(),
        };
        let Some(Value::Array(list)) = rule.get("keywords") else {
            return Err("\"keywords\" is not a list".into());
        };
        let mut names: Vec<String> = Vec::with_capacity(list.len());
        let mut keywords: Vec<usize> = Vec::with_capacity(list.len());
        for item in list {
            let Value::Object(item) = item else {
                return Err("a keyword is not an object".into());
            };
            let name = string(item, "name")?;
            let pattern = string(item, "pattern").map_err(|why| format!("keyword {name:?}: {why}"))?;
            let regex = boolean(item, "regex").map_err(|why| format!("keyword {name:?}: {why}"))?;
            let case_sensitive = boolean(item, "case_sensitive").map_err(|why| format!("keyword {name:?}: {why}"))?;
            if names.iter().any(|n| n == name) {
                return Err(format!("the keyword {name:?} is listed twice"));
            }
            let key = (pattern.to_string(), regex, case_sensitive);
            let matcher = if let Some(&index) = shared.get(&key) {
                index
            } else {
                let (matcher, literals) = Matcher::new(pattern, regex, case_sensitive)
                    .map_err(|why| format!("keyword {name:?}: the regex {pattern:?}: {why}"))?;
                self.literals.push(literals);
                self.matchers.push(matcher);
                shared.insert(key, self.matchers.len() - 1);
                self.matchers.len() - 1
            };
            names.push(name.to_string());
            keywords.push(matcher);
        }
        let Some(Value::Object(unknown)) = rule.get("unknown") else {
            return Err("\"unknown\" is not an object".into());
        };
        let candidates = |tier: &str| -> Result<Option<Vec<String>>, String> {
            let Some(Value::Array(list)) = unknown.get(tier) else {
                return Err(format!("\"unknown\": {tier:?} is not a list"));
            };
            let mut out: Vec<String> = Vec::with_capacity(list.len());
            for name in list {
                let name = name
                    .as_str()
                    .ok_or_else(|| format!("\"unknown\": {tier:?} holds a non-string"))?;
                if !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            }
            // The tier is consulted only when the rule has that section.
            Ok(if boolean(rule, tier)? { Some(out) } else { None })
        };
        let (semantics, llm) = (candidates("semantics")?, candidates("llm")?);
        let node = rule.get("condition").ok_or("no \"condition\"")?;
        let condition = Condition::parse(node, names, semantics, llm).map_err(|why| format!("condition: {why}"))?;
        let when_all_false = condition.matches(&mut |_| Ok(false))?;
        Ok(Rule {
            name,
            severity,
            keywords,
            condition,
            when_all_false,
        })
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// A rule's name.
    pub fn name(&self, rule: usize) -> &str {
        &self.rules[rule].name
    }

    /// A rule's severity.
    pub fn severity(&self, rule: usize) -> &str {
        &self.rules[rule].severity
    }

    /// Compile every regex now (else each is compiled when first needed); the first error.
    pub fn compile_all(&self) -> Result<(), String> {
        for matcher in &self.matchers {
            if let Matcher::Regex { .. } = matcher {
                matcher.regex()?;
            }
        }
        Ok(())
    }

    /// The text as nova-hunting matches it: NFKC, then the confusables table.
    pub fn normalise<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.ascii_confusables {
            let nfkc: String = text.nfkc().collect();
            return Cow::Owned(
                self.replace_confusables(&nfkc, std::iter::once(0..nfkc.len()))
                    .unwrap_or(nfkc),
            );
        }
        // ASCII is NFKC, a starter and (here) no confusable: only the non-ASCII runs with a
        // character that is not `plain` can change, and the quick check runs over them alone.
        let runs: Vec<Range<usize>> = non_ascii_runs(text)
            .filter(|run| !text[run.clone()].chars().all(|c| self.plain(c)))
            .collect();
        if runs.is_empty() {
            return Cow::Borrowed(text);
        }
        if runs
            .iter()
            .all(|run| is_nfkc_quick(text[run.clone()].chars()) == IsNormalized::Yes)
        {
            return self
                .replace_confusables(text, runs.into_iter())
                .map_or(Cow::Borrowed(text), Cow::Owned);
        }
        let nfkc: String = text.nfkc().collect();
        Cow::Owned(self.replace_confusables(&nfkc, non_ascii_runs(&nfkc)).unwrap_or(nfkc))
    }

    /// Whether normalising leaves the character as it is wherever it stands: a starter
    /// that NFKC keeps (quick check Yes) and the confusables table does not name.
    /// Remembered in `plain` (a character per slot, the last one found plain there).
    fn plain(&self, c: char) -> bool {
        let slot = &self.plain[c as usize % self.plain.len()];
        if slot.load(Ordering::Relaxed) == u32::from(c) {
            return true;
        }
        let plain = canonical_combining_class(c) == 0
            && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
            && self.confusables.binary_search_by_key(&c, |&(key, _)| key).is_err();
        if plain {
            slot.store(u32::from(c), Ordering::Relaxed);
        }
        plain
    }

    /// The text with each character of the runs that has an entry in the confusables
    /// table replaced; None when none has.
    fn replace_confusables(&self, text: &str, runs: impl Iterator<Item = Range<usize>>) -> Option<String> {
        let mut out: Option<String> = None;
        let mut copied = 0;
        for run in runs {
            for (at, c) in text[run.clone()].char_indices() {
                if let Ok(found) = self.confusables.binary_search_by_key(&c, |&(key, _)| key) {
                    let at = run.start + at;
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                    out.push_str(&text[copied..at]);
                    out.push_str(&self.confusables[found].1);
                    copied = at + c.len_utf8();
                }
            }
        }
        out.map(|mut out| {
            out.push_str(&text[copied..]);
            out
        })
    }

    /// The indices (ascending) of the rules that match at least one of the texts.
    pub fn scan<T: AsRef<str>>(&self, texts: &[T]) -> Result<Vec<usize>, String> {
        // nova-hunting's answer for a blank text depends on what its scanner saw before;
        // here it matches no rule.
        let normals: Vec<Cow<'_, str>> = texts
            .iter()
            .map(|text| self.normalise(text.as_ref()))
            .filter(|normal| !normal.chars().all(is_python_space))
            .collect();
        if normals.is_empty() {
            return Ok(Vec::new());
        }
        let prefilter = self.prefilter.get_or_init(|| Prefilter::new(&self.literals));
        let texts: Vec<&str> = normals.iter().map(AsRef::as_ref).collect();
        let mut matched = vec![false; self.rules.len()];
        let mut left = self.rules.len();
        for (text, possible) in texts.iter().zip(prefilter.search(&texts)) {
            if left == 0 {
                break;
            }
            let mut scan = Scan {
                set: self,
                text,
                lowered: None,
                words: None,
                results: vec![None; self.matchers.len()],
                possible,
            };
            for (index, rule) in self.rules.iter().enumerate() {
                if !matched[index]
                    && rule
                        .matches(&mut scan)
                        .map_err(|why| format!("rule {:?}: {why}", rule.name))?
                {
                    matched[index] = true;
                    left -= 1;
                }
            }
        }
        Ok((0..self.rules.len()).filter(|&i| matched[i]).collect())
    }
}

/// The byte ranges of the text's maximal runs of non-ASCII characters.
fn non_ascii_runs(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        // Eight bytes at a time through the ASCII.
        while let Some(chunk) = bytes.get(at..at + 8) {
            if u64::from_ne_bytes(chunk.try_into().ok()?) & 0x8080_8080_8080_8080 != 0 {
                break;
            }
            at += 8;
        }
        let start = at + bytes[at..].iter().position(|b| !b.is_ascii())?;
        let end = bytes[start..]
            .iter()
            .position(u8::is_ascii)
            .map_or(bytes.len(), |n| start + n);
        at = end;
        Some(start..end)
    })
}

/// Python's `str.isspace` (Unicode White_Space plus U+001C–U+001F).
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn string<'v>(object: &'v Map<String, Value>, key: &str) -> Result<&'v str, String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{key:?} is not a string"))
}

fn boolean(object: &Map<String, Value>, key: &str) -> Result<bool, String> {
    object
        .get(key)
        .and_then(Value::as_bool)
        .ok_or_else(|| format!("{key:?} is not true or false"))
}

#[cfg(test)]
mod tests;
