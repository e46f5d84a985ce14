"""The ``nova-session`` command (also ``python -m nova_session``).

``hook EVENT`` is the hot path, run once per Claude Code hook call: it is
dispatched before anything else is imported (argparse alone costs
milliseconds). Everything else is parsed with argparse.

Exit status: ``hook`` always 0 (fail-open); ``install``/``uninstall`` 0 on
success, 1 when the settings file cannot be used (not valid JSON, malformed
hook lists, a link to nothing, a FIFO or other file that is not a regular
one), read or written (it is then left untouched; one line per problem on
stderr), 2 for a usage error.

The reading commands (``list``, ``show``, ``tail``, ``stats``, ``verify``,
``export``, ``report``) exit 0 on success (also when they skipped unreadable
lines, which they report on stderr), 1 when ``verify`` finds a problem, 2 for
a usage error, 3 when the project directory does not exist, 4 for an unknown
session id (close matches are suggested), 5 when a file cannot be read or
written, 6 when ``verify`` finds the file was changed after it was written
(the README's "The hash chain": a broken link, a line outside the chain, a
plain or missing link after keyed ones, links that do not match the key).
"""

from __future__ import annotations

import sys

from . import _log


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["hook"] and args[1:2] not in (["-h"], ["--help"]):
        from . import hooks

        return hooks.main(args[1:])
    return _main(args)


def _many(*counts_and_nouns) -> str:
    """'1 prompt, 2 errors': counts with their nouns, plural where needed."""
    from .report.text import plural

    pairs = zip(counts_and_nouns[::2], counts_and_nouns[1::2])
    return ", ".join("%d %s" % (count, plural(count, noun)) for count, noun in pairs)


def _main(args: list) -> int:
    import argparse
    import os

    from . import BACKEND, __version__

    parser = argparse.ArgumentParser(prog="nova-session", description="Record AI coding agent sessions.")
    parser.add_argument("--version", action="version", version="nova-session %s (%s kernel)" % (__version__, BACKEND))
    commands = parser.add_subparsers(dest="command", required=True)
    hook = commands.add_parser("hook", help="handle one Claude Code hook call (JSON on stdin)")
    hook.add_argument("--plugin", action="store_true", help="called by the Claude Code plugin's hooks")
    hook.add_argument("event", help="the hook event name, e.g. PostToolUse")
    for name, text in (
        ("install", "add nova_session's hooks to a Claude Code settings.json"),
        ("uninstall", "remove exactly the hooks install added"),
    ):
        command = commands.add_parser(name, help=text)
        where = command.add_mutually_exclusive_group()
        where.add_argument(
            "--project", metavar="DIR", nargs="?", const=".", help="DIR/.claude/settings.json (default: .)"
        )
        where.add_argument("--user", action="store_true", help="~/.claude/settings.json")
        command.add_argument(
            "--local",
            action="store_true",
            help="the project's .claude/settings.local.json (personal, not committed) instead of settings.json",
        )
        command.add_argument("--dry-run", action="store_true", help="print the resulting settings, write nothing")
        if name == "install":
            command.add_argument(
                "--message-display",
                action="store_true",
                help="also record MessageDisplay (every streamed display delta: dozens of records per turn)",
            )
    _add_read_commands(commands)
    rules = commands.add_parser("rules", help="NOVA rule files (.nov)", description="NOVA rule files (.nov)")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser(
        "check", help="validate rule files: one line per problem, FILE:LINE: message (exit 1 when any)"
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="a .nov file, or a directory of them")
    options = parser.parse_args(args)
    if options.command in READ_COMMANDS:
        return _read_command(options)
    if options.command == "rules":
        return _rules_check(options.files)
    if options.user and options.local:
        parser.error("--local names a project's settings.local.json; it cannot be used with --user")
    name = "settings.local.json" if options.local else "settings.json"
    if options.user:
        path = os.path.join(os.path.expanduser("~"), ".claude", name)
    else:
        path = os.path.join(os.path.abspath(options.project or "."), ".claude", name)
    return _settings(options.command, path, options.dry_run, getattr(options, "message_display", False))


