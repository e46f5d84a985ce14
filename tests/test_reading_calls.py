"""Reading what the hooks record about calls and turns: unfinished (started,
never closed) tool calls in show, stats, verify and the report; which prompt
caused which calls; subagent attribution; a resumed session verifies."""

from __future__ import annotations

import json

from nova_session import cli, hooks, reading, report

from test_reading import record_session, tool_event


def _hooks(project, monkeypatch, claude="claude-calls"):
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))

    def hook(event, **fields):
        payload = {"session_id": claude, "cwd": str(project), "hook_event_name": event, "transcript_path": "/t"}
        payload.update(fields)
        assert hooks.run(event, json.dumps(payload).encode("utf-8")) == 0

    return hook


def denied_session(project, monkeypatch) -> str:
    """Two turns: a Read that finishes, then a Write the user never allowed
    (PreToolUse, PermissionRequest, then nothing), and a subagent's Grep."""
    hook = _hooks(project, monkeypatch)
    hook("SessionStart", source="startup")
    hook("UserPromptSubmit", prompt="read the config", prompt_id="p1")
    hook("PreToolUse", tool_name="Read", tool_input={"file_path": "a.txt"}, tool_use_id="r1", prompt_id="p1")
    hook(
        "PostToolUse",
        tool_name="Read",
        tool_input={"file_path": "a.txt"},
        tool_response={"file": {}},
        tool_use_id="r1",
        prompt_id="p1",
        duration_ms=3,
    )
    hook("UserPromptSubmit", prompt="now write it", prompt_id="p2")
    write = {"file_path": "/etc/motd", "content": "owned"}
    hook("PreToolUse", tool_name="Write", tool_input=write, tool_use_id="w1", prompt_id="p2")
    hook("PermissionRequest", tool_name="Write", tool_input=write, prompt_id="p2")
    hook("SubagentStart", agent_id="ag1", agent_type="Explore", prompt_id="p2")
    grep = {"pattern": "secret"}
    hook("PreToolUse", tool_name="Grep", tool_input=grep, tool_use_id="g1", prompt_id="p2", agent_id="ag1")
    hook(
        "PostToolUse",
        tool_name="Grep",
        tool_input=grep,
        tool_response={},
        tool_use_id="g1",
        prompt_id="p2",
        agent_id="ag1",
        agent_type="Explore",
        duration_ms=5,
    )
    hook("SubagentStop", agent_id="ag1", agent_type="Explore", prompt_id="p2")
    hook("SessionEnd", reason="prompt_input_exit", prompt_id="p2")
    with open(project / ".nova-protector" / "claude" / "claude-calls", encoding="ascii") as handle:
        return handle.read().strip()


def test_the_end_record_lists_the_unfinished_call_with_name_and_input(project, monkeypatch):
    sid = denied_session(project, monkeypatch)
    session = reading.load_session(reading.project_root(str(project)), sid)
    end = session["end"]
    assert end["unfinished_tool_calls"] == 1
    [call] = end["unfinished"]
    assert (call["tool_use_id"], call["tool_name"]) == ("w1", "Write")
    assert call["tool_input"] == {"file_path": "/etc/motd", "content": "owned"}
    assert call["prompt_id"] == "p2" and call["timestamp_start"].endswith("Z")  # ISO, as on the tool_start
    kinds = [r["type"] for r in session["events"]]
    assert kinds.count("tool_start") == 3 and kinds.count("event") == 2 and "permission_request" in kinds


def test_show_stats_verify_and_report_name_the_unfinished_call(project, monkeypatch, capsys):
    sid = denied_session(project, monkeypatch)
    root = reading.project_root(str(project))
    summary = reading.load_session(root, sid)["summary"]
    assert summary["unfinished_count"] == 1 and summary["unfinished_tool_calls"][0]["tool_name"] == "Write"

    assert cli.main(["show", sid, "--project", str(project)]) == 0
    shown = capsys.readouterr().out
    assert "unfinished 1 tool call started and never finished" in shown
    assert "Write /etc/motd" in shown

    assert cli.main(["stats", sid, "--project", str(project)]) == 0
    assert "unfinished: 1 tool call started and never finished" in capsys.readouterr().out

    result = reading.verify(root, sid)
    assert result["ok"], result["problems"]  # a denied call is what happened, not tampering
    assert [c["tool_use_id"] for c in result["unfinished_tool_calls"]] == ["w1"]
    assert any("1 tool call(s) started and never finished" in note for note in result["notes"])

    document = report.render_html(reading.load_session(root, sid))
    assert "UNFINISHED: " in document and "<b>1</b>unfinished call<" in document


