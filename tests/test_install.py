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

from nova_session import hooks, install, sessions

TIMEOUT = 60
# What install registers: every event of hooks.EVENTS (MessageDisplay only when asked for).
EVENTS = hooks.EVENTS
TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied")
# The hook command of nova_session releases before run_hook.py (an upgrade must replace them).
OLD_COMMAND = "/opt/old-venv/bin/python -I -c 'import nova_session.cli as c; c.main()' hook %s"
OLD_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "SubagentStop")

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


def check_installed(settings: dict, events=EVENTS) -> dict:
    """Exactly one group of ours per event, well formed; returns {event: command}."""
    commands = {}
    for event in events:
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
        assert type(hook["timeout"]) is int and hook["timeout"] == (5 if event == "SessionEnd" else 10)
        assert list(hook) == ["type", "command", "timeout"]
        argv = shlex.split(hook["command"])
        assert argv == [os.path.abspath(sys.executable), "-I", "-S", install.hook_script(), event]
        commands[event] = hook["command"]
    assert set(settings["hooks"]) >= set(events)
    mine = {event for event, groups in settings["hooks"].items() if any(ours(h) for g in groups for h in g["hooks"])}
    assert mine == set(events)  # nothing of ours for any other event (MessageDisplay, WorktreeCreate)
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
    # The user's groups come first and are untouched; ours is added once after them.
    for event, groups in USER_SETTINGS["hooks"].items():
        assert hooks[event][:-1] == groups, event
        assert our_groups(settings, event) == [hooks[event][-1]]
    for event in EVENTS:
        if event not in USER_SETTINGS["hooks"]:
            assert len(hooks[event]) == 1
    # The user's events keep their place; ours follow, in hooks.EVENTS order.
    assert list(hooks) == list(USER_SETTINGS["hooks"]) + [e for e in EVENTS if e not in USER_SETTINGS["hooks"]]
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
    "event-not-a-list": b'{"hooks": {"PostToolUse": {"matcher": "*"}}}\n',
    "nested-too-deeply": b'{"hooks": {"Stop": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}\n",
}


@pytest.mark.parametrize("command, case", [(c, k) for c in ("install", "uninstall") for k in UNUSABLE])
def test_unusable_settings_are_left_untouched(project, command, case):
    content = UNUSABLE[case]
    write_settings(project, content)
    proc = cli(command, "--project", str(project))
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    message = proc.stderr.decode().strip()
    assert message and "Traceback" not in message and len(message.splitlines()) == 1
    assert proc.stdout == b""
    assert settings_path(project).read_bytes() == content
    assert sorted(p.name for p in settings_path(project).parent.iterdir()) == ["settings.json"]


MALFORMED = {
    "event-a-string": (
        {"PostToolUse": "not a list"},
        ["hooks.PostToolUse is a string, not a list of matcher groups"],
    ),
    "groups-not-objects": (
        {"Stop": ["echo hi", 3, {"hooks": []}]},
        [
            "hooks.Stop[0] is a string, not a matcher group object",
            "hooks.Stop[1] is a number, not a matcher group object",
        ],
    ),
    "hooks-lists-not-lists": (
        {"Stop": [{"matcher": "", "hooks": "echo hi"}, {"matcher": "*"}], "SessionEnd": [{"hooks": {}}]},
        [
            'hooks.Stop[0]."hooks" is a string, not a list of hook entries',
            'hooks.Stop[1]."hooks" is missing, not a list of hook entries',
            'hooks.SessionEnd[0]."hooks" is an object, not a list of hook entries',
        ],
    ),
    "entries-not-objects": (
        {"Stop": [{"hooks": [{"type": "command", "command": "echo ok"}, "echo hi", None, [True]]}]},
        [
            'hooks.Stop[0]."hooks"[1] is a string, not a hook entry object',
            'hooks.Stop[0]."hooks"[2] is null, not a hook entry object',
            'hooks.Stop[0]."hooks"[3] is a list, not a hook entry object',
        ],
    ),
}