def _rules_check(entries: list) -> int:
    from .guard import scan

    files = scan.rule_files(entries)
    rules, problems = scan.load(files)
    for problem in problems:
        print(_log.printable(problem))
    if not files:
        print("no .nov file in %s" % _log.printable(", ".join(entries)))
        return EXIT_PROBLEMS
    print(
        "%s: %s%s"
        % (
            _many(len(files), "file"),
            _many(len(rules), "rule") + " usable",
            ", %s" % _many(len(problems), "problem") if problems else "",
        )
    )
    return EXIT_PROBLEMS if problems else EXIT_OK


def _settings(command: str, path: str, dry_run: bool, message_display: bool = False) -> int:
    import os

    from . import install

    try:
        before, after = install.plan(command, path, message_display)
        if dry_run:
            print("# nova-session %s --dry-run: %s would hold" % (command, path))
            print(install.dump(after), end="")
            return 0
        if after == before and (os.path.exists(path) or command == "uninstall"):
            print("nova-session %s: %s is already up to date; unchanged" % (command, path))
            return 0
        existed = os.path.exists(path)
        written = install.write(path, install.dump(after))
    except install.SettingsError as exc:
        for line in exc.args:  # one line per problem
            print("nova-session %s: %s" % (command, line), file=sys.stderr)
        return EXIT_PROBLEMS
    except BrokenPipeError:  # pragma: no cover - --dry-run piped into head
        return EXIT_OK
    except OSError as exc:
        print("nova-session %s: cannot write %s: %s" % (command, path, exc), file=sys.stderr)
        return EXIT_PROBLEMS
    if command == "install":
        done = "%d hooks installed in %s" % (len(install.hook_events(message_display)), path)
    else:
        done = "nova_session hooks removed from %s" % path
    kept = " (previous file kept as %s.bak)" % os.path.basename(path) if existed else ""
    print("nova-session %s: %s%s" % (command, done, kept))
    if written != path:
        print("nova-session %s: %s is a symbolic link; wrote through it to %s" % (command, path, written))
    return 0


# ------------------------------------------------------------ reading sessions

READ_COMMANDS = ("list", "show", "tail", "stats", "verify", "export", "report", "scan")
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_TAMPERED = 6  # verify: the hash chain shows the file was changed after it was written


def _add_read_commands(commands) -> None:
    """The subcommands that read sessions; each takes --project DIR and, where it prints data, --json."""
    texts = {
        "list": "the project's sessions, newest first",
        "show": "a session as a readable timeline",
        "tail": "the last records of a session; -f follows it as records arrive",
        "stats": "counts by tool and verdict, files touched, durations, MCP servers and skills",
        "verify": "check a session file's integrity and hash chain (exit status 1 when anything is wrong, "
        "6 when the chain shows the file was changed after it was written)",
        "export": "a session as JSON, JSON Lines or Markdown",
        "report": "write a self-contained HTML report to .nova-protector/reports/ID.html",
        "scan": "re-scan a session with every NOVA tier nova-hunting has (nova_session[nova]) and append "
        "a scan record per tool event and prompt",
    }
    import argparse

    for name in READ_COMMANDS:
        command = commands.add_parser(name, help=texts[name], description=texts[name])
        command.add_argument("--project", metavar="DIR", default=".", help="the project directory (default: .)")
        command.add_argument("--json", action="store_true", help="print JSON instead of text")
        if name != "list":
            command.add_argument("session", metavar="ID", help="a session id, a unique prefix of one, or 'latest'")
        else:
            command.add_argument(
                "--all-projects",
                metavar="DIR",
                nargs="?",
                const=".",
                help="the sessions of every project under DIR (default: .), symbolic links and hidden "
                "directories not followed",
            )
        if name == "tail":
            command.add_argument("-f", "--follow", action="store_true", help="keep printing records as they arrive")
            command.add_argument("-n", "--lines", type=int, default=10, metavar="N", help="records to show first (10)")
            command.add_argument("--interval", type=float, default=0.25, help=argparse.SUPPRESS)
            command.add_argument(
                "--timeout",
                type=float,
                default=None,
                metavar="S",
                help="with -f: stop after S seconds without new records",
            )
        if name == "export":
            command.add_argument("--format", choices=("json", "jsonl", "md"), default="json")
        if name == "verify":
            command.add_argument(
                "--key-file",
                metavar="FILE",
                help="the chain's key file (mode 0600 or stricter; default: $NOVA_SESSION_CHAIN_KEY_FILE)",
            )
            command.add_argument(
                "--anchor-dir",
                metavar="DIR",
                help="where the session's anchor is kept (default: $NOVA_SESSION_ANCHOR_DIR)",
            )
        if name in ("export", "report"):
            command.add_argument(
                "--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of the default"
            )


