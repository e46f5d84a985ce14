"""Whole hook processes: PostToolUse, PreToolUse and SessionEnd as Claude Code
runs them, against a bare ``python -c pass`` and a bare ``python -I -S -c pass``
of the same interpreter in the same rounds (the summary prints the ratio to each).

The hook command is the one ``nova-session install`` writes (``python -I -S
…/nova_session/run_hook.py EVENT``); its input is a realistic payload (a Read
of a ~5 KB file), with a new tool_use_id each round: a call is closed once,
so a repeated id would time a hook that writes nothing.
NOVA scanning and secret redaction are on, as in the hooks by default; the
"off" cases (NOVA_SESSION_REDACT=0, NOVA_SESSION_SCAN=0) show what they cost a hook.
The cases run in turn within each round, so that the machine's drifts fall on all
of them alike (run one after the other, the ratios moved by 0.1-0.2 between runs).
Bytecode caching is on for both sides: the standard library ships .pyc files,
and this module compiles nova_session's own with compileall first (the machine
sets PYTHONDONTWRITEBYTECODE=1, which stops Python writing them, not reading
them; a pip-installed wheel has them from its install).
"""

from __future__ import annotations

import compileall
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

import pytest

import nova_session
from nova_session import install

from .conftest import note, record, timing

GROUP = "hook-process"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    compileall.compile_dir(os.path.dirname(nova_session.__file__), quiet=1)
    return str(tmp_path_factory.mktemp("hook-bench"))


_calls = iter(range(1, 1 << 30))


def payload(project: str, event: str = "PostToolUse") -> bytes:
    content = "".join("line %d: def handler(event):  # ünïcode ✓\n" % i for i in range(120))
    return json.dumps(
        {
            "session_id": "bench-claude-session",
            "transcript_path": os.path.join(project, "transcript.jsonl"),
            "cwd": project,
            "hook_event_name": event,
            "permission_mode": "default",
            "tool_name": "Read",
            "tool_input": {"file_path": os.path.join(project, "src", "app.py")},
            "tool_response": {
                "type": "text",
                "file": {"filePath": os.path.join(project, "src", "app.py"), "content": content},
            },
            "tool_use_id": "toolu_bench_%d" % next(_calls),
            "duration_ms": 3,
        }
    ).encode("utf-8")


def run(argv, data: bytes, env: dict) -> None:
    done = subprocess.run(argv, input=data, env=env, capture_output=True)
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b"", done


# The command install writes, without its interpreter (added below) and event.
HOOK = shlex.split(install.hook_command("PostToolUse"))[1:-1]
OFF = {"NOVA_SESSION_REDACT": "0"}
CASES = {
    "python -c pass": ([sys.executable, "-c", "pass"], None, {}),
    # What the hook's interpreter flags alone save: no site (see run_hook.py).
    "python -I -S -c pass": ([sys.executable, "-I", "-S", "-c", "pass"], None, {}),
    "PreToolUse hook, rust": (HOOK + ["PreToolUse"], "rust", {}),
    "PostToolUse hook, rust": (HOOK + ["PostToolUse"], "rust", {}),
    "PostToolUse hook, rust, redaction off": (HOOK + ["PostToolUse"], "rust", OFF),
    "PostToolUse hook, rust, scan and redaction off": (
        HOOK + ["PostToolUse"],
        "rust",
        dict(OFF, NOVA_SESSION_SCAN="0"),
    ),
    "PostToolUse hook, python fallback": (HOOK + ["PostToolUse"], "python", {}),
    "PostToolUse hook, python fallback, scan and redaction off": (
        HOOK + ["PostToolUse"],
        "python",
        dict(OFF, NOVA_SESSION_SCAN="0"),
    ),
    # Claude Code gives SessionEnd hooks about 1.5 s in all: this shows how little of it is used.
    "SessionEnd hook, rust": (HOOK + ["SessionEnd"], "rust", {}),
}


ROUNDS = 60


def prepare(project: str, label: str):
    """The case's command, environment and a function giving each round's input."""
    argv, backend, extra = CASES[label]
    env = dict(os.environ, CLAUDE_PROJECT_DIR=project, **extra)
    if backend is not None:
        argv = [sys.executable] + argv
        env["NOVA_SESSION_BACKEND"] = backend
    event = argv[-1]
    if event != "SessionEnd":
        return argv, env, lambda: payload(project, event if event.endswith("ToolUse") else "PostToolUse")
    run(argv[:-1] + ["PostToolUse"], payload(project), env)  # the session must exist to be ended
    end = {"session_id": "bench-claude-session", "cwd": project, "hook_event_name": "SessionEnd", "reason": "logout"}
    return argv, env, lambda: json.dumps(end).encode("utf-8")


def bytecode_note() -> str:
    """How the bytecode cache stands for both sides; asserts it is there to be read."""
    import importlib.util

    package = os.path.dirname(nova_session.__file__)
    for source in (os.path.join(package, "run_hook.py"), os.path.join(package, "hooks.py"), json.__file__):
        assert os.path.exists(importlib.util.cache_from_source(source)), source
    return (
        "bytecode caching on for every case: .pyc files present for the stdlib and for nova_session "
        "(compiled by this module); PYTHONDONTWRITEBYTECODE=%s here only stops writing them"
        % (os.environ.get("PYTHONDONTWRITEBYTECODE") or "unset")
    )


def test_hook_processes_interleaved(project, pytestconfig):
    """Every case once per round, in turn, so that the machine's drifts (this VM's load
    changes within a minute) fall on all of them alike: each median is over the rounds."""
    # With timing off (make test), one round: each case runs and writes nothing on stdout.
    timed = timing(pytestconfig)
    rounds, warmup = (ROUNDS, 3) if timed else (1, 0)
    cases = {label: prepare(project, label) for label in CASES}
    times: dict = {label: [] for label in CASES}
    for number in range(warmup + rounds):
        for label, (argv, env, data) in cases.items():
            stdin = data()
            start = time.perf_counter()
            run(argv, stdin, env)
            if number >= warmup:
                times[label].append(time.perf_counter() - start)
    if not timed:
        return
    note(GROUP, "whole processes of %s" % sys.executable)
    note(GROUP, bytecode_note())
    note(GROUP, "%d rounds, the cases interleaved within each round" % rounds)
    for label in CASES:
        record(GROUP, label, statistics.median(times[label]))
