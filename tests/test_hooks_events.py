"""Every hook event, in process (``hooks.run`` on each backend through the ``api`` fixture):
the record each registered event writes, ``tool_start``, the one closing tool event of
each call (PostToolUse, PostToolUseFailure, PermissionDenied, PostToolBatch, in either
order), subagents and helper agents, SessionEnd with its unfinished calls, and prompt_id
on every record. The installed commands racing to close calls, and pending starts the
tool tampered with, are in test_hooks.py; Cursor's payloads in test_cursor.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from nova_session import hooks, install, scanner, sessions

from support import HOOK_END_KEYS, START_KEYS, TOOL_KEYS, VERDICT_KEYS, chained_records, nova_warnings

TOOL_START_KEYS = START_KEYS + ["tool_use_id", "tool_name", "tool_input", "working_dir"]

# The record type each registered event writes (a SubagentStop without a seen start is a helper's).
RECORD_TYPES = {
    "SessionStart": "init",
    "Setup": "setup",
    "InstructionsLoaded": "instructions_loaded",
    "UserPromptSubmit": "user_prompt",
    "UserPromptExpansion": "user_prompt_expansion",
    "PreToolUse": "tool_start",
    "PermissionRequest": "permission_request",
    "PermissionDenied": "event",
    "PostToolUse": "event",
    "PostToolUseFailure": "event",
    "PostToolBatch": "tool_batch",
    "Notification": "notification",
    "SubagentStart": "subagent_start",
    "SubagentStop": "helper_agent_stop",
    "TaskCreated": "task_created",
    "TaskCompleted": "task_completed",
    "Stop": "stop",
    "StopFailure": "stop_failure",
    "TeammateIdle": "teammate_idle",
    "ConfigChange": "config_change",
    "CwdChanged": "cwd_changed",
    "DirectoryAdded": "directory_added",
    "FileChanged": "file_changed",
    "WorktreeRemove": "worktree_remove",
    "PreCompact": "pre_compact",
    "PostCompact": "post_compact",
    "PreModelSwitch": "pre_model_switch",
    "PostModelSwitch": "post_model_switch",
    "PreSkillShellCommand": "pre_skill_shell_command",
    "Elicitation": "elicitation",
    "ElicitationResult": "elicitation_result",
    "SessionEnd": "end",
}
# Events whose record is more than the payload's own fields.
SPECIAL = {"SessionStart", "PreToolUse", "PermissionDenied", "PostToolUse", "PostToolUseFailure", "PostToolBatch"}


class Claude:
    """One Claude Code session whose hook calls run in this process."""

    def __init__(self, project: Path, caplog, capsys, session_id: str = "claude-1"):
        self.project = project
        self.caplog = caplog
        self.capsys = capsys
        self.session_id = session_id
        self.cwd = str(project)

    def payload(self, event: str, **fields) -> dict:
        data = {
            "session_id": self.session_id,
            "transcript_path": "/home/u/.claude/projects/p/%s.jsonl" % self.session_id,
            "cwd": self.cwd,
            "hook_event_name": event,
            "permission_mode": "default",
        }
        data.update(fields)
        return data

    def __call__(self, event: str, warnings: int = 0, raw: bytes | None = None, **fields) -> None:
        """hooks.run(event) with this session's payload: exit 0, nothing on stdout, ``warnings`` warnings."""
        data = raw if raw is not None else json.dumps(self.payload(event, **fields)).encode()
        self.capsys.readouterr()
        self.caplog.clear()
        with self.caplog.at_level(logging.WARNING, logger="nova_session"):
            assert hooks.run(event, data) == 0
        assert self.capsys.readouterr().out == ""
        logged = [w.getMessage() for w in nova_warnings(self.caplog)]
        assert len(logged) == warnings, logged

    def pre(self, tool_use_id, name="Bash", tool_input=None, **fields) -> None:
        tool_input = {"command": "ls"} if tool_input is None else tool_input
        self("PreToolUse", tool_name=name, tool_input=tool_input, tool_use_id=tool_use_id, **fields)

    def post(self, tool_use_id, name="Bash", tool_input=None, tool_response=None, **fields) -> None:
        tool_input = {"command": "ls"} if tool_input is None else tool_input
        response = {"stdout": "ok\n"} if tool_response is None else tool_response
        self(
            "PostToolUse",
            tool_name=name,
            tool_input=tool_input,
            tool_response=response,
            tool_use_id=tool_use_id,
            **fields,
        )

    @property
    def base(self) -> Path:
        return self.project / ".nova-protector"

    @property
    def sid(self) -> str:
        return (self.base / "claude" / self.session_id).read_text("ascii").strip()

    def records(self) -> list:
        data = (self.base / "sessions" / (self.sid + ".jsonl")).read_bytes()
        assert data.endswith(b"\n")
        return chained_records(data)

    def events(self) -> list:
        return [r for r in self.records() if r["type"] == "event"]


