"""Work the report does beside its main line: deflating the records in a thread (zlib
lets go of the GIL), and the parts of the page that need no rows (the picture, the
views, the chain's verification) in a forked process, so that a 100,000-event report
uses two cores. Either falls back to doing the work in the caller, in line, whenever
it cannot be done aside (no fork on this system, no process or pipe left, a child
that fails): the result is the same, only slower."""

from __future__ import annotations

import base64
import os
import pickle
import threading
import zlib

from .. import _log


class Packing(threading.Thread):
    """Deflate and base64-encode bytes in a thread of their own."""

    def __init__(self, data: bytes):
        super().__init__(daemon=True)
        self.data, self.packed = data, ""
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.packed = base64.b64encode(zlib.compress(self.data, 1)).decode("ascii")
        except BaseException as exc:  # re-raised in the caller's thread
            self.error = exc

    def result(self) -> str:
        self.join()
        if self.error is not None:
            raise self.error
        return self.packed


class Aside:
    """``work()`` computed in a forked child, its result pickled back through a pipe,
    while the caller goes on. Start it before any thread: a child forked while another
    thread holds a lock (malloc's, the logger's) could wait for it forever."""

    def __init__(self, work):
        self.work = work
        self.pid = 0
        self.pipe = -1
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return
        try:
            reading_end, writing_end = os.pipe()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            os.close(reading_end)
            os.close(writing_end)
            return
        if pid == 0:  # the child: compute, send, and leave without atexit handlers or flushing
            status = 1
            try:
                os.close(reading_end)
                data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                view = memoryview(data)
                while view:
                    view = view[os.write(writing_end, view) :]
                status = 0
            finally:
                os._exit(status)
        os.close(writing_end)
        self.pid, self.pipe = pid, reading_end

    def result(self):
        """The work's result: the child's, or computed here when the child failed."""
        if not self.pid:
            return self.work()
        chunks = []
        try:
            while True:
                chunk = os.read(self.pipe, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self.pipe)
            _, status = os.waitpid(self.pid, 0)
        if status == 0:
            return pickle.loads(b"".join(chunks))
        _log.warn("report: the process drawing the picture and views failed (status %d); drawing them here", status)
        return self.work()
