"""Adding nova_session's hooks to a Claude Code settings file, and removing them.

``install`` merges one hook per event into ``.claude/settings.json`` (or
``settings.local.json`` with ``--local``, or ``~/.claude/settings.json``),
keeping every other setting and hook; running it twice changes nothing. The
previous file is kept as ``settings.json.bak``. Our hook in any other form
(``hook_call``: hand-written, earlier releases') is replaced, so each event is
recorded once. ``uninstall`` removes exactly what ``install`` takes over:
hook commands that run nova_session, and the matcher groups, event lists and
``hooks`` object that removing them leaves empty (an empty one the user had
before install goes too; to Claude Code it meant nothing).

Each command is ``'/abs/python' -I -S '/abs/…/nova_session/run_hook.py' EVENT``:
the interpreter that ran ``install``, so it works outside the venv, ``-I``
(isolated mode: the project directory, where the hook runs, is not on
``sys.path``, so no file in it can stand in for a module) and ``-S`` (no
``site``: run_hook.py puts its own package's directory on ``sys.path``).
"""

from __future__ import annotations

import os
import stat
import sys

from .hooks import EVENTS, OPT_IN_EVENTS

# What marks a hook command as ours: this version's, and the -c form of earlier ones.
MARKERS = ("/nova_session/run_hook.py", "nova_session.cli")
# The events that take a tool-name matcher.
TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied")
# Claude Code gives SessionEnd about 1.5 s in all; 10 s is a generous bound for a ~10 ms process.
_SESSION_END_TIMEOUT = 5
_TIMEOUT = 10


def hook_events(message_display: bool = False) -> tuple:
    """(event, takes a tool matcher, timeout in seconds), one per event install registers."""
    events = EVENTS + (OPT_IN_EVENTS if message_display else ())
    return tuple(
        (event, event in TOOL_EVENTS, _SESSION_END_TIMEOUT if event == "SessionEnd" else _TIMEOUT) for event in events
    )


HOOK_EVENTS = hook_events()


