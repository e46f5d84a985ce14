"""The HTML report: one self-contained file with inline CSS and one inline script, and a
Content-Security-Policy that allows nothing else (no network, no external asset, and only
the report's own script, by hash). The CSS and script are files of this package
(``assets/``). The session's records are embedded as data, not as markup: one JSON array
of per-row summaries, and the records themselves as one line of JSON each (as the
kernels encode them), deflated. The script draws only the rows in view (a virtual list, so 100,000 records
cost what 50 do), parses a record only when it is opened, and searches the records'
text in place.

Every string that comes from a session is untrusted (tool output is
attacker-controlled): in the server-rendered header it is escaped, with control
characters and lone surrogates made visible; the JSON embedded in a ``<script>`` is
ASCII with ``<``, ``>`` and ``&`` escaped, so that ``</script>``, ``<!--`` and
U+2028/U+2029 cannot end or confuse it, and the records are base64; the script puts
session text in the page only through ``textContent``, with the same characters
written out.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import os
import re

from .. import paths, reading, sessions
from . import parallel, picture, views
from .text import (
    MAX_FIELD_CHARS,
    clean,
    esc,
    format_duration,
    format_ms,
    plural,
    pretty,
    record_flag,
    script_json,
    verdict_text,
)

ROW_HEIGHT = 30  # px; every row of the virtual list has this height


def _asset(name: str) -> str:
    with open(os.path.join(os.path.dirname(__file__), "assets", name), encoding="utf-8") as handle:
        return handle.read()


CSS = _asset("report.css")
SCRIPT = "".join(_asset(name) for name in ("report.js", "views.js", "diff.js"))  # one script: the CSP allows one

SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'"
    % SCRIPT_HASH
)


def _line(record: dict, raw: bytes | None = None) -> bytes:
    """A record as one line of JSON as the kernels encode it (UTF-8; no line break can occur
    in it): its line in the file (``raw``) when there is one and short, else encoded
    again with its strings longer than MAX_FIELD_CHARS cut. The script's search relies on
    that encoding. A line that may hold NaN or Infinity (Python reads them, the browser's
    JSON.parse does not) is encoded again too: the kernels write them as null."""
    if raw is not None and len(raw) <= MAX_FIELD_CHARS and b"NaN" not in raw and b"Infinity" not in raw:
        return raw
    try:
        text = sessions.kernel.encode(record)
        return sessions.kernel.encode(_cut(record)) if len(text) > MAX_FIELD_CHARS else text
    except (ValueError, TypeError, RecursionError, OverflowError):
        return json.dumps({"unencodable record": repr(record)[:MAX_FIELD_CHARS]}, ensure_ascii=True).encode("ascii")


def session_records(session: dict) -> list:
    """The records the report lists, in the order of the file: the init record, the events
    but scan records, the end record."""
    events = [record for record in session["events"] if record.get("type") != "scan"]
    return (
        ([session["metadata"]] if session["metadata"] else []) + events + ([session["end"]] if session["end"] else [])
    )


def embed(packing, raw: bytes, record: dict) -> None:
    """Add a record read from the file to the records the report embeds (``render_html``'s
    ``packing``), unless it is not listed (a scan record)."""
    if record.get("type") != "scan":
        packing.add(_line(record, raw))


def _cut(value, depth: int = 0):
    if isinstance(value, str):
        return pretty(value)
    if depth > 100:
        return pretty(repr(value))
    if isinstance(value, dict):
        return {k: _cut(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v, depth + 1) for v in value]
    return value


def render_html(
    session: dict, root: str | None = None, verification: dict | None = None, packing=None, aside=None
) -> str:
    """The report of a session object (``reading.load_session``) as one HTML document; its
    summary page shows the chain's ``verification`` (``reading.verify``), found here from
    the project's ``root`` and the session's ``lines`` when not given. ``packing`` is a
    ``parallel.Packing`` the records were added to as they were read (``embed``);
    ``aside`` a ``parallel.Aside`` making ``aside_work``'s part (else it is made here)."""
    from ..guard.deep import latest_scans

    packed = packing.result() if packing is not None else None
    if aside is None:  # drawn in a forked process while this one makes the rows (no other thread runs now)
        aside = parallel.Aside(lambda: aside_work(session, None if verification else root))

    summary = session["summary"]
    # A scan record (nova-session scan) is shown inside the record it concerns (the script
    # adds it to the record it opens, from "rescans").
    scans = latest_scans(session["events"])
    timeline = session_records(session)
    if scans:
        timeline = [
            dict(record, nova_rescan=scans[record["id"]])
            if isinstance(record.get("id"), int) and record["id"] in scans
            else record
            for record in timeline
        ]
    start = reading.parse_time(summary.get("start"))
    if packing is None or packing.count != len(timeline):
        # The records in timeline order, one line each (scans shown in the record they concern).
        raw = {id(record): line for _, line, record, _ in session.get("lines") or () if record is not None}
        packed = parallel.Packing(_line(record, raw.get(id(record))) for record in session_records(session)).result()
    rows = _timeline(timeline, summary)
    tools: dict = {}  # the filters' choices: title and verdict of each row, counted
    verdicts: dict = {}
    for record, row in zip(timeline, rows):
        _count(tools, row[5])
        if record.get("type") == "event":
            _count(verdicts, row[8])
    data = {
        "session_id": session["session_id"],
        "tools": tools,
        "verdicts": verdicts,
        "records": len(timeline),
        "row_height": ROW_HEIGHT,
        "field_limit": MAX_FIELD_CHARS,
        "start": None if start is None else round(start * 1000),
        "rows": rows,
        "rescans": {str(ident): scan for ident, scan in scans.items()},
    }
    embedded = script_json(data)  # while the picture and views may still be in the making
    drawn, checked, view_data, packed_views = aside.result()
    verification = verification or checked
    page = views.Page(session, data["rows"], verification, view_data, packed_views)  # the summary page and the tabs
    parts = [_head(session), page.start(_header(session, summary)), drawn, "<main>", _controls()]
    parts.append(
        '<div id="timeline" tabindex="0"><div id="spacer"></div></div>'
        '<section id="detail" hidden aria-live="polite"></section></main>'
    )
    parts.append(page.end())
    parts.append(
        "<footer>Generated by nova-session report from %s. Self-contained: no network access, no external "
        "files.</footer>" % esc(session["path"])
    )
    parts.append('<script type="application/json" id="report-data">%s</script>' % embedded)
    parts.append('<script type="application/octet-stream" id="report-records">%s</script>' % packed)
    parts.append(page.data())
    parts.append("<script>%s</script></body></html>\n" % SCRIPT)
    return "".join(parts)


