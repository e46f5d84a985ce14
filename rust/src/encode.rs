//! Encoding Python objects to compact JSON bytes by walking them (README, "Records"),
//! byte for byte what `nova_session._python.encode` writes.
//!
//! The walk never fails: whatever an object does (a raising `__str__`, an
//! `__iter__` that breaks, a cycle) ends up as a placeholder string.

use std::os::raw::c_char;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PyMapping, PySet, PyString, PyTuple,
};

use crate::text::{write_float, write_json_string, write_json_utf8};

/// Containers at a depth beyond this are written as `"<max depth>"`; the record itself is at depth 1.
pub const MAX_DEPTH: usize = 64;

/// An event split around its id: `head` ends with `"id":`, `tail` starts after the id and closes the object.
pub struct EventParts {
    pub head: Vec<u8>,
    /// The caller's own `id`, already encoded.
    pub given_id: Option<Vec<u8>>,
    pub tail: Vec<u8>,
}

/// Encode `obj` at depth 1.
pub fn encode(obj: &Bound<'_, PyAny>) -> Vec<u8> {
    with_scratch(|out| write_value(out, obj, 1), <[u8]>::to_vec)
}

/// Encode `obj` at depth 1 straight into a bytes object.
pub fn encode_to_bytes<'py>(obj: &Bound<'py, PyAny>) -> Bound<'py, PyBytes> {
    with_scratch(|out| write_value(out, obj, 1), |text| PyBytes::new(obj.py(), text))
}

thread_local! {
    /// A buffer kept per thread: records are encoded into it and copied out at
    /// their exact size, instead of growing a fresh buffer (and copying) each time.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Run `fill` on an empty scratch buffer and return `finish` of what it wrote.
fn with_scratch<R>(fill: impl FnOnce(&mut Vec<u8>), finish: impl FnOnce(&[u8]) -> R) -> R {
    // A re-entrant call (a __str__ encoding another record) gets a fresh buffer.
    let taken = SCRATCH.with(|cell| cell.try_borrow_mut().map(|mut buffer| std::mem::take(&mut *buffer)));
    let mut buffer = taken.unwrap_or_default();
    buffer.clear();
    fill(&mut buffer);
    let result = finish(&buffer);
    if buffer.capacity() <= 1 << 22 {
        SCRATCH.with(|cell| {
            if let Ok(mut slot) = cell.try_borrow_mut() {
                *slot = buffer;
            }
        });
    }
    result
}

/// Split an event dict into `{"type":T,"id":` / given id / `,"k":v...}` (type first, id second).
pub fn event_parts(record: &Bound<'_, PyDict>) -> PyResult<EventParts> {
    let mut head = Vec::with_capacity(32);
    head.extend_from_slice(b"{\"type\":");
    match record.get_item("type")? {
        Some(kind) => write_value(&mut head, &kind, 2),
        None => head.extend_from_slice(b"\"event\""),
    }
    head.extend_from_slice(b",\"id\":");
    let given_id = record.get_item("id")?.map(|id| {
        let mut text = Vec::new();
        write_value(&mut text, &id, 2);
        text
    });
    let mut walked = Ok(());
    let tail = with_scratch(
        |tail| {
            walked = for_each_pair(record, |key, value| {
                if let Ok(name) = key.cast::<PyString>() {
                    // type and id are written first; prev is the chain's, written last.
                    if name == "type" || name == "id" || name == "prev" {
                        return;
                    }
                }
                write_member(tail, key, value, 2);
            });
            tail.push(b'}');
        },
        <[u8]>::to_vec,
    );
    walked?;
    Ok(EventParts { head, given_id, tail })
}

/// `,"key":value` for every pair of a dict but `prev` (the chain's own), values at depth 2.
pub fn write_members(out: &mut Vec<u8>, dict: &Bound<'_, PyDict>) -> PyResult<()> {
    for_each_pair(dict, |key, value| {
        if key.cast::<PyString>().is_ok_and(|name| name == "prev") {
            return;
        }
        write_member(out, key, value, 2);
    })
}

fn write_member(out: &mut Vec<u8>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>, depth: usize) {
    out.push(b',');
    write_key(out, key);
    out.push(b':');
    write_value(out, value, depth);
}

/// Walk a dict's pairs in order (a subclass's own `items` is ignored, as `dict.items(d)`
/// does), holding a strong reference to each key and value while `visit` runs. Like
/// Python's own iteration, it fails when the dict changes size meanwhile (a `__str__`
/// may do that), and the caller then writes a placeholder, as the Python kernel does.
fn for_each_pair<'py>(
    dict: &Bound<'py, PyDict>,
    mut visit: impl FnMut(&Bound<'py, PyAny>, &Bound<'py, PyAny>),
) -> PyResult<()> {
    let py = dict.py();
    let size = dict.len();
    let mut position: pyo3::ffi::Py_ssize_t = 0;
    let mut key: *mut pyo3::ffi::PyObject = std::ptr::null_mut();
    let mut value: *mut pyo3::ffi::PyObject = std::ptr::null_mut();
    loop {
        // SAFETY: `dict` is a live dict (or subclass) and we hold the GIL. PyDict_Next
        // bounds-checks `position` against the dict's current table, so a dict changed
        // by `visit` cannot make it read out of bounds; the borrowed key and value are
        // turned into owned references before any Python code can run.
        let (key, value) = unsafe {
            if pyo3::ffi::PyDict_Next(dict.as_ptr(), &raw mut position, &raw mut key, &raw mut value) == 0 {
                return Ok(());
            }
            (Bound::from_borrowed_ptr(py, key), Bound::from_borrowed_ptr(py, value))
        };
        visit(&key, &value);
        if dict.len() != size {
            return Err(PyRuntimeError::new_err("dictionary changed size during iteration"));
        }
    }
}

