"""Rendering a session for people: a self-contained HTML report, and Markdown.

The HTML report is one file with inline CSS and one inline script, and a
Content-Security-Policy that allows nothing else (no network, no external
asset, and only the report's own script, by hash). The session's records are
embedded as data, not as markup: one JSON array of per-row summaries, and the
records themselves as one line of ASCII JSON each. The script draws only the
rows in view (a virtual list, so 100,000 records cost what 50 do), parses a
record only when it is opened, and searches the records' text in place.

Every string that comes from a session is untrusted (tool output is
attacker-controlled): in the server-rendered header it is escaped, with
control characters and lone surrogates made visible; the JSON embedded in a
``<script>`` is ASCII with ``<``, ``>`` and ``&`` escaped, so that
``</script>``, ``<!--`` and U+2028/U+2029 cannot end or confuse it; the script
puts session text in the page only through ``textContent``, with the same
characters written out.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import html
import json
import os
import re
import time
import zlib

from . import paths, reading

MAX_FIELD_CHARS = 200_000  # longer values are cut in the report (export keeps them whole)

# C0/C1 controls (but tab, newline, carriage return), line/paragraph separators, lone
# surrogates and non-characters.
# Bidirectional overrides and isolates reorder what a reader sees ("Trojan Source").
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff%s]" % _BIDI)
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


def esc(value) -> str:
    """Any value as HTML text or attribute content: cleaned, then escaped (quotes too)."""
    return html.escape(clean(value if isinstance(value, str) else str(value)), quote=True)


def script_json(value) -> str:
    """JSON safe inside ``<script type="application/json">``: ASCII only (so U+2028,
    U+2029 and surrogates are escapes), and no ``<``, ``>`` or ``&`` at all (so no
    ``</script>`` or ``<!--``)."""
    return _script_safe(json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=str))


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

ROW_HEIGHT = 30  # px; every row of the virtual list has this height (the script relies on it)

CSS = """
.pictures{margin:0 16px;overflow-x:auto}.pictures svg{display:block;margin:8px 0}.charts{display:flex;gap:24px;flex-wrap:wrap}
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
padding:3px 6px}#f-search{min-width:260px}#shown{color:var(--mut);margin-left:auto}
#timeline{position:relative;height:55vh;min-height:240px;overflow-y:auto;margin:8px 0;background:var(--card);
border:1px solid var(--line);border-radius:4px}#spacer{position:relative}.row{position:absolute;left:0;right:0;
height:%(h)dpx;cursor:pointer;display:grid;grid-template-columns:60px 36px 110px 190px 120px 90px 1fr;gap:8px;
padding:4px 8px;align-items:baseline;border-bottom:1px solid var(--line);border-left:4px solid var(--line)}
.row:hover{background:#eef2fb}.row.sel{background:#e3e9fa}.row.flag{border-left-color:var(--warn)}
.row.v-block,.row.err{border-left-color:var(--block)}.row.k-user_prompt{border-left-color:var(--accent)}
.row>span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.id,.at,.turn{color:var(--mut);
font-variant-numeric:tabular-nums}.title{font-weight:600}.dur{position:relative;font-variant-numeric:tabular-nums}
.dur i{position:absolute;left:0;bottom:-2px;height:3px;background:var(--accent);opacity:.5}.verdict{font-size:12px}
.v-warning .verdict{color:var(--warn);font-weight:600}.v-block .verdict,.err .verdict{color:var(--block);
font-weight:600}#detail{background:var(--card);border:1px solid var(--line);border-radius:4px;padding:4px 12px 12px}
#detail h2{font-size:15px;margin:8px 0}#detail h3{font-size:12px;text-transform:uppercase;letter-spacing:.04em;
color:var(--mut);margin:10px 0 4px}pre{margin:0;padding:8px;background:#f0f2f5;border-radius:4px;max-height:420px;
overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
#detail ul{margin:0;padding-left:20px;font-family:ui-monospace,monospace;font-size:12px}.skipped{color:var(--err)}
footer{color:var(--mut);font-size:12px;max-width:1200px;margin:0 auto;padding:8px 20px 24px}
""" % {"h": ROW_HEIGHT}

SCRIPT = r"""(function () {
  "use strict";
  var body = document.body, H = %(h)d;
  window.addEventListener("error", function (e) { body.setAttribute("data-report-state", "error: " + e.message); });
  var embedded = document.getElementById("report-data"), data = JSON.parse(embedded.textContent);
  embedded.textContent = "";  // parsed: the text is not needed twice in memory
  var rows = data.rows, count = rows.length, source = null, starts = null, lowered = null, rowText = null;
  var tool = document.getElementById("f-tool"), verdict = document.getElementById("f-verdict");
  var flagged = document.getElementById("f-flag"), search = document.getElementById("f-search");
  var shown = document.getElementById("shown"), list = document.getElementById("timeline");
  var spacer = document.getElementById("spacer"), panel = document.getElementById("detail");
  var visible = [], selected = -1, anchors = {}, drawn = "", frame = 0;
  // Control characters, lone surrogates, bidi overrides and line separators written out, as the server does.
  var UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
  var ANSI = /\u001b\[[0-?]*[ -\/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -\/]*[@-~]/g;
  var SHOWN = ["type", "id", "timestamp", "timestamp_start", "timestamp_end", "duration_ms", "tool_name", "tool_input",
    "tool_output", "files_accessed", "nova_verdict", "nova_severity", "nova_rules_matched", "nova_scan_time_ms",
    "nova_rescan"];
  // row: [classes, anchor, id, turn, time, title, duration, bar %%, verdict, summary]
  rows.forEach(function (row, i) { anchors[row[1]] = i; });
  function visibleText(text) {
    return text.replace(UNSAFE, function (found) {
      var code = found.charCodeAt(0);
      return (code < 256 ? "\\x" + ("0" + code.toString(16)).slice(-2) : "\\u" + ("000" + code.toString(16)).slice(-4));
    });
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function pad(number, width) { return ("000" + number).slice(-width); }
  function offset(time) {
    var when = time ? Date.parse(time) : NaN;
    if (isNaN(when)) { return ""; }
    if (data.start === null) {
      var d = new Date(when);
      return pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "." +
        pad(d.getUTCMilliseconds(), 3);
    }
    var delta = Math.max(0, when - data.start), minutes = Math.floor(delta / 60000);
    return "+" + pad(minutes, 2) + ":" + ("00" + ((delta - minutes * 60000) / 1000).toFixed(3)).slice(-6);
  }
  function inflate(done) {  // the records' JSON, one line each; starts[i] is where record i begins
    var node = document.getElementById("report-records"), packed = atob(node.textContent);
    var bytes = new Uint8Array(packed.length);
    node.textContent = "";
    for (var k = 0; k < packed.length; k += 1) { bytes[k] = packed.charCodeAt(k); }
    packed = null;
    new Response(new Response(bytes).body.pipeThrough(new DecompressionStream("deflate"))).text().then(function (text) {
      source = text;
      starts = new Float64Array(count + 1);
      for (var i = 1, at = 0; i < count; i += 1) { at = source.indexOf("\n", at) + 1; starts[i] = at; }
      starts[count] = source.length + 1;
      done();
    }).catch(function (e) { body.setAttribute("data-report-state", "error: " + e); });
  }
  function records() { return source; }
  function record(i) { return JSON.parse(records().slice(starts[i], starts[i + 1] - 1)); }
  function owner(position) {  // the record whose line holds that position
    var low = 0, high = count - 1;
    while (low < high) {
      var middle = (low + high + 1) >> 1;
      if (starts[middle] <= position) { low = middle; } else { high = middle - 1; }
    }
    return low;
  }
  function asJson(q) {  // the query as it is written inside the records' ASCII JSON
    return JSON.stringify(q).slice(1, -1).replace(/[^\u0020-\u007e]|[<>&]/g, function (c) {
      return "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
    });
  }
  function matches(q) {  // full text: the summary line and every field of the record
    var result = new Uint8Array(count), needle = asJson(q), at = 0;
    if (lowered === null) {
      lowered = records().toLowerCase();
      rowText = rows.map(function (row) { return [row[2], row[5], row[8], row[9]].join(" ").toLowerCase(); });
    }
    while ((at = lowered.indexOf(needle, at)) >= 0) {
      var i = owner(at);
      result[i] = 1;
      at = starts[i + 1];
    }
    for (var k = 0; k < count; k += 1) { if (!result[k] && rowText[k].indexOf(q) >= 0) { result[k] = 1; } }
    return result;
  }
  function fill(select, counts) {
    Object.keys(counts).forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name + " (" + counts[name] + ")";
      select.appendChild(option);
    });
  }
  function apply() {
    var t = tool.value, v = verdict.value, f = flagged.checked, q = search.value.toLowerCase();
    var found = q && source !== null ? matches(q) : null;
    visible = [];
    for (var i = 0; i < count; i += 1) {
      var row = rows[i];
      if ((!t || row[5] === t) && (!v || row[8] === v) && (!f || / flag( |$)/.test(row[0])) &&
          (!found || found[i])) { visible.push(i); }
    }
    shown.textContent = visible.length + " of " + count + " records shown";
    spacer.style.height = visible.length * H + "px";
    drawn = "";
    draw();
  }
  function draw() {
    frame = 0;
    var first = Math.max(0, Math.floor(list.scrollTop / H) - 20);
    var last = Math.min(visible.length, Math.ceil((list.scrollTop + (list.clientHeight || 600)) / H) + 20);
    var key = first + ":" + last + ":" + selected + ":" + visible.length;
    if (key === drawn) { return; }
    drawn = key;
    var fragment = document.createDocumentFragment();
    for (var k = first; k < last; k += 1) { fragment.appendChild(rowNode(visible[k], k)); }
    spacer.replaceChildren(fragment);
  }
  function rowNode(i, position) {
    var row = rows[i], node = el("div", "row " + row[0] + (i === selected ? " sel" : ""));
    node.style.top = position * H + "px";
    node.setAttribute("data-index", String(i));
    node.appendChild(el("span", "id", row[2]));
    node.appendChild(el("span", "turn", row[3])).title = "the prompt that caused it";
    node.appendChild(el("span", "at", offset(row[4]))).title = row[4];
    node.appendChild(el("span", "title", row[5]));
    var duration = node.appendChild(el("span", "dur", row[6]));
    if (row[7]) { duration.appendChild(el("i")).style.width = row[7] + "%%"; }
    node.appendChild(el("span", "verdict", row[8]));
    node.appendChild(el("span", "sum", row[9]));
    return node;
  }
  function text(value, terminal) {
    var shown = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    if (shown === undefined) { shown = String(value); }
    if (terminal) { shown = shown.replace(ANSI, "").replace(/\r\n/g, "\n"); }
    return visibleText(shown.length > %(limit)d ? shown.slice(0, %(limit)d) + "\n\u2026 cut (nova-session export has it all)" : shown);
  }
  function sections(r) {  // [title, value, terminal?] as the report shows a record
    if (r.type !== "event") { return [["Record", r]]; }
    var parts = [["Input", r.tool_input]], output = r.tool_output, pick = function (keys) {
      var chosen = {};
      keys.forEach(function (key) { if (Object.prototype.hasOwnProperty.call(r, key)) { chosen[key] = r[key]; } });
      return chosen;
    };
    if (r.is_error === true) { parts.push(["Error", r.error]); }
    if ((r.tool_name === "Bash" || r.tool_name === "BashOutput") && output && typeof output === "object" &&
        !Array.isArray(output) && (typeof output.stdout === "string" || typeof output.stderr === "string")) {
      var rest = {};
      Object.keys(output).forEach(function (key) {
        if ((key !== "stdout" && key !== "stderr") || typeof output[key] !== "string") { rest[key] = output[key]; }
      });
      if (typeof output.stdout === "string") { parts.push(["Output (stdout)", output.stdout, true]); }
      if (output.stderr) { parts.push(["stderr", output.stderr, true]); }
      if (Object.keys(rest).length) { parts.push(["Output fields", rest]); }
    } else {
      parts.push(["Output", output, r.tool_name === "Bash" || r.tool_name === "BashOutput"]);
    }
    if (Array.isArray(r.files_accessed) && r.files_accessed.length) { parts.push(["Files", r.files_accessed]); }
    parts.push(["Verdict", pick(["nova_verdict", "nova_severity", "nova_rules_matched", "nova_scan_time_ms"])]);
    if (r.nova_rescan && typeof r.nova_rescan === "object") {
      parts.push(["Rescan (nova-session scan, every tier)", r.nova_rescan]);
    }
    parts.push(["Timing", pick(["timestamp_start", "timestamp_end", "duration_ms"])]);
    var other = {};
    Object.keys(r).forEach(function (key) { if (SHOWN.indexOf(key) < 0) { other[key] = r[key]; } });
    if (Object.keys(other).length) { parts.push(["Other fields", other]); }
    return parts;
  }
  function open(i, scroll) {
    var row = rows[i], nodes = [el("h2", "", [row[2], row[5], row[4]].join(" "))];
    selected = i;
    var link = el("a", "", "#" + row[1]), copy = el("button", "", "copy link"), p = el("p", "", "Link to this record: ");
    link.href = "#" + row[1];
    copy.type = "button";
    copy.addEventListener("click", function () {
      var url = location.href.split("#")[0] + "#" + row[1];
      if (navigator.clipboard) { navigator.clipboard.writeText(url); }
    });
    p.appendChild(link);
    p.appendChild(document.createTextNode(" "));
    p.appendChild(copy);
    nodes.push(p);
    sections(record(i)).forEach(function (part) {
      nodes.push(el("h3", "", part[0]));
      if (part[0] === "Files") {
        var items = el("ul");
        part[1].forEach(function (name) { items.appendChild(el("li", "", text(name))); });
        nodes.push(items);
      } else {
        nodes.push(el("pre", part[2] ? "terminal" : "", text(part[1], part[2])));
      }
    });
    panel.replaceChildren.apply(panel, nodes);
    panel.hidden = false;
    panel.setAttribute("data-record", row[1]);
    if (scroll) {
      var position = visible.indexOf(i);
      if (position < 0) {
        tool.value = verdict.value = search.value = "";
        flagged.checked = false;
        apply();
        position = visible.indexOf(i);
      }
      list.scrollTop = Math.max(0, position * H - list.clientHeight / 3);
    }
    drawn = "";
    draw();
  }
  function fromHash() {
    var hash = location.hash.slice(1);
    try { hash = decodeURIComponent(hash); } catch (e) { return; }
    if (hash.indexOf("search=") === 0) { search.value = hash.slice(7); apply(); }
    else if (Object.prototype.hasOwnProperty.call(anchors, hash)) { open(anchors[hash], true); }
  }
  fill(tool, data.tools);
  fill(verdict, data.verdicts);
  [tool, verdict, flagged].forEach(function (control) { control.addEventListener("change", apply); });
  var typing = 0;
  search.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(apply, 150); });
  list.addEventListener("scroll", function () { if (!frame) { frame = requestAnimationFrame(draw); } });
  window.addEventListener("resize", function () { drawn = ""; draw(); });
  spacer.addEventListener("click", function (event) {
    var node = event.target.closest(".row");
    if (node) {
      var i = Number(node.getAttribute("data-index"));
      history.replaceState(null, "", "#" + rows[i][1]);
      open(i, false);
    }
  });
  if (count !== data.records) { throw new Error("embedded " + count + " of " + data.records + " records"); }
  search.disabled = true;
  apply();  // the list is drawn at once; search and details wait for the records
  body.setAttribute("data-report-state", "rows");
  body.setAttribute("data-rows-ms", String(Math.round(performance.now())));
  inflate(function () {
    search.disabled = false;
    window.addEventListener("hashchange", fromHash);
    fromHash();
    body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
    body.setAttribute("data-report-state", "ready");
  });
}());""" % {"h": ROW_HEIGHT, "limit": MAX_FIELD_CHARS}

SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'"
    % SCRIPT_HASH
)


def _fragment(record: dict) -> str:
    """A record as one line of ASCII JSON (no line break can occur in it), its strings
    longer than MAX_FIELD_CHARS cut."""
    try:
        text = json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError):
        return json.dumps({"unencodable record": repr(record)[:MAX_FIELD_CHARS]}, ensure_ascii=True)
    if len(text) > MAX_FIELD_CHARS:
        text = json.dumps(_cut(record), ensure_ascii=True, separators=(",", ":"), default=str)
    return text


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
    start = reading.parse_time(summary.get("start"))
    data = {
        "session_id": session["session_id"],
        "records": len(timeline),
        "start": None if start is None else round(start * 1000),
        "tools": tools,
        "verdicts": verdicts,
        "rows": _timeline(timeline, summary),
    }
    # One line of ASCII JSON per record, in timeline order (the script parses only the record it
    # shows), deflated and base64-encoded: a tenth of the size to write and for the browser to parse.
    lines = "\n".join(_fragment(record) for record in timeline).encode("ascii")
    packed = base64.b64encode(zlib.compress(lines, 1)).decode("ascii")
    parts = [_head(session), _header(session, summary), _picture(session["events"]), "<main>", _controls()]
    parts.append(
        '<div id="timeline" tabindex="0"><div id="spacer"></div></div>'
        '<section id="detail" hidden aria-live="polite"></section></main>'
    )
    parts.append(
        "<footer>Generated by nova-session report from %s. Self-contained: no network access, no external "
        "files.</footer>" % esc(session["path"])
    )
    parts.append('<script type="application/json" id="report-data">%s</script>' % script_json(data))
    parts.append('<script type="application/octet-stream" id="report-records">%s</script>' % packed)
    parts.append("<script>%s</script></body></html>\n" % SCRIPT)
    return "".join(parts)


def _script_safe(text: str) -> str:
    """ASCII JSON text made safe inside ``<script>``, as script_json does."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


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


