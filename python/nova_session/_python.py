"""Pure-Python kernel: the standard-library twin of ``nova_session._rust``.

Same names, signatures, docstrings and bytes as the Rust kernel. Like it,
these functions *raise* on failure; ``nova_session.sessions`` is the one layer
that turns failures into the fail-open results (README, "Records").

Both kernels lock with ``flock`` (not POSIX ``fcntl`` record locks, which
Linux keeps separately), so a Rust writer and a Python writer can share one
session file.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from _collections_abc import Mapping

from ._backend import VERSION as __version__  # noqa: F401 - the kernel attribute _backend compares
from ._python_nova import NovaRules
from ._python_redact import Redactor

try:  # the C escaper and scanner behind json, without importing json (and re): milliseconds in a hook
    from _json import encode_basestring as _c_escape
    from _json import make_scanner as _c_make_scanner
except ImportError:  # pragma: no cover - interpreters without the _json accelerator
    _c_escape = _c_make_scanner = None  # type: ignore[assignment,misc]  # checked for None before use

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    _fcntl = None  # type: ignore[assignment]  # checked for None before use

__all__ = [
    "NovaRules",
    "Redactor",
    "Writer",
    "append_records",
    "create_file",
    "encode",
    "finalize_file",
    "generate_session_id",
    "loads",
]

_MAX_DEPTH = 64
_FIRST_BLOCK = 8192  # the first block read back from the end; each further read doubles it
_KNOWN_FILES = 64
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
for _i in range(0x20):
    _ESCAPES.setdefault(chr(_i), "\\u%04x" % _i)
del _i

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

# What this process last wrote to each file: path -> ((dev, ino, size), last integer
# id). If, when it next holds the lock, the file has that identity and the size our
# write left it at, nobody else wrote since, so the last id is known without reading
# it back. Only appends change a session file: another one (whole, torn or healed)
# changes the size, and a failed one is truncated back to the very bytes it found.
_known: dict = {}

# Ids handed out in the current second, so that one process never repeats one.
_issued_second = ""
_issued: set = set()


# --------------------------------------------------------------------------- ids


def generate_session_id():
    """Return a new session id: UTC 'YYYY-MM-DD_HH-MM-SS_' and 6 random [0-9a-z] characters."""
    global _issued_second, _issued
    # gmtime(time()), not gmtime(): without an argument it reads a coarse clock that
    # can still show the second that just ended.
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.gmtime(time.time()))
    if stamp != _issued_second:
        _issued_second, _issued = stamp, set()
    while True:
        suffix = _random_suffix()
        if suffix not in _issued:
            _issued.add(suffix)
            return stamp + "_" + suffix


def _random_suffix() -> str:
    chars: list[str] = []
    while len(chars) < 6:
        for byte in os.urandom(8):
            if byte < 252:  # 252 = 7 * 36: rejection sampling keeps the digits uniform
                chars.append(_ID_ALPHABET[byte % 36])
    return "".join(chars[:6])


# ---------------------------------------------------------------------- encoding


def encode(obj):
    """Encode obj as one compact JSON document in UTF-8 by the encoding rules of the README's "Records"."""
    out: list = []
    _encode(obj, 1, out)
    return _to_bytes(out)


def _to_bytes(out: list) -> bytes:
    # Lone surrogates can only stand inside string literals; "backslashreplace"
    # writes exactly those as \udXXX, the escape the README's "Records" gives.
    return "".join(out).encode("utf-8", "backslashreplace")


def _escape(s: str) -> str:
    if _c_escape is not None:
        return _c_escape(s)
    return '"' + "".join([_ESCAPES.get(c, c) for c in s]) + '"'  # pragma: no cover


def _unserializable(obj: object) -> str:
    return _escape("<unserializable %s>" % type(obj).__name__)


def _int_text(value: int) -> str:
    try:
        return int.__repr__(value)
    except ValueError:  # beyond sys.get_int_max_str_digits()
        return '"<unserializable int>"'


def _float_text(value: float) -> str:
    # float.__repr__, not ==: a subclass may lie about equality, never about its repr.
    text = float.__repr__(value)
    return "null" if text in _NON_FINITE else text