extern "C" {
    // In the stable ABI from Python 3.10, and exported by CPython 3.9 as well; pyo3's
    // abi3-py39 build leaves it out. It returns the UTF-8 form CPython caches inside
    // the str object: no copy, where `encode_utf8` would allocate a bytes object.
    fn PyUnicode_AsUTF8AndSize(unicode: *mut pyo3::ffi::PyObject, size: *mut pyo3::ffi::Py_ssize_t) -> *const c_char;
}

/// The UTF-8 bytes of a str (its subclasses included), or None when it holds lone surrogates.
pub(crate) fn utf8_of<'a>(s: &'a Bound<'_, PyString>) -> Option<&'a [u8]> {
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str object (PyUnicode_Check holds for it and its subclasses)
    // and we hold the GIL; the pointer refers to the UTF-8 buffer cached in the object,
    // which lives as long as the object, hence the borrow of `s`.
    unsafe {
        let data = PyUnicode_AsUTF8AndSize(s.as_ptr(), &raw mut size);
        if data.is_null() {
            drop(PyErr::fetch(s.py())); // UnicodeEncodeError: lone surrogates
            return None;
        }
        Some(std::slice::from_raw_parts(
            data.cast::<u8>(),
            usize::try_from(size).unwrap_or(0),
        ))
    }
}

fn write_str(out: &mut Vec<u8>, s: &Bound<'_, PyString>) {
    if let Some(bytes) = utf8_of(s) {
        write_json_utf8(out, bytes);
        return;
    }
    match s.encode_utf8() {
        Ok(bytes) => write_json_string(out, bytes.as_bytes()),
        // Lone surrogates: take their 3-byte form; write_json_string escapes them as \udXXX.
        // str.encode, not s.encode: a subclass may override the method.
        Err(_) => match (s.py().get_type::<PyString>().getattr("encode"))
            .and_then(|encode| encode.call1((s, "utf-8", "surrogatepass")))
        {
            Ok(bytes) => match bytes.cast::<PyBytes>() {
                Ok(bytes) => write_json_string(out, bytes.as_bytes()),
                Err(_) => write_unserializable(out, s.as_any()),
            },
            Err(_) => write_unserializable(out, s.as_any()),
        },
    }
}

fn write_placeholder(out: &mut Vec<u8>, text: &str) {
    write_json_utf8(out, text.as_bytes());
}

fn write_unserializable(out: &mut Vec<u8>, obj: &Bound<'_, PyAny>) {
    let name = obj
        .get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |name| name.to_string_lossy().into_owned());
    write_placeholder(out, &format!("<unserializable {name}>"));
}