@pytest.fixture
def claude(api, project, monkeypatch, caplog, capsys):
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    for name in ("NOVA_SESSION_SCANNER", "NOVA_SESSION_MAX_FIELD_BYTES", "NOVA_SESSION_FSYNC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sessions, "_registry", {})
    scanner.set_scanner(None)
    yield Claude(project, caplog, capsys)
    scanner.set_scanner(None)


def check_ids(recs: list) -> None:
    ids = [r["id"] for r in recs[1:] if r["type"] != "end"]
    assert ids == list(range(1, len(ids) + 1))


# ------------------------------------------------------------------ events


def test_the_registered_events():
    assert list(hooks.EVENTS) == list(RECORD_TYPES)
    assert len(hooks.EVENTS) == 32
    assert hooks.OPT_IN_EVENTS == ("MessageDisplay",)
    assert "WorktreeCreate" not in hooks.EVENTS + hooks.OPT_IN_EVENTS
    assert [event for event, _, _ in install.hook_events()] == list(hooks.EVENTS)
    assert [event for event, _, _ in install.hook_events(message_display=True)] == list(hooks.EVENTS) + [
        "MessageDisplay"
    ]


@pytest.mark.parametrize("event", list(RECORD_TYPES))
def test_every_registered_event_writes_its_record(claude, event):
    if event == "SessionEnd":
        claude("Stop")
    fields = {"detail": "x"}
    if event in SPECIAL:
        fields.update(tool_name="Read", tool_input={"file_path": "a.txt"}, tool_use_id="t1", tool_response={})
    if event == "PostToolBatch":
        fields = {"tool_calls": [{"tool_name": "Read", "tool_input": {}, "tool_use_id": "t1", "tool_response": "x"}]}
    claude(event, **fields)
    recs = claude.records()
    assert recs[-1]["type"] == RECORD_TYPES[event]
    assert all(r["agent"] == "claude-code" for r in recs)
    if event not in ("SessionStart", "SessionEnd"):
        assert recs[-1]["hook_event"] == event
    if event not in SPECIAL | {"SessionEnd"}:
        assert list(recs[-1]) == START_KEYS + ["detail"] + (VERDICT_KEYS if event == "UserPromptSubmit" else [])
        assert recs[-1]["detail"] == "x"
    check_ids(recs)


def test_message_display_is_recorded_when_installed(claude):
    claude("MessageDisplay", text="Thinking\u2026", message_id="m1")
    (_, record) = claude.records()
    assert list(record) == START_KEYS + ["text", "message_id"]
    assert (record["type"], record["hook_event"]) == ("message_display", "MessageDisplay")


def test_an_unknown_event_is_recorded_generically(claude):
    claude("FutureEvent", alpha=1, nested={"b": [1, 2.5, None]}, prompt_id="p-1")
    init, record = claude.records()
    assert init["type"] == "init" and init["agent"] == "claude-code"
    # The fields every payload carries are not repeated; the rest is kept in payload order.
    assert list(record) == START_KEYS + ["alpha", "nested", "prompt_id"]
    assert record["type"] == "future_event"
    assert (record["hook_event"], record["agent"]) == ("FutureEvent", "claude-code")
    assert (record["alpha"], record["nested"], record["prompt_id"]) == (1, {"b": [1, 2.5, None]}, "p-1")


def test_worktree_create_records_nothing(claude):
    claude("WorktreeCreate", warnings=1, name="feature-x")
    assert list(claude.project.iterdir()) == []
    assert "never recorded" in claude.caplog.records[-1].getMessage()
    # Nor in a session that exists.
    claude("Stop")
    before = claude.records()
    claude("WorktreeCreate", warnings=1, name="feature-y")
    assert claude.records() == before


@pytest.mark.parametrize("name", ["", "Post-Tool", "Post Tool", "1Event", "Stop\n", "\u00c9v\u00e9nement", "E" * 65])
def test_invalid_event_names_are_refused(claude, name):
    claude(name, warnings=1)
    assert list(claude.project.iterdir()) == []


# --------------------------------------------------------------- tool_start


def test_pre_tool_use_writes_tool_start_and_a_pending_start(claude):
    work = claude.project / "pkg"
    work.mkdir()
    claude.cwd = str(work)
    tool_input = {"command": "pytest -q", "description": "run the tests"}
    claude.pre("toolu_1", tool_input=tool_input, prompt_id="p-1", agent_id="a-1", agent_type="Explore", effort="high")
    init, start = claude.records()
    # The payload's own fields first, then the call's.
    assert list(start) == START_KEYS + ["prompt_id", "agent_id", "agent_type", "effort"] + TOOL_START_KEYS[5:]
    assert (start["type"], start["hook_event"], start["agent"]) == ("tool_start", "PreToolUse", "claude-code")
    assert (start["tool_use_id"], start["tool_name"], start["tool_input"]) == ("toolu_1", "Bash", tool_input)
    assert start["working_dir"] == str(work)
    assert [start[k] for k in ("prompt_id", "agent_id", "agent_type", "effort")] == ["p-1", "a-1", "Explore", "high"]
    pending = claude.base / "pending" / claude.sid / "toolu_1"
    assert pending.is_file() and not pending.is_symlink()

    claude.post("toolu_1", tool_input=tool_input)
    assert not pending.exists()
    assert (claude.base / "closed" / claude.sid / "toolu_1").exists()


def test_pre_tool_use_without_an_id_keeps_no_pending_start(claude):
    claude("PreToolUse", tool_name="Read", tool_input={"file_path": "a"})
    (_, start) = claude.records()
    assert list(start) == TOOL_START_KEYS and start["tool_use_id"] is None
    pending = claude.base / "pending"
    assert [p for p in pending.rglob("*") if not p.is_dir()] == []
    # Its closing hook cannot be matched to it: written, with no start time.
    claude("PostToolUse", tool_name="Read", tool_input={"file_path": "a"}, tool_response={})
    (event,) = claude.events()
    assert event["tool_use_id"] is None and event["timestamp_start"] is None


# --------------------------------------------------------------- closing


def test_closing_event_keys_and_the_payloads_other_fields(claude):
    claude.pre("t1", prompt_id="p-1", agent_id="a-1", agent_type="Plan")
    claude.post("t1", duration_ms=12, prompt_id="p-1", agent_id="a-1", agent_type="Plan", future_field={"x": 1})
    _, start, event = claude.records()
    assert list(event) == TOOL_KEYS + ["prompt_id", "agent_id", "agent_type", "future_field"]
    assert event["timestamp_start"] == start["timestamp"]
    assert event["duration_ms"] == 12
    assert (event["tool_output"], event["is_error"], event["hook_event"]) == ({"stdout": "ok\n"}, False, "PostToolUse")
    assert (event["prompt_id"], event["agent_id"], event["agent_type"]) == ("p-1", "a-1", "Plan")
    assert event["future_field"] == {"x": 1}


def test_working_dir_and_files_are_those_of_the_start(claude):
    """After ``cd src && pwd`` Claude Code reports cwd=…/src in PostToolUse; the command ran in the start cwd."""
    project = str(claude.project)
    command = {"command": "cd src && pwd && cat app.py > out.txt"}
    claude.pre("t1", tool_input=command)
    claude.cwd = project + "/src"
    claude.post("t1", tool_input=command, tool_response={"stdout": project + "/src\n"})
    (event,) = claude.events()
    assert event["working_dir"] == project
    assert event["files_accessed"] == [project + "/src", project + "/src/app.py", project + "/src/out.txt"]
    assert not any("/src/src" in path for path in event["files_accessed"])

    # Without a PreToolUse the closing hook's own cwd is all there is.
    claude.post("t2", tool_input={"command": "cat app.py"})
    assert claude.events()[1]["working_dir"] == project + "/src"
    assert claude.events()[1]["files_accessed"] == [project + "/src/app.py"]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("12", 12),
        ("-1", None),
        ("0", 0),
        ("12.5", 12.5),
        ('"12"', None),
        ("true", None),
        ("null", None),
        ("{}", None),
        ("NaN", None),
        ("Infinity", None),
        ("1e400", None),
        (None, None),
    ],
)
def test_duration_ms_is_the_payloads_own(claude, value, expected):
    claude.pre("t1")
    payload = claude.payload("PostToolUse", tool_name="Bash", tool_input={}, tool_response={}, tool_use_id="t1")
    raw = json.dumps(payload)[:-1] + (', "duration_ms": %s}' % value if value is not None else "}")
    claude("PostToolUse", raw=raw.encode())
    (event,) = claude.events()
    assert event["timestamp_start"] is not None  # both hook times are known; duration_ms is never computed
    assert event["duration_ms"] == expected and type(event["duration_ms"]) is type(expected)


