"""Clauses of the README's contract that no other test pinned down, found by mutation testing.

Each test here kills at least one deliberate bug (a mutant) that the rest of
the suite let through; the mutant is named in the docstring. Expected values
come from the README, never from running the library.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import types
from datetime import datetime, timezone
from pathlib import Path

import pytest

import nova_session
from nova_session import _backend, _python

from support import append_raw, chained_records, child_env, new_session, unchained

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# ------------------------------------------------------------------- helpers


def complete_lines(path: Path) -> list:
    return [unchained(line) for line in path.read_bytes().split(b"\n")[:-1]]


def parsed(path: Path) -> list:
    return [json.loads(line) for line in complete_lines(path)]


def prev(line: bytes) -> bytes:
    """The chain's last member for a record written after ``line``."""
    return b'"prev":"sha256:%s"' % hashlib.sha256(line).hexdigest().encode("ascii")


def backend_name(kernel) -> str:
    return kernel.__name__.rsplit("._", 1)[1]


# ------------------------------------------------------ backend selection (§1)


def test_a_stale_rust_kernel_is_never_used(monkeypatch):
    """§1: ``auto`` uses Rust only if *its* module loads; a kernel built for another
    version is treated as missing (silently under ``auto``, ImportError naming the
    fallback under ``rust``). Kills: version check in ``_backend._load_rust`` removed."""
    stale = types.ModuleType("nova_session._rust")
    stale.__version__ = "0.0.0-stale"
    monkeypatch.setitem(sys.modules, "nova_session._rust", stale)
    monkeypatch.setattr(nova_session, "_rust", stale, raising=False)

    monkeypatch.setenv("NOVA_SESSION_BACKEND", "auto")
    assert _backend.load() == ("python", _python)

    monkeypatch.setenv("NOVA_SESSION_BACKEND", "rust")
    with pytest.raises(ImportError) as raised:
        _backend.load()
    assert "NOVA_SESSION_BACKEND=python" in str(raised.value)


# ------------------------------------------------------------ session ids (§3)


class _FixedClock:
    """A stand-in for the ``time`` module as the Python kernel uses it: one fixed UTC second."""

    def __init__(self):
        self.strftime = time.strftime

    @staticmethod
    def time():
        return 1_768_062_645.25

    @staticmethod
    def gmtime(*_):
        return time.gmtime(1_768_062_645)  # 2026-01-10 16:30:45 UTC

    localtime = gmtime


def test_python_kernel_ids_come_from_the_os_random_source_and_never_repeat(monkeypatch):
    """§3: the suffix comes from the OS's secure random source (``os.urandom``), and ids
    from one process never repeat, even when that source repeats itself within one
    second. Kills: suffix drawn from ``random``; the issued-ids check removed.
    (In-process and without a C compiler; the preloaded-getrandom test below covers
    both kernels.)"""
    real_urandom = os.urandom
    calls = []

    def urandom(count):
        calls.append(count)
        if len(calls) <= 2:  # the first two draws are identical
            return bytes(range(count))
        return real_urandom(count)

    monkeypatch.setattr(_python, "time", _FixedClock())
    monkeypatch.setattr(_python, "_issued_second", "")
    monkeypatch.setattr(_python, "_issued", set())
    monkeypatch.setattr(os, "urandom", urandom)
    first = _python.generate_session_id()
    second = _python.generate_session_id()
    assert calls, "the suffix was not drawn from os.urandom"
    assert first[:19] == second[:19] == "2026-01-10_16-30-45"
    assert first != second


# ------------------------------------------------------------- timestamps (§4)


