"""Reading a session and rendering its HTML report, on a 5,000-event session; and at
100,000 events, writing the report and opening it in headless chromium.

Group ``report`` (ratios to the baseline: reading the file with ``json.loads``
per line, the least any reader does):
- ``reading.summarize``: the streaming pass ``list`` makes per session;
- ``reading.load_session``: the whole session object (``show``, ``export``);
- ``report.render_html``: the HTML of an already loaded session;
- ``report.write_report``: read, render and write atomically, as ``nova-session report`` does.

Group ``report-100k`` (ratios to chromium dumping an empty page, its startup): the
write, and chromium until the page says ``data-report-state="ready"`` (and with a
full-text search through ``#search=``); timed only by ``make bench``.

The events are the realistic workload of workload.py (about 5 KB each, up to
~50 KB), cycled to 5,000, so the session file is about 25 MB.
"""

from __future__ import annotations

import json

import pytest

import nova_session
from nova_session import _python, reading, report

from .conftest import BASELINES, note, timing
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
    assert '"records":%d,' % (COUNT + 2) in document


def test_write_report(measure, big_session):
    root, sid, _ = big_session
    measure.group, measure.extra_info["label"] = GROUP, "report.write_report (read, render, write)"
    path = measure.pedantic(report.write_report, args=(root, sid), rounds=3, iterations=1)
    assert path.endswith(sid + ".html")


# ------------------------------------------------ 100,000 events, in a browser

BIG = 100_000
BIG_GROUP = "report-100k"
BIG_BASELINE = "chromium --dump-dom of an empty page"
BASELINES.setdefault(BIG_GROUP, BIG_BASELINE)
# Small payloads (the workload's 200-byte floor; about 1.3 KB per event with the fixed fields):
# at the default 5 KB median, 100,000 events are a 790 MB session file.
BIG_MEDIAN = 200


@pytest.fixture(scope="module")
def huge_session(tmp_path_factory, request):
    from .conftest import kernels

    config = request.config
    # make test runs the benches once as a smoke test, on 1,000 events: tests/report/test_html.py
    # already opens a 100,000-event report in chromium, so that minute is spent by make bench.
    count = BIG if timing(config) else 1_000
    project = tmp_path_factory.mktemp("report-bench-100k")
    sid = nova_session.generate_session_id()
    path = str(nova_session.init_session_file(sid, project))
    workload = events(median=BIG_MEDIAN)
    append = kernels()["rust"].append_records
    for start in range(0, count, 1_000):
        append(path, [dict(workload[i % len(workload)], type="event") for i in range(start, start + 1_000)], False)
    nova_session.finalize_session(sid, project, reason="logout")
    return reading.project_root(str(project)), sid, path, count


def _chromium(url: str, profile: str) -> str:
    """The DOM chromium holds once the page has loaded and run out of work (a 10 s budget of
    virtual time: timers are skipped, real work is not): the wall time of this process is
    startup plus parsing plus the script up to data-report-state="ready"."""
    import shutil
    import subprocess

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (make browser)")
    args = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions"]
    args += ["--user-data-dir=%s" % profile, "--virtual-time-budget=10000", "--dump-dom", url]
    proc = subprocess.run([chromium] + args, capture_output=True, timeout=600, check=True)
    return proc.stdout.decode("utf-8", "replace")


def test_big_write_report(measure, huge_session):
    import os

    root, sid, path, count = huge_session
    measure.group, measure.extra_info["label"] = BIG_GROUP, "report.write_report, 100k events"
    report_path = measure.pedantic(report.write_report, args=(root, sid), rounds=2, iterations=1)
    note(
        BIG_GROUP,
        "%d events, session file %.0f MB, report %.1f MB"
        % (count, os.path.getsize(path) / 1e6, os.path.getsize(report_path) / 1e6),
    )


def test_big_chromium_empty_page(measure, tmp_path):
    page = tmp_path / "empty.html"
    page.write_text("<!DOCTYPE html><title>empty</title><p>empty</p>")
    measure.group, measure.extra_info["label"] = BIG_GROUP, BIG_BASELINE
    dom = measure.pedantic(_chromium, args=("file://%s" % page, str(tmp_path / "profile")), rounds=3, iterations=1)
    assert "empty" in dom


@pytest.fixture(scope="module")
def huge_report(huge_session) -> tuple:
    root, sid, _, count = huge_session
    return "file://" + report.write_report(root, sid), count


def test_big_chromium_ready(measure, huge_report, tmp_path):
    url, count = huge_report
    measure.group, measure.extra_info["label"] = BIG_GROUP, "chromium: 100k report until ready"
    dom = measure.pedantic(_chromium, args=(url, str(tmp_path / "profile")), rounds=3, iterations=1)
    assert 'data-report-state="ready"' in dom and "%d of %d records shown" % (count + 2, count + 2) in dom
    note(
        BIG_GROUP,
        "time to interactive = chromium until ready minus the empty page (startup); targets: write < 5 s, interactive < 3 s",
    )


def test_big_chromium_search(measure, huge_report, tmp_path):
    url = huge_report[0] + "#search=pytest%20-q%20tests/test_172.py"
    measure.group, measure.extra_info["label"] = BIG_GROUP, "chromium: 100k report, ready + full-text search"
    dom = measure.pedantic(_chromium, args=(url, str(tmp_path / "profile")), rounds=3, iterations=1)
    assert 'data-report-state="ready"' in dom and "records shown" in dom