def _picture(events: list) -> str:
    """The calls on a time axis (each linked to its record) and the small charts, inline SVG."""
    from . import picture

    drawn = picture.svg_timeline(events, esc)
    charts = picture.charts(events, esc)
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
    longest = max((_duration(r) for r in timeline), default=0.0) or 1.0
    unfinished = {call["tool_use_id"] for call in summary.get("unfinished_tool_calls", ())}
    turns = reading.Turns()
    rows = []
    for index, record in enumerate(timeline):
        tool_use_id = record.get("tool_use_id")
        open_call = record.get("type") == "tool_start" and isinstance(tool_use_id, str) and tool_use_id in unfinished
        rows.append(_row(index, record, longest, turns.of(record), open_call))
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


def _row(index: int, record: dict, longest: float, turn=None, open_call: bool = False) -> list:
    """One row of the virtual list: [classes, anchor, id, turn, time, title, duration,
    bar width %, verdict, summary]; every string from the session cleaned."""
    kind = record.get("type")
    tool_event = kind == "event"
    verdict = _verdict_text(record) if tool_event else ""
    classes = "k-%s" % re.sub(r"[^a-z_]", "", kind) if isinstance(kind, str) else "k-other"
    if tool_event:
        classes += " v-%s" % reading.verdict_class(record.get("nova_verdict"), record.get("nova_rules_matched"))
    if record_flag(record):
        classes += " flag"
    if (tool_event and record.get("is_error") is True) or open_call:
        classes += " err"
    ident = record.get("id")
    duration = _duration(record)
    return [
        classes,
        anchor(index, record),
        clean("#%s" % ident) if ident is not None else "",
        "T%d" % turn if turn is not None else "",
        clean(reading.record_time(record) or ""),
        clean(reading.record_title(record)),
        format_ms(record.get("duration_ms")),
        round(100.0 * duration / longest, 1) if duration else 0,
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
    """Render the session's HTML report to output (default: reports/{id}.html); return the path."""
    # Loading a session makes a few objects per record and frees none of them: the cyclic
    # collector would walk them all again and again (a quarter of the time at 100,000 records).
    collecting = gc.isenabled()
    gc.disable()
    try:
        session = reading.load_session(root, sid)
        path = output or os.path.join(reports_dir(root), sid + ".html")
        write_atomic(path, render_html(session).encode("utf-8", "replace"))
    finally:
        if collecting:
            gc.enable()
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
