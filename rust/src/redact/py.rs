//! The `Redactor` class of the kernel: a `RuleSet` bound to Python strings and records.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PyList, PyString};

use super::{Redaction, RuleSet};
use crate::encode::utf8_of;

/// Top-level record keys whose values are never redacted: the structure of a record.
const STRUCTURE: [&str; 5] = ["type", "id", "timestamp", "session_id", "prev"];

/// Redact secrets with rule documents (JSON bytes, the first the built-in rules; later ones may be refused rule by rule, see problems).
#[pyclass(frozen, module = "nova_session._rust")]
pub struct Redactor {
    rules: RuleSet,
}

/// What walking a record found: (field, rule id, count) per field and rule, and the
/// secrets themselves (rule index, bytes), for the Python layer to remove their copies.
#[derive(Default)]
struct Found {
    fields: Vec<(String, String, usize)>,
    secrets: Vec<(usize, Vec<u8>)>,
}
/// A redacted string and the rules that fired: (rule id, count).
type Redacted<'py> = Option<(Bound<'py, PyString>, Vec<(String, usize)>)>;
/// A record redacted: the copy, (field, rule id, count), and (rule id, secret).
type RedactedRecord<'py> = Option<(
    Bound<'py, PyDict>,
    Vec<(String, String, usize)>,
    Vec<(String, Bound<'py, PyString>)>,
)>;

#[pymethods]
impl Redactor {
    #[new]
    fn new(documents: Vec<Bound<'_, PyBytes>>) -> PyResult<Self> {
        let slices: Vec<&[u8]> = documents.iter().map(PyBytesMethods::as_bytes).collect();
        let rules = RuleSet::load(&slices).map_err(|why| PyValueError::new_err(format!("bad rule file: {why}")))?;
        Ok(Redactor { rules })
    }

    /// The top-level record keys whose values are never redacted: the structure of a record.
    #[classattr]
    #[pyo3(name = "STRUCTURE")]
    fn structure(py: Python<'_>) -> PyResult<Bound<'_, PyFrozenSet>> {
        PyFrozenSet::new(py, STRUCTURE)
    }

    /// What was refused in the user rule documents, one line each.
    #[getter]
    fn problems(&self) -> Vec<String> {
        self.rules.problems.clone()
    }

    /// The number of rules.
    #[getter]
    fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The text with each secret replaced by [REDACTED:<rule id>], and [(rule id, count)]; None when nothing was redacted.
    fn redact_text<'py>(&self, text: &Bound<'py, PyString>) -> PyResult<Redacted<'py>> {
        Ok(self.text(text)?.map(|(new, found)| {
            let fired = found
                .fired
                .into_iter()
                .map(|(rule, count)| (self.rules.id(rule).to_string(), count))
                .collect();
            (new, fired)
        }))
    }

    /// A copy of a record (dict) with secrets redacted in every string, keys included (not the values of type, id, timestamp, session_id, prev), [(field, rule id, count)] and [(rule id, secret)]; None when nothing was redacted.
    fn redact_record<'py>(&self, record: &Bound<'py, PyDict>) -> PyResult<RedactedRecord<'py>> {
        let mut found = Found::default();
        let mut path = String::new();
        let Some(new) = self.dict(record, &mut path, &mut found, true)? else {
            return Ok(None);
        };
        let py = record.py();
        let mut secrets = Vec::with_capacity(found.secrets.len());
        for (rule, secret) in found.secrets {
            secrets.push((self.rules.id(rule).to_string(), decode(py, &secret)?));
        }
        Ok(Some((new, found.fields, secrets)))
    }
}

/// Bytes of a str's UTF-8 (or surrogatepass) form, cut at whole characters, as a str.
fn decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(PyString::new(py, text)),
        Err(_) => Ok(PyBytes::new(py, bytes)
            .call_method1("decode", ("utf-8", "surrogatepass"))?
            .cast_into::<PyString>()?),
    }
}