def _count(counter: dict, key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _head(session: dict) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="%s">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>nova session %s</title><style>%s</style></head>"
        '<body data-report-state="loading">' % (CSP, esc(session["session_id"]), CSS)
    )


def aside_work(session: dict, root: str | None) -> tuple:
    """What the page needs beside the rows: the picture's HTML, the verification of the
    lines (None without them, or when a file it needs cannot be read), and the views'
    data, as it is and packed."""
    verification = None
    if root is not None and session.get("lines"):
        try:
            verification = reading.verify_lines(
                root, session["session_id"], session["lines"], summary=session["summary"]
            )
        except OSError:
            pass
    view_data = views.view_data(session)
    return _picture(session["events"]), verification, view_data, views.pack(view_data)


def _picture(events: list) -> str:
    """The calls on a time axis (each linked to its record) and the small charts, inline SVG."""
    found = picture.placed(events)
    drawn = picture.svg_timeline(events, esc, found)
    charts = picture.charts(events, esc, found)
    if not drawn and not charts:
        return ""
    return '<section class="pictures" aria-label="the session at a glance">%s<div class="charts">%s</div></section>' % (
        drawn,
        charts,
    )


def _header(session: dict, summary: dict) -> str:
    state = summary.get("state") or ""
    facts = [
        ("state", '<span class="state-%s">%s</span>' % (esc(state), esc(state))),
        ("start", esc(summary.get("start") or "-")),
        ("end" if state == reading.STATE_ENDED else "last record", esc(summary.get("end") or "-")),
        ("duration", esc(format_duration(summary.get("duration_s")))),
        ("end reason", esc(summary.get("end_reason") or "-")),
        ("project", esc(summary.get("project_dir") or "-")),
        ("platform", esc(summary.get("platform") or "-")),
        ("Claude session", esc(summary.get("claude_session_id") or "-")),
    ]
    fact_html = "".join("<div><dt>%s</dt><dd>%s</dd></div>" % (name, value) for name, value in facts)
    health = [
        ("", summary["events"], "event"),
        ("", summary["tool_calls"], "tool call"),
        ("", summary["prompts"], "prompt"),
        ("warn" if summary["warnings"] else "", summary["warnings"], "warning"),
        ("bad" if summary["blocks"] else "", summary["blocks"], "block"),
        ("bad" if summary["errors"] else "", summary["errors"], "error"),
        ("bad" if summary["scan_errors"] else "", summary["scan_errors"], "scan error"),
        ("bad" if summary["bad_lines"] else "", summary["bad_lines"], "unreadable line"),
        ("bad" if summary.get("unfinished_count") else "", summary.get("unfinished_count", 0), "unfinished call"),
    ]
    health_html = "".join(
        '<li class="%s"><b>%d</b>%s</li>' % (cls, count, plural(count, label)) for cls, count, label in health
    )
    skipped = ""
    if session["skipped_lines"]:
        lines = ", ".join(str(n) for n in session["skipped_lines"][:50])
        more = " …" if len(session["skipped_lines"]) > 50 else ""
        skipped = (
            '<p class="skipped">Skipped torn or unparsable lines: %s%s (run <code>nova-session verify %s</code>)'
            "</p>" % (lines, more, esc(session["session_id"]))
        )
    return (
        '<header><h1>nova session <code>%s</code></h1><dl class="facts">%s</dl><ul class="health">%s</ul>%s'
        "</header>" % (esc(session["session_id"]), fact_html, health_html, skipped)
    )


