//! Compiles the package's built-in redaction rules (python/nova_session/guard/rules/redact.json)
//! into static tables (`$OUT_DIR/builtin_rules.rs`), so a hook process that redacts neither
//! parses 100 KB of JSON nor prepares the rules: each rule's quick pattern, each allowlist's
//! joined regex, the lowercased keywords and stopwords and the keyword index are computed
//! here, by the crate's own code (`dialect.rs`, `keywords.rs`). The tables hold no pointers
//! (`table.rs`): texts are byte ranges of one string, lists ranges of one array per type.
//! The kernel still receives the file's bytes from Python and uses the tables only when they
//! are these very bytes (`RuleSet::load`); anything else is parsed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

#[allow(dead_code)]
#[path = "src/redact/dialect.rs"]
mod dialect;
#[allow(dead_code)]
#[path = "src/redact/keywords.rs"]
mod keywords;

const RULES: &str = "../python/nova_session/guard/rules/redact.json";
const NOVA: &str = "../python/nova_session/guard/rules/nova/compiled.json";

/// The NOVA modules the built-in rules' regexes are derived with, in the crate's layout.
#[allow(dead_code, unused_imports)]
#[path = "src/rules"]
mod rules {
    pub mod pyre;
    pub mod literals {
        pub mod required;
    }
}

/// The tables being written: each array's items as Rust expressions.
#[derive(Default)]
struct Tables {
    text: String,
    /// Where each text already in `text` is.
    placed: HashMap<String, (u32, u32)>,
    texts: Vec<String>,
    numbers: Vec<String>,
    lists: Vec<String>,
    allows: Vec<String>,
    rules: Vec<String>,
}

fn range(start: usize, end: usize) -> (u32, u32) {
    (
        u32::try_from(start).expect("tables under 4 GB"),
        u32::try_from(end).expect("tables under 4 GB"),
    )
}

impl Tables {
    /// The byte range of a text in TEXT.
    fn place(&mut self, text: &str) -> (u32, u32) {
        if let Some(&at) = self.placed.get(text) {
            return at;
        }
        let at = range(self.text.len(), self.text.len() + text.len());
        self.text.push_str(text);
        self.placed.insert(text.to_string(), at);
        at
    }

    fn text(&mut self, text: &str) -> String {
        let (start, end) = self.place(text);
        format!("Text::Table({start}, {end})")
    }

    fn pattern(&mut self, source: &str) -> String {
        let (start, end) = self.place(source);
        format!("Pattern::table({start}, {end})")
    }

    /// A `Seq<Text>` of the texts.
    fn texts<S: AsRef<str>>(&mut self, items: &[S]) -> String {
        let start = self.texts.len();
        for item in items {
            let text = self.text(item.as_ref());
            self.texts.push(text);
        }
        let (start, end) = range(start, self.texts.len());
        format!("Seq::Table({start}, {end})")
    }

    /// A `Seq<usize>` of the numbers.
    fn numbers(&mut self, items: &[usize]) -> String {
        let start = self.numbers.len();
        self.numbers.extend(items.iter().map(usize::to_string));
        let (start, end) = range(start, self.numbers.len());
        format!("Seq::Table({start}, {end})")
    }

    /// A `Seq<Seq<usize>>` of the lists.
    fn lists(&mut self, lists: &[Vec<usize>]) -> String {
        let items: Vec<String> = lists.iter().map(|list| self.numbers(list)).collect();
        let start = self.lists.len();
        self.lists.extend(items);
        let (start, end) = range(start, self.lists.len());
        format!("Seq::Table({start}, {end})")
    }

    /// An allowlist as parsing gives it, added to ALLOWS; its index there.
    fn allow(&mut self, value: &Value) -> usize {
        let target = match value.get("target").and_then(Value::as_str) {
            Some("match") => "Target::Match",
            Some("line") => "Target::Line",
            _ => "Target::Secret",
        };
        let all = value.get("condition").and_then(Value::as_str) == Some("and");
        let regexes = match dialect::any_of(&strings(value.get("regexes"))) {
            Some(joined) => format!("Some({})", self.pattern(&joined)),
            None => "None".to_string(),
        };
        let stopwords: Vec<String> = strings(value.get("stopwords"))
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let stopwords = self.texts(&stopwords);
        self.allows.push(format!(
            "Allow {{ regexes: {regexes}, stopwords: {stopwords}, target: {target}, all: {all} }}"
        ));
        self.allows.len() - 1
    }

    /// A rule as parsing gives it, added to RULES; its keywords.
    fn rule(&mut self, rule: &Value) -> Vec<String> {
        let id = rule["id"].as_str().expect("id");
        let regex = rule["regex"].as_str().expect("regex");
        let group = rule
            .get("secret_group")
            .and_then(Value::as_u64)
            .map_or("None".into(), |g| format!("Some({g})"));
        let entropy = rule
            .get("entropy")
            .and_then(Value::as_f64)
            .map_or("None".into(), |e| format!("Some({e:?})"));
        let first = self.allows.len();
        for allow in rule.get("allow").and_then(Value::as_array).into_iter().flatten() {
            self.allow(allow);
        }
        let (first, last) = range(first, self.allows.len());
        let keywords: Vec<String> = strings(rule.get("keywords"))
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect();
        let id_text = self.text(id);
        let regex_pattern = self.pattern(regex);
        let quick = match dialect::quick(regex) {
            Some(quick) => format!("Some({})", self.pattern(&quick)),
            None => "None".to_string(),
        };
        let keyword_texts = self.texts(&keywords);
        self.rules.push(format!(
            "Rule {{ id: {id_text}, regex: {regex_pattern}, quick: {quick}, keywords: {keyword_texts}, secret_group: {group}, entropy: {entropy}, allow: Seq::Table({first}, {last}) }}"
        ));
        keywords
    }

