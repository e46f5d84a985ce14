"""Appending events: both backends against a naive stdlib writer and the floor.

Group ``append`` (ratios to the floor, all per event, on the workload of
workload.py):
- floor: one ``os.write`` of the same prebuilt line to an O_APPEND file kept open;
- naive stdlib: ``json.dumps`` + ``open(path, "a")`` + write + close, per event;
- ``append_event`` on the Rust and the Python kernel (open, lock, id, one write,
  close, per event);
- ``SessionWriter`` on both kernels, per event, batches of 256 (one locked write each).

Groups ``growth-rust`` / ``growth-python``: ``append_event`` into a session
that holds 10 and 5,000 prior events. Before each timed append the file is
cut back to its prepared size, so the writer cannot know the last id and
must find it by reading the file back, as a fresh hook process does.
"""

from __future__ import annotations

import json
import os

import pytest

import nova_session
from nova_session import _python, sessions

from .conftest import kernels, note
from .workload import events

EVENTS = events()
ROUNDS = 1500
BATCH = 256


class Cycle:
    """Items (by default the workload's events) one after the other, forever; ``index`` counts them."""

    def __init__(self, items=EVENTS):
        self.items = items
        self.index = 0

    def next(self):
        item = self.items[self.index % len(self.items)]
        self.index += 1
        return item


def new_session(tmp_path, kernel, prior: int = 0):
    sessions.kernel = kernel
    project = tmp_path / ("project-%s-%d" % (kernel.__name__.rsplit("_", 1)[-1], prior))
    project.mkdir()
    sid = nova_session.generate_session_id()
    path = str(nova_session.init_session_file(sid, project))
    for start in range(0, prior, 500):
        kernel.append_records(path, [EVENTS[i % len(EVENTS)] for i in range(start, min(prior, start + 500))], False)
    return sid, str(project), path


@pytest.fixture(autouse=True)
def restore_kernel():
    selected = sessions.kernel
    yield
    sessions.kernel = selected


def test_floor(measure, tmp_path):
    lines = [_python.encode(dict(type="event", id=i, **e)) + b"\n" for i, e in enumerate(EVENTS)]
    fd = os.open(str(tmp_path / "floor.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    cycle = Cycle(lines)
    measure.group, measure.extra_info["label"] = "append", "floor: os.write of a prebuilt line"
    try:
        measure.pedantic(lambda: os.write(fd, cycle.next()), rounds=ROUNDS, iterations=1, warmup_rounds=20)
    finally:
        os.close(fd)


def test_naive_stdlib(measure, tmp_path):
    path = str(tmp_path / "naive.jsonl")
    cycle = Cycle()

    def naive():
        record = {"type": "event", "id": cycle.index}
        record.update(cycle.next())
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

    measure.group, measure.extra_info["label"] = "append", "naive stdlib: json.dumps + open/write/close"
    measure.pedantic(naive, rounds=ROUNDS, iterations=1, warmup_rounds=20)


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_append_event(measure, tmp_path, backend):
    kernel = kernels()[backend]
    sid, project, _ = new_session(tmp_path, kernel)
    cycle = Cycle()
    measure.group, measure.extra_info["label"] = "append", "append_event, %s" % backend
    measure.pedantic(
        lambda: nova_session.append_event(sid, cycle.next(), project), rounds=ROUNDS, iterations=1, warmup_rounds=20
    )
    assert nova_session.read_session_events(sid, project)[-1]["id"] == cycle.index


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_session_writer(measure, tmp_path, backend):
    kernel = kernels()[backend]
    sid, project, _ = new_session(tmp_path, kernel)
    writer = nova_session.SessionWriter(sid, project, max_events=BATCH, max_bytes=1 << 30, max_delay=3600)
    cycle = Cycle()

    def batch():
        for _ in range(BATCH):
            writer.append(cycle.next())

    measure.group, measure.extra_info["label"] = "append", "SessionWriter, %s (per event)" % backend
    measure.extra_info["per"] = BATCH
    measure.pedantic(batch, rounds=max(5, ROUNDS // BATCH), iterations=1, warmup_rounds=1)
    writer.close()
    assert nova_session.read_session_events(sid, project)[-1]["id"] == cycle.index


@pytest.mark.parametrize("prior", [10, 5000])
@pytest.mark.parametrize("backend", ["rust", "python"])
def test_growth(measure, tmp_path, backend, prior):
    kernel = kernels()[backend]
    sid, project, path = new_session(tmp_path, kernel, prior)
    size = os.path.getsize(path)
    event = EVENTS[0]
    measure.group, measure.extra_info["label"] = "growth-%s" % backend, "append_event @ %d prior events" % prior
    note(measure.group, "file cut back before each append: the last id is read back from the file every time")
    measure.pedantic(
        lambda: nova_session.append_event(sid, event, project),
        setup=lambda: os.truncate(path, size),
        rounds=300,
        iterations=1,
        warmup_rounds=5,
    )
    assert nova_session.read_session_events(sid, project)[-1]["id"] == prior + 1