def _read_command(options) -> int:
    from . import paths, reading

    handlers = {
        "list": _cmd_list,
        "show": _cmd_show,
        "tail": _cmd_tail,
        "stats": _cmd_stats,
        "verify": _cmd_verify,
        "export": _cmd_export,
        "report": _cmd_report,
        "scan": _cmd_scan,
    }
    try:
        root = reading.project_root(options.project)
        sid = reading.find_session(root, options.session) if options.command != "list" else None
        return handlers[options.command](options, root, sid)
    except reading.SessionNotFound as exc:
        hint = "; did you mean: %s?" % ", ".join(exc.suggestions) if exc.suggestions else ""
        _error(options.command, "%s%s (nova-session list --project %s shows them)" % (exc, hint, options.project))
        return exc.exit_code
    except reading.ReadError as exc:
        _error(options.command, str(exc))
        return exc.exit_code
    except paths.Refused as exc:  # a path the package will not write through (a link, not a directory)
        _error(options.command, str(exc))
        return reading.ReadError.exit_code
    except BrokenPipeError:  # pragma: no cover - output piped into head
        return EXIT_OK
    except OSError as exc:
        _error(options.command, "%s%s" % (exc.strerror or exc, " (%s)" % exc.filename if exc.filename else ""))
        return reading.ReadError.exit_code
    except KeyboardInterrupt:
        return EXIT_OK


def _error(command: str, message: str) -> None:
    print("nova-session %s: %s" % (command, _safe(message)), file=sys.stderr)


def _safe(text) -> str:
    """Session text for a terminal line: control characters (escape sequences, line breaks)
    and bidirectional overrides made visible."""
    return _log.printable(text if isinstance(text, str) else str(text))


def _emit(text: str) -> None:
    """Print text, whatever the terminal's encoding (unencodable characters as escapes)."""
    try:
        sys.stdout.write(text + "\n")
    except UnicodeEncodeError:
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        sys.stdout.write((text + "\n").encode(encoding, "backslashreplace").decode(encoding))


def _json(value, indent=None) -> str:
    """JSON in ASCII: every non-ASCII character, C1 control and bidirectional override is a
    \\uXXXX escape (json escapes C0 controls itself), so the output cannot drive a terminal."""
    import json

    return json.dumps(value, ensure_ascii=True, indent=indent, default=str)


def _emit_json(value) -> None:
    _emit(_json(value, indent=2))


def _warn_skipped(command: str, sid: str, summary: dict) -> None:
    if summary.get("bad_lines"):
        _error(
            command,
            "skipped %d torn or unparsable line(s) of %s; `nova-session verify %s` lists them"
            % (summary["bad_lines"], sid, sid),
        )