def _controls() -> str:
    return (
        '<div class="controls">'
        '<label>Tool / record <select id="f-tool"><option value="">all</option></select></label>'
        '<label>Verdict <select id="f-verdict"><option value="">all</option></select></label>'
        '<label><input type="checkbox" id="f-flag"> needs attention only</label>'
        '<input type="search" id="f-search" placeholder="search inputs, outputs and summaries">'
        '<span id="shown"></span></div>'
        "<noscript>The timeline is drawn by the report's script: enable JavaScript for this file, or read "
        "the session with nova-session show or export.</noscript>"
    )


def _timeline(timeline: list, summary: dict) -> list:
    """The rows of the virtual list, one per record."""
    durations = [_duration(record) for record in timeline]
    longest = max(durations, default=0.0) or 1.0
    unfinished = {call["tool_use_id"] for call in summary.get("unfinished_tool_calls", ())}
    turns = reading.Turns()
    kinds: dict = {}  # type -> its CSS class
    rows = []
    for index, record in enumerate(timeline):
        tool_use_id = record.get("tool_use_id")
        open_call = record.get("type") == "tool_start" and isinstance(tool_use_id, str) and tool_use_id in unfinished
        bar = round(100.0 * durations[index] / longest, 1) if durations[index] else 0
        rows.append(_row(index, record, bar, turns.of(record), open_call, kinds))
    return rows


def _duration(record: dict) -> float:
    value = record.get("duration_ms")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0.0


