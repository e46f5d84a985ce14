"""Encoding only, against the real alternatives (group ``encode``, ratios to ``orjson.dumps``).

Every case turns each of the 200 workload events (workload.py: ~5 KB median,
non-ASCII text and control characters) into its JSON line's bytes, without
the newline; one round is the whole workload, and the time reported is per
event. The cases:
- ``orjson.dumps`` (the baseline; orjson is a benchmark-only dependency);
- ``encode`` of the Rust kernel and of the pure-Python fallback kernel;
- the standard library as a careful caller uses it:
  ``json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()``.
Before timing, the module checks that the four give the very same bytes for
every workload event, so that the ratios compare the same work.
"""

from __future__ import annotations

import json

import orjson
import pytest

from .conftest import kernels, note
from .workload import events

GROUP = "encode"
EVENTS = events()
ROUNDS = 40


def stdlib(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# label -> the encoding function (looked up when the case runs: the kernels load then)
CASES = {
    "orjson.dumps": lambda: orjson.dumps,
    "rust encode": lambda: kernels()["rust"].encode,
    "python kernel encode": lambda: kernels()["python"].encode,
    'json.dumps(ensure_ascii=False, separators=(",", ":")).encode()': lambda: stdlib,
}


def test_kernels_and_orjson_agree():
    """Same bytes from both kernels for every workload event, and the same as orjson's and the stdlib's."""
    rust, python = kernels()["rust"], kernels()["python"]
    for event in EVENTS:
        ours = rust.encode(event)
        assert python.encode(event) == ours
        assert orjson.dumps(event) == ours
        assert stdlib(event) == ours


@pytest.mark.parametrize("label", list(CASES))
def test_encode(measure, label):
    encode = CASES[label]()

    def workload():
        for event in EVENTS:
            encode(event)

    measure.group, measure.extra_info["label"] = GROUP, label
    measure.extra_info["per"] = len(EVENTS)
    note(GROUP, "per event, over the %d workload events (one round encodes them all)" % len(EVENTS))
    measure.pedantic(workload, rounds=ROUNDS, iterations=1, warmup_rounds=2)
    assert encode(EVENTS[0]) == orjson.dumps(EVENTS[0])
