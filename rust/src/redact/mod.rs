//! Secret redaction (the engine; `py.rs` binds it): rules are data (the rule file
//! format of the README), a keyword prefilter (`aho-corasick`) picks the few
//! rules whose keywords occur in a text, and only those rules' patterns (the
//! `regex` crate over bytes, Unicode off, compiled on first use and kept) run.
//!
//! The Python kernel (`_python_redact.py`) follows the same steps with `re`
//! and gives the same bytes:
//! 1. the candidate rules are those with a keyword in the text (ASCII case
//!    folded) and those without keywords, in rule order;
//! 2. each candidate runs on the text as the earlier ones left it (skipped when
//!    its quick pattern, `dialect::quick`, finds nothing there): matches are
//!    searched from position 0, the next search starting where the last match
//!    ended (an empty match is skipped, the search moving one byte on);
//! 3. a match's secret is its `secret_group`, else its first non-empty group,
//!    else the whole match; it counts unless it is empty, below the rule's
//!    `entropy`, or allowed (the global allowlist on the secret, or one of the
//!    rule's allowlists on the secret, the match or the match's lines);
//! 4. the secret's byte span is widened to whole UTF-8 characters, merged with
//!    the previous span when they overlap, and replaced by `[REDACTED:<id>]`.

pub mod dialect;
pub mod keywords;
pub mod py;
mod table;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use memchr::memmem;
use regex::bytes::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use table::{Seq, Shared, Tabled, Text};

/// The rule file format this engine reads.
pub const FORMAT: u64 = 1;
/// The longest rule id.
const MAX_ID: usize = 64;

/// A pattern, compiled on first use and kept.
struct Pattern {
    source: Text,
    compiled: OnceLock<Result<Regex, String>>,
}

impl Pattern {
    fn new(source: String) -> Self {
        Pattern {
            source: Text::Owned(source),
            compiled: OnceLock::new(),
        }
    }

