"""A session's records grouped the way a security reviewer reads them: which files the
agent read and wrote (those outside the project and the sensitive ones flagged), which
commands it ran (with their outcome and duration), which places it reached (web pages,
searches, hosts named by network commands, MCP servers), its subagents, and the prompts.
Pure functions of the records (``reading.load_session``'s ``events``); nothing is read
from disk and no record is changed."""

from __future__ import annotations

import os
import re

from .timeline import finished_calls, unfinished_start

# Tools that only read what they name, and tools that write it.
READERS = frozenset(("Read", "Glob", "Grep", "NotebookRead", "LS"))
WRITERS = frozenset(("Write", "Edit", "MultiEdit", "NotebookEdit"))
# The tool that starts a subagent: "Task", which Claude Code also calls "Agent".
LAUNCHERS = frozenset(("Task", "Agent"))

# Paths a reviewer wants to see first: credentials, keys, shell and system configuration.
_SENSITIVE = re.compile(
    r"(^|/)(\.ssh|\.gnupg|\.aws|\.azure|\.kube|\.docker|\.config/gcloud)(/|$)"
    r"|(^|/)\.env(\.[^/]*)?$|(^|/)\.(netrc|git-credentials|npmrc|pypirc|pgpass|bash_history|zsh_history)$"
    r"|(^|/)(id_rsa|id_dsa|id_ecdsa|id_ed25519)(\.pub)?$|\.(pem|key|p12|pfx|keystore|jks)$"
    r"|^/etc/|^/root/|^/proc/|^/var/run/secrets/|(^|/)credentials(\.json)?$|(^|/)secrets?\.(json|ya?ml|toml)$"
)
# A word every sensitive path holds (a quick test before the pattern, a tenth of its time).
_HINT = re.compile(
    r"ssh|gnupg|aws|azure|kube|docker|gcloud|env|netrc|credential|npmrc|pypirc|pgpass|histor|id_|pem|key|p12|pfx|jks"
    r"|etc/|root/|proc/|secret"
)
# Commands that reach the network, and the URLs or hosts in them.
_NETWORK_COMMAND = re.compile(
    r"\b(curl|wget|git\s+(clone|fetch|pull|push|ls-remote)|pip3?\s+(install|download)|npm\s+(install|i)|"
    r"scp|rsync|ssh|nc|ncat|ftp|sftp|telnet)\b"
)
_URL = re.compile(r"\b(?:https?|ftp|ssh|git)://[^\s'\"<>`|;)]+")
_SCP_HOST = re.compile(r"\b[\w.-]+@([\w-]+(?:\.[\w-]+)+):")


def sensitive(path: str) -> bool:
    """Whether a path names credentials, keys or system configuration."""
    path = path.replace("\\", "/")
    return bool(_HINT.search(path)) and bool(_SENSITIVE.search(path))


def outside(path: str, project: str | None) -> bool:
    """Whether an absolute path lies outside the project directory (relative paths are inside)."""
    return _Outside(project)(path)


class _Outside:
    """``outside`` for one project, normalised once."""

    def __init__(self, project: str | None):
        self.project = os.path.normpath(project) if project else None
        self.prefix = self.project.rstrip(os.sep) + os.sep if self.project else ""

    def __call__(self, path: str) -> bool:
        if self.project is None or not os.path.isabs(path):
            return False
        path = os.path.normpath(path)
        return path != self.project and not path.startswith(self.prefix)