_NON_FINITE = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


def _key_text(key: object) -> str:
    # type(key), not isinstance: an object may claim another __class__.
    kind = type(key)
    if issubclass(kind, str):
        return _escape(key)  # type: ignore[arg-type]
    if key is True:
        return '"true"'
    if key is False:
        return '"false"'
    if key is None:
        return '"null"'
    if issubclass(kind, int):
        text = _int_text(key)  # type: ignore[arg-type]
        return text if text.startswith('"') else '"' + text + '"'
    if issubclass(kind, float):
        text = float.__repr__(key)  # type: ignore[arg-type]
        return _NON_FINITE.get(text) or '"' + text + '"'
    try:
        return _escape(str(key))
    except Exception:  # noqa: BLE001 - a raising __str__ is data, not an error
        return _unserializable(key)


def _module_type(module: str, name: str):
    """A type from an already imported module, or None: no instance can exist otherwise."""
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


def _encode(obj: object, depth: int, out: list) -> None:
    # type(obj), not isinstance, for the built-in types: an object may claim
    # another __class__, and only its real type decides how it is written.
    kind = type(obj)
    if issubclass(kind, str):
        out.append(_escape(obj))  # type: ignore[arg-type]
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif issubclass(kind, int):
        out.append(_int_text(obj))  # type: ignore[arg-type]
    elif issubclass(kind, float):
        out.append(_float_text(obj))  # type: ignore[arg-type]
    elif issubclass(kind, dict):
        _encode_container(obj, depth, out, dict.items, True)
    elif issubclass(kind, list):
        _encode_container(obj, depth, out, list.__iter__, False)
    elif issubclass(kind, tuple):
        _encode_container(obj, depth, out, tuple.__iter__, False)
    elif issubclass(kind, (set, frozenset)):
        _encode_container(obj, depth, out, iter, False)
    elif issubclass(kind, bytes):
        out.append(_escape(bytes.decode(obj, "utf-8", "replace")))  # type: ignore[arg-type]
    elif issubclass(kind, bytearray):
        out.append(_escape(bytearray.decode(obj, "utf-8", "replace")))  # type: ignore[arg-type]
    else:
        _encode_other(obj, depth, out)


def _encode_other(obj: object, depth: int, out: list) -> None:
    date, time_, pure_path, enum = (
        _module_type("datetime", "date"),
        _module_type("datetime", "time"),
        _module_type("pathlib", "PurePath"),
        _module_type("enum", "Enum"),
    )
    try:
        if (date is not None and isinstance(obj, date)) or (time_ is not None and isinstance(obj, time_)):
            text = obj.isoformat()  # type: ignore[attr-defined]
            out.append(_escape(text) if issubclass(type(text), str) else _unserializable(obj))
        elif pure_path is not None and isinstance(obj, pure_path):
            out.append(_escape(str(obj)))
        elif enum is not None and isinstance(obj, enum):
            # Follow .value through enums valued by enums; a chain longer than
            # _MAX_DEPTH (an enum valued by itself) is cut like a cycle.
            value = obj.value  # type: ignore[attr-defined]
            for _ in range(_MAX_DEPTH):
                if not isinstance(value, enum):
                    _encode(value, depth, out)
                    return
                value = value.value
            out.append('"<max depth>"')
        elif isinstance(obj, Mapping):
            _encode_container(obj, depth, out, _mapping_items, True)
        else:
            out.append(_escape(str(obj)))
    except Exception:  # noqa: BLE001 - whatever the object does, the record is still written
        out.append(_unserializable(obj))


def _mapping_items(obj):
    return obj.items()


def _encode_container(obj, depth: int, out: list, iterate, is_object: bool) -> None:
    if depth > _MAX_DEPTH:
        out.append('"<max depth>"')
        return
    mark = len(out)
    try:
        if is_object:
            out.append("{")
            for key, value in iterate(obj):
                out.append(_key_text(key))
                out.append(":")
                _encode(value, depth + 1, out)
                out.append(",")
            _close(out, mark, "}")
        else:
            out.append("[")
            for item in iterate(obj):
                _encode(item, depth + 1, out)
                out.append(",")
            _close(out, mark, "]")
    except Exception:  # noqa: BLE001 - a container that cannot be iterated becomes a placeholder
        del out[mark:]
        out.append(_unserializable(obj))


