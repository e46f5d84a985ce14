"""Session text made safe and readable for people: control characters, bidi overrides
and lone surrogates written out; HTML and in-``<script>`` JSON escaping; values cut for
display; durations, offsets and plurals. Shared by the HTML report, Markdown and the CLI."""

from __future__ import annotations

import html
import json
import re
import time

from .. import reading

MAX_FIELD_CHARS = 200_000  # longer values are cut in the report (export keeps them whole)

# C0/C1 controls (but tab, newline, carriage return), line/paragraph separators, lone
# surrogates and non-characters.
# Bidirectional overrides and isolates reorder what a reader sees ("Trojan Source").
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff%s]" % _BIDI)


# ------------------------------------------------------------------ escaping


def _visible(match) -> str:
    code = ord(match.group())
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def clean(text: str) -> str:
    """text with control characters and lone surrogates written out as ``\\xNN``/``\\uNNNN``."""
    if text.isascii() and text.isprintable():  # the usual case, without the regex
        return text
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


def record_flag(record: dict, looked: str | None = None) -> bool:
    """Whether a record needs attention: a failed tool call or a verdict other than ok
    (``looked``: the record's verdict class, when the caller has it already)."""
    rescan = record.get("nova_rescan")
    if (
        isinstance(rescan, dict)
        and reading.verdict_class(rescan.get("nova_verdict"), rescan.get("nova_rules_matched")) != "ok"
    ):
        return True
    if not reading.is_tool_event(record):
        return False
    if looked is None:
        looked = reading.verdict_class(record.get("nova_verdict"), record.get("nova_rules_matched"))
    return record.get("is_error") is True or looked != "ok"


def _script_safe(text: str) -> str:
    """ASCII JSON text made safe inside ``<script>``, as script_json does."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def verdict_text(record: dict) -> str:
    """A tool event's verdict as shown ("(none)" when it has none)."""
    verdict = record.get("nova_verdict")
    return verdict if isinstance(verdict, str) else "(none)"
