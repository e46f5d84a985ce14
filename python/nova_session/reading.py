"""Reading recorded sessions: discovery, state, tolerant streaming parse, stats, verify.

Everything here only reads. Session files are opened read-only, never through
a symbolic link and never blocking on a FIFO; nothing is created or locked for
long. A reader takes a shared ``flock`` for an instant, only to learn the size
of a consistent snapshot (a write in progress finishes first), then streams
the file up to that size without holding any lock, so writers never wait on it.

Lines are read one at a time: ``summarize``, ``session_stats`` and ``verify``
use memory that does not grow with the number of events (``session_stats``
keeps one entry per distinct tool, file, MCP server and skill). A line that is
not a complete JSON object is skipped and counted, never fatal. ``verify`` also
checks the hash chain (the README's "The hash chain") through ``chain``, imported only then.
"""

from __future__ import annotations

import heapq
import json
import os
import stat
import time

from . import _python, paths

CHUNK_BYTES = 1 << 20
LOCK_WAIT_SECONDS = 1.0
SUMMARY_CHARS = 120
MAX_PROBLEMS = 200  # problems kept in a verify report; the rest are only counted
MAX_LISTED = 1000  # unfinished calls and turns listed in a summary
SLOWEST = 5

STATE_ACTIVE = "active"
STATE_ENDED = "ended"
STATE_UNFINISHED = "unfinished"  # no end record and no active mark: crashed or killed

BAD_JSON = "unparsable"
TORN = "torn"


class ReadError(Exception):
    """A session cannot be read; ``exit_code`` is the CLI's exit status for it."""

    exit_code = 5


class ProjectNotFound(ReadError):
    exit_code = 3


class SessionNotFound(ReadError):
    exit_code = 4

    def __init__(self, message: str, suggestions: list):
        super().__init__(message)
        self.suggestions = suggestions


# ------------------------------------------------------------------ discovery


def project_root(project_dir: str) -> str:
    """The project as an absolute resolved path; ProjectNotFound unless it is a directory."""
    try:
        return paths.project_root(project_dir)
    except paths.Refused:
        raise ProjectNotFound("project directory %r does not exist (or is not a directory)" % (project_dir,)) from None


def sessions_dir(root: str) -> str:
    return os.path.join(paths.data_dir(root), paths.SESSIONS)


def session_ids(root: str) -> list:
    """Ids of the project's session files, newest first (ids sort by creation time).

    An empty list when the project has recorded nothing; a ReadError when
    ``.nova-protector`` or ``sessions`` is a symbolic link or unreadable.
    """
    directory = sessions_dir(root)
    try:
        paths.check_real_dir(paths.data_dir(root))
        paths.check_real_dir(directory)
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    except (OSError, paths.Refused) as exc:
        raise ReadError("cannot list %s: %s" % (directory, _reason(exc))) from None
    ids = [name[: -len(paths.SUFFIX)] for name in names if name.endswith(paths.SUFFIX)]
    return sorted((sid for sid in ids if paths.is_session_id(sid)), reverse=True)


def find_session(root: str, query: str) -> str:
    """The session id that ``query`` names: an exact id, a unique prefix, or ``latest``.

    SessionNotFound (with close matches as suggestions) otherwise. The query
    never reaches a path: only ids listed from the sessions directory do.
    """
    ids = session_ids(root)
    if query == "latest" and ids:
        return newest(root, [sid for sid in ids if sid[:19] == ids[0][:19]])
    if query in ids:
        return query
    starting = [sid for sid in ids if query and sid.startswith(query)]
    if len(starting) == 1:
        return starting[0]
    if not ids:
        raise SessionNotFound("no sessions recorded in %s" % root, [])
    import difflib

    suggestions = starting[:5] or difflib.get_close_matches(query, ids, n=3, cutoff=0.5)
    what = "%d sessions start with %r" % (len(starting), query) if starting else "no session %r" % (query,)
    raise SessionNotFound("%s in %s" % (what, root), suggestions)


def newest(root: str, sids: list) -> str:
    """The most recently started of sessions created in the same second (ids sort by
    second only): the one whose init record has the latest timestamp."""
    if len(sids) == 1:
        return sids[0]
    return max(sids, key=lambda sid: (started_at(root, sid), sid))


def started_at(root: str, sid: str) -> str:
    """The timestamp of a session's init record (its first line), or "" when unreadable."""
    try:
        fd = open_session(session_path(root, sid))
    except ReadError:
        return ""
    try:
        for _, raw, complete in raw_lines(fd, 0, snapshot_size(fd)):
            record = parse_line(raw) if complete else None
            stamp = record.get("timestamp") if record is not None and record.get("type") == "init" else None
            return stamp if isinstance(stamp, str) else ""
        return ""
    finally:
        os.close(fd)


def session_path(root: str, sid: str) -> str:
    return paths.session_file(root, sid)


# A session marked active but not written to for this long counts as unfinished:
# its agent most likely crashed or was killed without SessionEnd (a live agent
# writes on every prompt and tool call; a resumed session becomes active again).
ACTIVE_WINDOW_SECONDS = 4 * 3600