def anchor(index: int, record: dict) -> str:
    """The fragment naming a record in the report: ``r-<id>``, or ``r-<type>`` without an id."""
    ident = record.get("id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        return "r-%d" % ident
    kind = record.get("type")
    return "r-%s" % (re.sub(r"[^a-z_]", "", kind) if isinstance(kind, str) and kind else "x%d" % index)


def _row(index: int, record: dict, bar: float, turn, open_call: bool, kinds: dict) -> list:
    """One row of the virtual list: [classes, anchor, id, turn, time, title, duration,
    bar width %, verdict, summary]; every string from the session cleaned. ``kinds``
    remembers the CSS class of each record type."""
    kind = record.get("type")
    classes = "k-other"
    if isinstance(kind, str):
        classes = kinds.get(kind) or kinds.setdefault(kind, "k-%s" % re.sub(r"[^a-z_]", "", kind))
    tool_event = kind == "event"
    verdict, looked = "", None
    if tool_event:
        verdict = verdict_text(record)
        looked = reading.verdict_class(record.get("nova_verdict"), record.get("nova_rules_matched"))
        classes += " v-" + looked
    if record_flag(record, looked):
        classes += " flag"
    if (tool_event and record.get("is_error") is True) or open_call:
        classes += " err"
    ident = record.get("id")
    return [
        classes,
        anchor(index, record),
        clean("#%s" % ident) if ident is not None else "",
        "T%d" % turn if turn is not None else "",
        clean(reading.record_time(record) or ""),
        clean(reading.record_title(record)),
        format_ms(record.get("duration_ms")),
        bar,
        clean(verdict),
        ("UNFINISHED: " if open_call else "") + clean(reading.agent_label(record) + reading.record_summary(record)),
    ]


# ----------------------------------------------------------------- writing


def write_atomic(path: str, data: bytes) -> None:
    """Write data to path through a temporary file in the same directory and os.replace
    (readers see the old file or the new one, never half of one); mode 0600."""
    directory, name = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, ".%s.%d.%s.tmp" % (name, os.getpid(), os.urandom(4).hex()))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temp, flags, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def reports_dir(root: str) -> str:
    """``.nova-protector/reports`` of the project, created (0700) if needed, never through a link."""
    base = paths.data_dir(root)
    paths.check_real_dir(base)
    directory = os.path.join(base, paths.REPORTS)
    paths.make_dir(directory)
    return directory


def write_report(root: str, sid: str, output: str | None = None) -> str:
    """Render the session's HTML report to output (default: reports/{id}.html); return the path.

    The report is written by a forked child, which leaves without freeing the session
    (``parallel.in_child``); the child forks another that reads the same snapshot of the
    file for the picture, the views and the chain's verification while it reads the
    records and makes the rows, and deflates the records in a thread as it reads them."""
    path = output or os.path.join(reports_dir(root), sid + ".html")
    snapshot = reading.open_snapshot(reading.session_path(root, sid))
    # Loading a session makes a few objects per record and frees none of them: the cyclic
    # collector would walk them all again and again (a quarter of the time at 100,000 records).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return parallel.in_child(lambda: _write(root, sid, path, snapshot))
    finally:
        os.close(snapshot[0])
        if collecting:
            gc.enable()


def _write(root: str, sid: str, path: str, snapshot: tuple) -> str:
    def load(**options) -> dict:
        return reading.load_session(root, sid, lines=True, stats=False, snapshot=snapshot, **options)

    # Forked before the packing thread starts; neither child frees the session (parallel.keep).
    aside = parallel.Aside(lambda: aside_work(parallel.keep(load()), root))
    packing = parallel.Packing()
    session = parallel.keep(load(sink=lambda raw, record: embed(packing, raw, record)))
    write_atomic(path, render_html(session, root, packing=packing, aside=aside).encode("utf-8", "replace"))
    return path