def test_turns_tie_calls_to_the_prompt_that_caused_them(project, monkeypatch, capsys):
    sid = denied_session(project, monkeypatch)
    session = reading.load_session(reading.project_root(str(project)), sid)
    assert [(t["turn"], t["prompt_id"], t["prompt"], t["tool_calls"]) for t in session["turns"]] == [
        (1, "p1", "read the config", 1),
        (2, "p2", "now write it", 1),
    ]
    assert cli.main(["show", sid, "--project", str(project)]) == 0
    lines = capsys.readouterr().out.splitlines()
    read_line = next(line for line in lines if "Read " in line and "(start)" not in line)
    grep_line = next(line for line in lines if "Grep " in line and "(start)" not in line)
    assert " T1 " in read_line and " T2 " in grep_line
    assert "[agent Explore ag1]" in grep_line and "[agent" not in read_line
    # The report's rows (drawn by its script from the embedded data) carry the turn too.
    document = report.render_html(session)
    data = json.loads(document.split('<script type="application/json" id="report-data">')[1].split("</script>")[0])
    turns = {row[5]: row[3] for row in data["rows"] if row[0].startswith("k-event")}
    assert turns["Read"] == "T1" and turns["Grep"] == "T2"


def test_a_stop_without_a_start_reads_as_a_helper_agent(project, monkeypatch):
    hook = _hooks(project, monkeypatch, claude="claude-compact")
    hook("SessionStart", source="startup")
    hook("PreCompact", trigger="manual", custom_instructions=None)
    hook("SubagentStop", agent_id="x1", agent_type="", stop_hook_active=False)
    hook("PostCompact", trigger="manual", compact_summary="the summary")
    with open(project / ".nova-protector" / "claude" / "claude-compact", encoding="ascii") as handle:
        sid = handle.read().strip()
    records = reading.load_session(reading.project_root(str(project)), sid)["events"]
    assert [r["type"] for r in records] == ["pre_compact", "helper_agent_stop", "post_compact"]
    assert "helper agent" in reading.record_summary(records[1])
    assert records[2]["compact_summary"] == "the summary"


def test_a_file_with_an_end_record_per_process_verifies(project):
    """README, "Records": each process of a resumed session ends it again."""
    sid = record_session(project, [tool_event(1)])
    root = reading.project_root(str(project))
    import nova_session

    for n in (2, 3):
        assert nova_session.append_event(sid, {"type": "session_start", "source": "resume"}, project)
        assert nova_session.append_event(sid, tool_event(n), project)
        assert nova_session.finalize_session(sid, project, reason="other")
    records = nova_session.read_session_events(sid, project)
    assert [r["event_count"] for r in records if r["type"] == "end"] == [1, 3, 5]
    result = reading.verify(root, sid)
    assert result["ok"], result["problems"]
    assert "continued after an end record 2 times (resumed)" in result["notes"]


def test_hostile_records_of_the_new_types_read_without_a_crash(project, capsys):
    """A hand-edited file: ids that are not strings, lists that are not lists, escape
    sequences and bidirectional overrides in labels; every reader copes, nothing raw reaches
    the terminal or the HTML."""
    sid = record_session(project, [tool_event(1)])
    hostile = [
        {"type": "tool_start", "id": 3, "tool_use_id": {"a": 1}, "tool_name": "Bash\x1b[2J"},
        {"type": "event", "id": 4, "tool_use_id": ["x"], "tool_name": "Bash"},
        {"type": "tool_batch", "id": 5, "tool_use_ids": {"not": "a list"}},
        {"type": "user_prompt", "id": 6, "prompt": "hi\u202eevil", "prompt_id": {"x": 1}},
        {
            "type": "tool_start",
            "id": 7,
            "tool_use_id": "t9",
            "tool_name": "Read",
            "agent_id": "\x1b]0;pwn\x07",
            "agent_type": "\u202egpj.exe",
            "prompt_id": "p",
        },
    ]
    path = project / ".nova-protector" / "sessions" / ("%s.jsonl" % sid)
    with open(path, "a", encoding="utf-8") as handle:
        for record in hostile:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    for command in (["show"], ["show", "--json"], ["verify"], ["stats"], ["report"]):
        capsys.readouterr()
        assert cli.main([*command, sid, "--project", str(project)]) in (0, 1)
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out, command
    document = report.render_html(reading.load_session(reading.project_root(str(project)), sid))
    assert "\x1b" not in document and "\u202e" not in document
