"""report.parallel: work done aside (a thread, a forked process) gives what the same work
done in line gives, and falls back to doing it in line when the child fails."""

from __future__ import annotations

import base64
import logging
import os
import threading
import zlib

import pytest

from nova_session.report import parallel


def test_packing_deflates_and_encodes():
    data = b"record line\n" * 10_000
    assert zlib.decompress(base64.b64decode(parallel.Packing(data).result())) == data


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is what this tests; elsewhere the work is done in line")
def test_aside_returns_the_childs_result():
    parent = os.getpid()
    aside = parallel.Aside(lambda: {"pid": os.getpid(), "data": list(range(100_000))})
    assert aside.pid  # a child was forked (no other thread was running)
    result = aside.result()
    assert result["data"] == list(range(100_000)) and result["pid"] != parent


def test_a_failing_child_is_logged_and_the_work_done_here(caplog):
    calls = []

    def work():
        calls.append(os.getpid())
        if len(calls) == 1 and os.getpid() != parent:
            raise RuntimeError("the child fails")
        return "drawn"

    parent = os.getpid()
    with caplog.at_level(logging.WARNING, logger="nova_session"):
        assert parallel.Aside(work).result() == "drawn"
    if hasattr(os, "fork"):
        assert "drawing them here" in caplog.text
    assert calls[-1] == parent


def test_no_fork_while_another_thread_runs():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        aside = parallel.Aside(lambda: os.getpid())
        assert aside.pid == 0 and aside.result() == os.getpid()
    finally:
        stop.set()
        other.join()
