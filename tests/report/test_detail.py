"""The report's record detail panel in a real headless Chromium: edits (Edit, MultiEdit,
Write, NotebookEdit) drawn as diffs, prompts as text; hostile strings stay inert text with
control and bidi characters written out; a huge edit is drawn within bounds."""

from __future__ import annotations

import html
import re
import time

import test_html
from test_html import HOSTILE_OUTPUT, HOSTILE_TOOL, dump_dom

from nova_session import reading, report

from test_reading import record_session, tool_event

chromium = test_html.chromium  # the browser fixture, shared with the other browser tests

LINE = re.compile(
    r'<span class="dl d-(\w+)">(?:<span class="ln">(\d*)</span><span class="ln">(\d*)</span>)?([^<]*)</span>'
)
PATCH = [
    {
        "oldStart": 10,
        "oldLines": 3,
        "newStart": 10,
        "newLines": 3,
        "lines": [" keep", "-return 1", "+return 2", " end"],
    },
    {"oldStart": 40, "oldLines": 1, "newStart": 40, "newLines": 2, "lines": [" x = 1", "+y = 2"]},
]


def panel(browser: str, path: str, tmp_path, anchor: str) -> str:
    """The detail panel once the report opened the record at that anchor."""
    dom = dump_dom(browser, path, tmp_path, "#" + anchor)
    assert 'data-report-state="ready"' in dom, dom[-2000:]
    assert not re.search(r'\sdata-pwned="', dom)  # no handler or script from the session ran
    found = re.search(r'<section id="detail"[^>]*data-record="%s".*?</section>' % anchor, dom, re.S)
    assert found is not None, dom[-3000:]
    return found.group()


def lines(section: str) -> list:
    """The diff's lines as (kind, old number, new number, text)."""
    return [(kind, old, new, html.unescape(text)) for kind, old, new, text in LINE.findall(section)]


def write_report(project, events) -> str:
    return report.write_report(reading.project_root(str(project)), record_session(project, events))