def has_active_mark(root: str, sid: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(os.path.join(paths.active_dir(root), sid)).st_mode)
    except OSError:
        return False


def is_alive(root: str, sid: str) -> bool:
    """Marked active, and its file written to within ACTIVE_WINDOW_SECONDS."""
    if not has_active_mark(root, sid):
        return False
    try:
        return time.time() - os.lstat(session_path(root, sid)).st_mtime < ACTIVE_WINDOW_SECONDS
    except OSError:
        return False


def session_state(root: str, sid: str, last_type) -> str:
    """``ended`` when the last record is an end record, else ``active`` while the
    session is marked active and was written to in the last ACTIVE_WINDOW_SECONDS,
    else ``unfinished`` (the agent crashed or was killed)."""
    if last_type == "end":
        return STATE_ENDED
    return STATE_ACTIVE if is_alive(root, sid) else STATE_UNFINISHED


# -------------------------------------------------------------- reading lines


def open_session(path: str) -> int:
    """A read-only descriptor of a regular session file (no link, no FIFO); ReadError otherwise."""
    try:
        return paths.open_regular(path, os.O_RDONLY)
    except OSError as exc:
        raise ReadError("cannot read %s: %s" % (path, _reason(exc))) from None


def snapshot_size(fd: int) -> int:
    """The file's size once no write is in progress: a shared flock taken for an
    instant (waiting at most LOCK_WAIT_SECONDS, then reading without it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock on this platform
        return os.fstat(fd).st_size
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                return os.fstat(fd).st_size
            time.sleep(0.005)
        except OSError:
            return os.fstat(fd).st_size
    try:
        return os.fstat(fd).st_size
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def raw_lines(fd: int, start: int = 0, end: int = -1):
    """Yield ``(line number, bytes without the newline, complete)`` from offset start
    to end (-1: to the end of the file). Only a last line without its newline is
    incomplete. Memory: one chunk plus the longest line."""
    offset, number, pending = start, 0, []
    while end < 0 or offset < end:
        chunk = os.pread(fd, CHUNK_BYTES if end < 0 else min(CHUNK_BYTES, end - offset), offset)
        if not chunk:
            break
        offset += len(chunk)
        if b"\n" not in chunk:
            pending.append(chunk)
            continue
        if pending:
            pending.append(chunk)
            chunk, pending = b"".join(pending), []
        pieces = chunk.split(b"\n")
        tail = pieces.pop()
        for piece in pieces:
            number += 1
            yield number, piece, True
        if tail:
            pending.append(tail)
    if pending:
        yield number + 1, b"".join(pending), False


def parse_line(raw: bytes):
    """The line as a dict, or None when it is not one complete JSON object in UTF-8
    (the same reading as the writers' and ``read_session_events``')."""
    return _python.parse_record(raw)


def read_lines(path: str, snapshot: tuple | None = None):
    """Yield ``(line number, raw bytes, record or None, complete)`` for every line of a
    consistent snapshot of the session file; a bad line has record None. ``snapshot``
    is ``(descriptor, size)`` of the file opened already (``open_snapshot``): the
    same bytes for every reader given it."""
    fd, size = snapshot if snapshot is not None else open_snapshot(path)
    try:
        for number, raw, complete in raw_lines(fd, 0, size):
            yield number, raw, (parse_line(raw) if complete else None), complete
    finally:
        if snapshot is None:
            os.close(fd)


def open_snapshot(path: str) -> tuple:
    """``(descriptor, size)``: the session file opened and its size once no write is in
    progress; the caller closes the descriptor."""
    fd = open_session(path)
    try:
        return fd, snapshot_size(fd)
    except BaseException:
        os.close(fd)
        raise


def records(path: str, skipped: list | None = None):
    """Yield the complete, parsable records; append the line numbers of the others to skipped."""
    for number, _, record, _ in read_lines(path):
        if record is None:
            if skipped is not None:
                skipped.append(number)
            continue
        yield record


# ------------------------------------------------------------ record helpers


def is_tool_event(record: dict) -> bool:
    return record.get("type") == "event"


def verdict_class(verdict, rules=None) -> str:
    """``warning``, ``block``, ``error`` (the scan failed) or ``ok`` for a nova_verdict (and
    its nova_rules_matched). What needs a look is never ``ok``: a verdict this version does
    not know, and an ``allowed`` one with rules matched, are ``warning``."""
    if verdict is None:
        return "warning" if rules else "ok"  # a record without a verdict (no scanner)
    text = verdict.lower() if isinstance(verdict, str) else ""
    if text.startswith("warn"):
        return "warning"
    if text.startswith(("block", "den")) or text in ("reject", "rejected"):
        return "block"
    if text in ("scan_failed", "scan_error"):  # scan_error: the word of earlier releases
        return "error"
    if text in ("allowed", "allow", "ok", "pass", "passed", "clean") and not rules:
        return "ok"
    return "warning"


def record_time(record: dict):
    """The ISO timestamp a record happened at (its end, for a tool event), or None."""
    for key in ("timestamp", "timestamp_end", "timestamp_start"):
        value = record.get(key)
        if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
            return value
    return None


def parse_time(value) -> float | None:
    """Seconds since the epoch of ``2026-01-10T16:30:45.123Z``, or None."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    whole = _clock_seconds(value)
    if whole is None:
        return None
    fraction = value[19:].rstrip("Z")
    return whole + float(fraction) if fraction.startswith(".") and fraction[1:].isdigit() else float(whole)


