"""Anchors (README, "The hash chain"): a copy of where a session file's chain ends, kept
where the agent cannot write, so that a cut-off tail or a file replaced whole
shows.

When ``NOVA_SESSION_ANCHOR_DIR`` names a directory, every write to a session
file is followed by ``write``: under the session file's exclusive ``flock`` (the
lock every writer takes, so anchors are replaced in the order the file grew),
it reads the end of the file and atomically replaces
``{anchor_dir}/{session_id}.anchor`` with one JSON object: ``session_id``,
``project_dir``, ``size``, ``id`` (of the last complete, parsable line, if it
has one) and ``digest`` (that line's, keyed like the chain). Written once, in
Python, for both kernels: it describes the file as it is, whichever wrote it.
A failed anchor write never fails the write it follows: one warning.
"""

from __future__ import annotations

import os

from . import _log, paths, sessions

ANCHOR_DIR_VAR = "NOVA_SESSION_ANCHOR_DIR"
SUFFIX = ".anchor"


def anchor_dir() -> str | None:
    """The directory NOVA_SESSION_ANCHOR_DIR names, or None."""
    return os.environ.get(ANCHOR_DIR_VAR) or None


def anchor_path(directory: str, sid: str) -> str:
    return os.path.join(directory, paths.check_session_id(sid) + SUFFIX)


def describe(path: str, sid: str, root: str, key: bytes | None) -> dict:
    """The anchor of a session file as it is now (the caller holds its lock)."""
    from . import _python

    fd = paths.open_regular(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        _, line, torn = _python._scan_tail(fd, size)
    finally:
        os.close(fd)
    record = _python.parse_record(line) if line is not None else None
    last_id = record.get("id") if record is not None else None
    return {
        "session_id": sid,
        "project_dir": root,
        "size": size,
        "id": last_id,
        "digest": _python._digest(line, key) if line is not None else None,
    }


def write(path: str, sid: str, root: str, key: bytes | None) -> None:
    """Replace the session's anchor, if anchors are on. Never raises: one warning."""
    directory = anchor_dir()
    if directory is None:
        return
    try:
        target = anchor_path(directory, sid)
        fd = paths.open_regular(path, os.O_RDONLY)
        try:
            from . import _python

            _python._lock(fd, True)  # the writers' lock: anchors follow the file's growth in order
            body = sessions.kernel.encode(describe(path, sid, root, key)) + b"\n"
            temp = "%s.%d.tmp" % (target, os.getpid())
            out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                os.write(out, body)
            finally:
                os.close(out)
            os.replace(temp, target)
        finally:
            os.close(fd)
    except Exception as exc:  # noqa: BLE001 - the write it follows has succeeded; an anchor never undoes it
        _log.warn("nova_session anchor of session %s not written (%s): %s", sid, ANCHOR_DIR_VAR, sessions.describe(exc))


def read(directory: str, sid: str) -> dict | None:
    """The anchor kept for a session, or None when there is none."""
    try:
        data = paths.read_regular(anchor_path(directory, sid), 1 << 16)
    except FileNotFoundError:
        return None
    from . import _python

    anchor = _python.parse_record(data.rstrip(b"\n"))
    if anchor is None:
        raise ValueError("the anchor of session %s is not a JSON object" % sid)
    return anchor


ANCHOR_CUT = "anchor_cut"
ANCHOR_MISMATCH = "anchor_mismatch"
ANCHOR_UNREADABLE = "anchor_unreadable"


def check(path: str, sid: str, directory: str, key: bytes | None) -> tuple:
    """(status, [(problem kind, message)], note) of a session file against its anchor.

    status: ``none`` (no anchor kept), ``ok`` (the file holds, at the size the anchor
    recorded, the very line it names), ``cut`` (the file is shorter: its tail was cut
    or it was replaced), ``mismatch`` (a different line ends there: the file was
    replaced or rewritten), ``needs_key`` (a keyed anchor and no key), ``unreadable``."""
    try:
        anchor = read(directory, sid)
    except (OSError, ValueError) as exc:
        return "unreadable", [(ANCHOR_UNREADABLE, "the anchor cannot be read: %s" % sessions.describe(exc))], None
    if anchor is None:
        return "none", [], "no anchor kept for this session in %s" % directory
    size, digest = anchor.get("size"), anchor.get("digest")
    if type(size) is not int or size < 0 or anchor.get("session_id") != sid:
        return "unreadable", [(ANCHOR_UNREADABLE, "the anchor is not this session's, or has no size")], None
    from . import _python

    fd = paths.open_regular(path, os.O_RDONLY)
    try:
        actual = os.fstat(fd).st_size
        if actual < size:
            message = "the file is %d bytes, its anchor recorded %d: its tail was cut, or it was replaced" % (
                actual,
                size,
            )
            return "cut", [(ANCHOR_CUT, message)], None
        ends_a_line = size == 0 or os.pread(fd, 1, size - 1) == b"\n"
        _, line, _ = _python._scan_tail(fd, size)
    finally:
        os.close(fd)
    if isinstance(digest, str) and digest.startswith("hmac-") and key is None:
        return "needs_key", [], "the anchor is keyed: give the key to check it"
    found = _python._digest(line, key) if line is not None else None
    if not ends_a_line or found != digest:
        message = (
            "the line ending at byte %d is not the one the anchor recorded: the file was replaced or rewritten" % (size)
        )
        return "mismatch", [(ANCHOR_MISMATCH, message)], None
    return "ok", [], None
