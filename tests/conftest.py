"""Fixtures shared by the conformance suite: every kernel-dependent test runs
once per backend (ids ``rust`` and ``python``) in one pytest process.

The ``rust`` param never skips: if the compiled kernel is missing the test
fails. On a machine without the extension, pass ``--no-rust`` to deselect
those tests explicitly.
"""

from __future__ import annotations

import pytest

import nova_session
from nova_session import _python, sessions

BACKENDS = ("rust", "python")


def load_kernel(name: str):
    if name == "python":
        return _python
    try:
        from nova_session import _rust
    except ImportError as exc:  # pragma: no cover - only on a broken build
        pytest.fail("the Rust kernel nova_session._rust did not load (%s); run `make build`" % exc)
    return _rust


def pytest_addoption(parser):
    parser.addoption("--no-rust", action="store_true", help="deselect the tests of the Rust kernel")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--no-rust"):
        return
    kept = [item for item in items if "[rust" not in item.nodeid and "-rust" not in item.nodeid]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_report_header(config):
    try:
        from nova_session import _rust

        rust = "rust (%s)" % _rust.__file__
    except ImportError:
        rust = "rust MISSING"
    return "nova_session kernels under test: %s, python; default BACKEND=%s" % (rust, nova_session.BACKEND)


@pytest.fixture(params=BACKENDS)
def kernel(request):
    """The kernel module of one backend."""
    return load_kernel(request.param)


@pytest.fixture(scope="module", params=["rust"])
def rust(request):
    """The Rust kernel, for tests that compare it with the Python one (id ``rust``)."""
    return load_kernel(request.param)


@pytest.fixture
def api(kernel, monkeypatch):
    """The public nova_session API running on ``kernel``, with an empty registry."""
    monkeypatch.setattr(sessions, "kernel", kernel)
    monkeypatch.setattr(sessions, "_registry", {})
    return nova_session


@pytest.fixture
def project(tmp_path):
    """An empty project directory."""
    path = tmp_path / "project"
    path.mkdir()
    return path


def pytest_terminal_summary(terminalreporter):
    """Say how many tests ran on each backend, so a run shows both were exercised."""
    counts = {name: {"passed": 0, "failed": 0} for name in BACKENDS}
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if report.when != "call" and outcome == "passed":
                continue
            for name in BACKENDS:
                if "[%s" % name in report.nodeid or "-%s" % name in report.nodeid:
                    counts[name][outcome] += 1
                    break
    line = "; ".join("%s backend: %d passed, %d failed" % (n, c["passed"], c["failed"]) for n, c in counts.items())
    terminalreporter.write_line("nova_session conformance by backend -- " + line)
