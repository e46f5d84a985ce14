use super::translate;

fn t(pattern: &str) -> String {
    translate(pattern, false).unwrap()
}

/// Whether the translated pattern matches text: the boolean `re.search` gives in Python
/// (each expectation below was checked with Python 3.11's `re`).
fn matches(pattern: &str, ignore_case: bool, text: &str) -> bool {
    regex::Regex::new(&translate(pattern, ignore_case).unwrap())
        .unwrap()
        .is_match(text)
}

#[test]
fn python_whitespace_and_word_classes() {
    assert_eq!(t(r"a\sb"), r"a[\s\x1C-\x1F]b");
    assert_eq!(t(r"[\s,]"), r"[,\s\x1C-\x1F]");
    assert_eq!(t(r"[^\S]"), r"[^[^\s\x1C-\x1F]]");
    assert!(matches(r"a\sb", false, "a\x1cb"));
    assert!(matches(r"a\Sb", false, "a\u{301}b"));
    assert!(!matches(r"a\Sb", false, "a\x1fb"));
    assert!(matches(r"a[^\S]b", false, "a\x1db"));
    assert!(
        !matches(r"a\wb", false, "a\u{301}b"),
        "a combining mark is no word character in Python"
    );
    assert!(matches(r"a\wb", false, "a\u{b2}b"), "superscript two is (isalnum)");
    assert!(matches(r"a[\W]b", false, "a\u{301}b"));
    assert!(matches(r"\d", false, "\u{663}"), "Arabic-Indic three");
}

#[test]
fn end_of_text() {
    assert_eq!(t("a$"), r"a(?:\n?\z)");
    assert!(matches("a$", false, "xa\n"));
    assert!(!matches("a$", false, "a\n\n"));
    assert!(!matches("a$", false, "a\nb"));
    assert!(matches(r"a\Z", false, "a"));
    assert!(!matches(r"a\Z", false, "a\n"));
    assert!(matches("(?m)a$", false, "a\nb"));
    assert!(matches("(?m:a$)", false, "a\nb"));
    assert!(!matches("(?m:a)$", false, "a\nb"));
    assert_eq!(t("[$]"), r"[\$]");
}

#[test]
fn ignore_case_is_written_out() {
    assert_eq!(translate("a1", true).unwrap(), "[aA]1");
    assert!(matches("ignore", true, "IGNORE"));
    assert!(matches("ignore", true, "\u{131}gnore"), "dotless i");
    assert!(matches("ignore", true, "\u{130}GNORE"), "dotted capital I");
    assert!(!matches("ignore", false, "\u{131}gnore"));
    assert!(matches("kiss", true, "\u{212a}i\u{17f}s"), "Kelvin sign, long s");
    assert!(matches("[a-z]gnore", true, "\u{131}gnore"));
    assert!(matches("[a-z]", true, "Q"));
    assert!(!matches("x[^a-z]", true, "x\u{131}"));
    assert!(!matches("x[^a-z]", true, "XQ"));
    assert!(matches("(?i)ignore", false, "\u{131}GNORE"));
    assert!(!matches("(?-i:i)x", true, "\u{131}X"));
    assert!(matches("(?-i:i)x", true, "iX"));
    assert!(!matches("(?-i:i)x", true, "IX"));
    assert!(matches("(?i:é)", false, "É"));
    assert!(matches("[à-é]", true, "É"));
    assert!(matches("σ", true, "Σ"));
    assert!(matches("ς", true, "σ"));
    assert!(!matches(r"\W", true, "a"));
    assert!(matches(r"[^\d]", true, "a"));
}

#[test]
fn python_literals_the_crate_reads_otherwise() {
    assert!(matches(r"a{", false, "a{"));
    assert!(matches(r"a{x}", false, "a{x}"));
    assert!(matches(r"a{}", false, "a{}"));
    assert!(matches(r"a{1", false, "a{1"));
    assert!(matches(r"x{,2}y", false, "xxy"));
    assert!(!matches(r"^x{,2}y", false, "xxxy"));
    assert!(matches(r"x{,}y", false, "xxxxy"));
    assert!(matches(r"^(ab){2}$", false, "abab"));
    assert!(matches(r"^ab{2}$", false, "abb"));
    assert!(matches(r"]}", false, "]}"));
    assert!(matches(r"[[]", false, "["));
    assert!(matches(r"[a&&b]", false, "&"));
    assert!(matches(r"[+--]", false, ","));
    assert!(matches(r"[--/]", false, "."));
    assert!(matches(r"[~~]", false, "~"));
    assert!(matches(r"[]a]", false, "]"));
    assert!(matches(r"[^]a]", false, "b"));
    assert!(matches(r"[a-]", false, "-"));
    assert!(matches(r"[\w-]", false, "-"));
    assert!(matches(r"\<\/\>", false, "</>"));
    assert!(matches(r"[\b]", false, "\x08"));
    assert!(matches(r"\0\01\101", false, "\0\x01A"));
    assert!(matches(r"[\101-\102]", false, "B"));
    assert!(matches(r"\x41\u0042\U00000043", false, "ABC"));
    assert!(matches(r"\a\f\v\t", false, "\x07\x0c\x0b\t"));
    assert!(matches("a#b c", false, "a#b c"));
    assert!(matches(r"(?P<n>a)(?#comment \) here)b", false, "ab"));
    assert!(matches(r"a(?#c)*", false, "aaa"));
    assert!(matches(r"(?s:.)", false, "\n"));
    assert!(!matches(r".", false, "\n"));
    assert!(matches(r"(?s).", false, "\n"));
    assert!(matches(r"a|b|", false, "zzz"), "an empty branch matches");
}

