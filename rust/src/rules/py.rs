//! The `NovaRules` class of the kernel: a NOVA `RuleSet` scanning Python strings.

use std::borrow::Cow;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::RuleSet;
use crate::encode::utf8_of;

/// NOVA prompt-injection rules, keyword tier, from a compiled rule-set document (JSON bytes).
#[pyclass(frozen, module = "nova_session._rust")]
pub struct NovaRules {
    rules: RuleSet,
}

#[pymethods]
impl NovaRules {
    #[new]
    fn new(document: &[u8]) -> PyResult<Self> {
        let rules =
            RuleSet::load(document).map_err(|why| PyValueError::new_err(format!("bad NOVA rule set: {why}")))?;
        Ok(NovaRules { rules })
    }

    /// The number of rules.
    #[getter]
    fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Each rule's name, in order.
    #[getter]
    fn names(&self) -> Vec<&str> {
        (0..self.rules.len()).map(|rule| self.rules.name(rule)).collect()
    }

    /// Each rule's severity (its "severity", "" when it has none), in order.
    #[getter]
    fn severities(&self) -> Vec<&str> {
        (0..self.rules.len()).map(|rule| self.rules.severity(rule)).collect()
    }

    /// The indices (ascending) of the rules that match at least one of the texts.
    fn scan(&self, py: Python<'_>, texts: Vec<Bound<'_, PyString>>) -> PyResult<Vec<usize>> {
        let texts = texts.iter().map(text).collect::<PyResult<Vec<_>>>()?;
        py.detach(|| self.rules.scan(&texts))
            .map_err(|why| PyValueError::new_err(format!("NOVA scan failed: {why}")))
    }
}

/// A str as the rules see it: its UTF-8. A lone surrogate has no UTF-8 form: each is read
/// as U+FFFD, which `re` classes as it does a surrogate (not a letter, digit, space or
/// word character; matched by `.` and negated classes). Only a pattern naming a
/// surrogate, or U+FFFD, can tell the difference.
fn text<'a>(text: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    if let Some(utf8) = utf8_of(text) {
        if let Ok(text) = std::str::from_utf8(utf8) {
            return Ok(Cow::Borrowed(text));
        }
    }
    // str.encode, not text.encode: a subclass may override the method.
    let encode = text.py().get_type::<PyString>().getattr("encode")?;
    let raw = encode.call1((text, "utf-8", "surrogatepass"))?.cast_into::<PyBytes>()?;
    Ok(Cow::Owned(without_surrogates(raw.as_bytes())))
}

/// UTF-8 with surrogates encoded in it (`surrogatepass`: ED A0..BF 80..BF), each made U+FFFD.
fn without_surrogates(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(rest) => {
                out.push_str(rest);
                return out;
            }
            Err(error) => {
                let (valid, rest) = bytes.split_at(error.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default()); // checked: valid
                out.push('\u{FFFD}');
                // A surrogate is three bytes ED xx xx (from_utf8 flags the first alone).
                let skip = if rest.len() >= 3 && rest[0] == 0xED {
                    3
                } else {
                    error.error_len().unwrap_or(rest.len())
                };
                bytes = &rest[skip..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_surrogates;

    #[test]
    fn each_surrogate_is_one_replacement_character() {
        // "a\ud800b\udfffc" and the pair "\ud83d\ude00" (two code points in Python) as surrogatepass.
        let bytes = b"a\xed\xa0\x80b\xed\xbf\xbfc\xed\xa0\xbd\xed\xb8\x80";
        assert_eq!(without_surrogates(bytes), "a\u{fffd}b\u{fffd}c\u{fffd}\u{fffd}");
        assert_eq!(without_surrogates("plain é".as_bytes()), "plain é");
    }
}
