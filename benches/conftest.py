"""Shared pieces of the benchmarks: the backend parameter and the ratio summary.

Every case records its median under its group; a group's baseline is named in
BASELINES, and the summary at the end prints each median as a ratio to the
baseline of the same group measured in the same run. Timing is off by
default (``--benchmark-disable`` in pyproject addopts: ``make test`` runs each
case once as a smoke test); ``make bench`` turns it on.
"""

from __future__ import annotations

import platform
import time

import pytest

# group -> name of the case every other case of the group is divided by
BASELINES = {
    "hook-process": "python -c pass",
    "append": "floor: os.write of a prebuilt line",
    "growth-rust": "append_event @ 10 prior events",
    "growth-python": "append_event @ 10 prior events",
    "redact": "baseline: rust encode of the 10 KB text",
    "redact-first": "python -c pass",
    "nova-scan": "rust NovaRules.scan, per event",
}


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
    if not benchmark.disabled and benchmark.stats is not None:
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


def pytest_terminal_summary(terminalreporter):
    if not _medians:
        return
    write = terminalreporter.write_line
    write("")
    write("nova_session benchmarks: medians, and ratios to each group's baseline from this same run")
    write(
        "machine: %s, %s, Python %s; %s"
        % (
            platform.node(),
            platform.machine(),
            platform.python_version(),
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )
    )
    for group, medians in _medians.items():
        baseline = BASELINES.get(group)
        base = medians.get(baseline)
        write("")
        write("[%s] baseline: %s" % (group, baseline))
        for text in _notes.get(group, []):
            write("  (%s)" % text)
        for label, median in medians.items():
            ratio = "%6.2fx" % (median / base) if base else "   n/a "
            write("  %-44s %10.1f us  %s" % (label, median * 1e6, ratio))
