"""The session as a picture for the HTML report: an inline SVG (no external asset, no
script, nothing but shapes, text and links) of the tool calls on one time axis, a lane
for the main agent and one per subagent, overlapping calls side by side, prompts as
markers, each call coloured by how it went and linked to its record (``#r-<id>``); and
small bar charts (calls per tool, durations, verdicts over time).

The layout is ``read.timeline``'s, at one column per two pixels; consecutive columns of
one row that show the same kind of call are one shape, so the picture stays small at
100,000 events. Every text goes through the caller's ``esc`` (the report's escaping)."""

from __future__ import annotations

from .. import reading
from ..read.timeline import layout, placed

COLUMNS = 480
PIXELS = 2  # per column
LABEL = 130  # pixels for a lane's label
ROW = 12  # pixels per row
MAX_LANES = 24
COLOURS = {"=": "#3b7dd8", "x": "#d64545", "!": "#e0a100", "?": "#8c8c8c"}
BUCKETS = {"< 100 ms": 100, "0.1-1 s": 1000, "1-10 s": 10000, "10-60 s": 60000, "> 60 s": float("inf")}
MEANING = {"=": "finished", "x": "failed or denied", "!": "verdict to look at", "?": "never finished"}


def _link(record: dict) -> str:
    ident = record.get("id")
    return "#r-%d" % ident if isinstance(ident, int) and not isinstance(ident, bool) else ""


def _title(record: dict, mark: str, esc) -> str:
    return esc(
        "#%s %s: %s (%s)"
        % (record.get("id"), reading.record_title(record), reading.record_summary(record, 120), MEANING[mark])
    )


def svg_timeline(events: list, esc, found=None) -> str:
    """The SVG of the calls on a time axis ("" when no record has a time); ``found`` is
    ``read.timeline.placed(events)`` when the caller has it already."""
    laid = layout(events, COLUMNS, found)
    if laid is None:
        return ""
    first, last, scale, prompts, lanes = laid
    shown = list(lanes.items())[:MAX_LANES]
    height = 22 + ROW * sum(len(lane["rows"]) + 1 for _, lane in shown) + 18
    width = LABEL + COLUMNS * PIXELS + 10
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="picture" role="img" width="%d" height="%d" '
        'viewBox="0 0 %d %d"><title>%s</title>' % (width, height, width, height, esc("tool calls over time"))
    ]
    for at, record in prompts:
        parts.append(
            '<a href="%s"><path d="M%d 4 l4 8 l-8 0 z" fill="#6b4fbb"><title>%s</title></path></a>'
            % (
                _link(record),
                LABEL + at * PIXELS,
                esc("prompt #%s: %s" % (record.get("id"), reading.record_summary(record, 120))),
            )
        )
    y = 18
    for key, lane in shown:
        parts.append('<text x="0" y="%d" font-size="10" fill="#333">%s</text>' % (y + 9, esc(key[:22])))
        for row in lane["rows"]:
            for left, right, mark, record, count in _runs(row):
                title = _title(record, mark, esc) if count == 1 else esc("%d calls (%s)" % (count, MEANING[mark]))
                parts.append(
                    '<a href="%s"><rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s</title></rect></a>'
                    % (
                        _link(record),
                        LABEL + left * PIXELS,
                        y,
                        (right - left + 1) * PIXELS,
                        ROW - 3,
                        COLOURS[mark],
                        title,
                    )
                )
            y += ROW
        if lane["hidden"]:
            parts.append(
                '<text x="%d" y="%d" font-size="9" fill="#666">%s</text>'
                % (LABEL, y + 8, esc("%d more overlapping calls not drawn" % lane["hidden"]))
            )
        y += ROW
    if len(lanes) > MAX_LANES:
        parts.append(
            '<text x="0" y="%d" font-size="9" fill="#666">%s</text>'
            % (y + 8, esc("%d more lanes" % (len(lanes) - MAX_LANES)))
        )
    parts.append(
        '<text x="%d" y="%d" font-size="9" fill="#666">0 s</text><text x="%d" y="%d" font-size="9" fill="#666" '
        'text-anchor="end">%s</text></svg>'
        % (LABEL, height - 4, width - 10, height - 4, esc("%.3g s" % (last - first)))
    )
    return "".join(parts)


def _runs(row: list):
    """The row's calls as shapes: (left, right, mark, first record, calls) with touching or
    shared columns of one mark joined."""
    runs: list = []
    for left, right, mark, record in sorted(row, key=lambda item: item[0]):
        if runs and runs[-1][2] == mark and left <= runs[-1][1] + 1:
            last = runs[-1]
            runs[-1] = (last[0], max(last[1], right), mark, last[3], last[4] + 1)
        else:
            runs.append((left, right, mark, record, 1))
    return runs


def bar_chart(title: str, counts: list, esc, width: int = 320) -> str:
    """A small horizontal bar chart of (label, count) pairs, largest first, at most 12."""
    counts = sorted(counts, key=lambda item: -item[1])[:12]
    if not counts:
        return ""
    top = max(count for _, count in counts) or 1
    height = 16 + 14 * len(counts)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="%d" height="%d" viewBox="0 0 %d %d">'
        '<title>%s</title><text x="0" y="10" font-size="10" font-weight="bold">%s</text>'
        % (width, height, width, height, esc(title), esc(title))
    ]
    for number, (label, count) in enumerate(counts):
        y = 16 + 14 * number
        parts.append(
            '<text x="0" y="%d" font-size="9">%s</text><rect x="120" y="%d" width="%d" height="10" fill="#3b7dd8">'
            '<title>%s</title></rect><text x="%d" y="%d" font-size="9">%d</text>'
            % (
                y + 9,
                esc(label[:24]),
                y,
                max(1, int((width - 160) * count / top)),
                esc("%s: %d" % (label, count)),
                124 + int((width - 160) * count / top),
                y + 9,
                count,
            )
        )
    parts.append("</svg>")
    return "".join(parts)


def charts(events: list, esc, found=None) -> str:
    """Calls per tool, the distribution of durations, and verdicts over time (by when each
    call ended, in tenths of the session); ``found`` as for svg_timeline."""
    tools: dict = {}
    durations = dict.fromkeys(BUCKETS, 0)
    verdicts: dict = {}
    ended = {id(record): end for (_, end), record in (found or placed(events))[0]}
    first = min(ended.values(), default=0.0)
    span = (max(ended.values(), default=0.0) - first) or 1.0
    for record in events:
        if not isinstance(record, dict) or record.get("type") != "event":
            continue
        tool = reading.record_title(record)
        tools[tool] = tools.get(tool, 0) + 1
        ms = record.get("duration_ms")
        if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms == ms:
            durations[next((name for name, below in BUCKETS.items() if ms < below), "> 60 s")] += 1
        moment = ended.get(id(record))
        kind = reading.verdict_class(record.get("nova_verdict"), record.get("nova_rules_matched"))
        if kind != "ok" and moment is not None:
            tenth = min(9, int(10 * (moment - first) / span)) * 10
            label = "%s, %d-%d%%" % (kind, tenth, tenth + 10)
            verdicts[label] = verdicts.get(label, 0) + 1
    return "".join(
        (
            bar_chart("calls per tool", list(tools.items()), esc),
            bar_chart("durations", [(k, v) for k, v in durations.items() if v], esc),
            bar_chart("verdicts to look at, by time in the session", list(verdicts.items()), esc),
        )
    )