@pytest.mark.parametrize("command", ["install", "uninstall", "install --dry-run"])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_hook_lists_are_reported_one_line_each_and_left_untouched(project, command, case):
    malformed, expected = MALFORMED[case]
    settings = json.loads(json.dumps(USER_SETTINGS))
    settings["hooks"].update(malformed)
    if command == "uninstall":  # ours present too: still nothing is removed
        settings = install.with_ours({"model": "x"})
        settings["hooks"].update(malformed)
    content = write_settings(project, settings)
    proc = cli(*command.split(), "--project", str(project))
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout == b""
    path = settings_path(project)
    verb = command.split()[0]
    assert proc.stderr.decode().splitlines() == [
        "nova-session %s: %s: %s; the file was left untouched" % (verb, path, line) for line in expected
    ]
    assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


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
    script = str(Path(install.__file__).resolve().parent / "run_hook.py")
    assert install.hook_script() == script and os.path.isfile(script)
    for event, command in commands.items():
        argv = shlex.split(command)
        assert os.path.isabs(argv[0])
        assert argv == [os.path.abspath(sys.executable), "-I", "-S", script, event]
        assert command == "%s -I -S %s %s" % (shlex.quote(argv[0]), shlex.quote(script), event)
        assert command == install.hook_command(event)


def test_hook_command_quotes_paths_with_spaces(tmp_path):
    """An interpreter under a directory with a space is one shell word (shlex-quoted)."""
    python = "/opt/my venv/bin/python3"
    command = install.hook_command("PostToolUse", interpreter=python)
    assert command.startswith("'/opt/my venv/bin/python3' -I -S ")
    assert shlex.split(command) == [python, "-I", "-S", install.hook_script(), "PostToolUse"]
    # A relative interpreter path is made absolute.
    relative = install.hook_command("Stop", interpreter="bin/python")
    assert shlex.split(relative)[0] == os.path.abspath("bin/python")


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
    assert [r["type"] for r in recs] == ["init", "tool_start", "event", "end"]
    assert recs[2]["files_accessed"] == [str(project / "x.py")]
    assert recs[2]["timestamp_start"] == recs[1]["timestamp"]


def test_installed_commands_keep_working_when_the_environment_changes(tmp_path):
    """The command is lean (-I -S, run by path), and must not depend on the shell it
    starts from: another PATH, venv, locale, HOME and cwd, and PYTHON* variables that
    would load other code, change warnings or encodings. A non-ASCII project path too."""
    project = tmp_path / "prójekt ✓"
    project.mkdir()
    assert cli("install", "--project", str(project)).returncode == 0
    commands = check_installed(json.loads(settings_path(project).read_text("utf-8")))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "nova_session").mkdir(parents=True)
    hijacked = elsewhere / "HIJACKED"
    (elsewhere / "nova_session" / "__init__.py").write_text("open(%r, 'w').close()\n" % str(hijacked))
    (elsewhere / "startup.py").write_text("open(%r, 'w').close()\n" % str(hijacked))
    (elsewhere / "home").mkdir()
    env = {
        "PATH": "/nonexistent",
        "HOME": str(elsewhere / "home"),
        "LC_ALL": "C",
        "LANG": "C",
        "VIRTUAL_ENV": str(elsewhere),
        "PYTHONPATH": str(elsewhere),
        "PYTHONHOME": str(elsewhere),
        "PYTHONSTARTUP": str(elsewhere / "startup.py"),
        "PYTHONWARNINGS": "error",
        "PYTHONIOENCODING": "latin-1",
        "PYTHONUTF8": "0",
        "PYTHONSAFEPATH": "0",
        "CLAUDE_PROJECT_DIR": str(project),
    }
    base = {"session_id": "changed-env-1", "transcript_path": "/tmp/t.jsonl", "cwd": str(project)}
    calls = [
        ("SessionStart", {"source": "startup"}),
        ("PreToolUse", {"tool_name": "Read", "tool_input": {"file_path": "ünï.py"}, "tool_use_id": "t1"}),
        (
            "PostToolUse",
            {"tool_name": "Read", "tool_input": {"file_path": "ünï.py"}, "tool_response": "✓", "tool_use_id": "t1"},
        ),
        ("SessionEnd", {"reason": "other"}),
    ]
    for event, fields in calls:
        proc = subprocess.run(
            commands[event],
            shell=True,
            input=json.dumps(dict(base, hook_event_name=event, **fields)).encode(),
            capture_output=True,
            env=env,
            cwd=str(elsewhere),
            timeout=TIMEOUT,
        )
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b""), event
    assert not hijacked.exists()
    (session,) = (project / ".nova-protector" / "sessions").glob("*.jsonl")
    recs = [json.loads(line) for line in session.read_text("utf-8").splitlines()]
    assert [r["type"] for r in recs] == ["init", "tool_start", "event", "end"]
    assert recs[2]["files_accessed"] == [str(project / "ünï.py")]
    assert recs[2]["tool_output"] == "✓"