def _close(out: list, mark: int, bracket: str) -> None:
    if len(out) > mark + 1:
        out[-1] = bracket  # replaces the trailing comma
    else:
        out.append(bracket)


def _encode_items(items, out: list) -> None:
    """Append ',"key":value' for each pair, values at depth 2."""
    for key, value in items:
        out.append(",")
        out.append(_key_text(key))
        out.append(":")
        _encode(value, 2, out)


_OWN_KEYS = ("type", "id", "prev")


def _event_parts(record: dict):
    """Split an event into (head, given id text or None, tail), type first and id second."""
    head = ['{"type":']
    _encode(dict.get(record, "type", "event"), 2, head)
    head.append(',"id":')
    given = None
    if "id" in record:
        given_parts: list = []
        _encode(dict.__getitem__(record, "id"), 2, given_parts)
        given = "".join(given_parts)
    tail: list = []
    _encode_items(
        # type and id are written first; prev is the chain's, written last.
        ((k, v) for k, v in dict.items(record) if not (issubclass(type(k), str) and str.__str__(k) in _OWN_KEYS)),
        tail,
    )
    tail.append("}")
    return "".join(head), given, "".join(tail)


# ---------------------------------------------------------------- reading lines


def _is_integer_text(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    return digits.isdigit() and digits.isascii() and (digits == "0" or not digits.startswith("0"))


class _ScanContext:
    """What json's C scanner reads from a decoder: the settings of json.loads()."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


_scan_once = _c_make_scanner(_ScanContext()) if _c_make_scanner is not None else None  # type: ignore[arg-type]  # duck-typed context, as in json.scanner
_JSON_SPACE = " \t\n\r"


def loads(data):
    """Parse JSON bytes into Python objects like json.loads; ValueError for what it cannot parse."""
    text = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if _scan_once is None:  # pragma: no cover - interpreters without the _json accelerator
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    try:
        try:
            value, end = _scan_once(text, start)
        except SystemError:
            # CPython 3.10/3.11's C scanner raises its error through json.decoder, and
            # fails with SystemError while that module is not imported (a hook process
            # does not import json). Import it on this failure path only, then retry.
            import json.decoder  # noqa: F401

            value, end = _scan_once(text, start)
    except StopIteration:
        raise ValueError("invalid JSON at position %d" % start) from None
    except SystemError as exc:
        raise ValueError("invalid JSON (%s)" % exc) from None
    if text[end:].strip(_JSON_SPACE):
        raise ValueError("extra data after JSON at position %d" % end)
    return value


def parse_record(line: bytes):
    """The line as a dict, or None when it is not one complete JSON object."""
    try:
        record = loads(line)
    except (ValueError, RecursionError):
        return None
    return record if type(record) is dict else None


def _scan_tail(fd: int, size: int):
    """Return (last integer id or None, the last complete parsable line or None,
    whether the file ends in a torn line): the next record links to that line.

    Reads backwards from the end, one block at a time, until the last id: the
    cost does not grow with the session's size.
    """
    if size == 0:
        return None, None, False
    link = None
    torn = os.pread(fd, 1, size - 1) != b"\n"
    pos = size
    pending = b""  # bytes from pos on that are not yet examined
    tail_dropped = False
    while pos > 0:
        step = min(max(_FIRST_BLOCK, len(pending)), pos)
        pos -= step
        pending = os.pread(fd, step, pos) + pending
        if not tail_dropped:
            cut = pending.rfind(b"\n")
            if cut == -1:
                continue  # still inside the torn last line
            pending = pending[: cut + 1]
            tail_dropped = True
        lines = pending.split(b"\n")[:-1]
        # Unless we reached the start, lines[0] may begin before pos: keep it for the next block.
        for line in reversed(lines[1:] if pos > 0 else lines):
            record = parse_record(line)
            if record is None:
                continue
            if link is None:
                link = line
            value = record.get("id")
            if type(value) is int:
                return value, link, torn
        pending = lines[0] + b"\n"
    return None, link, torn


# --------------------------------------------------------------------- file I/O


# How long a writer (or reader) waits for a session file's lock: a process that holds
# it (a stuck writer, or a command of the agent's) must not hold every hook until
# Claude Code's timeout. As LOCK_WAIT in rust/src/append.rs.
LOCK_WAIT_SECONDS = 3.0


def _lock(fd: int, exclusive: bool) -> None:
    """Take the flock, waiting at most LOCK_WAIT_SECONDS (then OSError ETIMEDOUT)."""
    if _fcntl is None:
        return
    mode = (_fcntl.LOCK_EX if exclusive else _fcntl.LOCK_SH) | _fcntl.LOCK_NB
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = 0.001
    while True:
        try:
            _fcntl.flock(fd, mode)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                import errno

                raise OSError(errno.ETIMEDOUT, "the session file stayed locked by another process for 3 s") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.02)


def lock_shared(fd: int) -> None:
    """Take a shared flock: readers wait for a write in progress to finish."""
    _lock(fd, False)


def _write_locked(fd: int, size: int, data: bytes, fsync: bool) -> None:
    """Write data at the end in one go; on any failure truncate back to size."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    except BaseException:
        try:
            os.ftruncate(fd, size)
        except OSError:
            pass
        raise


def create_file(path, data, fsync):
    """Create path holding exactly data (mode 0600, never through a link); FileExistsError if it exists."""
    directory, name = os.path.split(path)
    temp = os.path.join(directory, ".%s.%d.%s.tmp" % (name, os.getpid(), _random_suffix()))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        _write_locked(fd, 0, data, fsync)
        # link() publishes the file with its first line already in place and
        # fails when the name exists (a link there included): no reader or
        # appender ever sees an empty session file.
        os.link(temp, path)
        if fsync:
            _fsync_directory(directory)
    finally:
        os.close(fd)
        try:
            os.unlink(temp)
        except OSError:
            pass


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | _O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_records(path, records, fsync, key=None):
    """Append records (dicts) to an existing session file under an exclusive flock, assigning ids and chaining each to the line before it (key: HMAC key bytes, or None for sha256); return how many."""
    return _append_parts(path, [_event_parts(record) for record in records], fsync, key)


_sha256_found: list = []  # the constructor, once found (a failed import is searched again each time)


def _sha256():
    """The sha256 constructor, from CPython's own built-in module when there is one:
    ``import hashlib`` loads OpenSSL, milliseconds in a hook process."""
    if not _sha256_found:
        try:
            from _sha2 import sha256  # type: ignore  # CPython 3.12+, not in every typeshed
        except ImportError:
            try:
                from _sha256 import sha256  # type: ignore  # CPython 3.9-3.11, not in every typeshed
            except ImportError:
                from hashlib import sha256  # type: ignore  # the same constructor, by another module
        _sha256_found.append(sha256)
    return _sha256_found[0]


def _digest(line: bytes, key) -> str:
    """The link to a line (README, "The hash chain"): sha256, or HMAC-SHA256 with the key."""
    if key is None:
        return "sha256:" + _sha256()(line).hexdigest()
    import hashlib
    import hmac

    return "hmac-sha256:" + hmac.new(key, line, hashlib.sha256).hexdigest()


def _append_parts(path: str, parts: list, fsync: bool, key) -> int:
    """Write encoded events (head, given id, tail) under the lock, assigning ids and links."""
    fd, stamp = _open_locked(path)
    try:
        size = stamp[2]
        known = _known.get(path)
        if known is not None and known[0] == stamp and known[3] == key:
            last, link, torn = known[1], known[2], False
        else:
            last, line, torn = _scan_tail(fd, size)
            link = _digest(line, key) if line is not None else None
        lines = [b""] if torn else []  # the torn line is ended first; it stays out of the chain
        for head, given, tail in parts:
            if given is None:
                last = 1 if last is None else last + 1
                given = str(last)
            elif _is_integer_text(given):
                last = int(given)
            out = [head, given, tail[:-1]]  # all but the closing brace
            if link is not None:
                out.append(',"prev":"%s"' % link)
            out.append("}")
            line = _to_bytes(out)
            link = _digest(line, key)
            lines.append(line)
        data = b"\n".join(lines) + b"\n"
        _write_locked(fd, size, data, fsync)
        if len(_known) >= _KNOWN_FILES and path not in _known:
            _known.clear()
        _known[path] = ((stamp[0], stamp[1], size + len(data)), last, link, key)
        return len(parts)
    finally:
        os.close(fd)


def _open_locked(path: str):
    """Open an existing session file (never through a link), lock it, return (fd, (dev, ino, size))."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
    try:
        _lock(fd, True)
        # One fstat, after the lock: the size is final, and it refuses a FIFO or a device.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(22, "not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return fd, (info.st_dev, info.st_ino, info.st_size)


def finalize_file(path, head, extra, fsync, key=None):
    """Append the end record (head, then event_count, then extra, then prev) unless the last record already is one; return whether it wrote."""
    fd, (_, _, size) = _open_locked(path)
    try:
        data = os.pread(fd, size, 0)
        records = []
        link_line = None
        for line in data.split(b"\n")[:-1]:
            record = parse_record(line)
            if record is not None:
                records.append(record)
                link_line = line
        if records and records[-1].get("type") == "end":
            return False
        # README, "Records": the records after init, earlier end records (a resumed session) excepted.
        ends = sum(1 for record in records if record.get("type") == "end")
        count = len(records) - ends - (1 if records and records[0].get("type") == "init" else 0)
        out = ["\n"] if data and not data.endswith(b"\n") else []
        _encode(dict(head), 1, out)
        out[-1] = ',"event_count":%d' % count
        _encode_items(
            ((k, v) for k, v in dict.items(extra) if not (issubclass(type(k), str) and str.__str__(k) == "prev")), out
        )
        if link_line is not None:
            out.append(',"prev":"%s"' % _digest(link_line, key))
        out.append("}\n")
        _write_locked(fd, size, _to_bytes(out), fsync)
        return True
    finally:
        os.close(fd)


class Writer:
    """Buffer events and write them in batches: flushes when it holds max_events events or max_bytes bytes, or when an append finds the oldest event older than max_delay seconds."""

    def __init__(self, path, fsync, max_events, max_bytes, max_delay, key=None):
        import threading

        self._path = path
        self._fsync = fsync
        self._key = key
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._max_delay = max_delay
        self._lock = threading.Lock()
        self._records: list = []
        self._bytes = 0
        self._oldest = None

    def append(self, record):
        """Buffer one record (a dict) and flush if a threshold is reached; return how many records this call wrote."""
        if type(record) is not dict and not isinstance(record, dict):
            raise TypeError("record must be a dict, not %s" % type(record).__name__)
        head, given, tail = _event_parts(record)  # encoded now: later changes to the dict do not count
        with self._lock:
            self._records.append((head, given, tail))
            # Bytes, as the Rust kernel counts them: the parts are str until written.
            size = len(head) + len(tail) if tail.isascii() else len(_to_bytes([head, tail]))
            self._bytes += size + (8 if given is None else len(given)) + 1
            now = time.monotonic()
            if self._oldest is None:
                self._oldest = now
            if (
                len(self._records) >= self._max_events
                or self._bytes >= self._max_bytes
                or now - self._oldest >= self._max_delay
            ):
                return self._flush()
            return 0

    def flush(self):
        """Write every buffered record in one locked append; return how many."""
        with self._lock:
            return self._flush()

    def pending(self):
        """How many records are buffered."""
        return len(self._records)

    def _flush(self) -> int:
        if not self._records:
            return 0
        written = _append_parts(self._path, self._records, self._fsync, self._key)
        self._records, self._bytes, self._oldest = [], 0, None
        return written
