"""Record a realistic agent session through nova_session's public API.

Creates a temporary project, records a prompt and a dozen tool calls (two of
them in parallel, one failing, one MCP call, one subagent), ends the session,
then prints where the session file is and a short summary of what it holds.

Run it with `make demo`.
"""

from __future__ import annotations

import collections
import tempfile
import threading
import time

import nova_session


def now() -> str:
    millis = time.time_ns() // 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + ".%03dZ" % (millis % 1000)


def tool_event(project: str, name: str, tool_input: dict, output, files=(), error: str | None = None) -> dict:
    start = now()
    time.sleep(0.002)  # the tool "runs"
    event = {
        "timestamp_start": start,
        "timestamp_end": now(),
        "duration_ms": 2,
        "tool_name": name,
        "tool_input": tool_input,
        "tool_output": output,
        "working_dir": project,
        "files_accessed": [f"{project}/{f}" for f in files],
        "nova_verdict": "allowed",
        "nova_severity": None,
        "nova_rules_matched": [],
        "nova_scan_time_ms": 0,
    }
    if error is not None:
        event["is_error"] = True
        event["error"] = error
    return event


def main() -> None:
    project = tempfile.mkdtemp(prefix="nova-demo-")
    manager = nova_session.SessionManager(project)
    session_id = manager.generate_session_id()
    path = manager.init_session_file(session_id, claude_session_id="demo-claude-session", source="startup")

    manager.append_event(session_id, {"type": "user_prompt", "timestamp": now(), "prompt": "Fix the failing date test, please ✨"})
    calls = [
        ("Glob", {"pattern": "**/*.py"}, ["src/dates.py", "tests/test_dates.py"], ()),
        ("Read", {"file_path": f"{project}/src/dates.py"}, "def parse(s):\n    return s.split('-')\n", ["src/dates.py"]),
        ("Grep", {"pattern": "parse\\(", "path": project}, "src/dates.py:1:def parse(s):", ["src/dates.py"]),
        ("Bash", {"command": "pytest -q tests/test_dates.py"}, "1 failed\n\x1b[31mAssertionError\x1b[0m", ["tests/test_dates.py"]),
        ("Edit", {"file_path": f"{project}/src/dates.py", "old_string": "split('-')", "new_string": "split('-', 2)"}, "ok", ["src/dates.py"]),
        ("WebFetch", {"url": "https://docs.python.org/3/library/datetime.html", "prompt": "ISO parsing"}, "<html>…</html>", ()),
        ("mcp__github__create_issue", {"owner": "acme", "repo": "dates", "title": "Parse ISO dates"}, {"number": 42}, ()),
        ("Task", {"description": "review the fix", "subagent_type": "code-reviewer"}, "Looks right; add a test for 2024-02-29.", ()),
    ]
    for name, tool_input, output, files in calls:
        manager.append_event(session_id, tool_event(project, name, tool_input, output, files))

    # A failing call, then two calls the agent ran in parallel.
    manager.append_event(
        session_id,
        tool_event(project, "Bash", {"command": "cat missing.txt"}, "", ["missing.txt"], error="cat: missing.txt: No such file"),
    )
    parallel = [
        threading.Thread(target=manager.append_event, args=(session_id, tool_event(project, "Read", {"file_path": f}, "…", [f])))
        for f in ("README.md", "setup.cfg")
    ]
    for thread in parallel:
        thread.start()
    for thread in parallel:
        thread.join()
    manager.append_event(session_id, tool_event(project, "Bash", {"command": "pytest -q"}, "12 passed", ()))
    manager.finalize_session(session_id, reason="prompt_input_exit")

    records = manager.read_session_events(session_id)
    tools = collections.Counter(r["tool_name"] for r in records if r.get("type") == "event")
    ids = [r["id"] for r in records if "id" in r]
    end = records[-1]
    print(f"backend:      {nova_session.BACKEND}")
    print(f"session id:   {session_id}")
    print(f"session file: {path}")
    print(f"records:      {len(records)} (init, {end['event_count']} events and prompts, end: {end['reason']})")
    print(f"ids:          {ids[0]}..{ids[-1]}, gap-free: {ids == list(range(1, len(ids) + 1))}")
    print(f"tools:        {', '.join(f'{name} x{count}' for name, count in sorted(tools.items()))}")
    print(f"errors:       {sum(1 for r in records if r.get('is_error'))}")
    print(f"size:         {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