def test_post_tool_use_failure(claude):
    claude.pre("t1", tool_input={"command": "false"})
    claude(
        "PostToolUseFailure",
        tool_name="Bash",
        tool_input={"command": "false"},
        tool_use_id="t1",
        error="Exit code 1",
        is_interrupt=False,
        duration_ms=40,
    )
    _, start, event = claude.records()
    assert list(event) == TOOL_KEYS + ["error", "is_interrupt"]
    assert (event["hook_event"], event["is_error"], event["tool_output"]) == ("PostToolUseFailure", True, None)
    assert (event["error"], event["is_interrupt"], event["duration_ms"]) == ("Exit code 1", False, 40)
    assert event["timestamp_start"] == start["timestamp"]


def test_permission_denied_closes_the_call(claude):
    claude.pre("t1", tool_input={"command": "rm -rf build"})
    reason = "Denied by the auto mode classifier"
    claude(
        "PermissionDenied", tool_name="Bash", tool_input={"command": "rm -rf build"}, tool_use_id="t1", reason=reason
    )
    _, start, event = claude.records()
    assert list(event) == TOOL_KEYS + ["reason", "denied", "error"]
    assert (event["hook_event"], event["is_error"], event["denied"]) == ("PermissionDenied", True, True)
    assert event["error"] == event["reason"] == reason
    assert event["tool_output"] is None and event["timestamp_start"] == start["timestamp"]
    assert not (claude.base / "pending" / claude.sid / "t1").exists()
    # A closing hook that follows for the same call records nothing more.
    claude("PostToolUseFailure", tool_name="Bash", tool_input={}, tool_use_id="t1", error="denied")
    claude.post("t1")
    assert len(claude.events()) == 1


