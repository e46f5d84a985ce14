"""The buffered writer, ``SessionWriter`` (README, "Buffered writing: `SessionWriter`" and "Records").

Every public-API test runs once per backend through the ``api`` fixture; the
kernel tests use the ``kernel`` fixture. Covered:

- thresholds: ``max_events``, ``max_bytes``, ``max_delay`` (checked by the next
  append only: there is no background thread), ``flush()``, ``close()``, the
  context manager (also when its block raises);
- ids assigned at flush time, interleaving with plain ``append_event`` calls;
  the bytes written are those ``append_event`` writes for the same dict; an
  event is captured at ``append`` time;
- flush at interpreter exit, and what a SIGKILL loses (child processes);
- several processes (both kernels, buffered and plain) and threads on one file;
- fail-open: bad constructor arguments, bad events, a flush that fails and
  keeps its events;
- the kernels' ``Writer`` classes: same signature and docstrings, TypeError
  for a non-dict.

Every record after the init record ends with the chain's ``prev`` (README,
"The hash chain"): ``records`` checks each link of every file read whole, and
the exact-bytes assertions spell the links out (``linked``).
"""

from __future__ import annotations

import collections
import hashlib
import inspect
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import pytest

import nova_session

from support import chained_records, child_env, fails_open, nova_warnings, run_together, unchained

LONG = 3600.0  # a max_delay that never triggers during a test


# ------------------------------------------------------------------ helpers


def backend_name(kernel) -> str:
    return kernel.__name__.rsplit("._", 1)[1]


def new_session(api, project) -> tuple:
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    assert path is not None and path.is_file()
    return sid, path


