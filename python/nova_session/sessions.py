"""The public session API, written once over whichever kernel is loaded.

Kernels raise; this layer turns every failure into the fail-open result
(README, "Records") with exactly one warning on the ``nova_session`` logger.
``kernel`` is read at call time, so tests can swap it.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from _collections_abc import Mapping

from . import _log, paths
from .paths import (
    Refused,
    active_dir,
    check_real_dir,
    check_session_id,
    data_dir,
    ensure_layout,
    existing_session_file,
    is_session_id,
    project_root,
    session_file,
)

TYPE_CHECKING = False  # typing is not imported at run time: the hook path counts milliseconds
if TYPE_CHECKING:
    from typing import Any

kernel: Any = None  # set by nova_session/__init__.py to the selected kernel module

FSYNC_VAR = "NOVA_SESSION_FSYNC"
CHAIN_KEY_VAR = "NOVA_SESSION_CHAIN_KEY_FILE"

# This process's registry: session id -> resolved project directory (README, "Quickstart for hook authors").
_registry: dict = {}


def describe(exc: BaseException) -> str:
    """One line saying why a call failed, for the warning."""
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return "%s%s" % (exc.strerror, " (%s)" % exc.filename if exc.filename else "")
    return "%s: %s" % (type(exc).__name__, exc)


def _fail(function: str, exc: BaseException) -> None:
    _log.warn("nova_session.%s failed: %s", function, describe(exc))


def environ_value(name: str) -> str | None:
    """``os.environ.get(name)``, read on the append path from os.environ's own dict of
    encoded names and values where there is one (POSIX): it costs a fifth, where three
    lookups took a tenth of an append. Elsewhere (Windows keys it by upper-case str),
    or when os.environ was replaced by another mapping, it is ``os.environ.get``."""
    data = getattr(os.environ, "_data", None)
    if not os.supports_bytes_environ or type(data) is not dict:
        return os.environ.get(name)
    value = data.get(os.fsencode(name))
    return None if value is None else os.fsdecode(value)


def fsync_requested() -> bool:
    return environ_value(FSYNC_VAR) == "1"


# (path, dev, ino, size, mtime) -> the key bytes (None: refused, warned once).
_keys: dict = {}


def chain_key() -> bytes | None:
    """The HMAC key of the chain (README, "The hash chain"): the bytes of the file that
    NOVA_SESSION_CHAIN_KEY_FILE names when it is readable and of mode 0600 or
    stricter; otherwise None, the plain sha256 chain, with one warning per file."""
    path = environ_value(CHAIN_KEY_VAR)
    if not path:
        return None
    try:
        info = os.stat(path)
        stamp = (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    except OSError as exc:
        if (path, "missing") not in _keys:
            _keys[(path, "missing")] = None
            _log.warn(
                "%s=%r cannot be used (%s): the chain is the plain sha256 one", CHAIN_KEY_VAR, path, describe(exc)
            )
        return None
    if stamp in _keys:
        return _keys[stamp]
    from . import chain  # read as the verifier reads it: one rule for a usable key file

    key = None
    try:
        key = chain.read_key_file(path)
    except chain.KeyFileError as exc:
        _log.warn("%s: %s; the chain is the plain sha256 one", CHAIN_KEY_VAR, exc)
    if len(_keys) >= 16:
        _keys.clear()
    _keys[stamp] = key
    return key


def timestamp(millis=None) -> str:
    """ISO 8601 UTC with milliseconds, of now or of a time in ms since the epoch."""
    if millis is None:
        millis = time.time_ns() // 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + ".%03dZ" % (millis % 1000)


def _platform() -> str:
    # platform.system().lower() without importing platform (milliseconds in a hook).
    if sys.platform.startswith(("win", "cygwin", "msys")):
        return "windows"
    return os.uname().sysname.lower()


def _as_path(path: str):
    from pathlib import Path  # only at the return boundary: pathlib is slow to import

    return Path(path)


def _find_project(session_id: str, project_dir: object) -> str:
    # Not resolved: appends only reach an existing file, through the checks of
    # existing_session_file, and realpath would cost more than the write.
    if project_dir is not None:
        return paths.project_path(project_dir)
    if session_id in _registry:
        return _registry[session_id]
    env = os.environ.get("CLAUDE_PROJECT_DIR")
    return paths.project_path(env if env else os.getcwd())


# ------------------------------------------------------------------ active marks


def write_mark(root: str, session_id: str, claude_session_id) -> None:
    directory = active_dir(root)
    body = b"%d" % time.time_ns()
    if claude_session_id is not None:
        body += b"\n" + claude_session_id.encode("utf-8", "surrogatepass")
    temp = os.path.join(directory, ".%s.%d.tmp" % (session_id, os.getpid()))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, body)
    finally:
        os.close(fd)
    os.replace(temp, os.path.join(directory, session_id))


def _read_mark(directory: str, session_id: str):
    """(initialised ns, claude session id or None), or None for a missing or unreadable mark."""
    try:
        body = paths.read_regular(os.path.join(directory, session_id), 1 << 16)
    except OSError:
        return None
    stamp, _, claude = body.partition(b"\n")
    try:
        return int(stamp), (claude.decode("utf-8", "surrogatepass") if _ else None)
    except ValueError:
        return None


def clear_mark(root: str, session_id: str) -> None:
    try:
        os.unlink(os.path.join(active_dir(root), session_id))
    except FileNotFoundError:
        pass


def is_regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


# -------------------------------------------------------------------- public API


def generate_session_id() -> str:
    """Return a new session id ``YYYY-MM-DD_HH-MM-SS_xxxxxx`` (UTC time, 6 random [0-9a-z]).

    Returns:
        The id; ids from one process never repeat and sort by creation second.
    Never raises (the OS random source is assumed to work).
    """
    return kernel.generate_session_id()


def get_session_paths(project_dir):
    """Create the storage directories of a project and return them.

    Args:
        project_dir: an existing directory (str or os.PathLike).
    Returns:
        ``{"sessions": Path, "reports": Path}`` under ``project_dir/.nova-protector/``
        (created with mode 0700, with a ``.gitignore`` holding ``*``), or None
        when ``project_dir`` is not an existing directory (nothing is created then).
    Never raises: failures return None with one warning.
    """
    try:
        paths = ensure_layout(project_root(project_dir))
    except Exception as exc:  # noqa: BLE001 - fail-open
        _fail("get_session_paths", exc)
        return None
    return {"sessions": _as_path(paths["sessions"]), "reports": _as_path(paths["reports"])}


def init_session_file(session_id, project_dir, **extra):
    """Create a session file holding its init record and mark the session active.

    Args:
        session_id: an id of the ``generate_session_id`` format.
        project_dir: an existing directory.
        **extra: optional keys written after the fixed ones (an extra never
            replaces a fixed key); ``claude_session_id`` (a str) also keys the
            active mark, see ``get_active_session``.
    Returns:
        The session file's Path, or None (file untouched) when it already exists
        or the call fails.
    Never raises: failures return None with one warning.
    """
    try:
        sid = check_session_id(session_id)
        root = project_root(project_dir)
        try:
            path = create_session(sid, root, extra)
        except FileExistsError:
            _registry[sid] = root  # an id given to init_session_file: appends find its project
            raise Refused("session file %s already exists; it was left untouched" % session_file(root, sid)) from None
    except Exception as exc:  # noqa: BLE001 - fail-open
        _fail("init_session_file", exc)
        return None
    return _as_path(path)


def create_session(sid: str, root: str, extra: dict, millis: int | None = None) -> str:
    """Write the init record of a new session file, register and mark it; return its path.

    The raising core of ``init_session_file`` (FileExistsError when the file
    exists), shared with the hooks.
    """
    claude = extra.get("claude_session_id")
    if claude is not None and not isinstance(claude, str):
        raise Refused("claude_session_id must be a str, not %s" % type(claude).__name__)
    ensure_layout(root)
    record = {
        "type": "init",
        "session_id": sid,
        "timestamp": timestamp(millis),  # a hook's own time: its record must not come before the init
        "platform": _platform(),
        "project_dir": root,
    }
    for key, value in extra.items():
        record.setdefault(key, value)
    path = session_file(root, sid)
    kernel.create_file(path, kernel.encode(record) + b"\n", fsync_requested())
    anchor_after_write(path, sid, root)
    _registry[sid] = root
    write_mark(root, sid, claude)
    return path


def append_records(sid: str, root: str, records: list) -> None:
    """Append records to an existing session in one locked write (raises on failure)."""
    path = _checked_session_file(root, sid)
    kernel.append_records(path, records, fsync_requested(), chain_key())
    anchor_after_write(path, sid, root)


def anchor_after_write(path: str, sid: str, root: str) -> None:
    """Replace the session's anchor when NOVA_SESSION_ANCHOR_DIR asks for anchors (README, "The hash chain")."""
    if environ_value("NOVA_SESSION_ANCHOR_DIR"):
        from . import anchor

        anchor.write(path, sid, root, chain_key())


