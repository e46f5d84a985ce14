"""Cursor runs the hooks of ``.claude/settings.json`` with payloads of its own
(``conversation_id``, ``cursor_version``, ``workspace_roots``, camelCase event names,
per-kind events such as ``beforeShellExecution``). ``agents.normalise`` maps them onto
the Claude Code event and fields they stand for; the records say ``"agent": "cursor"``.
"""

from __future__ import annotations

import json
import logging

import pytest

from nova_session import agents, hooks, scanner, sessions

from support import chained_records, nova_warnings

CONVERSATION = "c0a1b2c3-d4e5-4f60-8a9b-0c1d2e3f4a5b"


def cursor_payload(cursor_event: str, roots: list, **fields) -> dict:
    """The fields every Cursor hook payload carries, then the event's own."""
    payload = {
        "conversation_id": CONVERSATION,
        "generation_id": "gen-0001",
        "model": "claude-4.5-sonnet",
        "hook_event_name": cursor_event,
        "cursor_version": "2.0.77",
        "workspace_roots": roots,
        "user_email": "dev@example.com",
    }
    payload.update(fields)
    return payload


# ------------------------------------------------------------- agents.normalise


def test_claude_code_payloads_are_used_as_they_are():
    payload = {"session_id": "s", "cwd": "/p", "hook_event_name": "PostToolUse", "tool_name": "Bash"}
    event, fields, agent = agents.normalise("PostToolUse", dict(payload))
    assert (event, fields, agent) == ("PostToolUse", payload, "claude-code")
    # A conversation_id beside a session_id, without cursor_version, is still Claude Code's.
    both = dict(payload, conversation_id="c")
    assert agents.normalise("PostToolUse", both) == ("PostToolUse", both, "claude-code")


@pytest.mark.parametrize(
    "payload, expected",
    [
        ({"cursor_version": "2.0.77", "session_id": "s"}, True),
        ({"conversation_id": "c"}, True),
        ({"conversation_id": "c", "session_id": "s"}, False),
        ({"session_id": "s"}, False),
        ({}, False),
    ],
)
def test_is_cursor(payload, expected):
    assert agents.is_cursor(payload) is expected


@pytest.mark.parametrize(
    "cursor_event, claude_event",
    [
        ("sessionStart", "SessionStart"),
        ("sessionEnd", "SessionEnd"),
        ("beforeSubmitPrompt", "UserPromptSubmit"),
        ("preToolUse", "PreToolUse"),
        ("postToolUse", "PostToolUse"),
        ("postToolUseFailure", "PostToolUseFailure"),
        ("beforeShellExecution", "PreToolUse"),
        ("afterShellExecution", "PostToolUse"),
        ("beforeMCPExecution", "PreToolUse"),
        ("afterMCPExecution", "PostToolUse"),
        ("beforeReadFile", "PreToolUse"),
        ("afterFileEdit", "PostToolUse"),
        ("subagentStart", "SubagentStart"),
        ("subagentStop", "SubagentStop"),
        ("preCompact", "PreCompact"),
        ("stop", "Stop"),
        ("afterAgentResponse", "AgentResponse"),
        ("afterAgentThought", "AgentThought"),
    ],
)
def test_cursor_events_map_to_claude_code_events(cursor_event, claude_event):
    event, fields, agent = agents.normalise("Notification", cursor_payload(cursor_event, ["/w"]))
    assert (event, agent) == (claude_event, "cursor")
    assert (fields["hook_event_name"], fields["cursor_event"]) == (claude_event, cursor_event)
    assert (fields["session_id"], fields["cwd"]) == (CONVERSATION, "/w")


def test_an_unknown_cursor_event_keeps_the_hooks_own_event():
    event, fields, agent = agents.normalise("Notification", cursor_payload("afterTabFileEdit", ["/w"]))
    assert (event, agent, fields["hook_event_name"], fields["cursor_event"]) == (
        "Notification",
        "cursor",
        "Notification",
        "afterTabFileEdit",
    )


def test_shell_execution_becomes_bash():
    before = cursor_payload("beforeShellExecution", ["/w"], command="npm test", cwd="/w/pkg")
    event, fields, _ = agents.normalise("PreToolUse", before)
    assert event == "PreToolUse"
    assert (fields["tool_name"], fields["tool_input"], fields["cwd"]) == ("Bash", {"command": "npm test"}, "/w/pkg")
    assert "command" not in fields
    after = cursor_payload("afterShellExecution", ["/w"], command="npm test", output="ok\n", duration=1530)
    event, fields, _ = agents.normalise("PostToolUse", after)
    assert event == "PostToolUse"
    assert (fields["tool_name"], fields["tool_input"]) == ("Bash", {"command": "npm test"})
    assert (fields["tool_response"], fields["duration_ms"]) == ({"output": "ok\n"}, 1530)
    assert not {"command", "output", "duration"} & set(fields)
    assert fields["cwd"] == "/w"  # no cwd of its own: the first workspace root


