"""Replay a realistic Claude Code session through the real hooks.

In a temporary project: run ``nova-session install --project``, then run the
exact hook commands written to ``.claude/settings.json`` as separate
processes with the hook's JSON on stdin and ``CLAUDE_PROJECT_DIR`` set, the
way Claude Code does: a prompt, several tools, a failing one, an MCP call, a
subagent, and two tool calls that run in parallel. End the session, then
print where the session went and a readable summary of it.

Run it with ``make demo``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

CLAUDE_SESSION = "5f1c9a7e-demo-4b2d-9c3e-claude-session"


class Replay:
    def __init__(self, project: str):
        self.project = project
        with open(os.path.join(project, ".claude", "settings.json"), encoding="utf-8") as handle:
            settings = json.load(handle)
        # The command of our hook group for each event, exactly as installed.
        self.commands = {event: groups[-1]["hooks"][0]["command"] for event, groups in settings["hooks"].items()}
        self.env = dict(os.environ, CLAUDE_PROJECT_DIR=project)
        self.counter = 0

    def payload(self, event: str, **fields) -> bytes:
        base = {
            "session_id": CLAUDE_SESSION,
            "transcript_path": os.path.join(self.project, ".claude", "transcript.jsonl"),
            "cwd": self.project,
            "hook_event_name": event,
            "permission_mode": "default",
        }
        base.update(fields)
        return json.dumps(base).encode("utf-8")

    def start(self, event: str, **fields) -> subprocess.Popen:
        """Start one hook process, as Claude Code does (through a shell)."""
        process = subprocess.Popen(
            self.commands[event],
            shell=True,
            env=self.env,
            cwd=self.project,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        process.stdin.write(self.payload(event, **fields))
        process.stdin.close()
        return process

    def wait(self, *processes: subprocess.Popen) -> None:
        for process in processes:
            out, err = process.stdout.read(), process.stderr.read()
            process.wait()
            if process.returncode != 0 or out:
                sys.exit("hook failed: exit %s, stdout %r, stderr %r" % (process.returncode, out, err))
            if err:
                print("  hook stderr: %s" % err.decode().strip())

    def hook(self, event: str, **fields) -> None:
        self.wait(self.start(event, **fields))

    def tool(self, name: str, tool_input: dict, response=None, error: str | None = None, seconds: float = 0.05):
        """PreToolUse, the tool runs, then PostToolUse (or PostToolUseFailure)."""
        self.counter += 1
        use_id = "toolu_demo_%02d" % self.counter
        self.hook("PreToolUse", tool_name=name, tool_input=tool_input, tool_use_id=use_id)
        time.sleep(seconds)
        if error is None:
            self.hook("PostToolUse", tool_name=name, tool_input=tool_input, tool_response=response, tool_use_id=use_id)
        else:
            self.hook("PostToolUseFailure", tool_name=name, tool_input=tool_input, tool_use_id=use_id, error=error)

    def parallel_tools(self, calls) -> None:
        """Claude Code runs independent tool calls at once: all Pre hooks, then all Post hooks, in parallel."""
        ids = []
        for _call in calls:
            self.counter += 1
            ids.append("toolu_demo_%02d" % self.counter)
        self.wait(
            *[self.start("PreToolUse", tool_name=n, tool_input=i, tool_use_id=u) for (n, i, _), u in zip(calls, ids)]
        )
        time.sleep(0.08)
        self.wait(
            *[
                self.start("PostToolUse", tool_name=n, tool_input=i, tool_response=r, tool_use_id=u)
                for (n, i, r), u in zip(calls, ids)
            ]
        )


def make_project() -> str:
    project = tempfile.mkdtemp(prefix="nova-demo-")
    os.makedirs(os.path.join(project, "src"))
    os.makedirs(os.path.join(project, "tests"))
    with open(os.path.join(project, "src", "dates.py"), "w", encoding="utf-8") as handle:
        handle.write("def parse(text):\n    return text.split('-')\n")
    with open(os.path.join(project, "tests", "test_dates.py"), "w", encoding="utf-8") as handle:
        handle.write(
            "from src.dates import parse\n\ndef test_parse():\n    assert parse('2024-02-29') == (2024, 2, 29)\n"
        )
    return project


def replay(project: str) -> None:
    r = Replay(project)
    src, test = os.path.join(project, "src", "dates.py"), os.path.join(project, "tests", "test_dates.py")
    r.hook("SessionStart", source="startup", model="claude-sonnet")
    r.hook("UserPromptSubmit", prompt="The date parser test fails — fix it, and open an issue for the ISO formats ✨")
    r.tool("Glob", {"pattern": "**/*.py"}, {"filenames": [src, test], "numFiles": 2, "truncated": False})
    r.parallel_tools(
        [
            (
                "Read",
                {"file_path": src},
                {"type": "text", "file": {"filePath": src, "content": "def parse(text): ..."}},
            ),
            (
                "Read",
                {"file_path": test},
                {"type": "text", "file": {"filePath": test, "content": "def test_parse(): ..."}},
            ),
        ]
    )
    r.tool(
        "Bash",
        {"command": "python -m pytest -q tests/test_dates.py > pytest.log 2>&1"},
        {"stdout": "F\n1 failed in 0.02s\n\x1b[31mAssertionError\x1b[0m", "stderr": "", "interrupted": False},
        seconds=0.3,
    )
    r.tool(
        "Grep",
        {"pattern": "def parse", "path": "src"},
        {"mode": "files_with_matches", "filenames": [src], "numFiles": 1},
    )
    r.tool(
        "Edit",
        {
            "file_path": src,
            "old_string": "return text.split('-')",
            "new_string": "return tuple(int(p) for p in text.split('-'))",
        },
        {"filePath": src, "structuredPatch": []},
    )
    r.tool(
        "Bash", {"command": "cat missing-fixture.json"}, error="cat: missing-fixture.json: No such file or directory"
    )
    r.tool(
        "WebFetch",
        {"url": "https://docs.python.org/3/library/datetime.html", "prompt": "ISO 8601 parsing"},
        {"result": "date.fromisoformat() accepts YYYY-MM-DD …", "code": 200},
        seconds=0.2,
    )
    r.tool(
        "mcp__github__create_issue",
        {"owner": "acme", "repo": "dates", "title": "Support ISO week dates"},
        {"number": 42, "url": "https://github.com/acme/dates/issues/42"},
    )
    r.tool(
        "Task",
        {"description": "Review the fix", "prompt": "Review src/dates.py", "subagent_type": "code-reviewer"},
        {"content": [{"type": "text", "text": "Looks right; add a leap-day test."}]},
        seconds=0.2,
    )
    r.hook("SubagentStop", stop_hook_active=False, agent_id="agent-1", agent_type="code-reviewer")
    r.tool(
        "Bash", {"command": "python -m pytest -q"}, {"stdout": "2 passed in 0.03s", "stderr": "", "interrupted": False}
    )
    r.hook("Stop", stop_hook_active=False)
    r.hook("SessionEnd", reason="prompt_input_exit")


def summary(project: str) -> None:
    sessions_dir = os.path.join(project, ".nova-protector", "sessions")
    (name,) = os.listdir(sessions_dir)
    path = os.path.join(sessions_dir, name)
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    init, end = records[0], records[-1]
    print("\nsession file: %s" % path)
    print(
        "session id:   %s (Claude session %s, nova_session %s)"
        % (init["session_id"], init["claude_session_id"], init["nova_session_version"])
    )
    print(
        "records:      %d lines: init, %d records, end (reason %s)" % (len(records), end["event_count"], end["reason"])
    )
    print()
    for record in records[1:-1]:
        kind = record["type"]
        if kind == "event":
            duration = "%5s ms" % record["duration_ms"] if record["duration_ms"] is not None else "     ? "
            files = ", ".join(os.path.relpath(f, project) for f in record["files_accessed"])
            status = "FAILED" if record["is_error"] else record["nova_verdict"]
            extra = "  [mcp %s.%s]" % (record["mcp_server"], record["mcp_function"]) if "mcp_server" in record else ""
            extra += "  (%s)" % record["error"] if record["is_error"] else ""
            print("  #%-3d %-26s %s  %-8s %s%s" % (record["id"], record["tool_name"], duration, status, files, extra))
        elif kind == "user_prompt":
            print("  #%-3d prompt: %s" % (record["id"], record["prompt"]))
        else:
            print("  #%-3d %s" % (record["id"], kind))
    ids = [r["id"] for r in records if "id" in r]
    print("\nids 1..%d without gaps: %s" % (len(ids), ids == list(range(1, len(ids) + 1))))


def main() -> None:
    project = make_project()
    subprocess.run([sys.executable, "-m", "nova_session", "install", "--project", project], check=True)
    replay(project)
    summary(project)


if __name__ == "__main__":
    main()
