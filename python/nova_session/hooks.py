"""Claude Code hook commands: ``nova-session hook EVENT`` with the hook's JSON on stdin.

One process per hook call, often several at once. Each one reads stdin,
finds (or starts) the nova session of the Claude session it belongs to, and
records what happened. Fail-open always: whatever goes wrong, the process
exits 0 with at most one line on stderr and nothing on stdout, so Claude
Code is never blocked.

State kept under ``{project}/.nova-protector/`` besides the session files:

- ``claude/{claude session id}``: the nova session id of a Claude session,
  kept after the session ends so that ``resume`` continues the same file;
- ``pending/{session id}/{tool_use_id}``: when a tool call started (written
  by PreToolUse, consumed by PostToolUse/PostToolUseFailure), so that
  ``duration_ms`` is the tool's own duration.
"""

from __future__ import annotations

import os
import sys
import time

from . import _log, paths, records, scanner, sessions

EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "SubagentStop",
    "Stop",
    "SessionEnd",
)
CLAUDE_DIR = "claude"
PENDING_DIR = "pending"
# Hook input fields every event carries; records keep the rest.
_COMMON = ("session_id", "transcript_path", "cwd", "hook_event_name", "permission_mode")
_SAFE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class HookError(Exception):
    """A refusal to record: one line on stderr, exit status 0."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def safe_name(value: str) -> str:
    """A file name for an id from Claude Code: itself when harmless, else a hash of it."""
    if 0 < len(value) <= 128 and not value.startswith(".") and all(c in _SAFE_CHARS for c in value):
        return value
    import hashlib

    return "h-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _read_small(path: str) -> str | None:
    try:
        return paths.read_regular(path, 4096).decode("ascii", "replace")
    except FileNotFoundError:
        return None


def _publish(path: str, body: bytes) -> bool:
    """Create path holding body, atomically and only if it does not exist yet; False if it did."""
    try:
        sessions.kernel.create_file(path, body, False)
    except FileExistsError:
        return False
    return True


def parse_input(data: bytes) -> dict:
    """The hook's stdin as a dict: the Rust parser first, json semantics as the fallback."""
    if not data.strip():
        raise HookError("empty stdin: expected the hook's JSON object")
    try:
        payload = sessions.kernel.loads(data)
    except (ValueError, RecursionError):
        from . import _python

        try:
            payload = _python.loads(data)  # accepts all json.loads accepts
        except RecursionError:
            # Nesting too deep to parse is still data (SPEC section 7): what lies
            # deeper than any record keeps becomes "<max depth>", the rest is recorded.
            payload = _python.loads(cut_deep_nesting(data, MAX_PAYLOAD_DEPTH))
        except ValueError as exc:
            raise HookError("stdin is not valid JSON (%s)" % exc) from None
    if type(payload) is not dict:
        raise HookError("stdin is JSON but not an object")
    return payload


# Payload nesting kept when a payload is too deep to parse; records cut at 64 anyway.
MAX_PAYLOAD_DEPTH = 64


def cut_deep_nesting(data: bytes, limit: int) -> bytes:
    """JSON text with every array or object nested deeper than limit replaced by
    the string "<max depth>". One pass, no recursion; strings are skipped whole."""
    out = bytearray()
    depth = 0
    index = 0
    length = len(data)
    while index < length:
        byte = data[index]
        if byte == 0x22:  # a string: copy it whole, escapes included
            end = index + 1
            while end < length and data[end] != 0x22:
                end += 2 if data[end] == 0x5C else 1
            out += data[index : end + 1]
            index = end + 1
            continue
        if byte in b"[{":
            depth += 1
            if depth > limit:
                index = _end_of_container(data, index)
                depth -= 1
                out += b'"<max depth>"'
                continue
        elif byte in b"]}":
            depth -= 1
        out.append(byte)
        index += 1
    return bytes(out)


def _end_of_container(data: bytes, index: int) -> int:
    """The index just after the array or object that starts at index."""
    depth = 0
    length = len(data)
    while index < length:
        byte = data[index]
        if byte == 0x22:
            index += 1
            while index < length and data[index] != 0x22:
                index += 2 if data[index] == 0x5C else 1
        elif byte in b"[{":
            depth += 1
        elif byte in b"]}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return length