@pytest.fixture
def far_zone():
    """A local zone 5 h 45 min east of UTC (a POSIX TZ string: no tz database needed)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "NPT-05:45"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def _utc(stamp: str) -> datetime:
    return datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)


def test_record_timestamps_are_utc_whatever_the_local_zone(api, project, far_zone):
    """§4: timestamps are UTC. Kills: ``time.localtime`` in place of ``time.gmtime``
    (invisible when the machine's zone is UTC)."""
    before = datetime.now(timezone.utc).replace(microsecond=0)
    sid, path = new_session(api, project)
    assert api.finalize_session(sid, project) == path
    after = datetime.now(timezone.utc)
    init, end = parsed(path)
    for record in (init, end):
        assert before <= _utc(record["timestamp"]) <= after, (record["timestamp"], before, after)


# ------------------------------------------------------------------- ids (§4)


@pytest.mark.parametrize(
    "last, expected",
    [
        (b"-1", b"0"),
        (b"-0", b"1"),
        (b"-10", b"-9"),
        (b"-1000", b"-999"),
        (b"9", b"10"),
        (b"1999", b"2000"),
        (b"99999999999999999999", b"100000000000000000000"),
    ],
    ids=lambda value: value.decode(),
)
def test_next_id_is_exactly_one_plus_the_last_integer_id(api, project, last, expected):
    """§4: the next assigned id is 1 + the integer id of the last complete record, across
    sign changes and carries. Kills (Rust ``add_one``): -0 + 1 = 0, -1 + 1 = -0."""
    sid, path = new_session(api, project)
    append_raw(path, b'{"type":"event","id":' + last + b"}\n")
    before = path.read_bytes()
    assert api.append_event(sid, {"n": "next"}, project) is True
    written = (
        b'{"type":"event","id":' + expected + b',"n":"next",' + prev(b'{"type":"event","id":' + last + b"}") + b"}"
    )
    assert path.read_bytes() == before + written + b"\n"


def test_a_caller_given_negative_id_moves_the_numbering(api, project):
    """§4: a caller-given integer id is written as given and the next assigned id follows it."""
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"id": -1}, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert complete_lines(path)[1:] == [b'{"type":"event","id":-1}', b'{"type":"event","id":0,"n":1}']
    assert [record["id"] for record in chained_records(path.read_bytes())[1:]] == [-1, 0]  # every link checked


def test_ids_within_one_locked_write_follow_caller_integer_ids(kernel, api, project):
    """§4: within one session file, numbering follows caller-given integer ids in file
    order, also when several records go out in one locked write (the kernel's batch
    append). Kills: the kernel ignoring a caller's integer id inside a batch."""
    sid, path = new_session(api, project)
    records = [{"n": 1}, {"id": 10, "n": 2}, {"n": 3}, {"id": "x", "n": 4}, {"n": 5}, {"id": -1, "n": 6}, {"n": 7}]
    assert kernel.append_records(str(path), records, False) == len(records)
    assert [record["id"] for record in chained_records(path.read_bytes())[1:]] == [1, 10, 11, "x", 12, -1, 0]


# ---------------------------------------- an unterminated last line (§4, §8)

# A last line that happens to be a whole JSON object but has no newline yet: a
# writer was killed between the record and its newline. It is incomplete all the same.
TORN_BUT_PARSABLE = b'{"type":"event","id":50,"n":"torn"}'


def test_readers_skip_an_unterminated_last_line_even_if_it_parses(api, project):
    """§4: a last line without its newline is incomplete: readers skip it.
    Kills: ``read_session_events`` keeping the piece after the last newline."""
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    append_raw(path, TORN_BUT_PARSABLE)
    assert [record.get("id") for record in api.read_session_events(sid, project)] == [None, 1]


def test_an_unterminated_last_line_does_not_count_for_ids(api, project):
    """§4/§8: the torn line does not count; the next append terminates it, then writes the
    id that follows the last *complete* record. Kills (both kernels): the tail scan
    taking its id from the unterminated line."""
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert api.append_event(sid, {"n": 2}, project)
    append_raw(path, TORN_BUT_PARSABLE)
    before = path.read_bytes()
    assert api.append_event(sid, {"n": 3}, project) is True
    # §10: the torn line is not a link either: the record links to the last complete line.
    last_complete = before.split(b"\n")[-2]
    assert unchained(last_complete) == b'{"type":"event","id":2,"n":2}'
    assert path.read_bytes() == before + b'\n{"type":"event","id":3,"n":3,%s}\n' % prev(last_complete)