    /// A pattern of the compiled tables (`TEXT[start..end]`).
    #[cfg_attr(not(builtin_rules), allow(dead_code))]
    const fn table(start: u32, end: u32) -> Self {
        Pattern {
            source: Text::Table(start, end),
            compiled: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<&Regex, String> {
        self.compiled
            .get_or_init(|| {
                RegexBuilder::new(&self.source)
                    .unicode(false)
                    .dfa_size_limit(64 << 20)
                    .build()
                    .map_err(|e| format!("pattern {:?} does not compile: {e}", &*self.source))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Secret,
    Match,
    Line,
}

struct Allow {
    /// The allowlist's regexes searched as one (`dialect::any_of`).
    regexes: Option<Pattern>,
    /// Lowercase.
    stopwords: Seq<Text>,
    target: Target,
    all: bool,
}

impl Allow {
    /// Whether this allowlist lets the finding through (it is not a secret).
    fn allows(&self, secret: &[u8], lowered: &[u8], matched: &[u8], line: &[u8]) -> Result<bool, String> {
        let target = match self.target {
            Target::Secret => secret,
            Target::Match => matched,
            Target::Line => line,
        };
        let regex_hit = match &self.regexes {
            Some(pattern) => pattern.get()?.is_match(target),
            None => false,
        };
        let stop_hit = self
            .stopwords
            .iter()
            .any(|word| memmem::find(lowered, word.as_bytes()).is_some());
        Ok(if self.all {
            (self.regexes.is_none() || regex_hit) && (self.stopwords.is_empty() || stop_hit)
        } else {
            regex_hit || stop_hit
        })
    }
}

struct Rule {
    id: Text,
    regex: Pattern,
    /// The pattern without its leading optional lazy run (`dialect::quick`): searched first.
    quick: Option<Pattern>,
    /// Lowercase.
    keywords: Seq<Text>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    allow: Seq<Allow>,
}

/// The prefilter's tables: a rule set's keywords (`keywords::Index`).
struct KeywordIndex {
    keywords: Seq<Text>,
    /// For each keyword, the rules it selects.
    rules: Seq<Seq<usize>>,
    /// The rules without keywords.
    always: Seq<usize>,
    prefixes: Seq<Text>,
    /// For each prefix, the keywords starting with it.
    starting: Seq<Seq<usize>>,
}

impl KeywordIndex {
    fn new(index: keywords::Index) -> Self {
        let texts = |texts: Vec<String>| Seq::Owned(texts.into_iter().map(Text::Owned).collect());
        let lists = |lists: Vec<Vec<usize>>| Seq::Owned(lists.into_iter().map(Seq::Owned).collect());
        KeywordIndex {
            keywords: texts(index.keywords),
            rules: lists(index.rules),
            always: Seq::Owned(index.always),
            prefixes: texts(index.prefixes),
            starting: lists(index.starting),
        }
    }
}

/// The package's rule file as build.rs compiled it (`$OUT_DIR/builtin_rules.rs`): the rules
/// as parsing and preparing them gives, and their keyword index. The tables define TEXT
/// (every text, concatenated) and one array per `Tabled` type; the rules and allowlists are
/// used in place, their patterns compiled once per process.
pub struct Builtin {
    bytes: &'static [u8],
    global: Option<&'static Allow>,
    rules: &'static [Rule],
    index: &'static KeywordIndex,
}

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

impl Tabled for Text {
    fn table() -> &'static [Self] {
        &TEXTS
    }
}

impl Tabled for usize {
    fn table() -> &'static [Self] {
        &NUMBERS
    }
}

impl Tabled for Seq<usize> {
    fn table() -> &'static [Self] {
        &LISTS
    }
}

impl Tabled for Allow {
    fn table() -> &'static [Self] {
        &ALLOWS
    }
}

/// The rules of one process: built-in and user ones merged, with the prefilter.
pub struct RuleSet {
    rules: Vec<Shared<Rule>>,
    global: Vec<Shared<Allow>>,
    /// The rules' keyword index (the compiled one when the rules are the built-in ones).
    index: Shared<KeywordIndex>,
    /// The prefilter as an NFA over the keyword prefixes, built on first use.
    prefilter: OnceLock<Option<AhoCorasick>>,
    /// The prefilter as a DFA over the keywords, built once FAST_AFTER bytes have been scanned.
    fast: OnceLock<Option<AhoCorasick>>,
    scanned: AtomicUsize,
    /// What was refused in the documents after the first (user rules), one line each.
    pub problems: Vec<String>,
}

/// One of the prefilter's automata.
enum Prefilter<'a> {
    /// Over the keyword prefixes: a prefix found is checked against the keywords starting with it.
    Prefixes(&'a AhoCorasick),
    /// Over the keywords.
    Keywords(&'a AhoCorasick),
}

/// A span of bytes in a text, `[start, end)`.
type Span = (usize, usize);
/// A redacted text: the new bytes, per rule that fired (rule index, count), and the
/// secrets found (rule index, bytes), in the order found.
pub struct Redaction {
    pub text: Vec<u8>,
    pub fired: Vec<(usize, usize)>,
    pub secrets: Vec<(usize, Vec<u8>)>,
}

impl RuleSet {
    /// Load rule documents (JSON bytes): the first (the built-in rules) must be valid;
    /// in the later ones (user rules) a bad document or rule is refused and noted in `problems`.
    pub fn load(documents: &[&[u8]]) -> Result<RuleSet, String> {
        let mut set = RuleSet {
            rules: Vec::new(),
            global: Vec::new(),
            index: Shared::Owned(Box::new(KeywordIndex::new(keywords::Index::default()))),
            prefilter: OnceLock::new(),
            fast: OnceLock::new(),
            scanned: AtomicUsize::new(0),
            problems: Vec::new(),
        };
        // The compiled index, while the rules are the built-in ones.
        let mut compiled = None;
        for (number, document) in documents.iter().enumerate() {
            if number == 0 {
                if let Some(builtin) = BUILTIN.as_ref().filter(|b| b.bytes == *document) {
                    set.add_builtin(builtin);
                    compiled = Some(builtin.index);
                    continue;
                }
            }
            match set.add_document(document, number) {
                Ok(true) => compiled = None,
                Ok(false) => {}
                Err(why) if number == 0 => return Err(why),
                Err(why) => set
                    .problems
                    .push(format!("rule file {number}: {why}; none of its rules used")),
            }
        }
        set.index = match compiled {
            Some(index) => Shared::Static(index),
            None => Shared::Owned(Box::new(KeywordIndex::new(set.indexed()))),
        };
        Ok(set)
    }

    /// The package's own rule file, from the tables build.rs compiled it into (checked by
    /// the tests to give the very rules parsing it gives).
    fn add_builtin(&mut self, builtin: &Builtin) {
        self.global.extend(builtin.global.map(Shared::Static));
        self.rules.extend(builtin.rules.iter().map(Shared::Static));
    }

    /// Adds a parsed document's rules and global allowlist; whether it had rules.
    fn add_document(&mut self, document: &[u8], index: usize) -> Result<bool, String> {
        let user = index > 0;
        let value: Value = serde_json::from_slice(document).map_err(|_| "not valid JSON".to_string())?;
        let Value::Object(top) = value else {
            return Err("not a JSON object".into());
        };
        match top.get("format") {
            Some(Value::Number(n)) if n.as_u64() == Some(FORMAT) => {}
            _ => return Err(format!("\"format\" is not {FORMAT}")),
        }
        let rules = match top.get("rules") {
            None => &[][..],
            Some(Value::Array(rules)) => &rules[..],
            Some(_) => return Err("\"rules\" is not a list".into()),
        };
        let global = match top.get("allow") {
            None => None,
            Some(Value::Object(allow)) => Some(parse_allow(allow, true)?),
            Some(_) => return Err("\"allow\" is not an object".into()),
        };
        let mut parsed = Vec::with_capacity(rules.len());
        for (number, rule) in rules.iter().enumerate() {
            match parse_rule(rule).and_then(|rule| if user { compile(rule) } else { Ok(rule) }) {
                Ok(rule) => parsed.push(rule),
                Err(why) if user => {
                    let id = rule.get("id").and_then(Value::as_str).unwrap_or("?");
                    self.problems.push(format!(
                        "rule file {index}, rule {number} ({}): {why}; not used",
                        printable(id)
                    ));
                }
                Err(why) => return Err(format!("rule {number}: {why}")),
            }
        }
        if let Some(global) = global {
            if let (true, Some(pattern)) = (user, &global.regexes) {
                pattern.get()?;
            }
            self.global.push(Shared::Owned(Box::new(global)));
        }
        let added = !parsed.is_empty();
        for rule in parsed {
            let rule = Shared::Owned(Box::new(rule));
            match self.rules.iter().position(|old| *old.id == *rule.id) {
                Some(at) => self.rules[at] = rule,
                None => self.rules.push(rule),
            }
        }
        Ok(added)
    }

    /// The keyword index of the rules.
    fn indexed(&self) -> keywords::Index {
        keywords::Index::new(self.rules.iter().map(|rule| &rule.keywords[..]))
    }

    /// The prefilter for the next `scanned` bytes: an NFA over the keyword prefixes for a
    /// process's first FAST_AFTER bytes (cheap to build: what a hook process uses), then a
    /// DFA over the keywords (costlier to build, faster a byte), which a long-lived writer
    /// pays once. Both find the same keywords.
    fn automaton(&self, scanned: usize) -> Option<Prefilter<'_>> {
        let before = self.scanned.fetch_add(scanned, Ordering::Relaxed);
        if before < FAST_AFTER {
            return self.nfa();
        }
        self.dfa().or_else(|| self.nfa())
    }

    fn nfa(&self) -> Option<Prefilter<'_>> {
        self.prefilter
            .get_or_init(|| automaton(&self.index.prefixes, AhoCorasickKind::NoncontiguousNFA).ok())
            .as_ref()
            .map(Prefilter::Prefixes)
    }