_MINUTES: dict = {}  # "YYYY-MM-DDTHH:MM" -> seconds since the epoch at that minute (UTC)
_EPOCH_ORDINAL = 719163  # datetime.date(1970, 1, 1).toordinal()


def _clock_seconds(value: str) -> int | None:
    """The whole seconds of ``value[:19]`` read as ``%Y-%m-%dT%H:%M:%S`` (UTC), as
    ``time.strptime`` reads it: by arithmetic for the usual zero-padded ASCII form (a
    report reads a time hundreds of thousands of times, and strptime costs 15 µs each),
    by strptime for anything else."""
    stamp = value[:19]
    second = stamp[17:]
    if stamp[16] == ":" and second.isascii() and second.isdigit():
        minute = _MINUTES.get(stamp[:16])
        if minute is None:
            minute = _minute(stamp[:16])
        if minute is not None:
            return minute + int(second) if int(second) <= 61 else None
    import calendar

    try:
        return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def _minute(stamp: str) -> int | None:
    """The seconds of ``YYYY-MM-DDTHH:MM`` (zero-padded ASCII digits, a valid date, hour
    and minute), remembered; else None, for strptime to decide."""
    digits = stamp[:4] + stamp[5:7] + stamp[8:10] + stamp[11:13] + stamp[14:16]
    if not (stamp[4] == stamp[7] == "-" and stamp[10] == "T" and stamp[13] == ":" and digits.isascii()):
        return None
    if not digits.isdigit() or int(stamp[11:13]) > 23 or int(stamp[14:16]) > 59:
        return None
    import datetime

    try:
        day = datetime.date(int(stamp[:4]), int(stamp[5:7]), int(stamp[8:10])).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    minute = day * 86400 + int(stamp[11:13]) * 3600 + int(stamp[14:16]) * 60
    if len(_MINUTES) < 65536:
        _MINUTES[stamp] = minute
    return minute


def duration_seconds(start, end) -> float | None:
    first, last = parse_time(start), parse_time(end)
    if first is None or last is None:
        return None
    return max(0.0, last - first)


def _one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError):
        return repr(value)


_INPUT_KEYS = (
    "command",
    "skill",
    "file_path",
    "notebook_path",
    "pattern",
    "url",
    "query",
    "description",
    "prompt",
    "path",
)


def tool_subject(tool_input) -> str:
    """The part of a tool's input that says what it did (a command, a path, a pattern)."""
    if isinstance(tool_input, dict):
        for key in _INPUT_KEYS:
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                return value
    return _compact(tool_input) if tool_input not in (None, {}, []) else ""


def record_title(record: dict) -> str:
    """What a record is: the tool's name for a tool event (and its start), else the record type."""
    kind = record.get("type")
    if kind in ("event", "tool_start"):
        name = record.get("tool_name")
        name = name if isinstance(name, str) and name else "(unknown tool)"
        return name if kind == "event" else "%s (start)" % name
    return kind if isinstance(kind, str) else "(untyped)"


def agent_label(record: dict) -> str:
    """``agent TYPE ID`` for a record made inside a subagent, else ""."""
    agent_id = record.get("agent_id")
    if not isinstance(agent_id, str) or not agent_id or record.get("type") in ("subagent_start", "subagent_stop"):
        return ""
    agent_type = record.get("agent_type")
    return "[agent %s%s] " % (
        _one_line(agent_type, 40) + " " if isinstance(agent_type, str) and agent_type else "",
        _one_line(agent_id, 24),
    )


class Turns:
    """Which prompt caused which records: turn 1, 2, … in the order the prompts
    appear, found through the ``prompt_id`` Claude Code puts on every record of a turn."""

    def __init__(self) -> None:
        self.numbers: dict = {}
        self.turns: list = []

    def of(self, record: dict):
        """The turn number of a record (None without a known prompt_id), noting new prompts."""
        prompt_id = record.get("prompt_id")
        if not isinstance(prompt_id, str):
            return None
        number = self.numbers.get(prompt_id)
        if number is None and record.get("type") == "user_prompt":
            number = self.numbers[prompt_id] = len(self.numbers) + 1
            if len(self.turns) < MAX_LISTED:
                prompt = _one_line(_compact(record.get("prompt", "")), SUMMARY_CHARS)
                self.turns.append(
                    {"turn": number, "prompt_id": prompt_id, "id": record.get("id"), "prompt": prompt, "tool_calls": 0}
                )
        if number is not None and record.get("type") == "event" and number <= len(self.turns):
            self.turns[number - 1]["tool_calls"] += 1
        return number


# Fields a generic record's one-line summary leaves out: shown elsewhere or on every record.
_SUMMARY_SKIPPED = ("type", "id", "timestamp", "hook_event", "agent", "prompt_id", "agent_id", "agent_type", "effort")