def records(path: Path) -> list:
    """Every line of the file as a dict, without its ``prev``; the file must end with a
    newline (no torn line) and every record after the init one must link to the line
    before it."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), "torn last line: %r" % data[-80:]
    for number, line in enumerate(data.split(b"\n")[:-1]):
        try:
            json.loads(line.decode("utf-8"))
        except ValueError:  # pragma: no cover - the message is the point
            pytest.fail("line %d is not one valid JSON record: %r" % (number, line[:200]))
    return chained_records(data)


def events(path: Path) -> list:
    """The records after the init line."""
    found = records(path)
    assert found[0]["type"] == "init"
    return found[1:]


def event_lines(path: Path) -> list:
    """The raw bytes of every line after the init line."""
    return path.read_bytes().split(b"\n")[1:-1]


def init_line(path: Path) -> bytes:
    """The first line of a session file, without its newline."""
    return path.read_bytes().split(b"\n", 1)[0]


def linked(previous: bytes, bodies: list) -> list:
    """The exact lines the library writes for ``bodies`` (records without ``prev``)
    after the line ``previous``: each ends with ``"prev":"sha256:<hex>"``, the digest
    of the line before it without its newline."""
    lines = []
    for body in bodies:
        assert body.endswith(b"}")
        line = body[:-1] + b',"prev":"sha256:%s"}' % hashlib.sha256(previous).hexdigest().encode("ascii")
        lines.append(line)
        previous = line
    return lines


def quietly(caplog, capsys, call):
    """Run call: it must log no warning and print nothing on stdout."""
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = call()
    out = capsys.readouterr().out
    assert out == ""
    assert [w.getMessage() for w in nova_warnings(caplog)] == []
    return result


def pending(writer) -> int:
    """Events held by a SessionWriter (the public class has no pending(); its kernel writer has)."""
    return writer._kernel_writer.pending()


# --------------------------------------------------------------- thresholds


def test_max_events_nth_append_writes_the_batch(api, project):
    sid, path = new_session(api, project)
    before = path.read_bytes()
    writer = api.SessionWriter(sid, project, max_events=4, max_delay=LONG)
    try:
        for i in range(3):
            assert writer.append({"i": i}) is True
            assert path.read_bytes() == before, "written before max_events was reached"
            assert pending(writer) == i + 1
        assert writer.append({"i": 3}) is True
        assert [(e["id"], e["i"]) for e in events(path)] == [(1, 0), (2, 1), (3, 2), (4, 3)]
        assert pending(writer) == 0
        # the next batch starts empty and continues the ids
        middle = path.read_bytes()
        for i in range(4, 7):
            assert writer.append({"i": i}) is True
            assert path.read_bytes() == middle
        assert writer.append({"i": 7}) is True
        assert [(e["id"], e["i"]) for e in events(path)] == [(n + 1, n) for n in range(8)]
    finally:
        writer.close()
    assert len(events(path)) == 8


def test_max_events_one_writes_every_append(api, project):
    sid, path = new_session(api, project)
    with api.SessionWriter(sid, project, max_events=1, max_delay=LONG) as writer:
        for i in range(3):
            assert writer.append({"i": i}) is True
            assert [e["id"] for e in events(path)] == list(range(1, i + 2))


def test_max_bytes_triggers_on_size(api, project):
    # Each of these records is about 100 bytes: two stay below 250, the third crosses it.
    sid, path = new_session(api, project)
    before = path.read_bytes()
    writer = api.SessionWriter(sid, project, max_events=1000, max_bytes=250, max_delay=LONG)
    try:
        assert writer.append({"pad": "a" * 70}) is True
        assert writer.append({"pad": "b" * 70}) is True
        assert path.read_bytes() == before, "written before max_bytes was reached"
        assert writer.append({"pad": "c" * 70}) is True
        assert [(e["id"], e["pad"][0]) for e in events(path)] == [(1, "a"), (2, "b"), (3, "c")]
        assert pending(writer) == 0
        # one event bigger than max_bytes is written at once, alone
        assert writer.append({"pad": "d" * 1000}) is True
        assert [(e["id"], e["pad"][0]) for e in events(path)][-1] == (4, "d")
        assert pending(writer) == 0
        # and a small one is held again
        middle = path.read_bytes()
        assert writer.append({"small": 1}) is True
        assert path.read_bytes() == middle
    finally:
        writer.close()
    assert [e["id"] for e in events(path)] == [1, 2, 3, 4, 5]


def test_max_delay_next_append_flushes_and_there_is_no_background_thread(api, project):
    sid, path = new_session(api, project)
    before = path.read_bytes()
    threads_before = threading.active_count()
    writer = api.SessionWriter(sid, project, max_events=1000, max_delay=0.05)
    try:
        assert threading.active_count() == threads_before
        assert writer.append({"n": "first"}) is True
        assert path.read_bytes() == before
        time.sleep(0.1)
        # Nobody appended: nothing flushes by itself.
        assert path.read_bytes() == before, "written without an append: a background flush?"
        assert pending(writer) == 1
        # The next append finds the oldest held event older than max_delay: both are written.
        assert writer.append({"n": "second"}) is True
        assert [(e["id"], e["n"]) for e in events(path)] == [(1, "first"), (2, "second")]
        assert pending(writer) == 0
        # A fresh buffer: its first event is young, so it is held.
        middle = path.read_bytes()
        assert writer.append({"n": "third"}) is True
        assert path.read_bytes() == middle
        assert pending(writer) == 1
    finally:
        writer.close()
    assert [e["n"] for e in events(path)] == ["first", "second", "third"]


def test_flush_returns_number_written_and_zero_when_empty(api, project):
    sid, path = new_session(api, project)
    writer = api.SessionWriter(sid, project, max_events=100, max_delay=LONG)
    try:
        assert writer.flush() == 0
        assert len(records(path)) == 1
        for i in range(3):
            assert writer.append({"i": i}) is True
        assert writer.flush() == 3
        assert [e["id"] for e in events(path)] == [1, 2, 3]
        assert writer.flush() == 0
        assert writer.append({"i": 3}) is True
        assert writer.flush() == 1
        assert [e["id"] for e in events(path)] == [1, 2, 3, 4]
    finally:
        writer.close()


def test_close_flushes_then_refuses_appends(api, project, caplog, capsys):
    sid, path = new_session(api, project)
    writer = api.SessionWriter(sid, project, max_events=100, max_delay=LONG)
    assert writer.append({"i": 0}) is True
    assert writer.append({"i": 1}) is True
    assert len(records(path)) == 1
    assert quietly(caplog, capsys, writer.close) is None
    assert [(e["id"], e["i"]) for e in events(path)] == [(1, 0), (2, 1)]
    after = path.read_bytes()
    assert fails_open(caplog, capsys, lambda: writer.append({"i": 2})) is False
    assert fails_open(caplog, capsys, lambda: writer.append({"i": 3})) is False
    assert writer.flush() == 0
    writer.close()  # idempotent, never raises
    assert path.read_bytes() == after


def test_context_manager_flushes_on_exit(api, project):
    sid, path = new_session(api, project)
    with api.SessionWriter(sid, project, max_events=100, max_delay=LONG) as writer:
        assert isinstance(writer, api.SessionWriter)
        for i in range(3):
            assert writer.append({"i": i}) is True
        assert len(records(path)) == 1
    assert [(e["id"], e["i"]) for e in events(path)] == [(1, 0), (2, 1), (3, 2)]
    assert writer.append({"i": 3}) is False  # closed


def test_context_manager_flushes_when_the_block_raises(api, project):
    sid, path = new_session(api, project)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):  # the exception is not swallowed
        with api.SessionWriter(sid, project, max_events=100, max_delay=LONG) as writer:
            assert writer.append({"i": 0}) is True
            assert writer.append({"i": 1}) is True
            raise Boom()
    assert [(e["id"], e["i"]) for e in events(path)] == [(1, 0), (2, 1)]
    assert writer.append({"i": 2}) is False


# ------------------------------------------------------------ ids and bytes


def test_ids_are_assigned_at_flush_after_plain_appends(api, project):
    sid, path = new_session(api, project)
    writer = api.SessionWriter(sid, project, max_events=100, max_delay=LONG)
    try:
        for i in range(3):
            assert writer.append({"buffered": i}) is True
        assert api.append_event(sid, {"plain": 0}, project) is True
        assert [(e["id"], e.get("plain")) for e in events(path)] == [(1, 0)]
        assert writer.flush() == 3
        assert [(e["id"], e.get("buffered")) for e in events(path)] == [(1, None), (2, 0), (3, 1), (4, 2)]
        assert api.append_event(sid, {"plain": 1}, project) is True
        assert writer.append({"buffered": 3}) is True
        assert api.append_event(sid, {"plain": 2}, project) is True
    finally:
        writer.close()
    assert [e["id"] for e in events(path)] == [1, 2, 3, 4, 5, 6, 7]
    assert [list(e)[1:] for e in events(path)][-3:] == [["id", "plain"], ["id", "plain"], ["id", "buffered"]]
    # The raw records carry the chain's prev, always last (events() checked and removed it).
    raw = [json.loads(line) for line in event_lines(path)]
    assert [list(e)[1:] for e in raw][-3:] == [
        ["id", "plain", "prev"],
        ["id", "plain", "prev"],
        ["id", "buffered", "prev"],
    ]
    assert [e.get("plain", e.get("buffered")) for e in events(path)][-3:] == [1, 2, 3]


def sample_events() -> list:
    return [
        {"tool_name": "Bash", "tool_input": {"command": "ls -la"}, "n": 1},
        {"z": 1, "id": 42, "a": 2},  # caller-given integer id: written as given, numbering follows it
        {"x": 1},
        {"prompt": 'h\u00e9llo \u2713 \n\t"q" \\ \x01', "type": "user_prompt", "id": "custom"},
        {"a": 1, "type": "tool", "b": 2},  # type first, id second, then a, b
        {"b": 2.5, "a": [1, (2, 3)], 1: "int key", None: float("nan"), "p": PurePosixPath("/x/y"), "f": 1e16},
        {"id": 7},  # back to 7: the next assigned id is 8
        {"nested": {"deep": [{"k": None}, True, False]}, "empty": [], "obj": {}},
        {},
    ]


def test_buffered_bytes_equal_append_event_bytes(api, project):
    plain_sid, plain_path = new_session(api, project)
    buffered_sid, buffered_path = new_session(api, project)
    for event in sample_events():
        assert api.append_event(plain_sid, event, project) is True
    with api.SessionWriter(buffered_sid, project, max_events=3, max_delay=LONG) as writer:
        for event in sample_events():
            assert writer.append(event) is True
    plain_lines = event_lines(plain_path)
    assert len(plain_lines) == len(sample_events())
    # The two files have different init lines (their session ids), so their links differ
    # from the first on: the records are the same bytes, each chained in its own file.
    expected = [unchained(line) for line in plain_lines]
    assert plain_lines == linked(init_line(plain_path), expected)
    assert event_lines(buffered_path) == linked(init_line(buffered_path), expected)
    # and these are the bytes section 4 asks for
    assert expected[0] == b'{"type":"event","id":1,"tool_name":"Bash","tool_input":{"command":"ls -la"},"n":1}'
    assert expected[1] == b'{"type":"event","id":42,"z":1,"a":2}'
    assert expected[4] == b'{"type":"tool","id":44,"a":1,"b":2}'
    written = events(buffered_path)
    assert [e["id"] for e in written] == [1, 42, 43, "custom", 44, 45, 7, 8, 9]
    assert [e["type"] for e in written] == ["event"] * 3 + ["user_prompt", "tool"] + ["event"] * 4
    assert all(list(e)[:2] == ["type", "id"] for e in written)
    assert list(written[5]) == ["type", "id", "b", "a", "1", "null", "p", "f"]
    assert written[5]["null"] is None and written[5]["p"] == "/x/y"


def test_event_is_captured_at_append_time(api, project):
    sid, path = new_session(api, project)
    event = {"n": 1, "items": [1], "inner": {"k": "v"}}
    with api.SessionWriter(sid, project, max_events=100, max_delay=LONG) as writer:
        assert writer.append(event) is True
        event["n"] = 2
        event["items"].append(2)
        event["inner"]["k"] = "changed"
        event["added"] = True
        event["type"] = "mutated"
        del event["items"]
    assert event_lines(path) == linked(
        init_line(path), [b'{"type":"event","id":1,"n":1,"items":[1],"inner":{"k":"v"}}']
    )


# ------------------------------------------------------- interpreter exit


EXIT_CHILD = r"""
import gc, sys
import nova_session
project, sid, path, backend, how = sys.argv[1:6]
assert nova_session.BACKEND == backend, nova_session.BACKEND