    fn dfa(&self) -> Option<Prefilter<'_>> {
        self.fast
            .get_or_init(|| automaton(&self.index.keywords, AhoCorasickKind::DFA).ok())
            .as_ref()
            .map(Prefilter::Keywords)
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// A rule's id.
    pub fn id(&self, rule: usize) -> &str {
        &self.rules[rule].id
    }

    /// The rules that may match text, in rule order: those with a keyword in the text
    /// (ASCII case folded) and those without keywords.
    fn candidates(&self, text: &[u8]) -> Vec<usize> {
        let index = &self.index;
        let mut chosen = vec![false; self.rules.len()];
        for &rule in index.always.iter() {
            chosen[rule] = true;
        }
        if !index.keywords.is_empty() {
            // Keywords are lowercase: search the text folded the same way (ASCII only), which
            // builds an automaton in a fraction of the time of an ASCII case-insensitive one.
            let lowered = text.to_ascii_lowercase();
            if let Some(prefilter) = self.automaton(text.len()) {
                for (keyword, _) in self
                    .keywords_in(&lowered, prefilter)
                    .iter()
                    .enumerate()
                    .filter(|(_, &on)| on)
                {
                    for &rule in index.rules[keyword].iter() {
                        chosen[rule] = true;
                    }
                }
            }
        }
        chosen
            .iter()
            .enumerate()
            .filter(|(_, &on)| on)
            .map(|(rule, _)| rule)
            .collect()
    }

