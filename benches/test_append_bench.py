"""Appending events: both kernels against the real alternatives and the floor.

Group ``append`` (ratios to "orjson.dumps + os.write", all per event, on the
workload of workload.py, every case in the same run):
- baseline: ``orjson.dumps`` of the event with a newline, one ``os.write`` to an
  O_APPEND file kept open (no lock, no id, no chain; orjson is a
  benchmark-only dependency);
- floor: one ``os.write`` of the same prebuilt line;
- stdlib: ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` + one
  ``os.write``, the file kept open; and the naive stdlib writer (open, write,
  close per event);
- ``append_event`` on the Rust and the Python kernel (open, lock, id, chain,
  one write, close, per event), with the plain sha256 chain and with the
  keyed (HMAC) chain of NOVA_SESSION_CHAIN_KEY_FILE. The chain is always on:
  the library has no switch to write without it, so the baseline (no chain,
  no id, no lock) is the "off" reference;
- ``append_event`` with redaction on (``SessionManager.redact``; the module
  function never redacts), and with the NOVA scan and redaction as the hooks
  apply them (``scanner.apply`` then ``guard.redact.apply``: scanning exists
  only in the hook layer, where test_hook_process_bench.py also switches both
  off); the workload holds no secret, so this is the cost of looking;
- ``SessionWriter`` on both kernels and both chains, per event, batches of
  256 (one locked write each).

Groups ``growth-rust`` / ``growth-python``: ``append_event`` into a session
that holds 10 and 5,000 prior events (ending with the same event), the two
in turn within each round; the ratio printed for 5,000 is 5,000/10. Before
each timed append the file is cut back to its prepared size, so the writer
cannot know the last id and must find it by reading the file back, as a
fresh hook process does.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import orjson
import pytest

import nova_session
from nova_session import _python, scanner, sessions
from nova_session.guard import redact

from .conftest import kernels, note, record, timing
from .workload import events

EVENTS = events()
ROUNDS = 1500
# the cases that scan or redact: the fallback kernel takes milliseconds per event there
GUARDED_ROUNDS = 200
BATCH = 256
GROUP = "append"
SECRET = "ghp_0123456789abcdefghijABCDEFGHIJ0123456"


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
    # The prior events end with the same event whatever their number: the last line is
    # the one an append reads back and hashes, so sessions of any size compare alike.
    for start in range(0, prior, 500):
        batch = [EVENTS[(i - prior) % len(EVENTS)] for i in range(start, min(prior, start + 500))]
        kernel.append_records(path, batch, False)
    return sid, str(project), path


def last_record(path: str) -> dict:
    with open(path, "rb") as handle:
        return json.loads(handle.read().splitlines()[-1])


def open_append(path) -> int:
    return os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


@pytest.fixture(autouse=True)
def restore_kernel():
    selected = sessions.kernel
    yield
    sessions.kernel = selected


@pytest.fixture(params=["plain", "keyed"])
def chain(request, tmp_path, monkeypatch):
    """The chain the writers use: plain sha256 (no key file), or HMAC keyed with a 0600 key file."""
    if request.param == "keyed":
        key = tmp_path / "chain.key"
        fd = os.open(str(key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, bytes(range(32)))
        os.close(fd)
        monkeypatch.setenv(sessions.CHAIN_KEY_VAR, str(key))
    else:
        monkeypatch.delenv(sessions.CHAIN_KEY_VAR, raising=False)
    return request.param


def assert_chained(path: str, chain: str) -> None:
    prev = last_record(path)["prev"]
    assert prev.startswith("hmac-sha256:" if chain == "keyed" else "sha256:"), prev


def test_orjson_write(measure, tmp_path):
    fd = open_append(tmp_path / "orjson.jsonl")
    cycle = Cycle()
    measure.group, measure.extra_info["label"] = GROUP, "orjson.dumps + os.write"
    note(GROUP, "per event; the file kept open (O_APPEND) by the baseline, floor and stdlib + os.write")
    try:
        measure.pedantic(
            lambda: os.write(fd, orjson.dumps(cycle.next(), option=orjson.OPT_APPEND_NEWLINE)),
            rounds=ROUNDS,
            iterations=1,
            warmup_rounds=20,
        )
    finally:
        os.close(fd)
    assert last_record(str(tmp_path / "orjson.jsonl")) == EVENTS[(cycle.index - 1) % len(EVENTS)]


def test_floor(measure, tmp_path):
    lines = [_python.encode(dict(type="event", id=i, **e)) + b"\n" for i, e in enumerate(EVENTS)]
    fd = open_append(tmp_path / "floor.jsonl")
    cycle = Cycle(lines)
    measure.group, measure.extra_info["label"] = GROUP, "floor: os.write of a prebuilt line"
    try:
        measure.pedantic(lambda: os.write(fd, cycle.next()), rounds=ROUNDS, iterations=1, warmup_rounds=20)
    finally:
        os.close(fd)
    assert os.path.getsize(tmp_path / "floor.jsonl") == sum(len(lines[i % len(lines)]) for i in range(cycle.index))


def test_stdlib_write(measure, tmp_path):
    fd = open_append(tmp_path / "stdlib.jsonl")
    cycle = Cycle()

    def write():
        os.write(fd, json.dumps(cycle.next(), ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")

    measure.group, measure.extra_info["label"] = GROUP, "stdlib json.dumps + os.write"
    try:
        measure.pedantic(write, rounds=ROUNDS, iterations=1, warmup_rounds=20)
    finally:
        os.close(fd)
    assert last_record(str(tmp_path / "stdlib.jsonl")) == EVENTS[(cycle.index - 1) % len(EVENTS)]


def test_naive_stdlib(measure, tmp_path):
    path = str(tmp_path / "naive.jsonl")
    cycle = Cycle()

    def naive():
        record = {"type": "event", "id": cycle.index}
        record.update(cycle.next())
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

    measure.group, measure.extra_info["label"] = GROUP, "naive stdlib: json.dumps + open/write/close"
    measure.pedantic(naive, rounds=ROUNDS, iterations=1, warmup_rounds=20)
    assert last_record(path)["id"] == cycle.index - 1


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_append_event(measure, tmp_path, backend, chain):
    kernel = kernels()[backend]
    sid, project, path = new_session(tmp_path, kernel)
    cycle = Cycle()
    measure.group, measure.extra_info["label"] = GROUP, "append_event, %s, %s chain" % (backend, chain)
    measure.pedantic(
        lambda: nova_session.append_event(sid, cycle.next(), project), rounds=ROUNDS, iterations=1, warmup_rounds=20
    )
    assert nova_session.read_session_events(sid, project)[-1]["id"] == cycle.index
    assert_chained(path, chain)


def scan_and_redact(event: dict) -> dict:
    """What the hooks do to a tool event before writing it: the NOVA scan fills the
    verdict fields (on the raw text), then the secrets are redacted."""
    record = dict(event)
    scanner.apply(record)
    redact.apply(record)
    return record


@pytest.mark.parametrize("guard", ["redaction on", "scan + redaction on (hook path)"])
@pytest.mark.parametrize("backend", ["rust", "python"])
def test_append_event_guarded(measure, tmp_path, monkeypatch, backend, guard):
    for variable in (redact.SWITCH_ENV, scanner.SWITCH_VAR, scanner.SCANNER_VAR, redact.RULES_ENV):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv(sessions.CHAIN_KEY_VAR, raising=False)
    kernel = kernels()[backend]
    sid, project, path = new_session(tmp_path, kernel)
    cycle = Cycle()
    if guard == "redaction on":
        manager = nova_session.SessionManager(project)
        manager.redact = True

        def append(event):
            return manager.append_event(sid, event)
    else:

        def append(event):
            return nova_session.append_event(sid, scan_and_redact(event), project)

    measure.group, measure.extra_info["label"] = GROUP, "append_event, %s, plain chain, %s" % (backend, guard)
    measure.pedantic(lambda: append(cycle.next()), rounds=GUARDED_ROUNDS, iterations=1, warmup_rounds=5)
    assert nova_session.read_session_events(sid, project)[-1]["id"] == cycle.index
    # the same path with a secret in it: redacted, and (hook path) scanned
    assert append(dict(EVENTS[0], tool_output="token=%s" % SECRET))
    written = last_record(path)
    assert SECRET not in json.dumps(written) and written["redactions"], written.get("redactions")
    if guard != "redaction on":
        assert written["nova_verdict"] == "allowed" and written["nova_scan_time_ms"] > 0


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_session_writer(measure, tmp_path, backend, chain):
    kernel = kernels()[backend]
    sid, project, path = new_session(tmp_path, kernel)
    writer = nova_session.SessionWriter(sid, project, max_events=BATCH, max_bytes=1 << 30, max_delay=3600)
    cycle = Cycle()

    def batch():
        for _ in range(BATCH):
            writer.append(cycle.next())

    measure.group, measure.extra_info["label"] = GROUP, "SessionWriter, %s, %s chain (per event)" % (backend, chain)
    measure.extra_info["per"] = BATCH
    measure.pedantic(batch, rounds=max(5, ROUNDS // BATCH), iterations=1, warmup_rounds=1)
    writer.close()
    assert nova_session.read_session_events(sid, project)[-1]["id"] == cycle.index
    assert_chained(path, chain)


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_growth(pytestconfig, tmp_path, backend, monkeypatch):
    """The two sizes in turn within each round (a drift of the machine falls on both)."""
    monkeypatch.delenv(sessions.CHAIN_KEY_VAR, raising=False)
    timed = timing(pytestconfig)
    rounds, warmup = (300, 5) if timed else (1, 0)
    kernel = kernels()[backend]
    cases = {}
    for prior in (10, 5000):
        sid, project, path = new_session(tmp_path, kernel, prior)
        cases["append_event @ %d prior events" % prior] = (sid, project, path, os.path.getsize(path), prior)
    times: dict = {label: [] for label in cases}
    event = EVENTS[0]
    for number in range(warmup + rounds):
        for label, (sid, project, path, size, _) in cases.items():
            os.truncate(path, size)
            start = time.perf_counter()
            assert nova_session.append_event(sid, event, project)
            if number >= warmup:
                times[label].append(time.perf_counter() - start)
    for sid, project, _, _, prior in cases.values():
        assert nova_session.read_session_events(sid, project)[-1]["id"] == prior + 1
    if timed:
        group = "growth-%s" % backend
        note(group, "file cut back before each append: the last id is read back from the file every time")
        note(group, "the ratio of the 5,000 case is 5,000/10 (plain chain); the two sizes in turn, %d rounds" % rounds)
        for label in cases:
            record(group, label, statistics.median(times[label]))
