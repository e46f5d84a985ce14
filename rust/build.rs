//! Compiles the package's built-in redaction rules (python/nova_session/guard/rules/redact.json)
//! into static tables (`$OUT_DIR/builtin_rules.rs`), so a hook process that redacts does not
//! parse 100 KB of JSON first. The kernel still receives the file's bytes from Python and uses
//! the tables only when they are these very bytes (`redact::builtin`); anything else is parsed.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

const RULES: &str = "../python/nova_session/guard/rules/redact.json";

fn strings(value: Option<&Value>) -> String {
    let items: Vec<String> = value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(|s| format!("{s:?}")).collect())
        .unwrap_or_default();
    format!("&[{}]", items.join(", "))
}

fn allow(value: &Value) -> String {
    let target = match value.get("target").and_then(Value::as_str) {
        Some("match") => "Target::Match",
        Some("line") => "Target::Line",
        _ => "Target::Secret",
    };
    let all = value.get("condition").and_then(Value::as_str) == Some("and");
    format!(
        "StaticAllow {{ regexes: {}, stopwords: {}, target: {target}, all: {all} }}",
        strings(value.get("regexes")),
        strings(value.get("stopwords"))
    )
}

fn main() {
    println!("cargo:rerun-if-changed={RULES}");
    println!("cargo:rerun-if-changed=build.rs");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_rules.rs");
    let mut code = String::new();
    match std::fs::read(RULES) {
        // No rule file (a crate built outside the package): no tables, everything is parsed.
        Err(_) => code.push_str("pub static BUILTIN: Option<Builtin> = None;\n"),
        Ok(bytes) => {
            let doc: Value = serde_json::from_slice(&bytes).expect("the built-in rule file is JSON");
            let path = std::fs::canonicalize(RULES).expect("rule file path");
            let global = doc
                .get("allow")
                .map_or_else(|| "None".to_string(), |a| format!("Some({})", allow(a)));
            let mut rules = String::new();
            for rule in doc["rules"].as_array().expect("rules") {
                let group = rule
                    .get("secret_group")
                    .and_then(Value::as_u64)
                    .map_or("None".into(), |g| format!("Some({g})"));
                let entropy = rule
                    .get("entropy")
                    .and_then(Value::as_f64)
                    .map_or("None".into(), |e| format!("Some({e:?})"));
                let allows: Vec<String> = rule
                    .get("allow")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(allow).collect())
                    .unwrap_or_default();
                let keywords: Vec<String> = rule
                    .get("keywords")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(|k| format!("{:?}", k.to_ascii_lowercase()))
                            .collect()
                    })
                    .unwrap_or_default();
                writeln!(
                    rules,
                    "    StaticRule {{ id: {:?}, regex: {:?}, keywords: &[{}], secret_group: {group}, entropy: {entropy}, allow: &[{}] }},",
                    rule["id"].as_str().expect("id"),
                    rule["regex"].as_str().expect("regex"),
                    keywords.join(", "),
                    allows.join(", ")
                )
                .unwrap();
            }
            write!(
                code,
                "pub static BUILTIN: Option<Builtin> = Some(Builtin {{\n    bytes: include_bytes!({:?}),\n    global: {global},\n    rules: &[\n{rules}    ],\n}});\n",
                path.display().to_string()
            )
            .unwrap();
        }
    }
    std::fs::write(out, code).expect("write builtin_rules.rs");
}
