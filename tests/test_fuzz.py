"""Fuzzing the Python entry points that take bytes nobody vouches for: a hook's
stdin, the JSON parsers of both kernels, and the readers of a session file.

Each property runs on NOVA_SESSION_FUZZ_EXAMPLES inputs (200 in ``make test``;
``make fuzz`` runs 20,000, and the Rust properties of rust/tests/fuzz_parsers.rs
on 100,000). The property is always: no crash, nothing on stdout, only the
errors the contract names. The same entry points are also fuzzed with
coverage guidance (atheris, tests/fuzz/atheris_targets.py) for
NOVA_SESSION_FUZZ_RUNS inputs (3,000 here; ``make fuzz`` runs it for 5 minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_session import _python, _rust, cli, hooks, reading, scanner

EXAMPLES = int(os.environ.get("NOVA_SESSION_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)

EVENTS = st.sampled_from([*hooks.EVENTS, "MessageDisplay", "WorktreeCreate", "FutureEvent", "", "../x", "Pre\nTool"])
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
# Payload fields the hooks read, with values of any JSON type.
FIELDS = st.sampled_from(
    [
        "session_id",
        "cwd",
        "tool_name",
        "tool_input",
        "tool_response",
        "tool_use_id",
        "tool_calls",
        "prompt_id",
        "agent_id",
        "agent_type",
        "duration_ms",
        "source",
        "reason",
        "error",
        "mcp_server",
        "conversation_id",
        "cursor_version",
        "type",
        "id",
        "prev",
    ]
)


@pytest.fixture
def in_project(project, monkeypatch):
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    monkeypatch.delenv("NOVA_SESSION_SCANNER", raising=False)
    scanner.set_scanner(None)
    return project


def _hook_is_quiet(capsys, event: str, data: bytes) -> None:
    capsys.readouterr()
    assert hooks.run(event, data) == 0
    assert capsys.readouterr().out == ""


@FUZZ
@given(event=EVENTS, data=st.binary(max_size=300))
def test_a_hook_takes_any_bytes(in_project, capsys, event, data):
    _hook_is_quiet(capsys, event, data)


@FUZZ
@given(event=EVENTS, payload=st.dictionaries(FIELDS, JSON, max_size=8), session=st.sampled_from(["s1", "s2"]))
def test_a_hook_takes_any_payload(in_project, capsys, event, payload, session):
    payload.setdefault("session_id", session)
    _hook_is_quiet(capsys, event, json.dumps(payload).encode("utf-8"))


@FUZZ
@given(data=st.binary(max_size=300))
def test_the_parsers_raise_only_parse_errors(data):
    for kernel in (_python, _rust):
        try:
            kernel.loads(data)
        except (ValueError, RecursionError):
            pass  # what a parse error is (a RecursionError only from nesting beyond the stack)
    assert _python.parse_record(data) is None or type(_python.parse_record(data)) is dict


@FUZZ
@given(lines=st.lists(st.one_of(st.binary(max_size=60), JSON.map(lambda v: json.dumps(v).encode())), max_size=12))
def test_the_readers_take_any_session_file(project, capsys, lines):
    sessions_dir = project / ".nova-protector" / "sessions"
    sessions_dir.mkdir(parents=True, exist_ok=True)
    sid = "2026-01-10_16-30-45_fuzzed"
    (sessions_dir / ("%s.jsonl" % sid)).write_bytes(b"\n".join(lines))
    root = reading.project_root(str(project))
    report = reading.verify(root, sid)
    assert isinstance(report["ok"], bool)
    reading.load_session(root, sid)
    for command in (["show", sid], ["stats", sid], ["verify", sid, "--json"]):
        assert cli.main([*command, "--project", str(project)]) in (0, 1, 6)
    out = capsys.readouterr().out
    assert "\x1b" not in out


def test_coverage_guided_fuzzing_finds_no_crash(tmp_path):
    """libFuzzer through atheris: hooks, both parsers, the readers, and the two
    kernels appending to the same bytes (tests/fuzz/atheris_targets.py)."""
    runs = int(os.environ.get("NOVA_SESSION_FUZZ_RUNS", "3000"))
    target = os.path.join(os.path.dirname(__file__), "fuzz", "atheris_targets.py")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    args = [sys.executable, target, "-runs=%d" % runs, "-max_len=8192", "-artifact_prefix=%s/" % tmp_path]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == ""
    assert "Done %d runs" % runs in done.stderr
    assert not list(tmp_path.glob("crash-*"))