/// Decimal text of an int (subclasses included), or None past the int-to-string limit.
fn int_text(value: &Bound<'_, PyAny>) -> Option<String> {
    if let Ok(small) = value.extract::<i64>() {
        return Some(small.to_string());
    }
    // int.__repr__ ignores a subclass's own __repr__, as Python's json does.
    let repr = value
        .py()
        .get_type::<PyInt>()
        .getattr("__repr__")
        .ok()?
        .call1((value,))
        .ok()?;
    Some(repr.cast::<PyString>().ok()?.to_string_lossy().into_owned())
}

fn write_int(out: &mut Vec<u8>, value: &Bound<'_, PyAny>) {
    if let Ok(small) = value.extract::<i64>() {
        crate::text::write_i64(out, small);
        return;
    }
    match int_text(value) {
        Some(text) => out.extend_from_slice(text.as_bytes()),
        None => write_placeholder(out, "<unserializable int>"),
    }
}

fn write_key(out: &mut Vec<u8>, key: &Bound<'_, PyAny>) {
    // An exact str first: one pointer comparison, where the check for a subclass is a
    // call into the interpreter under abi3.
    if let Ok(s) = key.cast_exact::<PyString>() {
        write_str(out, s);
    } else if let Ok(s) = key.cast::<PyString>() {
        write_str(out, s);
    } else if key.is_none() {
        out.extend_from_slice(b"\"null\"");
    } else if let Ok(flag) = key.cast_exact::<pyo3::types::PyBool>() {
        out.extend_from_slice(if flag.is_true() { b"\"true\"" } else { b"\"false\"" });
    } else if key.is_instance_of::<PyInt>() {
        let text = int_text(key).unwrap_or_else(|| "<unserializable int>".to_owned());
        write_placeholder(out, &text);
    } else if let Ok(float) = key.cast::<PyFloat>() {
        let value = float.value();
        let text = if value.is_nan() {
            "NaN".to_owned()
        } else if value.is_infinite() {
            if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
        } else {
            let mut repr = Vec::new();
            write_float(&mut repr, value);
            String::from_utf8(repr).expect("ascii")
        };
        write_placeholder(out, &text);
    } else {
        match key.str() {
            Ok(text) => write_str(out, &text),
            Err(_) => write_unserializable(out, key),
        }
    }
}

/// Write `obj` at `depth` by the encoding rules of the README's "Records".
pub fn write_value(out: &mut Vec<u8>, obj: &Bound<'_, PyAny>, depth: usize) {
    // The builtin types of nearly every value, by their exact type first (one pointer
    // comparison each): the checks below, made for subclasses, are calls into the
    // interpreter under abi3.
    if let Ok(s) = obj.cast_exact::<PyString>() {
        write_str(out, s);
    } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
        write_dict(out, dict, depth);
    } else if let Ok(list) = obj.cast_exact::<PyList>() {
        write_list(out, list, depth);
    } else if obj.cast_exact::<PyInt>().is_ok() {
        write_int(out, obj);
    } else if let Ok(s) = obj.cast::<PyString>() {
        write_str(out, s);
    } else if obj.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(flag) = obj.cast_exact::<pyo3::types::PyBool>() {
        out.extend_from_slice(if flag.is_true() { b"true" } else { b"false" });
    } else if obj.is_instance_of::<PyInt>() {
        write_int(out, obj);
    } else if let Ok(float) = obj.cast::<PyFloat>() {
        let value = float.value();
        if value.is_finite() {
            write_float(out, value);
        } else {
            out.extend_from_slice(b"null");
        }
    } else if let Ok(dict) = obj.cast::<PyDict>() {
        write_dict(out, dict, depth);
    } else if let Ok(list) = obj.cast::<PyList>() {
        write_list(out, list, depth);
    } else if let Ok(tuple) = obj.cast::<PyTuple>() {
        write_container(out, obj, depth, |out| write_array(out, tuple.iter().map(Ok), depth));
    } else if obj.is_instance_of::<PySet>() || obj.is_instance_of::<PyFrozenSet>() {
        write_container(out, obj, depth, |out| write_array(out, obj.try_iter()?, depth));
    } else if let Ok(bytes) = obj.cast::<PyBytes>() {
        write_json_utf8(out, String::from_utf8_lossy(bytes.as_bytes()).as_bytes());
    } else if let Ok(bytes) = obj.cast::<PyByteArray>() {
        write_json_utf8(out, String::from_utf8_lossy(&bytes.to_vec()).as_bytes());
    } else {
        let mark = out.len();
        if write_other(out, obj, depth).is_err() {
            out.truncate(mark);
            write_unserializable(out, obj);
        }
    }
}

