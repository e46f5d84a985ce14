"""Replay a realistic Claude Code session through the real hooks.

In a temporary project: run ``nova-session install --project``, then run the
exact hook commands written to ``.claude/settings.json`` as separate
processes with the hook's JSON on stdin and ``CLAUDE_PROJECT_DIR`` set, the
way Claude Code does: a prompt, several tools, a failing one, an MCP call, a
subagent, and two tool calls that run in parallel. End the session, then
look at it the way a user does, with the ``nova-session`` command of the venv
that runs this script: ``show`` (the timeline), ``verify`` (the integrity
check) and ``report`` (the HTML report).

The temporary project is removed at the end unless ``--keep`` is given; then
the demo prints the commands that look at the session and the report again,
and the ``rm -rf`` that removes the project. If the replay fails, the project
is kept, and the demo says where it is.

Run it with ``make demo`` (``make demo ARGS=--keep`` to keep the project).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import shlex
import shutil
import string
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
        self.turn = 0
        self.common: dict = {}  # fields on every payload from now on (prompt_id)

    def payload(self, event: str, **fields) -> bytes:
        base = {
            "session_id": CLAUDE_SESSION,
            "transcript_path": os.path.join(self.project, ".claude", "transcript.jsonl"),
            "cwd": self.project,
            "hook_event_name": event,
            "permission_mode": "default",
        }
        base.update(self.common)
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

    def prompt(self, text: str) -> None:
        """UserPromptSubmit: a new turn; every later event of the turn carries its prompt_id."""
        self.turn += 1
        self.common["prompt_id"] = "prompt-%d-5b1e" % self.turn
        self.hook("UserPromptSubmit", prompt=text)

    def next_id(self) -> str:
        self.counter += 1
        return "toolu_demo_%02d" % self.counter

    def tool(self, name, tool_input, response=None, error=None, seconds=0.05, **agent):
        """PreToolUse, the tool runs, PostToolUse (or PostToolUseFailure), then PostToolBatch."""
        use_id = self.next_id()
        self.hook("PreToolUse", tool_name=name, tool_input=tool_input, tool_use_id=use_id, **agent)
        started = time.monotonic()
        time.sleep(seconds)
        took = int((time.monotonic() - started) * 1000)  # Claude Code reports the tool's own duration_ms
        call = {"tool_name": name, "tool_input": tool_input, "tool_use_id": use_id, **agent}
        if error is None:
            self.hook("PostToolUse", tool_response=response, duration_ms=took, **call)
        else:
            self.hook("PostToolUseFailure", error=error, is_interrupt=False, duration_ms=took, **call)
        text = error if error is not None else json.dumps(response)
        self.hook("PostToolBatch", tool_calls=[dict(call, tool_response=text)], **agent)

    def parallel_tools(self, calls) -> None:
        """Claude Code runs independent tool calls at once: all Pre hooks, then all Post hooks, in parallel."""
        ids = [self.next_id() for _ in calls]
        self.wait(
            *[self.start("PreToolUse", tool_name=n, tool_input=i, tool_use_id=u) for (n, i, _), u in zip(calls, ids)]
        )
        time.sleep(0.08)
        self.wait(
            *[
                self.start("PostToolUse", tool_name=n, tool_input=i, tool_response=r, tool_use_id=u, duration_ms=80)
                for (n, i, r), u in zip(calls, ids)
            ]
        )
        batch = [
            {"tool_name": n, "tool_input": i, "tool_use_id": u, "tool_response": "…"}
            for (n, i, _), u in zip(calls, ids)
        ]
        self.hook("PostToolBatch", tool_calls=batch)

    def unhooked_call(self, name, tool_input, error_text) -> None:
        """A call no per-tool hook sees (an Edit whose old text is absent): only PostToolBatch reports it."""
        self.hook(
            "PostToolBatch",
            tool_calls=[
                {
                    "tool_name": name,
                    "tool_input": tool_input,
                    "tool_use_id": self.next_id(),
                    "tool_response": "<tool_use_error>%s</tool_use_error>" % error_text,
                }
            ],
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
    r.hook(
        "InstructionsLoaded",
        file_path=os.path.join(project, "CLAUDE.md"),
        memory_type="Project",
        load_reason="session_start",
    )
    r.prompt("The date parser test fails — fix it, and open an issue for the ISO formats ✨")
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
        {"command": "cd tests && python -m pytest -q test_dates.py > pytest.log 2>&1"},
        {"stdout": "F\n1 failed in 0.02s\n\x1b[31mAssertionError\x1b[0m", "stderr": "", "interrupted": False},
        seconds=0.3,
    )
    r.hook("CwdChanged", old_cwd=project, new_cwd=os.path.join(project, "tests"))
    r.unhooked_call(
        "Edit",
        {"file_path": src, "old_string": "return text.split('/')", "new_string": "x"},
        "String to replace not found in file.",
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
        "Bash", {"command": "cat missing-fixture.json"}, error="Exit code 1\ncat: missing-fixture.json: No such file"
    )
    # A secret in a command and in its output: written as [REDACTED:<rule>] (the redactions key says where).
    token = "ghp_" + "".join(random.choice(string.ascii_letters + string.digits) for _ in range(36))
    r.tool(
        "Bash",
        {"command": "GITHUB_TOKEN=%s gh auth status" % token},
        {"stdout": "Logged in to github.com (token: %s)" % token, "stderr": "", "interrupted": False},
    )
    r.tool(
        "mcp__github__create_issue",
        {"owner": "acme", "repo": "dates", "title": "Support ISO week dates"},
        {"number": 42, "url": "https://github.com/acme/dates/issues/42"},
    )
    # A subagent: its own tool calls carry agent_id and agent_type.
    task = {"description": "Review the fix", "prompt": "Review src/dates.py", "subagent_type": "code-reviewer"}
    task_id = r.next_id()
    r.hook("PreToolUse", tool_name="Agent", tool_input=task, tool_use_id=task_id)
    r.hook("SubagentStart", agent_id="a5e1c0de", agent_type="code-reviewer")
    agent = {"agent_id": "a5e1c0de", "agent_type": "code-reviewer"}
    r.tool("Read", {"file_path": src}, {"type": "text", "file": {"filePath": src, "content": "..."}}, **agent)
    r.tool("Grep", {"pattern": "def parse", "path": "src"}, {"filenames": [src], "numFiles": 1}, **agent)
    r.hook("SubagentStop", stop_hook_active=False, last_assistant_message="Looks right; add a leap-day test.", **agent)
    r.hook(
        "PostToolUse",
        tool_name="Agent",
        tool_input=task,
        tool_use_id=task_id,
        duration_ms=640,
        tool_response={"content": [{"type": "text", "text": "Looks right; add a leap-day test."}]},
    )
    r.hook("Stop", stop_hook_active=False, last_assistant_message="Fixed; issue #42 opened.")
    # The user declines a write outside the project: PreToolUse, PermissionRequest, then nothing.
    r.prompt("Also drop a note in /etc/motd")
    note = {"file_path": "/etc/motd", "content": "dates fixed"}
    r.hook("PreToolUse", tool_name="Write", tool_input=note, tool_use_id=r.next_id())
    r.hook("PermissionRequest", tool_name="Write", tool_input=note, permission_suggestions=[])
    r.hook("SessionEnd", reason="prompt_input_exit")


def nova_session_command() -> list:
    """The nova-session of the venv running this script: its console script, or ``python -m nova_session``."""
    script = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "nova-session")
    if os.access(script, os.X_OK):
        return [script]
    return [os.path.abspath(sys.executable), "-m", "nova_session"]


def shell(words: list) -> str:
    return " ".join(shlex.quote(word) for word in words)


def run(cli: list, *args: str) -> None:
    """Print a nova-session command as the user would type it, then run it (its output follows)."""
    words = cli + list(args)
    print("$ %s" % shell(words), flush=True)
    status = subprocess.run(words, check=False).returncode
    if status != 0:
        sys.exit("%s exited with status %d" % (shell(words), status))
    print(flush=True)


def session_id(project: str) -> str:
    sessions_dir = os.path.join(project, ".nova-protector", "sessions")
    (name,) = os.listdir(sessions_dir)
    return name[: -len(".jsonl")]


def show(cli: list, project: str, sid: str) -> str:
    """What a reviewer runs: the timeline, the integrity check, the HTML report; returns the report's path."""
    print("\nsession file: %s\n" % os.path.join(project, ".nova-protector", "sessions", sid + ".jsonl"))
    # show: Tn = the prompt that caused a call, [agent …] = made in a subagent; verify lists the
    # call that never finished (the write the user did not allow).
    run(cli, "show", sid, "--project", project)
    run(cli, "verify", sid, "--project", project)
    run(cli, "report", sid, "--project", project)
    return os.path.join(project, ".nova-protector", "reports", sid + ".html")