def test_mcp_server_from_the_tool_name_and_from_the_payload(claude):
    claude.pre("m1", name="mcp__github__create_issue", tool_input={"title": "x"})
    claude.post("m1", name="mcp__github__create_issue", tool_input={"title": "x"}, tool_response=[])
    server = {"name": "plugin:acme:gh", "source": "plugin"}
    claude.pre("m2", name="mcp__plugin_acme_gh__create_issue", tool_input={}, mcp_server=server)
    claude.post("m2", name="mcp__plugin_acme_gh__create_issue", tool_input={}, tool_response=[], mcp_server=server)
    first, second = claude.events()
    assert list(first) == TOOL_KEYS + ["mcp_server", "mcp_function"]
    assert (first["mcp_server"], first["mcp_function"]) == ("github", "create_issue")
    assert list(second) == TOOL_KEYS + ["mcp_server", "mcp_function", "mcp_server_source"]
    assert (second["mcp_server"], second["mcp_function"]) == ("plugin:acme:gh", "create_issue")
    assert second["mcp_server_source"] == "plugin"
    start = [r for r in claude.records() if r["type"] == "tool_start"][1]
    assert (start["mcp_server"], start["mcp_server_source"]) == ("plugin:acme:gh", "plugin")


def test_a_second_closing_hook_records_nothing(claude):
    claude.pre("t1")
    claude.post("t1")
    claude.post("t1")  # the same hook registered twice
    claude("PostToolUseFailure", tool_name="Bash", tool_input={}, tool_use_id="t1", error="late")
    assert [e["hook_event"] for e in claude.events()] == ["PostToolUse"]


# ------------------------------------------------------------- PostToolBatch


def batch_call(tool_use_id: str, response="done", name="Read") -> dict:
    return {
        "tool_name": name,
        "tool_input": {"file_path": tool_use_id + ".txt"},
        "tool_use_id": tool_use_id,
        "tool_response": response,
    }


