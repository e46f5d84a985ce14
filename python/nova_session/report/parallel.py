"""How the report uses more than one core and spends no time freeing memory: the whole
report is written by a forked child (``in_child``), which leaves without freeing the
session's objects; that child forks another for the parts of the page that need no
rows (the picture, the views, the chain's verification: ``Aside``), and deflates the
records in a thread as they are read (``Packing``; zlib lets go of the GIL). Each
falls back to doing the work in the caller, in line, whenever it cannot be done aside
(no fork on this system, no process or pipe left, a child that fails): the result is
the same, only slower."""

from __future__ import annotations

import base64
import os
import pickle
import queue
import signal
import threading
import zlib

from .. import _log


class Packing(threading.Thread):
    """Lines joined by newlines, deflated and base64-encoded in a thread of their own, as
    they come: ``add`` them one by one (a reader hands them over as it parses, so the
    deflating uses another core meanwhile), then ``result()``."""

    BATCH = 4 << 20  # bytes handed to the thread at once

    def __init__(self, lines=()):
        super().__init__(daemon=True)
        self.batches: queue.SimpleQueue = queue.SimpleQueue()
        self.pending: list = []
        self.size = 0
        self.count = 0  # lines added
        self.packed = ""
        self.error: BaseException | None = None
        self.start()
        for line in lines:
            self.add(line)

    def add(self, line: bytes) -> None:
        if self.count:
            self.pending.append(b"\n")
        self.pending.append(line)
        self.count += 1
        self.size += len(line)
        if self.size >= self.BATCH:
            self.batches.put(b"".join(self.pending))
            self.pending, self.size = [], 0

    def run(self) -> None:
        deflate = zlib.compressobj(1)
        parts = []
        try:
            while True:
                batch = self.batches.get()
                if batch is None:
                    break
                parts.append(deflate.compress(batch))
            parts.append(deflate.flush())
            self.packed = base64.b64encode(b"".join(parts)).decode("ascii")
        except BaseException as exc:  # re-raised in the caller's thread
            self.error = exc
            while self.batches.get() is not None:  # let the caller's puts end
                pass

    def result(self) -> str:
        """The packed lines; no thread of this object runs once this returns."""
        if self.is_alive():
            self.batches.put(b"".join(self.pending))
            self.pending = []
            self.batches.put(None)
            self.join()
        if self.error is not None:
            raise self.error
        return self.packed


# Children whose result is in and whose exit is not waited for: a child that built a
# large session takes a few tenths of a second to leave, while the system frees its memory.
_LEAVING: list = []


# In a forked child, what it never frees: freeing a loaded session object by object costs
# a few tenths of a second, and the child leaves with os._exit, its memory freed whole.
_KEPT: list | None = None


def keep(value):
    """value, kept alive until this process leaves when it is a forked child (else as is)."""
    if _KEPT is not None:
        _KEPT.append(value)
    return value


def _send(fd: int, value) -> None:
    """value pickled, after its length (8 bytes): the reader needs no end of file."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "big") + data)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int):
    """The value a child sent, or None when it left without sending it whole."""
    try:
        head = _read(fd, 8)
        if len(head) < 8:
            return None
        size = int.from_bytes(head, "big")
        data = _read(fd, size)
        return pickle.loads(data) if len(data) == size else None
    finally:
        os.close(fd)


def _read(fd: int, size: int) -> bytes:
    chunks: list = []
    while size > 0:
        chunk = os.read(fd, min(size, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _reap(block: bool = False) -> None:
    """Wait for the children that have left since (or, with block, for all of them)."""
    for pid in list(_LEAVING):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _LEAVING.remove(pid)


def _can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def _fork(produce):
    """A child forked to send ``produce()`` through a pipe and leave with ``os._exit`` (no
    atexit handler, no time spent freeing what it built): ``(pid, reading end)``, or
    None when no child can be forked (then the caller does the work)."""
    if not _can_fork():
        return None
    try:
        reading_end, writing_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(reading_end)
        os.close(writing_end)
        return None
    if pid == 0:
        global _KEPT
        status = 1
        _KEPT = []
        try:
            _LEAVING.clear()  # the parent's children are not this one's
            os.close(reading_end)
            _send(writing_end, produce())
            os.close(writing_end)
            _reap(block=True)  # its own children (Aside) leave before it does
            status = 0
        finally:
            os._exit(status)
    os.close(writing_end)
    return pid, reading_end


def _result(forked: tuple):
    """What the forked child sent (None if it failed); its exit is waited for only then."""
    pid, pipe = forked
    value = _receive(pipe)
    if value is None:
        os.waitpid(pid, 0)
    else:
        _LEAVING.append(pid)
        _reap()
    return value


def _outcome(work) -> tuple:
    try:
        return ("ok", work())
    except BaseException as exc:
        try:
            pickle.dumps(exc)
        except Exception:  # an exception that does not pickle: its type and words
            exc = RuntimeError("%s: %s" % (type(exc).__name__, exc))
        return ("error", exc)


def in_child(work):
    """``work()`` run in a forked child, its result returned or its exception raised here;
    in line when no child can be forked, or when the child died without an answer."""
    forked = _fork(lambda: _outcome(work))
    if forked is None:
        return work()
    try:
        outcome = _result(forked)
    except BaseException:  # interrupted: the child's work is not wanted any more
        try:
            os.kill(forked[0], signal.SIGTERM)
            os.waitpid(forked[0], 0)
        except OSError:
            pass
        raise
    if outcome is None:
        _log.warn("report: the process writing the report failed; writing it here")
        return work()
    kind, value = outcome
    if kind == "error":
        raise value
    return value


class Aside:
    """``work()`` computed in a forked child while the caller goes on; ``result()`` is
    its result, or the work done in line when the child failed. Start it before any
    thread: a child forked while another thread holds a lock (malloc's, the logger's)
    could wait for it forever."""

    def __init__(self, work):
        self.work = work
        self.forked = _fork(lambda: (work(),))

    def result(self):
        if self.forked is None:
            return self.work()
        sent = _result(self.forked)
        if sent is not None:
            return sent[0]
        _log.warn("report: the process drawing the picture and views failed; drawing them here")
        return self.work()
