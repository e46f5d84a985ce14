"""Rendering a session for people: a self-contained HTML report, and Markdown.

The HTML report is one file with inline CSS and one inline script, and a
Content-Security-Policy that allows nothing else (no network, no external
asset, and only the report's own script, by hash). Every event is rendered
on the server side as an expandable ``<details>`` (the page is complete
without JavaScript); the script adds the filters by tool and verdict.

Every string that comes from a session is untrusted (tool output is
attacker-controlled): in HTML it is escaped, with control characters and lone
surrogates made visible; the JSON embedded in a ``<script>`` is escaped so
that ``</script>``, ``<!--`` and U+2028/U+2029 cannot end or confuse it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import time

from . import paths, reading

MAX_FIELD_CHARS = 200_000  # longer values are cut in the report (export keeps them whole)

# C0/C1 controls (but tab, newline, carriage return), line/paragraph separators, lone
# surrogates and non-characters.
# Bidirectional overrides and isolates reorder what a reader sees ("Trojan Source").
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff%s]" % _BIDI)
# What a terminal line never gets as itself: every C0 control (a line break or carriage
# return forges a row), DEL, C1 controls (a CSI moves the cursor), bidi, line separators.
_TERMINAL_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff%s]" % _BIDI)
_SHOWN_FIELDS = frozenset(
    (
        "type",
        "id",
        "timestamp",
        "timestamp_start",
        "timestamp_end",
        "duration_ms",
        "tool_name",
        "tool_input",
        "tool_output",
        "files_accessed",
        "nova_verdict",
        "nova_severity",
        "nova_rules_matched",
        "nova_scan_time_ms",
        "nova_rescan",
    )
)


# ------------------------------------------------------------------ escaping


def _visible(match) -> str:
    code = ord(match.group())
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def clean(text: str) -> str:
    """text with control characters and lone surrogates written out as ``\\xNN``/``\\uNNNN``."""
    return _UNSAFE.sub(_visible, text)


def plural(count: int, noun: str) -> str:
    """The noun as a count of it reads: "1 error", "2 errors"."""
    return noun if count == 1 else noun + "s"


def terminal(text: str) -> str:
    """text for one line of a terminal: every control character written out as ``\\xNN``/``\\uNNNN``."""
    return _TERMINAL_UNSAFE.sub(_visible, text)


def esc(value) -> str:
    """Any value as HTML text or attribute content: cleaned, then escaped (quotes too)."""
    return html.escape(clean(value if isinstance(value, str) else str(value)), quote=True)


def script_json(value) -> str:
    """JSON safe inside ``<script type="application/json">``: ASCII only (so U+2028,
    U+2029 and surrogates are escapes), and no ``<``, ``>`` or ``&`` at all (so no
    ``</script>`` or ``<!--``)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def pretty(value, limit: int | None = None) -> str:
    """A value for a ``<pre>``: a string as itself, anything else as indented JSON,
    cut at ``limit`` characters (MAX_FIELD_CHARS when not given; 0 keeps it whole)."""
    limit = MAX_FIELD_CHARS if limit is None else limit
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        except (ValueError, TypeError, RecursionError):
            text = repr(value)
    if limit and len(text) > limit:
        text = text[:limit] + "\n… %d more characters (nova-session export has them all)" % (len(text) - limit)
    return text


# -------------------------------------------------------------- formatting


def format_duration(seconds) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return "%.1f s" % seconds
    minutes, second = divmod(int(round(seconds)), 60)
    hours, minute = divmod(minutes, 60)
    return "%dh %02dm %02ds" % (hours, minute, second) if hours else "%dm %02ds" % (minute, second)


