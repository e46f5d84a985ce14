"""nova_session: a crash-safe JSON Lines recorder for AI coding agent sessions.

Hooks import this module and nothing else. Every public function fails open
(README, "Records"): it never raises for bad input or I/O failure, returns
False / None / an empty result, and logs one warning on the ``nova_session``
logger (stderr), never anything on stdout.

``BACKEND`` says which kernel does the work: ``"rust"`` (the compiled
``nova_session._rust``) or ``"python"`` (the standard-library fallback);
``NOVA_SESSION_BACKEND`` (``auto``, ``python``, ``rust``) chooses.
"""

from __future__ import annotations

from . import _backend, sessions
from .sessions import (
    SessionManager,
    append_event,
    finalize_session,
    generate_session_id,
    get_active_session,
    get_session_paths,
    init_session_file,
    read_session_events,
    verify_session,
)

__version__ = _backend.VERSION

BACKEND, sessions.kernel = _backend.load()

__all__ = [
    "BACKEND",
    "SessionManager",
    "SessionWriter",
    "__version__",
    "append_event",
    "finalize_session",
    "generate_session_id",
    "get_active_session",
    "get_session_paths",
    "init_session_file",
    "read_session_events",
    "verify_session",
]


def __getattr__(name: str):
    # SessionWriter is imported on first use: hook processes never need it.
    if name == "SessionWriter":
        from .writer import SessionWriter

        return SessionWriter
    raise AttributeError("module 'nova_session' has no attribute %r" % name)