    /// Which keywords occur in the lowered text, by keyword number.
    fn keywords_in(&self, lowered: &[u8], prefilter: Prefilter<'_>) -> Vec<bool> {
        let index = &self.index;
        let mut seen = vec![false; index.keywords.len()];
        match prefilter {
            Prefilter::Prefixes(nfa) => {
                for found in nfa.find_overlapping_iter(lowered) {
                    let rest = &lowered[found.start()..];
                    for &keyword in index.starting[found.pattern().as_usize()].iter() {
                        if !seen[keyword] && rest.starts_with(index.keywords[keyword].as_bytes()) {
                            seen[keyword] = true;
                        }
                    }
                }
            }
            Prefilter::Keywords(dfa) => {
                for found in dfa.find_overlapping_iter(lowered) {
                    seen[found.pattern().as_usize()] = true;
                }
            }
        }
        seen
    }

    /// The text with its secrets replaced, (rule, count) per rule that fired, and the
    /// secrets found (rule, bytes: to remove their copies elsewhere); None when nothing was.
    pub fn redact(&self, text: &[u8]) -> Result<Option<Redaction>, String> {
        let candidates = self.candidates(text);
        let mut current: Option<Vec<u8>> = None;
        let mut fired = Vec::new();
        let mut secrets = Vec::new();
        for rule in candidates {
            let now = current.as_deref().unwrap_or(text);
            let spans = self.find(&self.rules[rule], now)?;
            if spans.is_empty() {
                continue;
            }
            secrets.extend(spans.iter().map(|&(start, end)| (rule, now[start..end].to_vec())));
            current = Some(replace(now, &spans, &self.rules[rule].id));
            fired.push((rule, spans.len()));
        }
        Ok(current.map(|text| Redaction { text, fired, secrets }))
    }

    /// The spans of the secrets one rule finds in text.
    fn find(&self, rule: &Rule, text: &[u8]) -> Result<Vec<Span>, String> {
        if let Some(quick) = &rule.quick {
            if !quick.get()?.is_match(text) {
                return Ok(Vec::new());
            }
        }
        let regex = rule.regex.get()?;
        let mut spans: Vec<Span> = Vec::new();
        let mut position = 0;
        while position <= text.len() {
            let Some(captures) = regex.captures_at(text, position) else {
                break;
            };
            let whole = captures.get(0).expect("group 0 always participates");
            if whole.start() == whole.end() {
                position = whole.end() + 1;
                continue;
            }
            position = whole.end();
            let secret = match rule.secret_group {
                Some(0) => Some(whole),
                Some(group) => captures.get(group),
                None => (1..captures.len())
                    .find_map(|g| captures.get(g).filter(|m| m.start() < m.end()))
                    .or(Some(whole)),
            };
            let Some(secret) = secret else { continue };
            let (start, end) = (secret.start(), secret.end());
            if start == end || !self.counts(rule, text, (start, end), (whole.start(), whole.end()))? {
                continue;
            }
            let (start, end) = widen(text, start, end);
            match spans.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => spans.push((start, end)),
            }
        }
        Ok(spans)
    }

    /// Whether a found secret counts: entropy high enough, no allowlist letting it through.
    fn counts(&self, rule: &Rule, text: &[u8], secret: Span, whole: Span) -> Result<bool, String> {
        let value = &text[secret.0..secret.1];
        if let Some(minimum) = rule.entropy {
            if entropy(value) < minimum {
                return Ok(false);
            }
        }
        let lowered = value.to_ascii_lowercase();
        let matched = &text[whole.0..whole.1];
        let line_start = memchr::memrchr(b'\n', &text[..whole.0]).map_or(0, |at| at + 1);
        let line_end = memchr::memchr(b'\n', &text[whole.1..]).map_or(text.len(), |at| whole.1 + at);
        let line = &text[line_start..line_end];
        for allow in self.global.iter().map(|allow| &**allow).chain(rule.allow.iter()) {
            if allow.allows(value, &lowered, matched, line)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Bytes scanned before the prefilter's DFA is built.
const FAST_AFTER: usize = 256 << 10;
/// The depth below which the NFA's states have a transition table (the rest a sorted list):
/// the start state only, which the NFA search uses most and which is cheapest to build.
const DENSE_DEPTH: usize = 1;

fn automaton(patterns: &[Text], kind: AhoCorasickKind) -> Result<AhoCorasick, String> {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .kind(Some(kind))
        .dense_depth(DENSE_DEPTH)
        .build(patterns.iter().map(|pattern| pattern.as_bytes()))
        .map_err(|e| format!("the keyword prefilter cannot be built: {e}"))
}

/// Shannon entropy in bits per byte, summed over byte values in ascending order.
#[allow(clippy::cast_precision_loss)] // counts of a string's bytes: far below 2^52
pub fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let total = data.len() as f64;
    let mut sum = 0.0;
    for &count in &counts {
        if count > 0 {
            let p = count as f64 / total;
            sum -= p * p.log2();
        }
    }
    sum
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// The span widened to whole UTF-8 characters.
fn widen(text: &[u8], mut start: usize, mut end: usize) -> Span {
    while start > 0 && start < text.len() && is_continuation(text[start]) {
        start -= 1;
    }
    while end < text.len() && is_continuation(text[end]) {
        end += 1;
    }
    (start, end)
}

/// The text with each span replaced by `[REDACTED:<id>]`.
fn replace(text: &[u8], spans: &[Span], id: &str) -> Vec<u8> {
    const OPEN: &[u8] = b"[REDACTED:";
    let mut out = Vec::with_capacity(text.len() + spans.len() * (OPEN.len() + id.len() + 1));
    let mut last = 0;
    for &(start, end) in spans {
        out.extend_from_slice(&text[last..start]);
        out.extend_from_slice(OPEN);
        out.extend_from_slice(id.as_bytes());
        out.push(b']');
        last = end;
    }
    out.extend_from_slice(&text[last..]);
    out
}

fn printable(text: &str) -> String {
    text.chars()
        .take(MAX_ID)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

fn strings(value: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) if !text.is_empty() => Ok(text.clone()),
                _ => Err(format!("{what} must be a list of non-empty strings")),
            })
            .collect(),
        Some(_) => Err(format!("{what} must be a list of non-empty strings")),
    }
}