def format_ms(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return "%.0f ms" % value if value < 10_000 else "%.1f s" % (value / 1000)


def offset_label(start: float | None, moment) -> str:
    """``+MM:SS.mmm`` since the session started, or the clock time when that is unknown."""
    when = reading.parse_time(moment)
    if when is None:
        return ""
    if start is None:  # the clock time, rebuilt from the parsed value: never raw session text
        return "%s.%03d" % (time.strftime("%H:%M:%S", time.gmtime(when)), int(when * 1000) % 1000)
    delta = max(0.0, when - start)
    minutes, seconds = divmod(delta, 60)
    return "+%02d:%06.3f" % (minutes, seconds)


def record_flag(record: dict) -> bool:
    """Whether a record needs attention: a failed tool call or a verdict other than ok."""
    rescan = record.get("nova_rescan")
    if (
        isinstance(rescan, dict)
        and reading.verdict_class(rescan.get("nova_verdict"), rescan.get("nova_rules_matched")) != "ok"
    ):
        return True
    if not reading.is_tool_event(record):
        return False
    return (
        record.get("is_error") is True
        or reading.verdict_class(record.get("nova_verdict"), record.get("nova_rules_matched")) != "ok"
    )


# --------------------------------------------------------------------- HTML

CSS = """
:root{--fg:#1d2330;--mut:#5b6475;--bg:#f6f7f9;--card:#fff;--line:#dde1e8;--ok:#1f7a4d;--warn:#9a6700;
--block:#b42318;--err:#b42318;--accent:#2f5bd3}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);
background:var(--bg)}header,main{max-width:1200px;margin:0 auto;padding:16px 20px}h1{font-size:20px;margin:0 0 8px}
h1 code{font-size:18px}.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:4px 18px;
margin:0 0 12px}.facts div{display:flex;gap:6px;min-width:0}.facts dt{color:var(--mut)}.facts dd{margin:0;
overflow-wrap:anywhere}.health{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:0}
.health li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:6px 12px}
.health b{font-size:18px;margin-right:4px}.health .bad b{color:var(--err)}.health .warn b{color:var(--warn)}
.state-ended{color:var(--ok)}.state-active{color:var(--accent)}.state-unfinished{color:var(--err)}
.controls{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);display:flex;
flex-wrap:wrap;gap:10px;align-items:center;padding:10px 0}.controls select,.controls input[type=search]{font:inherit;
padding:3px 6px}#shown{color:var(--mut);margin-left:auto}ol#timeline{list-style:none;padding:0;margin:8px 0}
#timeline li{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--line);border-radius:4px;
margin:3px 0}#timeline li.flag{border-left-color:var(--warn)}#timeline li.v-block,#timeline li.err{
border-left-color:var(--block)}#timeline li.k-user_prompt{border-left-color:var(--accent)}summary{cursor:pointer;
display:grid;grid-template-columns:60px 36px 110px 190px 120px 90px 1fr;gap:8px;padding:5px 8px;align-items:baseline}
summary>span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.id,.at,.turn{color:var(--mut);
font-variant-numeric:tabular-nums}.title{font-weight:600}.dur{position:relative;font-variant-numeric:tabular-nums}
.dur i{position:absolute;left:0;bottom:-2px;height:3px;background:var(--accent);opacity:.5}.verdict{font-size:12px}
.v-warning .verdict{color:var(--warn);font-weight:600}.v-block .verdict,.err .verdict{color:var(--block);
font-weight:600}.body{padding:4px 12px 12px;border-top:1px solid var(--line)}.body h3{font-size:12px;
text-transform:uppercase;letter-spacing:.04em;color:var(--mut);margin:10px 0 4px}pre{margin:0;padding:8px;
background:#f0f2f5;border-radius:4px;max-height:420px;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;
font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}.body ul{margin:0;padding-left:20px;
font-family:ui-monospace,monospace;font-size:12px}.skipped{color:var(--err)}footer{color:var(--mut);font-size:12px;
max-width:1200px;margin:0 auto;padding:8px 20px 24px}
"""

SCRIPT = """(function () {
  "use strict";
  var body = document.body;
  window.addEventListener("error", function (e) { body.setAttribute("data-report-state", "error: " + e.message); });
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var rows = Array.prototype.slice.call(document.querySelectorAll("#timeline > li"));
  var tool = document.getElementById("f-tool"), verdict = document.getElementById("f-verdict");
  var flagged = document.getElementById("f-flag"), search = document.getElementById("f-search");
  var shown = document.getElementById("shown"), texts = null;
  function fill(select, counts) {
    Object.keys(counts).forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name + " (" + counts[name] + ")";
      select.appendChild(option);
    });
  }
  function apply() {
    var t = tool.value, v = verdict.value, f = flagged.checked, q = search.value.toLowerCase(), count = 0;
    if (q && texts === null) {
      texts = rows.map(function (row) { return row.querySelector("summary").textContent.toLowerCase(); });
    }
    rows.forEach(function (row, i) {
      var keep = (!t || row.getAttribute("data-tool") === t) && (!v || row.getAttribute("data-verdict") === v) &&
        (!f || row.classList.contains("flag")) && (!q || texts[i].indexOf(q) >= 0);
      row.hidden = !keep;
      if (keep) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " records shown";
  }
  function openAll(open) {
    rows.forEach(function (row) { if (!row.hidden) { row.querySelector("details").open = open; } });
  }
  fill(tool, data.tools);
  fill(verdict, data.verdicts);
  [tool, verdict, flagged].forEach(function (control) { control.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  document.getElementById("expand").addEventListener("click", function () { openAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { openAll(false); });
  apply();
  if (rows.length !== data.records) { throw new Error("rendered " + rows.length + " of " + data.records + " records"); }
  body.setAttribute("data-report-state", "ready");
}());"""

SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'"
    % SCRIPT_HASH
)