def fill(writer):
    for i in range(5):
        assert writer.append({"i": i}) is True
    with open(path, "rb") as handle:
        assert handle.read().count(b"\n") == 1, "flushed early"

if how == "dropped":
    def scope():
        writer = nova_session.SessionWriter(sid, project, max_events=1000, max_delay=3600)
        fill(writer)
    scope()  # the writer goes out of scope, never closed
    gc.collect()
else:
    writer = nova_session.SessionWriter(sid, project, max_events=1000, max_delay=3600)
    fill(writer)
    if how == "sys.exit":
        sys.exit(3)
    if how == "exception":
        raise SystemError("uncaught on purpose")
"""


def run_exit_child(backend: str, project: Path, sid: str, path: Path, how: str):
    return subprocess.run(
        [sys.executable, "-c", EXIT_CHILD, str(project), sid, str(path), backend, how],
        env=child_env(backend),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("how", "code"), [("end", 0), ("sys.exit", 3), ("exception", 1)])
def test_unclosed_writer_is_flushed_at_interpreter_exit(api, kernel, project, how, code):
    sid, path = new_session(api, project)
    done = run_exit_child(backend_name(kernel), project, sid, path, how)
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    if how != "exception":
        assert done.stderr == ""
    assert [(e["id"], e["i"]) for e in events(path)] == [(n + 1, n) for n in range(5)]


def test_writer_dropped_without_close_still_writes_its_events(api, kernel, project):
    """README, "Buffered writing: `SessionWriter`", and writer.py: accepted events
    are lost *only* if the process is killed (SIGKILL) or the machine stops. A
    writer that goes out of scope unclosed in a process that then exits normally
    must not lose them either."""
    sid, path = new_session(api, project)
    done = run_exit_child(backend_name(kernel), project, sid, path, "dropped")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert [(e["id"], e["i"]) for e in events(path)] == [(n + 1, n) for n in range(5)]


KILLED_CHILD = r"""
import os, signal, sys
import nova_session
project, sid, path, backend = sys.argv[1:5]
assert nova_session.BACKEND == backend, nova_session.BACKEND
writer = nova_session.SessionWriter(sid, project, max_events=10, max_delay=3600)
for i in range(25):
    assert writer.append({"i": i}) is True