def _cmd_list(options, root: str, sid) -> int:
    from . import reading

    if options.all_projects is not None:
        projects = reading.find_projects(options.all_projects)
        if options.json:
            _emit_json({"projects": [{"project": p, "sessions": reading.list_sessions(p)} for p in projects]})
            return EXIT_OK
        if not projects:
            _emit("no project with recorded sessions under %s" % _safe(reading.project_root(options.all_projects)))
        for number, project in enumerate(projects):
            _emit("%sproject %s" % ("\n" if number else "", _safe(project)))
            _list_table(reading.list_sessions(project))
        return EXIT_OK
    sessions = reading.list_sessions(root)
    if options.json:
        _emit_json({"project": root, "sessions": sessions})
        return EXIT_OK
    if not sessions:
        _emit("no sessions recorded in %s" % _safe(root))
        return EXIT_OK
    _list_table(sessions)
    return EXIT_OK


def _list_table(sessions: list) -> None:
    from .report.text import format_duration

    row = "%-26s  %-19s  %9s  %6s  %5s  %4s  %5s  %3s  %-10s  %s"
    _emit(row % ("ID", "START (UTC)", "DURATION", "EVENTS", "TOOLS", "WARN", "BLOCK", "ERR", "STATE", "NOTE"))
    for item in sessions:
        if "error" in item:
            _emit(row % (item["session_id"], "-", "-", "-", "-", "-", "-", "-", item["state"], _safe(item["error"])))
            continue
        notes = ["%d unreadable line(s)" % item["bad_lines"]] if item["bad_lines"] else []
        if item["lost_records"]:
            notes.append("%d record(s) lost" % item["lost_records"])
        if item["previous_file_missing"]:
            notes.append("an earlier file was removed")
        note = "; ".join(notes)
        start = (item["start"] or "-")[:19].replace("T", " ")
        _emit(
            row
            % (
                item["session_id"],
                _safe(start),
                format_duration(item["duration_s"]),
                item["events"],
                item["tool_calls"],
                item["warnings"],
                item["blocks"],
                item["errors"],
                item["state"],
                note,
            )
        )


def _timeline_line(record: dict, start, turn=None) -> str:
    from . import reading
    from .report.text import format_ms, offset_label

    ident = record.get("id")
    verdict = record.get("nova_verdict") if reading.is_tool_event(record) else ""
    return "%-6s %-4s %-11s %-26s %9s  %-10s %s%s" % (
        _safe("#%s" % ident) if ident is not None else "-",
        "T%d" % turn if turn is not None else "",
        _safe(offset_label(start, reading.record_time(record))),
        _safe(reading.record_title(record))[:26],
        format_ms(record.get("duration_ms")),
        _safe(verdict if isinstance(verdict, str) else ""),
        _safe(reading.agent_label(record)),
        _safe(reading.record_summary(record)),
    )