def render_html(session: dict) -> str:
    """The report of a session object (``reading.load_session``) as one HTML document."""
    from .guard.deep import latest_scans

    summary = session["summary"]
    timeline = [session["metadata"]] if session["metadata"] else []
    # A scan record (nova-session scan) is shown inside the record it concerns.
    scans = latest_scans(session["events"])
    timeline += [
        dict(record, nova_rescan=scans[record["id"]])
        if isinstance(record.get("id"), int) and record["id"] in scans
        else record
        for record in session["events"]
        if record.get("type") != "scan"
    ]
    if session["end"]:
        timeline.append(session["end"])
    tools: dict = {}
    verdicts: dict = {}
    for record in timeline:
        _count(tools, clean(reading.record_title(record)))
        if reading.is_tool_event(record):
            _count(verdicts, clean(_verdict_text(record)))
    data = {"session_id": session["session_id"], "records": len(timeline), "tools": tools, "verdicts": verdicts}
    parts = [_head(session), _header(session, summary), "<main>", _controls(), '<ol id="timeline">']
    parts.extend(_timeline(timeline, reading.parse_time(summary.get("start")), summary))
    parts.append("</ol></main>")
    parts.append(
        "<footer>Generated by nova-session report from %s. Self-contained: no network access, no external "
        "files.</footer>" % esc(session["path"])
    )
    parts.append('<script type="application/json" id="report-data">%s</script>' % script_json(data))
    parts.append("<script>%s</script></body></html>\n" % SCRIPT)
    return "".join(parts)


def _count(counter: dict, key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _verdict_text(record: dict) -> str:
    verdict = record.get("nova_verdict")
    return verdict if isinstance(verdict, str) else "(none)"


def _head(session: dict) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="%s">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>nova session %s</title><style>%s</style></head>"
        '<body data-report-state="loading">' % (CSP, esc(session["session_id"]), CSS)
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
        '<input type="search" id="f-search" placeholder="search summaries">'
        '<button type="button" id="expand">expand all</button>'
        '<button type="button" id="collapse">collapse all</button>'
        '<span id="shown"></span></div>'
        "<noscript>The filters need JavaScript; every record is listed below.</noscript>"
    )


def _timeline(timeline: list, start: float | None, summary: dict):
    longest = max((_duration(r) for r in timeline), default=0.0) or 1.0
    unfinished = {call["tool_use_id"] for call in summary.get("unfinished_tool_calls", ())}
    turns = reading.Turns()
    for index, record in enumerate(timeline):
        tool_use_id = record.get("tool_use_id")
        open_call = record.get("type") == "tool_start" and isinstance(tool_use_id, str) and tool_use_id in unfinished
        yield _row(index, record, start, longest, turns.of(record), open_call)


def _duration(record: dict) -> float:
    value = record.get("duration_ms")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0.0


def _row(index: int, record: dict, start: float | None, longest: float, turn=None, open_call: bool = False) -> str:
    kind = record.get("type")
    tool_event = reading.is_tool_event(record)
    verdict = _verdict_text(record) if tool_event else ""
    classes = [
        "k-%s" % re.sub(r"[^a-z_]", "", kind) if isinstance(kind, str) else "k-other",
        "v-%s" % reading.verdict_class(record.get("nova_verdict"), record.get("nova_rules_matched"))
        if tool_event
        else "",
    ]
    if record_flag(record):
        classes.append("flag")
    if (tool_event and record.get("is_error") is True) or open_call:
        classes.append("err")
    ident = record.get("id")
    width = 100.0 * _duration(record) / longest
    summary = (
        '<summary><span class="id">%s</span><span class="turn" title="the prompt that caused it">%s</span>'
        '<span class="at" title="%s">%s</span><span class="title">%s</span>'
        '<span class="dur">%s%s</span><span class="verdict">%s</span><span class="sum">%s%s</span></summary>'
        % (
            esc("#%s" % ident) if ident is not None else "",
            "T%d" % turn if turn is not None else "",
            esc(reading.record_time(record) or ""),
            esc(offset_label(start, reading.record_time(record))),
            esc(reading.record_title(record)),
            esc(format_ms(record.get("duration_ms"))),
            '<i style="width:%.1f%%"></i>' % width if width else "",
            esc(verdict),
            "UNFINISHED: " if open_call else "",
            esc(reading.agent_label(record) + reading.record_summary(record)),
        )
    )
    return '<li class="%s" data-tool="%s" data-verdict="%s"><details>%s<div class="body">%s</div></details></li>' % (
        " ".join(c for c in classes if c),
        esc(reading.record_title(record)),
        esc(verdict),
        summary,
        _details(record) if tool_event else _section("Record", record),
    )