def record_summary(record: dict, limit: int = SUMMARY_CHARS) -> str:
    """One line saying what a record holds (not escaped: callers escape for their medium)."""
    kind = record.get("type")
    if kind == "event":
        text = tool_subject(record.get("tool_input"))
        if record.get("denied"):
            text = "DENIED: %s%s" % (_compact(record.get("error")), " (%s)" % text if text else "")
        elif record.get("is_error"):
            error = record.get("error", record.get("tool_output"))
            text = "FAILED: %s%s" % (_compact(error), " (%s)" % text if text else "")
    elif kind == "user_prompt":
        text = _compact(record.get("prompt", ""))
    elif kind == "init":
        text = "platform %s, project %s" % (_compact(record.get("platform")), _compact(record.get("project_dir")))
    elif kind == "end":
        text = "reason %s, %s records" % (_compact(record.get("reason", "-")), _compact(record.get("event_count")))
    elif kind == "session_start":
        text = "source %s" % _compact(record.get("source"))
    elif kind == "tool_start":
        text = tool_subject(record.get("tool_input"))
    elif kind == "tool_batch":
        ids = record.get("tool_use_ids")
        text = "%s call(s) resolved: %s" % (len(ids), ", ".join(map(_compact, ids))) if isinstance(ids, list) else ""
    elif kind in ("subagent_start", "subagent_stop", "helper_agent_stop"):
        text = "%s %s" % (_compact(record.get("agent_type") or "-"), _compact(record.get("agent_id")))
        if kind == "helper_agent_stop":
            text += " (Claude Code's own helper agent, e.g. the /compact summariser; no start was recorded)"
    elif kind == "user_prompt_expansion":
        text = "/%s %s" % (_compact(record.get("command_name")), _compact(record.get("command_args", "")))
    else:
        fields = {k: v for k, v in record.items() if k not in _SUMMARY_SKIPPED}
        text = _compact(fields) if fields else ""
    return _one_line(text, limit)


# ---------------------------------------------------------------- summaries


class Summary:
    """The facts of one session, accumulated record by record (constant memory)."""

    def __init__(self, sid: str):
        self.session_id = sid
        self.init: dict | None = None
        self.last_end: dict | None = None
        self.last_type = None
        self.records = 0  # parsable records other than init and end records
        self.tool_calls = 0
        self.prompts = 0
        self.warnings = 0
        self.blocks = 0
        self.errors = 0  # failed tool calls
        self.scan_errors = 0
        self.bad_lines = 0
        self.lost_records = 0  # records hooks could not write, as later records say
        self.last_time = None
        # tool_use_id -> the tool_start of a call not closed (yet): memory grows only
        # with the calls open at once, not with the session.
        self.open_calls: dict = {}

    def add_line(self, record, complete: bool) -> None:
        if record is None:
            self.bad_lines += 1
            return
        self.add(record)

    def add(self, record: dict) -> None:
        kind = record.get("type")
        self.last_type = kind
        moment = record_time(record)
        if moment is not None and (self.last_time is None or moment > self.last_time):
            self.last_time = moment
        lost = record.get("lost_records")
        if type(lost) is int and lost > 0:
            self.lost_records += lost
        if kind == "init" and self.init is None:
            self.init = record
            return
        if kind == "end":
            self.last_end = record
            return
        self.records += 1
        if kind == "user_prompt":
            self.prompts += 1
        if kind == "event":
            self.add_tool_event(record)
            tool_use_id = record.get("tool_use_id")
            if isinstance(tool_use_id, str):
                self.open_calls.pop(tool_use_id, None)
        elif kind == "tool_start":
            tool_use_id = record.get("tool_use_id")
            if isinstance(tool_use_id, str):
                self.open_calls[tool_use_id] = {
                    "id": record.get("id"),
                    "tool_use_id": tool_use_id,
                    "tool_name": record.get("tool_name"),
                    "summary": record_summary(record),
                    "agent_id": record.get("agent_id"),
                }

    def add_tool_event(self, record: dict) -> None:
        self.tool_calls += 1
        if record.get("is_error") is True:
            self.errors += 1
        verdict = verdict_class(record.get("nova_verdict"), record.get("nova_rules_matched"))
        if verdict == "warning":
            self.warnings += 1
        elif verdict == "block":
            self.blocks += 1
        elif verdict == "error":
            self.scan_errors += 1

    @property
    def start(self):
        """The init record's timestamp, when it is a string (a hand-edited file may hold anything)."""
        stamp = self.init.get("timestamp") if self.init else None
        return stamp if isinstance(stamp, str) else None

    @property
    def finish(self):
        """When the session ended, or the time of its last record when it has not."""
        if self.last_type == "end" and self.last_end is not None:
            stamp = self.last_end.get("timestamp")
            return stamp if isinstance(stamp, str) else None
        return self.last_time

    def as_dict(self, state: str) -> dict:
        init = self.init or {}
        return {
            "session_id": self.session_id,
            "state": state,
            "start": self.start,
            "end": self.finish,
            "duration_s": duration_seconds(self.start, self.finish),
            "events": self.records,
            "tool_calls": self.tool_calls,
            "prompts": self.prompts,
            "warnings": self.warnings,
            "blocks": self.blocks,
            "errors": self.errors,
            "scan_errors": self.scan_errors,
            "bad_lines": self.bad_lines,
            "lost_records": self.lost_records,
            "previous_file_missing": (self.init or {}).get("previous_file_missing") is True,
            "end_reason": (self.last_end or {}).get("reason") if state == STATE_ENDED else None,
            # Started (tool_start) and never closed: denied, killed, blocked, or still running.
            "unfinished_tool_calls": list(self.open_calls.values())[:MAX_LISTED],
            "unfinished_count": len(self.open_calls),
            "claude_session_id": init.get("claude_session_id"),
            "project_dir": init.get("project_dir"),
            "platform": init.get("platform"),
        }