def look_again(cli: list, project: str, sid: str, report: str) -> None:
    print("Kept the temporary project %s. Look at the session again:" % project)
    for command in ("show", "stats", "verify", "report"):
        print("  %s" % shell(cli + [command, sid, "--project", project]))
    print("Open the report in a browser: %s" % pathlib.Path(report).as_uri())
    found = shutil.which("nova-session")
    if len(cli) == 1 and (found is None or os.path.abspath(found) != cli[0]):
        activate = os.path.join(os.path.dirname(cli[0]), "activate")
        print("(%s is not on PATH; `source %s` puts it there.)" % (cli[0], shlex.quote(activate)))
    print("Remove the project when done: rm -rf %s" % shlex.quote(project))


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay a realistic Claude Code session through the real hooks.")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary project, its session and report (default: remove it)"
    )
    options = parser.parse_args()
    cli = nova_session_command()
    project = make_project()
    done = False
    try:
        subprocess.run(cli + ["install", "--project", project], check=True)
        print("replaying a Claude Code session through those hooks, one process per hook call ...", flush=True)
        replay(project)
        sid = session_id(project)
        report = show(cli, project, sid)
        done = True
    finally:
        if options.keep and done:
            look_again(cli, project, sid, report)
        elif not done:
            print("The demo failed; its temporary project is kept: %s" % project, file=sys.stderr)
            print("Remove it when done: rm -rf %s" % shlex.quote(project), file=sys.stderr)
        else:
            shutil.rmtree(project)
            print("Removed the temporary project %s (its session and report with it)." % project)
            print("To keep them, with the commands that look at them again, run: make demo ARGS=--keep")
            print("  (or: %s --keep)" % shell([os.path.abspath(sys.executable), os.path.abspath(__file__)]))


if __name__ == "__main__":
    main()