# (project, session id) -> (session file, until when its directories count as checked).
_checked: dict = {}
_RECHECK_SECONDS = 1.0


def _checked_session_file(root: str, sid: str) -> str:
    """existing_session_file, with its directory checks done at most once a second
    per session: on the append path they would cost as much as the kernel's work."""
    now = time.monotonic()
    hit = _checked.get((root, sid))
    if hit is not None and hit[1] > now:
        return hit[0]
    path = existing_session_file(root, sid)
    if len(_checked) >= 256:
        _checked.clear()
    _checked[(root, sid)] = (path, now + _RECHECK_SECONDS)
    return path


def append_event(session_id, event_data, project_dir=None):
    """Append one record to a session as a single locked, crash-safe write.

    Args:
        session_id: the session's id.
        event_data: a dict (any mapping is copied into one). ``type`` defaults
            to ``"event"``; ``id`` is assigned (next integer in the file) unless given.
        project_dir: where the session lives; default: the directory this
            process registered for the id, then ``$CLAUDE_PROJECT_DIR``, then the cwd.
    Returns:
        True when the record was written; False otherwise (for example when the
        session file does not exist: it is never created here).
    Never raises: failures return False with one warning, and leave the file as it was.
    """
    try:
        sid = check_session_id(session_id)
        if not isinstance(event_data, dict):
            if not isinstance(event_data, Mapping):
                raise Refused("event_data must be a dict, not %s" % type(event_data).__name__)
            event_data = dict(event_data)
        append_records(sid, _find_project(sid, project_dir), [event_data])
    except Exception as exc:  # noqa: BLE001 - fail-open
        _fail("append_event", exc)
        return False
    return True


