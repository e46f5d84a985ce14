"""Where sessions live: project resolution, session-id checks, directories.

Everything the library writes stays under ``{project}/.nova-protector/``;
a session id that is not of the SPEC section 3 format never reaches a path.
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

# Character classes of 'YYYY-MM-DD_HH-MM-SS_xxxxxx', position by position.
_DIGITS = frozenset("0123456789")
_SUFFIX_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
_ID_SHAPE = "dddd-dd-dd_dd-dd-dd_ssssss"


class Refused(ValueError):
    """Bad input: the caller gets the fail-open result and one warning."""


def is_session_id(value: object) -> bool:
    """Whether value is a str of the SPEC section 3 format."""
    if not isinstance(value, str) or len(value) != len(_ID_SHAPE):
        return False
    for char, shape in zip(value, _ID_SHAPE):
        if shape == "d":
            if char not in _DIGITS:
                return False
        elif shape == "s":
            if char not in _SUFFIX_CHARS:
                return False
        elif char != shape:
            return False
    return True


def check_session_id(value: object) -> str:
    if not is_session_id(value):
        raise Refused("invalid session id %r (expected YYYY-MM-DD_HH-MM-SS_xxxxxx)" % (value,))
    return str.__str__(value)  # a plain str, whatever subclass came in


def project_root(project_dir: object) -> str:
    """The project as an absolute, resolved path; Refused unless it is an existing directory."""
    if isinstance(project_dir, bytes) or project_dir is None:
        raise Refused("project_dir must be a str or os.PathLike, not %s" % type(project_dir).__name__)
    try:
        path = os.fspath(project_dir)  # type: ignore[arg-type]
    except TypeError:
        raise Refused("project_dir must be a str or os.PathLike, not %s" % type(project_dir).__name__) from None
    if not isinstance(path, str) or not path or "\0" in path or not os.path.isdir(path):
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