    /// The array definitions.
    fn write(&self, code: &mut String) {
        writeln!(code, "static TEXT: &str = {:?};", self.text).unwrap();
        let mut arrays = vec![
            ("TEXTS", "Text", &self.texts),
            ("NUMBERS", "usize", &self.numbers),
            ("LISTS", "Seq<usize>", &self.lists),
            ("ALLOWS", "Allow", &self.allows),
        ];
        if !self.rules.is_empty() {
            arrays.push(("RULES", "Rule", &self.rules));
        }
        for (name, kind, items) in arrays {
            writeln!(code, "static {name}: [{kind}; {}] = [", items.len()).unwrap();
            for item in items {
                writeln!(code, "    {item},").unwrap();
            }
            code.push_str("];\n");
        }
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn main() {
    println!("cargo:rerun-if-changed={RULES}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/redact/dialect.rs");
    println!("cargo:rerun-if-changed=src/redact/keywords.rs");
    // `builtin_rules`: the tables hold the rules (what only they use is otherwise dead code).
    println!("cargo::rustc-check-cfg=cfg(builtin_rules)");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_rules.rs");
    let mut tables = Tables::default();
    let mut code = String::new();
    match std::fs::read(RULES) {
        // No rule file (a crate built outside the package): no tables, everything is parsed.
        Err(_) => {
            tables.write(&mut code);
            code.push_str("pub static BUILTIN: Option<Builtin> = None;\n");
        }
        Ok(bytes) => {
            println!("cargo:rustc-cfg=builtin_rules");
            let doc: Value = serde_json::from_slice(&bytes).expect("the built-in rule file is JSON");
            let path = std::fs::canonicalize(RULES).expect("rule file path");
            let global = match doc.get("allow") {
                Some(allow) => format!("Some(&ALLOWS[{}])", tables.allow(allow)),
                None => "None".to_string(),
            };
            let keywords: Vec<Vec<String>> = doc["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .map(|rule| tables.rule(rule))
                .collect();
            let index = keywords::Index::new(keywords.iter().map(Vec::as_slice));
            let index = format!(
                "KeywordIndex {{ keywords: {}, rules: {}, always: {}, prefixes: {}, starting: {} }}",
                tables.texts(&index.keywords),
                tables.lists(&index.rules),
                tables.numbers(&index.always),
                tables.texts(&index.prefixes),
                tables.lists(&index.starting)
            );
            tables.write(&mut code);
            write!(
                code,
                "static INDEX: KeywordIndex = {index};\npub static BUILTIN: Option<Builtin> = Some(Builtin {{\n    bytes: include_bytes!({:?}),\n    global: {global},\n    rules: &RULES,\n    index: &INDEX,\n}});\n",
                path.display().to_string()
            )
            .unwrap();
        }
    }
    std::fs::write(out, code).expect("write builtin_rules.rs");
    nova_derived();
}

/// `builtin_nova.rs`: for each regex of the built-in NOVA rules, what `RuleSet::load`
/// derives from it (`rules/derived.rs`), sorted by (pattern, ignore case).
fn nova_derived() {
    println!("cargo:rerun-if-changed={NOVA}");
    for source in ["src/rules/pyre", "src/rules/literals/required.rs"] {
        println!("cargo:rerun-if-changed={source}");
    }
    let mut derived: Vec<(String, bool, String)> = Vec::new();
    if let Ok(bytes) = std::fs::read(NOVA) {
        let doc: Value = serde_json::from_slice(&bytes).expect("the built-in NOVA rules are JSON");
        let keywords = doc["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rule| rule["keywords"].as_array().into_iter().flatten());
        for keyword in keywords {
            let (Some(pattern), Some(true), Some(case_sensitive)) = (
                keyword["pattern"].as_str(),
                keyword["regex"].as_bool(),
                keyword["case_sensitive"].as_bool(),
            ) else {
                continue;
            };
            // One the kernel refuses is left to it (it says why when loading).
            let Ok(ast) = rules::pyre::parse(pattern, !case_sensitive) else {
                continue;
            };
            let mut translated = String::new();
            ast.emit(&mut translated);
            let sets: Vec<String> = rules::literals::required::required(&ast)
                .iter()
                .map(|set| format!("&[{}]", set.iter().map(|s| literal(s)).collect::<Vec<_>>().join(", ")))
                .collect();
            let entry = format!(
                "Derived {{ translated: {}, python_words: {}, literals: &[{}] }}",
                literal(&translated),
                ast.wants_python_words(),
                sets.join(", ")
            );
            derived.push((pattern.to_string(), !case_sensitive, entry));
        }
    }
    derived.sort();
    derived.dedup_by(|a, b| (&a.0, a.1) == (&b.0, b.1));
    let mut code = String::from("pub static DERIVED: &[(&str, bool, Derived)] = &[\n");
    for (pattern, ignore_case, entry) in &derived {
        writeln!(code, "    ({}, {ignore_case}, {entry}),", literal(pattern)).unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_nova.rs");
    std::fs::write(out, code).expect("write builtin_nova.rs");
}

/// A Rust string literal of the text, ASCII only (what is not is escaped).
fn literal(text: &str) -> String {
    format!("\"{}\"", text.escape_default())
}
