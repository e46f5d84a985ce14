"""Where sessions live: project resolution, session-id checks, directories.

Everything the library writes stays under ``{project}/.nova-protector/``;
a session id not of the format in the README's "Session ids" never reaches a path.
"""

from __future__ import annotations

import os
import stat

DATA_DIR = ".nova-protector"
SESSIONS = "sessions"
REPORTS = "reports"
ACTIVE = "active"
SUFFIX = ".jsonl"

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

# 'YYYY-MM-DD_HH-MM-SS_xxxxxx' with digits as 'd' and lowercase letters as 'a':
# one str.translate checks every position at once (this runs on every append).
_ID_CLASSES = str.maketrans("0123456789abcdefghijklmnopqrstuvwxyz", "d" * 10 + "a" * 26)
_ID_STAMP = "dddd-dd-dd_dd-dd-dd_"


class Refused(ValueError):
    """Bad input: the caller gets the fail-open result and one warning."""


def is_session_id(value: object) -> bool:
    """Whether value is a str of the session-id format (README, "Session ids")."""
    if not isinstance(value, str) or len(value) != 26 or not value.isascii():
        return False
    shape = value.translate(_ID_CLASSES)
    return shape.startswith(_ID_STAMP) and not shape[20:].strip("da")


# The last id check_session_id accepted: a writer passes the same str object again and again.
_accepted: str | None = None


def check_session_id(value: object) -> str:
    global _accepted
    if value is _accepted and _accepted is not None:
        return _accepted
    if not is_session_id(value):
        raise Refused("invalid session id %r (expected YYYY-MM-DD_HH-MM-SS_xxxxxx)" % (value,))
    checked = str.__str__(value)  # a plain str, whatever subclass came in
    if checked is value:
        _accepted = checked
    return checked


def project_path(project_dir: object) -> str:
    """The project as an absolute path, not resolved and not checked (the append path:
    the checks of ``existing_session_file`` follow). Refused for a wrong type."""
    if type(project_dir) is not str:
        if isinstance(project_dir, bytes) or project_dir is None:
            raise Refused("project_dir must be a str or os.PathLike, not %s" % type(project_dir).__name__)
        try:
            project_dir = os.fspath(project_dir)  # type: ignore[call-overload]
        except TypeError:
            raise Refused("project_dir must be a str or os.PathLike, not %s" % type(project_dir).__name__) from None
        if not isinstance(project_dir, str):
            raise Refused("project_dir must be a str path, not %s" % type(project_dir).__name__)
    if not project_dir or "\0" in project_dir:
        raise Refused("project_dir %r is not an existing directory" % (project_dir,))
    return project_dir if project_dir.startswith("/") else os.path.abspath(project_dir)


def project_root(project_dir: object) -> str:
    """The project as an absolute, resolved path; Refused unless it is an existing directory."""
    path = project_path(project_dir)
    if not os.path.isdir(path):
        raise Refused("project_dir %r is not an existing directory" % (project_dir,))
    return os.path.realpath(path)


def data_dir(root: str) -> str:
    return os.path.join(root, DATA_DIR)


def session_file(root: str, session_id: str) -> str:
    return os.path.join(root, DATA_DIR, SESSIONS, session_id + SUFFIX)


def existing_session_file(root: str, session_id: str) -> str:
    """The session file's path, once .nova-protector/ and sessions/ are checked to be
    real directories: a symbolic link swapped in for either would lead writes outside."""
    base = data_dir(root)
    check_real_dir(base)
    check_real_dir(os.path.join(base, SESSIONS))
    return session_file(root, session_id)


def check_real_dir(path: str) -> None:
    """Refused unless path is a directory itself (not a link to one); FileNotFoundError if missing."""
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        raise Refused("%s is not a directory (a symbolic link is refused)" % path)


def active_dir(root: str) -> str:
    return os.path.join(root, DATA_DIR, ACTIVE)


def make_dir(path: str) -> None:
    """Create path with mode 0700, or accept it if it is a real directory (never a link)."""
    try:
        os.mkdir(path, 0o700)
        os.chmod(path, 0o700)  # mkdir's mode passes through the umask
    except FileExistsError:
        check_real_dir(path)


def ensure_layout(root: str) -> dict:
    """Create .nova-protector/{sessions,reports,active} and its .gitignore; return the paths as str."""
    base = data_dir(root)
    make_dir(base)
    _write_gitignore(os.path.join(base, ".gitignore"))
    paths = {name: os.path.join(base, name) for name in (SESSIONS, REPORTS, ACTIVE)}
    for path in paths.values():
        make_dir(path)
    return paths


def _write_gitignore(path: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    try:
        os.write(fd, b"*\n")
    finally:
        os.close(fd)


def open_regular(path: str, flags: int) -> int:
    """Open an existing regular file, never through a symbolic link, and never
    blocking on a FIFO; OSError for anything else standing at path."""
    fd = os.open(path, flags | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(22, "not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str, limit: int) -> bytes:
    """Up to limit bytes of a small regular file (see open_regular); OSError as it raises."""
    fd = open_regular(path, os.O_RDONLY)
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)