class Stats(Summary):
    """A Summary plus counts by tool and verdict, files, durations, MCP servers and skills."""

    def __init__(self, sid: str):
        super().__init__(sid)
        self.by_type: dict = {}
        self.by_tool: dict = {}
        self.by_verdict: dict = {}
        self.files: dict = {}
        self.mcp_servers: dict = {}
        self.skills: dict = {}
        self.tool_ms = 0.0
        self.timed_calls = 0
        self.tool_ms_by_tool: dict = {}
        self.slowest: list = []  # min-heap of (duration_ms, -order seen, record)
        self._seen = 0

    def add(self, record: dict) -> None:
        super().add(record)
        kind = record.get("type")
        _count(self.by_type, kind if isinstance(kind, str) else "(untyped)")

    def add_tool_event(self, record: dict) -> None:
        super().add_tool_event(record)
        tool = record_title(record)
        _count(self.by_tool, tool)
        verdict = record.get("nova_verdict")
        _count(self.by_verdict, verdict if isinstance(verdict, str) else "(none)")
        files = record.get("files_accessed")
        if isinstance(files, list):
            for name in files:
                if isinstance(name, str):
                    _count(self.files, name)
        self.add_origin(record, tool)
        self.add_duration(record, tool)

    def add_origin(self, record: dict, tool: str) -> None:
        server = record.get("mcp_server")
        if not isinstance(server, str) and tool.startswith("mcp__"):
            from .records import mcp_fields

            server = (mcp_fields(tool) or (None, None))[0]
        if isinstance(server, str) and server:
            _count(self.mcp_servers, server)
        skill = record.get("skill_name")
        if isinstance(skill, str) and skill:
            _count(self.skills, skill)

    def add_duration(self, record: dict, tool: str) -> None:
        duration = record.get("duration_ms")
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration != duration:
            return
        self.tool_ms += duration
        self.timed_calls += 1
        self.tool_ms_by_tool[tool] = self.tool_ms_by_tool.get(tool, 0) + duration
        self._seen += 1
        item = (duration, -self._seen, record)  # summarised in as_dict, once it is one of the slowest
        if len(self.slowest) < SLOWEST:
            heapq.heappush(self.slowest, item)
        elif item[:2] > self.slowest[0][:2]:
            heapq.heapreplace(self.slowest, item)

    def as_dict(self, state: str) -> dict:
        result = super().as_dict(state)
        result.update(
            {
                "by_type": _sorted_counts(self.by_type),
                "by_tool": _sorted_counts(self.by_tool),
                "by_verdict": _sorted_counts(self.by_verdict),
                "files_touched": _sorted_counts(self.files),
                "tool_duration_ms": {
                    "total": self.tool_ms,
                    "timed_calls": self.timed_calls,
                    "by_tool": _sorted_counts(self.tool_ms_by_tool),
                },
                "slowest": [
                    {
                        "id": record.get("id"),
                        "tool_name": record_title(record),
                        "duration_ms": duration,
                        "summary": record_summary(record, 80),
                    }
                    for duration, _, record in sorted(self.slowest, key=lambda item: item[:2], reverse=True)
                ],
                "mcp_servers": _sorted_counts(self.mcp_servers),
                "skills": _sorted_counts(self.skills),
            }
        )
        return result


def _count(counter: dict, key) -> None:
    counter[key] = counter.get(key, 0) + 1


def _sorted_counts(counter: dict) -> dict:
    """The counter as a dict, largest first, then by name."""
    return dict(sorted(counter.items(), key=lambda item: (-item[1], str(item[0]))))


def accumulate(root: str, sid: str, into: Summary) -> dict:
    """Stream a session's file into a Summary (or Stats) and return its dict."""
    for _, _, record, complete in read_lines(session_path(root, sid)):
        into.add_line(record, complete)
    return into.as_dict(session_state(root, sid, into.last_type))


def summarize(root: str, sid: str) -> dict:
    """The facts ``list`` shows: start, duration, counts, health, state."""
    return accumulate(root, sid, Summary(sid))


def session_stats(root: str, sid: str) -> dict:
    """The ``stats`` of a session: a summary plus counts by tool, verdict, file, MCP server, skill."""
    return accumulate(root, sid, Stats(sid))