#[test]
fn surrogates_match_nothing() {
    assert!(!matches(r"\ud800", false, "\u{fffd}"));
    assert!(matches(r"a|\ud800", false, "a"));
    assert!(matches(r"[\ud800-\ue000]", false, "\u{e000}"));
    assert!(!matches(r"[\ud800-\udfff]", false, "\u{fffd}"));
    assert!(matches(r"[^\ud800]", false, "x"));
    assert!(matches(r"[^\ud800-\udfff]", false, "\n"));
}

#[test]
fn shipped_patterns_translate() {
    assert_eq!(t(r"[\u200B\u200C]{2,}"), "[\u{200B}\u{200C}]{2,}");
    assert!(matches(r"\[\/?(system|SYSTEM)\]", true, "[/System]"));
    assert!(matches(r"system\s+prompt\s*[:\=]", true, "SYSTEM PROMPT ="));
    assert!(matches(
        r"[A-Za-z0-9+\/]{20,}={0,2}",
        false,
        "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=="
    ));
    assert!(matches(r"\b(1gn0r3|f0rg3t)\b", true, "please 1GN0R3 this"));
    assert!(!matches(r"\b(1gn0r3|f0rg3t)\b", true, "x1gn0r3"));
}

#[test]
fn refuses_what_the_crate_lacks_or_python_refuses() {
    for (pattern, why) in [
        (r"a(?=b)", "lookahead"),
        (r"a(?!b)", "lookahead"),
        (r"(?<=a)b", "lookbehind"),
        (r"(?<!a)b", "lookbehind"),
        (r"(a)\1", "backreferences"),
        (r"(?P<x>a)(?P=x)", "backreferences"),
        (r"(a)?(?(1)b|c)", "conditional"),
        (r"(?>a)", "atomic"),
        (r"a*+", "possessive"),
        (r"a{2}+", "possessive"),
        (r"\N{EM DASH}", "named"),
        (r"(?x)a b", "verbose"),
        (r"(?a)\w", "flag"),
        (r"a(?i)b", "global flags"),
        (r"((?i)b)", "global flags"),
        (r"\q", "bad escape"),
        (r"(a", "unterminated"),
        (r"a)", "unbalanced"),
        (r"[a", "unterminated"),
        (r"[z-a]", "bad character range"),
        (r"[\d-z]", "bad character range"),
        (r"*a", "nothing to repeat"),
        (r"^*", "nothing to repeat"),
        (r"(?i)*", "nothing to repeat"),
        (r"a**", "multiple repeat"),
        (r"a{2,1}", "min repeat"),
    ] {
        let error = translate(pattern, false).unwrap_err();
        assert!(error.contains(why), "{pattern}: {error}");
    }
}

#[test]
fn flags() {
    assert_eq!(t("(?i)(?s)a"), "(?s)[aA]");
    assert_eq!(t("(?u)a"), "a");
    assert_eq!(t("(?i-s:a)"), "(?-s:[aA])");
    assert_eq!(t("(?u:a)"), "(?:a)");
    assert_eq!(t("(?#c)(?i)a"), "[aA]");
    assert_eq!(t("(?ms)a"), "(?ms)a");
}

#[test]
fn word_boundaries_see_python_word_characters() {
    use super::{parse, python_words};
    assert_eq!(python_words("plain"), "plain");
    assert_eq!(
        python_words("pr0mpt\u{301} a\u{203f}b \u{2cfd}"),
        "pr0mpt\u{fffd} a\u{fffd}b \u{a66e}"
    );
    assert_eq!(
        python_words("é ß ı ١"),
        "é ß ı ١",
        "letters and digits are word characters in both"
    );
    assert!(parse(r"\bpr0mpt\b", true).unwrap().wants_python_words());
    assert!(!parse(r"pr0mpt", true).unwrap().wants_python_words());
    assert!(!parse(r"\b\u0301", false).unwrap().wants_python_words());
    assert!(!parse(r"\b[\u0300-\u036f]", false).unwrap().wants_python_words());
    assert!(
        parse(r"\bσ|ı\b|é|\ud800", true).unwrap().wants_python_words(),
        "letters are word characters in both"
    );
    // What Python's re.search says, on the text python_words gives.
    let boundary = |pattern: &str, text: &str| {
        regex::Regex::new(&translate(pattern, false).unwrap())
            .unwrap()
            .is_match(&python_words(text))
    };
    assert!(boundary(r"pr0mpt\b", "pr0mpt\u{301}"));
    assert!(boundary(r"\bx", "\u{301}x"));
    assert!(!boundary(r"x\B", "x\u{301}"));
    assert!(
        !boundary(r"a\b", "a\u{2cfd}"),
        "U+2CFD is a number: a word character in Python"
    );
    assert!(
        !boundary(r"a.\b", "a\u{301}"),
        "the stand-in is matched by . as the mark is"
    );
    assert!(boundary(r".\b", "a\u{301}"));
}