def test_read_edit_mcp_and_errors():
    _, read, _ = agents.normalise(
        "PreToolUse", cursor_payload("beforeReadFile", ["/w"], file_path="/w/.env", content="K=v")
    )
    assert (read["tool_name"], read["tool_input"], read["content"]) == ("Read", {"file_path": "/w/.env"}, "K=v")
    edits = [{"old_string": "a", "new_string": "b"}]
    _, edit, _ = agents.normalise(
        "PostToolUse", cursor_payload("afterFileEdit", ["/w"], file_path="/w/m.ts", edits=edits)
    )
    assert (edit["tool_name"], edit["tool_input"]) == ("Edit", {"file_path": "/w/m.ts", "edits": edits})
    assert "file_path" not in edit and "edits" not in edit
    mcp = cursor_payload(
        "afterMCPExecution",
        ["/w"],
        tool_name="database_query",
        tool_input={"q": 1},
        result_json='{"rows": 2}',
        duration=250,
    )
    _, mcp, _ = agents.normalise("PostToolUse", mcp)
    assert (mcp["tool_name"], mcp["cursor_tool_name"], mcp["tool_response"], mcp["duration_ms"]) == (
        "database_query",
        "database_query",
        '{"rows": 2}',
        250,
    )
    failed = cursor_payload("postToolUseFailure", ["/w"], tool_name="Shell", tool_use_id="c1", error_message="boom")
    _, failed, _ = agents.normalise("PostToolUseFailure", failed)
    assert failed["error"] == "boom" and "error_message" not in failed
    post = cursor_payload("postToolUse", ["/w"], tool_name="Read", tool_use_id="c2", tool_output="text", duration=3)
    _, post, _ = agents.normalise("PostToolUse", post)
    assert (post["tool_response"], post["duration_ms"]) == ("text", 3) and "tool_output" not in post


def test_a_session_id_in_a_cursor_payload_is_kept():
    _, fields, agent = agents.normalise("SessionStart", cursor_payload("sessionStart", ["/w"], session_id="own"))
    assert (fields["session_id"], agent) == ("own", "cursor")


# --------------------------------------------------- a Cursor session, end to end


@pytest.fixture
def cursor(api, project, monkeypatch, caplog, capsys):
    """Run one Cursor hook call in this process: (argv event, payload) -> nothing on stdout, no warning."""
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)  # Cursor does not set it: workspace_roots[0]
    for name in ("NOVA_SESSION_SCANNER", "NOVA_SESSION_MAX_FIELD_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(project.parent)
    monkeypatch.setattr(sessions, "_registry", {})
    scanner.set_scanner(None)

    def call(event: str, payload: dict) -> None:
        capsys.readouterr()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="nova_session"):
            assert hooks.run(event, json.dumps(payload).encode()) == 0
        assert capsys.readouterr().out == ""
        assert nova_warnings(caplog) == []

    yield call
    scanner.set_scanner(None)


