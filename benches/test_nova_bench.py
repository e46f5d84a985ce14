"""The NOVA keyword tier per workload event (group ``nova-scan``, ratios to the Rust
kernel): both kernels' NovaRules over every string of an event's input and output, the
built-in rules warm; nova-hunting 0.3.1 scanning the same strings with its scanner built
once; and what the shipped hook did for every event: a new scanner, every rule file
parsed, its input and output scanned (nova-hunting imported already: that is ~300 ms more).
The hook process with scanning and redaction on is in test_hook_process_bench.py."""

from __future__ import annotations

import logging
import os

import pytest

from nova_session.guard import scan

from . import workload
from .conftest import kernels, note

GROUP = "nova-scan"
EVENTS = workload.events(40)


def strings(event: dict) -> list:
    found: list = []
    for field in ("tool_input", "tool_output"):
        scan.texts(event.get(field), found, scan.DEFAULT_BOUND)
    return found


@pytest.fixture(scope="module", autouse=True)
def quiet():
    os.environ.pop("OPENAI_API_KEY", None)
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _document() -> bytes:
    with open(scan.COMPILED, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_kernel_scan_per_event(measure, backend):
    engine = kernels()[backend].NovaRules(_document())
    texts = [strings(event) for event in EVENTS]

    def scan_all():
        for event_texts in texts:
            engine.scan(event_texts)

    scan_all()  # warm: every pattern compiled
    measure.group = GROUP
    measure.extra_info["label"] = "%s NovaRules.scan, per event" % backend
    measure.extra_info["per"] = len(texts)
    note(GROUP, "%d built-in rules; %d workload events (mean %d strings, %.1f KB)" % _workload_figures(engine))
    measure.pedantic(scan_all, rounds=20 if backend == "rust" else 3, iterations=1, warmup_rounds=1)


def _workload_figures(engine) -> tuple:
    counts = [len(strings(event)) for event in EVENTS]
    size = sum(len(text) for event in EVENTS for text in strings(event)) / len(EVENTS) / 1024
    return engine.rule_count, len(EVENTS), sum(counts) // len(counts), size


def _oracle_scanner():
    from nova.core.rule_file import NovaRuleFileParser
    from nova.core.scanner import NovaScanner

    scanner = NovaScanner()
    for path in scan.builtin_files():
        scanner.add_rules(NovaRuleFileParser().parse_file(path))
    return scanner


def test_nova_hunting_scan_per_event(measure):
    scanner = _oracle_scanner()
    texts = [strings(event) for event in EVENTS[:8]]

    def scan_all():
        for event_texts in texts:
            for text in event_texts:
                scanner.scan(text)

    measure.group = GROUP
    measure.extra_info["label"] = "nova-hunting NovaScanner.scan, built once, per event"
    measure.extra_info["per"] = len(texts)
    measure.pedantic(scan_all, rounds=3, iterations=1, warmup_rounds=1)


def test_shipped_hook_work_per_event(measure):
    """A new scanner and every rule file parsed for each event, then its input and output
    scanned as two texts, as the shipped PostToolUse hook did."""
    events = EVENTS[:4]

    def per_event():
        for event in events:
            scanner = _oracle_scanner()
            for field in ("tool_input", "tool_output"):
                text = "\n".join(scan.texts(event.get(field), [], scan.DEFAULT_BOUND))
                if len(text) >= 10:
                    scanner.scan(text)

    measure.group = GROUP
    measure.extra_info["label"] = "shipped hook's work per event (nova-hunting imported)"
    measure.extra_info["per"] = len(events)
    measure.pedantic(per_event, rounds=3, iterations=1, warmup_rounds=0)


SHIPPED_PROCESS = """
import json, logging, sys
logging.disable(logging.CRITICAL)
from nova.core.rule_file import NovaRuleFileParser
from nova.core.scanner import NovaScanner
texts = json.loads(sys.stdin.read())
scanner = NovaScanner()
for path in sys.argv[1:]:
    scanner.add_rules(NovaRuleFileParser().parse_file(path))
for text in texts:
    scanner.scan(text)
"""


def test_shipped_hook_process_per_event(measure):
    """The shipped hook's whole cost for one event: a Python process importing nova-hunting,
    parsing every rule file, scanning the event's input and output (its hook did that for
    every tool call)."""
    import json
    import subprocess
    import sys

    event = EVENTS[0]
    texts = ["\n".join(scan.texts(event.get(field), [], scan.DEFAULT_BOUND)) for field in ("tool_input", "tool_output")]
    argv = [sys.executable, "-c", SHIPPED_PROCESS, *scan.builtin_files()]
    env = {key: value for key, value in os.environ.items() if key != "OPENAI_API_KEY"}

    def run():
        done = subprocess.run(argv, input=json.dumps(texts).encode(), env=env, capture_output=True)
        assert done.returncode == 0, done.stderr[-2000:]

    measure.group = GROUP
    measure.extra_info["label"] = "shipped hook's process per event (import, parse, scan)"
    measure.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
