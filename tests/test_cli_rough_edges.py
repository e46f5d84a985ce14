"""What a reviewer met trying the CLI: hostile names that forge rows, --json that drives
a terminal, a traceback on a refused directory, no --version, ``hook --help``, "1 errors",
and sessions spread over many projects."""

from __future__ import annotations

import json
import os

import pytest

import nova_session
from nova_session import cli, report

from test_reading import record_session, tool_event

# Control characters, C1, bidi overrides and isolates, line separators: none reaches a terminal.
HOSTILE_NAMES = [
    "Evil\nFAKE #99 row",
    "Bash\r\x1b[31mred",
    "Name\u202eRTL",
    "C1\x9b31m",
    "Iso\u2066late\u2069",
    "Sep\u2028line",
    "Tab\there\x7f",
]
RAW = set(map(chr, [*range(0x20), *range(0x7F, 0xA0)])) | set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
RAW |= {"\u2028", "\u2029", "\u061c", "\u200e", "\u200f"}


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "project"
    path.mkdir()
    return path


def run(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def hostile_session(project) -> str:
    events = [tool_event(number, tool=name) for number, name in enumerate(HOSTILE_NAMES, 1)]
    events[0]["tool_output"] = "out \x1b[2J\x9b\u202e"
    return record_session(project, events, end=False)


@pytest.mark.parametrize("command", ["show", "tail", "stats", "list"])
def test_text_output_escapes_every_control_and_bidi_character(project, capsys, command):
    sid = hostile_session(project)
    code, out, err = run(capsys, *([command] if command == "list" else [command, sid]), "--project", str(project))
    assert code == 0, err
    lines = out.splitlines()
    assert not RAW & set(out.replace("\n", "")), command
    assert not any("FAKE #99" in line and not line.startswith("#") and "\\x0a" not in line for line in lines)
    if command != "list":
        # Each hostile name is on one line, written out.
        assert "Evil\\x0aFAKE #99 row" in out and "Name\\u202eRTL" in out and "C1\\x9b31m" in out


@pytest.mark.parametrize("command", ["show", "tail", "stats", "list", "export", "report"])
def test_json_output_is_ascii_and_reads_back(project, capsys, command):
    sid = hostile_session(project)
    args = [command] if command == "list" else [command, sid]
    code, out, err = run(capsys, *args, "--json", "--project", str(project))
    assert code == 0, err
    assert out.isascii()
    values = [json.loads(line) for line in out.splitlines()] if command == "tail" else [json.loads(out)]
    if command in ("show", "tail", "export"):
        assert {"Evil\nFAKE #99 row", "Name\u202eRTL", "C1\x9b31m"} <= set(strings(values))


def strings(value):
    """Every str in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_report_into_a_symlinked_reports_directory_is_one_line(project, capsys, tmp_path):
    sid = record_session(project, [tool_event(1)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    reports = project / ".nova-protector" / "reports"
    if reports.is_dir():
        reports.rmdir()
    os.symlink(elsewhere, reports)
    code, out, err = run(capsys, "report", sid, "--project", str(project))
    assert code == 5 and out == ""
    assert err.count("\n") == 1 and "symbolic link" in err and "Traceback" not in err
    assert os.listdir(elsewhere) == []


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out == "nova-session %s (%s kernel)\n" % (nova_session.__version__, nova_session.BACKEND)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_hook_help_is_help(capsys, flag):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["hook", flag])
    out, err = capsys.readouterr()
    assert exit_.value.code == 0 and out.startswith("usage: nova-session hook") and "event" in out
    assert "not a hook event" not in err


def test_counts_read_as_english(project, capsys):
    sid = record_session(project, [tool_event(1, is_error=True)])
    session = nova_session.reading.load_session(str(project), sid)
    assert session["summary"]["errors"] == 1
    page = report.render_html(session)
    assert "<b>1</b>error<" in page and "<b>1</b>tool call<" in page and "1 errors" not in page
    markdown = report.render_markdown(session)
    assert "1 error," in markdown and "1 errors" not in markdown
    out = run(capsys, "show", sid, "--project", str(project))[1]
    assert "1 tool call," in out and "1 error" in out and "1 errors" not in out


def test_list_all_projects_finds_sessions_under_a_tree(tmp_path, capsys):
    top = tmp_path / "work"
    found = [top / "a", top / "a" / "nested", top / "b" / "deep" / "c"]
    for path in found:
        path.mkdir(parents=True)
        record_session(path, [tool_event(1)])
    ignored = [top / ".hidden", top / "node_modules" / "pkg"]
    for path in ignored:
        path.mkdir(parents=True)
        record_session(path, [tool_event(1)])
    os.symlink(top / "a", top / "link-to-a")  # not followed: a is listed once
    code, out, err = run(capsys, "list", "--all-projects", str(top))
    assert code == 0, err
    assert [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("project ")] == [
        str(path) for path in found
    ]
    code, out, err = run(capsys, "list", "--all-projects", str(top), "--json")
    projects = json.loads(out)["projects"]
    assert [item["project"] for item in projects] == [str(path) for path in found]
    assert all(len(item["sessions"]) == 1 for item in projects)
    code, out, err = run(capsys, "list", "--all-projects", str(tmp_path / "empty-nothing"))
    assert code == 3 and "does not exist" in err
    (tmp_path / "bare").mkdir()
    code, out, err = run(capsys, "list", "--all-projects", str(tmp_path / "bare"))
    assert code == 0 and out.startswith("no project with recorded sessions under")
