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
# and isolates, line separators, lone surrogates and the two non-characters.
_UNSAFE = frozenset(
    [*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    + [0x2028, 0x2029, *range(0xD800, 0xE000), 0xFFFE, 0xFFFF]
)


def printable(text: str) -> str:
    """text with control and bidirectional-override characters written out as ``\\xNN``/``\\uNNNN``."""
    if text.isprintable():
        return text
    return "".join(
        ("\\x%02x" % ord(c) if ord(c) < 0x100 else "\\u%04x" % ord(c)) if ord(c) in _UNSAFE else c for c in text
    )


def warn(message: str, *args: object) -> None:
    """Log one warning, one line, on the ``nova_session`` logger. Never raises."""
    try:
        import logging

        text = message % args if args else message
        logging.getLogger(LOGGER_NAME).warning("%s", printable(text))
    except Exception:  # noqa: BLE001 - logging must never take the host down
        pass