def test_edits_writes_and_prompts_in_the_detail_panel(chromium, project, tmp_path):
    edit = {"file_path": "/p/app.py", "old_string": "a\nb\nc\nd\ne", "new_string": "a\nx\nc\nd\ny\ne\n"}
    many = "\n".join("line %d" % n for n in range(20))
    path = write_report(
        project,
        [
            {"type": "user_prompt", "prompt": "fix the parser\n\n  then run the tests"},
            tool_event(2, "Edit", tool_input=edit, tool_output={"filePath": "/p/app.py", "structuredPatch": []}),
            tool_event(3, "Edit", tool_input=dict(edit, old_string="a"), tool_output={"structuredPatch": PATCH}),
            tool_event(
                4,
                "MultiEdit",
                tool_input={
                    "file_path": "/p/m.py",
                    "edits": [
                        {"old_string": "one", "new_string": "uno"},
                        {"old_string": many, "new_string": many.replace("line 10", "line ten"), "replace_all": True},
                    ],
                },
            ),
            tool_event(5, "Write", tool_input={"file_path": "/p/new.txt", "content": "first\nsecond\n"}),
            tool_event(
                6,
                "Write",
                tool_input={"file_path": "/p/old.txt", "content": "kept\nnew\n"},
                tool_output={"type": "update", "originalFile": "kept\nold\n", "structuredPatch": "not a patch"},
            ),
            tool_event(
                7, "NotebookEdit", tool_input={"notebook_path": "/p/n.ipynb", "cell_id": "c1", "new_source": "1+1"}
            ),
        ],
    )
    # A prompt is text: its line breaks are line breaks, not "\n" in a JSON string.
    prompt = panel(chromium, path, tmp_path, "r-1")
    assert "<h3>Prompt</h3>" in prompt and "fix the parser\n\n  then run the tests</div>" in prompt
    assert '<div class="prose">' in prompt and "fix the parser\\n" not in prompt and "<h3>Record</h3>" in prompt
    # old_string -> new_string as a line diff; the input is still there, folded.
    drawn = panel(chromium, path, tmp_path, "r-2")
    assert '<div class="diff-file">/p/app.py</div>' in drawn and "<h3>Change</h3>" in drawn
    assert [(kind, text) for kind, _, _, text in lines(drawn)] == [
        ("ctx", " a"),
        ("del", "-b"),
        ("add", "+x"),
        ("ctx", " c"),
        ("ctx", " d"),
        ("add", "+y"),
        ("ctx", " e"),
    ]
    assert '<details class="raw"><summary>Input</summary><pre>' in drawn
    # The tool's structuredPatch wins: hunks with the file's line numbers.
    assert lines(panel(chromium, path, tmp_path, "r-3")) == [
        ("hunk", "", "", "@@ -10,3 +10,3 @@"),
        ("ctx", "10", "10", " keep"),
        ("del", "11", "", "-return 1"),
        ("add", "", "11", "+return 2"),
        ("ctx", "12", "12", " end"),
        ("hunk", "", "", "@@ -40,1 +40,2 @@"),
        ("ctx", "40", "40", " x = 1"),
        ("add", "", "41", "+y = 2"),
    ]
    # MultiEdit: one hunk per edit; unchanged lines beyond three around a change are folded.
    multi = [(kind, text) for kind, _, _, text in lines(panel(chromium, path, tmp_path, "r-4"))]
    assert multi == [
        ("hunk", "@@ edit 1 of 2 @@"),
        ("del", "-one"),
        ("add", "+uno"),
        ("hunk", "@@ edit 2 of 2, every occurrence @@"),
        ("gap", "\u22ef 7 unchanged lines"),
        ("ctx", " line 7"),
        ("ctx", " line 8"),
        ("ctx", " line 9"),
        ("del", "-line 10"),
        ("add", "+line ten"),
        ("ctx", " line 11"),
        ("ctx", " line 12"),
        ("ctx", " line 13"),
        ("gap", "\u22ef 6 unchanged lines"),
    ]
    # A new file: every line added. A rewrite without a usable patch: compared with the original.
    created = panel(chromium, path, tmp_path, "r-5")
    assert [(k, t) for k, _, _, t in lines(created)] == [("add", "+first"), ("add", "+second")]
    assert "every line is new" in created
    assert [(k, t) for k, _, _, t in lines(panel(chromium, path, tmp_path, "r-6"))] == [
        ("ctx", " kept"),
        ("del", "-old"),
        ("add", "+new"),
    ]
    notebook = panel(chromium, path, tmp_path, "r-7")
    assert '<div class="diff-file">/p/n.ipynb</div>' in notebook and lines(notebook) == [("add", "", "", "+1+1")]


