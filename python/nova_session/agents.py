"""Which agent runtime ran a hook, and its payload in Claude Code's shape.

Claude Code is the reference: its payloads are used as they are. Cursor runs
the hooks of ``.claude/settings.json`` too ("third-party hooks"), with
payloads of its own: ``conversation_id`` for the session, ``cursor_version``,
``workspace_roots``, camelCase event names, and per-kind events
(``beforeShellExecution``, ``afterFileEdit``, ...). ``normalise`` maps such a
payload onto the Claude Code event and fields it stands for, keeping every
field it does not map, so the records are the same and say ``"agent": "cursor"``.
"""

from __future__ import annotations

CLAUDE_CODE = "claude-code"
CURSOR = "cursor"

# Cursor's event -> (Claude Code event, tool name the payload implies or None).
_CURSOR_EVENTS = {
    "sessionStart": ("SessionStart", None),
    "sessionEnd": ("SessionEnd", None),
    "beforeSubmitPrompt": ("UserPromptSubmit", None),
    "preToolUse": ("PreToolUse", None),
    "postToolUse": ("PostToolUse", None),
    "postToolUseFailure": ("PostToolUseFailure", None),
    "beforeShellExecution": ("PreToolUse", "Bash"),
    "afterShellExecution": ("PostToolUse", "Bash"),
    "beforeMCPExecution": ("PreToolUse", None),
    "afterMCPExecution": ("PostToolUse", None),
    "beforeReadFile": ("PreToolUse", "Read"),
    "afterFileEdit": ("PostToolUse", "Edit"),
    "subagentStart": ("SubagentStart", None),
    "subagentStop": ("SubagentStop", None),
    "preCompact": ("PreCompact", None),
    "stop": ("Stop", None),
    "afterAgentResponse": ("AgentResponse", None),
    "afterAgentThought": ("AgentThought", None),
}


def is_cursor(payload: dict) -> bool:
    """A Cursor payload: it names Cursor's version or a conversation instead of a session."""
    return "cursor_version" in payload or ("conversation_id" in payload and "session_id" not in payload)


def normalise(event: str, payload: dict):
    """(event, payload in Claude Code's shape, agent name) for one hook call."""
    if not is_cursor(payload):
        return event, payload, CLAUDE_CODE
    fields = dict(payload)
    own = fields.get("hook_event_name")
    mapped, implied_tool = _CURSOR_EVENTS.get(own, (None, None)) if isinstance(own, str) else (None, None)
    if mapped is not None:
        event = mapped
    fields["hook_event_name"] = event
    if isinstance(own, str):
        fields["cursor_event"] = own
    conversation = fields.get("conversation_id")
    if "session_id" not in fields and isinstance(conversation, str):
        fields["session_id"] = conversation
    roots = fields.get("workspace_roots")
    if not isinstance(fields.get("cwd"), str) and type(roots) is list and roots and isinstance(roots[0], str):
        fields["cwd"] = roots[0]
    _map_tool(fields, own, implied_tool)
    return event, fields, CURSOR


def _map_tool(fields: dict, own, implied_tool) -> None:
    """Tool fields under Claude Code's names: tool_name, tool_input, tool_response, duration_ms, error."""
    if implied_tool == "Bash":
        fields.setdefault("tool_name", "Bash")
        if "tool_input" not in fields and "command" in fields:
            fields["tool_input"] = {"command": fields.pop("command")}
        if "tool_response" not in fields and "output" in fields:
            fields["tool_response"] = {"output": fields.pop("output")}
    elif implied_tool == "Read":
        fields.setdefault("tool_name", "Read")
        if "tool_input" not in fields and "file_path" in fields:
            fields["tool_input"] = {"file_path": fields.pop("file_path")}
    elif implied_tool == "Edit":
        fields.setdefault("tool_name", "Edit")
        if "tool_input" not in fields and "file_path" in fields:
            fields["tool_input"] = {"file_path": fields.pop("file_path"), "edits": fields.pop("edits", None)}
    if own in ("beforeMCPExecution", "afterMCPExecution"):
        name = fields.get("tool_name")
        if isinstance(name, str) and not name.startswith("mcp__"):
            fields["cursor_tool_name"] = name
    if "tool_response" not in fields:
        for key in ("tool_output", "result_json"):
            if key in fields:
                fields["tool_response"] = fields.pop(key)
                break
    if "duration_ms" not in fields and isinstance(fields.get("duration"), (int, float)):
        fields["duration_ms"] = fields.pop("duration")
    if "error" not in fields and "error_message" in fields:
        fields["error"] = fields.pop("error_message")
