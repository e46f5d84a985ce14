"""Concurrent appends to one session (README, "Records").

Many writers at once, processes and threads, one kernel or both kernels on
the same file: every accepted event is one whole line, and the assigned ids
are exactly 1..N in file order, with no gap and no duplicate.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

import nova_session

from support import run_together

PROCESSES = 8
THREADS = 8
PER_WRITER = 200

# Each child imports nova_session, says it is ready, waits for the start signal
# (so that all writers overlap), appends, then prints its backend and successes.
CHILD = r"""
import os, sys, time
import nova_session
project, sid, count, tag, ready, go = sys.argv[1:7]
open(ready, "w").close()
deadline = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.0005)
ok = 0
for i in range(int(count)):
    ok += nova_session.append_event(sid, {"tag": tag, "i": i, "pad": "x" * (i % 97)}, project) is True
print(nova_session.BACKEND, ok)
"""


def backend_name(kernel) -> str:
    return kernel.__name__.rsplit("._", 1)[1]


def check_session(path: Path, writers: list, per_writer: int) -> None:
    """One init line, then exactly ids 1..N in file order, each line whole and valid JSON."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), "torn last line"
    lines = data.split(b"\n")[:-1]
    records = []
    for number, line in enumerate(lines):
        try:
            records.append(json.loads(line.decode("utf-8")))
        except ValueError:  # pragma: no cover - the failure message is the point
            pytest.fail("line %d is not one valid JSON record: %r" % (number, line[:200]))
    assert records[0]["type"] == "init"
    events = records[1:]
    total = len(writers) * per_writer
    assert len(events) == total
    assert [event["id"] for event in events] == list(range(1, total + 1))
    assert all(list(event)[:2] == ["type", "id"] and event["type"] == "event" for event in events)
    assert sorted((event["tag"], event["i"]) for event in events) == sorted(
        (tag, i) for tag in writers for i in range(per_writer)
    )
    for event in events:
        assert event["pad"] == "x" * (event["i"] % 97)
    # Each writer's own events stay in the order it appended them.
    for tag in writers:
        mine = [event["i"] for event in events if event["tag"] == tag]
        assert mine == list(range(per_writer))


def run_processes(tmp_path: Path, backends: list) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    sid = nova_session.generate_session_id()
    path = nova_session.init_session_file(sid, project)
    assert path is not None
    run_together(
        tmp_path,
        [
            (str(number), backend, [CHILD, str(project), sid, str(PER_WRITER), "w%d" % number])
            for number, backend in enumerate(backends)
        ],
        PER_WRITER,
    )
    check_session(path, ["w%d" % n for n in range(len(backends))], PER_WRITER)
    return path


def test_processes_one_kernel(kernel, tmp_path):
    run_processes(tmp_path, [backend_name(kernel)] * PROCESSES)


@pytest.mark.parametrize("mix", ["python-rust"])  # (deselected by --no-rust)
def test_processes_rust_and_python_kernels_share_one_file(tmp_path, mix):
    run_processes(tmp_path, ["rust", "python"] * (PROCESSES // 2))


def test_threads_in_one_process(api, project):
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    assert path is not None
    barrier = threading.Barrier(THREADS)
    results = {}

    def writer(tag: str) -> None:
        barrier.wait()
        results[tag] = [
            api.append_event(sid, {"tag": tag, "i": i, "pad": "x" * (i % 97)}, project) for i in range(PER_WRITER)
        ]

    tags = ["t%d" % n for n in range(THREADS)]
    threads = [threading.Thread(target=writer, args=(tag,)) for tag in tags]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(results[tag] == [True] * PER_WRITER for tag in tags)
    check_session(path, tags, PER_WRITER)


# The id carries "-rust" so that `--no-rust` deselects the tests that need the compiled kernel.
@pytest.mark.parametrize("mix", ["python-rust"])
def test_threads_mixing_both_kernels_in_one_process(project, mix):
    """Rust and Python kernels appending from threads of one process (the flock is shared)."""
    from nova_session import _python, _rust

    sid = nova_session.generate_session_id()
    path = nova_session.init_session_file(sid, project)
    assert path is not None
    barrier = threading.Barrier(4)
    errors = []

    def writer(kernel, tag: str) -> None:
        barrier.wait()
        try:
            for i in range(PER_WRITER):
                assert kernel.append_records(str(path), [{"tag": tag, "i": i, "pad": "x" * (i % 97)}], False) == 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    kernels = [(_rust, "r0"), (_python, "p0"), (_rust, "r1"), (_python, "p1")]
    threads = [threading.Thread(target=writer, args=pair) for pair in kernels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    check_session(path, [tag for _, tag in kernels], PER_WRITER)


def test_finalize_while_threads_append(api, project):
    """The end record counts exactly the records before it, under the same lock as the appends."""
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    assert path is not None
    writers, per_writer = 4, 150
    barrier = threading.Barrier(writers + 1)
    results = []

    def writer(tag: str) -> None:
        barrier.wait()
        results.append(all(api.append_event(sid, {"tag": tag, "i": i}, project) for i in range(per_writer)))

    def finisher() -> None:
        barrier.wait()
        deadline = time.monotonic() + 10
        while path.stat().st_size < 10_000 and time.monotonic() < deadline:  # finalize mid-way
            time.sleep(0.0002)
        results.append(api.finalize_session(sid, project, reason="mid") == path)

    threads = [threading.Thread(target=writer, args=("t%d" % n,)) for n in range(writers)]
    threads.append(threading.Thread(target=finisher))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [True] * (writers + 1)
    records = [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]
    types = [record["type"] for record in records]
    assert types.count("end") == 1
    end_at = types.index("end")
    assert records[end_at]["event_count"] == end_at - 1
    ids = [record["id"] for record in records if record["type"] == "event"]
    assert ids == list(range(1, writers * per_writer + 1))


def test_one_init_wins_among_racing_threads(api, project):
    sid = api.generate_session_id()
    barrier = threading.Barrier(THREADS)
    results = []

    def racer(n: int) -> None:
        barrier.wait()
        results.append(api.init_session_file(sid, project, racer=n))

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    winners = [result for result in results if result is not None]
    assert len(results) == THREADS
    assert len(winners) == 1
    data = winners[0].read_bytes()
    assert data.count(b"\n") == 1 and json.loads(data)["type"] == "init"
    assert [entry.name for entry in winners[0].parent.iterdir()] == [sid + ".jsonl"]


def test_readers_never_see_a_partial_record(api, project):
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    assert path is not None
    stop = threading.Event()
    problems = []
    reads = []

    def reader() -> None:
        while not stop.is_set():
            events = api.read_session_events(sid, project)
            ids = [event["id"] for event in events[1:]]
            reads.append(len(ids))
            if events[0]["type"] != "init" or ids != list(range(1, len(ids) + 1)):
                problems.append(ids)
            if any(event.get("blob") not in (None, "z" * 5000) for event in events):
                problems.append("partial blob")

    def writer(tag: str) -> None:
        for i in range(100):
            assert api.append_event(sid, {"tag": tag, "i": i, "blob": "z" * 5000}, project)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=("w%d" % n,)) for n in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    stop.set()
    for thread in readers:
        thread.join(60)
    assert problems == []
    assert reads and max(reads) <= 400
    assert len(api.read_session_events(sid, project)) == 401
