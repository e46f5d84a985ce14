//! Parsing JSON bytes into Python objects (the hook's stdin), so that a hook
//! process never pays for importing Python's `json` (and `re`) on its hot path.
//!
//! Stricter than `json.loads` (no `NaN`, no lone surrogates, at most 128 levels):
//! what this refuses, the caller hands to the Python kernel's `loads`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString};
use serde_json::Value;

/// Parse `data` into a `serde_json::Value` (object keys in document order).
pub fn parse(data: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(data).map_err(|error| error.to_string())
}

/// Convert a parsed value to Python objects: dict, list, str, int, float, bool, None.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(flag) => pyo3::types::PyBool::new(py, *flag).to_owned().into_any(),
        Value::Number(number) => {
            if let Some(small) = number.as_i64() {
                small.into_pyobject(py)?.into_any()
            } else if let Some(big) = number.as_u64() {
                big.into_pyobject(py)?.into_any()
            } else {
                let text = number.to_string();
                if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                    let float: f64 = text.parse().map_err(|_| PyValueError::new_err("invalid number"))?;
                    float.into_pyobject(py)?.into_any()
                } else {
                    // An integer beyond 64 bits: int(text), which also applies the digit limit.
                    py.get_type::<PyInt>().call1((text,))?
                }
            }
        }
        Value::String(text) => PyString::new(py, text).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(members) => {
            let dict = PyDict::new(py);
            for (key, item) in members {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_big_numbers() {
        let value = parse(br#"{"b":1,"a":[1.5,-2,18446744073709551616,1e400],"c":{"z":null,"y":true}}"#).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(value["a"][2].to_string(), "18446744073709551616");
    }

    #[test]
    fn refuses_what_the_python_fallback_must_handle() {
        assert!(parse(br#"{"a":NaN}"#).is_err());
        assert!(parse(br#"{"a":"\ud800"}"#).is_err());
        assert!(parse(b"{\"a\":1} x").is_err());
        assert!(parse(b"").is_err());
    }
}