def hook_script() -> str:
    """The absolute path of run_hook.py, the program every hook command runs."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_hook.py")


class SettingsError(Exception):
    """The settings file cannot be used; it is left untouched. Its args: one line per problem."""


def hook_command(event: str, interpreter: str | None = None) -> str:
    import shlex

    python = os.path.abspath(interpreter or sys.executable)
    return "%s -I -S %s %s" % (shlex.quote(python), shlex.quote(hook_script()), event)


def is_ours(hook) -> bool:
    """Whether a hook entry runs nova_session: a command in any form ``hook_call`` knows, or one
    carrying a marker of an earlier install."""
    command = hook.get("command") if isinstance(hook, dict) else None
    return isinstance(command, str) and (any(marker in command for marker in MARKERS) or hook_call(command) is not None)


# Python's options that take the next word as their value.
_OPTIONS_WITH_VALUE = ("-X", "-W", "--check-hash-based-pycs")
_MODULES = ("nova_session", "nova_session.__main__", "nova_session.cli")


def hook_call(command) -> tuple | None:
    """How a command runs our hook, in any form: (program, run_hook.py's path or None, --plugin, event).

    The forms, after any ``env`` and ``NAME=value`` words: ``nova-session hook
    [--plugin] EVENT`` (the console script, by any path), ``PYTHON [options] -m
    nova_session hook [--plugin] EVENT`` (or ``nova_session.cli``), ``PYTHON
    [options] …/nova_session/run_hook.py [--plugin] EVENT`` (what install
    writes) and ``PYTHON [options] -c '…nova_session.cli…' hook EVENT``
    (earlier releases), PYTHON being any interpreter named python* or pypy*.
    None for any other command: a shell line that only mentions them is not ours."""
    import shlex

    try:
        words = shlex.split(command) if isinstance(command, str) else []
    except ValueError:
        return None
    while words and (os.path.basename(words[0]) == "env" or _is_assignment(words[0])):
        words = words[1:]
    if not words:
        return None
    program, rest, script = words[0], words[1:], None
    name = os.path.basename(program)
    name = name[:-4] if name.endswith(".exe") else name
    if name == PLUGIN_COMMAND:
        args = rest
    elif name.rstrip("0123456789.") in ("python", "pypy"):
        i = 0
        while i < len(rest) and rest[i].startswith("-") and rest[i] not in ("-", "-c", "-m"):
            i += 2 if rest[i] in _OPTIONS_WITH_VALUE else 1
        option, value = rest[i : i + 1], rest[i + 1 : i + 2]
        if (option == ["-m"] and value and value[0] in _MODULES) or (
            option == ["-c"] and value and MARKERS[1] in value[0]
        ):
            args = rest[i + 2 :]
        elif option and os.path.basename(option[0]) == "run_hook.py" and _in_package_dir(option[0]):
            script, args = option[0], ["hook", *rest[i + 1 :]]
        else:
            return None
    else:
        return None
    plugin = args[1:2] == ["--plugin"]
    args = args[1 + plugin :] if args[:1] == ["hook"] else []
    return (program, script, plugin, args[0]) if len(args) == 1 else None


def _is_assignment(word: str) -> bool:
    return word.partition("=")[0].isidentifier() and "=" in word


def _in_package_dir(path: str) -> bool:
    return os.path.basename(os.path.dirname(path)) == "nova_session"


def problems(settings: dict) -> list:
    """One line per malformed part of the settings' hooks (Claude Code would not run them); [] if none.

    The shape: ``hooks`` an object, each event's value a list of objects (matcher
    groups), each group's ``hooks`` a list of objects (hook entries)."""
    from ._log import printable

    hooks = settings.get("hooks")
    if hooks is None:
        return []
    if not isinstance(hooks, dict):
        return ['"hooks" is %s, not an object' % _json_kind(hooks)]
    found = []
    for event, groups in hooks.items():
        where = "hooks.%s" % printable(event)
        if not isinstance(groups, list):
            found.append("%s is %s, not a list of matcher groups" % (where, _json_kind(groups)))
            continue
        for i, group in enumerate(groups):
            if not isinstance(group, dict):
                found.append("%s[%d] is %s, not a matcher group object" % (where, i, _json_kind(group)))
            elif not isinstance(group.get("hooks"), list):
                kind = _json_kind(group["hooks"]) if "hooks" in group else "missing"
                found.append('%s[%d]."hooks" is %s, not a list of hook entries' % (where, i, kind))
            else:
                found.extend(
                    '%s[%d]."hooks"[%d] is %s, not a hook entry object' % (where, i, j, _json_kind(entry))
                    for j, entry in enumerate(group["hooks"])
                    if not isinstance(entry, dict)
                )
    return found


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    kinds = ((str, "a string"), ((int, float), "a number"), (list, "a list"), (dict, "an object"))
    return next((name for types, name in kinds if isinstance(value, types)), "null")


def without_ours(settings: dict) -> dict:
    """A copy of settings without our hook entries (and without what that leaves empty).

    SettingsError, one line per problem, when the hooks are malformed (see problems)."""
    found = problems(settings)
    if found:
        raise SettingsError(*found)
    result = dict(settings)
    hooks = settings.get("hooks")
    if hooks is None:
        return result
    kept_events = {}
    for event, groups in hooks.items():
        kept_groups = []
        for group in groups:
            if not any(is_ours(h) for h in group["hooks"]):
                kept_groups.append(group)
                continue
            rest = [h for h in group["hooks"] if not is_ours(h)]
            if rest:
                kept_groups.append(dict(group, hooks=rest))
        if kept_groups or not groups:
            kept_events[event] = kept_groups
    if kept_events or not hooks:
        result["hooks"] = kept_events
    else:
        del result["hooks"]  # it held nothing but ours
    return result


def with_ours(settings: dict, interpreter: str | None = None, message_display: bool = False) -> dict:
    """A copy of settings with exactly one group of ours per event, after the user's.

    Its timeout is ours, or the user's when they raised it on an entry of ours
    for that event; a lower one is reset (ours is the bound the hook is known to
    keep on a slow disk: a hook killed mid-write loses its record)."""
    result = without_ours(settings)
    raised = _timeouts_of_ours(settings)
    hooks = dict(result.get("hooks", {}))
    for event, takes_matcher, timeout in hook_events(message_display):
        group: dict = {"matcher": "*"} if takes_matcher else {}
        timeout = max([timeout, *raised.get(event, ())])
        group["hooks"] = [{"type": "command", "command": hook_command(event, interpreter), "timeout": timeout}]
        hooks[event] = hooks.get(event, []) + [group]
    result["hooks"] = hooks
    return result