def test_an_unterminated_last_line_does_not_count_for_event_count(api, project):
    """§4/§6: ``event_count`` counts records; a torn line is not one.
    Kills (both kernels): finalize counting the unterminated line."""
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    append_raw(path, TORN_BUT_PARSABLE)
    before = path.read_bytes()
    assert api.finalize_session(sid, project) == path
    after = path.read_bytes()
    assert after.startswith(before + b'\n{"type":"end",')
    end = json.loads(complete_lines(path)[-1])
    assert end["type"] == "end" and end["event_count"] == 1


def test_an_unterminated_end_record_does_not_end_the_session(api, project):
    """§4/§6: an end record that lost its newline does not count, so ``finalize_session``
    still writes the session's end record. Kills (both kernels): finalize taking the
    unterminated line for the last record."""
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    append_raw(
        path, b'{"type":"end","session_id":"%s","timestamp":"2026-01-10T16:30:45.123Z","event_count":1}' % sid.encode()
    )
    before = path.read_bytes()
    assert api.finalize_session(sid, project) == path
    after = path.read_bytes()
    assert after.startswith(before + b'\n{"type":"end",')
    end = json.loads(complete_lines(path)[-1])
    assert end["type"] == "end" and end["event_count"] == 1
    assert api.finalize_session(sid, project) == path  # idempotent from here on
    assert path.read_bytes() == after


# --------------------------------------------------------- durability (§8)

# Runs in a child: a seccomp filter that makes every fsync/fdatasync fail with EIO
# cannot be removed again. A library that fsyncs under NOVA_SESSION_FSYNC=1 sees
# the failure and fails open (False / None, one warning, file as it was); one that
# skips the fsync would claim an event durable that is not.
FSYNC_FAILS_CHILD = r"""
import ctypes, json, logging, os, platform, sys
import nova_session

project, backend = sys.argv[1], sys.argv[2]
assert nova_session.BACKEND == backend, nova_session.BACKEND
warnings = []

class Count(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())

logger = logging.getLogger("nova_session")
logger.addHandler(Count(logging.WARNING))
logger.propagate = False

sid = nova_session.generate_session_id()
path = nova_session.init_session_file(sid, project)
assert path is not None
assert nova_session.append_event(sid, {"n": 1}, project)


def make_fsync_fail():
    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    # (AUDIT_ARCH_*, (fsync, fdatasync)) syscall numbers
    arch, numbers = {"x86_64": (0xC000003E, (74, 75)), "aarch64": (0xC00000B7, (82, 83))}[platform.machine()]
    load, jump_eq, ret = 0x20, 0x15, 0x06
    allow, fail_eio = 0x7FFF0000, 0x00050000 | 5
    program = [
        (load, 0, 0, 4),  # the audit arch
        (jump_eq, 1, 0, arch),
        (ret, 0, 0, allow),
        (load, 0, 0, 0),  # the syscall number
        (jump_eq, 2, 0, numbers[0]),
        (jump_eq, 1, 0, numbers[1]),
        (ret, 0, 0, allow),
        (ret, 0, 0, fail_eio),
    ]
    filters = (SockFilter * len(program))(*[SockFilter(*op) for op in program])
    prog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    assert libc.prctl(38, 1, None, 0, 0) == 0, ctypes.get_errno()  # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.cast(ctypes.pointer(prog), ctypes.c_void_p), 0, 0) == 0, ctypes.get_errno()
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    else:
        raise AssertionError("the seccomp filter did not take")
    finally:
        os.close(fd)


make_fsync_fail()
os.environ["NOVA_SESSION_FSYNC"] = "1"
before = path.read_bytes()
results = {}
count = len(warnings)
results["append"] = [nova_session.append_event(sid, {"n": 2}, project), len(warnings) - count, path.read_bytes() == before]
count = len(warnings)
ended = nova_session.finalize_session(sid, project)
results["finalize"] = [ended is None, len(warnings) - count, path.read_bytes() == before]
other = nova_session.generate_session_id()
count = len(warnings)
created = nova_session.init_session_file(other, project)
results["init"] = [created is None, len(warnings) - count, sorted(os.listdir(os.path.dirname(str(path))))]
print(json.dumps(results))
"""


