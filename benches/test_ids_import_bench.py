"""Session ids per backend, and what ``import nova_session`` costs a fresh process.

The import cost is read from ``python -X importtime`` (the cumulative time of
the ``nova_session`` line, median of several fresh processes), per backend,
with nova_session's bytecode precompiled as a pip-installed wheel has it.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys

import pytest

import nova_session

from .conftest import kernels, note


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_generate_session_id(measure, backend):
    kernel = kernels()[backend]
    measure.group, measure.extra_info["label"] = "session-id", "generate_session_id, %s" % backend
    note("session-id", "absolute times; the target for Rust is 2 us")
    session_id = measure(kernel.generate_session_id)
    assert len(session_id) == 26


def import_microseconds(backend: str) -> int:
    env = dict(os.environ, NOVA_SESSION_BACKEND=backend)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import nova_session"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = [row for row in done.stderr.splitlines() if row.rstrip().endswith("| nova_session")][-1]
    return int(line.split("|")[1])


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_import_cost(backend):
    compileall.compile_dir(os.path.dirname(nova_session.__file__), quiet=1)
    samples = [import_microseconds(backend) for _ in range(9)]
    assert all(sample > 0 for sample in samples)
    note(
        "session-id",
        "import nova_session, %s backend: %d us (median of 9 fresh processes, -X importtime,"
        " bytecode cached)" % (backend, statistics.median(samples)),
    )