def get_active_session(project_dir, claude_session_id=None):
    """Return the id of an active (initialised, not finalized) session of a project.

    Args:
        project_dir: an existing directory.
        claude_session_id: when given, only the session initialised with this
            ``claude_session_id`` is considered.
    Returns:
        The most recently initialised matching session's id, or None when there
        is none. Creates nothing.
    Never raises: failures return None with one warning.
    """
    try:
        if claude_session_id is not None and not isinstance(claude_session_id, str):
            raise Refused("claude_session_id must be a str, not %s" % type(claude_session_id).__name__)
        root = project_root(project_dir)
        directory = active_dir(root)
        try:
            check_real_dir(data_dir(root))
            check_real_dir(directory)
            names = os.listdir(directory)
        except FileNotFoundError:
            return None
        best = None
        for name in names:
            if not is_session_id(name):
                continue
            mark = _read_mark(directory, name)
            if mark is None or (claude_session_id is not None and mark[1] != claude_session_id):
                continue
            if is_regular_file(session_file(root, name)) and (best is None or (mark[0], name) > best):
                best = (mark[0], name)
    except Exception as exc:  # noqa: BLE001 - fail-open
        _fail("get_active_session", exc)
        return None
    if best is None:
        return None
    _registry[best[1]] = root
    return best[1]


