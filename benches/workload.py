"""A deterministic, realistic workload: the tool events of a coding-agent session.

A mix of Read, Bash, Edit, Grep, Glob, Write, WebFetch, Task and MCP calls
with payloads around 5 KB (median) and up to ~50 KB, holding non-ASCII text
and control characters (terminal colours, tabs, carriage returns), as real
tool outputs do. The same seed gives the same events on every run.
"""

from __future__ import annotations

import math
import random

TOOLS = ("Read", "Bash", "Edit", "Grep", "Glob", "Write", "WebFetch", "Task", "mcp__github__search_issues")
WORDS = (
    "def",
    "return",
    "self",
    "import",
    "class",
    "value",
    "résumé",
    "naïve",
    "日本語",
    "Ωmega",
    "→",
    "✓",
    "if",
    "None",
    "for",
    "in",
    "error",
    "\t",
    "\x1b[31mFAIL\x1b[0m",
    "\r\n",
    "ok",
    "path/to/file.py",
)


def _text(rng: random.Random, size: int) -> str:
    parts, length = [], 0
    while length < size:
        word = rng.choice(WORDS)
        parts.append(word)
        length += len(word.encode("utf-8")) + 1
        parts.append("\n" if rng.random() < 0.12 else " ")
    return "".join(parts)


def _size(rng: random.Random, median: int | None = None) -> int:
    # log-normal around the median (e^8.5, about 5 KB, by default), capped at ~50 KB
    return int(min(50_000, max(200, rng.lognormvariate(8.5 if median is None else math.log(median), 0.8))))


def events(count: int = 200, seed: int = 20261124, median: int | None = None) -> list:
    """count tool events; their payloads log-normal around median bytes (about 5 KB by default)."""
    rng = random.Random(seed)
    result = []
    for index in range(count):
        tool = TOOLS[index % len(TOOLS)]
        path = "/home/dev/project/src/module_%d.py" % rng.randrange(40)
        body = _text(rng, _size(rng, median))
        tool_input: dict = {"file_path": path}
        output: object = body
        if tool == "Bash":
            tool_input = {"command": "pytest -q tests/test_%d.py 2>&1 | tail -n 40" % index, "timeout": 120000}
            output = {"stdout": body, "stderr": "", "interrupted": False}
        elif tool in ("Edit", "Write"):
            tool_input = {"file_path": path, "old_string": body[: len(body) // 3], "new_string": body[len(body) // 3 :]}
            output = {"filePath": path, "structuredPatch": [{"lines": body.splitlines()[:20]}]}
        elif tool in ("Grep", "Glob"):
            tool_input = {"pattern": "def \\w+\\(", "path": "/home/dev/project"}
            output = {
                "filenames": ["/home/dev/project/src/module_%d.py" % i for i in range(rng.randrange(1, 60))],
                "content": body,
            }
        elif tool == "WebFetch":
            tool_input = {"url": "https://docs.example.org/page/%d" % index, "prompt": "summarise"}
        elif tool == "Task":
            tool_input = {"description": "review", "prompt": body[:2000], "subagent_type": "general-purpose"}
        elif tool.startswith("mcp__"):
            tool_input = {"query": "is:open label:bug", "page": index}
            output = {"items": [{"title": line, "number": n} for n, line in enumerate(body.splitlines()[:30])]}
        result.append(
            {
                "timestamp_start": "2026-11-24T10:00:%02d.%03dZ" % (index % 60, index % 1000),
                "timestamp_end": "2026-11-24T10:00:%02d.%03dZ" % (index % 60, (index + 7) % 1000),
                "duration_ms": rng.randrange(1, 5000),
                "tool_name": tool,
                "tool_input": tool_input,
                "tool_output": output,
                "working_dir": "/home/dev/project",
                "files_accessed": [path],
                "nova_verdict": "allowed",
                "nova_severity": None,
                "nova_rules_matched": [],
                "nova_scan_time_ms": 0,
                "tool_use_id": "toolu_%06d" % index,
                "hook_event": "PostToolUse",
                "is_error": False,
            }
        )
    return result
