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
every workload event, so that the ratios compare the same work. The cases run
in turn within each round, so that the machine's drifts fall on all of them.
"""

from __future__ import annotations

import json
import statistics
import time

import orjson

from .conftest import kernels, note, record, timing
from .workload import events

GROUP = "encode"
EVENTS = events()
ROUNDS = 60


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


def test_encoders_interleaved(pytestconfig):
    """Every case once per round, in turn (as the hook processes are): a drift of this
    shared machine's speed falls on all of them alike. Each median is over the rounds,
    per event."""
    timed = timing(pytestconfig)
    rounds, warmup = (ROUNDS, 2) if timed else (1, 0)
    encoders = {label: make() for label, make in CASES.items()}
    times: dict = {label: [] for label in CASES}
    for number in range(warmup + rounds):
        for label, encode in encoders.items():
            start = time.perf_counter()
            for event in EVENTS:
                encode(event)
            if number >= warmup:
                times[label].append((time.perf_counter() - start) / len(EVENTS))
    for label, encode in encoders.items():
        assert encode(EVENTS[0]) == orjson.dumps(EVENTS[0]), label
    if timed:
        note(
            GROUP,
            "per event, over the %d workload events; %d rounds, the cases interleaved within each round"
            % (len(EVENTS), rounds),
        )
        for label in CASES:
            record(GROUP, label, statistics.median(times[label]))