def test_post_tool_batch_closes_the_calls_no_per_tool_hook_closed(claude, monkeypatch):
    claude.pre("A", name="Read", tool_input={"file_path": "A.txt"})
    claude.pre("B", name="Read", tool_input={"file_path": "B.txt"}, prompt_id="p-1")
    claude.post("A", name="Read", tool_input={"file_path": "A.txt"}, tool_response={"file": {}})
    appends = []
    real = sessions.append_records
    monkeypatch.setattr(
        sessions, "append_records", lambda sid, root, new: appends.append(len(new)) or real(sid, root, new)
    )
    calls = [
        batch_call("A"),
        batch_call("B", "line 1\nline 2"),
        batch_call("C", "<tool_use_error>No such file</tool_use_error>"),
    ]
    calls[2].update(duration_ms=4, call_note={"kept": True})  # a call's own fields are kept on its event
    claude("PostToolBatch", tool_calls=calls, prompt_id="p-1")
    assert appends == [3]  # both closing events and the batch record: one locked write

    recs = claude.records()
    assert [r["type"] for r in recs] == ["init", "tool_start", "tool_start", "event", "event", "event", "tool_batch"]
    check_ids(recs)
    _, start_a, start_b, a, b, c, batch = recs
    assert (a["tool_use_id"], a["hook_event"]) == ("A", "PostToolUse")
    assert list(b) == TOOL_KEYS + ["prompt_id"]
    assert list(c) == TOOL_KEYS + ["prompt_id", "call_note"]
    assert (b["duration_ms"], c["duration_ms"], c["call_note"]) == (None, 4, {"kept": True})
    assert (b["tool_use_id"], b["hook_event"], b["tool_output"], b["is_error"]) == (
        "B",
        "PostToolBatch",
        "line 1\nline 2",
        None,
    )
    assert b["timestamp_start"] == start_b["timestamp"] and b["working_dir"] == str(claude.project)
    assert b["files_accessed"] == [str(claude.project / "B.txt")]
    assert (c["tool_use_id"], c["hook_event"], c["is_error"], c["timestamp_start"]) == (
        "C",
        "PostToolBatch",
        True,
        None,
    )
    assert c["tool_output"].startswith("<tool_use_error>")
    assert b["prompt_id"] == c["prompt_id"] == "p-1"
    assert list(batch) == START_KEYS + ["prompt_id", "tool_use_ids"]
    assert (batch["hook_event"], batch["tool_use_ids"]) == ("PostToolBatch", ["A", "B", "C"])
    assert list((claude.base / "pending" / claude.sid).iterdir()) == []

    # A PostToolUse arriving after the batch closed B records nothing.
    claude.post("B", name="Read", tool_input={"file_path": "B.txt"})
    assert claude.records() == recs


@pytest.mark.parametrize("order", ["post-then-batch", "batch-then-post"])
def test_one_closing_event_whatever_the_order(claude, order):
    claude.pre("X")
    closers = [lambda: claude.post("X"), lambda: claude("PostToolBatch", tool_calls=[batch_call("X", name="Bash")])]
    for close in closers if order == "post-then-batch" else closers[::-1]:
        close()
    (event,) = claude.events()
    assert event["hook_event"] == ("PostToolUse" if order == "post-then-batch" else "PostToolBatch")
    assert [r["tool_use_ids"] for r in claude.records() if r["type"] == "tool_batch"] == [["X"]]


def test_a_batch_with_unusable_calls(claude):
    claude("PostToolBatch", tool_calls="not a list")
    claude("PostToolBatch", tool_calls=[7, None, batch_call("K")])
    recs = claude.records()
    assert [r["type"] for r in recs] == ["init", "tool_batch", "event", "tool_batch"]
    assert (recs[1]["tool_use_ids"], recs[3]["tool_use_ids"]) == ([], ["K"])


# ---------------------------------------------------------------- subagents


