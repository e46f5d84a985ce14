"""The session as a picture for a terminal: tool calls as bars on one time axis, a lane
for the main agent and one per subagent (calls that overlap take extra rows, side by
side), prompts as markers above. ``nova-session show`` prints it before the records.

Each call is drawn from its start to its end (at least one column); its character says
how it went: ``=`` finished, ``x`` failed or denied, ``!`` a NOVA verdict that needs a
look, ``?`` started and never finished (drawn to the end of the session). Pure function
of the records; every label is the caller's to escape."""

from __future__ import annotations

from .. import reading

WIDTH = 64  # columns of the time axis
LABEL = 14  # columns of a lane's label
MAX_ROWS = 4  # rows per lane; calls beyond them are counted, not drawn


def _use_id(record: dict):
    """The record's tool_use_id when it is a string (a hostile file may hold anything)."""
    value = record.get("tool_use_id")
    return value if isinstance(value, str) else None


def finished_calls(events: list) -> set:
    """The tool_use_ids of the calls that have their closing event."""
    return {_use_id(r) for r in events if isinstance(r, dict) and r.get("type") == "event"} - {None}


def unfinished_start(record: dict, finished: set) -> bool:
    """Whether the record is the start of a call that never finished."""
    return record.get("type") == "tool_start" and _use_id(record) not in finished


def _mark(record: dict) -> str:
    if record.get("type") == "tool_start":
        return "?"
    if record.get("denied") or record.get("is_error") is True:
        return "x"
    if reading.verdict_class(record.get("nova_verdict"), record.get("nova_rules_matched")) != "ok":
        return "!"
    return "="


def _span(record: dict):
    begun = record.get("timestamp_start") or record.get("timestamp")
    ended = record.get("timestamp_end") or record.get("timestamp")
    start = reading.parse_time(begun)
    end = start if ended is begun else reading.parse_time(ended)
    if start is None:
        start = end
    return (start, end if end is not None else start) if start is not None else None


def placed(events: list):
    """``(calls, prompts)``: ``[((start, end), record)]`` for each finished call and each
    call that never finished, ``[(moment, record)]`` for each prompt; records without a
    time are left out."""
    finished = finished_calls(events)
    calls, prompts = [], []
    for record in events:
        if not isinstance(record, dict):
            continue
        kind = record.get("type")
        if kind == "event" or (kind == "tool_start" and _use_id(record) not in finished):
            span = _span(record)
            if span is not None:
                calls.append((span, record))
        elif kind == "user_prompt":
            moment = reading.parse_time(record.get("timestamp"))
            if moment is not None:
                prompts.append((moment, record))
    return calls, prompts


def layout(events: list, width: int = WIDTH, found=None):
    """``(first, last, scale, prompts, lanes)``, or None when no record has a time: lanes
    map a label ("main", "agent TYPE") to ``{"rows": [[(left, right, mark, record)]],
    "hidden": n}``, columns 0..width-1, calls placed on the first row where they fit.
    ``found`` is ``placed(events)`` when the caller has it already."""
    calls, prompts = found if found is not None else placed(events)
    moments = [t for (start, end), _ in calls for t in (start, end)] + [moment for moment, _ in prompts]
    if not moments:
        return None
    first, last = min(moments), max(moments)
    scale = (last - first) / (width - 1) if last > first else 1.0

    def column(moment: float) -> int:
        return min(width - 1, max(0, int((moment - first) / scale)))

    lanes: dict = {"main": {"rows": [], "hidden": 0, "ends": []}}
    top = width - 1
    for (start, end), record in sorted(calls, key=lambda item: item[0][0]):
        agent = record.get("agent_id")
        key = ("agent %s" % (record.get("agent_type") or agent)) if isinstance(agent, str) and agent else "main"
        lane = lanes.get(key)
        if lane is None:
            lane = lanes[key] = {"rows": [], "hidden": 0, "ends": []}
        left = min(top, max(0, int((start - first) / scale)))
        right = top if record.get("type") == "tool_start" else min(top, max(left, int((end - first) / scale)))
        # Calls come in order of start: a row takes one when its last call ends before.
        ends = lane["ends"]
        number = 0
        while number < len(ends) and ends[number] >= left:
            number += 1
        if number == len(ends):
            if number == MAX_ROWS:
                lane["hidden"] += 1
                continue
            lane["rows"].append([])
            ends.append(-1)
        lane["rows"][number].append((left, right, _mark(record), record))
        ends[number] = right
    ordered = {key: lanes[key] for key in ["main"] + sorted(k for k in lanes if k != "main") if lanes[key]["rows"]}
    return first, last, scale, [(column(moment), record) for moment, record in prompts], ordered


def text_timeline(events: list, width: int = WIDTH) -> list:
    """The lines of the picture (empty when no record has a time)."""
    laid = layout(events, width)
    if laid is None:
        return []
    first, last, scale, prompts, lanes = laid
    axis = "%-*s|%s|" % (LABEL, "", "-" * width)
    lines = ["%-*s %s to %s (one column: %s)" % (LABEL, "timeline", "0 s", _seconds(last - first), _seconds(scale))]
    if prompts:
        marks = [" "] * width
        for at, _ in prompts:
            marks[at] = "P"
        lines.append("%-*s|%s|" % (LABEL, "prompts", "".join(marks)))
    lines.append(axis)
    for key, lane in lanes.items():
        for number, row in enumerate(lane["rows"]):
            cells = [" "] * width
            for left, right, mark, _ in row:
                cells[left : right + 1] = mark * (right - left + 1)
            lines.append("%-*s|%s|" % (LABEL, key[:LABEL] if number == 0 else "", "".join(cells)))
        if lane["hidden"]:
            lines.append("%-*s %d more overlapping call(s) not drawn" % (LABEL, "", lane["hidden"]))
    lines.append(axis)
    lines.append("%-*s = finished  x failed or denied  ! verdict to look at  ? never finished  P prompt" % (LABEL, ""))
    return lines


def _seconds(value: float) -> str:
    return "%.3g s" % value if value < 100 else "%d s" % round(value)
