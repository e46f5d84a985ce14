"""The one place that warns: the ``nova_session`` logger, imported lazily.

``logging`` costs milliseconds to import, and a hook process that never
fails should not pay for it. Without handlers configured, Python's last-resort
handler prints warnings to stderr, never to stdout (stdout belongs to the
agent).
"""

from __future__ import annotations

LOGGER_NAME = "nova_session"


# Characters a warning or a terminal line never gets as themselves: C0 and C1 controls (a
# line break or an escape sequence from an event name or a path), bidirectional overrides
# and isolates, line separators, lone surrogates and the two non-characters. (A function,
# not a set built at import: every hook process imports this module, few ever warn.)
def _unsafe(code: int) -> bool:
    return (
        code < 0x20
        or 0x7F <= code < 0xA0
        or code in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0xFFFE, 0xFFFF)
        or 0x202A <= code < 0x202F
        or 0x2066 <= code < 0x206A
        or 0xD800 <= code < 0xE000
    )


def printable(text: str) -> str:
    """text with control and bidirectional-override characters written out as ``\\xNN``/``\\uNNNN``."""
    if text.isprintable():
        return text
    return "".join(
        ("\\x%02x" % ord(c) if ord(c) < 0x100 else "\\u%04x" % ord(c)) if _unsafe(ord(c)) else c for c in text
    )


def warn(message: str, *args: object) -> None:
    """Log one warning, one line, on the ``nova_session`` logger. Never raises."""
    try:
        import logging

        text = message % args if args else message
        logging.getLogger(LOGGER_NAME).warning("%s", printable(text))
    except Exception:  # noqa: BLE001 - logging must never take the host down
        pass
