"""``nova-session install`` / ``uninstall``: merging the hooks into Claude Code's settings.json.

Run as real commands (``python -m nova_session install ...``) against files in
a temporary directory: other settings and hooks are kept, installing twice
changes nothing, the previous file is kept as ``settings.json.bak``, invalid
files are left untouched, and the installed commands run from anywhere.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nova_session import install

TIMEOUT = 60
EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "SubagentStop",
    "Stop",
    "SessionEnd",
)
TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure")

USER_SETTINGS = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "permissions": {"allow": ["Bash(npm run lint)", "Read(~/.zshrc)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "bar"},
    "model": "claude-sonnet-4-5",
    "hooks": {
        "PostToolUse": [
            {
                "matcher": "Write|Edit",
                "hooks": [{"type": "command", "command": 'npx prettier --write "$FILE"', "timeout": 30}],
            }
        ],
        "Notification": [{"hooks": [{"type": "command", "command": "notify-send 'Claude'"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "echo done >> ~/claude.log"}]}],
    },
    "someFutureSetting": {"nested": [1, 2, {"deep": "caf\u00e9"}], "flag": None},
    "statusLine": {"type": "command", "command": "~/.claude/statusline.sh"},
}


def env_for(home=None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVA_SESSION_") and k != "CLAUDE_PROJECT_DIR"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if home is not None:
        env["HOME"] = str(home)
    return env


def cli(*args, cwd=None, home=None):
    return subprocess.run(
        [sys.executable, "-m", "nova_session", *args],
        capture_output=True,
        env=env_for(home),
        cwd=str(cwd) if cwd is not None else None,
        timeout=TIMEOUT,
    )


def settings_path(project: Path) -> Path:
    return project / ".claude" / "settings.json"


def write_settings(project: Path, settings) -> bytes:
    path = settings_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(settings, indent=4) + "\n").encode("utf-8") if not isinstance(settings, bytes) else settings
    path.write_bytes(data)
    return data


def ours(hook) -> bool:
    return isinstance(hook, dict) and "nova_session" in hook.get("command", "")


def our_groups(settings: dict, event: str) -> list:
    return [g for g in settings["hooks"].get(event, []) if any(ours(h) for h in g.get("hooks", []))]


def check_installed(settings: dict) -> dict:
    """Exactly one group of ours per event, well formed; returns {event: command}."""
    commands = {}
    for event in EVENTS:
        groups = our_groups(settings, event)
        assert len(groups) == 1, (event, settings["hooks"].get(event))
        (group,) = groups
        if event in TOOL_EVENTS:
            assert group["matcher"] == "*"
        else:
            assert "matcher" not in group
        assert len(group["hooks"]) == 1
        (hook,) = group["hooks"]
        assert hook["type"] == "command"
        assert isinstance(hook["timeout"], int) and not isinstance(hook["timeout"], bool) and 0 < hook["timeout"] <= 60
        argv = shlex.split(hook["command"])
        assert argv[-2:] == ["hook", event]
        commands[event] = hook["command"]
    assert set(settings["hooks"]) >= set(EVENTS)
    return commands


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "project"
    path.mkdir()
    return path


# --------------------------------------------------------------------- install


def test_install_into_an_empty_project(project):
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    path = settings_path(project)
    settings = json.loads(path.read_text("utf-8"))
    assert list(settings) == ["hooks"]
    check_installed(settings)
    assert list(settings["hooks"]) == list(EVENTS)
    assert not Path(str(path) + ".bak").exists()
    assert str(path) in proc.stdout.decode()
    assert sorted(p.name for p in project.iterdir()) == [".claude"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]  # no temporary file left


def test_install_keeps_other_settings_and_hooks(project):
    original = write_settings(project, USER_SETTINGS)
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    settings = json.loads(settings_path(project).read_text("utf-8"))

    assert list(settings) == list(USER_SETTINGS)  # every key kept, in place
    for key, value in USER_SETTINGS.items():
        if key != "hooks":
            assert settings[key] == value, key
    check_installed(settings)
    hooks = settings["hooks"]
    assert hooks["Notification"] == USER_SETTINGS["hooks"]["Notification"]
    # The user's groups come first and are untouched; ours is added once after them.
    assert hooks["PostToolUse"][0] == USER_SETTINGS["hooks"]["PostToolUse"][0]
    assert len(hooks["PostToolUse"]) == 2
    assert hooks["Stop"][0] == USER_SETTINGS["hooks"]["Stop"][0]
    assert len(hooks["Stop"]) == 2
    for event in EVENTS:
        if event not in USER_SETTINGS["hooks"]:
            assert len(hooks[event]) == 1
    assert Path(str(settings_path(project)) + ".bak").read_bytes() == original


def test_install_twice_is_byte_identical(project):
    original = write_settings(project, USER_SETTINGS)
    assert cli("install", "--project", str(project)).returncode == 0
    first = settings_path(project).read_bytes()
    backup = Path(str(settings_path(project)) + ".bak")
    assert backup.read_bytes() == original
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    assert "unchanged" in proc.stdout.decode()
    assert settings_path(project).read_bytes() == first
    assert backup.read_bytes() == original  # an unchanged install does not overwrite the backup


def test_install_replaces_an_older_installation(project):
    """Hooks of ours pointing at another interpreter are replaced, never duplicated."""
    old = install.with_ours(dict(USER_SETTINGS), interpreter="/opt/old-venv/bin/python")
    write_settings(project, old)
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    settings = json.loads(settings_path(project).read_text("utf-8"))
    commands = check_installed(settings)
    assert all(shlex.split(c)[0] == os.path.abspath(sys.executable) for c in commands.values())
    assert "/opt/old-venv" not in settings_path(project).read_text("utf-8")
    assert settings["hooks"]["PostToolUse"][0] == USER_SETTINGS["hooks"]["PostToolUse"][0]


def test_install_default_project_is_the_current_directory(project):
    proc = cli("install", "--project", cwd=project)
    assert proc.returncode == 0, proc.stderr
    check_installed(json.loads(settings_path(project).read_text("utf-8")))


def test_install_keeps_the_file_mode(project):
    write_settings(project, {"model": "x"})
    os.chmod(settings_path(project), 0o600)
    assert cli("install", "--project", str(project)).returncode == 0
    assert settings_path(project).stat().st_mode & 0o777 == 0o600


def test_dry_run_writes_nothing(project, tmp_path):
    original = write_settings(project, USER_SETTINGS)
    proc = cli("install", "--project", str(project), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert settings_path(project).read_bytes() == original
    assert sorted(p.name for p in settings_path(project).parent.iterdir()) == ["settings.json"]
    out = proc.stdout.decode("utf-8")
    shown = json.loads(out[out.index("{") :])
    assert shown == install.with_ours(json.loads(original))
    check_installed(shown)
    assert shown["someFutureSetting"] == USER_SETTINGS["someFutureSetting"]

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = cli("install", "--project", str(empty), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert list(empty.iterdir()) == []
    out = proc.stdout.decode("utf-8")
    check_installed(json.loads(out[out.index("{") :]))


def test_user_install_uses_home(tmp_path, project):
    home = tmp_path / "home"
    home.mkdir()
    proc = cli("install", "--user", home=home, cwd=project)
    assert proc.returncode == 0, proc.stderr
    path = home / ".claude" / "settings.json"
    check_installed(json.loads(path.read_text("utf-8")))
    assert list(project.iterdir()) == []
    proc = cli("uninstall", "--user", home=home, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(path.read_text("utf-8")) == {}


# ------------------------------------------------------------------- uninstall


@pytest.mark.parametrize(
    "original",
    [
        USER_SETTINGS,
        {"model": "x"},
        {},
        {"hooks": {"PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "echo mine"}]}]}},
    ],
    ids=["user-settings", "no-hooks", "empty-object", "user-star-matcher"],
)
def test_uninstall_restores_the_original(project, original):
    write_settings(project, original)
    assert cli("install", "--project", str(project)).returncode == 0
    installed = settings_path(project).read_bytes()
    proc = cli("uninstall", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(settings_path(project).read_text("utf-8")) == original
    assert Path(str(settings_path(project)) + ".bak").read_bytes() == installed


@pytest.mark.parametrize(
    "original, after",
    [
        ({"hooks": {}}, {}),
        ({"hooks": {"Stop": []}}, {}),
        (
            {"model": "x", "hooks": {"Stop": [], "Notification": [{"hooks": [{"type": "command", "command": "n"}]}]}},
            {"model": "x", "hooks": {"Notification": [{"hooks": [{"type": "command", "command": "n"}]}]}},
        ),
    ],
    ids=["empty-hooks", "empty-event-list", "empty-list-beside-user-hooks"],
)
def test_uninstall_drops_the_empty_containers_it_leaves(project, original, after):
    """Documented: an event list or hooks object left empty goes, even one that was empty before install."""
    write_settings(project, original)
    assert cli("install", "--project", str(project)).returncode == 0
    assert cli("uninstall", "--project", str(project)).returncode == 0
    assert json.loads(settings_path(project).read_text("utf-8")) == after


def test_uninstall_without_our_hooks_changes_nothing(project):
    original = write_settings(project, USER_SETTINGS)
    proc = cli("uninstall", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    assert "unchanged" in proc.stdout.decode()
    assert settings_path(project).read_bytes() == original
    assert not Path(str(settings_path(project)) + ".bak").exists()


def test_uninstall_without_a_settings_file_creates_nothing(project):
    proc = cli("uninstall", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    assert list(project.iterdir()) == []


# -------------------------------------------------------------- invalid files


UNUSABLE = {
    "truncated": b'{"model": "x",\n  "hooks": {\n',
    "single-quotes": b"{'single': 'quotes'}\n",
    "array": b"[1, 2, 3]\n",
    "string": b'"just a string"\n',
    "hooks-array": b'{"hooks": []}\n',
    "hooks-string": b'{"hooks": "none"}\n',
}


@pytest.mark.parametrize(
    "command, case",
    [(c, k) for c in ("install", "uninstall") for k in UNUSABLE] + [("install", "event-not-a-list")],
)
def test_unusable_settings_are_left_untouched(project, command, case):
    content = UNUSABLE.get(case, b'{"hooks": {"PostToolUse": {"matcher": "*"}}}\n')
    write_settings(project, content)
    proc = cli(command, "--project", str(project))
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    message = proc.stderr.decode().strip()
    assert message and "Traceback" not in message and len(message.splitlines()) == 1
    assert proc.stdout == b""
    assert settings_path(project).read_bytes() == content
    assert sorted(p.name for p in settings_path(project).parent.iterdir()) == ["settings.json"]


def test_invalid_json_message_names_the_file(project):
    write_settings(project, b"{ not json\n")
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 1
    assert str(settings_path(project)) in proc.stderr.decode()
    assert "JSON" in proc.stderr.decode()


# ----------------------------------------------------------- the commands run


def test_commands_use_the_absolute_interpreter_in_isolated_mode(project):
    assert cli("install", "--project", str(project)).returncode == 0
    commands = check_installed(json.loads(settings_path(project).read_text("utf-8")))
    for event, command in commands.items():
        argv = shlex.split(command)
        assert os.path.isabs(argv[0])
        assert argv[0] == os.path.abspath(sys.executable)
        assert "-I" in argv[1 : argv.index("hook")]
        assert command == install.hook_command(event)


def test_installed_commands_run_from_another_directory(tmp_path, project):
    assert cli("install", "--project", str(project)).returncode == 0
    commands = check_installed(json.loads(settings_path(project).read_text("utf-8")))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A module in the current directory must not stand in for nova_session (-I).
    fake = elsewhere / "nova_session"
    fake.mkdir()
    (fake / "__init__.py").write_text("open(%r, 'w').close()\n" % str(elsewhere / "HIJACKED"))
    env = env_for()
    env["CLAUDE_PROJECT_DIR"] = str(project)
    base = {"session_id": "elsewhere-1", "transcript_path": "/tmp/t.jsonl", "cwd": str(project)}
    calls = [
        ("SessionStart", {"source": "startup"}),
        ("PreToolUse", {"tool_name": "Read", "tool_input": {"file_path": "x.py"}, "tool_use_id": "t1"}),
        (
            "PostToolUse",
            {"tool_name": "Read", "tool_input": {"file_path": "x.py"}, "tool_response": {}, "tool_use_id": "t1"},
        ),
        ("SessionEnd", {"reason": "other"}),
    ]
    for event, fields in calls:
        payload = dict(base, hook_event_name=event, **fields)
        proc = subprocess.run(
            commands[event],
            shell=True,
            input=json.dumps(payload).encode(),
            capture_output=True,
            env=env,
            cwd=str(elsewhere),
            timeout=TIMEOUT,
        )
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b""), event
    assert not (elsewhere / "HIJACKED").exists()
    assert not (elsewhere / ".nova-protector").exists()
    (session,) = (project / ".nova-protector" / "sessions").glob("*.jsonl")
    recs = [json.loads(line) for line in session.read_text("utf-8").splitlines()]
    assert [r["type"] for r in recs] == ["init", "event", "end"]
    assert recs[1]["files_accessed"] == [str(project / "x.py")]
    assert recs[1]["duration_ms"] is not None


def test_hook_command_fails_open_when_the_package_cannot_load(project):
    """NOVA_SESSION_BACKEND=rust without the kernel: the hook still exits 0, one line on stderr."""
    code = "import sys; sys.modules['nova_session._rust'] = None\n" + install.HOOK_CODE
    env = dict(os.environ, NOVA_SESSION_BACKEND="rust", CLAUDE_PROJECT_DIR=str(project))
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, "hook", "PostToolUse"],
        input=b'{"session_id":"s","cwd":"%s"}' % str(project).encode(),
        env=env,
        capture_output=True,
    )
    assert proc.returncode == 0
    assert proc.stdout == b""
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and "cannot load nova_session" in lines[0] and "NOVA_SESSION_BACKEND=python" in lines[0]
    assert not (project / ".nova-protector").exists()


def test_install_writes_through_a_symlinked_settings_file(project, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "settings.json"
    target.write_text('{"model": "x"}\n', "utf-8")
    (project / ".claude").mkdir()
    settings_path(project).symlink_to(target)
    assert cli("install", "--project", str(project)).returncode == 0
    assert settings_path(project).is_symlink()
    assert json.loads(target.read_text("utf-8"))["model"] == "x"
    assert "hooks" in json.loads(target.read_text("utf-8"))
    assert (dotfiles / "settings.json.bak").read_text("utf-8") == '{"model": "x"}\n'


def test_install_into_a_missing_project_is_refused(tmp_path):
    missing = tmp_path / "no-such-project"
    proc = cli("install", "--project", str(missing))
    assert proc.returncode == 1
    assert b"not an existing directory" in proc.stderr
    assert not missing.exists()


def test_backup_and_new_file_keep_the_private_mode_of_the_old_one(project):
    path = settings_path(project)
    write_settings(project, {"env": {"API_KEY": "secret"}})
    os.chmod(path, 0o600)
    old_umask = os.umask(0o022)
    try:
        assert cli("install", "--project", str(project)).returncode == 0
    finally:
        os.umask(old_umask)
    assert stat_mode(path) == 0o600
    assert stat_mode(Path(str(path) + ".bak")) == 0o600


def stat_mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_settings_with_a_lone_surrogate_escape_are_refused_and_left_alone(project):
    (project / ".claude").mkdir()
    settings_path(project).write_text('{"note": "\\ud800"}', "utf-8")
    before = settings_path(project).read_bytes()
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 1 and b"left untouched" in proc.stderr and b"Traceback" not in proc.stderr
    assert settings_path(project).read_bytes() == before
    assert sorted(p.name for p in (project / ".claude").iterdir()) == ["settings.json"]