with open(path, "rb") as handle:
    assert handle.read().count(b"\n") == 21  # init + two batches of 10; 5 held
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_sigkill_loses_only_unflushed_events_and_leaves_no_partial_line(api, kernel, project):
    """The documented trade-off (README, "Buffered writing: `SessionWriter`";
    writer.py): a SIGKILL gives the process no chance to flush, so the events
    held in memory (here the last 5 of 25, with max_events=10) are lost.
    Everything flushed before stays, whole: the
    file ends with a newline, ids are 1..20, and the next append continues at 21.
    Use ``append_event`` where each event must be on disk when the call returns."""
    backend = backend_name(kernel)
    sid, path = new_session(api, project)
    done = subprocess.run(
        [sys.executable, "-c", KILLED_CHILD, str(project), sid, str(path), backend],
        env=child_env(backend),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert [(e["id"], e["i"]) for e in events(path)] == [(n + 1, n) for n in range(20)]
    assert path.read_bytes().endswith(b"\n")
    assert api.append_event(sid, {"after": "kill"}, project) is True
    with api.SessionWriter(sid, project, max_events=100, max_delay=LONG) as writer:
        assert writer.append({"after": "kill, buffered"}) is True
    assert [(e["id"], e.get("after")) for e in events(path)][-2:] == [(21, "kill"), (22, "kill, buffered")]


# -------------------------------------------------- processes and threads


MIXED_CHILD = r"""
import os, sys, time
import nova_session
project, sid, count, tag, mode, backend, ready, go = sys.argv[1:9]
assert nova_session.BACKEND == backend, nova_session.BACKEND
open(ready, "w").close()
deadline = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.0005)
ok = 0
if mode == "buffered":
    with nova_session.SessionWriter(sid, project, max_events=7, max_delay=3600) as writer:
        for i in range(int(count)):
            ok += writer.append({"tag": tag, "i": i, "pad": "x" * (i % 53)}) is True
else:
    for i in range(int(count)):
        ok += nova_session.append_event(sid, {"tag": tag, "i": i, "pad": "x" * (i % 53)}, project) is True
print(backend, ok)
"""


@pytest.mark.parametrize("mix", ["python-rust"])  # the id lets --no-rust deselect it
def test_buffered_and_plain_processes_of_both_kernels_share_one_file(tmp_path, mix):
    per_child = 100
    project = tmp_path / "project"
    project.mkdir()
    sid = nova_session.generate_session_id()
    path = nova_session.init_session_file(sid, project)
    assert path is not None
    plan = []  # (tag, mode, backend): 4 buffered + 4 plain, each half rust, half python
    for number in range(8):
        mode = "buffered" if number < 4 else "plain"
        backend = "rust" if number % 2 == 0 else "python"
        plan.append(("%s%d" % (mode[0], number), mode, backend))
    run_together(
        tmp_path,
        [
            (tag, backend, [MIXED_CHILD, str(project), sid, str(per_child), tag, mode, backend])
            for tag, mode, backend in plan
        ],
        per_child,
    )

    written = events(path)  # every line valid JSON, no torn tail
    total = 8 * per_child
    assert [e["id"] for e in written] == list(range(1, total + 1))
    assert all(list(e)[:2] == ["type", "id"] and e["type"] == "event" for e in written)
    for tag, mode, _ in plan:
        mine = [e for e in written if e["tag"] == tag]
        assert [e["i"] for e in mine] == list(range(per_child))
        assert all(e["pad"] == "x" * (e["i"] % 53) for e in mine)
        if mode == "buffered":
            # Each batch of 7 (and the last 2, written by close) is one locked write: consecutive ids.
            for start in range(0, per_child, 7):
                ids = [e["id"] for e in mine[start : start + 7]]
                assert ids == list(range(ids[0], ids[0] + len(ids))), (tag, start, ids)


def test_threads_share_one_writer(api, project):
    threads_count, per_thread, batch = 8, 200, 16
    sid, path = new_session(api, project)
    writer = api.SessionWriter(sid, project, max_events=batch, max_delay=LONG)
    barrier = threading.Barrier(threads_count)
    results = {}

    def work(tag: str) -> None:
        barrier.wait()
        results[tag] = [writer.append({"tag": tag, "i": i}) for i in range(per_thread)]

    tags = ["t%d" % n for n in range(threads_count)]
    threads = [threading.Thread(target=work, args=(tag,)) for tag in tags]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert all(results[tag] == [True] * per_thread for tag in tags)
        # 1600 is a multiple of 16: every event was written by a max_events flush already.
        assert pending(writer) == 0
        assert writer.flush() == 0
    finally:
        writer.close()
    written = events(path)
    total = threads_count * per_thread
    assert [e["id"] for e in written] == list(range(1, total + 1))
    for tag in tags:
        assert [e["i"] for e in written if e["tag"] == tag] == list(range(per_thread))


# ---------------------------------------------------------------- fail-open


def _bad_id(api, project, tmp_path):
    return "not-a-session-id", project, None


def _int_id(api, project, tmp_path):
    return 12345, project, None


def _none_id(api, project, tmp_path):
    return None, project, None


def _id_with_newline(api, project, tmp_path):
    sid, _ = new_session(api, project)
    return sid + "\n", project, None


def _traversal_id(api, project, tmp_path):
    return "../../../../../../tmp/x", project, None


def _missing_project(api, project, tmp_path):
    missing = tmp_path / "missing"
    return api.generate_session_id(), missing, missing


def _project_is_a_file(api, project, tmp_path):
    afile = tmp_path / "a-file"
    afile.write_text("x")
    return api.generate_session_id(), afile, None


def _none_project(api, project, tmp_path):
    sid, _ = new_session(api, project)
    return sid, None, None


def _no_session_file(api, project, tmp_path):
    new_session(api, project)  # the layout exists, this session's file does not
    sid = api.generate_session_id()
    return sid, project, project / ".nova-protector" / "sessions" / (sid + ".jsonl")


def _session_file_is_a_symlink(api, project, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    sid, target = new_session(api, other)
    api.get_session_paths(project)
    (project / ".nova-protector" / "sessions" / (sid + ".jsonl")).symlink_to(target)
    return sid, project, None


BAD_SESSIONS = [
    _bad_id,
    _int_id,
    _none_id,
    _id_with_newline,
    _traversal_id,
    _missing_project,
    _project_is_a_file,
    _none_project,
    _no_session_file,
    _session_file_is_a_symlink,
]


def tree(root: Path) -> dict:
    """Every path under root with its bytes (files) or None (directories, links)."""
    found = {}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    return found


@pytest.mark.parametrize("case", BAD_SESSIONS, ids=[case.__name__.strip("_") for case in BAD_SESSIONS])
def test_constructor_refusal_fails_open(api, project, tmp_path, caplog, capsys, case):
    session_id, project_dir, must_not_exist = case(api, project, tmp_path)
    before = tree(tmp_path)
    writer = fails_open(caplog, capsys, lambda: api.SessionWriter(session_id, project_dir))
    for event in ({"n": 1}, {"n": 2}, {}):
        assert fails_open(caplog, capsys, lambda: writer.append(event)) is False  # noqa: B023 - called at once
    assert writer.flush() == 0
    writer.close()
    with writer as same:  # a refused writer is still a context manager
        assert same is writer
    assert tree(tmp_path) == before, "a refused writer changed the disk"
    if must_not_exist is not None:
        assert not os.path.lexists(must_not_exist)


BAD_LIMITS = [
    ("max_events", 0),
    ("max_events", -1),
    ("max_events", "x"),
    ("max_events", 1.5),
    ("max_events", None),
    ("max_events", True),
    ("max_bytes", 0),
    ("max_bytes", -1),
    ("max_bytes", "x"),
    ("max_bytes", 2.0),
    ("max_delay", -1),
    ("max_delay", -0.5),
    ("max_delay", "x"),
    ("max_delay", float("nan")),
    ("max_delay", None),
]


@pytest.mark.parametrize(("name", "value"), BAD_LIMITS, ids=["%s=%r" % pair for pair in BAD_LIMITS])
def test_invalid_thresholds_fail_open(api, project, caplog, capsys, name, value):
    sid, path = new_session(api, project)
    before = path.read_bytes()
    writer = fails_open(caplog, capsys, lambda: api.SessionWriter(sid, project, **{name: value}))
    assert fails_open(caplog, capsys, lambda: writer.append({"n": 1})) is False
    assert writer.flush() == 0
    writer.close()
    assert path.read_bytes() == before


def test_boundary_thresholds_are_accepted(api, project, caplog, capsys):
    sid, path = new_session(api, project)
    writer = quietly(caplog, capsys, lambda: api.SessionWriter(sid, project, max_events=1, max_bytes=1, max_delay=0))
    assert quietly(caplog, capsys, lambda: writer.append({"n": 1})) is True
    writer.close()
    writer = quietly(caplog, capsys, lambda: api.SessionWriter(sid, project, max_delay=math.inf))
    assert quietly(caplog, capsys, lambda: writer.append({"n": 2})) is True
    writer.close()
    assert [(e["id"], e["n"]) for e in events(path)] == [(1, 1), (2, 2)]


@pytest.mark.parametrize(
    "bad",
    [False, True, None, 0, "event", b"{}", [("a", 1)], ("a", 1), {"a"}],
    ids=["False", "True", "None", "int", "str", "bytes", "list-of-pairs", "tuple", "set"],
)
def test_non_dict_event_fails_open_and_leaves_the_buffer(api, project, caplog, capsys, bad):
    sid, path = new_session(api, project)
    before = path.read_bytes()
    writer = api.SessionWriter(sid, project, max_events=2, max_delay=LONG)
    try:
        assert quietly(caplog, capsys, lambda: writer.append({"good": 1})) is True
        assert fails_open(caplog, capsys, lambda: writer.append(bad)) is False
        assert pending(writer) == 1
        assert path.read_bytes() == before  # the refused event did not count toward max_events
        assert fails_open(caplog, capsys, lambda: writer.append(bad)) is False
        assert pending(writer) == 1
        assert quietly(caplog, capsys, lambda: writer.append({"good": 2})) is True
    finally:
        writer.close()
    assert event_lines(path) == linked(
        init_line(path), [b'{"type":"event","id":1,"good":1}', b'{"type":"event","id":2,"good":2}']
    )


class ReadOnly(Mapping):
    def __init__(self, data: dict) -> None:
        self._data = data

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class DictChild(dict):
    pass


def test_mappings_are_accepted(api, project, caplog, capsys):
    sid, path = new_session(api, project)
    plain_sid, plain_path = new_session(api, project)
    inputs = [
        types.MappingProxyType({"kind": "proxy", "n": 1}),
        ReadOnly({"kind": "custom", "type": "user_prompt"}),
        collections.OrderedDict([("kind", "ordered"), ("id", 99)]),
        DictChild(kind="subclass"),
    ]
    with api.SessionWriter(sid, project, max_events=100, max_delay=LONG) as writer:
        for item in inputs:
            assert quietly(caplog, capsys, lambda: writer.append(item)) is True  # noqa: B023 - called at once
    for item in inputs:
        assert api.append_event(plain_sid, item, project) is True
    expected = [
        b'{"type":"event","id":1,"kind":"proxy","n":1}',
        b'{"type":"user_prompt","id":2,"kind":"custom"}',
        b'{"type":"event","id":99,"kind":"ordered"}',
        b'{"type":"event","id":100,"kind":"subclass"}',
    ]
    # Same records in both files, each chained from its own init line.
    assert event_lines(path) == linked(init_line(path), expected)
    assert event_lines(plain_path) == linked(init_line(plain_path), expected)


def test_append_racing_close_never_reports_a_lost_event_as_accepted(api, project):
    """``append`` returns True only for an event that is held or written (its docstring).
    Here another party closes the writer while ``append`` is copying a Mapping: the
    deterministic form of a thread's ``append`` racing another thread's ``close()``
    (or the exit hook). Either the append is refused (False) or the event reaches the
    file; True with the event nowhere is a silent loss."""
    sid, path = new_session(api, project)
    writer = api.SessionWriter(sid, project, max_events=100, max_delay=LONG)

    class ClosesTheWriter(ReadOnly):
        def keys(self):
            writer.close()
            return self._data.keys()

    assert writer.append({"n": 0}) is True
    result = writer.append(ClosesTheWriter({"n": 1}))
    written = [e["n"] for e in events(path)]
    assert (result, written) in ((True, [0, 1]), (False, [0])), (result, written)


def test_failed_flush_keeps_the_events(api, project, caplog, capsys):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"plain": 0}, project) is True
    away = path.with_name("moved-away")
    writer = api.SessionWriter(sid, project, max_events=3, max_delay=LONG)
    try:
        assert quietly(caplog, capsys, lambda: writer.append({"n": 1})) is True
        assert quietly(caplog, capsys, lambda: writer.append({"n": 2})) is True
        os.rename(path, away)
        # The third append reaches max_events; the write hits FileNotFoundError.
        assert fails_open(caplog, capsys, lambda: writer.append({"n": 3})) is True
        assert pending(writer) == 3
        assert not os.path.lexists(path), "the writer created the session file"
        assert fails_open(caplog, capsys, lambda: writer.append({"n": 4})) is True
        assert pending(writer) == 4
        assert fails_open(caplog, capsys, writer.flush) == 0
        assert pending(writer) == 4
        assert not os.path.lexists(path)
        os.rename(away, path)
        assert quietly(caplog, capsys, writer.flush) == 4
        assert pending(writer) == 0
    finally:
        writer.close()
    assert [(e["id"], e.get("n")) for e in events(path)] == [(1, None), (2, 1), (3, 2), (4, 3), (5, 4)]