def _timeouts_of_ours(settings: dict) -> dict:
    """{event: [the timeouts (finite numbers) of our entries under it]}, of settings problems() passes."""
    import math

    found: dict = {}
    for event, groups in settings.get("hooks", {}).items():
        for group in groups:
            for entry in group["hooks"]:
                timeout = entry.get("timeout")
                if is_ours(entry) and type(timeout) in (int, float) and math.isfinite(timeout):
                    found.setdefault(event, []).append(timeout)
    return found


def resolve(path: str) -> str:
    """The file install reads and writes for path: path itself, or the regular file it links to.

    Refuses (SettingsError), before anything is opened, a link to nothing
    (writing through it would create files outside the project), a link loop,
    a directory where ``.claude`` should be, and anything but a regular file:
    a FIFO would block the read, a device or socket is no settings file."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        parent = os.path.dirname(path)
        if os.path.lexists(parent) and not os.path.isdir(parent):
            raise SettingsError("%s is not a directory; nothing was written" % _described(parent)) from None
        return path
    except OSError as exc:
        raise SettingsError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    if not stat.S_ISLNK(mode):
        target = path
    else:
        target = os.path.realpath(path)
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise SettingsError(
                "%s cannot be followed (%s); nothing was written" % (_described(path), exc.strerror or exc)
            ) from None
    if not stat.S_ISREG(mode):
        raise SettingsError("%s is %s, not a regular file; nothing was written" % (_described(path), _file_kind(mode)))
    return target


def _described(path: str) -> str:
    """path, and where it links to when it is a symbolic link."""
    return "%s (a symbolic link to %s)" % (path, os.readlink(path)) if os.path.islink(path) else path


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a device")


def _read(path: str) -> bytes:
    """The bytes of the regular file path names (FileNotFoundError if none), never blocking on a FIFO
    put there since it was checked."""
    from . import paths

    fd = paths.open_regular(os.path.realpath(path), os.O_RDONLY)
    try:
        chunks: list = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def load(path: str) -> dict:
    import json

    try:
        text = _read(resolve(path)).decode("utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("cannot read %s: %s" % (path, getattr(exc, "strerror", None) or exc)) from None
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise SettingsError(
            "%s is not valid JSON (%s); fix it or move it away, it was left untouched" % (path, exc)
        ) from None
    except RecursionError:
        raise SettingsError("%s is nested too deeply to be read; it was left untouched" % path) from None
    if not isinstance(settings, dict):
        raise SettingsError("%s does not hold a JSON object; it was left untouched" % path)
    return settings


def dump(settings: dict) -> str:
    import json

    try:
        return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
    except RecursionError:
        raise SettingsError("the settings are nested too deeply to be written; the file was left untouched") from None


def write(path: str, text: str) -> str:
    """Keep the old file as .bak, then replace it atomically (through a link to the file it names).

    The new text is encoded first (a lone surrogate from the old file is refused
    before anything is written); the backup and the temporary file are created
    with the old file's mode (0600 for a new one), never wider: settings can
    hold secrets. What path names is checked as ``resolve`` does. Returns the
    file written: path, or the file it links to.
    """
    try:
        data = text.encode("utf-8")
    except UnicodeError:
        raise SettingsError(
            "the settings hold text that is not valid Unicode (a lone surrogate escape); the file was left untouched"
        ) from None
    target = resolve(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)  # resolve refused a parent that is no directory
    try:
        old = _read(target)
        mode = os.stat(target).st_mode & 0o777
    except FileNotFoundError:
        mode, old = 0o600, None
    real = os.path.realpath(target)
    temp = "%s.%d.tmp" % (real, os.getpid())
    try:
        _write_new(temp, data, mode)
        if old is not None:
            _write_new(real + ".bak.tmp", old, mode)
            os.replace(real + ".bak.tmp", real + ".bak")
        os.replace(temp, real)
    finally:
        for leftover in (temp, real + ".bak.tmp"):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass
    return target


def _write_new(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed it; never widen beyond the old file's
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def plan(command: str, path: str, message_display: bool = False):
    """(current settings, settings after ``install`` or ``uninstall``); SettingsError if unusable."""
    home = os.path.dirname(os.path.dirname(path))  # the project (or home) directory holding .claude/
    if not os.path.isdir(home):
        raise SettingsError("%s is not an existing directory" % home)
    settings = load(path)
    try:
        after = with_ours(settings, message_display=message_display) if command == "install" else without_ours(settings)
    except SettingsError as exc:
        raise SettingsError(*("%s: %s; the file was left untouched" % (path, line) for line in exc.args)) from None
    return settings, after


# ------------------------------------------------- plugin and settings together

PLUGIN_COMMAND = "nova-session"  # the console script, found on PATH by Claude Code (exec form: no shell)


def plugin_hooks() -> dict:
    """The plugin's ``hooks/hooks.json``: every event, exec form, marked ``--plugin``."""
    hooks: dict = {}
    for event, takes_matcher, timeout in HOOK_EVENTS:
        group: dict = {"matcher": "*"} if takes_matcher else {}
        args = ["hook", "--plugin", event]
        group["hooks"] = [{"type": "command", "command": PLUGIN_COMMAND, "args": args, "timeout": timeout}]
        hooks[event] = [group]
    return {
        "description": "nova_session: record every tool call and session event into .nova-protector/",
        "hooks": hooks,
    }