def _cmd_show(options, root: str, sid: str) -> int:
    from . import reading
    from .read.views import views
    from .report.text import format_duration

    session = reading.load_session(root, sid)
    summary = session["summary"]
    session["views"] = views(session["events"], (session["metadata"] or {}).get("project_dir"))
    if options.json:
        _emit_json(session)
    else:
        _emit(
            "session %s  (%s%s)"
            % (sid, summary["state"], ", reason %s" % _safe(summary["end_reason"]) if summary["end_reason"] else "")
        )
        _emit("  project   %s" % _safe(summary["project_dir"] or "-"))
        _emit("  start     %s   duration %s" % (_safe(summary["start"] or "-"), format_duration(summary["duration_s"])))
        _emit(
            "  records   %s: %s; %s"
            % (
                _many(summary["events"], "event"),
                _many(summary["tool_calls"], "tool call", summary["prompts"], "prompt"),
                _many(summary["warnings"], "warning", summary["blocks"], "block", summary["errors"], "error"),
            )
        )
        if summary["unfinished_count"]:
            _emit(
                "  unfinished %s started and never finished (denied, killed or blocked%s):"
                % (
                    _many(summary["unfinished_count"], "tool call"),
                    ", or still running" if summary["state"] == reading.STATE_ACTIVE else "",
                )
            )
            for call in summary["unfinished_tool_calls"]:
                _emit(
                    "    #%s %s %s%s"
                    % (
                        _safe(call["id"]),
                        _safe(call["tool_name"]),
                        _safe(reading.agent_label(call)),
                        _safe(call["summary"]),
                    )
                )
        _emit("")
        from .read.timeline import text_timeline

        picture = text_timeline(session["events"])
        for line in picture:
            _emit(_safe(line))
        if picture:
            _emit("")
        start = reading.parse_time(summary["start"])
        from .guard.deep import latest_scans

        # A scan record (nova-session scan) is shown with the record it concerns.
        scans = latest_scans(session["events"])
        events = [record for record in session["events"] if record.get("type") != "scan"]
        timeline = ([session["metadata"]] if session["metadata"] else []) + events
        turns = reading.Turns()
        # Tn: the turn (the user prompt) that caused the record; "T" column empty outside any turn.
        for record in timeline + ([session["end"]] if session["end"] else []):
            _emit(_timeline_line(record, start, turns.of(record)))
            rescan = scans.get(record.get("id")) if isinstance(record.get("id"), int) else None
            if rescan is not None:
                _emit(
                    "%-6s %-4s rescan by %s: %s %s"
                    % (
                        "",
                        "",
                        *(_safe(rescan.get(key)) for key in ("scanner", "nova_verdict")),
                        _safe(", ".join(map(str, rescan.get("nova_rules_matched") or []))),
                    )
                )
        _show_views(session["views"])
    _warn_skipped("show", sid, summary)
    return EXIT_OK


def _show_views(found: dict) -> None:
    """What a reviewer looks for first, after the timeline."""
    flagged = [f for f in found["files"] if f["sensitive"] or f["outside"]]
    if flagged:
        _emit("")
        _emit("files outside the project or sensitive:")
        for entry in flagged:
            marks = ", ".join(m for m, on in (("sensitive", entry["sensitive"]), ("outside", entry["outside"])) if on)
            counts = ((entry["read"], "read"), (entry["written"], "write"), (entry["other"], "other use"))
            access = _many(*(item for count, noun in counts if count for item in (count, noun)))
            if entry.get("unfinished"):
                access += ", %d never finished" % entry["unfinished"]
            _emit("  %-10s %s  (%s; #%s)" % (marks, _safe(entry["path"]), access, _ids(entry["ids"])))
    if found["network"]:
        _emit("")
        _emit("network:")
        for entry in found["network"]:
            _emit("  %-6s %s  (#%s)" % (entry["kind"], _safe(entry["target"]), _ids(entry["ids"])))
    failed = [c for c in found["commands"] if c["outcome"] != "ok"]
    if found["commands"]:
        _emit("")
        _emit("commands: %s run, %d failed or denied" % (len(found["commands"]), len(failed)))
        for command in failed:
            _emit("  #%s %-6s %s" % (_safe(command["id"]), command["outcome"], _safe(command["command"])[:120]))


def _ids(ids: list) -> str:
    shown = ", #".join(_safe(i) for i in ids[:8])
    return shown + (" … (%d in all)" % len(ids) if len(ids) > 8 else "")


def _cmd_tail(options, root: str, sid: str) -> int:
    from . import reading

    last, offset, bad, ended = reading.tail_records(root, sid, options.lines)
    for number in bad:
        _error("tail", "line %d of %s is torn or unparsable; skipped" % (number, sid))
    for record in last:
        _emit(_json(record) if options.json else _timeline_line(record, None))
    if not options.follow:
        return EXIT_OK
    sys.stdout.flush()
    for record, raw in reading.follow(
        root, sid, offset, interval=options.interval, timeout=options.timeout, ended=ended
    ):
        if record is None:
            _error("tail", "skipped a torn or unparsable line (%d bytes)" % len(raw))
            continue
        _emit(_json(record) if options.json else _timeline_line(record, None))
        sys.stdout.flush()
    return EXIT_OK


