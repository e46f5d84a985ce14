"""Crash safety and failed writes (README, "Records"), for each kernel.

- A writer SIGKILLed in the middle of an append loop leaves at most one torn
  last line; the next append starts on a fresh line and continues the ids.
- A write that fails (here EFBIG under ``RLIMIT_FSIZE``, set in a child
  process: CPython ignores SIGXFSZ, so the write fails instead of killing it)
  leaves the file byte-identical and the call returns its fail-open value.
- ``NOVA_SESSION_FSYNC=1`` keeps everything working.

Every record after the init record links to the last complete, parsable line
before it (README, "The hash chain"): a torn line healed by the next append is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nova_session

from support import child_env


def backend_name(kernel) -> str:
    return kernel.__name__.rsplit("._", 1)[1]


def split_tail(data: bytes) -> tuple:
    """(complete lines, torn last piece or b"")."""
    cut = data.rfind(b"\n") + 1
    return data[:cut].split(b"\n")[:-1], data[cut:]


def prev(line: bytes) -> bytes:
    """The chain's last member for a record written after ``line`` (without its newline)."""
    return b'"prev":"sha256:%s"' % hashlib.sha256(line).hexdigest().encode("ascii")


def last_line(data: bytes) -> bytes:
    """The last newline-terminated line of ``data``, without its newline."""
    return data[: data.rfind(b"\n")].rsplit(b"\n", 1)[-1]


# ---------------------------------------------------------------- SIGKILL


KILLED_WRITER = r"""
import sys
import nova_session
project, sid, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
assert nova_session.BACKEND == sys.argv[4], nova_session.BACKEND
blob = "k" * size
i = 0
while True:  # (the "i" of a record may differ from its id after a previous crash)
    i += 1
    if not nova_session.append_event(sid, {"i": i, "blob": blob}, project):
        sys.exit("append failed")
"""


def kill_mid_loop(backend: str, project: Path, sid: str, path: Path, payload: int, grow: int) -> None:
    """Start a writer looping on appends, SIGKILL it once the file grew by ``grow`` bytes."""
    target = path.stat().st_size + grow
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(project), sid, str(payload), backend],
        env=child_env(backend),
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while path.stat().st_size < target and time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read()
            time.sleep(0.0005)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("payload", [1 << 10, 1 << 20], ids=["1KiB", "1MiB"])
def test_sigkill_mid_append_loop_leaves_at_most_one_torn_line(api, kernel, project, payload):
    backend = backend_name(kernel)
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    assert path is not None
    last_id = 0
    healed = []  # torn lines of earlier rounds: terminated by the next append, skipped by readers
    for round_number in range(3):  # each round starts from a file the previous crash left
        kill_mid_loop(backend, project, sid, path, payload, 16 * payload)
        data = path.read_bytes()
        lines, torn = split_tail(data)
        assert [line for line in lines if line in healed] == healed
        # every other complete line is one valid record, linked to the one before it: the
        # healed torn lines are not links
        chain = [line for line in lines if line not in healed]
        records = [json.loads(line) for line in chain]
        assert records[0]["type"] == "init" and "prev" not in records[0]
        for number, record in enumerate(records[1:], 1):
            assert list(record)[-1] == "prev"
            assert record.pop("prev") == "sha256:" + hashlib.sha256(chain[number - 1]).hexdigest(), number
        ids = [record["id"] for record in records[1:]]
        assert ids == list(range(1, len(ids) + 1))
        assert len(ids) >= last_id + 8
        assert b"\n" not in torn  # at most one torn line, and only at the end

        if torn:
            healed.append(torn)
        assert api.append_event(sid, {"after": "kill %d" % round_number}, project) is True
        after = path.read_bytes()
        last_id = len(ids) + 1
        # it links past the torn piece to the last complete line
        new_line = b'{"type":"event","id":%d,"after":"kill %d",%s}\n' % (last_id, round_number, prev(lines[-1]))
        assert after == data + (b"\n" if torn else b"") + new_line
        events = api.read_session_events(sid, project)
        assert [event.get("id") for event in events] == [None] + ids + [last_id]


# --------------------------------------------------------- RLIMIT_FSIZE


LIMITED_WRITER = r"""
import json, logging, resource, sys
import nova_session
project, sid, backend, limit, actions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
assert nova_session.BACKEND == backend, nova_session.BACKEND
warnings = []

class Count(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())

logger = logging.getLogger("nova_session")
logger.addHandler(Count(logging.WARNING))
logger.propagate = False
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
results = []
for action, size in actions:
    before = len(warnings)
    if action == "append":
        result = nova_session.append_event(sid, {"blob": "b" * size}, project)
    else:
        result = nova_session.finalize_session(sid, project, reason="r" * size)
        result = None if result is None else str(result)
    results.append([result, len(warnings) - before])
print(json.dumps(results))
"""