# ------------------------------------------------------------ kernel level


WRITER_PARAMETERS = ["path", "fsync", "max_events", "max_bytes", "max_delay", "key"]
METHOD_PARAMETERS = {"append": ["self", "record"], "flush": ["self"], "pending": ["self"]}


def test_kernel_writer_signature_and_docstrings_match(kernel):
    from nova_session import _python, _rust

    signature = inspect.signature(kernel.Writer)
    assert list(signature.parameters) == WRITER_PARAMETERS
    # key, the chain's HMAC key, is optional: None, the plain sha256 chain.
    assert [name for name, p in signature.parameters.items() if p.default is not inspect.Parameter.empty] == ["key"]
    assert signature.parameters["key"].default is None
    assert str(inspect.signature(_python.Writer)) == str(inspect.signature(_rust.Writer))
    assert kernel.Writer.__doc__
    assert kernel.Writer.__doc__ == _python.Writer.__doc__ == _rust.Writer.__doc__
    for name, parameters in METHOD_PARAMETERS.items():
        method = getattr(kernel.Writer, name)
        assert list(inspect.signature(method).parameters) == parameters, name
        assert method.__doc__, name
        assert method.__doc__ == getattr(_python.Writer, name).__doc__ == getattr(_rust.Writer, name).__doc__