def test_subagents_and_helper_agents(claude):
    agent = {"agent_id": "a-1", "agent_type": "Explore"}
    claude("SubagentStart", **agent)
    assert (claude.base / "agents" / claude.sid / "a-1").exists()
    claude.pre("s1", name="Grep", tool_input={"pattern": "TODO"}, **agent)
    claude.post("s1", name="Grep", tool_input={"pattern": "TODO"}, tool_response={"filenames": []}, **agent)
    claude("Notification", message="waiting", **agent)
    claude("SubagentStop", stop_hook_active=False, agent_transcript_path="/tmp/a-1.jsonl", **agent)
    # What /compact fires: a SubagentStop of an agent never seen starting, agent_type "".
    claude("SubagentStop", stop_hook_active=False, agent_id="a-2", agent_type="")
    recs = claude.records()
    types = ["init", "subagent_start", "tool_start", "event", "notification", "subagent_stop", "helper_agent_stop"]
    assert [r["type"] for r in recs] == types
    started, tool_start, event, note, stopped, helper = recs[1:]
    assert list(started) == START_KEYS + ["agent_id", "agent_type"]
    for record in (started, tool_start, event, note, stopped):
        assert (record["agent_id"], record["agent_type"]) == ("a-1", "Explore")
    assert list(tool_start) == START_KEYS + ["agent_id", "agent_type"] + TOOL_START_KEYS[len(START_KEYS) :]
    assert list(event) == TOOL_KEYS + ["agent_id", "agent_type"]
    assert list(stopped) == START_KEYS + ["stop_hook_active", "agent_transcript_path", "agent_id", "agent_type"]
    assert (helper["agent_id"], helper["agent_type"], helper["hook_event"]) == ("a-2", "", "SubagentStop")


def test_a_subagent_seen_in_another_session_is_not_known_here(claude):
    claude("SubagentStart", agent_id="a-1", agent_type="Plan")
    other = Claude(claude.project, claude.caplog, claude.capsys, session_id="claude-2")
    other("SubagentStop", agent_id="a-1", agent_type="Plan")
    assert [r["type"] for r in other.records()] == ["init", "helper_agent_stop"]


# --------------------------------------------------------------- SessionEnd


def test_session_end_lists_the_unfinished_calls_and_clears_the_state(claude):
    claude.pre("u1", name="Bash", tool_input={"command": "sleep 100"}, prompt_id="p-1", agent_id="a-1", agent_type="X")
    claude.pre("c1")
    claude.pre("u2", name="Read", tool_input={"file_path": "z"})
    claude.post("c1")
    claude("SessionEnd", reason="logout", prompt_id="p-2")
    recs = claude.records()
    end = recs[-1]
    starts = {r["tool_use_id"]: r["timestamp"] for r in recs if r["type"] == "tool_start"}
    assert list(end) == HOOK_END_KEYS + [
        "unfinished",
        "prompt_id",
    ]
    assert (end["reason"], end["claude_session_id"], end["agent"], end["prompt_id"]) == (
        "logout",
        "claude-1",
        "claude-code",
        "p-2",
    )
    assert end["event_count"] == len(recs) - 2
    assert end["unfinished_tool_calls"] == 2
    first, second = end["unfinished"]  # oldest first
    assert first == {
        "tool_use_id": "u1",
        "tool_name": "Bash",
        "tool_input": {"command": "sleep 100"},
        "timestamp_start": starts["u1"],
        "agent_id": "a-1",
        "agent_type": "X",
        "prompt_id": "p-1",
    }
    assert second == {
        "tool_use_id": "u2",
        "tool_name": "Read",
        "tool_input": {"file_path": "z"},
        "timestamp_start": starts["u2"],
    }
    assert not (claude.base / "pending" / claude.sid).exists()
    assert not (claude.base / "closed" / claude.sid).exists()


def test_an_end_record_only_after_new_records(claude):
    claude("SessionStart", source="startup")
    claude("UserPromptSubmit", prompt="one")
    claude("SessionEnd", reason="other")
    claude("SessionEnd", reason="other")  # nothing appended since the last end: no second end
    assert [r["type"] for r in claude.records()] == ["init", "user_prompt", "end"]
    assert claude.records()[-1]["event_count"] == 1

    claude("SessionStart", source="resume", model="claude-opus-4-1")
    claude("Stop", stop_hook_active=False)
    claude("SessionEnd", reason="prompt_input_exit")
    recs = claude.records()
    assert [r["type"] for r in recs] == ["init", "user_prompt", "end", "session_start", "stop", "end"]
    resumed = recs[3]
    assert list(resumed) == START_KEYS + ["model", "source"]
    assert (resumed["source"], resumed["model"], resumed["agent"]) == ("resume", "claude-opus-4-1", "claude-code")
    assert recs[-1]["event_count"] == 3  # user_prompt, session_start, stop: not init, not the earlier end
    assert recs[-1]["unfinished_tool_calls"] == 0 and "unfinished" not in recs[-1]
    check_ids(recs)