def _counts(counter: dict) -> str:
    return ", ".join("%s %s" % (_safe(name), count) for name, count in counter.items()) or "-"


def _cmd_stats(options, root: str, sid: str) -> int:
    from . import reading
    from .report.text import format_duration, format_ms

    stats = reading.session_stats(root, sid)
    if options.json:
        _emit_json(stats)
        _warn_skipped("stats", sid, stats)
        return EXIT_OK
    _emit(
        "session %s: %s, duration %s, %s (%s)"
        % (
            sid,
            stats["state"],
            format_duration(stats["duration_s"]),
            _many(stats["events"], "event"),
            _many(stats["tool_calls"], "tool call", stats["prompts"], "prompt"),
        )
    )
    _emit(
        "health: %s"
        % _many(
            stats["warnings"],
            "warning",
            stats["blocks"],
            "block",
            stats["errors"],
            "error",
            stats["scan_errors"],
            "scan error",
            stats["bad_lines"],
            "unreadable line",
        )
    )
    if stats["unfinished_count"]:
        _emit("unfinished: %s started and never finished" % _many(stats["unfinished_count"], "tool call"))
        for call in stats["unfinished_tool_calls"]:
            _emit("  #%-5s %-24s %s" % (_safe(call["id"]), _safe(call["tool_name"]), _safe(call["summary"])))
    _emit("records by type: %s" % _counts(stats["by_type"]))
    _emit("verdicts: %s" % _counts(stats["by_verdict"]))
    _emit("tool calls by tool:")
    for tool, count in stats["by_tool"].items():
        total = stats["tool_duration_ms"]["by_tool"].get(tool)
        _emit("  %-32s %5d  %s" % (_safe(tool), count, "total %s" % format_ms(total) if total is not None else ""))
    durations = stats["tool_duration_ms"]
    _emit("tool time: %s over %d timed calls" % (format_ms(durations["total"]) or "0 ms", durations["timed_calls"]))
    _emit("slowest:")
    for entry in stats["slowest"]:
        _emit(
            "  #%-5s %-24s %9s  %s"
            % (
                _safe(str(entry["id"])),
                _safe(entry["tool_name"]),
                format_ms(entry["duration_ms"]),
                _safe(entry["summary"]),
            )
        )
    _emit("files touched (%d):" % len(stats["files_touched"]))
    for name, count in stats["files_touched"].items():
        _emit("  %4d  %s" % (count, _safe(name)))
    _emit("MCP servers: %s" % _counts(stats["mcp_servers"]))
    _emit("skills: %s" % _counts(stats["skills"]))
    _warn_skipped("stats", sid, stats)
    return EXIT_OK


_CHAIN_STATUS = {
    "intact": "intact",
    "tampered": "TAMPERED: the file was changed after it was written",
    "needs_key": "keyed: not checked without the key",
    "unkeyed": "not keyed, although a key was given",
    "none": "no links",
}


def _chain_line(chain: dict) -> str:
    """``chain: intact (12 links: 12 plain)``: the hash chain's verdict in one line."""
    counts = []
    if chain["links"]:
        kinds = [
            "%d %s" % (n, name) for n, name in ((chain["plain_links"], "plain"), (chain["keyed_links"], "keyed")) if n
        ]
        counts.append("%s: %s" % (_many(chain["links"], "link"), ", ".join(kinds) or "malformed"))
    if chain["broken_links"]:
        counts.append(_many(chain["broken_links"], "broken link"))
    if chain["outside_chain"]:
        counts.append("%s outside the chain" % _many(chain["outside_chain"], "line"))
    if chain["unchained"]:
        counts.append(_many(chain["unchained"], "unchained record"))
    if chain["key"]:
        counts.append("key from %s" % chain["key"])
    status = _CHAIN_STATUS.get(chain["status"], chain["status"])
    return "chain: %s%s" % (status, " (%s)" % "; ".join(counts) if counts else "")


