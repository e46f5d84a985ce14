"""The text picture of a session (``nova_session.read.timeline``) that ``show`` prints."""

from __future__ import annotations

from nova_session import cli
from nova_session.read.timeline import WIDTH, text_timeline

from test_reading import record_session


def at(second: float) -> str:
    return "2026-01-10T16:30:%06.3fZ" % second


def call(number, start, end, **extra):
    record = {"type": "event", "id": number, "tool_use_id": "t%d" % number, "tool_name": "Bash"}
    record.update({"timestamp_start": at(start), "timestamp_end": at(end), "nova_verdict": "allowed"})
    record.update(extra)
    return record


def lanes(lines):
    return {line[:14].strip(): line[15:-1] for line in lines if line[14:15] == "|" and line[:14].strip()}


def test_bars_lanes_markers_and_overlaps():
    events = [
        {"type": "user_prompt", "id": 1, "timestamp": at(0)},
        call(2, 0, 10),
        call(3, 5, 15),  # overlaps 2: a second row of the main lane
        call(4, 20, 21, is_error=True),
        call(5, 30, 31, nova_verdict="blocked"),
        call(6, 40, 50, agent_id="a1", agent_type="reviewer"),
        {"type": "tool_start", "id": 7, "tool_use_id": "t7", "tool_name": "Write", "timestamp": at(55)},
        {"type": "tool_start", "id": 8, "tool_use_id": "t2", "tool_name": "Bash", "timestamp": at(0)},  # finished
        {"type": "user_prompt", "id": 9, "timestamp": at(59)},
    ]
    lines = text_timeline(events)
    assert lines[0].startswith("timeline") and "0 s to 59 s" in lines[0]
    drawn = lanes(lines)
    assert drawn["prompts"][0] == "P" and drawn["prompts"][-1] == "P" and drawn["prompts"].count("P") == 2
    main = drawn["main"]
    assert len(main) == WIDTH and main.startswith("=") and "x" in main and "!" in main and main.endswith("?")
    second = lines[lines.index(next(line for line in lines if line.startswith("main"))) + 1]
    assert second.startswith(" " * 14 + "|") and "=" in second  # the overlapping call, side by side
    assert set(drawn["agent reviewer"].strip()) == {"="}
    assert "never finished" in lines[-1]


def test_more_overlaps_than_rows_are_counted_and_no_times_draw_nothing():
    lines = text_timeline([call(n, 0, 10) for n in range(1, 8)])
    assert sum(1 for line in lines if "=" * 10 in line) == 4
    assert any("3 more overlapping call(s) not drawn" in line for line in lines)
    assert text_timeline([{"type": "event", "id": 1, "tool_name": "Read"}, "junk"]) == []


def test_show_prints_the_picture_escaped(tmp_path, capsys):
    project = tmp_path / "p"
    project.mkdir()
    sid = record_session(project, [call(1, 0, 2, agent_id="a", agent_type="x\n\x1b[2J")])
    assert cli.main(["show", sid, "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\nagent x\\x0a\\x1b[2J" in out
    assert "timeline" in out and "= finished" in out
