"""The report's tabs: a summary page first (the session's facts and health, the hash
chain's verification in plain words, the calls that never finished and the records
that need attention, as links), then the timeline, and the reviewer's views of
``read.views``: files, commands, network, subagents and prompts.

The summary is server-rendered (it reads without JavaScript); the five views are data
the script draws only when their tab is opened: one JSON object of arrays (ids as
integers, no repeated keys), deflated and base64-encoded like the records, every string
from the session cleaned (control characters and lone surrogates written out) and cut.
The script links a record only by its integer id (``#r-<id>``), never through a URL
from the session.
"""

from __future__ import annotations

import base64
import json
import re
import zlib

from ..read import views as read_views
from .text import clean, esc, plural, pretty

LISTED = 50  # records listed per list of the summary page
IDS = 50  # ids embedded per file, place and subagent (the rest counted)
COMMAND_CHARS = 300  # of a command, in the Commands tab (its record has it whole)
TARGET_CHARS = 500  # of a URL, host, search or MCP server name
PROMPT_CHARS = 20_000  # of a prompt, in the Prompts tab
OUTCOMES = ("ok", "failed", "denied", "unfinished")
TABS = (
    ("summary", "Summary"),
    ("timeline", "Timeline"),
    ("files", "Files"),
    ("commands", "Commands"),
    ("network", "Network"),
    ("subagents", "Subagents"),
    ("prompts", "Prompts"),
)
_RECORD = re.compile(r"r-\d+")
_CHAIN = {
    "intact": "intact: every link checked, the file is as it was written",
    "tampered": "CHANGED after it was written",
    "needs_key": "cannot be checked without the key (its links are keyed)",
    "unkeyed": "not keyed, although a key was given (plain links only)",
    "none": "no chain: the records carry no links",
}


def _ids(values: list) -> list:
    """Integer record ids, at most IDS of them; a negative last number counts those left out."""
    ids = values if all(type(value) is int for value in values) else [v for v in values if type(v) is int]
    return ids if len(ids) <= IDS else ids[:IDS] + [IDS - len(ids)]


