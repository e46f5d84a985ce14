"""Helpers several test modules share: child processes on a chosen backend,
and the fail-open check (README, "Records")."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path

import nova_session

# The directory holding the nova_session package under test, for children's PYTHONPATH.
PYTHON_SOURCE = str(Path(nova_session.__file__).resolve().parent.parent)


def child_env(backend: str, **extra: str) -> dict:
    """The environment of a child process that imports this nova_session on ``backend``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PYTHON_SOURCE, env.get("PYTHONPATH")]))
    env["NOVA_SESSION_BACKEND"] = backend
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("NOVA_SESSION_FSYNC", None)
    env.update(extra)
    return env


def nova_warnings(caplog) -> list:
    """The warnings (and worse) logged on the nova_session logger or its children."""
    return [
        record
        for record in caplog.records
        if (record.name == "nova_session" or record.name.startswith("nova_session."))
        and record.levelno >= logging.WARNING
    ]


def fails_open(caplog, capsys, call):
    """Run call; check it raised nothing, logged exactly one warning, printed nothing on stdout."""
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = call()  # an exception here fails the test: public functions never raise
    out = capsys.readouterr().out
    warnings = nova_warnings(caplog)
    assert out == "", "a failing call wrote to stdout: %r" % out
    assert len(warnings) == 1, "expected exactly one warning, got %r" % [w.getMessage() for w in warnings]
    assert warnings[0].levelno == logging.WARNING
    return result


# The public functions (README, "Quickstart for hook authors").
PUBLIC_FUNCTIONS = (
    "generate_session_id",
    "get_session_paths",
    "init_session_file",
    "append_event",
    "get_active_session",
    "finalize_session",
    "read_session_events",
)


def tree(root) -> dict:
    """A snapshot of everything under root: relative path -> (kind, mode, content or link target)."""
    import stat

    snapshot = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                detail = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    detail = handle.read()
            else:
                detail = None
            snapshot[os.path.relpath(path, root)] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), detail)
    return snapshot


def session_path(project, sid: str) -> Path:
    return Path(os.path.realpath(project)) / ".nova-protector" / "sessions" / (sid + ".jsonl")


def new_session(api, project, **extra) -> tuple:
    """A new session of ``project`` through the public API: (id, session file)."""
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project, **extra)
    assert path == session_path(project, sid)
    return sid, path


def append_raw(path, data: bytes) -> None:
    """Bytes written to a session file by hand, as a crash or another tool would leave them."""
    with open(path, "ab") as handle:
        handle.write(data)


def run_together(tmp_path, children: list, expected_count: int) -> None:
    """Start child processes, ``(tag, backend, argv)`` each, and let them begin their
    work at the same moment: each child's argv ends with a ready file it creates once
    imported and a go file it waits for. Each must exit 0, print nothing on stderr and
    print ``BACKEND COUNT`` on stdout."""
    import subprocess
    import sys
    import time

    go = tmp_path / "go"
    started = []
    for tag, backend, argv in children:
        ready = tmp_path / ("ready-" + tag)
        command = [sys.executable, "-c"] + list(argv) + [str(ready), str(go)]
        process = subprocess.Popen(
            command, env=child_env(backend), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append((backend, ready, process))
    deadline = time.monotonic() + 30
    while not all(ready.exists() for _, ready, _ in started) and time.monotonic() < deadline:
        if any(process.poll() is not None for _, _, process in started):
            break
        time.sleep(0.005)
    go.touch()
    for backend, _, process in started:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert err == ""
        assert out.split() == [backend, str(expected_count)]


# The keys of the records the hooks write, in order (README "What each event records").
SEED_KEYS = [
    "id",
    "timestamp_start",
    "timestamp_end",
    "duration_ms",
    "tool_name",
    "tool_input",
    "tool_output",
    "working_dir",
    "files_accessed",
    "nova_verdict",
    "nova_severity",
    "nova_rules_matched",
    "nova_scan_time_ms",
]
TOOL_KEYS = ["type"] + SEED_KEYS + ["tool_use_id", "hook_event", "is_error", "agent"]
START_KEYS = ["type", "id", "timestamp", "hook_event", "agent"]
# What the built-in NOVA scan adds to a user_prompt record (a tool event has them in TOOL_KEYS).
VERDICT_KEYS = ["nova_verdict", "nova_severity", "nova_rules_matched", "nova_scan_time_ms"]
HOOK_END_KEYS = [
    "type",
    "session_id",
    "timestamp",
    "event_count",
    "reason",
    "claude_session_id",
    "agent",
    "unfinished_tool_calls",
]


# The chain's member, always a record's last.
_PREV = re.compile(rb',"prev":"(?:sha256|hmac-sha256):[0-9a-f]{64}"\}\Z')


def unchained(line: bytes) -> bytes:
    """A line without the chain's ``prev`` member (checked to be the last member)."""
    return _PREV.sub(b"}", line)


def chained_records(data: bytes) -> list:
    """The records of a file the library wrote whole, without their ``prev``, each
    checked to link to the line before it (the plain sha256 chain)."""
    lines = data.split(b"\n")[:-1]
    records = []
    for index, line in enumerate(lines):
        record = json.loads(line)
        if index == 0:
            assert "prev" not in record, "the init record has no prev"
        else:
            assert list(record)[-1] == "prev", "prev is not the last key of line %d" % (index + 1)
            expected = "sha256:" + hashlib.sha256(lines[index - 1]).hexdigest()
            assert record.pop("prev") == expected, "line %d does not link to line %d" % (index + 1, index)
        records.append(record)
    return records