class Hook:
    """One hook call: its payload, project and the nova session it records into."""

    def __init__(self, event: str, payload: dict):
        self.event = event
        self.payload = payload
        self.now_ms = _now_ms()
        claude = payload.get("session_id")
        if not isinstance(claude, str) or not claude:
            raise HookError("the hook input has no session_id")
        self.claude_session_id = claude
        cwd = payload.get("cwd")
        self.cwd = cwd if isinstance(cwd, str) and cwd else os.getcwd()
        project = os.environ.get("CLAUDE_PROJECT_DIR") or self.cwd
        try:
            self.root = paths.project_root(project)
        except paths.Refused as exc:
            raise HookError(str(exc)) from None
        self.base = paths.data_dir(self.root)

    # --------------------------------------------------------------- sessions

    def _map_path(self) -> str:
        return os.path.join(self.base, CLAUDE_DIR, safe_name(self.claude_session_id))

    def known_session(self) -> str | None:
        """The nova session id this Claude session already has, or None."""
        try:
            paths.check_real_dir(self.base)
        except FileNotFoundError:
            return None
        text = _read_small(self._map_path())
        sid = text.strip() if text is not None else None
        return sid if paths.is_session_id(sid) else None

    def session(self, source: str | None = None) -> str:
        """The nova session of this Claude session, started (init record, active mark) if new."""
        sid = self.known_session()
        if sid is not None:
            return sid
        paths.ensure_layout(self.root)
        paths.make_dir(os.path.join(self.base, CLAUDE_DIR))
        candidate = sessions.generate_session_id()
        # Parallel hooks of one new Claude session race here: one id wins, all use it.
        if _publish(self._map_path(), candidate.encode("ascii")):
            self.start_session(candidate, source or "unknown")
            return candidate
        winner = self.known_session()
        if winner is None:
            raise HookError("the session map %s is unreadable" % self._map_path())
        return winner

    def start_session(self, sid: str, source: str) -> None:
        """Write the init record (unless another hook process already did)."""
        from . import _backend

        extra = {
            "claude_session_id": self.claude_session_id,
            "source": source,
            "cwd": self.cwd,
            "transcript_path": self.payload.get("transcript_path"),
            "nova_session_version": _backend.VERSION,
        }
        for key in ("permission_mode", "model"):
            if key in self.payload:
                extra[key] = self.payload[key]
        try:
            sessions.create_session(sid, self.root, extra)
        except FileExistsError:
            pass

    def append(self, sid: str, record: dict) -> None:
        try:
            sessions.append_records(sid, self.root, [record])
        except FileNotFoundError:
            # The map was published by a parallel hook whose init is not written
            # yet (or the file was removed): write the init ourselves, once, then retry.
            self.start_session(sid, "unknown")
            sessions.append_records(sid, self.root, [record])

    # --------------------------------------------------------------- pending

    def _pending_path(self, sid: str, tool_use_id: str) -> str:
        return os.path.join(self.base, PENDING_DIR, sid, safe_name(tool_use_id))

    def mark_started(self, sid: str, tool_use_id: str) -> None:
        directory = os.path.dirname(self._pending_path(sid, tool_use_id))
        paths.make_dir(os.path.join(self.base, PENDING_DIR))
        paths.make_dir(directory)
        _publish(self._pending_path(sid, tool_use_id), b"%d" % self.now_ms)

    def take_started(self, sid: str, tool_use_id) -> int | None:
        """When the tool call started (ms), from its PreToolUse; None when unknown."""
        if not isinstance(tool_use_id, str) or not tool_use_id:
            return None
        path = self._pending_path(sid, tool_use_id)
        text = _read_small(path)
        if text is None:
            return None
        try:
            os.unlink(path)
        except OSError:
            pass
        try:
            return int(text)
        except ValueError:
            return None

    def drop_pending(self, sid: str) -> list:
        """Remove what is left of this session's pending starts; return their tool_use_ids."""
        directory = os.path.join(self.base, PENDING_DIR, sid)
        try:
            names = os.listdir(directory)
        except OSError:
            return []
        for name in names:
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass
        try:
            os.rmdir(directory)
        except OSError:
            pass
        return sorted(names)

    # ---------------------------------------------------------------- records

    def extra_fields(self) -> dict:
        """The payload without the fields every event carries."""
        return {k: v for k, v in self.payload.items() if k not in _COMMON}

    def truncated(self, record: dict) -> dict:
        notes = records.truncate_strings(record, records.max_field_bytes())
        if notes:
            record["truncated_fields"] = notes
        return record

    def tool_event(self, sid: str) -> dict:
        failed = self.event == "PostToolUseFailure"
        payload = self.payload
        tool_name = payload.get("tool_name")
        tool_name = tool_name if isinstance(tool_name, str) else None
        tool_input = payload.get("tool_input")
        tool_output = None if failed else payload.get("tool_response")
        started = self.take_started(sid, payload.get("tool_use_id"))
        event = {
            "timestamp_start": sessions.timestamp(started) if started is not None else None,
            "timestamp_end": sessions.timestamp(self.now_ms),
            "duration_ms": max(0, self.now_ms - started) if started is not None else None,
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_output": tool_output,
            "working_dir": self.cwd,
            "files_accessed": records.files_accessed(tool_name or "", tool_input, tool_output, self.cwd),
            "nova_verdict": "allowed",
            "nova_severity": None,
            "nova_rules_matched": [],
            "nova_scan_time_ms": 0,
            "tool_use_id": payload.get("tool_use_id"),
            "hook_event": self.event,
            "is_error": failed,
        }
        if failed:
            event["error"] = payload.get("error")
            if "is_interrupt" in payload:
                event["is_interrupt"] = payload["is_interrupt"]
        mcp = records.mcp_fields(tool_name or "")
        if mcp is not None:
            event["mcp_server"], event["mcp_function"] = mcp
        if tool_name == "Skill":
            event["skill_name"] = records.skill_name(tool_input)
        scanner.apply(event)
        return self.truncated(event)