def finalize_session(session_id, project_dir, **extra):
    """Write the session's end record once and clear its active mark.

    Args:
        session_id: the session's id.
        project_dir: an existing directory.
        **extra: optional keys written after ``event_count`` (for example ``reason``).
    Returns:
        The session file's Path (also when it had already ended: idempotent), or
        None when the call fails.
    Never raises: failures return None with one warning.
    """
    try:
        sid = check_session_id(session_id)
        root = project_root(project_dir)
        path = existing_session_file(root, sid)
        head = {"type": "end", "session_id": sid, "timestamp": timestamp()}
        tail = {key: value for key, value in extra.items() if key not in head and key not in ("event_count", "prev")}
        if kernel.finalize_file(path, head, tail, fsync_requested(), chain_key()):
            anchor_after_write(path, sid, root)
        clear_mark(root, sid)
    except Exception as exc:  # noqa: BLE001 - fail-open
        _fail("finalize_session", exc)
        return None
    return _as_path(path)


def read_session_events(session_id, project_dir):
    """Return every complete, parsable record of a session, in file order.

    Args:
        session_id: the session's id.
        project_dir: an existing directory.
    Returns:
        A list of dicts, init and end records included; torn or corrupt lines
        are skipped. An empty list when the call fails. Creates nothing.
    Never raises: failures return [] with one warning.
    """
    try:
        sid = check_session_id(session_id)
        path = existing_session_file(project_root(project_dir), sid)
        from . import _python  # its reader: json semantics, whichever kernel writes

        fd = paths.open_regular(path, os.O_RDONLY)
        try:
            _python.lock_shared(fd)
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        lines = b"".join(chunks).split(b"\n")[:-1]  # the last piece is empty or torn
        records = [record for record in map(_python.parse_record, lines) if record is not None]
    except Exception as exc:  # noqa: BLE001 - fail-open
        _fail("read_session_events", exc)
        return []
    return records


def verify_session(session_id, project_dir, key_file=None, anchor_dir=None):
    """Check a session file's integrity and hash chain (README, "The hash chain").

    Args:
        session_id: the session's id.
        project_dir: an existing directory.
        key_file: the chain's key file; default ``$NOVA_SESSION_CHAIN_KEY_FILE``.
        anchor_dir: where the session's anchor is kept; default ``$NOVA_SESSION_ANCHOR_DIR``.
    Returns:
        The report ``nova-session verify --json`` prints: ``ok``, ``tampered``,
        ``problems`` (each with its line and kind: ``broken_link``,
        ``outside_chain``, ``unparsable``, ...), ``chain``, ``notes``; or None
        when the call fails. Creates nothing.
    Never raises: failures return None with one warning.
    """
    try:
        sid = check_session_id(session_id)
        root = project_root(project_dir)
        existing_session_file(root, sid)
        from . import reading

        return reading.verify(root, sid, key_file=key_file, anchor_dir=anchor_dir)
    except Exception as exc:  # noqa: BLE001 - fail-open
        _fail("verify_session", exc)
        return None


class SessionManager:
    """The module functions bound to one project directory.

    Same names and results as the functions, without the ``project_dir``
    argument; never raises. With ``redact = True`` its ``append_event``
    redacts secrets first (``nova_session.guard.redact``).
    """

    redact = False

    def __init__(self, project_dir):
        self.project_dir = project_dir

    def __repr__(self) -> str:
        return "SessionManager(%r)" % (self.project_dir,)

    generate_session_id = staticmethod(generate_session_id)

    def get_session_paths(self):
        """``get_session_paths`` for this project."""
        return get_session_paths(self.project_dir)

    def init_session_file(self, session_id, **extra):
        """``init_session_file`` for this project."""
        return init_session_file(session_id, self.project_dir, **extra)

    def append_event(self, session_id, event_data):
        """``append_event`` for this project (secrets redacted first when ``redact`` is set)."""
        if self.redact and isinstance(event_data, Mapping):
            from .guard.redact import redact_event

            event_data = redact_event(event_data)
        return append_event(session_id, event_data, self.project_dir)

    def get_active_session(self, claude_session_id=None):
        """``get_active_session`` for this project."""
        return get_active_session(self.project_dir, claude_session_id)

    def finalize_session(self, session_id, **extra):
        """``finalize_session`` for this project."""
        return finalize_session(session_id, self.project_dir, **extra)

    def read_session_events(self, session_id):
        """``read_session_events`` for this project."""
        return read_session_events(session_id, self.project_dir)