/// Patterns checked against the dialect one by one (so a refusal names the one at fault).
fn patterns(value: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    let sources = strings(value, what)?;
    for source in &sources {
        dialect::check(source).map_err(|why| format!("{what}: {why}"))?;
    }
    Ok(sources)
}

fn lowercase_words(value: Option<&Value>, what: &str) -> Result<Vec<Text>, String> {
    strings(value, what)?
        .into_iter()
        .map(|word| {
            if word.is_ascii() {
                Ok(Text::Owned(word.to_ascii_lowercase()))
            } else {
                Err(format!("{what} must be ASCII"))
            }
        })
        .collect()
}

fn parse_allow(allow: &Map<String, Value>, global: bool) -> Result<Allow, String> {
    let target = match (global, allow.get("target")) {
        (_, None) => Target::Secret,
        (false, Some(Value::String(t))) if t == "secret" => Target::Secret,
        (false, Some(Value::String(t))) if t == "match" => Target::Match,
        (false, Some(Value::String(t))) if t == "line" => Target::Line,
        _ => return Err("an allowlist's \"target\" must be \"secret\", \"match\" or \"line\"".into()),
    };
    let all = match (global, allow.get("condition")) {
        (_, None) => false,
        (false, Some(Value::String(c))) if c == "or" => false,
        (false, Some(Value::String(c))) if c == "and" => true,
        _ => return Err("an allowlist's \"condition\" must be \"or\" or \"and\"".into()),
    };
    Ok(Allow {
        regexes: dialect::any_of(&patterns(allow.get("regexes"), "allowlist regexes")?).map(Pattern::new),
        stopwords: Seq::Owned(lowercase_words(allow.get("stopwords"), "allowlist stopwords")?),
        target,
        all,
    })
}

fn parse_rule(value: &Value) -> Result<Rule, String> {
    let Value::Object(rule) = value else {
        return Err("not a JSON object".into());
    };
    let id = match rule.get("id") {
        Some(Value::String(id)) if valid_id(id) => id.clone(),
        _ => {
            return Err(format!(
                "\"id\" must be 1 to {MAX_ID} of [a-z0-9-], not starting with '-'"
            ))
        }
    };
    let source = match rule.get("regex") {
        Some(Value::String(source)) => source.clone(),
        _ => return Err("\"regex\" must be a string".into()),
    };
    dialect::check(&source).map_err(|why| format!("\"regex\": {why}"))?;
    let keywords = Seq::Owned(lowercase_words(rule.get("keywords"), "\"keywords\"")?);
    let secret_group = match rule.get("secret_group") {
        None => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|g| g <= 99) => n.as_u64().map(|g| g as usize),
        Some(_) => return Err("\"secret_group\" must be an integer from 0 to 99".into()),
    };
    let entropy = match rule.get("entropy") {
        None => None,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|e| (0.0..=8.0).contains(&e)) => n.as_f64(),
        Some(_) => return Err("\"entropy\" must be a number from 0 to 8".into()),
    };
    let allow = Seq::Owned(match rule.get("allow") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(allow) => parse_allow(allow, false),
                _ => Err("\"allow\" must be a list of objects".into()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("\"allow\" must be a list of objects".into()),
    });
    let quick = dialect::quick(&source).map(Pattern::new);
    Ok(Rule {
        id: Text::Owned(id),
        regex: Pattern::new(source),
        quick,
        keywords,
        secret_group,
        entropy,
        allow,
    })
}