# ------------------------------------------------------------------- handlers


def on_session_start(hook: Hook) -> None:
    source = hook.payload.get("source")
    source = source if isinstance(source, str) and source else "startup"
    sid = hook.known_session()
    if sid is None:
        hook.session(source)
        return
    # resume and compact continue the same file; the record marks where.
    record = {"type": "session_start", "timestamp": sessions.timestamp(hook.now_ms)}
    record.update(hook.extra_fields())
    record["source"] = source
    hook.append(sid, hook.truncated(record))
    sessions.write_mark(hook.root, sid, hook.claude_session_id)


def on_user_prompt(hook: Hook) -> None:
    sid = hook.session()
    record = {"type": "user_prompt", "timestamp": sessions.timestamp(hook.now_ms), "hook_event": hook.event}
    record.update(hook.extra_fields())
    hook.append(sid, hook.truncated(record))


def on_pre_tool_use(hook: Hook) -> None:
    sid = hook.session()
    tool_use_id = hook.payload.get("tool_use_id")
    if isinstance(tool_use_id, str) and tool_use_id:
        hook.mark_started(sid, tool_use_id)


def on_post_tool_use(hook: Hook) -> None:
    sid = hook.session()
    hook.append(sid, hook.tool_event(sid))


def on_stop(hook: Hook) -> None:
    sid = hook.session()
    kind = "subagent_stop" if hook.event == "SubagentStop" else "stop"
    record = {"type": kind, "timestamp": sessions.timestamp(hook.now_ms), "hook_event": hook.event}
    record.update(hook.extra_fields())
    hook.append(sid, hook.truncated(record))


def on_session_end(hook: Hook) -> None:
    sid = hook.known_session()
    if sid is None:
        raise HookError("SessionEnd for a Claude session that recorded nothing; nothing to end")
    unfinished = hook.drop_pending(sid)
    reason = hook.payload.get("reason")
    extra: dict = {
        "reason": reason if isinstance(reason, str) else "other",
        "claude_session_id": hook.claude_session_id,
    }
    extra["unfinished_tool_calls"] = len(unfinished)
    if unfinished:
        extra["unfinished_tool_use_ids"] = unfinished
    path = paths.existing_session_file(hook.root, sid)
    head = {"type": "end", "session_id": sid, "timestamp": sessions.timestamp(hook.now_ms)}
    sessions.kernel.finalize_file(path, head, extra, sessions.fsync_requested())
    sessions.clear_mark(hook.root, sid)


HANDLERS = {
    "SessionStart": on_session_start,
    "UserPromptSubmit": on_user_prompt,
    "PreToolUse": on_pre_tool_use,
    "PostToolUse": on_post_tool_use,
    "PostToolUseFailure": on_post_tool_use,
    "SubagentStop": on_stop,
    "Stop": on_stop,
    "SessionEnd": on_session_end,
}


def run(event: str, data: bytes | None = None) -> int:
    """Handle one hook call; always returns 0 (fail-open), logging at most one line."""
    try:
        handler = HANDLERS.get(event)
        if handler is None:
            raise HookError("unknown hook event %r (known: %s); nothing recorded" % (event, ", ".join(EVENTS)))
        if data is None:
            data = b"" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()
        handler(Hook(event, parse_input(data)))
    except HookError as exc:
        _log.warn("nova-session hook %s: %s", event, exc)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a hook never fails the agent (a scanner may sys.exit)
        reason = "%s (%s)" % (exc.strerror, exc.filename) if isinstance(exc, OSError) and exc.strerror else exc
        _log.warn("nova-session hook %s: not recorded: %s: %s", event, type(exc).__name__, reason)
    return 0