def test_kernel_writer_append_returns_count_and_rejects_non_dicts(kernel, tmp_path):
    path = tmp_path / "session.jsonl"
    init = b'{"type":"init","session_id":"x"}\n'
    path.write_bytes(init)
    writer = kernel.Writer(path=str(path), fsync=False, max_events=3, max_bytes=1 << 20, max_delay=LONG)
    assert writer.pending() == 0
    assert writer.append({"n": 1}) == 0
    assert writer.pending() == 1
    for bad in (None, False, 1, "x", [("a", 1)], types.MappingProxyType({"a": 1}), ReadOnly({"a": 1})):
        with pytest.raises(TypeError):
            writer.append(bad)
        assert writer.pending() == 1
    assert path.read_bytes() == init
    assert writer.append(DictChild(n=2)) == 0  # a dict subclass is a dict
    assert writer.append({"n": 3}) == 3
    assert writer.pending() == 0
    assert writer.flush() == 0
    assert writer.append({"n": 4}) == 0
    assert writer.flush() == 1
    bodies = [b'{"type":"event","id":%d,"n":%d}' % (n, n) for n in range(1, 5)]
    assert path.read_bytes() == init + b"".join(line + b"\n" for line in linked(init[:-1], bodies))


def test_events_held_at_a_fork_are_written_once_by_the_parent(api, project):
    """A forked child starts with empty buffers: held events belong to the parent."""
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    writer = api.SessionWriter(sid, project, max_events=100, max_delay=3600)
    assert writer.append({"held": "before fork"}) is True
    pid = os.fork()
    if pid == 0:  # the child: append its own event, exit through the normal exit path
        writer.append({"child": True})
        writer.close()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    writer.close()
    records = chained_records(path.read_bytes())[1:]
    assert sorted(map(str, ({k: v for k, v in r.items() if k not in ("type", "id")} for r in records))) == sorted(
        map(str, [{"child": True}, {"held": "before fork"}])
    )
    assert [r["id"] for r in records] == [1, 2]


def test_max_bytes_counts_utf8_bytes_on_both_backends(api, project):
    """CJK text takes 3 bytes a character: the byte threshold must count bytes, not characters."""
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    writer = api.SessionWriter(sid, project, max_events=1000, max_bytes=4096, max_delay=3600)
    written = []
    for _ in range(6):
        writer.append({"text": "漢" * 500})  # ~1.5 KB each in UTF-8, 500 characters
        written.append(len(path.read_bytes().splitlines()) - 1)
    writer.close()
    assert written[:3] == [0, 0, 3]  # the third event crosses 4096 bytes
