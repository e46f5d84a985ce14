"""SessionWriter: buffered appends for processes that record many events.

Events are held in memory and written in batches, each batch one locked
append whose ids are assigned at that moment, exactly as single appends are:
buffered and unbuffered writers in other processes can share a session file.

The trade-off: an event accepted by ``append`` but not yet flushed is lost if
the process is killed (SIGKILL) or the machine stops. It is written on
``flush()``, ``close()``, leaving a ``with`` block, at interpreter exit, when
``max_events`` events or ``max_bytes`` bytes are held, and when an ``append``
finds the oldest held event older than ``max_delay`` seconds (there is no
background thread). Use ``append_event`` where every single event must be on
disk before the call returns.
"""

from __future__ import annotations

import os

from . import _log, paths, sessions

TYPE_CHECKING = False  # weakref is imported on first use, off the hook path
if TYPE_CHECKING:
    import weakref

DEFAULTS = {"max_events": 256, "max_bytes": 1048576, "max_delay": 1.0}


def _flush_at_exit(reference) -> None:
    writer = reference()
    if writer is not None:
        writer.close()


# Live writers, so that a child process made by fork() starts with empty buffers:
# the events held at the fork belong to the parent, which writes them.
_live: weakref.WeakSet[SessionWriter] | None = None


def _after_fork_in_child() -> None:
    for writer in list(_live or ()):
        writer._renew()


class SessionWriter:
    """Buffered writer of one session (README, "Buffered writing: `SessionWriter`"); never raises.

    Args:
        session_id: the session's id; its file must exist (``init_session_file``).
        project_dir: the project holding it.
        max_events, max_bytes, max_delay: the flush thresholds (256 events,
            1 MiB, 1.0 s by default).
    Events accepted but not yet flushed are lost only if the process is killed
    (SIGKILL) or the machine stops; see the module documentation. With
    ``redact = True`` each event's secrets are redacted when it is accepted
    (``nova_session.guard.redact``).
    """

    redact = False

    def __init__(self, session_id, project_dir, max_events=256, max_bytes=1048576, max_delay=1.0):
        self._kernel_writer = None
        self._where: tuple = ()
        self._arguments = ()
        self._exit_hook = None
        self._refusal = None
        try:
            sid = paths.check_session_id(session_id)
            limits = self._limits(max_events, max_bytes, max_delay)
            path = sessions.existing_session_file(paths.project_path(project_dir), sid)
            os.close(paths.open_regular(path, os.O_RDONLY))  # it exists and is a regular file
            self._arguments = (path, sessions.fsync_requested()) + limits + (sessions.chain_key(),)
            self._where = (path, sid, paths.project_path(project_dir))  # for the anchor after each batch
            self._kernel_writer = sessions.kernel.Writer(*self._arguments)
        except Exception as exc:  # noqa: BLE001 - fail-open
            self._refusal = "cannot write session %r: %s" % (session_id, sessions.describe(exc))
            _log.warn("nova_session.SessionWriter: %s; its appends return False", self._refusal)
            return
        import atexit
        import weakref

        global _live
        if _live is None:
            _live = weakref.WeakSet()
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
        _live.add(self)
        self._exit_hook = lambda reference=weakref.ref(self): _flush_at_exit(reference)  # noqa: B008 - bind one weak ref now
        atexit.register(self._exit_hook)

    def _renew(self) -> None:
        if self._kernel_writer is not None:
            self._kernel_writer = sessions.kernel.Writer(*self._arguments)

    def __del__(self) -> None:
        # A writer dropped without close() still writes what it holds.
        self.close()

    @staticmethod
    def _limits(max_events, max_bytes, max_delay) -> tuple:
        for name, value in (("max_events", max_events), ("max_bytes", max_bytes)):
            if type(value) is not int or value < 1:
                raise paths.Refused("%s must be a positive int, not %r" % (name, value))
        if type(max_delay) not in (int, float) or not max_delay >= 0:
            raise paths.Refused("max_delay must be a number of seconds >= 0, not %r" % (max_delay,))
        return max_events, max_bytes, float(max_delay)

    def append(self, event) -> bool:
        """Accept one event (a dict); True when it is held or written, False for bad input.

        Never raises. A flush that fails keeps the events held (for the next
        flush) and logs one warning; the event is still accepted.
        """
        if not isinstance(event, dict):
            from _collections_abc import Mapping

            if not isinstance(event, Mapping):
                _log.warn("nova_session.SessionWriter.append: event must be a dict, not %s", type(event).__name__)
                return False
            event = dict(event)
        if self.redact:
            from .guard.redact import redact_event

            event = redact_event(event)
        writer = self._kernel_writer  # one read: close() may run meanwhile (another thread, a __str__)
        if writer is None:
            _log.warn("nova_session.SessionWriter.append: %s", self._refusal)
            return False
        try:
            written = writer.append(event)
            if self._kernel_writer is None:
                written += writer.flush()  # closed while this event went in: close() drops the writer before its flush
            self._anchor(written)
        except Exception as exc:  # noqa: BLE001 - held, not lost: flush failures keep the batch
            _log.warn(
                "nova_session.SessionWriter.append: flush failed, events kept for the next flush: %s",
                sessions.describe(exc),
            )
        return True

    def flush(self) -> int:
        """Write every held event now, in one locked append; return how many (0 on failure, with a warning)."""
        writer = self._kernel_writer  # one read: close() may run meanwhile
        if writer is None:
            return 0
        try:
            return self._anchor(writer.flush())
        except Exception as exc:  # noqa: BLE001 - fail-open
            _log.warn(
                "nova_session.SessionWriter.flush failed, %d events kept: %s", writer.pending(), sessions.describe(exc)
            )
            return 0

    def _anchor(self, written: int) -> int:
        """After a batch went out, the session's anchor (when anchors are on); returns written."""
        if written:
            sessions.anchor_after_write(*self._where)
        return written

    def close(self) -> None:
        """Flush, then refuse further appends. Idempotent; never raises."""
        writer = self._kernel_writer
        if writer is None:
            return
        # Refuse first, flush second: an append racing this either sees the refusal
        # or lands before this flush (or flushes itself, see append).
        self._refusal = "the writer is closed"
        self._kernel_writer = None
        if self._exit_hook is not None:
            import atexit

            atexit.unregister(self._exit_hook)
            self._exit_hook = None
        try:
            self._anchor(writer.flush())
        except Exception as exc:  # noqa: BLE001 - fail-open
            _log.warn(
                "nova_session.SessionWriter.close: %d held events could not be written and are lost: %s",
                writer.pending(),
                sessions.describe(exc),
            )

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
