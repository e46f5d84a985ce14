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
pub mod py;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use memchr::memmem;
use regex::bytes::{Regex, RegexBuilder};
use serde_json::{Map, Value};

/// The rule file format this engine reads.
pub const FORMAT: u64 = 1;
/// The longest rule id.
const MAX_ID: usize = 64;

struct Pattern {
    source: String,
    compiled: OnceLock<Result<Regex, String>>,
}

impl Pattern {
    fn new(source: String) -> Self {
        Pattern {
            source,
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
                    .map_err(|e| format!("pattern {:?} does not compile: {e}", self.source))
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
    stopwords: Vec<Vec<u8>>,
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
        let stop_hit = self.stopwords.iter().any(|word| memmem::find(lowered, word).is_some());
        Ok(if self.all {
            (self.regexes.is_none() || regex_hit) && (self.stopwords.is_empty() || stop_hit)
        } else {
            regex_hit || stop_hit
        })
    }
}

struct Rule {
    id: String,
    regex: Pattern,
    /// The pattern without its leading optional lazy run (`dialect::quick`): searched first.
    quick: Option<Pattern>,
    keywords: Vec<String>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    allow: Vec<Allow>,
    placeholder: Vec<u8>,
}

/// The package's rule file as build.rs compiled it (`$OUT_DIR/builtin_rules.rs`).
pub struct Builtin {
    bytes: &'static [u8],
    global: Option<StaticAllow>,
    rules: &'static [StaticRule],
}

struct StaticRule {
    id: &'static str,
    regex: &'static str,
    keywords: &'static [&'static str],
    secret_group: Option<usize>,
    entropy: Option<f64>,
    allow: &'static [StaticAllow],
}

struct StaticAllow {
    regexes: &'static [&'static str],
    stopwords: &'static [&'static str],
    target: Target,
    all: bool,
}

impl StaticAllow {
    fn to_allow(&self) -> Allow {
        Allow {
            regexes: dialect::any_of(self.regexes).map(Pattern::new),
            stopwords: self
                .stopwords
                .iter()
                .map(|w| w.to_ascii_lowercase().into_bytes())
                .collect(),
            target: self.target,
            all: self.all,
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The rules of one process: built-in and user ones merged, with the prefilter.
pub struct RuleSet {
    rules: Vec<Rule>,
    global: Vec<Allow>,
    /// The prefilter as an NFA, built on first use.
    prefilter: OnceLock<Option<AhoCorasick>>,
    /// The prefilter as a DFA, built once FAST_AFTER bytes have been scanned.
    fast: OnceLock<Option<AhoCorasick>>,
    scanned: AtomicUsize,
    keywords: Vec<String>,
    /// For each prefilter keyword, the rules it selects.
    by_keyword: Vec<Vec<usize>>,
    /// Rules without keywords: candidates for every text.
    always: Vec<usize>,
    /// What was refused in the documents after the first (user rules), one line each.
    pub problems: Vec<String>,
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
            prefilter: OnceLock::new(),
            fast: OnceLock::new(),
            scanned: AtomicUsize::new(0),
            keywords: Vec::new(),
            by_keyword: Vec::new(),
            always: Vec::new(),
            problems: Vec::new(),
        };
        for (index, document) in documents.iter().enumerate() {
            if index == 0 {
                if let Some(builtin) = BUILTIN.as_ref().filter(|b| b.bytes == *document) {
                    set.add_builtin(builtin);
                    continue;
                }
            }
            if let Err(why) = set.add_document(document, index) {
                if index == 0 {
                    return Err(why);
                }
                set.problems
                    .push(format!("rule file {index}: {why}; none of its rules used"));
            }
        }
        set.build_prefilter();
        Ok(set)
    }

    /// The package's own rule file, from the tables build.rs compiled it into (checked by
    /// the tests to give the very rules parsing it gives).
    fn add_builtin(&mut self, builtin: &Builtin) {
        if let Some(global) = &builtin.global {
            self.global.push(global.to_allow());
        }
        for rule in builtin.rules {
            self.rules.push(Rule {
                id: rule.id.to_string(),
                regex: Pattern::new(rule.regex.to_string()),
                quick: dialect::quick(rule.regex).map(Pattern::new),
                keywords: rule.keywords.iter().map(|k| (*k).to_string()).collect(),
                secret_group: rule.secret_group,
                entropy: rule.entropy,
                allow: rule.allow.iter().map(StaticAllow::to_allow).collect(),
                placeholder: format!("[REDACTED:{}]", rule.id).into_bytes(),
            });
        }
    }

    fn add_document(&mut self, document: &[u8], index: usize) -> Result<(), String> {
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
            self.global.push(global);
        }
        for rule in parsed {
            match self.rules.iter().position(|old| old.id == rule.id) {
                Some(at) => self.rules[at] = rule,
                None => self.rules.push(rule),
            }
        }
        Ok(())
    }

