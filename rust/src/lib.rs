//! `nova_session._rust`: the compiled kernel of nova_session. Session ids,
//! encoding records to JSON bytes, the locked, crash-safe append, secret
//! redaction, and the keyword tier of NOVA prompt-injection rules.
//!
//! This file only binds the kernel to Python; the work lives in one module per
//! concern, testable with `cargo test` without an interpreter.

pub mod append;
pub mod chain;
pub mod decode;
pub mod encode;
pub mod error;
pub mod ids;
pub mod jsonline;
pub mod redact;
pub mod rules;
pub mod text;
pub mod writer;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod _rust {
    use std::path::PathBuf;

    use pyo3::prelude::*;
    use pyo3::types::{PyBytes, PyDict};

    use crate::{append, decode, encode as encoder, ids};

    #[pymodule_export]
    use crate::writer::Writer;

    #[pymodule_export]
    use crate::redact::py::Redactor;

    #[pymodule_export]
    use crate::rules::py::NovaRules;

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        module.add("__version__", env!("CARGO_PKG_VERSION"))
    }

    /// Return a new session id: UTC 'YYYY-MM-DD_HH-MM-SS_' and 6 random [0-9a-z] characters.
    #[pyfunction]
    fn generate_session_id() -> String {
        ids::generate_session_id()
    }

    /// Encode obj as one compact JSON document in UTF-8 by the encoding rules of the README's "Records".
    #[pyfunction]
    fn encode<'py>(obj: &Bound<'py, PyAny>) -> Bound<'py, PyBytes> {
        encoder::encode_to_bytes(obj)
    }

    /// Parse JSON bytes into Python objects like json.loads; ValueError for what it cannot parse.
    #[pyfunction]
    fn loads<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let value = decode::parse(data).map_err(pyo3::exceptions::PyValueError::new_err)?;
        decode::to_python(py, &value)
    }

    /// Create path holding exactly data (mode 0600, never through a link); FileExistsError if it exists.
    #[pyfunction]
    fn create_file(py: Python<'_>, path: PathBuf, data: &[u8], fsync: bool) -> PyResult<()> {
        let data = data.to_vec();
        py.detach(|| append::create_file(&path, &data, fsync))
            .map_err(PyErr::from)
    }

    /// Append records (dicts) to an existing session file under an exclusive flock, assigning ids and chaining each to the line before it (key: HMAC key bytes, or None for sha256); return how many.
    #[pyfunction]
    #[pyo3(signature = (path, records, fsync, key=None))]
    fn append_records(
        py: Python<'_>,
        path: PathBuf,
        records: Vec<Bound<'_, PyDict>>,
        fsync: bool,
        key: Option<&[u8]>,
    ) -> PyResult<usize> {
        let parts = records.iter().map(encoder::event_parts).collect::<PyResult<Vec<_>>>()?;
        py.detach(|| append::append_events(&path, &parts, fsync, key))
            .map_err(PyErr::from)
    }

    /// Append the end record (head, then event_count, then extra, then prev) unless the last record already is one; return whether it wrote.
    #[pyfunction]
    #[pyo3(signature = (path, head, extra, fsync, key=None))]
    fn finalize_file(
        py: Python<'_>,
        path: PathBuf,
        head: &Bound<'_, PyDict>,
        extra: &Bound<'_, PyDict>,
        fsync: bool,
        key: Option<&[u8]>,
    ) -> PyResult<bool> {
        let mut opening = encoder::encode(head.as_any());
        opening.pop(); // the closing brace: event_count and the extras follow
        let mut members = Vec::new();
        encoder::write_members(&mut members, extra)?;
        py.detach(|| append::finalize(&path, &opening, &members, fsync, key))
            .map_err(PyErr::from)
    }
}
