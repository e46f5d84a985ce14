"""End to end: the Claude Code plugin in ``plugin/``, loaded by the real CLI with
``--plugin-dir``, alone and together with the settings hooks ``install`` writes.

Alone, it records the session; with both installed, Claude Code runs both
commands for every event, and each event must still be recorded once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from stand_in import StandIn, text, tool_use
from test_real_claude import claude_binary, cli_environment, run_claude

PLUGIN = Path(__file__).resolve().parents[2] / "plugin"
BIN = os.path.dirname(sys.executable)  # where pip put the nova-session console script the plugin runs

SCRIPTS = {
    "plug": [
        [
            tool_use("toolu_plug_echo", "Bash", {"command": "echo plugged", "description": "Echo"}),
            tool_use("toolu_plug_read", "Read", {"file_path": "PROJECT/notes.txt"}),
        ],
        [text("Plugin run done.")],
    ]
}


def record_with_plugin(root: Path, settings_hooks: bool) -> list:
    project = root / "project"
    (project / ".claude").mkdir(parents=True)
    (project / "notes.txt").write_text("notes\n")
    for name in ("home", "tmp", "dumps"):
        (root / name).mkdir()
    if settings_hooks:
        install = [sys.executable, "-m", "nova_session", "install", "--project", str(project)]
        subprocess.run(install, check=True, capture_output=True, timeout=60)
    scripts = json.loads(json.dumps(SCRIPTS).replace("PROJECT", os.path.realpath(str(project))))
    with StandIn(scripts) as stand_in:
        env = cli_environment(root, stand_in, root / "dumps")
        env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
        arguments = [claude_binary(), "-p", "[[plug]] go", "--output-format", "json"]
        arguments += ["--permission-mode", "bypassPermissions", "--plugin-dir", str(PLUGIN)]
        code, out, err = run_claude(arguments, str(project), env)
    assert code == 0, "exit %s\n%s\n%s" % (code, out[-2000:], err[-2000:])
    sessions = sorted((project / ".nova-protector" / "sessions").glob("*.jsonl"))
    assert len(sessions) == 1, sessions
    return [json.loads(line) for line in sessions[0].read_text().splitlines()]


def check_each_event_once(records: list) -> None:
    for tool_use_id in ("toolu_plug_echo", "toolu_plug_read"):
        for kind in ("tool_start", "event"):
            found = [r for r in records if r.get("type") == kind and r.get("tool_use_id") == tool_use_id]
            assert len(found) == 1, (kind, tool_use_id, found)
    kinds = [r["type"] for r in records]
    assert kinds.count("user_prompt") == 1 and kinds.count("tool_batch") == 1 and kinds.count("stop") == 1
    assert kinds[0] == "init" and kinds[-1] == "end" and kinds.count("end") == 1
    ids = [r["id"] for r in records if "id" in r]
    assert ids == list(range(1, len(ids) + 1))


@pytest.mark.parametrize("settings_hooks", [False, True], ids=["plugin-alone", "plugin-and-settings"])
def test_the_plugin_records_each_event_once(tmp_path, settings_hooks):
    records = record_with_plugin(tmp_path, settings_hooks)
    check_each_event_once(records)
    echo = next(r for r in records if r.get("type") == "event" and r["tool_use_id"] == "toolu_plug_echo")
    assert echo["tool_output"]["stdout"] == "plugged" and isinstance(echo["duration_ms"], (int, float))


def test_the_shipped_hooks_json_is_what_install_generates():
    """plugin/hooks/hooks.json is data kept in step with the events the hooks handle."""
    from nova_session import install

    shipped = json.loads((PLUGIN / "hooks" / "hooks.json").read_text())
    assert shipped == install.plugin_hooks()
    assert "WorktreeCreate" not in shipped["hooks"] and "MessageDisplay" not in shipped["hooks"]
    manifest = json.loads((PLUGIN / ".claude-plugin" / "plugin.json").read_text())
    assert manifest["name"] == "nova-session"
    market = json.loads((PLUGIN.parent / ".claude-plugin" / "marketplace.json").read_text())
    assert market["plugins"][0]["source"] == "./plugin"