    fn build_prefilter(&mut self) {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut keywords: Vec<String> = Vec::new();
        let mut by_keyword: Vec<Vec<usize>> = Vec::new();
        for (number, rule) in self.rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                self.always.push(number);
            }
            for keyword in &rule.keywords {
                let at = *index.entry(keyword.as_str()).or_insert_with(|| {
                    keywords.push(keyword.clone());
                    by_keyword.push(Vec::new());
                    keywords.len() - 1
                });
                by_keyword[at].push(number);
            }
        }
        self.keywords = keywords;
        self.by_keyword = by_keyword;
    }

    /// The prefilter for the next `scanned` bytes: an NFA (built in a tenth of a millisecond)
    /// for a process's first FAST_AFTER bytes, then a DFA (a millisecond or two to build, four
    /// times faster a byte), which a long-lived writer pays once and a hook process never.
    /// Both find the same keywords.
    fn automaton(&self, scanned: usize) -> Option<&AhoCorasick> {
        let before = self.scanned.fetch_add(scanned, Ordering::Relaxed);
        let nfa = self
            .prefilter
            .get_or_init(|| automaton(&self.keywords, AhoCorasickKind::NoncontiguousNFA).ok());
        if before < FAST_AFTER {
            return nfa.as_ref();
        }
        let fast = self
            .fast
            .get_or_init(|| automaton(&self.keywords, AhoCorasickKind::DFA).ok());
        fast.as_ref().or(nfa.as_ref())
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

    /// The rules that may match text, in rule order.
    fn candidates(&self, text: &[u8]) -> Vec<usize> {
        let mut chosen = vec![false; self.rules.len()];
        for &rule in &self.always {
            chosen[rule] = true;
        }
        if let Some(automaton) = self.automaton(text.len()).filter(|_| !self.keywords.is_empty()) {
            // Keywords are lowercase: search the text folded the same way (ASCII only), which
            // builds an automaton in a fraction of the time of an ASCII case-insensitive one.
            let lowered = text.to_ascii_lowercase();
            let mut seen = vec![false; self.keywords.len()];
            for found in automaton.find_overlapping_iter(&lowered) {
                let keyword = found.pattern().as_usize();
                if !seen[keyword] {
                    seen[keyword] = true;
                    for &rule in &self.by_keyword[keyword] {
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
            current = Some(replace(now, &spans, &self.rules[rule].placeholder));
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
        for allow in self.global.iter().chain(&rule.allow) {
            if allow.allows(value, &lowered, matched, line)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Bytes scanned before the prefilter's DFA is built.
const FAST_AFTER: usize = 256 << 10;

fn automaton(keywords: &[String], kind: AhoCorasickKind) -> Result<AhoCorasick, String> {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .kind(Some(kind))
        .build(keywords)
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

fn replace(text: &[u8], spans: &[Span], placeholder: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + spans.len() * placeholder.len());
    let mut last = 0;
    for &(start, end) in spans {
        out.extend_from_slice(&text[last..start]);
        out.extend_from_slice(placeholder);
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

fn lowercase_words(value: Option<&Value>, what: &str) -> Result<Vec<Vec<u8>>, String> {
    strings(value, what)?
        .into_iter()
        .map(|word| {
            if word.is_ascii() {
                Ok(word.to_ascii_lowercase().into_bytes())
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
        stopwords: lowercase_words(allow.get("stopwords"), "allowlist stopwords")?,
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
    let keywords = lowercase_words(rule.get("keywords"), "\"keywords\"")?
        .into_iter()
        .map(|word| String::from_utf8(word).expect("ASCII"))
        .collect();
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
    let allow = match rule.get("allow") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(allow) => parse_allow(allow, false),
                _ => Err("\"allow\" must be a list of objects".into()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("\"allow\" must be a list of objects".into()),
    };
    let placeholder = format!("[REDACTED:{id}]").into_bytes();
    let quick = dialect::quick(&source).map(Pattern::new);
    Ok(Rule {
        id,
        regex: Pattern::new(source),
        quick,
        keywords,
        secret_group,
        entropy,
        allow,
        placeholder,
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

    #[test]
    fn the_compiled_built_in_rules_are_the_parsed_ones() {
        let Some(builtin) = BUILTIN.as_ref() else { return };
        let compiled = RuleSet::load(&[builtin.bytes]).unwrap();
        let mut parsed = RuleSet::load(&[b"{\"format\": 1}"]).unwrap();
        parsed.rules.clear();
        parsed.add_document(builtin.bytes, 0).unwrap();
        parsed.build_prefilter();
        assert_eq!(compiled.rules.len(), parsed.rules.len());
        for (a, b) in compiled.rules.iter().zip(&parsed.rules) {
            assert_eq!(
                (
                    &a.id,
                    &a.regex.source,
                    &a.keywords,
                    a.secret_group,
                    a.entropy,
                    &a.placeholder
                ),
                (
                    &b.id,
                    &b.regex.source,
                    &b.keywords,
                    b.secret_group,
                    b.entropy,
                    &b.placeholder
                )
            );
            assert_eq!(a.quick.as_ref().map(|q| &q.source), b.quick.as_ref().map(|q| &q.source));
            assert_eq!(a.allow.len(), b.allow.len());
            for (x, y) in a.allow.iter().zip(&b.allow) {
                let sources = |allow: &Allow| allow.regexes.as_ref().map(|p| p.source.clone());
                assert_eq!(
                    (sources(x), &x.stopwords, x.target == y.target, x.all),
                    (sources(y), &y.stopwords, true, y.all)
                );
            }
        }
        assert_eq!(compiled.global.len(), parsed.global.len());
        let text = b"password=hunter2x ghp_0123456789abcdefghijABCDEFGHIJklmnop key=EXAMPLE";
        assert_eq!(
            compiled.redact(text).unwrap().map(|r| r.text),
            parsed.redact(text).unwrap().map(|r| r.text)
        );
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
