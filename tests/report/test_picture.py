"""The report's picture (``nova_session.report.picture``): an inline SVG of the calls on a time
axis and small charts; inert (shapes, text and in-page links only), every text escaped,
small at 100,000 events."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ElementTree

from nova_session.report import esc, picture


def at(second: float) -> str:
    return "2026-01-10T16:%02d:%06.3fZ" % (second // 60, second % 60)


def call(number, start, end, **extra):
    record = {"type": "event", "id": number, "tool_use_id": "t%d" % number, "tool_name": "Bash"}
    record.update({"timestamp_start": at(start), "timestamp_end": at(end), "nova_verdict": "allowed"})
    record.update({"tool_input": {"command": "ls"}, "duration_ms": int((end - start) * 1000)})
    record.update(extra)
    return record


HOSTILE = '</svg><script>alert(1)</script><img src=x onerror=alert(2)>"\x1b[2J'


def test_the_picture_links_every_call_and_escapes_every_text():
    events = [
        {"type": "user_prompt", "id": 1, "timestamp": at(0), "prompt": HOSTILE},
        call(2, 0, 10, tool_name=HOSTILE),
        call(3, 5, 15, is_error=True),
        call(4, 20, 30, nova_verdict="blocked", agent_id="a", agent_type=HOSTILE),
        {"type": "tool_start", "id": 5, "tool_use_id": "t5", "tool_name": "Write", "timestamp": at(40)},
    ]
    svg = picture.svg_timeline(events, esc)
    root = ElementTree.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    tags = {element.tag.split("}")[1] for element in root.iter()}
    assert tags <= {"svg", "title", "a", "rect", "path", "text"}
    links = [a.get("href") for a in root.iter("{http://www.w3.org/2000/svg}a")]
    assert sorted(links) == ["#r-1", "#r-2", "#r-3", "#r-4", "#r-5"]
    assert "<script" not in svg and "onerror=" not in svg.replace("onerror=alert", "") and "\x1b" not in svg
    assert "&lt;script&gt;" in svg
    fills = re.findall(r'fill="(#[0-9a-f]{6})"', svg)
    assert {picture.COLOURS[mark] for mark in "=x!?"} <= set(fills)


def test_charts_are_inert_and_escaped():
    events = [call(n, n, n + 0.05, tool_name=HOSTILE if n % 2 else "Read", nova_verdict="warned") for n in range(1, 30)]
    charts = picture.charts(events, esc)
    assert charts.count("<svg") == 3 and "<script" not in charts and "\x1b" not in charts
    for svg in re.findall(r"<svg.*?</svg>", charts):
        ElementTree.fromstring(svg)


def test_the_picture_stays_small_at_100000_events():
    events = [call(n, n * 0.03, n * 0.03 + 0.02) for n in range(1, 100_001)]
    started = time.perf_counter()
    svg = picture.svg_timeline(events, esc)
    elapsed = time.perf_counter() - started
    assert len(svg) < 200_000 and svg.count("<rect") <= picture.COLUMNS * 4
    assert elapsed < 20  # a bound against a quadratic layout (seconds then), not a timing target
    assert picture.svg_timeline([{"type": "event", "id": 1}], esc) == ""


def test_the_report_shows_the_picture_and_charts(tmp_path):
    from nova_session import reading, report

    from test_reading import record_session

    project = tmp_path / "p"
    project.mkdir()
    sid = record_session(project, [call(1, 0, 2), call(2, 3, 4, tool_name="Read", is_error=True)])
    page = report.render_html(reading.load_session(str(project), sid))
    # The timeline, calls per tool and durations (no verdict to look at: no third chart).
    pictures = page.split('<section class="pictures"', 1)[1].split("</section>", 1)[0]
    assert pictures.count("<svg") == 3 and 'href="#r-1"' in pictures and 'href="#r-2"' in pictures
    assert "<script" not in pictures and "style=" not in pictures  # shapes only, under the page's CSP
