"""Reading sessions (nova_session.reading): discovery, state, the tolerant streaming
parser, summaries, stats, verify and follow, on sessions recorded through the
public API and through the hooks.

The helpers at the top (``record_session``, ``hook_session``, ``tool_event``)
are shared by test_cli_read.py and test_report.py.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import tracemalloc

import pytest

import nova_session
from nova_session import hooks, reading

# ------------------------------------------------------------------ helpers


def tool_event(index: int, tool: str = "Read", **extra) -> dict:
    event = {
        "timestamp_start": "2026-01-10T16:30:%02d.000Z" % (index % 60),
        "timestamp_end": "2026-01-10T16:30:%02d.250Z" % (index % 60),
        "duration_ms": 250 + index,
        "tool_name": tool,
        "tool_input": {"file_path": "/p/src/file_%d.py" % index},
        "tool_output": "output of event %d" % index,
        "working_dir": "/p",
        "files_accessed": ["/p/src/file_%d.py" % index],
        "nova_verdict": "allowed",
        "nova_severity": None,
        "nova_rules_matched": [],
        "nova_scan_time_ms": 0,
    }
    event.update(extra)
    return event


def record_session(project, events=(), end: bool = True, **end_extra) -> str:
    """A session recorded through the public API: init, the events, then (if end) the end record."""
    sid = nova_session.generate_session_id()
    assert nova_session.init_session_file(sid, project, claude_session_id="claude-test") is not None
    for event in events:
        assert nova_session.append_event(sid, event, project)
    if end:
        assert nova_session.finalize_session(sid, project, **end_extra) is not None
    return sid


def session_file(project, sid) -> str:
    return os.path.join(str(project), ".nova-protector", "sessions", sid + ".jsonl")


def hook_session(project, monkeypatch, claude: str = "claude-hooks", end: bool = True) -> str:
    """A realistic session recorded by running the hooks in-process: a prompt, tools, MCP,
    a Skill, a failure, a subagent; returns its nova session id."""
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    root = str(project)

    def hook(event, **fields):
        payload = {"session_id": claude, "cwd": root, "hook_event_name": event, "transcript_path": "/t.jsonl"}
        payload.update(fields)
        assert hooks.run(event, json.dumps(payload).encode("utf-8")) == 0

    def tool(use_id, name, tool_input, response=None, error=None):
        hook("PreToolUse", tool_name=name, tool_input=tool_input, tool_use_id=use_id)
        # Claude Code's own duration_ms (since 2.1.119): what the records keep
        took = 10 * int(use_id[1:])
        if error is None:
            hook(
                "PostToolUse",
                tool_name=name,
                tool_input=tool_input,
                tool_response=response,
                tool_use_id=use_id,
                duration_ms=took,
            )
        else:
            hook(
                "PostToolUseFailure",
                tool_name=name,
                tool_input=tool_input,
                tool_use_id=use_id,
                error=error,
                duration_ms=took,
            )

    hook("SessionStart", source="startup", model="claude-test")
    hook("UserPromptSubmit", prompt="fix the date parser")
    tool("t1", "Read", {"file_path": root + "/src/dates.py"}, {"file": {"content": "def parse(): ..."}})
    tool("t2", "Bash", {"command": "pytest -q > pytest.log 2>&1"}, {"stdout": "1 failed", "stderr": ""})
    tool("t3", "Edit", {"file_path": root + "/src/dates.py", "old_string": "a", "new_string": "b"}, {"ok": True})
    tool("t4", "mcp__github__create_issue", {"title": "ISO dates"}, {"number": 42})
    tool("t5", "Skill", {"skill": "pdf"}, {"result": "done"})
    tool("t6", "Bash", {"command": "cat missing.json"}, error="cat: missing.json: No such file or directory")
    hook("SubagentStart", agent_id="a1", agent_type="reviewer")
    hook(
        "PreToolUse",
        tool_name="Grep",
        tool_input={"pattern": "TODO"},
        tool_use_id="t7",
        agent_id="a1",
        agent_type="reviewer",
    )
    hook(
        "PostToolUse",
        tool_name="Grep",
        tool_input={"pattern": "TODO"},
        tool_response={"filenames": []},
        tool_use_id="t7",
        agent_id="a1",
        agent_type="reviewer",
        duration_ms=12,
    )
    hook("SubagentStop", agent_id="a1", agent_type="reviewer", stop_hook_active=False)
    hook("Stop", stop_hook_active=False)
    if end:
        hook("SessionEnd", reason="logout")
    known = [name for name in os.listdir(os.path.join(root, ".nova-protector", "claude")) if name == claude]
    assert known
    with open(os.path.join(root, ".nova-protector", "claude", claude), encoding="ascii") as handle:
        return handle.read().strip()


def append_raw(project, sid, data: bytes) -> None:
    with open(session_file(project, sid), "ab") as handle:
        handle.write(data)


def clear_active_mark(project, sid) -> None:
    os.unlink(os.path.join(str(project), ".nova-protector", "active", sid))


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "project"
    path.mkdir()
    return path


# ----------------------------------------------------------------- discovery


def test_session_ids_newest_first_and_lookup(project):
    sids = []
    for _ in range(3):
        sids.append(record_session(project, [tool_event(1)]))
        time.sleep(0.003)  # distinct init milliseconds: ids alone only order by second
    root = reading.project_root(str(project))
    ids = reading.session_ids(root)
    assert ids == sorted(sids, reverse=True)
    assert reading.find_session(root, "latest") == sids[-1]
    assert [item["session_id"] for item in reading.list_sessions(root)] == sorted(
        sids, key=lambda sid: (sid[:19], reading.started_at(root, sid)), reverse=True
    )
    assert reading.find_session(root, sids[1]) == sids[1]
    assert reading.find_session(root, sids[2][:20] + sids[2][20:23]) in sids


def test_unknown_id_suggests_close_matches(project):
    sid = record_session(project)
    root = reading.project_root(str(project))
    typo = sid[:-1] + ("x" if sid[-1] != "x" else "y")
    with pytest.raises(reading.SessionNotFound) as caught:
        reading.find_session(root, typo)
    assert caught.value.suggestions == [sid]
    assert caught.value.exit_code == 4


def test_traversal_query_never_reaches_a_path(project, tmp_path):
    record_session(project)
    outside = tmp_path / "secret.jsonl"
    outside.write_text('{"type":"init"}\n')
    with pytest.raises(reading.SessionNotFound):
        reading.find_session(reading.project_root(str(project)), "../../secret")


def test_missing_project_and_empty_project(tmp_path, project):
    with pytest.raises(reading.ProjectNotFound) as caught:
        reading.project_root(str(tmp_path / "nope"))
    assert caught.value.exit_code == 3
    root = reading.project_root(str(project))
    assert reading.session_ids(root) == []
    assert not (project / ".nova-protector").exists()  # reading creates nothing


def test_states_ended_active_unfinished(project):
    ended = record_session(project, [tool_event(1)])
    active = record_session(project, [tool_event(1)], end=False)
    crashed = record_session(project, [tool_event(1)], end=False)
    clear_active_mark(project, crashed)
    root = reading.project_root(str(project))
    states = {item["session_id"]: item["state"] for item in reading.list_sessions(root)}
    assert states == {ended: "ended", active: "active", crashed: "unfinished"}


# ------------------------------------------------------------------ parsing


def test_raw_lines_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_BYTES", 7)
    path = tmp_path / "lines"
    path.write_bytes(b'{"a":1}\n\n{"long":"' + b"x" * 40 + b'"}\nnot json\n{"torn":')
    fd = os.open(str(path), os.O_RDONLY)
    try:
        lines = list(reading.raw_lines(fd))
    finally:
        os.close(fd)
    assert lines == [
        (1, b'{"a":1}', True),
        (2, b"", True),
        (3, b'{"long":"' + b"x" * 40 + b'"}', True),
        (4, b"not json", True),
        (5, b'{"torn":', False),
    ]


def test_parse_line_accepts_only_objects():
    assert reading.parse_line(b'{"id":1}') == {"id": 1}
    for bad in (b"", b"[1]", b"42", b'{"a":', b'{"a":"\xff"}', b"[" * 100000):
        assert reading.parse_line(bad) is None


def test_summary_counts_and_skips_bad_lines(project):
    sid = record_session(
        project,
        [tool_event(1), tool_event(2, "Bash", nova_verdict="warned"), {"type": "user_prompt", "prompt": "hi"}],
        end=False,
    )
    append_raw(project, sid, b"garbage line\n")
    nova_session.append_event(sid, tool_event(3, "Write", nova_verdict="blocked", is_error=True), project)
    nova_session.finalize_session(sid, project, reason="logout")
    summary = reading.summarize(reading.project_root(str(project)), sid)
    assert summary["state"] == "ended"
    assert summary["events"] == 4 and summary["tool_calls"] == 3 and summary["prompts"] == 1
    assert (summary["warnings"], summary["blocks"], summary["errors"]) == (1, 1, 1)
    assert summary["bad_lines"] == 1
    assert summary["end_reason"] == "logout"
    assert summary["duration_s"] is not None and summary["duration_s"] >= 0


def test_load_session_object(project):
    sid = record_session(project, [tool_event(i) for i in range(1, 6)], reason="clear")
    session = reading.load_session(reading.project_root(str(project)), sid)
    assert session["metadata"]["type"] == "init" and session["metadata"]["session_id"] == sid
    assert [event["id"] for event in session["events"]] == [1, 2, 3, 4, 5]
    assert session["end"]["event_count"] == 5 and session["end"]["reason"] == "clear"
    assert session["summary"]["tool_calls"] == 5 and session["skipped_lines"] == []


# -------------------------------------------------------------------- stats


def test_stats_of_a_hook_recorded_session(project, monkeypatch):
    sid = hook_session(project, monkeypatch)
    stats = reading.session_stats(reading.project_root(str(project)), sid)
    assert stats["by_tool"] == {"Bash": 2, "Edit": 1, "Grep": 1, "Read": 1, "Skill": 1, "mcp__github__create_issue": 1}
    assert stats["by_verdict"] == {"allowed": 7}
    assert stats["errors"] == 1 and stats["prompts"] == 1
    assert stats["mcp_servers"] == {"github": 1}
    assert stats["skills"] == {"pdf": 1}
    root = os.path.realpath(str(project))
    assert stats["files_touched"][os.path.join(root, "src", "dates.py")] == 2
    assert os.path.join(root, "pytest.log") in stats["files_touched"]
    assert stats["tool_duration_ms"]["timed_calls"] == 7  # Claude's own figure on each
    assert stats["tool_duration_ms"]["total"] == 10 + 20 + 30 + 40 + 50 + 60 + 12
    assert stats["by_type"]["subagent_stop"] == 1 and stats["by_type"]["stop"] == 1
    assert stats["by_type"]["tool_start"] == 7 and stats["unfinished_count"] == 0


def test_stats_slowest_and_totals(project):
    durations = [5, 900, 40, 7000, 12, 300, 1]
    sid = record_session(
        project, [tool_event(i, duration_ms=d) for i, d in enumerate(durations)] + [tool_event(99, duration_ms=None)]
    )
    stats = reading.session_stats(reading.project_root(str(project)), sid)
    assert [entry["duration_ms"] for entry in stats["slowest"]] == [7000, 900, 300, 40, 12]
    assert stats["slowest"][0]["id"] == 4
    assert stats["tool_duration_ms"]["total"] == sum(durations)
    assert stats["tool_duration_ms"]["timed_calls"] == len(durations)


# ------------------------------------------------------------------- verify


def test_verify_clean_sessions(project, monkeypatch):
    root = reading.project_root(str(project))
    for sid in (record_session(project, [tool_event(i) for i in range(3)]), hook_session(project, monkeypatch)):
        result = reading.verify(root, sid)
        assert result["ok"], result["problems"]
        assert result["problem_count"] == 0 and result["records"] == result["lines"]


def test_verify_active_session_is_ok_with_a_note(project):
    sid = record_session(project, [tool_event(1)], end=False)
    result = reading.verify(reading.project_root(str(project)), sid)
    assert result["ok"] and result["state"] == "active"
    assert any("active" in note for note in result["notes"])


def test_verify_reports_torn_line_gap_duplicate_and_missing_end(project):
    sid = record_session(project, [tool_event(1), tool_event(2)], end=False)  # lines 1-3, ids 1-2
    append_raw(project, sid, b'{"type":"event","id":5,"tool_name":"Read"}\n')  # line 4: ids 3-4 missing
    append_raw(project, sid, b'{"type":"event","id":5,"tool_name":"Read"}\n')  # line 5: duplicate
    append_raw(project, sid, b"{not json}\n")  # line 6
    append_raw(project, sid, b'{"type":"event","id":6,"tool_n')  # line 7: torn
    clear_active_mark(project, sid)
    result = reading.verify(reading.project_root(str(project)), sid)
    assert not result["ok"]
    found = {(problem["kind"], problem["line"]) for problem in result["problems"]}
    assert found == {("id_gap", 4), ("duplicate_id", 5), ("unparsable", 6), ("torn", 7), ("missing_end", None)}
    gap = [p for p in result["problems"] if p["kind"] == "id_gap"][0]
    assert "3-4" in gap["message"]
    assert result["state"] == "unfinished"


def test_verify_after_a_torn_line_was_repaired_by_the_next_append(project):
    sid = record_session(project, [tool_event(1)], end=False)
    append_raw(project, sid, b'{"type":"event","id":2,"tool')  # a writer died mid-line
    assert nova_session.append_event(sid, tool_event(2), project)  # terminates it, continues at id 2
    nova_session.finalize_session(sid, project)
    result = reading.verify(reading.project_root(str(project)), sid)
    assert [(p["kind"], p["line"]) for p in result["problems"]] == [("unparsable", 3)]
    assert reading.summarize(reading.project_root(str(project)), sid)["tool_calls"] == 2


def test_verify_records_after_end_are_a_resume_and_need_their_own_end(project, monkeypatch):
    root = reading.project_root(str(project))
    sid = record_session(project, [tool_event(1)])
    nova_session.append_event(sid, tool_event(2), project)
    result = reading.verify(root, sid)
    kinds = [problem["kind"] for problem in result["problems"]]
    assert kinds == ["missing_end"]
    assert "continued after an end record 1 time (resumed)" in result["notes"]
    # README, "Records": the second end record counts both events, not the first end record.
    nova_session.finalize_session(sid, project)
    records = nova_session.read_session_events(sid, project)
    assert [r["type"] for r in records][-1] == "end" and records[-1]["event_count"] == 2
    assert reading.verify(root, sid)["ok"]
    resumed = hook_session(project, monkeypatch, claude="claude-resume")
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    payload = {"session_id": "claude-resume", "cwd": str(project), "source": "resume"}
    hooks.run("SessionStart", json.dumps(payload).encode())
    hooks.run("UserPromptSubmit", json.dumps(dict(payload, prompt="again")).encode())
    hooks.run("SessionEnd", json.dumps(dict(payload, reason="logout")).encode())
    result = reading.verify(root, resumed)
    assert result["ok"], result["problems"]
    assert "continued after an end record 1 time (resumed)" in result["notes"]


def test_verify_first_line_not_init_and_event_count_mismatch(project):
    sid = record_session(project, [tool_event(1)])
    path = session_file(project, sid)
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    end = json.loads(lines[2])
    end["event_count"] = 7
    with open(path, "wb") as handle:
        handle.write(lines[1] + b"\n" + json.dumps(end).encode() + b"\n")
    result = reading.verify(reading.project_root(str(project)), sid)
    kinds = {problem["kind"] for problem in result["problems"]}
    assert {"init", "event_count"} <= kinds


def test_verify_keeps_a_bounded_list_of_problems(project, monkeypatch):
    monkeypatch.setattr(reading, "MAX_PROBLEMS", 10)
    sid = record_session(project, end=False)
    append_raw(project, sid, b"bad\n" * 50)
    result = reading.verify(reading.project_root(str(project)), sid)
    assert result["problem_count"] == 50 and len(result["problems"]) == 10
    assert result["problems_by_kind"] == {"unparsable": 50}


# ------------------------------------------------------------ read-only, memory


def _tree(path) -> dict:
    result = {}
    for directory, _, files in os.walk(str(path)):
        for name in files:
            full = os.path.join(directory, name)
            info = os.lstat(full)
            with open(full, "rb") as handle:
                result[full] = (handle.read(), stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return result


def test_reading_never_writes(project, monkeypatch):
    sid = hook_session(project, monkeypatch, end=False)
    append_raw(project, sid, b'{"torn')
    before = _tree(project)
    root = reading.project_root(str(project))
    reading.list_sessions(root)
    reading.load_session(root, sid)
    reading.session_stats(root, sid)
    reading.verify(root, sid)
    reading.tail_records(root, sid, 5)
    list(reading.raw_records(root, sid))
    assert _tree(project) == before


def test_symlinked_session_file_is_refused(project, tmp_path):
    sid = record_session(project)
    target = tmp_path / "elsewhere.jsonl"
    os.replace(session_file(project, sid), str(target))
    os.symlink(str(target), session_file(project, sid))
    with pytest.raises(reading.ReadError):
        reading.verify(reading.project_root(str(project)), sid)


def test_streaming_memory_does_not_grow_with_the_session(project):
    sid = record_session(project, end=False)
    path = session_file(project, sid)
    nova_session.sessions.kernel.append_records(
        path, [tool_event(i, tool_output="y" * 4000) for i in range(2500)], False
    )
    size = os.path.getsize(path)
    root = reading.project_root(str(project))
    for function in (reading.summarize, reading.session_stats, reading.verify):
        tracemalloc.start()
        try:
            function(root, sid)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert size > 10_000_000
        assert peak < 4 * reading.CHUNK_BYTES, (function.__name__, peak)


# -------------------------------------------------------------------- follow


def test_tail_records_and_follow_a_partly_written_line(project):
    sid = record_session(project, [tool_event(i) for i in range(1, 6)], end=False)
    root = reading.project_root(str(project))
    last, offset, bad, ended = reading.tail_records(root, sid, 2)
    assert [record["id"] for record in last] == [4, 5] and bad == [] and ended is False
    assert offset == os.path.getsize(session_file(project, sid))
    line = json.dumps({"type": "event", "id": 6, "tool_name": "Bash"}).encode() + b"\n"
    first_half = threading.Event()

    def writer():
        append_raw(project, sid, line[:10])
        first_half.set()
        threading.Event().wait(0.3)
        append_raw(project, sid, line[10:])
        nova_session.finalize_session(sid, project)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = [record for record, _ in reading.follow(root, sid, offset, interval=0.02, timeout=20)]
    finally:
        thread.join()
    assert first_half.is_set()
    assert [record.get("id") for record in seen] == [6, None]
    assert seen[-1]["type"] == "end"


def test_follow_stops_at_once_on_a_session_that_already_ended(project):
    sid = record_session(project, [tool_event(1)], end=True)
    root = reading.project_root(str(project))
    last, offset, bad, ended = reading.tail_records(root, sid, 0)
    assert last == [] and ended is True
    assert list(reading.follow(root, sid, offset, interval=0.01, timeout=30, ended=ended)) == []


def test_a_marked_session_silent_for_hours_is_unfinished_not_active(project, monkeypatch):
    """A crashed agent never sends SessionEnd: its mark stays, its file goes quiet."""
    sid = nova_session.generate_session_id()
    nova_session.init_session_file(sid, project)
    nova_session.append_event(sid, {"tool_name": "Bash"}, project)
    root = reading.project_root(str(project))
    assert reading.session_state(root, sid, "event") == reading.STATE_ACTIVE
    old = time.time() - reading.ACTIVE_WINDOW_SECONDS - 60
    os.utime(session_file(project, sid), (old, old))
    assert reading.session_state(root, sid, "event") == reading.STATE_UNFINISHED
    assert reading.verify(root, sid)["ok"] is False


def _strptime_seconds(value):
    """parse_time as it was written first, with time.strptime: the reference."""
    import calendar
    import time

    try:
        seconds = float(calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None
    fraction = value[19:].rstrip("Z")
    return seconds + float(fraction) if fraction.startswith(".") and fraction[1:].isdigit() else seconds


def test_parse_time_reads_what_strptime_reads():
    """The arithmetic fast path agrees with time.strptime on valid, invalid and odd stamps."""
    import random

    odd = [
        "2026-01-10T16:30:45.123Z",
        "2024-02-29T23:59:60",
        "9999-12-31T23:59:61.5",
        "0001-01-01T00:00:00",
        "1969-12-31T23:59:59.999Z",
        "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00",
        "2026-13-01T00:00:00",
        "0000-01-01T00:00:00",
        "2026-01-10T24:00:00",
        "2026-01-10T23:60:00",
        "2026-01-10T23:59:62",
        "2026-1-10T23:59:59Z",
        "2026-01-10 23:59:59",
        "2026-01-1\u0663T23:59:59",
        "2026-01-10T23:59:5\u00b2",
        "2026-01-10T23:59:-1",
        "2026-01-10T23:59:59.٣٣٣Z",
        "2026-01-10T23:59:5².000Z",
        "2026-01-10T23:59:62.000Z",
        "2026-01-10T23:59:59.-01Z",
    ]
    rnd = random.Random(7)
    for _ in range(20_000):
        if rnd.random() < 0.8:
            parts = (rnd.randint(0, 9999), rnd.randint(0, 13), rnd.randint(0, 32))
            clock = (rnd.randint(0, 25), rnd.randint(0, 61), rnd.randint(0, 63))
            odd.append("%04d-%02d-%02dT%02d:%02d:%02d" % (parts + clock))
            odd.append(odd[-1] + rnd.choice((".%03dZ" % rnd.randint(0, 999), ".5Z", ".%03d" % rnd.randint(0, 999))))
        else:
            odd.append("".join(rnd.choice("0123456789-T:") for _ in range(19)))
    for stamp in odd:
        assert reading.parse_time(stamp) == _strptime_seconds(stamp), stamp
    assert reading.parse_time("2026-01-10") is None and reading.parse_time(None) is None


def test_a_snapshot_reads_the_same_bytes_while_the_file_grows(project):
    """Two readers given one snapshot read the same lines, whatever is appended meanwhile."""
    sid = record_session(project, [tool_event(1), tool_event(2)], end=False)
    root = reading.project_root(str(project))
    snapshot = reading.open_snapshot(reading.session_path(root, sid))
    try:
        nova_session.append_event(sid, tool_event(3), project)
        first = reading.load_session(root, sid, lines=True, snapshot=snapshot)
        nova_session.append_event(sid, tool_event(4), project)
        second = reading.load_session(root, sid, snapshot=snapshot)
    finally:
        os.close(snapshot[0])
    assert [r["id"] for r in first["events"]] == [r["id"] for r in second["events"]] == [1, 2]
    assert len(first["lines"]) == 3 and len(reading.load_session(root, sid)["events"]) == 4