def test_hostile_edits_stay_inert_text(chromium, project, tmp_path):
    bidi = "access\u202e\u2066 = 'user' \u2069\u2066// admin\u2069"
    hostile = "%s\n%s\n\x1b[31mred\x1b[0m\x07\x00 %s\r\n" % (HOSTILE_TOOL, HOSTILE_OUTPUT, bidi)
    file_path = "/p/" + HOSTILE_OUTPUT + "\u202egnp.exe"
    path = write_report(
        project,
        [
            tool_event(1, "Edit", tool_input={"file_path": file_path, "old_string": hostile, "new_string": "safe"}),
            tool_event(
                2,
                "Edit",
                tool_input={"file_path": file_path, "old_string": "a", "new_string": "b"},
                tool_output={"structuredPatch": [{"oldStart": "<b>", "lines": ["-" + hostile, "+" + HOSTILE_TOOL]}]},
            ),
            tool_event(3, "MultiEdit", tool_input={"file_path": 7, "edits": [None, {"new_string": hostile}, "x"]}),
            tool_event(4, "Write", tool_input={"file_path": file_path, "content": hostile}),
            tool_event(5, "Edit", tool_input="not an object", tool_output={"structuredPatch": [{"lines": [1]}]}),
            {"type": "user_prompt", "prompt": hostile},
            tool_event(7, "NotebookEdit", tool_input={"notebook_path": 1, "cell_id": bidi, "edit_mode": "delete"}),
            tool_event(
                8, "Edit", tool_input={"file_path": "/p/x", "old_string": "x", "new_string": "y"}, is_error=True
            ),
        ],
    )
    for anchor in ("r-1", "r-2", "r-3", "r-4", "r-6"):
        section = panel(chromium, path, tmp_path, anchor)
        # Markup from the session is text: escaped in the DOM, never an element.
        assert "&lt;/script&gt;&lt;script&gt;document.body" in section and "&lt;img src=x onerror=" in section
        assert "<img" not in section and "<script" not in section
        # Control and bidi characters are written out, not passed to the page.
        for raw, shown in (("\x1b", "\\x1b[31m"), ("\x07", "\\x07"), ("\x00", "\\x00"), ("\u202e", "\\u202e")):
            assert raw not in section and shown in section, (anchor, shown)
        assert "\u2066" not in section and "\\u2066" in section
    assert "gnp.exe</div>" in panel(chromium, path, tmp_path, "r-1")
    # A carriage return in an edited line is shown, not hidden.
    assert "\\u2069\\r</span>" in panel(chromium, path, tmp_path, "r-4")
    # The malformed patch's odd fields are only text; a non-string path is not a heading.
    assert "@@ -?,? +?,? @@" in panel(chromium, path, tmp_path, "r-2")
    shapes = panel(chromium, path, tmp_path, "r-3")
    assert "(no file path)" in shapes and "edit 1: no old_string or new_string recorded" in shapes
    # A note made of session text is written out too; a failed edit says so.
    notebook = panel(chromium, path, tmp_path, "r-7")
    assert "Cell access\\u202e\\u2066 = 'user' \\u2069\\u2066// admin\\u2069, delete" in notebook
    assert "\u202e" not in notebook and "no line changed" in notebook
    assert "The call failed" in panel(chromium, path, tmp_path, "r-8")
    # A record no diff can be drawn from is shown as it was before: its input and output.
    odd = panel(chromium, path, tmp_path, "r-5")
    assert "<h3>Change</h3>" not in odd and "<h3>Input</h3><pre" in odd and "not an object" in odd


def test_a_huge_edit_is_drawn_within_bounds(chromium, project, tmp_path):
    """20,000 lines each side, every one changed: too many to compare line by line, so
    shown as removed then added, and only the first 5,000 lines drawn."""
    old = "".join("o%d\n" % n for n in range(20_000))
    new = "".join("n%d\n" % n for n in range(20_000))
    square = "".join("s%d\n" % n for n in range(2_000))  # 2,000 x 2,000: compared line by line
    path = write_report(
        project,
        [
            tool_event(1),
            tool_event(2, "Edit", tool_input={"file_path": "/p/big.py", "old_string": old, "new_string": new}),
            tool_event(3, "Edit", tool_input={"file_path": "/p/sq.py", "old_string": square, "new_string": new[:9000]}),
            tool_event(
                4,
                "MultiEdit",
                tool_input={"file_path": "/p/m.py", "edits": [{"old_string": "a", "new_string": "b"}] * 10_000},
            ),
        ],
    )
    began = time.monotonic()
    panel(chromium, path, tmp_path, "r-1")
    small = time.monotonic() - began
    began = time.monotonic()
    section = panel(chromium, path, tmp_path, "r-2")
    huge = time.monotonic() - began
    drawn = lines(section)
    assert len(drawn) == 5000 and all(kind == "del" for kind, _, _, _ in drawn)
    assert drawn[0][3] == "-o0" and drawn[-1][3] == "-o4999"
    assert "Too large to compare line by line" in section and "35000 more lines not drawn" in section
    assert huge < small + 6, (huge, small)
    compared = panel(chromium, path, tmp_path, "r-3")
    assert "Too large to compare" not in compared
    kinds = [kind for kind, _, _, _ in lines(compared)]
    assert kinds.count("del") == 2000 and kinds.count("add") == len(new[:9000].splitlines())
    # 10,000 edits: 30,000 lines, the first 5,000 drawn.
    began = time.monotonic()
    section = panel(chromium, path, tmp_path, "r-4")
    assert time.monotonic() - began < small + 6
    assert len(lines(section)) == 5000 and "@@ edit 1667 of 10000 @@" in section and "25000 more lines" in section
