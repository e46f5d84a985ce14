"""The one place that warns: the ``nova_session`` logger, imported lazily.

``logging`` costs milliseconds to import, and a hook process that never
fails should not pay for it. Without handlers configured, Python's last-resort
handler prints warnings to stderr, never to stdout (stdout belongs to the
agent).
"""

from __future__ import annotations

LOGGER_NAME = "nova_session"


def warn(message: str, *args: object) -> None:
    """Log one warning on the ``nova_session`` logger. Never raises."""
    try:
        import logging

        logging.getLogger(LOGGER_NAME).warning(message, *args)
    except Exception:  # noqa: BLE001 - logging must never take the host down
        pass
