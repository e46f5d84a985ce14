"""Rendering a session for people: the self-contained HTML report (``html``, with its
picture and its CSS and script in ``assets/``), Markdown (``markdown``), and the text
escaping and formatting they and the CLI share (``text``)."""

from __future__ import annotations

from .html import ROW_HEIGHT, SCRIPT, anchor, render_html, reports_dir, write_atomic, write_report
from .markdown import md_block, md_cell, render_markdown
from .text import (
    MAX_FIELD_CHARS,
    clean,
    esc,
    format_duration,
    format_ms,
    offset_label,
    plural,
    pretty,
    record_flag,
    script_json,
)

__all__ = [
    "MAX_FIELD_CHARS",
    "ROW_HEIGHT",
    "SCRIPT",
    "anchor",
    "clean",
    "esc",
    "format_duration",
    "format_ms",
    "md_block",
    "md_cell",
    "offset_label",
    "plural",
    "pretty",
    "record_flag",
    "render_html",
    "render_markdown",
    "reports_dir",
    "script_json",
    "write_atomic",
    "write_report",
]
