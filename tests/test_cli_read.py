"""The reading commands of ``nova-session``: list, show, tail, stats, verify, export,
report, on sessions recorded by the hooks and the API, on a corrupt session and
on a missing project. Commands run in-process through ``cli.main`` (output via
capsys); one test runs the installed entry point as a process.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading

import pytest

import nova_session
from nova_session import cli

from test_reading import append_raw, clear_active_mark, hook_session, record_session, session_file, tool_event

COMMANDS_WITH_ID = ("show", "tail", "stats", "verify", "export", "report")


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def recorded(project, monkeypatch):
    """A project holding one session recorded by the hooks; returns (project, sid)."""
    return project, hook_session(project, monkeypatch)


def run(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_text_and_json(recorded, capsys):
    project, sid = recorded
    crashed = record_session(project, [tool_event(1)], end=False)
    clear_active_mark(project, crashed)
    code, out, _ = run(capsys, "list", "--project", str(project))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "START", "(UTC)"]
    assert lines[1].startswith(crashed) and "unfinished" in lines[1]  # newest first
    assert lines[2].startswith(sid) and "ended" in lines[2]
    code, out, _ = run(capsys, "list", "--project", str(project), "--json")
    data = json.loads(out)
    assert [item["session_id"] for item in data["sessions"]] == [crashed, sid]
    hooked = data["sessions"][1]
    assert (hooked["events"], hooked["tool_calls"], hooked["errors"], hooked["state"]) == (18, 7, 1, "ended")


def test_list_of_a_project_without_sessions(project, capsys):
    code, out, _ = run(capsys, "list", "--project", str(project))
    assert code == 0 and "no sessions recorded" in out
    assert json.loads(run(capsys, "list", "--project", str(project), "--json")[1])["sessions"] == []


def test_show_text_and_json(recorded, capsys):
    project, sid = recorded
    code, out, err = run(capsys, "show", sid, "--project", str(project))
    assert code == 0 and err == ""
    assert "session %s  (ended, reason logout)" % sid in out
    for text in (
        "user_prompt",
        "fix the date parser",
        "mcp__github__create_issue",
        "FAILED: cat: missing.json",
        "subagent_stop",
        "reason logout",
    ):
        assert text in out
    code, out, _ = run(capsys, "show", sid, "--project", str(project), "--json")
    session = json.loads(out)
    assert session["metadata"]["session_id"] == sid
    assert [event["id"] for event in session["events"]] == list(range(1, 19))
    assert session["end"]["reason"] == "logout" and session["summary"]["tool_calls"] == 7


def test_id_prefix_and_latest(recorded, capsys):
    project, sid = recorded
    assert json.loads(run(capsys, "show", "latest", "--json", "--project", str(project))[1])["session_id"] == sid
    assert json.loads(run(capsys, "stats", sid[:22], "--json", "--project", str(project))[1])["session_id"] == sid


def test_tail_last_records(recorded, capsys):
    project, sid = recorded
    code, out, _ = run(capsys, "tail", sid, "-n", "3", "--project", str(project))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3 and "subagent_stop" in lines[0] and "end" in lines[2]
    code, out, _ = run(capsys, "tail", sid, "-n", "2", "--json", "--project", str(project))
    assert [json.loads(line)["type"] for line in out.splitlines()] == ["stop", "end"]


def test_tail_follow_an_active_session(project, capsys):
    sid = record_session(project, [tool_event(1)], end=False)
    append_raw(project, sid, b'{"type":"event","id":2,"tool_na')  # a torn line left by a dead writer
    started = threading.Event()

    def agent():
        started.wait(10)
        for index in range(2, 5):
            threading.Event().wait(0.05)
            nova_session.append_event(sid, tool_event(index, "Bash"), project)
        nova_session.finalize_session(sid, project, reason="logout")

    thread = threading.Thread(target=agent)
    thread.start()
    try:
        started.set()
        code, out, err = run(
            capsys, "tail", "-f", sid, "--json", "--interval", "0.02", "--timeout", "20", "--project", str(project)
        )
    finally:
        thread.join()
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r.get("id") for r in records if r["type"] == "event"] == [1, 2, 3, 4]
    assert records[-1]["type"] == "end"
    assert "torn or unparsable" in err


def test_stats_text_and_json(recorded, capsys):
    project, sid = recorded
    code, out, _ = run(capsys, "stats", sid, "--project", str(project))
    assert code == 0
    assert "MCP servers: github 1" in out and "skills: pdf 1" in out and "slowest:" in out
    assert "files touched (" in out and "dates.py" in out
    stats = json.loads(run(capsys, "stats", sid, "--json", "--project", str(project))[1])
    assert stats["by_tool"]["Bash"] == 2 and stats["by_verdict"] == {"allowed": 7}


def test_verify_exit_status(recorded, capsys):
    project, sid = recorded
    code, out, _ = run(capsys, "verify", sid, "--project", str(project))
    assert code == 0 and ": OK (" in out
    bad = record_session(project, [tool_event(1)], end=False)
    append_raw(project, bad, b'{"type":"event","id":4}\n{"type":"event","id":5,"tool')
    clear_active_mark(project, bad)
    code, out, _ = run(capsys, "verify", bad, "--project", str(project))
    assert code == 1
    assert "line 3: id_gap" in out and "line 4: torn" in out and "missing_end" in out
    code, out, _ = run(capsys, "verify", bad, "--json", "--project", str(project))
    result = json.loads(out)
    assert code == 1 and result["ok"] is False and result["problem_count"] == 3


def test_export_formats(recorded, capsys, tmp_path):
    project, sid = recorded
    append_raw(project, sid, b"junk\n")
    code, out, err = run(capsys, "export", sid, "--format", "jsonl", "--project", str(project))
    assert code == 0 and "skipped 1" in err
    with open(session_file(project, sid), "rb") as handle:
        valid = [line for line in handle.read().decode().splitlines() if line != "junk"]
    assert out.splitlines() == valid
    session = json.loads(run(capsys, "export", sid, "--format", "json", "--project", str(project))[1])
    assert len(session["events"]) == 18
    assert json.loads(run(capsys, "export", sid, "--json", "--project", str(project))[1]) == session
    markdown = run(capsys, "export", sid, "--format", "md", "--project", str(project))[1]
    assert markdown.startswith("# nova session") and "## Timeline" in markdown and "fix the date parser" in markdown
    target = tmp_path / "out.md"
    code, _, err = run(capsys, "export", sid, "--format", "md", "-o", str(target), "--project", str(project))
    assert code == 0 and target.read_text("utf-8").rstrip("\n") == markdown.rstrip("\n")


def test_report_command(recorded, capsys):
    project, sid = recorded
    code, out, _ = run(capsys, "report", sid, "--json", "--project", str(project))
    assert code == 0
    path = json.loads(out)["report"]
    assert path == os.path.join(os.path.realpath(str(project)), ".nova-protector", "reports", sid + ".html")
    with open(path, encoding="utf-8") as handle:
        assert "fix the date parser" in handle.read()


@pytest.mark.parametrize("command", ("list",) + COMMANDS_WITH_ID)
def test_missing_project(command, tmp_path, capsys):
    args = [command] + ([] if command == "list" else ["2026-01-10_16-30-45_a1b2c3"])
    code, out, err = run(capsys, *args, "--project", str(tmp_path / "missing"))
    assert code == 3 and out == ""
    assert "does not exist" in err


@pytest.mark.parametrize("command", COMMANDS_WITH_ID)
def test_unknown_id_suggests(command, recorded, capsys):
    project, sid = recorded
    typo = sid[:-2] + "zz"
    code, out, err = run(capsys, command, typo, "--project", str(project))
    assert code == 4 and out == ""
    assert "no session %r" % typo in err and "did you mean: %s?" % sid in err


def test_corrupt_session_reports_what_it_can_read(project, capsys):
    sid = record_session(project, [tool_event(1), tool_event(2)])
    path = session_file(project, sid)
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    lines[2] = b'{"type":"event","id":2,"tool\xff\xfe broken'
    with open(path, "wb") as handle:
        handle.write(b"\n".join(lines))
    code, out, err = run(capsys, "show", sid, "--project", str(project))
    assert code == 0 and "#1" in out and "skipped 1 torn or unparsable line" in err
    code, out, _ = run(capsys, "verify", sid, "--project", str(project))
    assert "line 3: unparsable: not a JSON object (invalid UTF-8)" in out
    # The record after it linked to what line 3 was: the chain shows the edit (exit 6).
    assert code == 6 and "line 4: broken_link" in out


def test_terminal_output_neutralises_escape_sequences(project, capsys):
    sid = record_session(project, [{"type": "user_prompt", "prompt": "\x1b]0;pwned\x07\x1b[2J hello"}])
    out = run(capsys, "show", sid, "--project", str(project))[1]
    assert "\x1b" not in out and "\x07" not in out and "\\x1b]0;pwned\\x07" in out


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_the_hook_command_loads_none_of_the_reading_machinery(tmp_path, backend):
    """``nova-session hook EVENT`` is the hot path: it records without argparse, the readers,
    the report, and (on the Rust kernel) the Python redaction engine."""
    code = (
        "import sys; from nova_session import cli; status = cli.main(['hook', 'Stop']); "
        "heavy = ('argparse', 'nova_session.reading', 'nova_session.report', 'nova_session._python_redact'); "
        "sys.stderr.write(repr((status, sorted(name for name in heavy if name in sys.modules))))"
    )
    payload = {"session_id": "fast", "cwd": str(tmp_path), "hook_event_name": "Stop"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", code],
        input=json.dumps(payload).encode(),
        env=dict(os.environ, CLAUDE_PROJECT_DIR=str(tmp_path), NOVA_SESSION_BACKEND=backend),
        capture_output=True,
        timeout=60,
    )
    status, loaded = ast.literal_eval(done.stderr.decode())
    assert (status, done.stdout) == (0, b"")
    kernel_own = ["nova_session._python_redact"] if backend == "python" else []
    assert loaded == kernel_own
    assert (tmp_path / ".nova-protector" / "sessions").is_dir()


def test_entry_point_process(recorded):
    project, sid = recorded
    proc = subprocess.run(
        [sys.executable, "-m", "nova_session", "list", "--json", "--project", str(project)],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sessions"][0]["session_id"] == sid
    proc = subprocess.run(
        [sys.executable, "-m", "nova_session", "verify", "nope", "--project", str(project)],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 4 and b"no session 'nope'" in proc.stderr


def test_terminal_output_never_carries_escape_sequences_from_a_session(project, capsys):
    sid = record_session(project, [tool_event(1)], end=False)
    hostile = {
        "type": "event",
        "id": "\u001b]0;PWNED\u0007\u001b[2J",
        "tool_name": "Bash",
        "duration_ms": 5,
        "timestamp_end": "2026-01-01T00:00:11\u001b[2J",
    }
    append_raw(project, sid, json.dumps(hostile).encode() + b"\n")
    for command in (["show", sid], ["tail", sid], ["stats", sid]):
        code, out, err = run(capsys, *command, "--project", str(project))
        assert "\x1b" not in out and "\x07" not in out, command


def test_list_survives_an_init_whose_timestamp_is_not_a_string(project, capsys):
    sessions = project / ".nova-protector" / "sessions"
    record_session(project, [tool_event(1)])
    (sessions / "2026-01-01_00-00-01_aaaaaa.jsonl").write_text(
        '{"type":"init","session_id":"2026-01-01_00-00-01_aaaaaa","timestamp":12345}\n', "utf-8"
    )
    (sessions / "2026-01-01_00-00-01_bbbbbb.jsonl").write_text(
        '{"type":"init","session_id":"2026-01-01_00-00-01_bbbbbb","timestamp":"2026-01-01T00:00:01.500Z"}\n', "utf-8"
    )
    code, out, err = run(capsys, "list", "--project", str(project))
    assert code == 0 and "2026-01-01_00-00-01_aaaaaa" in out and "2026-01-01_00-00-01_bbbbbb" in out


def test_markdown_export_keeps_long_values_whole(project, capsys):
    sid = record_session(project, [{"tool_name": "Read", "tool_output": "A" * 300000 + "TAIL"}])
    code, out, err = run(capsys, "export", sid, "--format", "md", "--project", str(project))
    assert code == 0 and "A" * 300000 + "TAIL" in out