def find_projects(top: str) -> list:
    """The projects under a directory tree (top included) that have a sessions directory,
    sorted. Symbolic links are not followed; hidden directories (``.git``, a project's own
    ``.nova-protector``) and ``node_modules`` are not searched; unreadable ones are skipped."""
    found = []
    for directory, subdirectories, _files in os.walk(project_root(top), onerror=lambda error: None):
        if os.path.isdir(sessions_dir(directory)) and not os.path.islink(paths.data_dir(directory)):
            found.append(directory)
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith(".") and d != "node_modules")
    return sorted(found)


def list_sessions(root: str) -> list:
    """A summary of every session of the project, newest first; an unreadable one says why."""
    result = []
    for sid in session_ids(root):
        try:
            result.append(summarize(root, sid))
        except ReadError as exc:
            result.append({"session_id": sid, "state": "unreadable", "error": str(exc)})
    # Newest first: by the second in the id, then by the init record's milliseconds.
    result.sort(key=lambda item: (item["session_id"][:19], item.get("start") or "", item["session_id"]), reverse=True)
    return result


# ------------------------------------------------------------------- loading


def load_session(
    root: str, sid: str, lines: bool = False, stats: bool = True, sink=None, snapshot: tuple | None = None
) -> dict:
    """The whole session as one object: ``metadata`` (the init record), ``events``
    (every record after it but the final end record), ``end`` (that record or None),
    ``summary``, and ``skipped_lines`` (line numbers of torn or unparsable lines).

    With ``lines``, also ``lines``: ``(number, bytes, record or None, complete)`` for
    every line read (``verify_lines`` checks them). Without ``stats``, the summary has
    the counts of ``summarize``, not those of ``stats`` (by tool, verdict, file;
    durations), and ``turns`` is empty. ``sink(bytes, record)`` is called for each
    parsable record, in the order of the file, as it is read. ``snapshot`` as for
    ``read_lines``."""
    skipped: list = []
    summary = Stats(sid) if stats else Summary(sid)
    turns = Turns() if stats else None
    init = None
    events: list = []
    kept: list | None = [] if lines else None
    path = session_path(root, sid)
    for line in read_lines(path, snapshot):
        number, _, record, complete = line
        if kept is not None:
            kept.append(line)
        summary.add_line(record, complete)
        if record is None:
            skipped.append(number)
            continue
        if sink is not None:
            sink(line[1], record)
        if init is None and not events and record.get("type") == "init":
            init = record
        else:
            if turns is not None:
                turns.of(record)
            events.append(record)
    end = events.pop() if events and events[-1].get("type") == "end" else None
    session = {
        "session_id": sid,
        "path": path,
        "metadata": init,
        "events": events,
        "end": end,
        "summary": summary.as_dict(session_state(root, sid, summary.last_type)),
        "turns": turns.turns if turns is not None else [],
        "skipped_lines": skipped,
    }
    if kept is not None:
        session["lines"] = kept
    return session


def raw_records(root: str, sid: str, skipped: list | None = None):
    """Yield the bytes of every complete, parsable line (export as JSON Lines);
    append the line numbers of the others to skipped."""
    for number, raw, record, _ in read_lines(session_path(root, sid)):
        if record is not None:
            yield raw
        elif skipped is not None:
            skipped.append(number)


# -------------------------------------------------------------------- verify