def _id(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cut(text, limit: int) -> str:
    text = text if isinstance(text, str) else ""
    return clean(text if len(text) <= limit else text[:limit] + "…")


def view_data(session: dict) -> dict:
    """The five views as compact arrays (see report.js's views for their columns)."""
    found = read_views.views(session["events"], (session["metadata"] or {}).get("project_dir"))
    summary = session["summary"]
    agents = {entry["agent_id"]: index for index, entry in enumerate(found["subagents"], 1)}
    own = sum(len(entry["ids"]) for entry in found["subagents"])
    launched = [entry["started_by"] for entry in found["subagents"] if _id(entry["started_by"]) is not None]
    return {
        "outcomes": OUTCOMES,
        # [path, reads, writes, other uses, flags (1 outside the project, 2 sensitive, 4 never finished), ids]
        "files": [
            [
                clean(f["path"]),
                f["read"],
                f["written"],
                f["other"],
                (1 if f["outside"] else 0) | (2 if f["sensitive"] else 0) | (4 if f.get("unfinished") else 0),
                _ids(f["ids"]),
            ]
            for f in found["files"]
        ],
        # [id, command, outcome (index in outcomes), duration in ms or null, agent (0 main, else subagents[n-1])]
        "commands": [
            [
                _id(c["id"]),
                _cut(c["command"], COMMAND_CHARS),
                OUTCOMES.index(c["outcome"]),
                round(c["duration_ms"])
                if isinstance(c["duration_ms"], (int, float)) and c["duration_ms"] >= 0
                else None,
                agents.get(c["agent_id"], 0),
            ]
            for c in found["commands"]
        ],
        # [kind (url, host, search, mcp), target, ids]
        "network": [[n["kind"], _cut(n["target"], TARGET_CHARS), _ids(n["ids"])] for n in found["network"]],
        # the main agent: [calls of its own, ids of the calls that started subagents]
        "main": [summary.get("tool_calls", 0) + summary.get("unfinished_count", 0) - own, _ids(launched)],
        # [agent id, type, ids of its calls, id of the call that started it or null]
        "subagents": [
            [
                _cut(a["agent_id"], TARGET_CHARS),
                _cut(a["agent_type"], TARGET_CHARS),
                _ids(a["ids"]),
                _id(a["started_by"]),
            ]
            for a in found["subagents"]
        ],
        # [id, prompt]
        "prompts": [[_id(p["id"]), clean(pretty(p["prompt"], PROMPT_CHARS))] for p in found["prompts"]],
    }


def pack(data: dict) -> str:
    """The views' JSON, ASCII, deflated and base64-encoded (no markup can hide in it)."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode("ascii"), 6)).decode("ascii")


class Page:
    """The tabbed page around the report's header and timeline.

    ``start(header)`` opens it (tab list, summary panel, timeline panel), ``end()``
    closes the timeline and adds the other panels, ``data()`` is the views' data."""

    def __init__(self, session: dict, rows: list, verification=None, data: dict | None = None, packed: str = ""):
        self.session = session
        self.rows = rows
        self.verification = verification
        self.data_ = view_data(session) if data is None else data
        self.packed = packed or pack(self.data_)

    def start(self, header: str) -> str:
        counts = {name: len(self.data_[name]) for name in ("files", "commands", "network", "subagents", "prompts")}
        tabs = "".join(
            '<a role="tab" id="t-%s" href="#tab-%s" aria-controls="tab-%s" aria-selected="%s" tabindex="%d">%s%s</a>'
            % (
                name,
                name,
                name,
                "true" if name == "summary" else "false",
                0 if name == "summary" else -1,
                label,
                ' <span class="n">%d</span>' % counts[name] if name in counts else "",
            )
            for name, label in TABS
        )
        return (
            "<noscript><style>[role=tabpanel][hidden]{display:block}</style></noscript>"
            '<nav class="tabs" role="tablist" aria-label="report views">%s</nav>'
            '<section role="tabpanel" id="tab-summary" aria-labelledby="t-summary" tabindex="0">%s%s</section>'
            '<section role="tabpanel" id="tab-timeline" aria-labelledby="t-timeline" tabindex="0" hidden>'
            % (tabs, header, self.summary())
        )

    def end(self) -> str:
        panels = "".join(
            '<section role="tabpanel" id="tab-%s" aria-labelledby="t-%s" tabindex="0" hidden><noscript>%s: drawn by '
            "the report's script (nova-session show lists them in a terminal).</noscript></section>"
            % (name, name, label)
            for name, label in TABS[2:]
        )
        return "</section>" + panels

    def data(self) -> str:
        return '<script type="application/octet-stream" id="report-views">%s</script>' % self.packed

    # ------------------------------------------------------------ summary

    def summary(self) -> str:
        data = self.data_
        failed = sum(1 for command in data["commands"] if command[2] in (1, 2))
        flagged = sum(1 for entry in data["files"] if entry[4] & 3)
        counts = [
            (len(data["files"]), "file", "%d outside the project or sensitive" % flagged if flagged else ""),
            (len(data["commands"]), "command", "%d failed or denied" % failed if failed else ""),
            (len(data["network"]), "place", "URLs, searches, hosts, MCP servers"),
            (len(data["subagents"]), "subagent", ""),
            (len(data["prompts"]), "prompt", ""),
        ]
        items = "".join(
            "<li><b>%d</b> %s%s</li>" % (count, plural(count, noun), " (%s)" % note if note else "")
            for count, noun, note in counts
        )
        unfinished = [row for row in self.rows if "k-tool_start" in row[0] and " err" in row[0]]
        attention = [row for row in self.rows if " flag" in row[0]]
        return '<div class="summary">%s<h2>Views</h2><ul class="counts">%s</ul>%s%s</div>' % (
            self.chain(),
            items,
            self.listing("Unfinished calls", "started and never finished: denied, killed or blocked", unfinished),
            self.listing("Needs attention", "failed calls and verdicts to look at", attention),
        )

    def chain(self) -> str:
        result = self.verification
        sid = esc(self.session["session_id"])
        if result is None:
            return '<p class="chain">Hash chain: not checked here (run <code>nova-session verify %s</code>).</p>' % sid
        status = result["chain"]["status"] if isinstance(result.get("chain"), dict) else "none"
        words = _CHAIN.get(status, esc(status))
        if status == "tampered":
            words += ": %d %s" % (result["problem_count"], plural(result["problem_count"], "problem"))
        cls = "bad" if result.get("tampered") else "ok" if status == "intact" else "warn"
        verdict = (
            "no problem"
            if result["ok"]
            else "%d %s" % (result["problem_count"], plural(result["problem_count"], "problem"))
        )
        problems = "".join(
            "<li>%s: %s: %s</li>"
            % ("line %d" % p["line"] if isinstance(p.get("line"), int) else "file", esc(p["kind"]), esc(p["message"]))
            for p in result.get("problems", [])[:10]
        )
        more = result["problem_count"] - min(10, len(result.get("problems", [])))
        if more > 0:
            problems += "<li>… and %d more (<code>nova-session verify %s</code>)</li>" % (more, sid)
        notes = "".join("<li>%s</li>" % esc(note) for note in result.get("notes", [])[:10])
        return '<h2>Verification</h2><p class="chain %s">Hash chain: <b>%s</b>. Integrity check: %s.</p>%s' % (
            cls,
            words,
            verdict,
            '<ul class="problems">%s</ul>' % (problems + notes) if problems or notes else "",
        )

    def listing(self, title: str, what: str, rows: list) -> str:
        if not rows:
            return "<h2>%s</h2><p>None.</p>" % title
        items = []
        for row in rows[:LISTED]:
            label = "%s %s" % (esc(row[2]), esc(row[5]))
            link = '<a href="#%s">%s</a>' % (row[1], label) if _RECORD.fullmatch(row[1]) else label
            items.append(
                '<li>%s <span class="verdict">%s</span> <span class="sum">%s</span></li>'
                % (link, esc(row[8]), esc(row[9] if len(row[9]) <= 160 else row[9][:160] + "…"))
            )
        more = len(rows) - LISTED
        tail = (
            '<li><a href="#attention">and %d more: the timeline, needs attention only</a></li>' % more
            if more > 0
            else ""
        )
        return '<h2>%s <small>%d, %s</small></h2><ul class="records">%s%s</ul>' % (
            title,
            len(rows),
            what,
            "".join(items),
            tail,
        )
