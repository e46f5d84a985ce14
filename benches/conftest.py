"""Shared pieces of the benchmarks: the backend parameter and the ratio summary.

Every case records its median under its group: through the ``measure``
fixture (pytest-benchmark), or through ``record`` for the cases that time
themselves to run in turn within each round (encode, growth, hook processes;
``--benchmark-only`` would skip those). A group's baseline is named in
BASELINES, and the summary at the end prints each median as a ratio to the
baseline of the same group measured in the same run. Timing is off by
default (``--benchmark-disable`` in pyproject addopts: ``make test`` runs each
case once as a smoke test); ``make bench`` turns it on.
"""

from __future__ import annotations

import os
import platform
import time

import pytest

# group -> name of the case every other case of the group is divided by
BASELINES = {
    "hook-process": "python -c pass",
    "encode": "orjson.dumps",
    "append": "orjson.dumps + os.write",
    "growth-rust": "append_event @ 10 prior events",
    "growth-python": "append_event @ 10 prior events",
    "redact": "baseline: rust encode of the 10 KB text",
    "redact-first": "python -c pass",
    "nova-scan": "rust NovaRules.scan, per event",
}
# group -> a second reference; each median of the group is also printed as a ratio to it
SECOND_BASELINES = {
    "hook-process": "python -I -S -c pass",
}

# (group, case) -> the highest ratio issue 13 sets as its target, printed beside the ratio
TARGETS = {
    ("encode", "rust encode"): 1.0,
    ("append", "append_event, rust, plain chain"): 1.0,
    ("append", "append_event, rust, keyed chain"): 1.0,
    ("append", "append_event, python, plain chain"): 5.0,
    ("append", "append_event, python, keyed chain"): 5.0,
    ("append", "SessionWriter, rust, plain chain (per event)"): 0.5,
    ("append", "SessionWriter, rust, keyed chain (per event)"): 0.5,
    ("growth-rust", "append_event @ 5000 prior events"): 1.05,
    ("growth-python", "append_event @ 5000 prior events"): 1.05,
    ("hook-process", "PostToolUse hook, rust"): 1.0,
    ("hook-process", "PostToolUse hook, python fallback"): 1.2,
}


def timing(config) -> bool:
    """Whether this run times (make bench) or runs each case once untimed (make test)."""
    return bool(config.getoption("benchmark_enable") or not config.getoption("benchmark_disable"))


def kernels() -> dict:
    """Both kernels by name; the Rust one must load (make bench checks it first)."""
    from nova_session import _python, _rust

    return {"rust": _rust, "python": _python}


_medians: dict = {}
_notes: dict = {}


@pytest.fixture
def measure(benchmark, request):
    """The pytest-benchmark fixture; afterwards its median goes into the summary."""
    yield benchmark
    # A case skipped inside the fixture (no browser, say) has stats but no rounds.
    if not benchmark.disabled and benchmark.stats is not None and benchmark.stats.stats.data:
        label = benchmark.extra_info.get("label", request.node.name)
        per = benchmark.extra_info.get("per", 1)
        _medians.setdefault(benchmark.group, {})[label] = benchmark.stats.stats.median / per


def record(group: str, label: str, median: float) -> None:
    """A median (seconds) measured without the fixture, for the summary."""
    _medians.setdefault(group, {})[label] = median


def note(group: str, text: str) -> None:
    """A line printed under the group in the summary (conditions of the measurement)."""
    _notes.setdefault(group, [])
    if text not in _notes[group]:
        _notes[group].append(text)


# Set to a path, the summary is also written there as the README's Markdown table.
TABLE_ENV = "NOVA_SESSION_BENCH_TABLE"


def _machine() -> str:
    return "machine: %s, %s, %s CPUs, Python %s; %s; load average at the end %s" % (
        platform.node(),
        platform.machine(),
        os.cpu_count(),
        platform.python_version(),
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        " ".join("%.2f" % load for load in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a",
    )


def _time(seconds: float) -> str:
    return "%.1f µs" % (seconds * 1e6) if seconds < 1e-3 else "%.2f ms" % (seconds * 1e3)


def markdown_table() -> str:
    """Every group's medians as Markdown rows: group, case, median, ratio(s), target."""
    rows = ["| group (baseline) | case | median | ratio | issue 13 target |", "| --- | --- | ---: | ---: | --- |"]
    for group, medians in _medians.items():
        base = medians.get(BASELINES.get(group))
        base2 = medians.get(SECOND_BASELINES.get(group, ""))
        first = True
        for label, median in medians.items():
            ratio = "%.2f×" % (median / base) if base else ""
            if base2:
                ratio += " / %.2f×" % (median / base2)
            target = TARGETS.get((group, label))
            verdict = ""
            if target is not None and base:
                verdict = "≤ %.2f×: %s" % (target, "met" if median / base <= target else "**not met**")
            name = "%s (%s)" % (group, BASELINES.get(group)) if first else ""
            rows.append("| %s | %s | %s | %s | %s |" % (name, label, _time(median), ratio, verdict))
            first = False
    return "\n".join(rows) + "\n"


def pytest_terminal_summary(terminalreporter):
    if not _medians:
        return
    write = terminalreporter.write_line
    write("")
    write("nova_session benchmarks: medians, and ratios to each group's baseline from this same run")
    write(_machine())
    table = os.environ.get(TABLE_ENV)
    if table:
        with open(table, "w", encoding="utf-8") as handle:
            handle.write(_machine() + "\n\n" + markdown_table())
        write("Markdown table written to %s" % table)
    for group, medians in _medians.items():
        baseline = BASELINES.get(group)
        base = medians.get(baseline)
        second = SECOND_BASELINES.get(group)
        base2 = medians.get(second) if second else None
        write("")
        write("[%s] baseline: %s%s" % (group, baseline, "; second ratio: to %s" % second if second else ""))
        for text in _notes.get(group, []):
            write("  (%s)" % text)
        for label, median in medians.items():
            ratio = "%6.2fx" % (median / base) if base else "   n/a "
            target = TARGETS.get((group, label))
            verdict = ""
            if target is not None and base:
                verdict = "  target <= %.2fx: %s" % (target, "met" if median / base <= target else "not met")
            if base2:
                ratio += "  %6.2fx" % (median / base2)
            write("  %-64s %10.1f us  %s%s" % (label, median * 1e6, ratio, verdict))
