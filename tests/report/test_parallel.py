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


def test_packing_joins_deflates_and_encodes_lines_as_they_come(monkeypatch):
    monkeypatch.setattr(parallel.Packing, "BATCH", 1000)  # many batches handed to the thread
    lines = [b"record %d \xc3\xa9" % number for number in range(10_000)]
    packing = parallel.Packing()
    for line in lines:
        packing.add(line)
    assert packing.count == len(lines)
    assert zlib.decompress(base64.b64decode(packing.result())) == b"\n".join(lines)
    assert not packing.is_alive() and packing.result() == packing.result()
    assert zlib.decompress(base64.b64decode(parallel.Packing([b"one"]).result())) == b"one"
    assert zlib.decompress(base64.b64decode(parallel.Packing().result())) == b""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is what this tests; elsewhere the work is done in line")
def test_aside_returns_the_childs_result():
    parent = os.getpid()
    aside = parallel.Aside(lambda: {"pid": os.getpid(), "data": list(range(100_000))})
    assert aside.forked  # a child was forked (no other thread was running)
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
        assert aside.forked is None and aside.result() == os.getpid()
    finally:
        stop.set()
        other.join()


def test_in_child_returns_the_result_and_raises_the_exception():
    result = parallel.in_child(lambda: ("path", os.getpid()))
    assert result[0] == "path" and result[1] != os.getpid()  # made by a child

    def fails():
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as raised:
        parallel.in_child(fails)
    assert raised.value.errno == 28

    class Unpicklable(Exception):
        def __reduce__(self):
            raise TypeError("not this one")

    def fails_oddly():
        raise Unpicklable("odd")

    with pytest.raises((RuntimeError, Unpicklable), match="odd"):
        parallel.in_child(fails_oddly)


def test_keep_holds_values_only_in_a_forked_child():
    value = object()
    assert parallel.keep(value) is value and parallel._KEPT is None  # here: nothing held
    if hasattr(os, "fork"):
        assert parallel.in_child(lambda: parallel.keep([1]) == [1] and len(parallel._KEPT) == 1)


def test_children_are_waited_for():
    for _ in range(3):
        parallel.in_child(lambda: 1)
    assert len(parallel._LEAVING) <= 3  # left without being waited for: reaped at the next call
    parallel._reap(block=True)
    assert parallel._LEAVING == []


def test_a_child_that_dies_is_logged_and_the_work_done_here(caplog):
    parent = os.getpid()

    def work():
        if os.getpid() != parent:
            os._exit(3)  # killed before it could answer
        return "written here"

    with caplog.at_level(logging.WARNING, logger="nova_session"):
        assert parallel.in_child(work) == "written here"
    assert "writing it here" in caplog.text or not hasattr(os, "fork")
