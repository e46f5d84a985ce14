"""A scripted stand-in for the Anthropic Messages API, for driving the real
Claude Code CLI offline.

Claude Code only calls ``POST /v1/messages?beta=true`` and always asks for a
streamed (SSE) answer. The stand-in answers from scripts keyed by a marker
such as ``[[main]]``: the marker is looked for in the newest user message that
holds text and no tool result (the prompt of the current turn, so a
``--resume`` run with a new prompt picks its own script), and the step is the
number of assistant messages after that message. Each step is a list of
content blocks (``text`` or ``tool_use``). A compaction request gets a
summary; every other request (a slash-command expansion, the
task-notification turn, any side query) gets a plain text answer.

Everything received and every tool call sent is logged, so a test can audit
what the agent recorded against what the model asked for.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PLAIN_ANSWER = "ok"
# The answer to a compaction request (its prompt asks for a <summary> block). Claude
# Code retries a compaction whose answer has no <summary> tags, so a bare "ok" would
# cost a second helper agent and request.
SUMMARY_ANSWER = "<analysis>Nothing to analyse.</analysis>\n<summary>The stand-in's summary of the session.</summary>"


def text(value: str) -> dict:
    """A text block for a script step."""
    return {"type": "text", "text": value}


def tool_use(tool_use_id: str, name: str, tool_input: dict) -> dict:
    """A tool_use block for a script step."""
    return {"type": "tool_use", "id": tool_use_id, "name": name, "input": tool_input}


def _blocks(content) -> list:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or () if isinstance(block, dict)]


def current_turn(messages: list):
    """(index, text) of the newest user message with text and no tool result, or None.

    A tool-result message may carry text too (system reminders), so only a
    message without any tool result starts a turn."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") != "user":
            continue
        blocks = _blocks(message.get("content"))
        if any(block.get("type") == "tool_result" for block in blocks):
            continue
        texts = [block.get("text", "") for block in blocks if block.get("type") == "text"]
        if texts:
            return index, "\n".join(texts)
    return None


class StandIn:
    """The stand-in server; use it as a context manager (it serves on a thread)."""

    def __init__(self, scripts: dict):
        # marker name (without brackets) -> list of steps, each a list of blocks
        self.scripts = scripts
        self.requests: list = []  # {"path", "marker", "step", "body"} per request, in order
        self.sent_tool_uses: list = []  # {"id", "name", "input", "marker", "step"} per tool_use sent
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="stand-in", daemon=True)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def answer(self, path: str, body: dict) -> list:
        """The content blocks answering one request (and log it)."""
        marker, step, blocks = None, None, [text(PLAIN_ANSWER)]
        messages = body.get("messages") or []
        turn = current_turn(messages)
        if turn is not None and "<summary>" in turn[1]:
            blocks = [text(SUMMARY_ANSWER)]
        # Only a request offering tools is the agent loop (main thread or subagent);
        # a side query that happens to quote the prompt must not consume a script step.
        if turn is not None and body.get("tools"):
            index, prompt = turn
            for name, steps in self.scripts.items():
                if "[[%s]]" % name in prompt:
                    marker = name
                    step = sum(1 for message in messages[index + 1 :] if message.get("role") == "assistant")
                    blocks = steps[step] if step < len(steps) else [text("[[%s]] is finished" % name)]
                    break
        with self._lock:
            self.requests.append({"path": path, "marker": marker, "step": step, "body": body})
            for block in blocks:
                if block["type"] == "tool_use":
                    self.sent_tool_uses.append(
                        {
                            "id": block["id"],
                            "name": block["name"],
                            "input": block["input"],
                            "marker": marker,
                            "step": step,
                        }
                    )
        return blocks


def _handler_for(stand_in: StandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep pytest's output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            if not self.path.startswith("/v1/messages") or "count_tokens" in self.path or not isinstance(body, dict):
                with stand_in._lock:
                    stand_in.requests.append({"path": self.path, "marker": None, "step": None, "body": body})
                self._send(404, "application/json", b'{"type":"error","error":{"type":"not_found_error"}}')
                return
            blocks = stand_in.answer(self.path, body)
            self._send(
                200, "text/event-stream", sse(blocks, body.get("model", "claude-stand-in"), len(stand_in.requests))
            )

        def _send(self, status: int, content_type: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("cache-control", "no-cache")
            self.send_header("content-length", str(len(data)))
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True

    return Handler


def sse(blocks: list, model: str, number: int) -> bytes:
    """One streamed Messages API answer holding blocks, as server-sent events."""
    events = []

    def event(name: str, data: dict) -> None:
        events.append("event: %s\ndata: %s\n\n" % (name, json.dumps(data)))

    message = {
        "id": "msg_stand_in_%d" % number,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    event("message_start", {"type": "message_start", "message": message})
    stop_reason = "end_turn"
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            stop_reason = "tool_use"
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        event("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
        event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        event("content_block_stop", {"type": "content_block_stop", "index": index})
    event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
    )
    event("message_stop", {"type": "message_stop"})
    return "".join(events).encode("utf-8")