class Verifier:
    """Checks a session line by line: bad lines, init, ids, end records, counts and,
    when ``chain`` is a ``chain.ChainChecker``, the hash chain."""

    def __init__(self, sid: str, chain=None):
        self.session_id = sid
        self.chain = chain
        self.problems: list = []
        self.problem_count = 0
        self.by_kind: dict = {}
        self.lines = 0
        self.records = 0
        self.max_id: int | None = None
        self.max_id_line = 0  # the line of max_id, read only once max_id is set
        self.since_init = 0  # parsable records after the init record, end records excepted
        self.saw_init = False
        self.ended = False
        self.resumes = 0
        self.last_type = None

    def problem(self, line, kind: str, message: str) -> None:
        self.problem_count += 1
        _count(self.by_kind, kind)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"line": line, "kind": kind, "message": message})

    def uncounted(self, kind: str, count: int) -> None:
        """Count problems that are not listed."""
        self.problem_count += count
        self.by_kind[kind] = self.by_kind.get(kind, 0) + count

    def add_line(self, number: int, raw: bytes, record, complete: bool) -> None:
        self.lines = number
        if not complete:
            self.problem(number, TORN, "incomplete last line (%d bytes, no newline): a torn write" % len(raw))
            return
        if record is None:
            self.problem(number, BAD_JSON, "not a JSON object (%s)" % _why_unparsable(raw))
            return
        self.records += 1
        lost = record.get("lost_records")
        if type(lost) is int and lost > 0:
            self.problem(number, "lost_records", "%d earlier record(s) of this session could not be written" % lost)
        if record.get("previous_file_missing") is True:
            self.problem(number, "previous_file_missing", "the session's earlier file was removed; this one goes on")
        first = number == 1 or not self.saw_init
        if first:
            self.check_init(number, record)
        if self.chain is not None:
            self.chain.add(number, raw, record, first and self.saw_init)
        if first:
            if self.saw_init:
                return
        elif record.get("type") == "init":
            self.problem(number, "init", "a second init record")
        self.check_id(number, record)
        self.check_end(number, record)
        self.last_type = record.get("type")

    def check_init(self, number: int, record: dict) -> None:
        if record.get("type") == "init":
            self.saw_init = True
            if number != 1:
                self.problem(number, "init", "the init record is not on the first line")
            if record.get("session_id") != self.session_id:
                self.problem(number, "init", "the init record names session %s" % _compact(record.get("session_id")))
        elif number == 1:
            self.problem(number, "init", "the first record is %s, not the init record" % _compact(record.get("type")))

    def check_id(self, number: int, record: dict) -> None:
        value = record.get("id")
        if type(value) is not int:
            return
        if self.max_id is not None:
            if value == self.max_id:
                if self.chain is not None and self.chain.torn_ended_by == number:
                    return  # the id of the torn write before it, taken again: reported as torn_ended
                self.problem(number, "duplicate_id", "duplicate id %d (also on line %d)" % (value, self.max_id_line))
                return
            if value < self.max_id:
                self.problem(
                    number,
                    "id_order",
                    "id %d after id %d (line %d): out of order or duplicate" % (value, self.max_id, self.max_id_line),
                )
                return
        expected = 1 if self.max_id is None else self.max_id + 1
        if value > expected:
            missing = str(expected) if value == expected + 1 else "%d-%d" % (expected, value - 1)
            self.problem(number, "id_gap", "id gap: id %s missing before id %d" % (missing, value))
        self.max_id, self.max_id_line = value, number

    def check_end(self, number: int, record: dict) -> None:
        """End records: each counts the records before it, earlier end records excepted.

        Records after an end record are a resumed session (Claude Code ends every
        process with SessionEnd; ``--resume`` and ``claude -p`` continue the file)."""
        if record.get("type") != "end":
            if self.ended:
                self.resumes += 1
                self.ended = False
            self.since_init += 1
            return
        count = record.get("event_count")
        if type(count) is int and count != self.since_init:
            self.problem(
                number,
                "event_count",
                "end record says event_count %d, but %d records precede it" % (count, self.since_init),
            )
        self.ended = True

    def finish(self, state: str) -> dict:
        if self.lines == 0:
            self.problem(None, "empty", "the session file is empty")
        elif not self.saw_init:
            self.problem(None, "init", "no init record")
        notes = []
        if self.last_type != "end":
            if state == STATE_ACTIVE:
                notes.append("the session is active: no end record yet")
            else:
                self.problem(None, "missing_end", "no end record after the last record (the session did not finish)")
        if self.resumes:
            times = "%d time%s" % (self.resumes, "" if self.resumes == 1 else "s")
            notes.append("continued after an end record %s (resumed)" % times)
        chain = None
        if self.chain is not None:
            chain, chain_notes = self.chain.finish()
            notes.extend(chain_notes)
            # Chain findings name earlier lines than the one that revealed them: list by line, file-level last.
            self.problems.sort(key=lambda item: (item["line"] is None, item["line"] or 0))
        result = {
            "session_id": self.session_id,
            "ok": self.problem_count == 0,
            "state": state,
            "lines": self.lines,
            "records": self.records,
            "problem_count": self.problem_count,
            "problems_by_kind": _sorted_counts(self.by_kind),
            "problems": self.problems,
            "problems_shown": len(self.problems),
            "notes": notes,
        }
        if chain is not None:
            from .chain import TAMPER_KINDS

            result["chain"] = chain
            result["tampered"] = any(kind in TAMPER_KINDS for kind in self.by_kind)
        return result


def _why_unparsable(raw: bytes) -> str:
    if not raw.strip():
        return "empty line"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid UTF-8"
    try:
        value = json.loads(text)
    except ValueError as exc:
        return "invalid JSON: %s" % exc
    except RecursionError:
        return "nested too deeply"
    return "a JSON %s" % type(value).__name__


def verify(
    root: str, sid: str, key: bytes | None = None, key_file: str | None = None, anchor_dir: str | None = None
) -> dict:
    """The integrity report of a session; ``ok`` is False when anything is wrong.

    Tool calls that started and never closed are listed (``unfinished``) but
    are not integrity problems: a denied or killed call is what happened.

    The hash chain is checked with ``key`` (the key's bytes),
    else the bytes of ``key_file``, else of the file NOVA_SESSION_CHAIN_KEY_FILE
    names; a key file must be a regular file of mode 0600 or stricter (else a
    ``key_file`` problem, and no key). ``chain`` summarizes the check (see
    ``chain.ChainChecker``: status ``intact``, ``tampered``, ``needs_key``,
    ``unkeyed`` or ``none``); ``tampered`` is True when a problem shows the file
    was changed after it was written (``chain.TAMPER_KINDS``: broken_link,
    outside_chain, mixed_chain, key_mismatch). Memory stays constant: the
    checker keeps the digests of the last two complete, parsable lines.

    With an anchor (``anchor_dir``, else NOVA_SESSION_ANCHOR_DIR), the file is
    also checked against it: ``anchor_cut`` (shorter than the anchor recorded)
    and ``anchor_mismatch`` (another line ends where the anchor's did) are
    tampering too; ``anchor`` says how the check went."""
    return verify_lines(root, sid, read_lines(session_path(root, sid)), key, key_file, anchor_dir)