def _cmd_verify(options, root: str, sid: str) -> int:
    from . import reading

    result = reading.verify(root, sid, key_file=options.key_file, anchor_dir=options.anchor_dir)
    if options.json:
        _emit_json(result)
    else:
        verdict = "OK" if result["ok"] else "%d problem(s)" % result["problem_count"]
        _emit(
            "session %s: %s (%d lines, %d records, %s)"
            % (sid, verdict, result["lines"], result["records"], result["state"])
        )
        _emit("  %s" % _safe(_chain_line(result["chain"])))
        if result["anchor"] != "none":
            _emit("  anchor: %s" % _safe(result["anchor"]))
        for problem in result["problems"]:
            where = "line %d" % problem["line"] if problem["line"] is not None else "file"
            _emit("  %s: %s: %s" % (where, problem["kind"], _safe(problem["message"])))
        if result["problem_count"] > result["problems_shown"]:
            _emit("  … and %d more" % (result["problem_count"] - result["problems_shown"]))
        for note in result["notes"]:
            _emit("  note: %s" % _safe(note))
        for call in result["unfinished_tool_calls"]:
            _emit("  unfinished: #%s %s %s" % (_safe(call["id"]), _safe(call["tool_name"]), _safe(call["summary"])))
    if result["tampered"]:
        return EXIT_TAMPERED
    return EXIT_OK if result["ok"] else EXIT_PROBLEMS


def _cmd_export(options, root: str, sid: str) -> int:
    from . import reading, report

    fmt = "json" if options.json else options.format
    if fmt == "jsonl":
        skipped: list = []
        body = b"".join(raw + b"\n" for raw in reading.raw_records(root, sid, skipped)).decode("utf-8")
        summary = {"bad_lines": len(skipped)}
    else:
        session = reading.load_session(root, sid)
        summary = session["summary"]
        if fmt == "json":
            body = _json(session, indent=2) + "\n"
        else:
            body = report.render_markdown(session)
    if options.output:
        report.write_atomic(options.output, body.encode("utf-8", "backslashreplace"))
        print("nova-session export: wrote %s" % _safe(options.output), file=sys.stderr)
    else:
        _emit(body.rstrip("\n"))
    _warn_skipped("export", sid, summary)
    return EXIT_OK


def _cmd_report(options, root: str, sid: str) -> int:
    from . import report

    path = report.write_report(root, sid, options.output)
    if options.json:
        _emit_json({"session_id": sid, "report": path})
    else:
        _emit("nova-session report: wrote %s" % _safe(path))
    return EXIT_OK


def _cmd_scan(options, root: str, sid: str) -> int:
    from .guard import deep, scan

    try:
        result = deep.rescan(root, sid, scan.configured_files())
    except deep.Unavailable as exc:
        print("nova-session scan: %s" % _safe(exc), file=sys.stderr)
        return EXIT_USAGE
    for problem in result["problems"]:
        print("nova-session scan: rules refused: %s" % _safe(problem), file=sys.stderr)
    if options.json:
        _emit_json(result)
        return EXIT_OK
    for record in result["records"]:
        if record["nova_verdict"] != "allowed" or record["tier_warnings"]:
            _emit(
                "  #%s %s %s%s"
                % (
                    _safe(record["of"]),
                    _safe(record["nova_verdict"]),
                    _safe(", ".join(record["nova_rules_matched"])),
                    "  (%s)" % _many(len(record["tier_warnings"]), "tier warning") if record["tier_warnings"] else "",
                )
            )
    _emit(
        "nova-session scan: %s scanned, %d flagged, with %s; scan records appended to %s"
        % (_many(result["scanned"], "record"), result["flagged"], _safe(deep._version()), sid)
    )
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