def test_a_cursor_session_end_to_end(cursor, project):
    root = str(project)
    roots = [root, root + "-docs"]
    main_ts = root + "/src/main.ts"
    calls = [
        (
            "SessionStart",
            cursor_payload(
                "sessionStart", roots, session_id=CONVERSATION, is_background_agent=False, composer_mode="agent"
            ),
        ),
        ("UserPromptSubmit", cursor_payload("beforeSubmitPrompt", roots, prompt="fix the build", attachments=[])),
        ("PreToolUse", cursor_payload("beforeShellExecution", roots, command="npm test > test.log", cwd=root)),
        (
            "PostToolUse",
            cursor_payload(
                "afterShellExecution",
                roots,
                command="npm test > test.log",
                cwd=root,
                output="1 failing\n",
                duration=1530,
            ),
        ),
        (
            "PreToolUse",
            cursor_payload("beforeReadFile", roots, file_path=main_ts, content="const foo = 1\n", attachments=[]),
        ),
        (
            "PostToolUse",
            cursor_payload(
                "afterFileEdit",
                roots,
                file_path=main_ts,
                edits=[{"old_string": "const foo = 1", "new_string": "const foo = 2"}],
            ),
        ),
        (
            "PreToolUse",
            cursor_payload("preToolUse", roots, tool_name="Grep", tool_input={"pattern": "foo"}, tool_use_id="call_1"),
        ),
        (
            "PostToolUse",
            cursor_payload(
                "postToolUse",
                roots,
                tool_name="Grep",
                tool_input={"pattern": "foo"},
                tool_use_id="call_1",
                tool_output={"filenames": [main_ts]},
                duration=12,
            ),
        ),
        (
            "PreToolUse",
            cursor_payload(
                "preToolUse", roots, tool_name="Shell", tool_input={"command": "make"}, tool_use_id="call_2"
            ),
        ),
        (
            "PostToolUseFailure",
            cursor_payload(
                "postToolUseFailure",
                roots,
                tool_name="Shell",
                tool_input={"command": "make"},
                tool_use_id="call_2",
                error_message="make: *** No targets.",
            ),
        ),
        (
            "PreToolUse",
            cursor_payload(
                "preToolUse", roots, tool_name="Shell", tool_input={"command": "sleep 60"}, tool_use_id="call_3"
            ),
        ),
        ("Notification", cursor_payload("afterAgentResponse", roots, text="Fixed the build.")),
        ("Stop", cursor_payload("stop", roots, status="completed", loop_count=0)),
        ("SessionEnd", cursor_payload("sessionEnd", roots, session_id=CONVERSATION, reason="completed")),
    ]
    for event, payload in calls:
        cursor(event, payload)

    (session_file,) = (project / ".nova-protector" / "sessions").glob("*.jsonl")
    recs = chained_records(session_file.read_bytes())
    assert [r["type"] for r in recs] == [
        "init",
        "user_prompt",
        "tool_start",
        "event",
        "tool_start",
        "event",
        "tool_start",
        "event",
        "tool_start",
        "event",
        "tool_start",
        "agent_response",
        "stop",
        "end",
    ]
    assert all(r["agent"] == "cursor" for r in recs)
    init, prompt, shell_start, shell, read_start, edit, grep_start, grep, make_start, make, _, response, stop, end = (
        recs
    )
    assert (init["claude_session_id"], init["cwd"], init["source"]) == (CONVERSATION, root, "startup")
    assert init["project_dir"] == root
    for record, (_, payload) in zip(recs[1:-1], calls[1:-1]):
        assert record["cursor_event"] == payload["hook_event_name"]
        assert record["cursor_version"] == "2.0.77" and record["conversation_id"] == CONVERSATION
    assert (prompt["prompt"], prompt["hook_event"]) == ("fix the build", "UserPromptSubmit")

    assert (shell_start["tool_name"], shell_start["tool_input"]) == ("Bash", {"command": "npm test > test.log"})
    assert (shell["tool_name"], shell["tool_output"], shell["duration_ms"]) == ("Bash", {"output": "1 failing\n"}, 1530)
    assert shell["files_accessed"] == [root + "/test.log"] and shell["working_dir"] == root
    assert shell["tool_use_id"] is None and shell["timestamp_start"] is None  # Cursor's shell hooks carry no call id
    assert (read_start["tool_name"], read_start["tool_input"]) == ("Read", {"file_path": main_ts})
    assert (edit["tool_name"], edit["files_accessed"], edit["hook_event"]) == ("Edit", [main_ts], "PostToolUse")
    assert edit["tool_input"]["edits"] == [{"old_string": "const foo = 1", "new_string": "const foo = 2"}]

    # Cursor's generic tool hooks carry an id: the call is matched to its start.
    assert grep["timestamp_start"] == grep_start["timestamp"]
    assert (grep["tool_output"], grep["duration_ms"], grep["files_accessed"]) == (
        {"filenames": [main_ts]},
        12,
        [main_ts],
    )
    assert (make["is_error"], make["error"], make["tool_output"]) == (True, "make: *** No targets.", None)
    assert make["timestamp_start"] == make_start["timestamp"]
    assert (response["hook_event"], response["text"]) == ("AgentResponse", "Fixed the build.")
    assert (stop["status"], stop["cursor_event"]) == ("completed", "stop")

    assert (end["reason"], end["claude_session_id"], end["agent"]) == ("completed", CONVERSATION, "cursor")
    assert end["unfinished_tool_calls"] == 1 and [c["tool_use_id"] for c in end["unfinished"]] == ["call_3"]
    assert end["event_count"] == len(recs) - 2
