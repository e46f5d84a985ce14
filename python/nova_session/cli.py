"""The ``nova-session`` command (also ``python -m nova_session``).

``hook EVENT`` is the hot path, run once per Claude Code hook call: it is
dispatched before anything else is imported (argparse alone costs
milliseconds). Everything else is parsed with argparse.

Exit status: ``hook`` always 0 (fail-open); ``install``/``uninstall`` 0 on
success, 1 when the settings file cannot be read or written (it is then left
untouched), 2 for a usage error.
"""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["hook"]:
        from .hooks import run

        return run(args[1] if len(args) > 1 else "")
    return _main(args)


def _main(args: list) -> int:
    import argparse
    import os

    parser = argparse.ArgumentParser(prog="nova-session", description="Record AI coding agent sessions.")
    commands = parser.add_subparsers(dest="command", required=True)
    hook = commands.add_parser("hook", help="handle one Claude Code hook call (JSON on stdin)")
    hook.add_argument("event", help="the hook event name, e.g. PostToolUse")
    for name, text in (("install", "add nova_session's hooks to a Claude Code settings.json"),
                       ("uninstall", "remove exactly the hooks install added")):
        command = commands.add_parser(name, help=text)
        where = command.add_mutually_exclusive_group()
        where.add_argument("--project", metavar="DIR", nargs="?", const=".", help="DIR/.claude/settings.json (default: .)")
        where.add_argument("--user", action="store_true", help="~/.claude/settings.json")
        command.add_argument("--dry-run", action="store_true", help="print the resulting settings, write nothing")
    options = parser.parse_args(args)
    if options.user:
        path = os.path.join(os.path.expanduser("~"), ".claude", "settings.json")
    else:
        path = os.path.join(os.path.abspath(options.project or "."), ".claude", "settings.json")
    return _settings(options.command, path, options.dry_run)


def _settings(command: str, path: str, dry_run: bool) -> int:
    import os

    from . import install

    try:
        before, after = install.plan(command, path)
        if dry_run:
            print("# nova-session %s --dry-run: %s would hold" % (command, path))
            print(install.dump(after), end="")
            return 0
        if after == before and (os.path.exists(path) or command == "uninstall"):
            print("nova-session %s: %s is already up to date; unchanged" % (command, path))
            return 0
        existed = os.path.exists(path)
        install.write(path, install.dump(after))
    except install.SettingsError as exc:
        print("nova-session %s: %s" % (command, exc), file=sys.stderr)
        return 1
    except OSError as exc:
        print("nova-session %s: cannot write %s: %s" % (command, path, exc), file=sys.stderr)
        return 1
    if command == "install":
        done = "%d hooks installed in %s" % (len(install.HOOK_EVENTS), path)
    else:
        done = "nova_session hooks removed from %s" % path
    print("nova-session %s: %s%s" % (command, done, " (previous file kept as settings.json.bak)" if existed else ""))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