fn write_dict(out: &mut Vec<u8>, dict: &Bound<'_, PyDict>, depth: usize) {
    write_container(out, dict.as_any(), depth, |out| {
        out.push(b'{');
        let mut first = true;
        for_each_pair(dict, |key, value| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            write_key(out, key);
            out.push(b':');
            write_value(out, value, depth + 1);
        })?;
        out.push(b'}');
        Ok(())
    });
}

fn write_list(out: &mut Vec<u8>, list: &Bound<'_, PyList>, depth: usize) {
    write_container(out, list.as_any(), depth, |out| {
        // Re-read the length each step: an element's __str__ may change the list.
        let mut index = 0;
        out.push(b'[');
        while index < list.len() {
            if index > 0 {
                out.push(b',');
            }
            write_value(out, &list.get_item(index)?, depth + 1);
            index += 1;
        }
        out.push(b']');
        Ok(())
    });
}

/// A type from a module that is already imported, or None: no instance can exist otherwise.
fn module_type<'py>(py: Python<'py>, module: &str, name: &str) -> Option<Bound<'py, PyAny>> {
    let modules = py.import("sys").ok()?.getattr("modules").ok()?;
    let module = modules.get_item(module).ok()?;
    if module.is_none() {
        return None;
    }
    module.getattr(name).ok()
}

fn is_instance_of_module_type(obj: &Bound<'_, PyAny>, module: &str, name: &str) -> PyResult<bool> {
    match module_type(obj.py(), module, name) {
        Some(kind) => obj.is_instance(&kind),
        None => Ok(false),
    }
}

fn write_other(out: &mut Vec<u8>, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<()> {
    if is_instance_of_module_type(obj, "datetime", "date")? || is_instance_of_module_type(obj, "datetime", "time")? {
        let text = obj.call_method0("isoformat")?;
        match text.cast::<PyString>() {
            Ok(text) => write_str(out, text),
            Err(_) => write_unserializable(out, obj),
        }
    } else if is_instance_of_module_type(obj, "pathlib", "PurePath")? {
        write_str(out, &obj.str()?);
    } else if is_instance_of_module_type(obj, "enum", "Enum")? {
        // Follow .value through enums valued by enums; a chain longer than
        // MAX_DEPTH (an enum valued by itself) is cut like a cycle.
        let mut value = obj.getattr("value")?;
        for _ in 0..MAX_DEPTH {
            if !is_instance_of_module_type(&value, "enum", "Enum")? {
                write_value(out, &value, depth);
                return Ok(());
            }
            value = value.getattr("value")?;
        }
        write_placeholder(out, "<max depth>");
    } else if obj.cast::<PyMapping>().is_ok() {
        write_container(out, obj, depth, |out| {
            let items = obj.call_method0("items")?;
            let pairs = items.try_iter()?.map(|pair| pair.and_then(|pair| pair.extract()));
            write_object(out, pairs, depth)
        });
    } else {
        write_str(out, &obj.str()?);
    }
    Ok(())
}

/// Depth check, then the container's body; a body that fails leaves a placeholder instead.
fn write_container(
    out: &mut Vec<u8>,
    obj: &Bound<'_, PyAny>,
    depth: usize,
    body: impl FnOnce(&mut Vec<u8>) -> PyResult<()>,
) {
    if depth > MAX_DEPTH {
        write_placeholder(out, "<max depth>");
        return;
    }
    let mark = out.len();
    if body(out).is_err() {
        out.truncate(mark);
        write_unserializable(out, obj);
    }
}

fn write_array<'py>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = PyResult<Bound<'py, PyAny>>>,
    depth: usize,
) -> PyResult<()> {
    out.push(b'[');
    for (index, item) in items.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_value(out, &item?, depth + 1);
    }
    out.push(b']');
    Ok(())
}

fn write_object<'py>(
    out: &mut Vec<u8>,
    pairs: impl Iterator<Item = PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)>>,
    depth: usize,
) -> PyResult<()> {
    out.push(b'{');
    for (index, pair) in pairs.enumerate() {
        let (key, value) = pair?;
        if index > 0 {
            out.push(b',');
        }
        write_key(out, &key);
        out.push(b':');
        write_value(out, &value, depth + 1);
    }
    out.push(b'}');
    Ok(())
}
