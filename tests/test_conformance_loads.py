"""kernel.loads: JSON bytes to Python objects, as json.loads gives them.

The hooks parse Claude Code's stdin with it, so that a hook process does not
import json (and re). The Rust kernel may refuse what json accepts beyond
strict JSON (NaN, lone surrogates, deep nesting); the hook layer then falls
back to the Python kernel, which accepts exactly what json.loads accepts.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_session import _python

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES, indent=st.sampled_from([None, 2]))
def test_loads_matches_json_loads(kernel, value, indent):
    data = json.dumps(value, ensure_ascii=False, indent=indent).encode("utf-8")
    parsed = kernel.loads(data)
    assert parsed == json.loads(data.decode("utf-8"))
    assert json.dumps(parsed) == json.dumps(value)  # same key order, same types


def test_loads_keeps_key_order_duplicates_and_types(kernel):
    parsed = kernel.loads(b' {"b":1,"a":[2.0,-0.0,1e400,18446744073709551616],"b":3,"t":true,"n":null} \n')
    assert list(parsed) == ["b", "a", "t", "n"]
    assert parsed["b"] == 3
    assert [type(x) for x in parsed["a"]] == [float, float, float, int]
    assert math.copysign(1, parsed["a"][1]) == -1 and parsed["a"][2] == float("inf")
    assert parsed["a"][3] == 2**64 and parsed["t"] is True and parsed["n"] is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"{",
        b'{"a":1,}',
        b"[1,]",
        b'{"a":1} x',
        b"\xff",
        b'{"a":"\x01"}',
        b"{'a':1}",
        b"01",
        b"\xef\xbb\xbf{}",
    ],
)
def test_loads_refuses_invalid_json_with_valueerror(kernel, data):
    with pytest.raises(ValueError):
        kernel.loads(data)
    with pytest.raises(ValueError):
        json.loads(data.decode("utf-8", "replace") if data != b"\xff" else "\ufffd")


def test_python_loads_accepts_what_json_accepts_beyond_strict_json():
    data = b'{"a":NaN,"b":-Infinity,"c":"\\ud800"}'
    parsed = _python.loads(data)
    assert math.isnan(parsed["a"]) and parsed["b"] == float("-inf") and parsed["c"] == "\ud800"