def test_hook_command_fails_open_when_the_package_cannot_load(project):
    """NOVA_SESSION_BACKEND=rust without the kernel: the installed command still exits 0,
    with one line on stderr naming the way out, and nothing on stdout."""
    assert cli("install", "--project", str(project)).returncode == 0
    command = json.loads(settings_path(project).read_text("utf-8"))["hooks"]["PostToolUse"][0]["hooks"][0]["command"]
    python, *flags, script, event = shlex.split(command)
    assert (flags, event) == (["-I", "-S"], "PostToolUse")
    # The installed program, run as the installed command runs it, with the kernel made unloadable.
    code = (
        "import sys, runpy; sys.modules['nova_session._rust'] = None; sys.argv = [sys.argv[1], sys.argv[2]]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    env = dict(env_for(), NOVA_SESSION_BACKEND="rust", CLAUDE_PROJECT_DIR=str(project))
    payload = {"session_id": "s", "cwd": str(project), "tool_name": "Read", "tool_input": {}, "tool_use_id": "t"}
    proc = subprocess.run(
        [python, *flags, "-c", code, script, event],
        input=json.dumps(payload).encode(),
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "cannot load nova_session" in lines[0] and "NOVA_SESSION_BACKEND=python" in lines[0]
    assert not (project / ".nova-protector").exists()

    # The same command on the default backend records (the child above failed for the reason given).
    proc = subprocess.run(
        [python, *flags, "-c", code.replace("sys.modules['nova_session._rust'] = None; ", ""), script, event],
        input=json.dumps(payload).encode(),
        env=dict(env, NOVA_SESSION_BACKEND="auto"),
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert len(list((project / ".nova-protector" / "sessions").glob("*.jsonl"))) == 1


def test_install_writes_through_a_symlinked_settings_file(project, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "settings.json"
    target.write_text('{"model": "x"}\n', "utf-8")
    (project / ".claude").mkdir()
    settings_path(project).symlink_to(target)
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    assert settings_path(project).is_symlink()
    assert json.loads(target.read_text("utf-8"))["model"] == "x"
    assert "hooks" in json.loads(target.read_text("utf-8"))
    assert (dotfiles / "settings.json.bak").read_text("utf-8") == '{"model": "x"}\n'
    assert proc.stdout.decode().splitlines()[-1] == (
        "nova-session install: %s is a symbolic link; wrote through it to %s" % (settings_path(project), target)
    )
    assert sorted(p.name for p in (project / ".claude").iterdir()) == ["settings.json"]


def refused(proc, path) -> str:
    """The one line of a refusal: exit status 1, nothing on stdout, the path named, no traceback."""
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout == b""
    message = proc.stderr.decode()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert str(path) in message
    return message


@pytest.mark.parametrize("command", ["install", "uninstall", "install --dry-run"])
def test_a_dangling_settings_link_is_refused_and_nothing_is_created(project, tmp_path, command):
    outside = tmp_path / "outside" / "deeper" / "settings.json"
    (project / ".claude").mkdir()
    settings_path(project).symlink_to(outside)
    proc = cli(*command.split(), "--project", str(project))
    message = refused(proc, settings_path(project))
    assert "symbolic link" in message and str(outside) in message
    assert not (tmp_path / "outside").exists()
    assert settings_path(project).is_symlink() and os.readlink(settings_path(project)) == str(outside)
    assert sorted(p.name for p in (project / ".claude").iterdir()) == ["settings.json"]


def test_a_dangling_claude_directory_link_is_refused(project, tmp_path):
    outside = tmp_path / "outside"
    (project / ".claude").symlink_to(outside)
    message = refused(cli("install", "--project", str(project)), project / ".claude")
    assert "not a directory" in message
    assert not outside.exists()


def test_a_link_loop_is_refused(project):
    (project / ".claude").mkdir()
    settings_path(project).symlink_to(settings_path(project))
    refused(cli("install", "--project", str(project)), settings_path(project))


@pytest.mark.parametrize("kind", ["fifo", "fifo-through-a-link", "directory", "socket"])
def test_a_settings_path_that_is_no_regular_file_is_refused_without_blocking(project, tmp_path, monkeypatch, kind):
    import socket

    (project / ".claude").mkdir()
    path = settings_path(project)
    real = tmp_path / "elsewhere" if kind == "fifo-through-a-link" else path
    sock = None
    if kind.startswith("fifo"):
        os.mkfifo(real)
    elif kind == "directory":
        real.mkdir()
    else:
        monkeypatch.chdir(real.parent)  # a relative name: the absolute one is longer than AF_UNIX allows
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(real.name)
    if real != path:
        path.symlink_to(real)
    try:
        message = refused(cli("install", "--project", str(project)), path)  # the cli's timeout catches a hang
    finally:
        if sock is not None:
            sock.close()
    assert "not a regular file" in message
    assert {"fifo": "a FIFO", "directory": "a directory", "socket": "a socket"}[kind.split("-")[0]] in message
    assert sorted(p.name for p in (project / ".claude").iterdir()) == ["settings.json"]


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


# ------------------------------------------------ events, --local, upgrades


def test_install_registers_every_event_with_its_matcher_and_timeout(project):
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    assert "%d hooks installed" % len(hooks.EVENTS) in proc.stdout.decode()
    assert len(hooks.EVENTS) == 32 and len(set(hooks.EVENTS)) == 32
    settings = json.loads(settings_path(project).read_text("utf-8"))
    check_installed(settings)
    matchers = {event: groups[0].get("matcher") for event, groups in settings["hooks"].items()}
    assert {event for event, matcher in matchers.items() if matcher is not None} == set(TOOL_EVENTS)
    assert {matchers[event] for event in TOOL_EVENTS} == {"*"}
    timeouts = {event: groups[0]["hooks"][0]["timeout"] for event, groups in settings["hooks"].items()}
    assert timeouts.pop("SessionEnd") == 5
    assert set(timeouts.values()) == {10}
    assert "MessageDisplay" not in settings["hooks"]
    assert "WorktreeCreate" not in settings["hooks"]


def test_message_display_is_opt_in(project):
    proc = cli("install", "--project", str(project), "--message-display")
    assert proc.returncode == 0, proc.stderr
    assert "%d hooks installed" % (len(hooks.EVENTS) + 1) in proc.stdout.decode()
    settings = json.loads(settings_path(project).read_text("utf-8"))
    check_installed(settings, EVENTS + ("MessageDisplay",))
    (group,) = settings["hooks"]["MessageDisplay"]
    assert "matcher" not in group and group["hooks"][0]["timeout"] == 10
    assert list(settings["hooks"])[-1] == "MessageDisplay"
    assert "WorktreeCreate" not in settings["hooks"]  # never, even when asked for more

    # Installing again without the flag takes MessageDisplay out; uninstall removes everything.
    assert cli("install", "--project", str(project)).returncode == 0
    settings = json.loads(settings_path(project).read_text("utf-8"))
    check_installed(settings)
    assert "MessageDisplay" not in settings["hooks"]
    assert cli("install", "--project", str(project), "--message-display").returncode == 0
    assert cli("uninstall", "--project", str(project)).returncode == 0
    assert json.loads(settings_path(project).read_text("utf-8")) == {}


def test_local_install_writes_settings_local_json(project):
    shared = write_settings(project, USER_SETTINGS)
    local = project / ".claude" / "settings.local.json"
    proc = cli("install", "--project", str(project), "--local")
    assert proc.returncode == 0, proc.stderr
    assert str(local) in proc.stdout.decode()
    check_installed(json.loads(local.read_text("utf-8")))
    assert list(json.loads(local.read_text("utf-8"))) == ["hooks"]
    assert settings_path(project).read_bytes() == shared  # the shared file is not touched

    # A plain uninstall leaves the local file alone; uninstall --local empties it.
    proc = cli("uninstall", "--project", str(project))
    assert proc.returncode == 0 and "unchanged" in proc.stdout.decode()
    check_installed(json.loads(local.read_text("utf-8")))
    proc = cli("uninstall", "--project", str(project), "--local")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(local.read_text("utf-8")) == {}
    assert settings_path(project).read_bytes() == shared


def test_local_install_keeps_the_local_files_own_settings(project):
    local = project / ".claude" / "settings.local.json"
    local.parent.mkdir()
    original = {"permissions": {"allow": ["Bash(make:*)"]}, "hooks": USER_SETTINGS["hooks"]}
    local.write_text(json.dumps(original), "utf-8")
    assert cli("install", "--project", str(project), "--local").returncode == 0
    installed = json.loads(local.read_text("utf-8"))
    check_installed(installed)
    assert installed["permissions"] == original["permissions"]
    assert cli("uninstall", "--project", str(project), "--local").returncode == 0
    assert json.loads(local.read_text("utf-8")) == original
    assert not settings_path(project).exists()


def test_local_and_user_together_are_a_usage_error(tmp_path, project):
    home = tmp_path / "home"
    home.mkdir()
    proc = cli("install", "--user", "--local", home=home, cwd=project)
    assert proc.returncode == 2
    assert b"--local" in proc.stderr
    assert list(home.iterdir()) == [] and list(project.iterdir()) == []


def test_markers_recognise_this_and_the_older_commands():
    assert install.is_ours({"type": "command", "command": install.hook_command("Stop")})
    assert install.is_ours({"type": "command", "command": OLD_COMMAND % "Stop"})
    assert install.is_ours({"command": "'/x y/python' -I '/site-packages/nova_session/run_hook.py' Stop"})
    for foreign in ({"command": "echo nova"}, {"command": "run_hook.py Stop"}, {"command": 7}, "nova_session.cli", {}):
        assert not install.is_ours(foreign), foreign


def test_upgrade_replaces_the_older_commands(project):
    """Settings written by an earlier release (``-c 'import nova_session.cli ...'``): install
    replaces those entries with this version's, uninstall removes both kinds."""
    old = json.loads(json.dumps(USER_SETTINGS))
    for event in OLD_EVENTS:
        group = {"matcher": "*"} if event in TOOL_EVENTS else {}
        group["hooks"] = [{"type": "command", "command": OLD_COMMAND % event, "timeout": 10}]
        old["hooks"].setdefault(event, []).append(group)
    # An old entry sharing a group with a hook of the user's: the user's stays.
    old["hooks"]["Stop"][0]["hooks"].append({"type": "command", "command": OLD_COMMAND % "Stop"})
    write_settings(project, old)
    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    text = settings_path(project).read_text("utf-8")
    assert "nova_session.cli" not in text and "/opt/old-venv" not in text
    settings = json.loads(text)
    check_installed(settings)
    for event, groups in USER_SETTINGS["hooks"].items():
        assert settings["hooks"][event][:-1] == groups

    # Uninstalling the old settings directly removes the old entries too.
    write_settings(project, old)
    assert cli("uninstall", "--project", str(project)).returncode == 0
    assert json.loads(settings_path(project).read_text("utf-8")) == USER_SETTINGS


def hand_written(event: str) -> list:
    """Commands a user may write by hand that run our hook for event (each records every call)."""
    python, script = shlex.quote(sys.executable), shlex.quote(install.hook_script())
    return [
        "python -m nova_session hook %s" % event,
        "nova-session hook %s" % event,
        "/path/to/venv/bin/nova-session hook --plugin %s" % event,
        "/path/to/venv/bin/python /path/to/venv/lib/python3.12/site-packages/nova_session/run_hook.py %s" % event,
        "python3 -I -S /elsewhere/nova_session/run_hook.py %s" % event,
        "env NOVA_SESSION_BACKEND=python %s -X dev -W ignore -m nova_session.cli hook %s" % (python, event),
        "NOVA_SESSION_BACKEND=rust pypy3.10 -u %s %s" % (script, event),
        "%s -c 'import nova_session.cli as c; c.main()' hook %s" % (python, event),
    ]


# Commands that mention nova_session or run_hook.py but do not run our hook: never touched.
NOT_OURS = [
    "echo python -m nova_session hook PostToolUse",
    "python -m nova_session_tools hook PostToolUse",
    "python3 /opt/mine/run_hook.py PostToolUse",
    "nova-session list --project .",
    "python -m nova_session hook",
]


def test_install_takes_over_hand_written_hooks_of_ours(project):
    """Each hand-written form, alone in its group or beside a hook of the user's, is replaced:
    one entry of ours per event, in this version's form; the user's hooks stay as they were."""
    settings = json.loads(json.dumps(USER_SETTINGS))
    forms = hand_written("PostToolUse")
    for i, command in enumerate(forms):
        settings["hooks"]["PostToolUse"].append(
            {"matcher": "*" if i % 2 else "Bash", "hooks": [{"type": "command", "command": command, "timeout": 10}]}
        )
    # Beside the user's own hooks in one group, and under other events.
    settings["hooks"]["Stop"][0]["hooks"][:0] = [{"type": "command", "command": c} for c in hand_written("Stop")]
    settings["hooks"]["SessionStart"] = [{"hooks": [{"type": "command", "command": hand_written("SessionStart")[1]}]}]
    mine = [{"type": "command", "command": command} for command in NOT_OURS]
    settings["hooks"]["PostToolUse"].append({"matcher": "*", "hooks": mine})
    write_settings(project, settings)

    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    installed = json.loads(settings_path(project).read_text("utf-8"))
    check_installed(dict(installed, hooks=dict(installed["hooks"], PostToolUse=installed["hooks"]["PostToolUse"][-1:])))
    calls = [
        (event, hook["command"])
        for event, groups in installed["hooks"].items()
        for group in groups
        for hook in group["hooks"]
        if install.hook_call(hook["command"]) is not None
    ]
    assert calls == [(event, install.hook_command(event)) for event in installed["hooks"] if event in EVENTS]
    hooks = installed["hooks"]
    assert hooks["PostToolUse"][:-1] == USER_SETTINGS["hooks"]["PostToolUse"] + [{"matcher": "*", "hooks": mine}]
    assert hooks["Stop"][:-1] == USER_SETTINGS["hooks"]["Stop"]
    assert len(hooks["SessionStart"]) == 1
    assert hooks["Notification"][:-1] == USER_SETTINGS["hooks"]["Notification"]

    again = cli("install", "--project", str(project))
    assert again.returncode == 0 and "unchanged" in again.stdout.decode()
    assert cli("uninstall", "--project", str(project)).returncode == 0
    left = json.loads(settings_path(project).read_text("utf-8"))
    assert left["hooks"]["PostToolUse"] == USER_SETTINGS["hooks"]["PostToolUse"] + [{"matcher": "*", "hooks": mine}]


def test_install_keeps_a_raised_timeout_and_resets_a_lowered_one(project):
    """Documented: a timeout raised on an entry of ours survives install (the highest when several
    forms are there); a lowered one, or one that is not a number, is reset to install's."""
    settings = install.with_ours(json.loads(json.dumps(USER_SETTINGS)))
    timeouts = {"PostToolUse": 60, "Stop": 2, "SessionEnd": 7.5, "SessionStart": "30", "PreToolUse": True}
    for event, timeout in timeouts.items():
        settings["hooks"][event][-1]["hooks"][0]["timeout"] = timeout
    # A hand-written form of ours with a higher timeout still: that one is kept.
    hook = {"type": "command", "command": "nova-session hook PostToolUse", "timeout": 90}
    settings["hooks"]["PostToolUse"].insert(0, {"matcher": "*", "hooks": [hook]})
    # The user's own hook's timeout is theirs, whatever it is.
    settings["hooks"]["Stop"][0]["hooks"][0]["timeout"] = 1
    write_settings(project, settings)

    proc = cli("install", "--project", str(project))
    assert proc.returncode == 0, proc.stderr
    installed = json.loads(settings_path(project).read_text("utf-8"))
    ours_now = {event: groups[-1]["hooks"][0] for event, groups in installed["hooks"].items() if event in EVENTS}
    assert ours_now["PostToolUse"]["timeout"] == 90
    assert ours_now["SessionEnd"]["timeout"] == 7.5
    assert {ours_now[event]["timeout"] for event in ("Stop", "SessionStart", "PreToolUse")} == {10}
    assert type(ours_now["PreToolUse"]["timeout"]) is int
    assert installed["hooks"]["Stop"][0]["hooks"][0]["timeout"] == 1
    assert [len(our_groups(installed, event)) for event in EVENTS] == [1] * len(EVENTS)
    assert len(installed["hooks"]["PostToolUse"]) == 2  # the user's group and ours

    again = cli("install", "--project", str(project))  # the raised ones stay on every later install
    assert again.returncode == 0 and "unchanged" in again.stdout.decode()


def test_hook_call_reads_every_form_of_ours_and_nothing_else():
    for event in ("PostToolUse", "Stop"):
        for command in hand_written(event) + [install.hook_command(event), OLD_COMMAND % event]:
            call = install.hook_call(command)
            assert call is not None and call[3] == event, command
            assert install.is_ours({"type": "command", "command": command}), command
    assert install.hook_call("nova-session hook --plugin Stop")[2:] == (True, "Stop")
    assert install.hook_call(install.hook_command("Stop"))[:3] == (
        os.path.abspath(sys.executable),
        install.hook_script(),
        False,
    )
    for command in NOT_OURS + ["python -m nova_session hook A B", "python 'unbalanced", "", "env"]:
        assert install.hook_call(command) is None, command
        assert not install.is_ours({"type": "command", "command": command}), command


# ------------------------------------------------- the plugin defers to settings


def plugin_payload(project: Path, event: str) -> dict:
    payload = {"session_id": "plugin-1", "transcript_path": "/tmp/t.jsonl", "cwd": str(project)}
    payload["hook_event_name"] = event
    if event == "PostToolUse":
        payload.update(tool_name="Read", tool_input={"file_path": "a.txt"}, tool_response={}, tool_use_id="t1")
    return payload


def run_cli_hook(monkeypatch, argv: list, payload: dict) -> int:
    """cli.main(argv) in this process with payload on stdin, as Claude Code runs the plugin's hook."""
    import io

    from nova_session import cli as cli_module

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(payload).encode())))
    return cli_module.main(argv)


@pytest.fixture
def plugin_env(api, project, tmp_path, monkeypatch, capsys):
    """HOME and CLAUDE_CONFIG_DIR in temporary directories, the project as CLAUDE_PROJECT_DIR."""
    home = tmp_path / "home"
    config = tmp_path / "config"
    home.mkdir()
    config.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    monkeypatch.setattr(sessions, "_registry", {})
    yield {"home": home, "config": config, "project": project}
    assert capsys.readouterr().out == ""  # a hook never prints on stdout


def only_post_tool_use_of_ours() -> dict:
    group = {"matcher": "*", "hooks": [{"type": "command", "command": install.hook_command("PostToolUse")}]}
    return {"hooks": {"PostToolUse": [group]}}


def recorded_types(project: Path) -> list:
    files = (
        list((project / ".nova-protector" / "sessions").glob("*.jsonl"))
        if (project / ".nova-protector").exists()
        else []
    )
    assert len(files) <= 1
    return [json.loads(line)["type"] for line in files[0].read_text("utf-8").splitlines()] if files else []


@pytest.mark.parametrize("where", ["project", "project-local", "config-dir", "home"])
def test_plugin_records_nothing_for_an_event_the_settings_hooks_record(plugin_env, monkeypatch, where):
    project = plugin_env["project"]
    paths = {
        "project": project / ".claude" / "settings.json",
        "project-local": project / ".claude" / "settings.local.json",
        "config-dir": plugin_env["config"] / "settings.json",
        "home": plugin_env["home"] / ".claude" / "settings.json",
    }
    if where == "home":
        monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    paths[where].parent.mkdir(parents=True, exist_ok=True)
    paths[where].write_text(json.dumps(only_post_tool_use_of_ours()), "utf-8")
    assert install.settings_handle("PostToolUse", str(project)) is True
    assert install.settings_handle("Stop", str(project)) is False

    # The settings hook handles PostToolUse: the plugin's call records nothing at all.
    assert run_cli_hook(monkeypatch, ["hook", "--plugin", "PostToolUse"], plugin_payload(project, "PostToolUse")) == 0
    assert not (project / ".nova-protector").exists()
    # No settings hook for Stop: the plugin records it.
    assert run_cli_hook(monkeypatch, ["hook", "--plugin", "Stop"], plugin_payload(project, "Stop")) == 0
    assert recorded_types(project) == ["init", "stop"]
    # The settings hook's own call (no --plugin) records PostToolUse.
    assert run_cli_hook(monkeypatch, ["hook", "PostToolUse"], plugin_payload(project, "PostToolUse")) == 0
    assert recorded_types(project) == ["init", "stop", "event"]


def test_every_form_of_our_hook_counts_as_ours(plugin_env):
    """Settings written before the hooks ran with -S (``python -I run_hook.py EVENT``), with other
    interpreter options, or by hand (``-m nova_session``, the ``-c`` form) run our hook: the plugin
    stays off for that event. The plugin's own ``--plugin`` form, and a program or script that does
    not exist, do not count."""
    project = plugin_env["project"]
    settings = only_post_tool_use_of_ours()
    hook = settings["hooks"]["PostToolUse"][0]["hooks"][0]
    path = project / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    python, ours_now = shlex.quote(sys.executable), install.hook_command("PostToolUse")
    commands = [ours_now.replace(" -I -S ", flags) for flags in (" -I ", " -I -S ", " -I -X dev ", " -S ", " ")]
    commands += [c for c in hand_written("PostToolUse") if c.startswith(("env ", python))]
    assert len(commands) == 7
    not_ours = [
        "%s -m nova_session hook --plugin PostToolUse" % python,
        "/nowhere/bin/python -m nova_session hook PostToolUse",
        "no-such-python-anywhere -m nova_session hook PostToolUse",
    ]
    for command in commands + not_ours:
        hook["command"] = command
        path.write_text(json.dumps(settings), "utf-8")
        assert install.settings_handle("PostToolUse", str(project)) is (command in commands), command


@pytest.mark.parametrize(
    "settings",
    [
        None,
        {"hooks": {"PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "echo mine"}]}]}},
        {"hooks": {"Stop": only_post_tool_use_of_ours()["hooks"]["PostToolUse"]}},
        b"{not json",
    ],
    ids=["no-settings", "someone-elses-hook", "ours-for-another-event", "invalid-json"],
)
def test_plugin_records_when_no_settings_hook_of_ours_handles_the_event(plugin_env, monkeypatch, settings):
    project = plugin_env["project"]
    if settings is not None:
        path = project / ".claude" / "settings.json"
        path.parent.mkdir()
        path.write_bytes(settings if isinstance(settings, bytes) else json.dumps(settings).encode())
    assert run_cli_hook(monkeypatch, ["hook", "--plugin", "PostToolUse"], plugin_payload(project, "PostToolUse")) == 0
    assert recorded_types(project) == ["init", "event"]


def test_plugin_reads_user_settings_from_the_config_dir_when_set(plugin_env, monkeypatch):
    """With CLAUDE_CONFIG_DIR set, Claude Code does not read ~/.claude/settings.json: neither does the guard."""
    project = plugin_env["project"]
    home_settings = plugin_env["home"] / ".claude" / "settings.json"
    home_settings.parent.mkdir()
    home_settings.write_text(json.dumps(only_post_tool_use_of_ours()), "utf-8")
    assert run_cli_hook(monkeypatch, ["hook", "--plugin", "PostToolUse"], plugin_payload(project, "PostToolUse")) == 0
    assert recorded_types(project) == ["init", "event"]


def test_plugin_guard_uses_the_payload_cwd_without_claude_project_dir(plugin_env, monkeypatch):
    project = plugin_env["project"]
    monkeypatch.delenv("CLAUDE_PROJECT_DIR")
    write_settings(project, install.with_ours({}))
    assert run_cli_hook(monkeypatch, ["hook", "--plugin", "Stop"], plugin_payload(project, "Stop")) == 0
    assert not (project / ".nova-protector").exists()
    assert run_cli_hook(monkeypatch, ["hook", "Stop"], plugin_payload(project, "Stop")) == 0
    assert recorded_types(project) == ["init", "stop"]


def _look_alikes() -> dict:
    """Settings a project could carry to switch the plugin off without running our hook."""
    ours = only_post_tool_use_of_ours()["hooks"]["PostToolUse"][0]["hooks"][0]
    script = install.hook_script()
    return {
        "echo-of-the-path": {"type": "command", "command": "echo %s PostToolUse" % script},
        "prompt-hook": {"type": "prompt", "prompt": "x", "command": ours["command"]},
        "missing-script": {
            "type": "command",
            "command": ours["command"].replace(script, "/nowhere/nova_session/run_hook.py"),
        },
        "other-event": {"type": "command", "command": install.hook_command("Stop")},
    }


@pytest.mark.parametrize(
    "case", ["echo-of-the-path", "prompt-hook", "missing-script", "other-event", "narrow-matcher", "all-hooks-disabled"]
)
def test_a_look_alike_settings_entry_does_not_switch_the_plugin_off(plugin_env, monkeypatch, case):
    project = plugin_env["project"]
    settings = only_post_tool_use_of_ours()
    group = settings["hooks"]["PostToolUse"][0]
    if case == "narrow-matcher":
        group["matcher"] = "NoSuchToolEver"  # ours, but it records only that tool's calls
    elif case == "all-hooks-disabled":
        settings["disableAllHooks"] = True
    else:
        group["hooks"] = [_look_alikes()[case]]
    path = project / ".claude" / "settings.local.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings), "utf-8")
    assert install.settings_handle("PostToolUse", str(project)) is False
    assert run_cli_hook(monkeypatch, ["hook", "--plugin", "PostToolUse"], plugin_payload(project, "PostToolUse")) == 0
    assert recorded_types(project) == ["init", "event"]