def verify_lines(
    root: str,
    sid: str,
    lines,
    key: bytes | None = None,
    key_file: str | None = None,
    anchor_dir: str | None = None,
    summary: dict | None = None,
) -> dict:
    """``verify`` of lines read already: ``(number, bytes, record or None, complete)``
    as ``read_lines`` yields them (``load_session(lines=True)`` keeps them). With the
    ``summary`` of the same lines, its unfinished calls are taken, not found again."""
    verifier, found = _verifier(sid, key, key_file)
    calls = Summary(sid)
    for number, raw, record, complete in lines:
        verifier.add_line(number, raw, record, complete)
        if summary is None:
            calls.add_line(record, complete)
    return _verified(
        root, sid, verifier, found, summary if summary is not None else calls.as_dict(STATE_ENDED), anchor_dir
    )


def _verifier(sid: str, key: bytes | None = None, key_file: str | None = None):
    """A Verifier with its chain checker, and the chain key found (or None)."""
    from . import chain

    verifier = Verifier(sid)
    found, source, refused = chain.find_key(key, key_file)
    if refused is not None:
        verifier.problem(None, chain.KEY_FILE, "%s: the chain's keyed links are not checked" % refused)
    verifier.chain = chain.ChainChecker(found, verifier.problem, source, verifier.uncounted)
    return verifier, found


def _verified(root: str, sid: str, verifier: Verifier, key, summary: dict, anchor_dir: str | None = None) -> dict:
    """verify's result, once every line went through the verifier (``summary`` says
    which calls never finished)."""
    from . import anchor

    directory = anchor_dir or anchor.anchor_dir()
    anchored, note = "none", None
    if directory is not None:
        anchored, problems, note = anchor.check(session_path(root, sid), sid, directory, key)
        for kind, message in problems:
            verifier.problem(None, kind, message)
    result = verifier.finish(session_state(root, sid, verifier.last_type))
    result["anchor"] = anchored
    if note is not None:
        result["notes"].append(note)
    result["unfinished_tool_calls"] = summary["unfinished_tool_calls"]
    result["unfinished_count"] = summary["unfinished_count"]
    if summary["unfinished_count"]:
        running = " (or still running: the session is active)" if result["state"] == STATE_ACTIVE else ""
        result["notes"].append("%d tool call(s) started and never finished%s" % (summary["unfinished_count"], running))
    return result


# -------------------------------------------------------------------- follow


def tail_records(root: str, sid: str, count: int):
    """(the last count parsable records, the snapshot offset to follow from, bad line
    numbers, whether the last parsable record is an end record)."""
    from collections import deque

    path = session_path(root, sid)
    last: deque = deque(maxlen=max(0, count))
    bad = []
    ended = False
    fd = open_session(path)
    try:
        size = snapshot_size(fd)
        end_offset = 0
        offset = 0
        for number, raw, complete in raw_lines(fd, 0, size):
            offset += len(raw) + (1 if complete else 0)
            if not complete:
                break  # maybe a write in progress: following reads it again once whole
            end_offset = offset
            record = parse_line(raw)
            if record is None:
                bad.append(number)
            else:
                last.append(record)
                ended = record.get("type") == "end"
    finally:
        os.close(fd)
    return list(last), end_offset, bad, ended


def follow(
    root: str,
    sid: str,
    offset: int,
    interval: float = 0.25,
    stop_when_ended: bool = True,
    timeout: float | None = None,
    ended: bool = False,
):
    """Yield ``(record or None, raw)`` for each complete line written after offset, as it
    arrives. A partly written last line waits for its newline. Holds no lock. Stops
    once the last record is an end record and the session is no longer active (if
    stop_when_ended; ``ended`` says whether the record before offset is one), or
    after timeout seconds without new data."""
    path = session_path(root, sid)
    fd = open_session(path)
    pending = b""
    idle_since = time.monotonic()
    try:
        while True:
            size = os.fstat(fd).st_size
            if size < offset:  # truncated or replaced: start again from the top
                offset, pending = 0, b""
            data = os.pread(fd, min(CHUNK_BYTES, size - offset), offset) if size > offset else b""
            if data:
                idle_since = time.monotonic()
                offset += len(data)
                *lines, pending = (pending + data).split(b"\n")
                for raw in lines:
                    record = parse_line(raw)
                    if record is not None:
                        ended = record.get("type") == "end"
                    yield record, raw
                continue
            if ended and stop_when_ended and not pending and not has_active_mark(root, sid):
                return
            if timeout is not None and time.monotonic() - idle_since > timeout:
                return
            time.sleep(interval)
    finally:
        os.close(fd)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