/// A user rule is compiled when it is loaded, so a bad one is refused up front.
fn compile(rule: Rule) -> Result<Rule, String> {
    rule.regex.get()?;
    if let Some(quick) = &rule.quick {
        quick.get()?;
    }
    if let Some(group) = rule.secret_group {
        let groups = rule.regex.get()?.captures_len();
        if group >= groups {
            return Err(format!(
                "\"secret_group\" {group}, but the pattern has {} group(s)",
                groups - 1
            ));
        }
    }
    for pattern in rule.allow.iter().filter_map(|allow| allow.regexes.as_ref()) {
        pattern.get()?;
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rules: &str) -> RuleSet {
        let document = format!(r#"{{"format": 1, "allow": {{"regexes": ["(?i)example"]}}, "rules": [{rules}]}}"#);
        RuleSet::load(&[document.as_bytes()]).unwrap()
    }

    fn redact(set: &RuleSet, text: &str) -> String {
        match set.redact(text.as_bytes()).unwrap() {
            Some(found) => String::from_utf8(found.text).unwrap(),
            None => text.to_string(),
        }
    }

    #[test]
    fn replaces_the_secret_group_and_keeps_the_rest() {
        let rules = set(r#"{"id": "pw", "regex": "(?i)password=(\\S+)", "keywords": ["password"]}"#);
        assert_eq!(redact(&rules, "x PASSWORD=hunter22 y"), "x PASSWORD=[REDACTED:pw] y");
        assert_eq!(redact(&rules, "password=EXAMPLEKEY"), "password=EXAMPLEKEY");
        assert_eq!(redact(&rules, "nothing here"), "nothing here");
    }

    #[test]
    fn the_prefilter_picks_rules_by_keyword() {
        let rules =
            set(r#"{"id": "a", "regex": "tok_[a-z]+", "keywords": ["tok_"]}, {"id": "b", "regex": "[0-9]{4}"}"#);
        assert_eq!(rules.candidates(b"TOK_abc"), vec![0, 1]);
        assert_eq!(rules.candidates(b"abc"), vec![1]);
        assert_eq!(
            redact(&rules, "TOK_abc tok_def 1234"),
            "TOK_abc [REDACTED:a] [REDACTED:b]"
        );
    }

    #[test]
    fn both_prefilters_pick_the_same_rules() {
        let rules = set(
            r#"{"id": "a", "regex": "x", "keywords": ["hvs.", "s."]}, {"id": "b", "regex": "y", "keywords": ["ey"]},
               {"id": "c", "regex": "z", "keywords": ["key"]}, {"id": "d", "regex": "w", "keywords": ["zzz"]}"#,
        );
        let texts: [&[u8]; 4] = [b"HVS.abc", b"the KEY", b"s.ey", b"nothing"];
        let nfa: Vec<_> = texts.iter().map(|t| rules.candidates(t)).collect();
        assert_eq!(nfa, vec![vec![0], vec![1, 2], vec![0, 1], vec![]]);
        assert!(rules.fast.get().is_none());
        rules.candidates(&vec![b'-'; FAST_AFTER]);
        let dfa: Vec<_> = texts.iter().map(|t| rules.candidates(t)).collect();
        assert!(rules.fast.get().is_some_and(Option::is_some));
        assert_eq!(dfa, nfa);
    }

    #[test]
    fn entropy_and_allowlists() {
        assert!((entropy(b"aaaa") - 0.0).abs() < f64::EPSILON);
        assert!((entropy(b"ab") - 1.0).abs() < f64::EPSILON);
        let rules = set(
            r#"{"id": "k", "regex": "key=([a-z0-9]+)", "keywords": ["key="], "entropy": 2.0,
                "allow": [{"regexes": ["^test"], "target": "match"}, {"stopwords": ["dummy"]}]}"#,
        );
        assert_eq!(
            redact(&rules, "key=aaaaaaaa key=a8f3k2m9"),
            "key=aaaaaaaa key=[REDACTED:k]"
        );
        assert_eq!(redact(&rules, "test key=a8f3k2m9"), "test key=[REDACTED:k]");
        assert_eq!(redact(&rules, "key=dummy123456"), "key=dummy123456");
    }

    #[test]
    fn spans_cover_whole_characters() {
        let rules = set(r#"{"id": "x", "regex": "s=[^ ]{0,2}", "keywords": ["s="]}"#);
        assert_eq!(redact(&rules, "s=é!"), "[REDACTED:x]!");
        assert_eq!(redact(&rules, "s=aé"), "[REDACTED:x]");
    }

    /// The index as plain lists.
    fn plain(index: &KeywordIndex) -> keywords::Index {
        let texts = |texts: &[Text]| texts.iter().map(|text| text.to_string()).collect();
        let lists = |lists: &[Seq<usize>]| lists.iter().map(|list| list.to_vec()).collect();
        keywords::Index {
            keywords: texts(&index.keywords),
            rules: lists(&index.rules),
            always: index.always.to_vec(),
            prefixes: texts(&index.prefixes),
            starting: lists(&index.starting),
        }
    }

    /// What the candidates are by definition: each rule with a keyword in the ASCII-lowercased
    /// text, and each rule without keywords.
    fn by_definition(set: &RuleSet, text: &[u8]) -> Vec<usize> {
        let lowered = text.to_ascii_lowercase();
        (0..set.rules.len())
            .filter(|&rule| {
                let keywords = &set.rules[rule].keywords;
                keywords.is_empty() || keywords.iter().any(|k| memmem::find(&lowered, k.as_bytes()).is_some())
            })
            .collect()
    }

    /// The candidates with the NFA and with the DFA.
    fn with_both(set: &RuleSet, text: &[u8]) -> [Vec<usize>; 2] {
        let lowered = text.to_ascii_lowercase();
        let chosen = |prefilter| {
            let seen = set.keywords_in(&lowered, prefilter);
            (0..set.rules.len())
                .filter(|&rule| {
                    set.index.always.contains(&rule)
                        || (0..seen.len()).any(|k| seen[k] && set.index.rules[k].contains(&rule))
                })
                .collect()
        };
        [chosen(set.nfa().unwrap()), chosen(set.dfa().unwrap())]
    }

    #[test]
    fn prefixes_select_the_rules_their_keywords_do() {
        let rules = set(
            r#"{"id": "a", "regex": "x", "keywords": ["ab", "abcdef"]}, {"id": "b", "regex": "x", "keywords": ["abcdxy", "b"]},
               {"id": "c", "regex": "x"}, {"id": "d", "regex": "x", "keywords": ["abcd", "ABCDEF"]}"#,
        );
        let texts = |texts: &[&str]| texts.iter().map(ToString::to_string).collect();
        assert_eq!(
            plain(&rules.index),
            keywords::Index {
                keywords: texts(&["ab", "abcdef", "abcdxy", "b", "abcd"]),
                rules: vec![vec![0], vec![0, 3], vec![1], vec![1], vec![3]],
                always: vec![2],
                prefixes: texts(&["ab", "abcd", "b"]),
                starting: vec![vec![0], vec![1, 2, 4], vec![3]],
            }
        );
        for (text, expected) in [
            (&b"ABCDE"[..], &[0, 1, 2, 3][..]),
            (b"xxabcdxabcdef", &[0, 1, 2, 3]),
            (b"abcdx", &[0, 1, 2, 3]),
            (b"a b", &[1, 2]),
            (b"", &[2]),
        ] {
            assert_eq!(by_definition(&rules, text), expected, "{text:?}");
            assert_eq!(with_both(&rules, text), [expected, expected], "{text:?}");
            assert_eq!(rules.candidates(text), expected, "{text:?}");
        }
    }

    fn builtin_set() -> Option<RuleSet> {
        BUILTIN.as_ref().map(|builtin| RuleSet::load(&[builtin.bytes]).unwrap())
    }

    proptest::proptest! {
        #[test]
        fn the_built_in_prefilters_select_the_rules_by_definition(
            pieces in proptest::collection::vec((0usize..1000, 0usize..40, proptest::bool::ANY, "[ -~]{0,6}"), 0..24),
        ) {
            static SET: OnceLock<Option<RuleSet>> = OnceLock::new();
            let Some(rules) = SET.get_or_init(builtin_set) else { return Ok(()) };
            // Keywords, whole or cut short, in either case, among other text.
            let mut text = Vec::new();
            for (keyword, cut, upper, other) in &pieces {
                let keyword = rules.index.keywords[keyword % rules.index.keywords.len()].as_bytes();
                let keyword = &keyword[..keyword.len().min(*cut)];
                text.extend(if *upper { keyword.to_ascii_uppercase() } else { keyword.to_vec() });
                text.extend(other.as_bytes());
            }
            let expected = by_definition(rules, &text);
            proptest::prop_assert_eq!(with_both(rules, &text), [expected.clone(), expected]);
        }
    }

    #[test]
    fn the_compiled_built_in_rules_are_the_parsed_ones() {
        let Some(builtin) = BUILTIN.as_ref() else { return };
        let compiled = RuleSet::load(&[builtin.bytes]).unwrap();
        let mut parsed = RuleSet::load(&[b"{\"format\": 1}"]).unwrap();
        assert!(parsed.add_document(builtin.bytes, 0).unwrap());
        parsed.index = Shared::Owned(Box::new(KeywordIndex::new(parsed.indexed())));
        let allow = |allow: &Allow| {
            (
                allow.regexes.as_ref().map(|p| p.source.to_string()),
                allow.stopwords.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
                allow.target as u8,
                allow.all,
            )
        };
        let rule = |rule: &Rule| {
            (
                rule.id.to_string(),
                rule.regex.source.to_string(),
                rule.quick.as_ref().map(|q| q.source.to_string()),
                rule.keywords.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                rule.secret_group,
                rule.entropy,
                rule.allow.iter().map(allow).collect::<Vec<_>>(),
            )
        };
        assert_eq!(compiled.rules.len(), parsed.rules.len());
        for (a, b) in compiled.rules.iter().zip(&parsed.rules) {
            assert_eq!(rule(a), rule(b));
        }
        let globals = |set: &RuleSet| set.global.iter().map(|a| allow(a)).collect::<Vec<_>>();
        assert_eq!(globals(&compiled), globals(&parsed));
        // The compiled index is the one computed from the parsed rules.
        assert_eq!(plain(&compiled.index), parsed.indexed());
        // Loading the built-in rules uses the compiled tables in place.
        assert!(compiled.rules.iter().all(|rule| matches!(rule, Shared::Static(_))));
        assert!(compiled.global.iter().all(|allow| matches!(allow, Shared::Static(_))));
        assert!(matches!(compiled.index, Shared::Static(_)));
        let text = b"password=hunter2x ghp_0123456789abcdefghijABCDEFGHIJklmnop key=EXAMPLE";
        assert_eq!(
            compiled.redact(text).unwrap().map(|r| r.text),
            parsed.redact(text).unwrap().map(|r| r.text)
        );
    }

    #[test]
    fn user_rules_are_indexed_at_load() {
        let Some(builtin) = BUILTIN.as_ref() else { return };
        let no_rules = RuleSet::load(&[builtin.bytes, br#"{"format": 1, "allow": {"stopwords": ["x"]}}"#]).unwrap();
        assert!(matches!(no_rules.index, Shared::Static(_)));
        let user = br#"{"format": 1, "rules": [{"id": "acme-key", "regex": "acme_[a-z]{8}", "keywords": ["ACME_"]}]}"#;
        let rules = RuleSet::load(&[builtin.bytes, user]).unwrap();
        assert_eq!(plain(&rules.index), rules.indexed());
        assert_eq!(rules.len(), no_rules.len() + 1);
        assert_eq!(redact(&rules, "x acme_abcdefgh y"), "x [REDACTED:acme-key] y");
    }

    #[test]
    fn user_documents_add_replace_and_are_refused_rule_by_rule() {
        let builtin = br#"{"format": 1, "rules": [{"id": "a", "regex": "aaa", "keywords": ["aaa"]}]}"#;
        let user = br#"{"format": 1, "rules": [{"id": "a", "regex": "bbb", "keywords": ["bbb"]},
            {"id": "bad", "regex": "(?=x)"}, {"id": "Bad", "regex": "x"}, {"id": "c", "regex": "ccc", "keywords": ["CCC"]}]}"#;
        let rules = RuleSet::load(&[builtin, user, b"not json"]).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules.problems.len(), 3, "{:?}", rules.problems);
        assert_eq!(redact(&rules, "aaa bbb ccc"), "aaa [REDACTED:a] [REDACTED:c]");
        assert!(RuleSet::load(&[b"{}"]).is_err());
    }
}
