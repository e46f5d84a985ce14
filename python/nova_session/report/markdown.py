"""The session as Markdown (``nova-session export --format md``): facts, health, a
timeline table and every record whole, each value escaped for its place."""

from __future__ import annotations

import html
import re

from .. import reading
from .text import clean, format_duration, format_ms, plural, pretty, verdict_text


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
                md_cell(verdict_text(record) if reading.is_tool_event(record) else ""),
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
