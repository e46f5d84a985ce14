"""A minimal MCP stdio server named ``notes`` with one tool, ``lookup``.

Newline-delimited JSON-RPC 2.0 on stdin/stdout, as Claude Code speaks it to
stdio servers: ``initialize``, ``tools/list`` and ``tools/call``; any other
request gets an empty result and notifications are ignored. Standard library
only, so it runs under any interpreter.
"""

from __future__ import annotations

import json
import sys

LOOKUP = {
    "name": "lookup",
    "description": "Look up a note by its key.",
    "inputSchema": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]},
}


def result(request: dict):
    method = request.get("method")
    params = request.get("params") or {}
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "notes", "version": "1.0"},
        }
    if method == "tools/list":
        return {"tools": [LOOKUP]}
    if method == "tools/call":
        key = (params.get("arguments") or {}).get("key")
        return {"content": [{"type": "text", "text": "note for %s" % key}]}
    return {}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("id") is None:  # a notification: no answer
            continue
        answer = {"jsonrpc": "2.0", "id": request["id"], "result": result(request)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