# Managed settings, where an organisation may have installed our hooks.
_MANAGED_SETTINGS = (
    "/etc/claude-code/managed-settings.json",
    "/Library/Application Support/ClaudeCode/managed-settings.json",
)


def settings_files(project: str) -> list:
    """The settings files Claude Code reads hooks from for a project."""
    user = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    return [
        os.path.join(project, ".claude", "settings.json"),
        os.path.join(project, ".claude", "settings.local.json"),
        os.path.join(user, "settings.json"),
        *_MANAGED_SETTINGS,
    ]


def settings_handle(event: str, cwd) -> bool:
    """Whether a settings file already runs our hook for this event.

    The plugin's hooks ask this first and record nothing when it is so: with
    both installed, Claude Code runs both commands, and each event must be
    recorded once. Only an entry that really runs our hook for this event
    counts (``runs_our_hook``), and none does in a file that sets
    ``disableAllHooks``: a project file must not be able to switch the plugin
    off with a look-alike. Reads a few small files with the kernel's JSON
    parser (this runs in hook processes); an unreadable file counts as not ours."""
    from . import paths, sessions

    project = os.environ.get("CLAUDE_PROJECT_DIR") or (cwd if isinstance(cwd, str) and cwd else os.getcwd())
    for path in settings_files(project):
        try:
            settings = sessions.kernel.loads(paths.read_regular(path, 1 << 22))
        except (OSError, ValueError, RecursionError):
            continue
        if type(settings) is not dict or settings.get("disableAllHooks") is True:
            continue
        hooks = settings.get("hooks")
        groups = hooks.get(event) if type(hooks) is dict else None
        for group in groups if type(groups) is list else ():
            if type(group) is not dict or group.get("matcher") not in (None, "", "*"):
                continue  # a group that matches only some tools does not record every call
            entries = group.get("hooks")
            if type(entries) is list and any(runs_our_hook(entry, event) for entry in entries):
                return True
    return False


def runs_our_hook(entry, event: str) -> bool:
    """Whether a settings hook entry is a command that runs our hook for this event, in any form
    ``hook_call`` knows (with any interpreter options), with a program (and a run_hook.py) that
    exist. The plugin's own ``--plugin`` form does not count: it defers to settings itself."""
    command = entry.get("command") if type(entry) is dict and entry.get("type") == "command" else None
    call = hook_call(command)
    if call is None:
        return False
    program, script, plugin, called = call
    if plugin or called != event:
        return False
    if os.sep not in program:
        import shutil

        program = shutil.which(program) or ""
    return os.path.isfile(program) and os.access(program, os.X_OK) and (script is None or os.path.isfile(script))