impl Redactor {
    /// A string redacted, with what was found; None when unchanged.
    fn text<'py>(&self, text: &Bound<'py, PyString>) -> PyResult<Option<(Bound<'py, PyString>, Redaction)>> {
        let py = text.py();
        // A string with lone surrogates has no UTF-8 form: work on its surrogatepass bytes.
        let result = if let Some(utf8) = utf8_of(text) {
            self.rules.redact(utf8)
        } else {
            // str.encode, not text.encode: a subclass may override the method.
            let encode = py.get_type::<PyString>().getattr("encode")?;
            let raw = encode.call1((text, "utf-8", "surrogatepass"))?.cast_into::<PyBytes>()?;
            self.rules.redact(raw.as_bytes())
        };
        let Some(found) = result.map_err(|why| PyValueError::new_err(format!("redaction failed: {why}")))? else {
            return Ok(None);
        };
        // Spans are widened to whole characters and placeholders are ASCII: the bytes
        // decode as the original did (surrogatepass bytes included).
        let new = decode(py, &found.text)?;
        Ok(Some((new, found)))
    }

    fn note(&self, path: &str, redaction: Redaction, found: &mut Found) {
        for (rule, count) in redaction.fired {
            found
                .fields
                .push((path.to_string(), self.rules.id(rule).to_string(), count));
        }
        for secret in redaction.secrets {
            if !found.secrets.contains(&secret) {
                found.secrets.push(secret);
            }
        }
    }

    /// A value redacted (a new object), or None when nothing in it was.
    fn value<'py>(
        &self,
        value: &Bound<'py, PyAny>,
        path: &mut String,
        found: &mut Found,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if let Ok(text) = value.cast::<PyString>() {
            return Ok(self.text(text)?.map(|(new, redaction)| {
                self.note(path, redaction, found);
                new.into_any()
            }));
        }
        if let Ok(dict) = value.cast::<PyDict>() {
            return Ok(self.dict(dict, path, found, false)?.map(Bound::into_any));
        }
        if let Ok(list) = value.cast::<PyList>() {
            let mut items: Vec<Bound<'py, PyAny>> = Vec::with_capacity(list.len());
            let mut changed = false;
            let base = path.len();
            for (index, item) in list.iter().enumerate() {
                push_path(path, base, &index.to_string());
                match self.value(&item, path, found)? {
                    Some(new) => {
                        changed = true;
                        items.push(new);
                    }
                    None => items.push(item),
                }
            }
            path.truncate(base);
            return Ok(if changed {
                Some(PyList::new(value.py(), items)?.into_any())
            } else {
                None
            });
        }
        Ok(None)
    }

    fn dict<'py>(
        &self,
        dict: &Bound<'py, PyDict>,
        path: &mut String,
        found: &mut Found,
        top: bool,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let py = dict.py();
        let mut items: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = Vec::with_capacity(dict.len());
        let mut changed = false;
        let base = path.len();
        for (key, item) in dict.iter() {
            let mut new_key = key.clone();
            if let Ok(text) = key.cast::<PyString>() {
                if top && utf8_of(text).is_some_and(|t| STRUCTURE.iter().any(|name| name.as_bytes() == t)) {
                    items.push((key, item));
                    continue;
                }
                let redacted = self.text(text)?;
                let name = match &redacted {
                    Some((new, _)) => new.to_string_lossy().into_owned(),
                    None => text.to_string_lossy().into_owned(),
                };
                push_path(path, base, &name);
                if let Some((new, redaction)) = redacted {
                    self.note(path, redaction, found);
                    new_key = new.into_any();
                    changed = true;
                }
            } else {
                push_path(path, base, &key.str()?.to_string_lossy());
            }
            match self.value(&item, path, found)? {
                Some(new) => {
                    changed = true;
                    items.push((new_key, new));
                }
                None => items.push((new_key, item)),
            }
        }
        path.truncate(base);
        if !changed {
            return Ok(None);
        }
        let new = PyDict::new(py);
        for (key, item) in items {
            let mut key = key;
            if new.contains(&key)? {
                // Two keys redacted alike (or a key alike an earlier redacted one): number the later one.
                let stem = key.str()?;
                let mut number = 2;
                loop {
                    let candidate = stem.add(format!("#{number}"))?;
                    if !new.contains(&candidate)? {
                        key = candidate;
                        break;
                    }
                    number += 1;
                }
            }
            new.set_item(key, item)?;
        }
        Ok(Some(new))
    }
}

fn push_path(path: &mut String, base: usize, name: &str) {
    path.truncate(base);
    if base > 0 {
        path.push('.');
    }
    path.push_str(name);
}