def run_limited(backend: str, project: Path, sid: str, limit: int, actions: list) -> list:
    done = subprocess.run(
        [sys.executable, "-c", LIMITED_WRITER, str(project), sid, backend, str(limit), json.dumps(actions)],
        env=child_env(backend),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


@pytest.fixture
def limited_session(api, project):
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    assert path is not None
    for n in range(3):
        assert api.append_event(sid, {"n": n}, project)
    return sid, path


def test_failed_append_under_file_size_limit_leaves_file_identical(api, kernel, project, limited_session):
    sid, path = limited_session
    before = path.read_bytes()
    limit = len(before) + 4096
    # A small event fits; a big one crosses the limit part-way and must vanish whole.
    results = run_limited(backend_name(kernel), project, sid, limit, [["append", 10], ["append", 100_000]])
    assert results == [[True, 0], [False, 1]]
    written = b'{"type":"event","id":4,"blob":"%s",%s}' % (b"b" * 10, prev(last_line(before)))
    assert path.read_bytes() == before + written + b"\n"
    # And the session goes on normally afterwards, linked to the record the child wrote.
    assert api.append_event(sid, {"n": "next"}, project)
    last = api.read_session_events(sid, project)[-1]
    assert last.pop("prev") == "sha256:" + hashlib.sha256(written).hexdigest()
    assert last == {"type": "event", "id": 5, "n": "next"}


def test_failed_append_at_the_limit_leaves_file_identical(api, kernel, project, limited_session):
    sid, path = limited_session
    before = path.read_bytes()
    results = run_limited(backend_name(kernel), project, sid, len(before), [["append", 10]])
    assert results == [[False, 1]]
    assert path.read_bytes() == before


@pytest.mark.parametrize("room", [0, 1, 64], ids=["room0", "room1", "room64"])
def test_failed_append_after_torn_tail_leaves_file_identical(api, kernel, project, limited_session, room):
    """The healing newline is part of the failed write: it must vanish with it."""
    sid, path = limited_session
    with open(path, "ab") as handle:
        handle.write(b'{"type":"event","id":4,"torn":"ab')
    before = path.read_bytes()
    results = run_limited(backend_name(kernel), project, sid, len(before) + room, [["append", 100_000]])
    assert results == [[False, 1]]
    assert path.read_bytes() == before
    # Without the limit the torn line is healed and ids continue from the last complete one;
    # the record links past the torn line to the last complete one.
    assert api.append_event(sid, {"n": "next"}, project)
    *_, before_good, good, torn = before.split(b"\n")
    assert torn == b'{"type":"event","id":4,"torn":"ab'
    assert good == b'{"type":"event","id":3,"n":2,%s}' % prev(before_good)
    assert path.read_bytes() == before + b'\n{"type":"event","id":4,"n":"next",%s}\n' % prev(good)


def test_failed_finalize_under_file_size_limit_leaves_file_identical(api, kernel, project, limited_session):
    sid, path = limited_session
    before = path.read_bytes()
    results = run_limited(backend_name(kernel), project, sid, len(before) + 64, [["finalize", 100_000]])
    assert results == [[None, 1]]
    assert path.read_bytes() == before
    assert api.finalize_session(sid, project, reason="later") == path
    assert [r["type"] for r in api.read_session_events(sid, project)].count("end") == 1


# ------------------------------------------------------------------ fsync


def test_fsync_mode_works(api, project, monkeypatch):
    monkeypatch.setenv("NOVA_SESSION_FSYNC", "1")
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project, claude_session_id="c")
    assert path is not None
    for n in range(5):
        assert api.append_event(sid, {"n": n}, project) is True
    assert api.get_active_session(project, "c") == sid
    assert api.finalize_session(sid, project, reason="done") == path
    records = api.read_session_events(sid, project)
    assert [r["type"] for r in records] == ["init"] + ["event"] * 5 + ["end"]
    assert [r["id"] for r in records[1:-1]] == [1, 2, 3, 4, 5]
    assert records[-1]["event_count"] == 5


FSYNC_CHILD = r"""
import sys
import nova_session
project, backend = sys.argv[1], sys.argv[2]
assert nova_session.BACKEND == backend, nova_session.BACKEND
sid = nova_session.generate_session_id()
assert nova_session.init_session_file(sid, project) is not None
assert all(nova_session.append_event(sid, {"n": n}, project) for n in range(20))
assert nova_session.finalize_session(sid, project) is not None
print(sid)
"""


def test_fsync_mode_in_a_fresh_process(api, kernel, project):
    backend = backend_name(kernel)
    done = subprocess.run(
        [sys.executable, "-c", FSYNC_CHILD, str(project), backend],
        env=child_env(backend, NOVA_SESSION_FSYNC="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    sid = done.stdout.strip()
    records = api.read_session_events(sid, project)
    assert [r.get("id") for r in records] == [None] + list(range(1, 21)) + [None]
    assert records[-1]["event_count"] == 20


def test_fsync_env_makes_the_python_kernel_fsync(project, monkeypatch):
    """The Python kernel's fsync calls can be observed in-process; the setting is read per call."""
    from nova_session import _python, sessions

    monkeypatch.setattr(sessions, "kernel", _python)
    monkeypatch.setattr(sessions, "_registry", {})
    calls = []
    real_fsync = os.fsync

    def spy(fd):
        calls.append(fd)
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    sid = nova_session.generate_session_id()
    assert nova_session.init_session_file(sid, project) is not None
    assert nova_session.append_event(sid, {"n": 1}, project)
    assert calls == []
    monkeypatch.setenv("NOVA_SESSION_FSYNC", "1")
    assert nova_session.append_event(sid, {"n": 2}, project)
    assert len(calls) >= 1
    count = len(calls)
    assert nova_session.finalize_session(sid, project) is not None
    assert len(calls) > count
