//! What loading derives from each regex of the built-in NOVA rules, derived at build time
//! by the same code (`rust/build.rs` compiles `pyre` and `literals/required.rs` into
//! itself): a hook process that loads those rules parses none of their regexes. It is a
//! function of the pattern and its case flag alone, so any rule set with the same regex
//! uses it; other regexes are parsed when loaded.

/// The regex written for the `regex` crate, whether it needs Python's word characters,
/// and the literal sets of the prefilter.
pub struct Derived {
    pub translated: &'static str,
    pub python_words: bool,
    pub literals: &'static [&'static [&'static str]],
}

include!(concat!(env!("OUT_DIR"), "/builtin_nova.rs"));

/// The derivation of a built-in regex (`ignore_case`: not case-sensitive).
pub fn lookup(pattern: &str, ignore_case: bool) -> Option<&'static Derived> {
    DERIVED
        .binary_search_by(|&(p, i, _)| (p, i).cmp(&(pattern, ignore_case)))
        .ok()
        .map(|found| &DERIVED[found].2)
}
