"""Reading a session and rendering its HTML report, on a 5,000-event session.

Group ``report`` (ratios to the baseline: reading the file with ``json.loads``
per line, the least any reader does):
- ``reading.summarize``: the streaming pass ``list`` makes per session;
- ``reading.load_session``: the whole session object (``show``, ``export``);
- ``report.render_html``: the HTML of an already loaded session;
- ``report.write_report``: read, render and write atomically, as ``nova-session report`` does.

The events are the realistic workload of workload.py (about 5 KB each, up to
~50 KB), cycled to 5,000, so the session file is about 25 MB.
"""

from __future__ import annotations

import json

import pytest

import nova_session
from nova_session import _python, reading, report

from .conftest import BASELINES, note
from .workload import events

COUNT = 5000
GROUP = "report"
BASELINE = "floor: read + json.loads per line"
BASELINES.setdefault(GROUP, BASELINE)


@pytest.fixture(scope="module")
def big_session(tmp_path_factory):
    project = tmp_path_factory.mktemp("report-bench")
    sid = nova_session.generate_session_id()
    path = str(nova_session.init_session_file(sid, project))
    workload = events()
    for start in range(0, COUNT, 500):
        batch = [dict(workload[i % len(workload)], type="event") for i in range(start, start + 500)]
        _python.append_records(path, batch, False)
    nova_session.finalize_session(sid, project, reason="logout")
    return reading.project_root(str(project)), sid, path


def _describe(path: str) -> None:
    import os

    note(GROUP, "%d events, session file %.1f MB" % (COUNT, os.path.getsize(path) / 1e6))


def test_floor_json_loads(measure, big_session):
    _, _, path = big_session
    _describe(path)

    def read():
        with open(path, "rb") as handle:
            return [json.loads(line) for line in handle]

    measure.group, measure.extra_info["label"] = GROUP, BASELINE
    assert len(measure.pedantic(read, rounds=5, iterations=1)) == COUNT + 2


def test_summarize(measure, big_session):
    root, sid, _ = big_session
    measure.group, measure.extra_info["label"] = GROUP, "reading.summarize (streaming)"
    assert measure.pedantic(reading.summarize, args=(root, sid), rounds=5, iterations=1)["tool_calls"] == COUNT


def test_load_session(measure, big_session):
    root, sid, _ = big_session
    measure.group, measure.extra_info["label"] = GROUP, "reading.load_session"
    assert len(measure.pedantic(reading.load_session, args=(root, sid), rounds=5, iterations=1)["events"]) == COUNT


def test_render_html(measure, big_session):
    root, sid, _ = big_session
    session = reading.load_session(root, sid)
    measure.group, measure.extra_info["label"] = GROUP, "report.render_html (loaded session)"
    document = measure.pedantic(report.render_html, args=(session,), rounds=3, iterations=1)
    assert document.count('data-tool="') == COUNT + 2


def test_write_report(measure, big_session):
    root, sid, _ = big_session
    measure.group, measure.extra_info["label"] = GROUP, "report.write_report (read, render, write)"
    path = measure.pedantic(report.write_report, args=(root, sid), rounds=3, iterations=1)
    assert path.endswith(sid + ".html")