def test_session_start_of_a_new_session_writes_init_with_the_agent(claude):
    claude("SessionStart", source="startup", model="claude-sonnet-4-5")
    (init,) = claude.records()
    assert list(init)[:5] == ["type", "session_id", "timestamp", "platform", "project_dir"]
    assert (init["agent"], init["source"], init["model"], init["permission_mode"]) == (
        "claude-code",
        "startup",
        "claude-sonnet-4-5",
        "default",
    )
    claude("SessionStart", source="compact")
    assert [(r["type"], r.get("source")) for r in claude.records()] == [
        ("init", "startup"),
        ("session_start", "compact"),
    ]


# ---------------------------------------------------------------- prompt_id


def test_prompt_id_is_kept_on_every_record_whose_payload_has_it(claude):
    claude("SessionStart", source="startup")
    p = {"prompt_id": "p-7"}
    claude("UserPromptSubmit", prompt="go", **p)
    for tool_use_id in ("t1", "t2", "t3", "t4", "t5"):
        claude.pre(tool_use_id, **p)
    claude.post("t1", **p)
    claude("PostToolUseFailure", tool_name="Bash", tool_input={}, tool_use_id="t2", error="e", **p)
    claude("PermissionDenied", tool_name="Bash", tool_input={}, tool_use_id="t3", reason="no", **p)
    claude("PostToolBatch", tool_calls=[batch_call("t4")], **p)
    claude("SubagentStart", agent_id="a", agent_type="X", **p)
    claude("SubagentStop", agent_id="a", agent_type="X", **p)
    claude("SubagentStop", agent_id="b", agent_type="", **p)
    claude("Notification", message="m", **p)
    claude("Stop", **p)
    claude("FutureEvent", **p)
    claude("SessionStart", source="compact", **p)
    claude("SessionEnd", reason="other", **p)
    recs = claude.records()
    assert {r["type"] for r in recs} == {
        "init",
        "user_prompt",
        "tool_start",
        "event",
        "tool_batch",
        "subagent_start",
        "subagent_stop",
        "helper_agent_stop",
        "notification",
        "stop",
        "future_event",
        "session_start",
        "end",
    }
    missing = [r["type"] for r in recs[1:] if r.get("prompt_id") != "p-7"]
    assert missing == []


def test_session_start_losing_the_race_to_a_parallel_first_hook_keeps_its_source(claude, monkeypatch):
    """SessionStart and InstructionsLoaded fire at once in two processes. When
    InstructionsLoaded publishes the session first (its init says "unknown"), SessionStart,
    which found no session a moment before, still writes a session_start record with its source."""
    publish = hooks._publish
    raced = []

    def the_other_hook_first(path, body):
        if not raced:
            raced.append(True)
            monkeypatch.setattr(hooks, "_publish", publish)
            claude("InstructionsLoaded", file_path="/p/CLAUDE.md", memory_type="Project", load_reason="session_start")
        return publish(path, body)

    monkeypatch.setattr(hooks, "_publish", the_other_hook_first)
    claude("SessionStart", source="startup")
    records = claude.records()
    assert raced and records[0]["type"] == "init" and records[0]["source"] == "unknown"
    assert [(r["type"], r.get("source")) for r in records[1:]] == [
        ("instructions_loaded", None),
        ("session_start", "startup"),
    ]


def test_session_start_that_starts_the_session_writes_no_second_record(claude):
    claude("SessionStart", source="startup")
    records = claude.records()
    assert records[0]["source"] == "startup" and [r["type"] for r in records] == ["init"]


@pytest.mark.parametrize("damage", ["removed", "link"])
def test_session_end_ends_the_session_whose_map_was_removed_or_spoiled(claude, damage):
    """The map of a running session removed or replaced by a link between two hooks: the
    active mark still names the session, so SessionEnd ends it (and puts the map right)."""
    claude("SessionStart", source="startup")
    claude.pre("t1")
    sid = claude.sid
    mapping = claude.base / "claude" / claude.session_id
    mapping.unlink()
    if damage == "link":
        mapping.symlink_to("/etc/hostname")
    claude("SessionEnd", warnings=1, reason="logout")
    records = chained_records((claude.base / "sessions" / (sid + ".jsonl")).read_bytes())
    assert [r["type"] for r in records] == ["init", "tool_start", "end"]
    assert records[-1]["reason"] == "logout" and records[-1]["unfinished_tool_calls"] == 1
    assert claude.sid == sid and not mapping.is_symlink()
