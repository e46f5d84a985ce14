"""examples/demo.py, as `make demo` runs it: the replay, then nova-session show, verify and report.

The demo makes its temporary project with tempfile.mkdtemp, so TMPDIR set to the test's directory
tells where it went and whether it is gone.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The demo run twice at once, without and with --keep: {args: (its TMPDIR, its stdout)}."""
    started = {}
    for args in ((), ("--keep",)):
        tmp = tmp_path_factory.mktemp("demo")
        env = dict(os.environ, TMPDIR=str(tmp))
        process = subprocess.Popen(
            [sys.executable, str(DEMO), *args],
            env=env,
            cwd=str(tmp),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started[args] = (tmp, process)
    done = {}
    for args, (tmp, process) in started.items():
        out, err = process.communicate(timeout=120)
        done[args] = (tmp, process.returncode, out, err)
    return done


def run_demo(runs: dict, *args: str) -> tuple:
    tmp, status, out, err = runs[args]
    assert status == 0, out + err
    return tmp, out


def projects(tmp_path: Path) -> list:
    return sorted(path for path in tmp_path.iterdir() if path.name.startswith("nova-demo-"))


def cli_prefix() -> str:
    script = Path(sys.executable).parent / "nova-session"
    return str(script) if os.access(str(script), os.X_OK) else "%s -m nova_session" % sys.executable


def test_demo_shows_the_session_and_removes_its_project(runs):
    tmp_path, out = run_demo(runs)
    prefix = "Removed the temporary project "
    (project,) = [line[len(prefix) :].split()[0] for line in out.splitlines() if line.startswith(prefix)]
    assert project.startswith(str(tmp_path / "nova-demo-"))
    assert projects(tmp_path) == []
    assert not os.path.exists(project)
    # nova-session show, run with the venv's console script: the replayed tools, the MCP call, the subagent
    assert "$ %s show " % cli_prefix() in out
    for text in ("Glob", "mcp__github__create_issue", "code-reviewer"):
        assert text in out
    assert "$ %s verify " % cli_prefix() in out
    assert "nova-session report: wrote %s" % project in out
    assert "make demo ARGS=--keep" in out


def test_demo_keep_leaves_the_project_the_report_and_the_commands(runs):
    tmp_path, out = run_demo(runs, "--keep")
    (project,) = projects(tmp_path)
    (sid,) = [name[: -len(".jsonl")] for name in os.listdir(project / ".nova-protector" / "sessions")]
    report = project / ".nova-protector" / "reports" / (sid + ".html")
    assert report.is_file() and report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert "nova-session report: wrote %s" % report in out
    assert report.as_uri() in out
    assert "Kept the temporary project %s" % project in out
    for command in ("show", "stats", "verify", "report"):
        line = "  %s %s %s --project %s" % (cli_prefix(), command, sid, project)
        assert line in out.splitlines()
    assert "rm -rf %s" % project in out
    # the printed commands work as printed
    again = subprocess.run(
        [*shlex.split(cli_prefix()), "stats", sid, "--project", str(project)], capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert "Bash" in again.stdout