def host(url: str) -> str:
    """The host of a URL ("" when it has none)."""
    rest = url.split("://", 1)[-1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return authority.rsplit("@", 1)[-1].split(":", 1)[0].lower() if "[" not in authority else authority.lower()


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _input(record: dict) -> dict:
    value = record.get("tool_input")
    return value if isinstance(value, dict) else {}


def _outcome(record: dict) -> str:
    if record.get("type") == "tool_start":
        return "unfinished"
    if record.get("denied"):
        return "denied"
    if record.get("is_error") is True:
        return "failed"
    return "ok"


def views(events: list, project: str | None) -> dict:
    """``files``, ``commands``, ``network``, ``subagents`` and ``prompts`` of a session's records."""
    files: dict = {}
    commands: list = []
    network: dict = {}
    agents: dict = {}
    prompts: list = []

    finished = finished_calls(events)

    launchers = _Launchers()
    is_outside = _Outside(project)

    def reached(kind: str, where: str, record: dict) -> None:
        entry = network.setdefault((kind, where), {"kind": kind, "target": where, "ids": []})
        entry["ids"].append(record.get("id"))

    def agent_of(record: dict) -> dict:
        agent = record["agent_id"]
        entry = agents.get(agent)
        if entry is None:
            agent_type = record.get("agent_type")
            entry = agents[agent] = {"agent_id": agent, "agent_type": agent_type, "ids": [], "started_by": None}
            if agent not in launchers.claimed:
                launchers.claim(agent, agent_type)
        return entry

    for record in events:
        if not isinstance(record, dict):
            continue
        kind, tool = record.get("type"), _text(record.get("tool_name"))
        if kind == "user_prompt":
            prompts.append({"id": record.get("id"), "prompt": _text(record.get("prompt"))})
            continue
        agent = record.get("agent_id")
        if tool in LAUNCHERS and not agent and kind in ("tool_start", "event"):
            launchers.add(record)
        if kind == "subagent_start" and isinstance(agent, str) and agent:
            agent_of(record)
            continue
        if unfinished_start(record, finished):
            # A call that started and never finished (denied, killed, blocked): what it meant to touch.
            arguments = _input(record)
            named = (arguments.get(key) for key in ("file_path", "notebook_path", "path"))
            record = dict(record, files_accessed=[path for path in named if isinstance(path, str)])
        elif kind != "event":
            continue
        if isinstance(agent, str) and agent:
            agent_of(record)["ids"].append(record.get("id"))
        touched = record.get("files_accessed")
        for path in touched if isinstance(touched, list) else []:
            if not isinstance(path, str) or not path:
                continue
            entry = files.get(path)
            if entry is None:
                entry = files[path] = {
                    "path": path,
                    "read": 0,
                    "written": 0,
                    "other": 0,
                    "ids": [],
                    "outside": is_outside(path),
                    "sensitive": sensitive(path),
                }
            if record.get("type") == "tool_start":
                entry["unfinished"] = entry.get("unfinished", 0) + 1
            entry["read" if tool in READERS else "written" if tool in WRITERS else "other"] += 1
            entry["ids"].append(record.get("id"))
        arguments = _input(record)
        if tool == "Bash":
            command = _text(arguments.get("command"))
            commands.append(
                {
                    "id": record.get("id"),
                    "command": command,
                    "outcome": _outcome(record),
                    "duration_ms": record.get("duration_ms"),
                    "agent_id": agent if isinstance(agent, str) else None,
                }
            )
            if _NETWORK_COMMAND.search(command):
                for url in _URL.findall(command):
                    reached("host", host(url) or url, record)
                for name in _SCP_HOST.findall(command):
                    reached("host", name.lower(), record)
        elif tool == "WebFetch":
            url = _text(arguments.get("url"))
            reached("url", url, record)
            if host(url):
                reached("host", host(url), record)
        elif tool == "WebSearch":
            reached("search", _text(arguments.get("query")), record)
        elif tool.startswith("mcp__"):
            reached("mcp", tool.split("__")[1] if tool.count("__") >= 2 else tool, record)
    for entry in agents.values():
        entry["started_by"] = launchers.started_by(entry["agent_id"])
    return {
        "files": sorted(files.values(), key=lambda f: (not f["sensitive"], not f["outside"], f["path"])),
        "commands": commands,
        "network": sorted(network.values(), key=lambda n: (n["kind"], n["target"])),
        "subagents": list(agents.values()),
        "prompts": prompts,
    }


class _Launchers:
    """The main agent's Task/Agent calls, to find the one that started each subagent: the
    call whose output names the subagent (``agentId``), else the latest such call started
    before the subagent's first record (of the same ``subagent_type`` when one matches)
    that no other subagent claimed. A call is named by its closing event when it has one."""

    def __init__(self):
        self.pending: list = []  # (start id, tool_use_id, subagent_type) of calls not claimed yet
        self.starts: dict = {}  # tool_use_id -> (start id, tool_use_id, subagent_type)
        self.closing: dict = {}  # tool_use_id -> id of its closing event
        self.claimed: dict = {}  # agent_id -> tool_use_id of the call credited

    def add(self, record: dict) -> None:
        use_id = record.get("tool_use_id")
        if not isinstance(use_id, str):
            return
        if record.get("type") == "tool_start":
            kind = _input(record).get("subagent_type")
            self.starts[use_id] = (record.get("id"), use_id, kind if isinstance(kind, str) else None)
            self.pending.append(self.starts[use_id])
            return
        self.closing[use_id] = record.get("id")
        output = record.get("tool_output")
        named = output.get("agentId") if isinstance(output, dict) else None
        if isinstance(named, str) and named:  # this call started that subagent, whatever was guessed
            guessed = self.claimed.get(named)
            self.pending = [call for call in self.pending if call[1] != use_id]
            if guessed is not None and guessed != use_id and guessed in self.starts:
                self.pending.append(self.starts[guessed])
                self.pending.sort(key=lambda call: call[0] if isinstance(call[0], int) else -1)
            self.claimed[named] = use_id

    def claim(self, agent: str, agent_type) -> None:
        """Credit a subagent first seen now with the latest call waiting (of its type if any)."""
        for same_type in (True, False):
            for index in range(len(self.pending) - 1, -1, -1):
                if not same_type or (agent_type is not None and self.pending[index][2] == agent_type):
                    self.claimed[agent] = self.pending.pop(index)[1]
                    return

    def started_by(self, agent: str):
        """The record id of the call that started the subagent (None when not found)."""
        use_id = self.claimed.get(agent)
        if use_id is None:
            return None
        return self.closing.get(use_id, self.starts[use_id][0] if use_id in self.starts else None)