def test_with_fsync_on_an_event_is_accepted_only_once_fsynced(kernel, project):
    """§8: with ``NOVA_SESSION_FSYNC=1`` an accepted event is also fsynced. Here every
    fsync fails, so nothing may be accepted: each call fails open with one warning
    and leaves the file as it was (§7, §8). Kills: the fsync flag ignored by either
    kernel, or the environment variable ignored by the shared layer."""
    backend = backend_name(kernel)
    done = subprocess.run(
        [sys.executable, "-c", FSYNC_FAILS_CHILD, str(project), backend],
        env=child_env(backend),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["append"] == [False, 1, True]
    assert results["finalize"] == [True, 1, True]
    created, warnings, names = results["init"]
    assert (created, warnings) == (True, 1)
    assert len(names) == 1 and names[0].endswith(".jsonl"), names  # no new session file, no temporary left


# A getrandom() that returns eight zero bytes for the first two 8-byte draws, then
# the real thing. Preloaded, it stands in front of glibc's for both kernels: the
# Rust kernel's getrandom crate finds it through dlsym, CPython's os.urandom calls it.
REPEATING_GETRANDOM = r"""
#define _GNU_SOURCE
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

int nova_fake_draws = 0;

ssize_t getrandom(void *buf, size_t len, unsigned int flags) {
    if (len == 8 && nova_fake_draws < 2) {
        nova_fake_draws++;
        memset(buf, 0, len);
        return (ssize_t)len;
    }
    return syscall(SYS_getrandom, buf, len, flags);
}
"""

REPEATING_GETRANDOM_CHILD = r"""
import ctypes, importlib, json, sys
kernel = importlib.import_module(sys.argv[1])
ids = [kernel.generate_session_id(), kernel.generate_session_id()]
draws = ctypes.c_int.in_dll(ctypes.CDLL(None), "nova_fake_draws").value
print(json.dumps({"ids": ids, "draws": draws}))
"""


def test_ids_come_from_the_os_random_source_and_never_repeat_even_when_it_does(kernel, tmp_path):
    """§3: the suffix comes from the OS's secure random source, and ids from one process
    never repeat. The OS source is made to repeat its first draw; the second id must
    still differ from the first (both are made within the same second, but for a
    1-in-a-million chance of straddling a second boundary, which only lets a broken
    kernel pass). Kills: either kernel dropping its issued-ids check, or drawing its
    suffix from anything but the OS source."""
    source = tmp_path / "repeating_getrandom.c"
    source.write_text(REPEATING_GETRANDOM)
    shim = tmp_path / "repeating_getrandom.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(shim), str(source)], check=True, timeout=120)
    env = child_env(backend_name(kernel))
    env["LD_PRELOAD"] = str(shim)
    env["PYTHONHASHSEED"] = "0"  # no getrandom() at interpreter start-up
    done = subprocess.run(
        [sys.executable, "-c", REPEATING_GETRANDOM_CHILD, kernel.__name__],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["draws"] == 2, "the suffix was not drawn from the OS source (getrandom)"
    first, second = found["ids"]
    assert first != second


def test_an_id_given_to_a_refused_init_is_still_registered(api, project, tmp_path, monkeypatch):
    """§6: the registry maps each id *given to* init_session_file to its project, so a
    second process that calls init on an existing session can then append without
    naming the project."""
    sid = api.generate_session_id()
    assert api.init_session_file(sid, project) is not None
    api.sessions._registry.clear()  # as in another process
    assert api.init_session_file(sid, project) is None  # exists: refused, file untouched
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert api.append_event(sid, {"n": 1}) is True
    assert api.read_session_events(sid, project)[-1]["n"] == 1
