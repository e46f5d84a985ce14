"""Adding nova_session's hooks to a Claude Code ``settings.json``, and removing them.

``install`` merges one hook per event, keeping every other setting and hook;
running it twice changes nothing. The previous file is kept as
``settings.json.bak``. ``uninstall`` removes exactly the entries ``install``
adds: hook commands that call ``nova_session.cli``, and the matcher groups,
event lists and ``hooks`` object that removing them leaves empty (an empty
one the user had before install goes too; to Claude Code it meant nothing). Commands use the
absolute path of the interpreter running this, with ``-I`` (isolated mode:
the project directory, where the hook runs, is not put on ``sys.path``, so
no file in it can stand in for a module).
"""

from __future__ import annotations

import json
import os
import shlex
import sys

from .hooks import EVENTS

# The hook command runs this with -c rather than -m: runpy costs ~3 ms per process.
# Even a package that cannot be imported (NOVA_SESSION_BACKEND=rust without the
# kernel, a broken install) must fail open: one line on stderr, exit status 0.
HOOK_CODE = (
    "import sys\n"
    "try: import nova_session.cli as c\n"
    "except Exception as e: sys.stderr.write('nova-session hook: cannot load nova_session: %s\\n' % e); sys.exit(0)\n"
    "c.main()"
)
MARKER = "nova_session.cli"
TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure")  # the events that take a tool matcher
# (event, takes a tool matcher, timeout in seconds), one per event the hooks handle.
# Claude Code gives SessionEnd about 1.5 s in all; 10 s is a generous bound for a ~10 ms process.
HOOK_EVENTS = tuple((event, event in TOOL_EVENTS, 5 if event == "SessionEnd" else 10) for event in EVENTS)


class SettingsError(Exception):
    """The settings file cannot be used; it is left untouched."""


def hook_command(event: str, interpreter: str | None = None) -> str:
    python = os.path.abspath(interpreter or sys.executable)
    return "%s -I -c %s hook %s" % (shlex.quote(python), shlex.quote(HOOK_CODE), event)


def is_ours(hook) -> bool:
    return isinstance(hook, dict) and isinstance(hook.get("command"), str) and MARKER in hook["command"]


def without_ours(settings: dict) -> dict:
    """A copy of settings without our hook entries (and without what that leaves empty)."""
    result = dict(settings)
    hooks = settings.get("hooks")
    if hooks is None:
        return result
    if not isinstance(hooks, dict):
        raise SettingsError('"hooks" is not an object')
    kept_events = {}
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            kept_events[event] = groups
            continue
        kept_groups = []
        for group in groups:
            entries = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(entries, list) or not any(is_ours(h) for h in entries):
                kept_groups.append(group)
                continue
            rest = [h for h in entries if not is_ours(h)]
            if rest:
                kept_groups.append(dict(group, hooks=rest))
        if kept_groups or not groups:
            kept_events[event] = kept_groups
    if kept_events or not hooks:
        result["hooks"] = kept_events
    else:
        del result["hooks"]  # it held nothing but ours
    return result


def with_ours(settings: dict, interpreter: str | None = None) -> dict:
    """A copy of settings with exactly one group of ours per event, after the user's."""
    result = without_ours(settings)
    hooks = dict(result.get("hooks", {}))
    for event, takes_matcher, timeout in HOOK_EVENTS:
        group: dict = {"matcher": "*"} if takes_matcher else {}
        group["hooks"] = [{"type": "command", "command": hook_command(event, interpreter), "timeout": timeout}]
        groups = hooks.get(event, [])
        if not isinstance(groups, list):
            raise SettingsError('"hooks.%s" is not a list' % event)
        hooks[event] = groups + [group]
    result["hooks"] = hooks
    return result


def load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("cannot read %s: %s" % (path, exc)) from None
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise SettingsError(
            "%s is not valid JSON (%s); fix it or move it away, it was left untouched" % (path, exc)
        ) from None
    if not isinstance(settings, dict):
        raise SettingsError("%s does not hold a JSON object; it was left untouched" % path)
    return settings


def dump(settings: dict) -> str:
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


def write(path: str, text: str) -> None:
    """Keep the old file as .bak, then replace it atomically (through a link to the file it names).

    The new text is encoded first (a lone surrogate from the old file is refused
    before anything is written); the backup and the temporary file are created
    with the old file's mode (0600 for a new one), never wider: settings can
    hold secrets.
    """
    try:
        data = text.encode("utf-8")
    except UnicodeError:
        raise SettingsError(
            "the settings hold text that is not valid Unicode (a lone surrogate escape); the file was left untouched"
        ) from None
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o777
        with open(path, "rb") as handle:
            old = handle.read()
    except FileNotFoundError:
        mode, old = 0o600, None
    temp = "%s.%d.tmp" % (path, os.getpid())
    try:
        _write_new(temp, data, mode)
        if old is not None:
            _write_new(path + ".bak.tmp", old, mode)
            os.replace(path + ".bak.tmp", path + ".bak")
        os.replace(temp, path)
    finally:
        for leftover in (temp, path + ".bak.tmp"):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass


def _write_new(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed it; never widen beyond the old file's
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def plan(command: str, path: str):
    """(current settings, settings after ``install`` or ``uninstall``); SettingsError if unusable."""
    home = os.path.dirname(os.path.dirname(path))  # the project (or home) directory holding .claude/
    if not os.path.isdir(home):
        raise SettingsError("%s is not an existing directory" % home)
    settings = load(path)
    return settings, (with_ours(settings) if command == "install" else without_ours(settings))