def _details(record: dict) -> str:
    parts = [_section("Input", record.get("tool_input"))]
    if record.get("is_error") is True:
        parts.append(_section("Error", record.get("error")))
    parts.append(_section("Output", record.get("tool_output")))
    files = record.get("files_accessed")
    if isinstance(files, list) and files:
        parts.append("<h3>Files</h3><ul>%s</ul>" % "".join("<li>%s</li>" % esc(f) for f in files))
    verdict = {
        key: record.get(key)
        for key in ("nova_verdict", "nova_severity", "nova_rules_matched", "nova_scan_time_ms")
        if key in record
    }
    parts.append(_section("Verdict", verdict))
    if isinstance(record.get("nova_rescan"), dict):
        parts.append(_section("Rescan (nova-session scan, every tier)", record["nova_rescan"]))
    times = {key: record.get(key) for key in ("timestamp_start", "timestamp_end", "duration_ms") if key in record}
    parts.append(_section("Timing", times))
    other = {key: value for key, value in record.items() if key not in _SHOWN_FIELDS}
    if other:
        parts.append(_section("Other fields", other))
    return "".join(parts)


def _section(title: str, value) -> str:
    return "<h3>%s</h3><pre>%s</pre>" % (title, esc(pretty(value)))


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
    """Render the session's HTML report to output (default: reports/{id}.html); return the path."""
    session = reading.load_session(root, sid)
    path = output or os.path.join(reports_dir(root), sid + ".html")
    write_atomic(path, render_html(session).encode("utf-8", "replace"))
    return path


# ----------------------------------------------------------------- Markdown


def md_cell(value) -> str:
    """A value for one Markdown table cell: one line, pipes and markup escaped."""
    text = clean(value if isinstance(value, str) else str(value))
    text = " ".join(text.split())
    return (
        html.escape(text, quote=False)
        .replace("|", "\\|")
        .replace("`", "\\`")
        .replace("*", "\\*")
        .replace("_", "\\_")
        .replace("[", "\\[")
        .replace("]", "\\]")
    )


def md_block(value) -> str:
    """A value as a fenced code block whose fence no backtick run inside can close."""
    text = clean(pretty(value, limit=0))  # export keeps every character
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return "%s\n%s\n%s" % (fence, text, fence)


def render_markdown(session: dict) -> str:
    """The session as Markdown: facts, health, a timeline table and each record's details."""
    summary = session["summary"]
    lines = ["# nova session %s" % md_cell(session["session_id"]), ""]
    for name, key in (
        ("State", "state"),
        ("Start", "start"),
        ("End", "end"),
        ("Project", "project_dir"),
        ("Platform", "platform"),
        ("Claude session", "claude_session_id"),
        ("End reason", "end_reason"),
    ):
        lines.append("- **%s**: %s" % (name, md_cell(summary.get(key) if summary.get(key) is not None else "-")))
    lines.append("- **Duration**: %s" % format_duration(summary.get("duration_s")))
    counts = zip(
        ("events", "tool_calls", "warnings", "blocks", "errors", "bad_lines"),
        ("event", "tool call", "warning", "block", "error", "unreadable line"),
    )
    lines.append(
        "- **Health**: %s" % ", ".join("%d %s" % (summary[key], plural(summary[key], noun)) for key, noun in counts)
    )
    lines += [
        "",
        "## Timeline",
        "",
        "| id | time | record | duration | verdict | summary |",
        "| --: | --- | --- | --: | --- | --- |",
    ]
    for record in session["events"]:
        lines.append(
            "| %s | %s | %s | %s | %s | %s |"
            % (
                md_cell(record.get("id", "")),
                md_cell(reading.record_time(record) or ""),
                md_cell(reading.record_title(record)),
                md_cell(format_ms(record.get("duration_ms"))),
                md_cell(_verdict_text(record) if reading.is_tool_event(record) else ""),
                md_cell(reading.record_summary(record)),
            )
        )
    lines += ["", "## Records", ""]
    for record in session["events"]:
        lines.append("### #%s %s" % (md_cell(record.get("id", "")), md_cell(reading.record_title(record))))
        lines.append("")
        lines.append(md_block(record))
        lines.append("")
    if session["end"]:
        lines += ["## End", "", md_block(session["end"]), ""]
    return "\n".join(lines)
