"""Coverage-guided fuzzing (atheris, libFuzzer) of the Python entry points that
take bytes nobody vouches for.

    python tests/fuzz/atheris_targets.py -runs=3000            # what make test runs (test_fuzz.py)
    python tests/fuzz/atheris_targets.py -max_total_time=300   # make fuzz

Its scratch project and corpus go to a new directory under TMPDIR (libFuzzer
ends the process without cleaning up: give it a TMPDIR you remove).

One input drives one of four targets, chosen by its first byte:

- a hook (``hooks.run``) given the rest as its stdin, for an event the input names;
- both kernels' JSON parsers (``loads``) and the Python kernel's ``parse_record``;
- the readers (``verify``, ``load_session``) of a session file made of the rest;
- a session file made of the rest, appended to by each kernel: the same bytes after.

A crash is any exception the contract does not name (a parser raises only
ValueError, or RecursionError past the stack), a hook that logs an unexpected
exception type (it fails open, so its log is what tells), or anything written
to stdout (Claude Code reads a hook's stdout).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports(include=["nova_session"]):
    from nova_session import _python, _rust, hooks, reading, scanner

SID = "2026-01-10_16-30-45_fuzzed"
EVENTS = [*hooks.EVENTS, "MessageDisplay", "WorktreeCreate", "FutureEvent", "", "../x"]
# Exceptions a hook may log and survive: what the file system refuses.
EXPECTED = ("OSError", "FileNotFoundError", "PermissionError", "IsADirectoryError", "NotADirectoryError")


class StdoutIsClaudes:
    """sys.stdout during a run: any write is a crash."""

    def write(self, text: str) -> int:
        raise AssertionError("wrote to stdout: %r" % text[:200])

    def flush(self) -> None:
        pass


class Unexpected(logging.Handler):
    """Turns a hook's log line about an unexpected exception into a crash."""

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if ": not recorded: " in text:
            kind = text.split(": not recorded: ", 1)[1].split(":", 1)[0]
            if kind not in EXPECTED:
                raise AssertionError(text)


PROJECT = tempfile.mkdtemp(prefix="nova-fuzz-")
SESSIONS = os.path.join(PROJECT, ".nova-protector", "sessions")
os.makedirs(SESSIONS)
ROOT = reading.project_root(PROJECT)
PATH = os.path.join(SESSIONS, SID + ".jsonl")


def hook(raw: bytes) -> None:
    event = EVENTS[raw[0] % len(EVENTS)] if raw else ""
    assert hooks.run(event, raw[1:]) == 0


def parsers(raw: bytes) -> None:
    for kernel in (_python, _rust):
        try:
            kernel.loads(raw)
        except (ValueError, RecursionError):
            pass
    record = _python.parse_record(raw)
    assert record is None or type(record) is dict


def readers(raw: bytes) -> None:
    with open(PATH, "wb") as handle:
        handle.write(raw)
    report = reading.verify(ROOT, SID)
    assert isinstance(report["ok"], bool) and isinstance(report["problems"], list)
    reading.load_session(ROOT, SID)


def appends(start: bytes) -> None:
    """Both kernels append to the same bytes and must leave the same bytes (or both refuse)."""
    after = []
    for kernel in (_python, _rust):
        with open(PATH, "wb") as handle:
            handle.write(start)
        try:
            kernel.append_records(PATH, [{"tool_name": "Bash"}], False, None)
        except (OSError, ValueError) as exc:
            after.append(type(exc).__name__)
        else:
            with open(PATH, "rb") as handle:
                after.append(handle.read())
    assert after[0] == after[1], after
    reading.verify(ROOT, SID)


TARGETS = (hook, parsers, readers, appends)


def one_input(raw: bytes) -> None:
    if raw:
        TARGETS[raw[0] % len(TARGETS)](raw[1:])


def seeds() -> list:
    """Inputs to start from: hook payloads as Claude Code sends them, and a chained session file."""
    import json

    def payload(event: str, **fields) -> bytes:
        fields.update(session_id="c0ffee", cwd=PROJECT, hook_event_name=event, transcript_path="/tmp/t.jsonl")
        return bytes([EVENTS.index(event)]) + json.dumps(fields).encode()

    bash = {"command": "cd src && cat .env | grep KEY > out.txt", "description": "look"}
    found = [
        payload("SessionStart", source="startup", model="claude"),
        payload("UserPromptSubmit", prompt="fix the build", prompt_id="p1"),
        payload("PreToolUse", tool_name="Bash", tool_input=bash, tool_use_id="toolu_1", permission_mode="default"),
        payload(
            "PostToolUse",
            tool_name="Bash",
            tool_input=bash,
            tool_use_id="toolu_1",
            duration_ms=12,
            tool_response={"stdout": "KEY=1", "stderr": "", "interrupted": False},
        ),
        payload(
            "PostToolBatch",
            tool_calls=[{"tool_name": "Read", "tool_use_id": "toolu_2", "tool_input": {"file_path": "/etc/passwd"}}],
        ),
        payload("SubagentStop", agent_id="a1", agent_type="Explore", last_assistant_message="done"),
        payload("SessionEnd", reason="other"),
    ]
    os.environ["CLAUDE_PROJECT_DIR"] = PROJECT
    from nova_session import sessions

    sid = sessions.generate_session_id()
    sessions.init_session_file(sid, PROJECT)
    for index in range(3):
        sessions.append_event(sid, {"tool_name": "Read", "tool_input": {"file_path": "a%d" % index}}, PROJECT)
    sessions.finalize_session(sid, PROJECT)
    with open(os.path.join(SESSIONS, sid + ".jsonl"), "rb") as handle:
        session = handle.read()
    line = session.split(b"\n")[1]
    return found + [b"\x01" + line, b"\x02" + session, b"\x03" + session, b"\x03" + session[:-9]]


def main() -> None:
    os.environ["CLAUDE_PROJECT_DIR"] = PROJECT
    os.environ.pop("NOVA_SESSION_SCANNER", None)
    scanner.set_scanner(None)
    logger = logging.getLogger("nova_session")
    logger.addHandler(Unexpected())
    logger.propagate = False  # the refusals fuzzing provokes by the thousand are not news
    args = sys.argv
    if not any(not arg.startswith("-") for arg in args[1:]):  # no corpus given: start from the seeds
        corpus = tempfile.mkdtemp(prefix="nova-fuzz-corpus-")
        for number, seed in enumerate(seeds()):
            with open(os.path.join(corpus, "seed%d" % number), "wb") as handle:
                handle.write(seed)
        args = [*args, corpus]
    sys.stdout = StdoutIsClaudes()  # type: ignore[assignment]
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
